package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"watercooler/store"
	"watercooler/testrig"
)

// benchClient keeps connections alive across requests, as a real client app does.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 16, MaxIdleConnsPerHost: 16}}
}

// benchGet sends req and reads the answer, which must be 200; RunParallel's goroutines use it
// directly, since only the benchmark's own goroutine may call b.Fatal.
func benchGet(c *http.Client, req *http.Request) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s %v", req.Method, req.URL, resp.StatusCode, body, err)
	}
	return nil
}

// benchHomeTimeline starts an instance whose reader follows ten authors and has 200 of their
// statuses in the home timeline, and returns a request for its first 20-status page.
func benchHomeTimeline(b *testing.B) *http.Request {
	inst := testrig.StartInstance(b)
	ctx := context.Background()
	reader := inst.CreateUser(b, "reader")
	authors := storeAccounts(b, inst, "author", 10)
	for _, a := range authors {
		if err := inst.Store.Follow(ctx, reader.Account, a, store.FollowOptions{ShowReblogs: true}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 200; i++ {
		a := authors[i%len(authors)]
		text := fmt.Sprintf("status %d of @%s with #bench", i, a.Username)
		_, err := inst.Store.CreateStatus(ctx, store.NewStatus{BaseURL: inst.URL, Status: store.Status{
			AccountID: a.ID, Local: true, Text: text, Content: "<p>" + text + "</p>", Visibility: store.VisibilityPublic,
			Tags: []string{"bench"}, Mentions: []string{reader.Account.ID},
		}})
		if err != nil {
			b.Fatal(err)
		}
	}
	if es, err := inst.Store.HomeTimeline(ctx, reader.Account.ID, store.Page{Limit: 40}); err != nil || len(es) != 40 {
		b.Fatalf("home timeline holds %d entries (%v)", len(es), err)
	}
	return newAPIRequest(b, http.MethodGet, inst.API("/api/v1/timelines/home?limit=20"), reader.Token, "", "")
}

// BenchmarkHomeTimeline reads the first page of a home timeline that holds 200 statuses of ten
// followed authors, over HTTP, one request at a time: its ns/op is a request's latency.
func BenchmarkHomeTimeline(b *testing.B) {
	req := benchHomeTimeline(b)
	client := benchClient()
	n := 0
	for b.Loop() {
		apiSend(b, client, req).ok(b, nil)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkHomeTimelineParallel reads the same page as BenchmarkHomeTimeline from 32 concurrent
// clients per GOMAXPROCS over kept-alive connections, as the floors in docs/performance.md are
// measured: its req/s is the instance's throughput, comparable with "Fiber + one Redis home read".
func BenchmarkHomeTimelineParallel(b *testing.B) {
	req := benchHomeTimeline(b)
	const parallelism = 32
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}}
	b.SetParallelism(parallelism)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		// Each goroutine sends its own copy: one Request must not be sent twice concurrently.
		req := req.Clone(req.Context())
		for pb.Next() {
			if err := benchGet(client, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkPostFanOut1000 posts, over HTTP, statuses of an author with 1,000 local followers,
// each post reaching every follower's home timeline in the same transaction.
func BenchmarkPostFanOut1000(b *testing.B) {
	inst := testrig.StartInstance(b)
	ctx := context.Background()
	author := inst.CreateUser(b, "author")
	followers := storeAccounts(b, inst, "follower", 1000)
	for _, f := range followers {
		if err := inst.Store.Follow(ctx, f, author.Account, store.FollowOptions{ShowReblogs: true}); err != nil {
			b.Fatal(err)
		}
	}
	client := benchClient()
	n := 0
	for b.Loop() {
		body := url.Values{"status": {fmt.Sprintf("post number %d for everyone #fanout", n)}}.Encode()
		apiSend(b, client, newAPIRequest(b, http.MethodPost, inst.API("/api/v1/statuses"), author.Token, formType, body)).ok(b, nil)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "posts/s")

	latest, err := inst.Store.AccountStatuses(ctx, author.Account.ID, store.Page{Limit: 1})
	if err != nil || len(latest) != 1 {
		b.Fatalf("author's latest status: %v %v", latest, err)
	}
	reached := 0
	for _, f := range followers {
		es, err := inst.Store.HomeTimeline(ctx, f.ID, store.Page{Limit: 1})
		if err != nil {
			b.Fatal(err)
		}
		if len(es) == 1 && es[0].Member == latest[0].Member {
			reached++
		}
	}
	if reached != len(followers) {
		b.Fatalf("the last post reached %d of %d home timelines", reached, len(followers))
	}
}
