package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/server/mastodon"
	"watercooler/signup"
	"watercooler/testrig"
)

// TestReports: a report reaches the instance's admins as admin.report with the Report entity;
// refusals write nothing.
func TestReports(t *testing.T) {
	inst := testrig.StartInstance(t)
	boss := inst.CreateUser(t, "boss", func(p *signup.Params) { p.Admin = true })
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	spam := postStatus(t, inst, bob, gomastodon.Toot{Status: "buy now", Visibility: "public"})
	secret := postStatus(t, inst, bob, gomastodon.Toot{Status: "for followers", Visibility: "private"})
	carols := postStatus(t, inst, carol, gomastodon.Toot{Status: "carol's", Visibility: "public"})
	reports := inst.URL + "/api/v1/reports"

	refusals := []struct {
		name, form string
		code       int
		msg        string
	}{
		{"unknown account", "account_id=99999", 404, "Record not found"},
		{"no account", "comment=hi", 404, "Record not found"},
		{"oneself", "account_id=" + alice.Account.ID, 422, "Validation failed: You cannot report yourself"},
		{"long comment", "account_id=" + bob.Account.ID + "&comment=" + strings.Repeat("x", 1001), 422, "Validation failed: Comment is too long (maximum is 1000 characters)"},
		{"unknown category", "account_id=" + bob.Account.ID + "&category=rude", 422, "Validation failed: Category is not included in the list"},
		{"rules we do not have", "account_id=" + bob.Account.ID + "&category=violation&rule_ids[]=1", 422, "*"},
		{"someone else's status", "account_id=" + bob.Account.ID + "&status_ids[]=" + string(carols.ID), 404, "Record not found"},
		{"a status alice cannot see", "account_id=" + bob.Account.ID + "&status_ids[]=" + string(secret.ID), 404, "Record not found"},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			apiForm(t, http.MethodPost, reports, alice.Token, r.form).expectError(t, r.code, r.msg)
		})
	}
	if n := notificationsOf(t, inst, boss.Account.ID, "admin.report"); len(n) != 0 {
		t.Fatalf("refused reports notified the admin: %+v", n)
	}

	var report mastodon.Report
	apiForm(t, http.MethodPost, reports, alice.Token, url.Values{
		"account_id": {bob.Account.ID}, "status_ids[]": {string(spam.ID)}, "comment": {"  selling things  "}, "category": {"spam"}, "forward": {"true"},
	}.Encode()).ok(t, &report)
	if report.ID == "" || report.Category != "spam" || report.Comment != "selling things" || report.ActionTaken || report.Forwarded ||
		len(report.StatusIDs) != 1 || report.StatusIDs[0] != string(spam.ID) || report.TargetAccount.ID != bob.Account.ID || report.RuleIDs == nil {
		t.Fatalf("report = %+v (a local target is never forwarded)", report)
	}

	var ns []mastodon.Notification
	apiGet(t, inst.URL+"/api/v1/notifications?types[]=admin.report", boss.Token).ok(t, &ns)
	if len(ns) != 1 || ns[0].Account.ID != alice.Account.ID || ns[0].Report == nil || ns[0].Report.ID != report.ID || ns[0].Report.TargetAccount.ID != bob.Account.ID {
		t.Fatalf("admin's notifications = %+v", ns)
	}
	for _, u := range []*testrig.User{bob, carol} {
		if n := notificationsOf(t, inst, u.Account.ID, "admin.report"); len(n) != 0 {
			t.Errorf("%s, no admin, heard of the report", u.Account.Username)
		}
	}
	apiForm(t, http.MethodPost, reports, clientAppToken(t, inst, "write"), "account_id="+bob.Account.ID).expectError(t, http.StatusUnauthorized, "*")
}
