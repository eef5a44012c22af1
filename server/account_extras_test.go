package server_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/testrig"
)

// TestEndorsementsAndNotes: featuring followed accounts on one's profile, and private notes
// that only their author sees.
func TestEndorsementsAndNotes(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	followUser(t, inst, alice, bob)
	post := func(u *testrig.User, path, form string) apiResponse {
		return apiForm(t, http.MethodPost, inst.URL+path, u.Token, form)
	}
	var rel mastodon.Relationship
	post(alice, "/api/v1/accounts/"+bob.Account.ID+"/pin", "").ok(t, &rel)
	if !rel.Endorsed {
		t.Errorf("after pin: %+v", rel)
	}
	post(alice, "/api/v1/accounts/"+carol.Account.ID+"/pin", "").expectError(t, http.StatusUnprocessableEntity, "Validation failed: You must be following this account to endorse it")
	accounts := func(path, token string) []string {
		var out []mastodon.Account
		apiGet(t, inst.URL+path, token).ok(t, &out)
		var names []string
		for _, a := range out {
			names = append(names, a.Username)
		}
		return names
	}
	if got := accounts("/api/v1/endorsements", alice.Token); !slices.Equal(got, []string{"bob"}) {
		t.Errorf("endorsements = %v", got)
	}
	if got := accounts("/api/v1/accounts/"+alice.Account.ID+"/endorsements", ""); !slices.Equal(got, []string{"bob"}) {
		t.Errorf("alice's profile endorsements, read anonymously = %v", got)
	}
	post(alice, "/api/v1/accounts/"+bob.Account.ID+"/unpin", "").ok(t, &rel)
	if rel.Endorsed || len(accounts("/api/v1/endorsements", alice.Token)) != 0 {
		t.Errorf("after unpin: %+v", rel)
	}

	post(alice, "/api/v1/accounts/"+carol.Account.ID+"/note", "comment=knows+the+billing+system").ok(t, &rel)
	if rel.Note != "knows the billing system" {
		t.Errorf("note = %q", rel.Note)
	}
	var rels []mastodon.Relationship
	apiGet(t, inst.URL+"/api/v1/accounts/relationships?id[]="+carol.Account.ID, bob.Token).ok(t, &rels)
	if rels[0].Note != "" {
		t.Errorf("bob sees alice's note: %q", rels[0].Note)
	}
	post(alice, "/api/v1/accounts/"+carol.Account.ID+"/note", "comment=").ok(t, &rel)
	if rel.Note != "" {
		t.Errorf("cleared note = %q", rel.Note)
	}
}

// TestUserDomainBlocks: blocking a domain hides its people's posts from home and public,
// ends follows both ways, shows in the relationship, and lifting it shows their posts again.
func TestUserDomainBlocks(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice := inst.CreateUser(t, "alice")
	zed, yan := remoteAccount(t, inst, "zed", "noisy.example"), remoteAccount(t, inst, "yan", "noisy.example")
	if err := inst.Store.Follow(ctx, alice.Account, zed, store.FollowOptions{ShowReblogs: true}); err != nil {
		t.Fatal(err)
	}
	if err := inst.Store.Follow(ctx, yan, alice.Account, store.FollowOptions{ShowReblogs: true}); err != nil {
		t.Fatal(err)
	}
	loud := storeStatus(t, inst, zed, store.Status{URI: "https://noisy.example/users/zed/statuses/1", Content: "<p>loud</p>"})
	home := func() []string { return timelineIDs(t, inst.URL+"/api/v1/timelines/home", alice.Token) }
	public := func() []string { return timelineIDs(t, inst.URL+"/api/v1/timelines/public", alice.Token) }
	if !slices.Contains(home(), loud.ID) {
		t.Fatal("zed's post is not in alice's home before the block")
	}
	apiForm(t, http.MethodPost, inst.URL+"/api/v1/domain_blocks", alice.Token, "domain=Noisy.example").ok(t, nil)
	if slices.Contains(home(), loud.ID) || slices.Contains(public(), loud.ID) {
		t.Error("a blocked domain's post is still shown")
	}
	var rels []mastodon.Relationship
	apiGet(t, inst.URL+"/api/v1/accounts/relationships?id[]="+zed.ID+"&id[]="+yan.ID, alice.Token).ok(t, &rels)
	for _, r := range rels {
		if !r.DomainBlocking || r.Following || r.FollowedBy {
			t.Errorf("relationship with %s = %+v, want domain_blocking and no follows", r.ID, r)
		}
	}
	var domains []string
	apiGet(t, inst.URL+"/api/v1/domain_blocks", alice.Token).ok(t, &domains)
	if !slices.Equal(domains, []string{"noisy.example"}) {
		t.Errorf("domain_blocks = %v", domains)
	}
	apiForm(t, http.MethodPost, inst.URL+"/api/v1/domain_blocks", alice.Token, "domain=").expectError(t, http.StatusUnprocessableEntity, "Validation failed: Domain can't be blank")

	apiDo(t, http.MethodDelete, inst.URL+"/api/v1/domain_blocks?domain=noisy.example", alice.Token, "", "").ok(t, nil)
	if !slices.Contains(public(), loud.ID) {
		t.Error("after unblocking, the domain's public post is still hidden")
	}
}
