package federation_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/store"
	"watercooler/testrig"
)

// member is one department as the organization's member list names it.
type member struct{ host, url string }

func memberOf(inst *testrig.Instance) member { return member{inst.Config.Domain(), inst.URL} }

// joinMembers writes the member list into each instance's store as the organization's gossip
// leaves it once converged (package org's own tests cover the gossip): every department knows
// every other.
func joinMembers(t testing.TB, insts []*testrig.Instance, others ...member) {
	t.Helper()
	all := slices.Clone(others)
	for _, inst := range insts {
		all = append(all, memberOf(inst))
	}
	entries := make([]store.OrgMember, len(all))
	for i, m := range all {
		entries[i] = store.OrgMember{Host: m.host, URL: m.url, Title: m.host, Version: time.Now().UnixMilli()}
	}
	for _, inst := range insts {
		if _, err := inst.Store.MergeOrgMembers(context.Background(), entries); err != nil {
			t.Fatal(err)
		}
	}
}

// postForm posts a status with fields go-mastodon does not know (local_only).
func (d *dept) postForm(t *testing.T, form url.Values) *gomastodon.Status {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, d.inst.URL+"/api/v1/statuses", strings.NewReader(form.Encode()))
	req.Header.Set("Authorization", "Bearer "+d.user.Token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st gomastodon.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("post %v: %d %v", form, resp.StatusCode, err)
	}
	return &st
}

