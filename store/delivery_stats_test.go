package store_test

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"watercooler/store"
	"watercooler/testrig"
)

// TestDeliveryHistory counts outcomes in hour buckets and reads them back as series per host,
// oldest hour first, with the buckets expiring after two days.
func TestDeliveryHistory(t *testing.T) {
	st, rdb, prefix := rawStore(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 10, 30, 0, 0, time.UTC)
	counts := []struct {
		host     string
		at       time.Time
		outcomes []string
	}{
		{"sales.example", now, []string{store.DeliveryDone}},
		{"sales.example", now.Add(-20 * time.Minute), []string{store.DeliveryFailed, store.DeliveryRetried}},
		{"sales.example", now.Add(-2 * time.Hour), []string{store.DeliveryFailed, store.DeliveryDead}},
		{"hr.example", now.Add(-23 * time.Hour), []string{store.DeliveryDone}},
		{"old.example", now.Add(-24 * time.Hour), []string{store.DeliveryDone}}, // outside 24 h
	}
	for _, c := range counts {
		if err := st.CountDeliveries(ctx, c.host, c.at, c.outcomes...); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.DeliveryHistory(ctx, now, 24)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["old.example"] != nil {
		t.Fatalf("hosts = %v, want sales.example and hr.example", got)
	}
	sales := got["sales.example"]
	want := map[int]store.DeliveryCounts{
		23: {Hour: now.Truncate(time.Hour), Delivered: 1, Failed: 1, Retried: 1},
		21: {Hour: now.Truncate(time.Hour).Add(-2 * time.Hour), Failed: 1, Dead: 1},
	}
	for i, c := range sales {
		w, ok := want[i]
		if !ok {
			w = store.DeliveryCounts{Hour: now.Truncate(time.Hour).Add(time.Duration(i-23) * time.Hour)}
		}
		if c != w {
			t.Errorf("sales hour %d = %+v, want %+v", i, c, w)
		}
	}
	if hr := got["hr.example"]; hr[0].Delivered != 1 {
		t.Errorf("hr's oldest hour = %+v, want one delivery", hr[0])
	}
	keys, err := testrig.Keys(ctx, rdb, "{"+prefix+"}:delivery:stats:*")
	if err != nil || len(keys) != 4 {
		t.Fatalf("stats keys = %v, %v", keys, err)
	}
	for _, k := range keys {
		if ttl := rdb.TTL(ctx, k).Val(); ttl < 48*time.Hour || ttl > 49*time.Hour {
			t.Errorf("TTL of %s = %v, want about two days", k, ttl)
		}
	}
}

// TestRetryDead moves a dead letter back to the stream with its attempt count reset and the
// dead-letter fields gone, once: a second retry finds nothing.
func TestRetryDead(t *testing.T) {
	st, _, _ := rawStore(t)
	ctx := context.Background()
	q := st.Queue("delivery")
	if err := q.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if err := q.Add(ctx, map[string]string{"inbox": "http://sales.example/inbox", "payload": "p1", "attempt": "7", "last_error": "HTTP 503"}); err != nil {
		t.Fatal(err)
	}
	jobs, err := q.Read(ctx, "worker", 1, time.Second)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("read %d jobs, %v", len(jobs), err)
	}
	if err := q.DeadLetter(ctx, jobs[0], "retries exhausted"); err != nil {
		t.Fatal(err)
	}
	dead, err := q.RecentDeadLetters(ctx, 10)
	if err != nil || len(dead) != 1 || dead[0].Fields["reason"] != "retries exhausted" {
		t.Fatalf("dead letters = %+v, %v", dead, err)
	}
	if _, err := q.RetryDead(ctx, dead[0].ID, map[string]string{"attempt": "0", "last_error": ""}); err != nil {
		t.Fatal(err)
	}
	again, err := q.Read(ctx, "worker", 1, time.Second)
	if err != nil || len(again) != 1 {
		t.Fatalf("read %d jobs after the retry, %v", len(again), err)
	}
	want := map[string]string{"inbox": "http://sales.example/inbox", "payload": "p1", "attempt": "0"}
	if !maps.Equal(again[0].Fields, want) {
		t.Errorf("retried job = %v, want %v", again[0].Fields, want)
	}
	for _, id := range []string{dead[0].ID, "not-an-id", "0-0"} {
		if _, err := q.RetryDead(ctx, id, nil); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RetryDead(%q) = %v, want ErrNotFound", id, err)
		}
	}
	if n, _ := q.Stats(ctx); n.Dead != 0 {
		t.Errorf("dead letters left: %d", n.Dead)
	}
}
