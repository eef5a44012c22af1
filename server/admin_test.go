package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/testrig"
)

// TestAdminAPIRefusals checks that every admin route wants a token of an administrator with an
// admin scope, answering as Mastodon does: 401 without a token, 403 for a scope or role short.
func TestAdminAPIRefusals(t *testing.T) {
	inst := testrig.StartInstance(t)
	boss := inst.CreateUser(t, "boss", admin)
	bob := inst.CreateUser(t, "bob")
	bobAdminScoped := userToken(t, inst, bob, "admin:read", "admin:write")
	bossNoAdminScope := boss.Token // read write follow push
	bossReadOnly := userToken(t, inst, boss, "admin:read")
	routes := []struct{ method, path string }{
		{"GET", "/api/v1/admin/accounts"},
		{"GET", "/api/v2/admin/accounts"},
		{"GET", "/api/v1/admin/accounts/" + bob.Account.ID},
		{"POST", "/api/v1/admin/accounts/" + bob.Account.ID + "/action"},
		{"POST", "/api/v1/admin/accounts/" + bob.Account.ID + "/unsuspend"},
		{"GET", "/api/v1/admin/reports"},
		{"POST", "/api/v1/admin/reports/1/resolve"},
		{"GET", "/api/v1/admin/domain_blocks"},
		{"POST", "/api/v1/admin/domain_blocks"},
		{"DELETE", "/api/v1/admin/domain_allows/x.example"},
		{"GET", "/api/v1/admin/federation"},
		{"GET", "/api/v1/admin/dead_letters"},
		{"POST", "/api/v1/admin/dead_letters/1-0/retry"},
	}
	var cases []refusal
	for _, r := range routes {
		name := r.method + " " + r.path
		cases = append(cases,
			refusal{name + " without a token", r.method, inst.URL + r.path, "", formType, "", 401, "The access token is invalid"},
			refusal{name + " by a non-admin", r.method, inst.URL + r.path, bobAdminScoped, formType, "", 403, "This action is not allowed"},
			refusal{name + " without an admin scope", r.method, inst.URL + r.path, bossNoAdminScope, formType, "", 403, "This action is outside the authorized scopes"},
		)
		if r.method != "GET" {
			cases = append(cases, refusal{name + " with admin:read only", r.method, inst.URL + r.path, bossReadOnly, formType, "", 403, "This action is outside the authorized scopes"})
		}
	}
	expectRefusals(t, cases)
	if a := storeAccount(t, inst, bob.Account.ID); a.Suspended {
		t.Error("a refused action suspended bob")
	}
}

