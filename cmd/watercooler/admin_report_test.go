package main

import (
	"context"
	"strings"
	"testing"

	"watercooler/store"
	"watercooler/testrig"
)

// TestAdminReports lists, shows and resolves reports as an admin would: open ones by default,
// every one with --all, a forwarded report naming the server it came from.
func TestAdminReports(t *testing.T) {
	admin, prefix := adminRunner(t)
	ctx := context.Background()
	st := store.New(testrig.Redis(t), prefix, "eng.test.example")
	local := func(name string) *store.Account {
		a, err := st.CreateLocalAccount(ctx, store.NewLocalAccount{Username: name, BaseURL: "http://eng.test.example"})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	alice, bob, carol := local("alice"), local("bob"), local("carol")
	post, err := st.CreateStatus(ctx, store.NewStatus{Status: store.Status{AccountID: alice.ID, Local: true, Text: "buy my stuff", Content: "<p>buy my stuff</p>", Visibility: store.VisibilityPublic}, BaseURL: "http://eng.test.example"})
	if err != nil {
		t.Fatal(err)
	}
	actor, err := st.PutRemoteAccount(ctx, &store.Account{Username: "sales.test.example", Domain: "sales.test.example", URI: "http://sales.test.example/actor"})
	if err != nil {
		t.Fatal(err)
	}
	spam := &store.Report{AccountID: bob.ID, TargetAccountID: alice.ID, StatusIDs: []string{post.ID}, Comment: "selling things", Category: store.ReportSpam}
	flag := &store.Report{URI: "http://sales.test.example/reports/1", AccountID: actor.ID, TargetAccountID: carol.ID, Comment: "rude", Category: store.ReportOther, Origin: "sales.test.example"}
	for _, r := range []*store.Report{spam, flag} {
		if _, err := st.FileReport(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	out, err := admin("report", "list")
	if err != nil || !strings.Contains(out, spam.ID) || !strings.Contains(out, flag.ID) || !strings.Contains(out, "selling things") ||
		!strings.Contains(out, post.ID) || !strings.Contains(out, "sales.test.example@sales.test.example (forwarded by sales.test.example)") {
		t.Fatalf("list: %q, %v", out, err)
	}
	out, err = admin("report", "show", "--id", spam.ID)
	if err != nil || !strings.Contains(out, "reporter: bob") || !strings.Contains(out, "target: alice") || !strings.Contains(out, "buy my stuff") || !strings.Contains(out, "open") {
		t.Errorf("show: %q, %v", out, err)
	}
	if out, err := admin("report", "resolve", "--id", spam.ID, "--note", "warned alice"); err != nil || !strings.Contains(out, "resolved report "+spam.ID) {
		t.Fatalf("resolve: %q, %v", out, err)
	}
	if out, err := admin("report", "list"); err != nil || strings.Contains(out, spam.ID) || !strings.Contains(out, flag.ID) {
		t.Errorf("list after resolving: %q, %v; want only the open flag", out, err)
	}
	if out, err := admin("report", "list", "--all"); err != nil || !strings.Contains(out, spam.ID) || !strings.Contains(out, "resolved") {
		t.Errorf("list --all: %q, %v", out, err)
	}
	if out, err := admin("report", "show", "--id", spam.ID); err != nil || !strings.Contains(out, "note: warned alice") {
		t.Errorf("show resolved: %q, %v", out, err)
	}
	for _, bad := range [][]string{
		{"report", "resolve"},
		{"report", "resolve", "--id", "999"},
		{"report", "resolve", "--id", spam.ID},
		{"report", "show", "--id", "999"},
	} {
		if out, err := admin(bad...); err == nil {
			t.Errorf("%v succeeded: %q", bad, out)
		}
	}
}
