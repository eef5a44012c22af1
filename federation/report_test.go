package federation_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/signup"
	"watercooler/store"
	"watercooler/testrig"
)

// TestReportForwardedAsFlag: bob in sales reports alice in engineering. Without forward the
// report stays in sales; with it, engineering receives a Flag from sales' instance actor and
// its admin hears of a report about alice and her post.
func TestReportForwardedAsFlag(t *testing.T) {
	ctx := context.Background()
	eng := newDept(t, "alice")
	boss := eng.addUser(t, "boss", func(p *signup.Params) { p.Admin = true })
	sales := newDept(t, "bob")
	post := eng.post(t, &gomastodon.Toot{Status: "Our numbers are made up", Visibility: "public"})
	remoteAlice := sales.resolve(t, eng.acct())
	remotePost, err := sales.client.Search(ctx, post.URI, true)
	if err != nil || len(remotePost.Statuses) != 1 {
		t.Fatalf("sales cannot find alice's post: %+v, %v", remotePost, err)
	}
	report := func(comment string, forward bool) {
		t.Helper()
		form := url.Values{"account_id": {string(remoteAlice.ID)}, "status_ids[]": {string(remotePost.Statuses[0].ID)}, "comment": {comment}}
		if forward {
			form.Set("forward", "true")
		}
		req, _ := http.NewRequest(http.MethodPost, sales.inst.URL+"/api/v1/reports", strings.NewReader(form.Encode()))
		req.Header.Set("Authorization", "Bearer "+sales.user.Token)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("report: %d", resp.StatusCode)
		}
	}
	report("kept in sales", false)
	report("forwarded to engineering", true)

	var got []*store.Report
	testrig.Eventually(t, deadline, "the forwarded report in engineering", func() bool {
		var err error
		got, err = eng.inst.Store.Reports(ctx, false, 10)
		return err == nil && len(got) > 0
	})
	if len(got) != 1 {
		t.Fatalf("engineering has %d reports, want only the forwarded one: %+v", len(got), got)
	}
	r := got[0]
	actor, err := eng.inst.Store.Account(ctx, r.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Comment != "forwarded to engineering" || r.TargetAccountID != eng.user.Account.ID || len(r.StatusIDs) != 1 || r.StatusIDs[0] != string(post.ID) ||
		actor.URI != sales.inst.URL+"/actor" || r.Origin != sales.inst.Config.Domain() {
		t.Fatalf("forwarded report = %+v from %s", r, actor.URI)
	}
	// Nobody in sales is named to engineering: the reporter stays anonymous.
	if _, err := eng.inst.Store.AccountByURI(ctx, sales.user.Account.URI); err == nil {
		t.Error("engineering learned of the reporter")
	}
	ns, err := boss.client.GetNotifications(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 1 || ns[0].Type != "admin.report" {
		t.Fatalf("engineering's admin notifications = %+v", ns)
	}
	sent, err := sales.inst.Store.Reports(ctx, false, 10)
	if err != nil || len(sent) != 2 || !sent[0].Forwarded || sent[1].Forwarded {
		t.Fatalf("sales' own reports = %+v, %v", sent, err)
	}
}
