package federation_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"watercooler/store"
	"watercooler/testrig"
)

// BenchmarkInboxIntake measures signed activities verified and queued per second over real HTTP
// (activities/s), and, once the inbox workers have drained the queue, activities applied per
// second from the first POST to the last one stored (processed/s). The remote actor's key is
// cached by a first request; requests are signed before the clock starts, so the numbers are the
// instance's, not the load generator's RSA signing.
func BenchmarkInboxIntake(b *testing.B) {
	inst := testrig.StartInstance(b)
	inst.CreateUser(b, "alice")
	remote := newFakeRemote(b)
	remote.addActor("loadgen", newKey(b))
	remote.deliver(b, inst, "loadgen", remote.activity("loadgen", "Create", "warm", remote.note("loadgen", "warm", "warming the key cache", nil)))
	quiesce(b, inst)

	inbox := inst.URL + "/inbox"
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		id := fmt.Sprintf("load%d", i)
		body := mustJSON(b, remote.activity("loadgen", "Create", id, remote.note("loadgen", id, "load "+id, nil)))
		req, err := http.NewRequest(http.MethodPost, inbox, bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		remote.signedBy("loadgen", body)(req)
		reqs[i] = req
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Do(reqs[next.Add(1)-1])
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("POST /inbox = %d, want 202", resp.StatusCode)
			}
		}
	})
	intake := time.Since(start)
	testrig.Eventually(b, time.Minute+time.Duration(b.N)*10*time.Millisecond, "inbox drained", func() bool {
		s := queueStats(b, inst, "inbox")
		return s.Queued == 0 && s.Retrying == 0
	})
	processed := time.Since(start)
	b.StopTimer()
	if s := queueStats(b, inst, "inbox"); s.Dead != 0 {
		b.Fatalf("%d activities dead-lettered", s.Dead)
	}
	b.ReportMetric(float64(b.N)/intake.Seconds(), "activities/s")
	b.ReportMetric(float64(b.N)/processed.Seconds(), "processed/s")
}

// BenchmarkDeliveryTo100Instances measures one activity fanned out to followers on 100 servers:
// each op queues the deliveries and waits until every server has received its POST.
func BenchmarkDeliveryTo100Instances(b *testing.B) {
	const servers = 100
	ctx := context.Background()
	inst := testrig.StartInstance(b)
	alice := inst.CreateUser(b, "alice").Account

	received := make(chan struct{}, servers)
	counts := make([]atomic.Int64, servers)
	for i := range servers {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.URL.Path != "/inbox" || r.Header.Get("Signature") == "" {
				http.Error(w, "want a signed POST to the shared inbox", http.StatusBadRequest)
				return
			}
			counts[i].Add(1)
			w.WriteHeader(http.StatusAccepted)
			received <- struct{}{}
		}))
		b.Cleanup(srv.Close)
		uri := srv.URL + "/users/follower"
		follower, err := inst.Store.PutRemoteAccount(ctx, &store.Account{
			Username: "follower", Domain: strings.TrimPrefix(srv.URL, "http://"), URI: uri, URL: uri,
			InboxURI: uri + "/inbox", SharedInboxURI: srv.URL + "/inbox", FollowersURI: uri + "/followers",
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := inst.Store.Follow(ctx, follower, alice, store.FollowOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	inboxes, err := inst.Store.RemoteFollowerInboxes(ctx, alice.ID)
	if err != nil || len(inboxes) != servers {
		b.Fatalf("follower inboxes = %d, %v; want %d", len(inboxes), err, servers)
	}

	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		id := fmt.Sprintf("%s/statuses/%d", alice.URI, i)
		body := mustJSON(b, map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams", "id": id + "/activity", "type": "Create", "actor": alice.URI,
			"object": map[string]any{"id": id, "type": "Note", "attributedTo": alice.URI, "content": "<p>fan-out</p>", "to": []any{publicAudience}},
		})
		if err := inst.Federator.Deliver(ctx, id+"/activity", body, alice.ID, inboxes); err != nil {
			b.Fatal(err)
		}
		timeout := time.After(30 * time.Second)
		for range servers {
			select {
			case <-received:
			case <-timeout:
				b.Fatalf("op %d: not every server received the activity within 30s", i)
			}
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	for i := range counts {
		if n := counts[i].Load(); n != int64(b.N) {
			b.Fatalf("server %d received %d POSTs, want %d", i, n, b.N)
		}
	}
	b.ReportMetric(float64(servers*b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(elapsed.Milliseconds())/float64(b.N), "ms/fan-out")
}
