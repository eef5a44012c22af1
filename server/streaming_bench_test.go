package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"watercooler/store"
	"watercooler/testrig"
)

// strmRaiseFileLimit lifts the soft limit on open files to need, or skips the benchmark.
func strmRaiseFileLimit(b *testing.B, need uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Skipf("cannot read the open-file limit: %v", err)
	}
	if lim.Cur >= need {
		return
	}
	if lim.Max < need {
		b.Skipf("needs %d open files, the hard limit is %d (raise it with ulimit -Hn)", need, lim.Max)
	}
	old := lim.Cur
	lim.Cur = need
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Skipf("cannot raise the open-file limit to %d: %v", need, err)
	}
	b.Cleanup(func() {
		lim.Cur = old
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	})
}

// BenchmarkStreamingFanOut1000 measures one post reaching the user streams of 1,000 followers,
// each on its own WebSocket: an op posts through the API and ends when every connection has
// received the update (rendered for its viewer).
func BenchmarkStreamingFanOut1000(b *testing.B) {
	const followers = 1000
	strmRaiseFileLimit(b, 2*followers+1024)
	inst := testrig.StartInstance(b)
	ctx := context.Background()
	author := inst.CreateUser(b, "author")
	accounts := storeAccounts(b, inst, "reader", followers)
	tokens := make([]string, followers)
	for i, a := range accounts {
		if err := inst.Store.Follow(ctx, a, author.Account, store.FollowOptions{ShowReblogs: true}); err != nil {
			b.Fatal(err)
		}
		tok, _, err := inst.Store.CreateToken(ctx, "", a.ID, []string{"read"})
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = tok
	}

	received := make(chan struct{}, followers)
	conns := make([]*websocket.Conn, followers)
	var dialErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range tokens {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			conn, _, err := strmDialRaw(inst, tokens[i], "?stream=user")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				dialErr = err
				return
			}
			conns[i] = conn
		}()
	}
	wg.Wait()
	if dialErr != nil {
		b.Fatalf("dial: %v", dialErr)
	}
	var readers sync.WaitGroup
	for _, conn := range conns {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				_, data, err := conn.ReadMessage()
				if err != nil {
					return
				}
				if bytes.Contains(data, []byte(`"event":"update"`)) {
					received <- struct{}{}
				}
			}
		}()
	}
	b.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
		readers.Wait()
	})

	client := benchClient()
	// Besides the whole fan-out, how long the POST took and when the first stream had it.
	var postTook, firstTook time.Duration
	post := func(i int) {
		form := url.Values{"status": {fmt.Sprintf("announcement %d", i)}, "visibility": {"public"}}
		req := newAPIRequest(b, http.MethodPost, inst.API("/api/v1/statuses"), author.Token, formType, form.Encode())
		t0 := time.Now()
		apiSend(b, client, req).ok(b, nil)
		postTook += time.Since(t0)
		deadline := time.After(30 * time.Second)
		for n := 0; n < followers; n++ {
			select {
			case <-received:
				if n == 0 {
					firstTook += time.Since(t0)
				}
			case <-deadline:
				b.Fatalf("post %d reached %d of %d streams in 30s", i, n, followers)
			}
		}
	}
	post(-1) // warm up: connection pools, caches
	postTook, firstTook = 0, 0

	var took []time.Duration
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		post(i)
		took = append(took, time.Since(t0))
	}
	elapsed := time.Since(start)
	slices.Sort(took)
	b.ReportMetric(float64(elapsed.Microseconds())/1000/float64(len(took)), "ms/fanout")
	b.ReportMetric(float64(len(took)*followers)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(postTook.Microseconds())/1000/float64(len(took)), "post-ms")
	b.ReportMetric(float64(firstTook.Microseconds())/1000/float64(len(took)), "first-ms")
	b.ReportMetric(0, "ns/op") // the custom metrics say it better
}
