package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/testrig"
)

// TestProcessesPostingConcurrentlyLoseNothing runs one department as two, then three, serve
// processes of the built binary on one Redis, as the README offers, and posts through all of
// them at once, four at a time each. Every post must be stored once: two processes writing in
// the same millisecond once minted the same id and overwrote each other's posts.
func TestProcessesPostingConcurrentlyLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs real processes")
	}
	bin := buildWatercooler(t)
	rdb := testrig.Redis(t)
	for _, processes := range []int{2, 3} {
		t.Run(strconv.Itoa(processes)+" processes", func(t *testing.T) {
			ctx := context.Background()
			first := newDeptProcess(t, bin, testrig.Prefix(t, rdb), "127.0.0.1")
			procs := []*deptProcess{first}
			for range processes - 1 {
				procs = append(procs, first.sibling(t))
			}
			for _, p := range procs {
				p.start(t)
			}
			alice := first.client(t, "alice")
			const posts, concurrent = 600, 4
			perWorker := posts / (processes * concurrent)
			want := perWorker * processes * concurrent
			var wg sync.WaitGroup
			errs := make(chan error, processes*concurrent)
			for pi, p := range procs {
				c := gomastodon.NewClient(&gomastodon.Config{Server: p.url, AccessToken: alice.Config.AccessToken})
				for w := range concurrent {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range perWorker {
							if _, err := c.PostStatus(ctx, &gomastodon.Toot{Status: fmt.Sprintf("post %d.%d.%d", pi, w, i), Visibility: "public"}); err != nil {
								errs <- fmt.Errorf("post through %s: %w", p.url, err)
								return
							}
						}
					}()
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}

			me, err := alice.GetAccountCurrentUser(ctx)
			if err != nil {
				t.Fatal(err)
			}
			texts := map[string]bool{}
			var pg gomastodon.Pagination
			pg.Limit = 40
			for {
				page, err := alice.GetAccountStatuses(ctx, me.ID, &pg)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range page {
					texts[strings.TrimSuffix(strings.TrimPrefix(s.Content, "<p>"), "</p>")] = true
				}
				if len(page) == 0 || pg.MaxID == "" {
					break
				}
				pg = gomastodon.Pagination{MaxID: pg.MaxID, Limit: 40}
			}
			if me.StatusesCount != int64(want) || len(texts) != want {
				t.Fatalf("statuses_count %d, distinct posts readable %d; want %d of each", me.StatusesCount, len(texts), want)
			}
		})
	}
}

// sibling is another serve process of d's department: the same Redis key space and public URL,
// listening on an address of its own, as processes behind one load balancer do.
func (d *deptProcess) sibling(t *testing.T) *deptProcess {
	t.Helper()
	addr := freeAddr(t, "127.0.0.1")
	s := &deptProcess{bin: d.bin, prefix: d.prefix, domain: d.domain, url: "http://" + addr, log: &testrig.LogBuffer{}}
	for _, kv := range d.env {
		if strings.HasPrefix(kv, "WATERCOOLER_LISTEN=") {
			kv = "WATERCOOLER_LISTEN=" + addr
		}
		s.env = append(s.env, kv)
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("log of %s:\n%s", addr, tail(s.log.String(), 8000))
		}
	})
	return s
}