// TestOrganizationRelay: a department delivers its public posts, their edits and deletes, and
// boosts and favourites of public posts to the shared inbox of every other member department,
// once per department even where followers live; unlisted, followers-only, direct and
// department-only posts never travel this way, and a server outside the organization gets
// nothing it did not follow.
func TestOrganizationRelay(t *testing.T) {
	ctx := context.Background()
	eng := newDept(t, "alice")
	withFollower, plain, outsider := newFakeRemote(t), newFakeRemote(t), newFakeRemote(t)
	joinMembers(t, []*testrig.Instance{eng.inst},
		member{withFollower.host(), withFollower.srv.URL}, member{plain.host(), plain.srv.URL})

	// zed, on a member server, follows alice: that server is reached through its shared inbox
	// already and must not get a second copy.
	withFollower.addActor("zed", newKey(t))
	follow := map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": withFollower.actorURI("zed") + "#follows/1",
		"type": "Follow", "actor": withFollower.actorURI("zed"), "object": eng.user.Account.URI}
	withFollower.deliver(t, eng.inst, "zed", follow)
	testrig.Eventually(t, deadline, "zed follows alice", func() bool { return len(withFollower.postedOfType("Accept")) == 1 })

	tip := eng.post(t, &gomastodon.Toot{Status: "public #onboarding tip", Visibility: "public"})
	for _, toot := range []gomastodon.Toot{
		{Status: "unlisted note", Visibility: "unlisted"},
		{Status: "followers-only note", Visibility: "private"},
	} {
		eng.post(t, &toot)
	}
	inside := eng.postForm(t, url.Values{"status": {"department-only note"}, "visibility": {"public"}, "local_only": {"true"}})
	if _, err := eng.client.Reblog(ctx, tip.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.client.Reblog(ctx, inside.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.client.Favourite(ctx, tip.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.client.UpdateStatus(ctx, &gomastodon.Toot{Status: "public #onboarding tip, edited", Visibility: "public"}, tip.ID); err != nil {
		t.Fatal(err)
	}
	last := eng.post(t, &gomastodon.Toot{Status: "to be deleted", Visibility: "public"})
	if err := eng.client.DeleteStatus(ctx, last.ID); err != nil {
		t.Fatal(err)
	}
	testrig.Eventually(t, deadline, "the delete reaches the member without followers", func() bool { return len(plain.postedOfType("Delete")) == 1 })
	quiesce(t, eng.inst)

	contents := func(r *fakeRemote) []string {
		var out []string
		for _, c := range r.postedOfType("Create") {
			obj, _ := c["object"].(map[string]any)
			out = append(out, obj["content"].(string))
		}
		return out
	}
	for _, tc := range []struct {
		name                               string
		remote                             *fakeRemote
		creates, announces, likes, updates int
		sharedInboxHits                    int
	}{
		// The public post, its boost, favourite, edit; the doomed post and its delete.
		{"member without followers", plain, 2, 1, 1, 1, 6},
		// The same once, plus the unlisted and followers-only posts that zed follows.
		{"member with a follower", withFollower, 4, 1, 1, 1, 8},
		{"server outside the organization", outsider, 0, 0, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := []int{len(tc.remote.postedOfType("Create")), len(tc.remote.postedOfType("Announce")),
				len(tc.remote.postedOfType("Like")), len(tc.remote.postedOfType("Update")), tc.remote.hitsOf("/inbox")}
			want := []int{tc.creates, tc.announces, tc.likes, tc.updates, tc.sharedInboxHits}
			if !slices.Equal(got, want) {
				t.Errorf("creates, announces, likes, updates, shared inbox POSTs = %v, want %v; creates: %q", got, want, contents(tc.remote))
			}
			for _, c := range contents(tc.remote) {
				if strings.Contains(c, "department-only") {
					t.Errorf("a department-only post left the department: %q", c)
				}
				if tc.remote == plain && (strings.Contains(c, "unlisted") || strings.Contains(c, "followers-only")) {
					t.Errorf("a non-public post was relayed: %q", c)
				}
			}
		})
	}
}

// TestOrganizationWideTagsAndTrends runs three departments as the target does: carol in
// support follows #onboarding and sees alice's post from engineering, whom she does not follow;
// bob's tip from sales boosted in two departments leads support's trending statuses over a post
// boosted several times inside one department; a tag used in two departments leads one used by
// more people inside one.
func TestOrganizationWideTagsAndTrends(t *testing.T) {
	ctx := context.Background()
	eng, support, sales := newDept(t, "alice"), newDept(t, "carol"), newDept(t, "bob")
	joinMembers(t, []*testrig.Instance{eng.inst, support.inst, sales.inst})

	if _, err := support.client.TagFollow(ctx, "onboarding"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	onboarding := eng.post(t, &gomastodon.Toot{Status: "Day one checklist #onboarding", Visibility: "public"})
	support.waitHome(t, "alice's #onboarding post in carol's home", withURI(onboarding.URI))
	t.Logf("a followed hashtag's post from another department reached home after %v", time.Since(start).Round(time.Millisecond))
	aside := eng.post(t, &gomastodon.Toot{Status: "An untagged public aside", Visibility: "public"})
	testrig.Eventually(t, deadline, "the untagged post in support's federated timeline", func() bool {
		sts, err := support.client.GetTimelinePublic(ctx, false, nil)
		return err == nil && slices.ContainsFunc(sts, withURI(aside.URI))
	})
	support.homeHasNo(t, "an untagged post by someone carol does not follow", withURI(aside.URI))
	tagged, err := support.client.GetTimelineHashtag(ctx, "onboarding", false, nil)
	if err != nil || !slices.ContainsFunc(tagged, withURI(onboarding.URI)) {
		t.Errorf("support's #onboarding timeline lacks alice's post (%v)", err)
	}

	// Sales: a team note boosted by three colleagues, and bob's tip.
	team := []*dept{sales.addUser(t, "dana"), sales.addUser(t, "erin"), sales.addUser(t, "frank")}
	note := team[0].post(t, &gomastodon.Toot{Status: "Team lunch moved to Thursday", Visibility: "public"})
	for _, d := range append(team[1:], sales) {
		if _, err := d.client.Reblog(ctx, note.ID); err != nil {
			t.Fatal(err)
		}
	}
	tip := sales.post(t, &gomastodon.Toot{Status: "Tip: the CRM exports to CSV from the report menu", Visibility: "public"})
	// Boosted in engineering and in support, each department's copy having come by the relay.
	for _, d := range []*dept{eng, support} {
		var local *gomastodon.Status
		testrig.Eventually(t, deadline, "bob's tip in "+d.acct()+"'s department", func() bool {
			local = d.findStatus(t, tip.URI)
			return local != nil
		})
		if _, err := d.client.Reblog(ctx, local.ID); err != nil {
			t.Fatal(err)
		}
	}
	// #golang in two departments; #lunch by three people in one.
	eng.post(t, &gomastodon.Toot{Status: "#golang generics talk", Visibility: "public"})
	sales.post(t, &gomastodon.Toot{Status: "learning #golang too", Visibility: "public"})
	for _, d := range team {
		d.post(t, &gomastodon.Toot{Status: "#lunch order", Visibility: "public"})
	}

	testrig.Eventually(t, deadline, "bob's tip leads support's trending statuses, the team note second", func() bool {
		var sts []gomastodon.Status
		support.getJSON(t, "/api/v1/trends/statuses", &sts)
		return len(sts) >= 2 && sts[0].URI == tip.URI && sts[1].URI == note.URI && sts[1].ReblogsCount == 3
	})
	testrig.Eventually(t, deadline, "#golang leads support's trending tags over #lunch", func() bool {
		var tags []struct{ Name string }
		support.getJSON(t, "/api/v1/trends/tags", &tags)
		var names []string
		for _, tg := range tags {
			names = append(names, tg.Name)
		}
		g, l := slices.Index(names, "golang"), slices.Index(names, "lunch")
		return g >= 0 && l > g
	})
}

// TestRelayedFavouritesCountFromMembersOnly: a favourite of a public post hosted in another
// department counts here when a member department relays it, and not when a server outside
// the organization sends one, which could otherwise push any post up this department's trends.
func TestRelayedFavouritesCountFromMembersOnly(t *testing.T) {
	eng := newDept(t, "alice")
	sales, stranger := newFakeRemote(t), newFakeRemote(t)
	joinMembers(t, []*testrig.Instance{eng.inst}, member{sales.host(), sales.srv.URL})
	for _, r := range []*fakeRemote{sales, stranger} {
		r.addActor("fan", newKey(t))
	}
	sales.addActor("bob", newKey(t))
	tip := sales.note("bob", "tip", "A tip nobody here follows bob for", nil)
	sales.deliver(t, eng.inst, "bob", sales.activity("bob", "Create", "tip", tip))
	var here *gomastodon.Status
	testrig.Eventually(t, deadline, "the relayed tip stored in engineering", func() bool {
		here = eng.findStatus(t, tip["id"].(string))
		return here != nil
	})
	for _, tc := range []struct {
		from *fakeRemote
		want int64
	}{
		{stranger, 0},
		{sales, 1},
	} {
		tc.from.deliver(t, eng.inst, "fan", tc.from.activity("fan", "Like", "1", tip["id"]))
		quiesce(t, eng.inst)
		st, err := eng.client.GetStatus(context.Background(), here.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.FavouritesCount != tc.want {
			t.Errorf("after a Like from %s: favourites_count = %d, want %d", tc.from.host(), st.FavouritesCount, tc.want)
		}
	}
}