// TestAdminAccountsAndReports suspends and unsuspends through the admin API, resolves and
// reopens a report, and checks the filters of the account list.
func TestAdminAccountsAndReports(t *testing.T) {
	inst := testrig.StartInstance(t)
	boss := inst.CreateUser(t, "boss", admin)
	bob, carol := inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	remote := remoteAccount(t, inst, "dave", "sales.example")
	tok := userToken(t, inst, boss, "admin:read", "admin:write")
	ctx := context.Background()

	list := func(query string) []string {
		var out []mastodon.AdminAccount
		apiGet(t, inst.URL+"/api/v1/admin/accounts?"+query, tok).ok(t, &out)
		var names []string
		for _, a := range out {
			names = append(names, a.Username)
		}
		return names
	}
	for _, tc := range []struct{ query, want string }{
		{"local=true", "carol bob boss"},
		{"remote=true", "dave"},
		{"username=car", "carol"},
		{"staff=true", "boss"},
		{"suspended=true", ""},
	} {
		if got := strings.Join(list(tc.query), " "); got != tc.want {
			t.Errorf("accounts?%s = %q, want %q", tc.query, got, tc.want)
		}
	}

	// A report by carol on bob, resolved by suspending bob through the report.
	r := &store.Report{AccountID: carol.Account.ID, TargetAccountID: bob.Account.ID, Comment: "spam", Category: store.ReportSpam}
	if _, err := inst.Store.FileReport(ctx, r); err != nil {
		t.Fatal(err)
	}
	var reports []mastodon.AdminReport
	apiGet(t, inst.URL+"/api/v1/admin/reports", tok).ok(t, &reports)
	if len(reports) != 1 || reports[0].ID != r.ID || reports[0].TargetAccount.Username != "bob" || reports[0].Account.Username != "carol" || reports[0].ActionTaken {
		t.Fatalf("open reports = %+v", reports)
	}
	apiForm(t, "POST", inst.URL+"/api/v1/admin/accounts/"+bob.Account.ID+"/action", tok, "type=suspend&report_id="+r.ID).ok(t, nil)
	if !storeAccount(t, inst, bob.Account.ID).Suspended {
		t.Fatal("bob is not suspended")
	}
	apiGet(t, inst.URL+"/api/v1/accounts/verify_credentials", bob.Token).expectError(t, 401, "The access token is invalid")
	if got := strings.Join(list("suspended=true"), " "); got != "bob" {
		t.Errorf("suspended accounts = %q, want bob", got)
	}
	var got mastodon.AdminReport
	apiGet(t, inst.URL+"/api/v1/admin/reports/"+r.ID, tok).ok(t, &got)
	if !got.ActionTaken || got.ActionTakenAt == nil || !got.TargetAccount.Suspended {
		t.Errorf("report after the suspension = %+v", got)
	}
	apiGet(t, inst.URL+"/api/v1/admin/reports", tok).ok(t, &reports)
	if len(reports) != 0 {
		t.Errorf("open reports after resolving = %d", len(reports))
	}
	apiForm(t, "POST", inst.URL+"/api/v1/admin/reports/"+r.ID+"/reopen", tok, "").ok(t, &got)
	if got.ActionTaken {
		t.Error("reopened report is still resolved")
	}
	apiForm(t, "POST", inst.URL+"/api/v1/admin/reports/"+r.ID+"/resolve", tok, "").ok(t, &got)
	if !got.ActionTaken {
		t.Error("resolved report is open")
	}

	var acct mastodon.AdminAccount
	apiForm(t, "POST", inst.URL+"/api/v1/admin/accounts/"+bob.Account.ID+"/unsuspend", tok, "").ok(t, &acct)
	if acct.Suspended || storeAccount(t, inst, bob.Account.ID).Suspended {
		t.Error("bob is still suspended")
	}
	apiForm(t, "POST", inst.URL+"/api/v1/admin/accounts/"+remote.ID+"/action", tok, "type=suspend").ok(t, nil)
	apiGet(t, inst.URL+"/api/v1/admin/accounts/"+remote.ID, tok).ok(t, &acct)
	if !acct.Suspended || acct.Domain == nil || *acct.Domain != "sales.example" {
		t.Errorf("remote account after suspension = %+v", acct)
	}

	expectRefusals(t, []refusal{
		{"suspending an admin", "POST", inst.URL + "/api/v1/admin/accounts/" + boss.Account.ID + "/action", tok, formType, "type=suspend", 403, "This action is not allowed"},
		{"an unknown action", "POST", inst.URL + "/api/v1/admin/accounts/" + carol.Account.ID + "/action", tok, formType, "type=banish", 422, "Validation failed: Type is not included in the list"},
		{"an unknown account", "POST", inst.URL + "/api/v1/admin/accounts/999/action", tok, formType, "type=suspend", 404, "Record not found"},
		{"a report on someone else", "POST", inst.URL + "/api/v1/admin/accounts/" + carol.Account.ID + "/action", tok, formType, "type=suspend&report_id=" + r.ID, 404, "Record not found"},
		{"an unknown report", "POST", inst.URL + "/api/v1/admin/reports/999/resolve", tok, formType, "", 404, "Record not found"},
	})
	if storeAccount(t, inst, carol.Account.ID).Suspended || storeAccount(t, inst, boss.Account.ID).Suspended {
		t.Error("a refused action suspended someone")
	}
}

