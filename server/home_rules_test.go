package server_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/testrig"
)

// TestHomeFollowsMastodonsFeedRules: a follow's "hide boosts" and languages decide what enters
// home, a boost of one's own post or of a post already near the top of home is not shown again,
// and a second boost of the same post stays out too.
func TestHomeFollowsMastodonsFeedRules(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice, bob, carol, dave, erin := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol"), inst.CreateUser(t, "dave"), inst.CreateUser(t, "erin")
	follow := func(target *testrig.User, form string) {
		t.Helper()
		apiForm(t, http.MethodPost, inst.URL+"/api/v1/accounts/"+target.Account.ID+"/follow", alice.Token, form).ok(t, nil)
	}
	follow(bob, "reblogs=false")
	follow(dave, "languages[]=de")
	follow(erin, "")
	home := func() []string { return timelineIDs(t, inst.URL+"/api/v1/timelines/home?limit=40", alice.Token) }
	boost := func(u *testrig.User, id gomastodon.ID) string {
		t.Helper()
		st, err := userClient(inst, u).Reblog(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return string(st.ID)
	}

	carolsPost := postStatus(t, inst, carol, gomastodon.Toot{Status: "carol's tip", Visibility: "public"})
	bobsBoost := boost(bob, carolsPost.ID)
	bobsPost := postStatus(t, inst, bob, gomastodon.Toot{Status: "bob's own", Visibility: "public"})
	english := postStatus(t, inst, dave, gomastodon.Toot{Status: "in English", Language: "en", Visibility: "public"})
	german := postStatus(t, inst, dave, gomastodon.Toot{Status: "auf Deutsch", Language: "de", Visibility: "public"})
	erinsPost := postStatus(t, inst, erin, gomastodon.Toot{Status: "erin's note", Visibility: "public"})
	alicesPost := postStatus(t, inst, alice, gomastodon.Toot{Status: "alice's own", Visibility: "public"})
	erinBoostsOwnNeighbour := boost(erin, erinsPost.ID)
	erinBoostsAlice := boost(erin, alicesPost.ID)
	erinBoostsCarol := boost(erin, carolsPost.ID)

	got := home()
	for _, tc := range []struct {
		what string
		id   string
		want bool
	}{
		{"a boost by bob, whose boosts alice hides", bobsBoost, false},
		{"bob's own post", string(bobsPost.ID), true},
		{"dave's English post, alice follows him for German", string(english.ID), false},
		{"dave's German post", string(german.ID), true},
		{"erin's boost of her post that is near the top of home", erinBoostsOwnNeighbour, false},
		{"erin's boost of alice's own post", erinBoostsAlice, false},
		{"erin's boost of carol's post, not yet in alice's home", erinBoostsCarol, true},
	} {
		if slices.Contains(got, tc.id) != tc.want {
			t.Errorf("%s in alice's home: %v, want %v", tc.what, !tc.want, tc.want)
		}
	}

	// Showing boosts again applies to boosts from then on; a post a boost already brought home
	// is not brought again by someone else's boost.
	follow(bob, "reblogs=true")
	frank := inst.CreateUser(t, "frank")
	franksPost := postStatus(t, inst, frank, gomastodon.Toot{Status: "frank's find", Visibility: "public"})
	bobBoostsFrank := boost(bob, franksPost.ID)
	daveBoostsCarol := boost(dave, carolsPost.ID)
	got = home()
	if !slices.Contains(got, bobBoostsFrank) {
		t.Error("bob's boost after alice shows his boosts again is missing")
	}
	if slices.Contains(got, daveBoostsCarol) {
		t.Error("dave's boost of carol's post, which erin's boost brought home already, is shown again")
	}
}
