package main

import (
	"context"
	"strings"
	"testing"

	"watercooler/store"
	"watercooler/testrig"
)

// TestAdminReports lists open reports and resolves one, as a moderator would.
func TestAdminReports(t *testing.T) {
	admin, prefix := adminRunner(t)
	ctx := context.Background()
	for _, name := range []string{"alice", "bob"} {
		if out, err := admin("user", "create", "--username", name, "--email", name+"@corp.example", "--password", "correct horse battery"); err != nil {
			t.Fatalf("create %s: %q, %v", name, out, err)
		}
	}
	st := store.New(testrig.Redis(t), prefix, "eng.test.example")
	alice, err := st.AccountByAcct(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := st.AccountByAcct(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	r := &store.Report{AccountID: alice.ID, TargetAccountID: bob.ID, Category: "spam", Comment: "selling things\nagain"}
	if err := st.CreateReport(ctx, r, nil); err != nil {
		t.Fatal(err)
	}
	out, err := admin("report", "list")
	if err != nil || !strings.Contains(out, r.ID) || !strings.Contains(out, "open") || !strings.Contains(out, "alice") || !strings.Contains(out, "bob") || !strings.Contains(out, "selling things") {
		t.Fatalf("list: %q, %v", out, err)
	}
	for _, bad := range [][]string{{"report", "resolve"}, {"report", "resolve", "--id", "123"}} {
		if out, err := admin(bad...); err == nil {
			t.Errorf("%v succeeded: %q", bad, out)
		}
	}
	if out, err := admin("report", "resolve", "--id", r.ID, "--note", "warned bob"); err != nil || !strings.Contains(out, "resolved report "+r.ID) {
		t.Fatalf("resolve: %q, %v", out, err)
	}
	if out, err := admin("report", "resolve", "--id", r.ID); err == nil {
		t.Errorf("resolving twice succeeded: %q", out)
	}
	if out, _ := admin("report", "list"); strings.Contains(out, r.ID) {
		t.Errorf("a resolved report is listed as open: %q", out)
	}
	if out, _ := admin("report", "list", "--all"); !strings.Contains(out, r.ID) || !strings.Contains(out, "resolved") {
		t.Errorf("--all lacks the resolved report: %q", out)
	}
	got, err := st.Report(ctx, r.ID)
	if err != nil || got.ResolvedAt == nil || got.ResolvedNote != "warned bob" {
		t.Errorf("stored report = %+v, %v", got, err)
	}
}