// TestAdminDomainPolicy adds and removes domain blocks and allows, which the federation
// policy (what `watercooler admin domain` changes) then holds.
func TestAdminDomainPolicy(t *testing.T) {
	inst := testrig.StartInstance(t)
	boss := inst.CreateUser(t, "boss", admin)
	tok := userToken(t, inst, boss, "admin:read:domain_blocks", "admin:write:domain_blocks", "admin:read:domain_allows", "admin:write:domain_allows")
	ctx := context.Background()
	for _, kind := range []string{"domain_blocks", "domain_allows"} {
		base := inst.URL + "/api/v1/admin/" + kind
		var entry struct{ ID, Domain string }
		apiForm(t, "POST", base, tok, "domain=Spam.Example").ok(t, &entry)
		if entry.Domain != "spam.example" || entry.ID != "spam.example" {
			t.Errorf("%s: created %+v", kind, entry)
		}
		expectRefusals(t, []refusal{
			{kind + " twice", "POST", base, tok, formType, "domain=spam.example", 422, "Validation failed: Domain has already been taken"},
			{kind + " blank", "POST", base, tok, formType, "domain=", 422, "Validation failed: Domain can't be blank"},
			{kind + " not a host", "POST", base, tok, formType, "domain=" + url.QueryEscape("spam..example"), 422, "Validation failed: Domain is not a valid domain name"},
			{kind + " unknown", "DELETE", base + "/other.example", tok, "", "", 404, "Record not found"},
		})
		var all []struct{ Domain string }
		apiGet(t, base, tok).ok(t, &all)
		if len(all) != 1 || all[0].Domain != "spam.example" {
			t.Errorf("%s = %+v", kind, all)
		}
		p, err := inst.Store.FederationPolicy(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held := p.Blocked
		if kind == "domain_allows" {
			held = p.Allowed
		}
		if len(held) != 1 || held[0] != "spam.example" {
			t.Errorf("%s in the policy = %v", kind, held)
		}
		apiDo(t, "DELETE", base+"/spam.example", tok, "", "").ok(t, nil)
		apiGet(t, base, tok).ok(t, &all)
		if len(all) != 0 {
			t.Errorf("%s after delete = %+v", kind, all)
		}
	}
}

// TestAdminFederationHealth follows alice on eng from bob on sales, takes sales down, and
// checks that eng's federation health shows the failed and retried deliveries to sales in the
// current hour; then a delivery dead-lettered while sales was down for long is retried by the
// admin and arrives once sales is back.
func TestAdminFederationHealth(t *testing.T) {
	eng, sales := testrig.StartInstance(t), testrig.StartInstance(t)
	boss := eng.CreateUser(t, "boss", admin)
	alice := eng.CreateUser(t, "alice")
	bob := sales.CreateUser(t, "bob")
	tok := userToken(t, eng, boss, "admin:read", "admin:write")
	salesHost := sales.Config.Domain()

	var found struct{ Accounts []gomastodon.Account }
	apiGet(t, sales.URL+"/api/v2/search?type=accounts&resolve=true&q="+url.QueryEscape("alice@"+eng.Config.Domain()), bob.Token).ok(t, &found)
	if len(found.Accounts) != 1 {
		t.Fatalf("bob found %d accounts", len(found.Accounts))
	}
	apiForm(t, "POST", sales.URL+"/api/v1/accounts/"+string(found.Accounts[0].ID)+"/follow", bob.Token, "").ok(t, nil)
	testrig.Eventually(t, 20*time.Second, "alice has bob as a follower", func() bool {
		inboxes, err := eng.Store.RemoteFollowerInboxes(context.Background(), alice.Account.ID)
		return err == nil && len(inboxes) == 1
	})
	// Sales too must have taken eng's Accept before it goes down: an Accept still queued when it
	// stops is done after its restart, possibly after the retried post, which then finds bob
	// not yet following alice and stays out of his home.
	testrig.Eventually(t, 20*time.Second, "bob follows alice as sales sees it", func() bool {
		rels, err := sales.Store.Relationships(context.Background(), bob.Account.ID, []string{string(found.Accounts[0].ID)})
		return err == nil && rels[0].Following
	})

	peer := func() (mastodon.FederationPeer, bool) {
		var peers []mastodon.FederationPeer
		apiGet(t, eng.URL+"/api/v1/admin/federation", tok).ok(t, &peers)
		for _, p := range peers {
			if p.Host == salesHost {
				return p, true
			}
		}
		return mastodon.FederationPeer{}, false
	}

	sales.Stop()
	postStatus(t, eng, alice, gomastodon.Toot{Status: "while sales is down"})
	testrig.Eventually(t, 20*time.Second, "failures and retries to sales in this hour", func() bool {
		p, ok := peer()
		if !ok || len(p.Hours) != 24 {
			return false
		}
		now := p.Hours[23]
		return now.Failed >= 2 && now.Retried >= 2 && p.FailingSince != nil && p.Retrying+p.Queued >= 1
	})
	if p, _ := peer(); !strings.HasPrefix(p.Hours[23].Hour, time.Now().UTC().Format("2006-01-02T15")) {
		t.Errorf("last hour is %s, want the current one", p.Hours[23].Hour)
	}

	// Sales has been down for two hours, as eng sees it: the next delivery is dead-lettered.
	ctx := context.Background()
	if err := eng.Store.ClearHostFailure(ctx, salesHost); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Store.HostFailed(ctx, salesHost, time.Now().Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	late := postStatus(t, eng, alice, gomastodon.Toot{Status: "after a long outage"})
	// The earlier post's retry may be dead-lettered too, before or after this one: pick the
	// late post's letter by its activity.
	var letter mastodon.DeadLetter
	testrig.Eventually(t, 20*time.Second, "the delivery of the late post is dead-lettered", func() bool {
		var dead []mastodon.DeadLetter
		apiGet(t, eng.URL+"/api/v1/admin/dead_letters", tok).ok(t, &dead)
		for _, d := range dead {
			if strings.Contains(d.ActivityID, string(late.ID)) {
				letter = d
				return true
			}
		}
		return false
	})
	if letter.ActivityType != "Create" || !strings.HasPrefix(letter.Inbox, sales.URL) || !strings.Contains(letter.Error, "unavailable") {
		t.Errorf("dead letter = %+v", letter)
	}

	sales.Restart(t)
	apiForm(t, "POST", eng.URL+"/api/v1/admin/dead_letters/"+letter.ID+"/retry", tok, "").ok(t, nil)
	apiForm(t, "POST", eng.URL+"/api/v1/admin/dead_letters/"+letter.ID+"/retry", tok, "").expectError(t, http.StatusNotFound, "Record not found")
	testrig.Eventually(t, 30*time.Second, "the retried post reaches bob's home on sales", func() bool {
		for _, st := range timeline(t, sales.URL+"/api/v1/timelines/home", bob.Token) {
			if strings.Contains(st.Content, "after a long outage") {
				return true
			}
		}
		return false
	})
	var left []mastodon.DeadLetter
	apiGet(t, eng.URL+"/api/v1/admin/dead_letters", tok).ok(t, &left)
	for _, d := range left {
		if d.ID == letter.ID {
			t.Errorf("dead letter %s is still listed after its retry", d.ID)
		}
	}
	p, _ := peer()
	if p.Hours[23].Delivered == 0 || p.Hours[23].Dead == 0 {
		t.Errorf("this hour's counts to sales = %+v, want deliveries and a dead letter", p.Hours[23])
	}
}
