package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"watercooler/store"
)

func adminAccount(n *store.NewLocalAccount) { n.Admin = true }

// adminReports counts an account's admin.report notifications.
func adminReports(t testing.TB, st *store.Store, a *store.Account) int {
	t.Helper()
	ns, err := st.Notifications(context.Background(), a.ID, store.NotificationQuery{Page: store.Page{Limit: 40}, Types: []string{store.NotifyAdminReport}})
	if err != nil {
		t.Fatal(err)
	}
	return len(ns)
}

// TestFileReport covers who hears of reports, the URI index that makes a redelivered Flag a
// no-op, and resolving.
func TestFileReport(t *testing.T) {
	ctx := context.Background()
	st, _, _ := rawStore(t)
	boss := localAccount(t, st, "boss", adminAccount)
	gone := localAccount(t, st, "gone", adminAccount)
	gone.Suspended = true
	if err := st.UpdateAccount(ctx, gone); err != nil {
		t.Fatal(err)
	}
	alice, bob := localAccount(t, st, "alice"), localAccount(t, st, "bob")
	actor := remoteAccount(t, st, "sales.example", "sales.example")

	staff, err := st.StaffAccountIDs(ctx)
	if err != nil || len(staff) != 1 || staff[0] != boss.ID {
		t.Fatalf("staff = %v, %v; want only boss (gone is suspended)", staff, err)
	}

	flag := &store.Report{URI: "https://sales.example/reports/1", AccountID: actor.ID, TargetAccountID: alice.ID, Comment: "spam", Category: store.ReportOther, Origin: "sales.example"}
	if created, err := st.FileReport(ctx, flag); err != nil || !created {
		t.Fatalf("FileReport = %v, %v", created, err)
	}
	again := &store.Report{URI: flag.URI, AccountID: actor.ID, TargetAccountID: alice.ID, Comment: "spam"}
	if created, err := st.FileReport(ctx, again); err != nil || created || again.ID != flag.ID {
		t.Errorf("the same Flag again = %v, %v, id %s; want not created, id %s", created, err, again.ID, flag.ID)
	}
	onBob := &store.Report{URI: flag.URI, AccountID: actor.ID, TargetAccountID: bob.ID}
	if created, err := st.FileReport(ctx, onBob); err != nil || !created {
		t.Errorf("the same Flag on another account = %v, %v; want a report of its own", created, err)
	}
	if n := adminReports(t, st, boss); n != 2 {
		t.Errorf("boss has %d admin.report notifications, want 2 (alice, bob)", n)
	}
	if n := adminReports(t, st, gone); n != 0 {
		t.Errorf("a suspended admin got %d notifications", n)
	}

	if _, err := st.ResolveReport(ctx, flag.ID, "warned"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ResolveReport(ctx, flag.ID, "twice"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("resolving twice = %v, want ErrConflict", err)
	}
	if _, err := st.ResolveReport(ctx, "12345", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("resolving an unknown report = %v, want ErrNotFound", err)
	}
	resolved, _ := st.Report(ctx, flag.ID)
	if resolved.Open() || resolved.ResolutionNote != "warned" {
		t.Errorf("resolved report = %+v", resolved)
	}
	open, _ := st.Reports(ctx, false)
	all, _ := st.Reports(ctx, true)
	if len(open) != 1 || open[0].ID != onBob.ID || len(all) != 2 || all[0].ID != onBob.ID {
		t.Errorf("open %d, all %d reports; want bob's open, both in all, newest first", len(open), len(all))
	}
}

// TestFileReportConcurrent files reports on one account at once: moderators hear of the pile-on
// once, whatever the interleaving.
func TestFileReportConcurrent(t *testing.T) {
	ctx := context.Background()
	st, _, _ := rawStore(t)
	boss, alice := localAccount(t, st, "boss", adminAccount), localAccount(t, st, "alice")
	reporters := make([]*store.Account, 8)
	for i := range reporters {
		reporters[i] = remoteAccount(t, st, "r"+string(rune('a'+i)), "remote.example")
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(reporters))
	for _, r := range reporters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.FileReport(ctx, &store.Report{AccountID: r.ID, TargetAccountID: alice.ID, Category: store.ReportSpam})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if on, _ := st.ReportsAgainst(ctx, alice.ID); len(on) != len(reporters) {
		t.Errorf("%d reports on alice, want %d", len(on), len(reporters))
	}
	if n := adminReports(t, st, boss); n != 1 {
		t.Errorf("boss heard of %d reports on alice filed at once, want 1", n)
	}
}
