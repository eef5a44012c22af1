package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/server/mastodon"
	"watercooler/signup"
	"watercooler/store"
	"watercooler/testrig"
)

func admin(p *signup.Params) { p.Admin = true }

// TestReportRefusals sends POST /api/v1/reports with each kind of bad input and checks the
// precise refusal, and that none of them stored a report or told the moderators anything.
func TestReportRefusals(t *testing.T) {
	inst := testrig.StartInstance(t)
	boss := inst.CreateUser(t, "boss", admin)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	public := postStatus(t, inst, alice, gomastodon.Toot{Status: "buy my stuff"})
	private := postStatus(t, inst, alice, gomastodon.Toot{Status: "followers only", Visibility: "private"})
	carols := postStatus(t, inst, carol, gomastodon.Toot{Status: "not alice's"})
	reports := inst.API("/api/v1/reports")
	form := func(pairs ...string) string {
		v := url.Values{}
		for i := 0; i < len(pairs); i += 2 {
			v.Add(pairs[i], pairs[i+1])
		}
		return v.Encode()
	}
	readOnly := userToken(t, inst, bob, "read")
	// Mastodon looks the statuses up among the target's: any other is not found.
	statusesWrong := "Record not found"
	expectRefusals(t, []refusal{
		{"no token", "POST", reports, "", formType, form("account_id", alice.Account.ID), 401, ""},
		{"no write:reports scope", "POST", reports, readOnly, formType, form("account_id", alice.Account.ID), 403, "This action is outside the authorized scopes"},
		{"unknown account", "POST", reports, bob.Token, formType, form("account_id", "999999"), 404, "Record not found"},
		{"no account", "POST", reports, bob.Token, formType, form("comment", "who?"), 404, "Record not found"},
		{"oneself", "POST", reports, bob.Token, formType, form("account_id", bob.Account.ID), 422, "Validation failed: You cannot report yourself"},
		{"someone else's status", "POST", reports, bob.Token, formType, form("account_id", alice.Account.ID, "status_ids[]", string(public.ID), "status_ids[]", string(carols.ID)), 404, statusesWrong},
		{"a status the reporter cannot see", "POST", reports, bob.Token, formType, form("account_id", alice.Account.ID, "status_ids[]", string(private.ID)), 404, statusesWrong},
		{"an unknown status", "POST", reports, bob.Token, jsonType, fmt.Sprintf(`{"account_id":%q,"status_ids":["123"]}`, alice.Account.ID), 404, statusesWrong},
		{"comment too long", "POST", reports, bob.Token, formType, form("account_id", alice.Account.ID, "comment", strings.Repeat("é", 1001)), 422, "Validation failed: Comment is too long (maximum is 1000 characters)"},
		{"violation without rules", "POST", reports, bob.Token, formType, form("account_id", alice.Account.ID, "category", "violation"), 422, "Validation failed: Rule ids does not reference valid rules"},
		{"rule ids, which make a violation", "POST", reports, bob.Token, formType, form("account_id", alice.Account.ID, "category", "spam", "rule_ids[]", "1"), 422, "Validation failed: Rule ids does not reference valid rules"},
		{"unknown category", "POST", reports, bob.Token, formType, form("account_id", alice.Account.ID, "category", "rude"), 422, "'rude' is not a valid category"},
	})
	ctx := context.Background()
	if all, err := inst.Store.Reports(ctx, true); err != nil || len(all) != 0 {
		t.Errorf("refused reports stored %d reports (%v)", len(all), err)
	}
	if ns := notificationsOf(t, inst, boss.Account.ID, store.NotifyAdminReport); len(ns) != 0 {
		t.Errorf("refused reports notified the admin %d times", len(ns))
	}
	// The followers-only status was refused for being hidden from bob, not for itself.
	followUser(t, inst, bob, alice)
	apiForm(t, "POST", reports, bob.Token, form("account_id", alice.Account.ID, "status_ids[]", string(private.ID))).ok(t, nil)
}

