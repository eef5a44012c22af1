package federation_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/federation"
	"watercooler/testrig"
)

// BenchmarkOrganizationRelay20Departments states what a public post costs in an organization of
// 20 departments: each op posts through the client API of one real instance, whose relay queues
// the deliveries, and waits until the 19 other departments' shared inboxes (lightweight signed-
// POST receivers on 127.0.0.1) have all received the Create. It reports the deliveries each post
// made (counted by the receivers) and the time from the API call to the last department, mean
// and worst.
func BenchmarkOrganizationRelay20Departments(b *testing.B) {
	const departments = 20
	inst := testrig.StartInstance(b)
	alice := deptOn(inst, inst.CreateUser(b, "alice"))

	var mu sync.Mutex
	arrivals := map[string][]time.Time{} // activity id → arrival at each department
	var others []member
	for range departments - 1 {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.URL.Path != "/inbox" || r.Header.Get("Signature") == "" {
				http.Error(w, "want a signed POST to the shared inbox", http.StatusBadRequest)
				return
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			env, perr := federation.ParseEnvelope(body)
			if err != nil || perr != nil {
				http.Error(w, "unreadable activity", http.StatusBadRequest)
				return
			}
			mu.Lock()
			arrivals[env.ID] = append(arrivals[env.ID], time.Now())
			mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
		}))
		b.Cleanup(srv.Close)
		others = append(others, member{strings.TrimPrefix(srv.URL, "http://"), srv.URL})
	}
	joinMembers(b, []*testrig.Instance{inst}, others...)

	var total, worst time.Duration
	deliveries := 0
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		st, err := alice.client.PostStatus(context.Background(), &gomastodon.Toot{Status: "a tip for everyone", Visibility: "public"})
		if err != nil {
			b.Fatal(err)
		}
		activity := st.URI + "/activity"
		var last time.Time
		testrig.Eventually(b, time.Minute, "every department received the post", func() bool {
			mu.Lock()
			defer mu.Unlock()
			if len(arrivals[activity]) < departments-1 {
				return false
			}
			last = slices.MaxFunc(arrivals[activity], func(a, b time.Time) int { return a.Compare(b) })
			return true
		})
		took := last.Sub(start)
		total += took
		worst = max(worst, took)
	}
	b.StopTimer()
	quiesce(b, inst)
	mu.Lock()
	for _, a := range arrivals {
		deliveries += len(a)
	}
	mu.Unlock()
	b.ReportMetric(float64(deliveries)/float64(b.N), "deliveries/post")
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms-to-all/post")
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms-to-all")
}
