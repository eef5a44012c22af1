package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"watercooler/store"
	"watercooler/testrig"
)

// retryFor queues a delivery job to host, hands it to a worker and schedules its retry an hour
// away, as a failed attempt does.
func retryFor(t *testing.T, q *store.Queue, host, payload string) {
	t.Helper()
	ctx := context.Background()
	if err := q.Add(ctx, map[string]string{"inbox": "http://" + host + "/inbox", "payload": payload}); err != nil {
		t.Fatal(err)
	}
	jobs, err := q.Read(ctx, "worker", 1, time.Second)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("read %d jobs, %v; want 1", len(jobs), err)
	}
	at := time.Now().Add(time.Hour)
	if host == "" {
		err = q.RetryAt(ctx, jobs[0], jobs[0].Fields, at)
	} else {
		err = q.RetryForHost(ctx, jobs[0], jobs[0].Fields, at, host)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// promoted moves every due retry back to the stream and returns the payloads a worker then reads.
func promoted(t *testing.T, q *store.Queue) []string {
	t.Helper()
	ctx := context.Background()
	if _, err := q.PromoteDue(ctx, time.Now(), 100); err != nil {
		t.Fatal(err)
	}
	jobs, err := q.Read(ctx, "worker", 100, -1)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, j := range jobs {
		out = append(out, j.Fields["payload"])
		if err := q.Ack(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(out)
	return out
}

// TestQueueSignOfLife checks each way a host's waiting retries come forward, and that each moves
// exactly the jobs it should, once.
func TestQueueSignOfLife(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		// signal is the sign of life from a.example; again is a second one right after.
		signal func(st *store.Store, q *store.Queue) (int, error)
		want   []string
		again  int
	}{
		{"a delivery succeeded", func(st *store.Store, q *store.Queue) (int, error) {
			return st.HostAlive(ctx, q, "a.example", time.Now())
		}, []string{"a1", "a2"}, 0},
		{"a request arrived", func(st *store.Store, q *store.Queue) (int, error) {
			return q.ReviveSoon(ctx, "a.example", time.Now(), time.Hour)
		}, []string{"a1", "a2"}, 0},
		{"an inbox POST arrived", func(st *store.Store, q *store.Queue) (int, error) {
			_, n, err := st.AcceptInbound(ctx, st.Queue("inbox"), q, time.Hour, "https://a.example/activity/"+store.RandomToken(4), "a.example", map[string]string{"body": "{}"})
			return n, err
		}, []string{"a1", "a2"}, 0},
		{"a probe", func(st *store.Store, q *store.Queue) (int, error) {
			ok, err := q.Probe(ctx, "a.example", time.Now(), time.Hour)
			if ok {
				return 1, err
			}
			return 0, err
		}, []string{"a1"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := testrig.NewStore(t, testDomain)
			q := st.Queue("delivery")
			if err := q.Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			retryFor(t, q, "a.example", "a1")
			retryFor(t, q, "a.example", "a2")
			retryFor(t, q, "b.example", "b1")
			retryFor(t, q, "", "untied") // a retry no sign of life moves (a Retry-After, say)
			if hosts, err := q.RetryHosts(ctx, 10); err != nil || !slices.Equal(hosts, []string{"a.example", "b.example"}) {
				t.Fatalf("RetryHosts = %v, %v; want a.example, b.example", hosts, err)
			}
			n, err := c.signal(st, q)
			if err != nil || n != len(c.want) {
				t.Fatalf("sign of life moved %d retries, %v; want %d", n, err, len(c.want))
			}
			if got := promoted(t, q); !slices.Equal(got, c.want) {
				t.Fatalf("jobs due after the sign of life = %v, want %v", got, c.want)
			}
			if n, err := c.signal(st, q); err != nil || n != c.again {
				t.Fatalf("a second sign of life moved %d, %v; want %d", n, err, c.again)
			}
			if got := promoted(t, q); len(got) != 0 {
				t.Fatalf("jobs due after the second sign of life = %v, want none", got)
			}
			s, err := q.Stats(ctx)
			if err != nil || s.Retrying != int64(4-len(c.want)) {
				t.Fatalf("stats = %+v, %v; want %d still waiting", s, err, 4-len(c.want))
			}
		})
	}
}

// TestQueuePromoteDropsHostIndex: a retry promoted at its time leaves the host index, so a later
// sign of life has nothing to move and a probe finds nothing to try.
func TestQueuePromoteDropsHostIndex(t *testing.T) {
	ctx := context.Background()
	st := testrig.NewStore(t, testDomain)
	q := st.Queue("delivery")
	if err := q.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	retryFor(t, q, "a.example", "a1")
	if _, err := q.PromoteDue(ctx, time.Now().Add(2*time.Hour), 10); err != nil {
		t.Fatal(err)
	}
	if hosts, err := q.RetryHosts(ctx, 10); err != nil || len(hosts) != 0 {
		t.Fatalf("RetryHosts after promotion = %v, %v; want none", hosts, err)
	}
	if n, err := st.HostAlive(ctx, q, "a.example", time.Now()); err != nil || n != 0 {
		t.Fatalf("HostAlive after promotion moved %d, %v; want 0", n, err)
	}
}

// TestQueueLeases: a consumer's pending jobs stay with it while its lease lives, however long
// they take, pass to another consumer at once when the lease lapses, and are resumed by a
// successor under the same name.
func TestQueueLeases(t *testing.T) {
	ctx := context.Background()
	st := testrig.NewStore(t, testDomain)
	q := st.Queue("delivery")
	if err := q.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"p1", "p2"} {
		if err := q.Add(ctx, map[string]string{"payload": p}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.TakeLease(ctx, "slow", "token-1", time.Hour); err != nil {
		t.Fatal(err)
	}
	if jobs, err := q.Read(ctx, "slow", 2, time.Second); err != nil || len(jobs) != 2 {
		t.Fatalf("slow read %d jobs, %v; want 2", len(jobs), err)
	}
	if jobs, err := q.ClaimLapsed(ctx, "other", 10); err != nil || len(jobs) != 0 {
		t.Fatalf("other claimed %d jobs of a live consumer, %v; want none", len(jobs), err)
	}
	// A successor under the same name resumes them at once, without waiting for the lease.
	if err := st.TakeLease(ctx, "slow", "token-2", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := st.RenewLease(ctx, "slow", "token-1", time.Hour); err == nil {
		t.Fatal("the predecessor renewed a lease its successor took over")
	}
	jobs, next, err := q.Resume(ctx, "slow", "0", 10)
	if err != nil || len(jobs) != 2 || jobs[0].Fields["payload"] != "p1" {
		t.Fatalf("Resume = %v, %v; want p1 and p2", jobs, err)
	}
	if more, _, err := q.Resume(ctx, "slow", next, 10); err != nil || len(more) != 0 {
		t.Fatalf("Resume after the last = %v, %v; want none", more, err)
	}
	// The successor dies too, and its lease lapses: another consumer takes the jobs at once.
	if err := st.ReleaseLease(ctx, "slow", "token-2"); err != nil {
		t.Fatal(err)
	}
	claimed, err := q.ClaimLapsed(ctx, "other", 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("other claimed %d jobs of a lapsed consumer, %v; want 2", len(claimed), err)
	}
	if mine, _, err := q.Resume(ctx, "slow", "0", 10); err != nil || len(mine) != 0 {
		t.Fatalf("the lapsed consumer still holds %d jobs, %v; want none", len(mine), err)
	}
	for _, j := range claimed {
		if err := q.Ack(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	if s, err := q.Stats(ctx); err != nil || s != (store.QueueStats{}) {
		t.Fatalf("stats = %+v, %v; want an empty queue", s, err)
	}
}