// TestReportCreate files reports as Mastodon apps do and checks the Report entity, what is
// stored, and which admins hear of it: every admin but the reporter, once per target while a
// report on it is open.
func TestReportCreate(t *testing.T) {
	inst := testrig.StartInstance(t)
	boss, deputy := inst.CreateUser(t, "boss", admin), inst.CreateUser(t, "deputy", admin)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	spam1 := postStatus(t, inst, alice, gomastodon.Toot{Status: "buy my stuff"})
	spam2 := postStatus(t, inst, alice, gomastodon.Toot{Status: "buy it now", Visibility: "unlisted"})
	ctx := context.Background()

	resp := apiForm(t, "POST", inst.API("/api/v1/reports"), bob.Token, url.Values{
		"account_id": {alice.Account.ID}, "status_ids[]": {string(spam1.ID), string(spam2.ID), string(spam1.ID)},
		"comment": {"selling things"}, "category": {"spam"}, "forward": {"true"},
	}.Encode())
	var raw map[string]json.RawMessage
	resp.ok(t, &raw)
	for key, want := range map[string]string{"action_taken": "false", "action_taken_at": "null", "rule_ids": "null", "forwarded": "false"} {
		if got := string(raw[key]); got != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
	var first mastodon.Report
	resp.decode(t, &first)
	wantStatuses := []string{string(spam1.ID), string(spam2.ID)}
	if first.ID == "" || first.Category != "spam" || first.Comment != "selling things" || !slices.Equal(first.StatusIDs, wantStatuses) ||
		first.TargetAccount.ID != alice.Account.ID || first.TargetAccount.Acct != "alice" || first.CreatedAt == "" {
		t.Errorf("report = %+v, want spam by bob on alice with %v", first, wantStatuses)
	}
	stored, err := inst.Store.Report(ctx, first.ID)
	if err != nil || stored.AccountID != bob.Account.ID || stored.TargetAccountID != alice.Account.ID || !stored.Open() || stored.Origin != "" {
		t.Fatalf("stored report = %+v, %v", stored, err)
	}

	// A JSON body, no category: other. Alice is local, so forward changes nothing.
	var second mastodon.Report
	apiJSON(t, "POST", inst.API("/api/v1/reports"), carol.Token, fmt.Sprintf(`{"account_id":%q,"comment":"me too","forward":true}`, alice.Account.ID)).ok(t, &second)
	if second.Category != "other" || second.Forwarded || len(second.StatusIDs) != 0 || second.StatusIDs == nil {
		t.Errorf("second report = %+v, want category other, not forwarded, status_ids []", second)
	}

	// Both admins heard of the first report only: the second came while one on alice was open.
	for _, u := range []*testrig.User{boss, deputy} {
		var ns []mastodon.Notification
		apiGet(t, inst.API("/api/v1/notifications?types[]=admin.report"), u.Token).ok(t, &ns)
		if len(ns) != 1 || ns[0].Type != "admin.report" || ns[0].Account.ID != bob.Account.ID || ns[0].Report == nil ||
			ns[0].Report.ID != first.ID || ns[0].Report.TargetAccount.ID != alice.Account.ID || ns[0].Report.Comment != "selling things" {
			t.Fatalf("%s's admin.report notifications = %+v, want one from bob about report %s", u.Account.Username, ns, first.ID)
		}
	}
	var grouped struct {
		NotificationGroups []struct {
			Type   string           `json:"type"`
			Report *mastodon.Report `json:"report"`
		} `json:"notification_groups"`
	}
	apiGet(t, inst.API("/api/v2/notifications"), boss.Token).ok(t, &grouped)
	if g := grouped.NotificationGroups; len(g) != 1 || g[0].Type != "admin.report" || g[0].Report == nil || g[0].Report.ID != first.ID {
		t.Errorf("v2 notification groups = %+v, want the admin.report group with its report", g)
	}
	if ns := notificationsOf(t, inst, alice.Account.ID, store.NotifyAdminReport); len(ns) != 0 {
		t.Errorf("a person who is not an admin got %d admin.report notifications", len(ns))
	}

	// Once both are resolved, a new report on alice is news again; an admin reporting is not
	// told of their own report.
	for _, id := range []string{first.ID, second.ID} {
		if _, err := inst.Store.ResolveReport(ctx, id, "talked to alice"); err != nil {
			t.Fatal(err)
		}
	}
	apiForm(t, "POST", inst.API("/api/v1/reports"), deputy.Token, url.Values{"account_id": {alice.Account.ID}, "comment": {"again"}}.Encode()).ok(t, nil)
	if n := len(notificationsOf(t, inst, boss.Account.ID, store.NotifyAdminReport)); n != 2 {
		t.Errorf("boss has %d admin.report notifications after a report on alice after the others were resolved, want 2", n)
	}
	if n := len(notificationsOf(t, inst, deputy.Account.ID, store.NotifyAdminReport)); n != 1 {
		t.Errorf("deputy has %d admin.report notifications after reporting alice themselves, want still 1", n)
	}
	open, err := inst.Store.Reports(ctx, false)
	if err != nil || len(open) != 1 || open[0].Comment != "again" {
		t.Errorf("open reports = %+v, %v, want only deputy's", open, err)
	}
	if all, _ := inst.Store.ReportsAgainst(ctx, alice.Account.ID); len(all) != 3 {
		t.Errorf("reports on alice = %d, want 3", len(all))
	}

	// A remote account's report is marked forwarded when the reporter asks for it.
	mallory := remoteAccount(t, inst, "mallory", "remote.example")
	var remote mastodon.Report
	apiForm(t, "POST", inst.API("/api/v1/reports"), bob.Token, url.Values{"account_id": {mallory.ID}, "forward": {"1"}}.Encode()).ok(t, &remote)
	if !remote.Forwarded || remote.TargetAccount.Acct != "mallory@remote.example" {
		t.Errorf("report on a remote account = %+v, want forwarded", remote)
	}
	if resp := apiForm(t, "POST", inst.API("/api/v1/reports"), bob.Token, url.Values{"account_id": {mallory.ID}}.Encode()); resp.Code != http.StatusOK {
		t.Errorf("second report on mallory: %d %s", resp.Code, resp.Body)
	}
}
