package federation_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/signup"
	"watercooler/store"
	"watercooler/testrig"
	"watercooler/text"
)

func admin(p *signup.Params) { p.Admin = true }

// reportEntity is the part of Mastodon's Report entity these tests read.
type reportEntity struct {
	ID            string   `json:"id"`
	Comment       string   `json:"comment"`
	Forwarded     bool     `json:"forwarded"`
	StatusIDs     []string `json:"status_ids"`
	TargetAccount struct {
		ID   string `json:"id"`
		Acct string `json:"acct"`
	} `json:"target_account"`
}

// report files a report as d's user through POST /api/v1/reports.
func (d *dept) report(t *testing.T, form url.Values) reportEntity {
	t.Helper()
	req, err := http.NewRequest("POST", d.inst.URL+"/api/v1/reports", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+d.user.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/v1/reports %v = %d %s", form, resp.StatusCode, body)
	}
	var r reportEntity
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestFederationReportForwarded: bob on sales reports alice on eng, with one of her posts. The
// report he keeps to his own moderators never reaches eng; the one he forwards arrives as a
// Flag from sales' instance actor, anonymous, and eng's admin hears of it.
func TestFederationReportForwarded(t *testing.T) {
	ctx := context.Background()
	eng, sales := newDept(t, "alice"), newDept(t, "bob")
	boss := eng.addUser(t, "boss", admin)
	post := eng.post(t, &gomastodon.Toot{Status: "Limited offer, click now", Visibility: "public"})
	aliceOnSales := sales.resolve(t, eng.acct())
	res, err := sales.client.Search(ctx, post.URI, true)
	if err != nil || len(res.Statuses) != 1 {
		t.Fatalf("sales resolving alice's post: %v, %+v", err, res)
	}
	postOnSales := res.Statuses[0]

	kept := sales.report(t, url.Values{"account_id": {string(aliceOnSales.ID)}, "status_ids[]": {string(postOnSales.ID)}, "comment": {"kept here"}})
	forwarded := sales.report(t, url.Values{
		"account_id": {string(aliceOnSales.ID)}, "status_ids[]": {string(postOnSales.ID)}, "comment": {"spam, please look"}, "forward": {"true"},
	})
	if kept.Forwarded || !forwarded.Forwarded {
		t.Fatalf("forwarded = %v then %v, want false then true", kept.Forwarded, forwarded.Forwarded)
	}

	var reports []*store.Report
	testrig.Eventually(t, deadline, "the forwarded report reaches eng", func() bool {
		reports, err = eng.inst.Store.Reports(ctx, true)
		return err == nil && len(reports) > 0
	})
	quiesce(t, eng.inst, sales.inst)
	if reports, err = eng.inst.Store.Reports(ctx, true); err != nil || len(reports) != 1 {
		t.Fatalf("eng has %d reports (%v), want only the forwarded one", len(reports), err)
	}
	got := reports[0]
	reporter, err := eng.inst.Store.Account(ctx, got.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Comment != "spam, please look" || got.TargetAccountID != eng.user.Account.ID || !slices.Equal(got.StatusIDs, []string{string(post.ID)}) ||
		got.Origin != sales.inst.Config.Domain() || !got.Open() {
		t.Errorf("report on eng = %+v, want the forwarded comment on alice with her post %s from %s", got, post.ID, sales.inst.Config.Domain())
	}
	if reporter.URI != sales.inst.URL+"/actor" {
		t.Errorf("reporter = %s, want sales' instance actor (bob stays anonymous)", reporter.URI)
	}

	instanceActor := text.InstanceActorName(sales.inst.Config.Domain()) + "@" + sales.inst.Config.Domain()
	boss.waitNotification(t, "admin.report", instanceActor)
	var ns []struct {
		Type   string        `json:"type"`
		Report *reportEntity `json:"report"`
	}
	boss.getJSON(t, "/api/v1/notifications?types[]=admin.report", &ns)
	if len(ns) != 1 || ns[0].Report == nil || ns[0].Report.ID != got.ID || ns[0].Report.TargetAccount.Acct != "alice" ||
		!slices.Equal(ns[0].Report.StatusIDs, []string{string(post.ID)}) {
		t.Errorf("eng admin's admin.report notifications = %+v, want one with report %s on alice", ns, got.ID)
	}
	if n := len(notificationsOfType(t, eng.inst, eng.user.Account.ID, store.NotifyAdminReport)); n != 0 {
		t.Errorf("alice, no admin, got %d admin.report notifications", n)
	}
	// Both reports stay on sales for its own moderators.
	if onSales, _ := sales.inst.Store.ReportsAgainst(ctx, string(aliceOnSales.ID)); len(onSales) != 2 {
		t.Errorf("sales keeps %d reports on alice, want 2", len(onSales))
	}
}

func notificationsOfType(t testing.TB, inst *testrig.Instance, accountID, typ string) []*store.Notification {
	t.Helper()
	ns, err := inst.Store.Notifications(context.Background(), accountID, store.NotificationQuery{Page: store.Page{Limit: 40}, Types: []string{typ}})
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// TestFlagShapeAndInbound checks the Flag sent to another server as Mastodon's (instance actor,
// content, object list), and Flags received from one: objects on other servers or unknown are
// passed over without storing anything, and a local account with its post is filed, reported
// by the Flag's actor.
func TestFlagShapeAndInbound(t *testing.T) {
	ctx := context.Background()
	eng := newDept(t, "alice")
	eng.addUser(t, "boss", admin)
	remote := newFakeRemote(t)
	remote.addActor("mallory", newKey(t))
	mallory := eng.resolve(t, remote.acct("mallory"))

	eng.report(t, url.Values{"account_id": {string(mallory.ID)}, "comment": {"harassment"}, "forward": {"true"}})
	var flags []map[string]any
	testrig.Eventually(t, deadline, "the Flag reaches mallory's server", func() bool {
		flags = remote.postedOfType("Flag")
		return len(flags) > 0
	})
	flag := flags[0]
	objects, _ := flag["object"].([]any)
	if flag["actor"] != eng.inst.URL+"/actor" || flag["content"] != "harassment" || len(objects) != 1 || objects[0] != remote.actorURI("mallory") {
		t.Errorf("Flag = %v, want from eng's instance actor with the comment and [mallory]", flag)
	}

	post := eng.post(t, &gomastodon.Toot{Status: "an ordinary post", Visibility: "public"})
	stranger := remote.actorURI("nobody")
	remote.deliver(t, eng.inst, "mallory", remote.activity("mallory", "Flag", "1", []any{stranger, eng.inst.URL + "/users/ghost"}))
	quiesce(t, eng.inst)
	if all, _ := eng.inst.Store.Reports(ctx, true); len(all) != 1 {
		t.Fatalf("%d reports after a Flag of no local account, want only alice's own on mallory", len(all))
	}

	flagged := remote.activity("mallory", "Flag", "2", []any{eng.user.Account.URI, post.URI, stranger})
	flagged["content"] = "she was rude to me"
	remote.deliver(t, eng.inst, "mallory", flagged)
	var all []*store.Report
	testrig.Eventually(t, deadline, "the Flag files a report on alice", func() bool {
		all, _ = eng.inst.Store.ReportsAgainst(ctx, eng.user.Account.ID)
		return len(all) == 1
	})
	if r := all[0]; r.AccountID != string(mallory.ID) || r.TargetAccountID != eng.user.Account.ID || r.Comment != "she was rude to me" ||
		!slices.Equal(r.StatusIDs, []string{string(post.ID)}) || r.Origin != remote.host() {
		t.Errorf("report = %+v, want mallory's on alice with her post", r)
	}
	quiesce(t, eng.inst)
	if all, _ := eng.inst.Store.Reports(ctx, true); len(all) != 2 {
		t.Errorf("%d reports, want alice's on mallory and mallory's on alice", len(all))
	}
}

// TestReportForwardToDomains: a reported post of mallory's replies to victor on another
// server; with that server in forward_to_domains, it gets the Flag too, as Mastodon forwards
// to the servers of the people the reported posts reply to, and a third server does not.
func TestReportForwardToDomains(t *testing.T) {
	eng := newDept(t, "alice")
	home, elsewhere, bystander := newFakeRemote(t), newFakeRemote(t), newFakeRemote(t)
	home.addActor("mallory", newKey(t))
	elsewhere.addActor("victor", newKey(t))
	bystander.addActor("zed", newKey(t))
	mallory := eng.resolve(t, home.acct("mallory"))
	eng.resolve(t, bystander.acct("zed"))
	parent := elsewhere.note("victor", "1", "my holiday photos", nil)
	elsewhere.put(parent)
	reply := home.note("mallory", "2", "nobody cares", map[string]any{"inReplyTo": parent["id"]})
	home.deliver(t, eng.inst, "mallory", home.activity("mallory", "Create", "2", reply))
	var replyOnEng *gomastodon.Status
	testrig.Eventually(t, deadline, "mallory's reply is stored on eng", func() bool {
		replyOnEng = eng.findStatus(t, reply["id"].(string))
		return replyOnEng != nil && replyOnEng.InReplyToAccountID != nil
	})

	eng.report(t, url.Values{
		"account_id": {string(mallory.ID)}, "status_ids[]": {string(replyOnEng.ID)}, "comment": {"pile-on"}, "forward": {"true"},
		"forward_to_domains[]": {elsewhere.host(), bystander.host()},
	})
	want := []any{home.actorURI("mallory"), reply["id"]}
	for _, r := range []*fakeRemote{home, elsewhere} {
		testrig.Eventually(t, deadline, "a Flag reaches "+r.host(), func() bool { return len(r.postedOfType("Flag")) == 1 })
		if got := r.postedOfType("Flag")[0]; !slices.Equal(got["object"].([]any), want) || got["content"] != "pile-on" {
			t.Errorf("Flag to %s = %v, want object %v", r.host(), got, want)
		}
	}
	quiesce(t, eng.inst)
	if n := len(bystander.postedOfType("Flag")); n != 0 {
		t.Errorf("a server in forward_to_domains that no reported post replies to got %d Flags", n)
	}
}
