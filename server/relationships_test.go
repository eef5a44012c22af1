package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/testrig"
)

// relOf reads how u relates to target through the API.
func relOf(t testing.TB, inst *testrig.Instance, u *testrig.User, target *testrig.User) *gomastodon.Relationship {
	t.Helper()
	rels, err := userClient(inst, u).GetAccountRelationships(context.Background(), []string{target.Account.ID})
	if err != nil || len(rels) != 1 {
		t.Fatalf("relationship %s → %s: %v (%d)", u.Account.Username, target.Account.Username, err, len(rels))
	}
	return rels[0]
}

// relAccountIDs reads a page of accounts and returns their ids and the Link header.
func relAccountIDs(t testing.TB, u, token string) ([]string, string) {
	t.Helper()
	r := apiGet(t, u, token)
	var accounts []mastodon.Account
	r.ok(t, &accounts)
	ids := make([]string, len(accounts))
	for i, a := range accounts {
		ids[i] = a.ID
	}
	return ids, r.Header.Get("Link")
}

func TestFollowRelationshipAndCounts(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")

	rel, err := userClient(inst, alice).AccountFollow(ctx, gomastodon.ID(bob.Account.ID))
	if err != nil {
		t.Fatal(err)
	}
	if !rel.Following || rel.FollowedBy || rel.Requested || string(rel.ID) != bob.Account.ID {
		t.Errorf("follow answered %+v", rel)
	}
	var raw []mastodon.Relationship
	apiGet(t, inst.API("/api/v1/accounts/relationships?id[]=%s", bob.Account.ID), alice.Token).ok(t, &raw)
	if len(raw) != 1 || !raw[0].ShowingReblogs || raw[0].Notifying {
		t.Errorf("default follow options %+v, want reblogs shown and no notifications", raw)
	}
	if r := relOf(t, inst, bob, alice); !r.FollowedBy || r.Following {
		t.Errorf("bob → alice %+v", r)
	}
	ns, err := userClient(inst, bob).GetNotifications(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 1 || ns[0].Type != "follow" || string(ns[0].Account.ID) != alice.Account.ID {
		t.Errorf("bob's notifications %+v", ns)
	}
	var bobAcct, aliceAcct mastodon.Account
	apiGet(t, inst.API("/api/v1/accounts/%s", bob.Account.ID), "").ok(t, &bobAcct)
	apiGet(t, inst.API("/api/v1/accounts/%s", alice.Account.ID), "").ok(t, &aliceAcct)
	if bobAcct.FollowersCount != 1 || aliceAcct.FollowingCount != 1 {
		t.Errorf("counts: bob followers %d, alice following %d", bobAcct.FollowersCount, aliceAcct.FollowingCount)
	}
	if ids, _ := relAccountIDs(t, inst.API("/api/v1/accounts/%s/followers", bob.Account.ID), ""); !slices.Equal(ids, []string{alice.Account.ID}) {
		t.Errorf("bob's followers %v", ids)
	}
	if ids, _ := relAccountIDs(t, inst.API("/api/v1/accounts/%s/following", alice.Account.ID), ""); !slices.Equal(ids, []string{bob.Account.ID}) {
		t.Errorf("alice's following %v", ids)
	}

	// Following again changes only the options sent.
	var again mastodon.Relationship
	apiForm(t, http.MethodPost, inst.API("/api/v1/accounts/%s/follow", bob.Account.ID), alice.Token, url.Values{"notify": {"true"}, "languages[]": {"en", "de"}}.Encode()).ok(t, &again)
	if !again.Following || !again.Notifying || !again.ShowingReblogs || !slices.Equal(again.Languages, []string{"en", "de"}) {
		t.Errorf("follow again with notify and languages: %+v", again)
	}
	apiJSON(t, http.MethodPost, inst.API("/api/v1/accounts/%s/follow", bob.Account.ID), alice.Token, `{"reblogs":false}`).ok(t, &again)
	if again.ShowingReblogs || !again.Notifying {
		t.Errorf("follow again with reblogs=false: %+v", again)
	}
	apiGet(t, inst.API("/api/v1/accounts/%s", bob.Account.ID), "").ok(t, &bobAcct)
	if bobAcct.FollowersCount != 1 {
		t.Errorf("following again counted twice: %d followers", bobAcct.FollowersCount)
	}

	rel, err = userClient(inst, alice).AccountUnfollow(ctx, gomastodon.ID(bob.Account.ID))
	if err != nil {
		t.Fatal(err)
	}
	if rel.Following {
		t.Errorf("unfollow answered %+v", rel)
	}
	if r := relOf(t, inst, bob, alice); r.FollowedBy {
		t.Errorf("bob still followed after unfollow: %+v", r)
	}
}

func TestFollowersPagination(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	star := inst.CreateUser(t, "star")
	var fans []string // in follow order
	for _, name := range []string{"fan1", "fan2", "fan3"} {
		fan := inst.CreateUser(t, name)
		if _, err := userClient(inst, fan).AccountFollow(ctx, gomastodon.ID(star.Account.ID)); err != nil {
			t.Fatal(err)
		}
		fans = append(fans, fan.Account.ID)
	}
	ids, link := relAccountIDs(t, inst.API("/api/v1/accounts/%s/followers?limit=2", star.Account.ID), "")
	if !slices.Equal(ids, []string{fans[2], fans[1]}) {
		t.Fatalf("first page %v", ids)
	}
	next := mustLinkRel(t, link, "next")
	if ids, _ := relAccountIDs(t, next, ""); !slices.Equal(ids, []string{fans[0]}) {
		t.Errorf("next page %v", ids)
	}
	var pg gomastodon.Pagination
	pg.Limit = 1
	got, err := userClient(inst, star).GetAccountFollowers(ctx, gomastodon.ID(star.Account.ID), &pg)
	if err != nil || len(got) != 1 || string(got[0].ID) != fans[2] || pg.MaxID == "" {
		t.Errorf("go-mastodon followers page: %v %v next %+v", err, got, pg)
	}
	if ids, _ := relAccountIDs(t, inst.API("/api/v1/accounts/%s/followers?limit=500", star.Account.ID), ""); len(ids) != 3 {
		t.Errorf("limit above the maximum: %v", ids)
	}
}

func TestFollowLockedAccountRequests(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	bob := inst.CreateUser(t, "bob", locked)
	alice, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "carol")

	for _, u := range []*testrig.User{alice, carol} {
		rel, err := userClient(inst, u).AccountFollow(ctx, gomastodon.ID(bob.Account.ID))
		if err != nil {
			t.Fatal(err)
		}
		if rel.Following || !rel.Requested {
			t.Errorf("%s's follow of a locked account: %+v", u.Account.Username, rel)
		}
	}
	requests, err := userClient(inst, bob).GetFollowRequests(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(requests) != 2 || string(requests[0].ID) != carol.Account.ID || string(requests[1].ID) != alice.Account.ID {
		t.Errorf("follow requests %+v", requests)
	}
	var me mastodon.Account
	apiGet(t, inst.API("/api/v1/accounts/verify_credentials"), bob.Token).ok(t, &me)
	if me.Source.FollowRequestsCount != 2 {
		t.Errorf("follow_requests_count %d", me.Source.FollowRequestsCount)
	}
	ns, err := userClient(inst, bob).GetNotifications(ctx, nil)
	if err != nil || len(ns) != 2 || ns[0].Type != "follow_request" {
		t.Errorf("bob's notifications %v %+v", err, ns)
	}

	if err := userClient(inst, bob).FollowRequestAuthorize(ctx, gomastodon.ID(alice.Account.ID)); err != nil {
		t.Fatal(err)
	}
	if r := relOf(t, inst, alice, bob); !r.Following || r.Requested {
		t.Errorf("alice → bob after authorize %+v", r)
	}
	var rejected mastodon.Relationship
	apiForm(t, http.MethodPost, inst.API("/api/v1/follow_requests/%s/reject", carol.Account.ID), bob.Token, "").ok(t, &rejected)
	if rejected.ID != carol.Account.ID || rejected.RequestedBy || rejected.FollowedBy {
		t.Errorf("reject answered %+v", rejected)
	}
	if r := relOf(t, inst, carol, bob); r.Following || r.Requested {
		t.Errorf("carol → bob after reject %+v", r)
	}
	if ids, _ := relAccountIDs(t, inst.API("/api/v1/follow_requests"), bob.Token); len(ids) != 0 {
		t.Errorf("follow requests left: %v", ids)
	}
	for _, path := range []string{"/api/v1/follow_requests/%s/reject", "/api/v1/follow_requests/%s/authorize"} {
		apiForm(t, http.MethodPost, inst.API(path, carol.Account.ID), bob.Token, "").expectError(t, http.StatusNotFound, "Record not found")
		apiForm(t, http.MethodPost, inst.API(path, "424242"), bob.Token, "").expectError(t, http.StatusNotFound, "Record not found")
	}
	if r := relOf(t, inst, carol, bob); r.Following {
		t.Errorf("authorizing a rejected request made carol follow bob: %+v", r)
	}
}

func TestBlockEndsFollowsAndHides(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	for _, pair := range [][2]*testrig.User{{alice, bob}, {bob, alice}} {
		if _, err := userClient(inst, pair[0]).AccountFollow(ctx, gomastodon.ID(pair[1].Account.ID)); err != nil {
			t.Fatal(err)
		}
	}
	post := storeStatus(t, inst, alice.Account, store.Status{})
	rel, err := userClient(inst, alice).AccountBlock(ctx, gomastodon.ID(bob.Account.ID))
	if err != nil {
		t.Fatal(err)
	}
	if !rel.Blocking || rel.Following || rel.FollowedBy {
		t.Errorf("block answered %+v", rel)
	}
	if r := relOf(t, inst, bob, alice); r.Following || r.FollowedBy {
		t.Errorf("bob → alice after block %+v", r)
	}
	var statuses []mastodon.Status
	apiGet(t, inst.API("/api/v1/accounts/%s/statuses", alice.Account.ID), bob.Token).ok(t, &statuses)
	if len(statuses) != 0 {
		t.Errorf("bob sees alice's statuses after her block: %v", statuses)
	}
	apiGet(t, inst.API("/api/v1/accounts/%s/statuses", alice.Account.ID), "").ok(t, &statuses)
	if len(statuses) != 1 || statuses[0].ID != post.ID {
		t.Errorf("anonymous sees %v", statuses)
	}
	if ids, _ := relAccountIDs(t, inst.API("/api/v1/accounts/%s/followers", alice.Account.ID), bob.Token); len(ids) != 0 {
		t.Errorf("blocked bob sees alice's followers %v", ids)
	}
	blocks, err := userClient(inst, alice).GetBlocks(ctx, nil)
	if err != nil || len(blocks) != 1 || string(blocks[0].ID) != bob.Account.ID {
		t.Errorf("blocks %v %+v", err, blocks)
	}
	apiForm(t, http.MethodPost, inst.API("/api/v1/accounts/%s/follow", alice.Account.ID), bob.Token, "").expectError(t, http.StatusForbidden, "This action is not allowed")
	if r := relOf(t, inst, bob, alice); r.Following || r.Requested {
		t.Errorf("bob followed alice who blocks him: %+v", r)
	}
	rel, err = userClient(inst, alice).AccountUnblock(ctx, gomastodon.ID(bob.Account.ID))
	if err != nil || rel.Blocking {
		t.Errorf("unblock %v %+v", err, rel)
	}
	if blocks, _ := userClient(inst, alice).GetBlocks(ctx, nil); len(blocks) != 0 {
		t.Errorf("blocks after unblock %+v", blocks)
	}
}

func TestMuteAndMutesList(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	rel, err := userClient(inst, alice).AccountMute(ctx, gomastodon.ID(bob.Account.ID))
	if err != nil {
		t.Fatal(err)
	}
	if !rel.Muting || !rel.MutingNotifications {
		t.Errorf("mute answered %+v", rel)
	}
	var r mastodon.Relationship
	apiJSON(t, http.MethodPost, inst.API("/api/v1/accounts/%s/mute", carol.Account.ID), alice.Token, `{"notifications":false,"duration":3600}`).ok(t, &r)
	if !r.Muting || r.MutingNotifications {
		t.Errorf("mute without notifications answered %+v", r)
	}
	mutes, err := userClient(inst, alice).GetMutes(ctx, nil)
	if err != nil || len(mutes) != 2 || string(mutes[0].ID) != carol.Account.ID {
		t.Errorf("mutes %v %+v", err, mutes)
	}
	rel, err = userClient(inst, alice).AccountUnmute(ctx, gomastodon.ID(bob.Account.ID))
	if err != nil || rel.Muting || rel.MutingNotifications {
		t.Errorf("unmute %v %+v", err, rel)
	}
	if ids, _ := relAccountIDs(t, inst.API("/api/v1/mutes"), alice.Token); !slices.Equal(ids, []string{carol.Account.ID}) {
		t.Errorf("mutes after unmute %v", ids)
	}
}

func TestRelationshipsKeepOrder(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice, bob, carol, dave := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol"), inst.CreateUser(t, "dave")
	if _, err := userClient(inst, alice).AccountFollow(ctx, gomastodon.ID(carol.Account.ID)); err != nil {
		t.Fatal(err)
	}
	suspended := storeAccount(t, inst, dave.Account.ID)
	suspended.Suspended = true
	if err := inst.Store.UpdateAccount(ctx, suspended); err != nil {
		t.Fatal(err)
	}
	rels, err := userClient(inst, alice).GetAccountRelationships(ctx, []string{carol.Account.ID, "999", bob.Account.ID, dave.Account.ID, carol.Account.ID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rels {
		got = append(got, string(r.ID))
	}
	if !slices.Equal(got, []string{carol.Account.ID, bob.Account.ID}) || !rels[0].Following || rels[1].Following {
		t.Errorf("relationships %v %+v", got, rels)
	}
	var withSuspended []mastodon.Relationship
	apiGet(t, inst.API("/api/v1/accounts/relationships?id[]=%s&id[]=%s&with_suspended=true", dave.Account.ID, bob.Account.ID), alice.Token).ok(t, &withSuspended)
	if len(withSuspended) != 2 || withSuspended[0].ID != dave.Account.ID {
		t.Errorf("with_suspended %+v", withSuspended)
	}
	apiGet(t, inst.API("/api/v1/accounts/relationships?id[]=%s", bob.Account.ID), "").expectError(t, http.StatusUnauthorized, "The access token is invalid")
}

func TestRelationshipBadInput(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	readOnly := userToken(t, inst, alice, "read")
	for _, tc := range []struct {
		name, path, token, contentType, body string
		code                                 int
		msg                                  string
	}{
		{"follow yourself", "/api/v1/accounts/" + alice.Account.ID + "/follow", alice.Token, "", "", 403, "Following your own account is not allowed"},
		{"block yourself", "/api/v1/accounts/" + alice.Account.ID + "/block", alice.Token, "", "", 403, "This action is not allowed"},
		{"follow unknown", "/api/v1/accounts/123456/follow", alice.Token, "", "", 404, "Record not found"},
		{"unblock unknown", "/api/v1/accounts/123456/unblock", alice.Token, "", "", 404, "Record not found"},
		{"follow with read-only token", "/api/v1/accounts/" + bob.Account.ID + "/follow", readOnly, "", "", 403, "This action is outside the authorized scopes"},
		{"mute with read-only token", "/api/v1/accounts/" + bob.Account.ID + "/mute", readOnly, "", "", 403, "This action is outside the authorized scopes"},
		{"follow without token", "/api/v1/accounts/" + bob.Account.ID + "/follow", "", "", "", 401, "The access token is invalid"},
		{"authorize without token", "/api/v1/follow_requests/" + bob.Account.ID + "/authorize", "", "", "", 401, "The access token is invalid"},
		{"follow with malformed JSON", "/api/v1/accounts/" + bob.Account.ID + "/follow", alice.Token, jsonType, `{"reblogs":`, 400, ""},
		{"mute with malformed JSON", "/api/v1/accounts/" + bob.Account.ID + "/mute", alice.Token, jsonType, `[1,`, 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apiDo(t, http.MethodPost, inst.URL+tc.path, tc.token, tc.contentType, tc.body).expectError(t, tc.code, tc.msg)
		})
	}
	rels, err := inst.Store.Relationships(ctx, alice.Account.ID, []string{bob.Account.ID, alice.Account.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rels {
		if r.Following || r.Requested || r.Blocking || r.Muting {
			t.Errorf("refused requests changed a relationship: %+v", r)
		}
	}
	if _, err := inst.Store.Account(ctx, "123456"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown account appeared: %v", err)
	}
	apiGet(t, inst.API("/api/v1/blocks"), "").expectError(t, http.StatusUnauthorized, "The access token is invalid")
	apiGet(t, inst.API("/api/v1/follow_requests"), "").expectError(t, http.StatusUnauthorized, "The access token is invalid")
	apiGet(t, inst.API("/api/v1/accounts/123456/followers"), "").expectError(t, http.StatusNotFound, "Record not found")
}
