package community_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/config"
	"watercooler/signup"
	"watercooler/testrig"
)

// TestCommunityAcrossDepartments runs a community through three departments: carol in support
// joins golang@engineering, bob in sales posts to it by mentioning it, replies in its thread
// are announced too, a moderator removes a post, support misses an announce while down and
// gets it once back, and carol leaves.
func TestCommunityAcrossDepartments(t *testing.T) {
	ctx := context.Background()
	eng, support, sales := testrig.StartInstance(t), testrig.StartInstance(t), testrig.StartInstance(t)
	alice := newPerson(eng, t, "alice")
	dave := newPerson(eng, t, "dave")
	carol := newPerson(support, t, "carol")
	bob := newPerson(sales, t, "bob")
	groupID := createCommunity(t, eng, "golang", "Go practitioners", "alice")
	golang := "golang@" + eng.Config.Domain()

	carol.join(t, golang)
	alice.join(t, "golang") // a member on the group's own department

	// bob is no member: mentioning the group is enough to post to it, as with Guppe and Lemmy.
	posted := time.Now()
	tip := bob.post(t, "@"+golang+" tip one: run go vet in CI", "")
	seen := carol.waitHome(t, "carol sees bob's tip announced by golang", boostBy(golang, "tip one"))
	t.Logf("bob's post reached carol's home, through the group, in %s", time.Since(posted).Round(time.Millisecond))
	if seen.Reblog.URI != tip.URI {
		t.Fatalf("announced %s, want bob's post %s", seen.Reblog.URI, tip.URI)
	}
	onEng := alice.waitHome(t, "alice sees bob's tip announced by golang", boostBy("golang", "tip one"))

	// A reply in the group's thread reaches the members though it does not mention the group:
	// support sends it to the group, which announces it.
	carol.post(t, "@"+bob.acct()+" thanks, tip one saved me", seen.Reblog.ID)
	alice.waitHome(t, "alice sees carol's reply announced by golang", boostBy("golang", "tip one saved me"))

	// Only moderators (and admins) remove posts.
	removePath := "/api/v1/communities/" + groupID + "/statuses/" + string(onEng.Reblog.ID)
	if code := dave.api(t, http.MethodDelete, removePath, nil, nil); code != http.StatusForbidden {
		t.Fatalf("dave, no moderator, removing a post: %d, want 403", code)
	}
	removed := time.Now()
	if code := alice.api(t, http.MethodDelete, removePath, nil, nil); code != http.StatusOK {
		t.Fatalf("alice, moderator, removing a post: %d, want 200", code)
	}
	testrig.Eventually(t, deadline, "the removed post leaves carol's home", func() bool {
		sts, err := carol.client.GetTimelineHome(ctx, &gomastodon.Pagination{Limit: 40})
		if err != nil {
			return false
		}
		for _, s := range sts {
			if boostBy(golang, "tip one:")(s) {
				return false
			}
		}
		return true
	})
	t.Logf("the removed post left carol's home %s after the moderator removed it", time.Since(removed).Round(time.Millisecond))
	timeline, err := alice.client.GetAccountStatuses(ctx, gomastodon.ID(groupID), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range timeline {
		if s.Reblog != nil && s.Reblog.URI == tip.URI {
			t.Fatalf("the group's timeline still holds the removed post")
		}
	}

	// support is down while the group announces; the delivery queue brings the announce when
	// it is back.
	support.Stop()
	bob.post(t, "@"+golang+" tip two: table tests", "")
	alice.waitHome(t, "alice sees tip two", boostBy("golang", "tip two"))
	support.Restart(t)
	back := time.Now()
	carol.waitHome(t, "carol sees tip two after support is back", boostBy(golang, "tip two"))
	t.Logf("the announce support missed reached carol %s after support came back", time.Since(back).Round(time.Millisecond))

	// Leaving is Undo{Follow}: carol gets no more of the group's announces.
	g := carol.resolve(t, golang)
	if _, err := carol.client.AccountUnfollow(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	testrig.Eventually(t, deadline, "golang has one member left", func() bool {
		a, err := alice.client.GetAccount(ctx, gomastodon.ID(groupID))
		return err == nil && a.FollowersCount == 1
	})
	bob.post(t, "@"+golang+" tip three: fuzz your parsers", "")
	alice.waitHome(t, "alice sees tip three", boostBy("golang", "tip three"))
	quiesce(t, eng, support, sales)
	if s := carol.homeFind(t, boostBy(golang, "tip three")); s != nil {
		t.Fatalf("carol, who left, got the group's announce of tip three")
	}
}

// TestCommunityIsAGroupAccount checks what Mastodon apps and remote servers see: an account
// with group: true, on the hosting department and through WebFinger on another, and a Group
// actor with the collections and key a follower's server needs.
func TestCommunityIsAGroupAccount(t *testing.T) {
	eng, support := testrig.StartInstance(t), testrig.StartInstance(t)
	alice := newPerson(eng, t, "alice")
	carol := newPerson(support, t, "carol")
	groupID := createCommunity(t, eng, "golang", "Go practitioners")

	var local, remote struct {
		Group       bool   `json:"group"`
		Acct        string `json:"acct"`
		DisplayName string `json:"display_name"`
	}
	alice.api(t, http.MethodGet, "/api/v1/accounts/"+groupID, nil, &local)
	g := carol.resolve(t, "golang@"+eng.Config.Domain())
	carol.api(t, http.MethodGet, "/api/v1/accounts/"+string(g.ID), nil, &remote)
	for _, c := range []struct {
		where, acct string
		got         bool
		display     string
	}{
		{"engineering", "golang", local.Group, local.DisplayName},
		{"support", "golang@" + eng.Config.Domain(), remote.Group, remote.DisplayName},
	} {
		if !c.got || c.display != "Go practitioners" {
			t.Errorf("account of the community on %s: group %v, display name %q; want group true, %q", c.where, c.got, c.display, "Go practitioners")
		}
	}
	if remote.Acct != "golang@"+eng.Config.Domain() {
		t.Errorf("acct on support = %q", remote.Acct)
	}

	// Apps find it as they find people: account lookup and search.
	var looked struct {
		ID string `json:"id"`
	}
	alice.api(t, http.MethodGet, "/api/v1/accounts/lookup?acct=golang", nil, &looked)
	var found struct {
		Accounts []struct {
			ID    string `json:"id"`
			Group bool   `json:"group"`
		} `json:"accounts"`
	}
	alice.api(t, http.MethodGet, "/api/v2/search?type=accounts&q=golang", nil, &found)
	if looked.ID != groupID || len(found.Accounts) != 1 || found.Accounts[0].ID != groupID || !found.Accounts[0].Group {
		t.Errorf("lookup found %q, search %+v; want the group %s", looked.ID, found.Accounts, groupID)
	}

	req, _ := http.NewRequest(http.MethodGet, eng.URL+"/users/golang", nil)
	req.Header.Set("Accept", "application/activity+json")
	var actor map[string]any
	if code := doJSON(t, req, &actor); code != http.StatusOK {
		t.Fatalf("actor document: %d", code)
	}
	for _, field := range []string{"inbox", "outbox", "followers", "publicKey"} {
		if actor[field] == nil {
			t.Errorf("actor document lacks %s: %v", field, actor)
		}
	}
	if actor["type"] != "Group" {
		t.Errorf("actor type = %v, want Group", actor["type"])
	}
}

// TestCommunityCreationThroughTheAPI checks WATERCOOLER_COMMUNITY_CREATION and the validation of
// POST /api/v1/communities, and the listing that follows.
func TestCommunityCreationThroughTheAPI(t *testing.T) {
	admins := testrig.StartInstance(t)
	everyone := testrig.StartInstance(t, func(c *config.Config) { c.CommunityCreation = config.CommunityCreationEveryone })
	admin := newPerson(admins, t, "root", func(p *signup.Params) { p.Admin = true })
	erin := newPerson(admins, t, "erin")
	anyone := newPerson(everyone, t, "frank")
	for _, c := range []struct {
		name       string
		who        *person
		params     map[string]string
		wantStatus int
	}{
		{"a person where admins create", erin, map[string]string{"name": "rust"}, http.StatusForbidden},
		{"an admin", admin, map[string]string{"name": "rust", "display_name": "Rustaceans"}, http.StatusOK},
		{"the same name again", admin, map[string]string{"name": "rust"}, http.StatusUnprocessableEntity},
		{"a person's name", admin, map[string]string{"name": "erin"}, http.StatusUnprocessableEntity},
		{"an invalid name", admin, map[string]string{"name": "no spaces"}, http.StatusUnprocessableEntity},
		{"a long display name", admin, map[string]string{"name": "ok", "display_name": strings.Repeat("x", 31)}, http.StatusUnprocessableEntity},
		{"a person where everyone creates", anyone, map[string]string{"name": "onboarding"}, http.StatusOK},
	} {
		if got := c.who.api(t, http.MethodPost, "/api/v1/communities", c.params, nil); got != c.wantStatus {
			t.Errorf("%s creating %v: %d, want %d", c.name, c.params, got, c.wantStatus)
		}
	}
	var list []struct {
		Acct        string   `json:"acct"`
		DisplayName string   `json:"display_name"`
		Moderators  []string `json:"moderators"`
		Account     *struct {
			Group bool `json:"group"`
		} `json:"account"`
	}
	erin.api(t, http.MethodGet, "/api/v1/communities", nil, &list)
	if len(list) != 1 || list[0].Acct != "rust@"+admins.Config.Domain() || list[0].DisplayName != "Rustaceans" ||
		len(list[0].Moderators) != 1 || list[0].Moderators[0] != "root@"+admins.Config.Domain() || list[0].Account == nil || !list[0].Account.Group {
		t.Errorf("communities listed = %+v, want rust, moderated by its creator", list)
	}
}

// TestCommunitiesOfTheOrganization checks the organization-wide listing: a department lists
// its own communities and, asked for scope=organization, every member department's.
func TestCommunitiesOfTheOrganization(t *testing.T) {
	eng := testrig.StartInstance(t)
	support := testrig.StartInstance(t, func(c *config.Config) { c.OrgJoin = eng.URL })
	carol := newPerson(support, t, "carol")
	createCommunity(t, eng, "golang", "Go practitioners")
	createCommunity(t, support, "onboarding", "Onboarding")
	want := []string{"golang@" + eng.Config.Domain(), "onboarding@" + support.Config.Domain()}
	slices.Sort(want)
	var got []string
	testrig.Eventually(t, deadline, "support lists both departments' communities", func() bool {
		var list []struct {
			Acct string `json:"acct"`
		}
		carol.api(t, http.MethodGet, "/api/v1/communities?scope=organization", nil, &list)
		got = got[:0]
		for _, c := range list {
			got = append(got, c.Acct)
		}
		return slices.Equal(got, want)
	})
	var local []struct {
		Acct string `json:"acct"`
	}
	carol.api(t, http.MethodGet, "/api/v1/communities", nil, &local)
	if len(local) != 1 || local[0].Acct != "onboarding@"+support.Config.Domain() {
		t.Errorf("support's own communities = %+v, want onboarding only", local)
	}
}
