package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/store"
	"watercooler/testrig"
)

// TestScheduledPostsSurviveCrashAcrossProcesses schedules 20 posts through a serve process
// with a Mastodon client, kills the process, lets the posts fall due while nothing runs, then
// starts it again beside a sibling on the same Redis: both workers race for the due posts and
// every post goes out exactly once.
func TestScheduledPostsSurviveCrashAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs real processes")
	}
	bin := buildWatercooler(t)
	rdb := testrig.Redis(t)
	first := newDeptProcess(t, bin, testrig.Prefix(t, rdb), "127.0.0.1")
	first.start(t)
	alice := first.client(t, "alice")
	ctx := context.Background()
	const n = 20
	var ids []string
	for i := range n {
		at := time.Now().Add(time.Hour)
		sch, err := alice.PostStatus(ctx, &gomastodon.Toot{Status: fmt.Sprint("scheduled ", i), ScheduledAt: &at})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, string(sch.ID))
	}
	me, err := alice.GetAccountCurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first.kill(t)

	// The five-minute rule is the API's: the store moves the posts to now, as time would.
	st := store.New(rdb, first.prefix, first.domain)
	for _, id := range ids {
		if _, err := st.RescheduleStatus(ctx, string(me.ID), id, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	second := first.sibling(t)
	first.start(t)
	second.start(t)

	testrig.Eventually(t, time.Minute, "every scheduled post gone", func() bool {
		_, list, err := st.ScheduledStatuses(ctx, string(me.ID), store.Page{})
		return err == nil && len(list) == 0
	})
	texts := map[string]int{}
	page, err := alice.GetAccountStatuses(ctx, me.ID, &gomastodon.Pagination{Limit: 40})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range page {
		texts[strings.TrimSuffix(strings.TrimPrefix(s.Content, "<p>"), "</p>")]++
	}
	if len(page) != n || len(texts) != n {
		t.Fatalf("%d statuses, %d distinct (%v); want the %d scheduled ones once each", len(page), len(texts), texts, n)
	}
}
