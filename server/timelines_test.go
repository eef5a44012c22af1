package server_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/testrig"
)

func TestTimelinesHomePagination(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	followUser(t, inst, bob, alice)
	// newest first, as timelines list them
	var posted []string
	for i := 0; i < 7; i++ {
		author := alice
		if i%2 == 1 {
			author = bob
		}
		st := postStatus(t, inst, author, gomastodon.Toot{Status: fmt.Sprintf("post %d", i)})
		posted = append([]string{string(st.ID)}, posted...)
	}

	var seen []string
	next := inst.API("/api/v1/timelines/home?limit=2")
	for pages := 0; next != ""; pages++ {
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		r := apiGet(t, next, bob.Token)
		if r.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", next, r.Code, r.Body)
		}
		var page []mastodon.Status
		r.decode(t, &page)
		if len(page) > 2 {
			t.Fatalf("page of %d statuses with limit=2", len(page))
		}
		if len(page) == 0 {
			if r.Header.Get("Link") != "" {
				t.Errorf("an empty page links on: %s", r.Header.Get("Link"))
			}
			break
		}
		for _, st := range page {
			seen = append(seen, st.ID)
		}
		if prev := linkRel(r.Header.Get("Link"), "prev"); prev == "" {
			t.Errorf("page %d has no rel=prev link", pages)
		}
		next = linkRel(r.Header.Get("Link"), "next")
	}
	if !slices.Equal(seen, posted) {
		t.Errorf("following rel=next visited %v, want every post once, newest first: %v", seen, posted)
	}

	window := []struct {
		name, query string
		want        []string
	}{
		{"max_id", "max_id=" + posted[1] + "&limit=2", posted[2:4]},
		{"since_id gives the newest above", "since_id=" + posted[4] + "&limit=2", posted[0:2]},
		{"min_id gives the oldest above", "min_id=" + posted[4] + "&limit=2", posted[2:4]},
		{"since_id and max_id", "since_id=" + posted[4] + "&max_id=" + posted[0], posted[1:4]},
		{"limit is capped at 40", "limit=1000", posted},
		{"bad limit falls back to 20", "limit=abc", posted},
	}
	for _, w := range window {
		if got := timelineIDs(t, inst.API("/api/v1/timelines/home?%s", w.query), bob.Token); !slices.Equal(got, w.want) {
			t.Errorf("%s: %v, want %v", w.name, got, w.want)
		}
	}
	// The rel=prev link of a page leads to the page just newer than it.
	r := apiGet(t, inst.API("/api/v1/timelines/home?max_id=%s&limit=2", posted[3]), bob.Token)
	if got := timelineIDs(t, linkRel(r.Header.Get("Link"), "prev"), bob.Token); !slices.Equal(got, posted[2:4]) {
		t.Errorf("prev page = %v, want %v", got, posted[2:4])
	}

	// go-mastodon reads the same pages.
	pg := &gomastodon.Pagination{Limit: 3}
	sts, err := userClient(inst, bob).GetTimelineHome(context.Background(), pg)
	if err != nil || len(sts) != 3 || string(sts[0].ID) != posted[0] || string(pg.MaxID) != posted[2] {
		t.Errorf("go-mastodon home: %d statuses, next max_id %s (%v)", len(sts), pg.MaxID, err)
	}
}

func TestTimelinesFilters(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	followUser(t, inst, bob, alice)
	ctx := context.Background()
	warned := postStatus(t, inst, alice, gomastodon.Toot{Status: "Big SPOILERS for the finale"})
	hidden := postStatus(t, inst, alice, gomastodon.Toot{Status: "the butler did it"})
	plain := postStatus(t, inst, alice, gomastodon.Toot{Status: "nothing to see"})
	filters := []*store.Filter{
		{Title: "Spoilers", Context: []string{"home"}, FilterAction: "warn", Keywords: []store.FilterKeyword{{Keyword: "spoilers", WholeWord: true}}},
		{Title: "Butler", Context: []string{"home", "public"}, FilterAction: "hide", Keywords: []store.FilterKeyword{{Keyword: "butler"}}},
	}
	for _, f := range filters {
		if err := inst.Store.SaveFilter(ctx, bob.Account.ID, f); err != nil {
			t.Fatal(err)
		}
	}

	r := apiGet(t, inst.API("/api/v1/timelines/home"), bob.Token)
	var home []mastodon.Status
	r.decode(t, &home)
	byID := map[string]mastodon.Status{}
	for _, st := range home {
		byID[st.ID] = st
	}
	if w, ok := byID[string(warned.ID)]; !ok || len(w.Filtered) != 1 || w.Filtered[0].Filter.Title != "Spoilers" || !slices.Equal(w.Filtered[0].KeywordMatches, []string{"spoilers"}) {
		t.Errorf("warned status: present %v, filtered %+v", ok, w.Filtered)
	}
	if _, ok := byID[string(hidden.ID)]; ok {
		t.Error("a status matching a hide filter is in home")
	}
	if p, ok := byID[string(plain.ID)]; !ok || len(p.Filtered) != 0 {
		t.Errorf("plain status: present %v, filtered %+v", ok, p.Filtered)
	}
	// The Link header still covers the hidden status, so paging does not stall on it.
	if next := linkRel(r.Header.Get("Link"), "next"); next == "" {
		t.Error("no rel=next link")
	}
	// Filters apply in their own contexts only: the warn filter is not for public timelines.
	var public []mastodon.Status
	apiGet(t, inst.API("/api/v1/timelines/public"), bob.Token).decode(t, &public)
	for _, st := range public {
		if st.ID == string(hidden.ID) || len(st.Filtered) != 0 {
			t.Errorf("public timeline status %s: filtered %+v", st.ID, st.Filtered)
		}
	}
	// Filters are the viewer's: alice sees everything unfiltered.
	if ids := timelineIDs(t, inst.API("/api/v1/timelines/home"), alice.Token); len(ids) != 3 {
		t.Errorf("alice's home has %d statuses, want 3", len(ids))
	}
}

func TestTimelinesMutesAndBlocks(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	ctx := context.Background()
	followUser(t, inst, carol, alice)
	followUser(t, inst, carol, bob)
	fromAlice := postStatus(t, inst, alice, gomastodon.Toot{Status: "alice speaking"})
	fromBob := postStatus(t, inst, bob, gomastodon.Toot{Status: "bob speaking"})
	if err := inst.Store.Mute(ctx, carol.Account.ID, alice.Account.ID, false); err != nil {
		t.Fatal(err)
	}
	home := timelineIDs(t, inst.API("/api/v1/timelines/home"), carol.Token)
	if slices.Contains(home, string(fromAlice.ID)) || !slices.Contains(home, string(fromBob.ID)) {
		t.Errorf("home %v: muted alice should be hidden, bob shown", home)
	}
	if err := inst.Store.Block(ctx, bob.Account.ID, carol.Account.ID); err != nil {
		t.Fatal(err)
	}
	if public := timelineIDs(t, inst.API("/api/v1/timelines/public"), carol.Token); slices.Contains(public, string(fromBob.ID)) || slices.Contains(public, string(fromAlice.ID)) {
		t.Errorf("public %v shows statuses of a muted and a blocking account", public)
	}
	if public := timelineIDs(t, inst.API("/api/v1/timelines/public"), ""); len(public) != 2 {
		t.Errorf("anonymous public timeline has %d statuses, want 2", len(public))
	}
	apiGet(t, inst.API("/api/v1/statuses/%s", fromBob.ID), carol.Token).expectError(t, http.StatusNotFound, "Record not found")
}

func TestTimelinesList(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	ctx := context.Background()
	followUser(t, inst, bob, alice)
	followUser(t, inst, bob, carol)
	list := &store.List{AccountID: bob.Account.ID, Title: "Alice only", RepliesPolicy: "list"}
	if err := inst.Store.CreateList(ctx, list); err != nil {
		t.Fatal(err)
	}
	if err := inst.Store.AddListAccounts(ctx, list, []string{alice.Account.ID}); err != nil {
		t.Fatal(err)
	}
	inList := postStatus(t, inst, alice, gomastodon.Toot{Status: "for the list"})
	notInList := postStatus(t, inst, carol, gomastodon.Toot{Status: "not for the list"})
	if home := timelineIDs(t, inst.API("/api/v1/timelines/home"), bob.Token); !slices.Contains(home, string(notInList.ID)) {
		t.Fatalf("bob's home lacks carol's post")
	}

	sts, err := userClient(inst, bob).GetTimelineList(ctx, gomastodon.ID(list.ID), nil)
	if err != nil || len(sts) != 1 || sts[0].ID != inList.ID {
		t.Errorf("list timeline = %v (%v), want only %s", sts, err, inList.ID)
	}
	// Someone else's list does not exist for them.
	apiGet(t, inst.API("/api/v1/timelines/list/%s", list.ID), alice.Token).expectError(t, http.StatusNotFound, "Record not found")
	readOnlyStatuses := userToken(t, inst, bob, "read:statuses")
	apiGet(t, inst.API("/api/v1/timelines/list/%s", list.ID), readOnlyStatuses).expectError(t, http.StatusForbidden, "This action is outside the authorized scopes")
}

func TestTimelinesTagQueries(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	ctx := context.Background()
	both := postStatus(t, inst, alice, gomastodon.Toot{Status: "#Go and #Redis"})
	goOnly := postStatus(t, inst, alice, gomastodon.Toot{Status: "just #go"})
	redisOnly := postStatus(t, inst, alice, gomastodon.Toot{Status: "just #redis"})
	// A remote status in the tag timeline, as federation would store it.
	remoteAuthor := remoteAccount(t, inst, "zed", "far.example")
	remote, err := inst.Store.CreateStatus(ctx, store.NewStatus{Status: store.Status{
		AccountID: remoteAuthor.ID, URI: "https://far.example/users/zed/statuses/1", Content: "<p>#go far away</p>",
		Visibility: store.VisibilityPublic, Tags: []string{"go"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	id := func(st *gomastodon.Status) string { return string(st.ID) }
	cases := []struct {
		name, query string
		want        []string
	}{
		{"plain", "/api/v1/timelines/tag/go", []string{remote.ID, id(goOnly), id(both)}},
		{"local", "/api/v1/timelines/tag/go?local=true", []string{id(goOnly), id(both)}},
		{"remote", "/api/v1/timelines/tag/go?remote=true", []string{remote.ID}},
		{"all", "/api/v1/timelines/tag/go?all[]=redis", []string{id(both)}},
		{"none", "/api/v1/timelines/tag/go?none[]=redis", []string{remote.ID, id(goOnly)}},
		{"any", "/api/v1/timelines/tag/go?any[]=redis&local=true", []string{id(redisOnly), id(goOnly), id(both)}},
		{"limit with filter", "/api/v1/timelines/tag/go?local=true&limit=1", []string{id(goOnly)}},
		{"unknown tag", "/api/v1/timelines/tag/nothing", []string{}},
	}
	for _, tc := range cases {
		if got := timelineIDs(t, inst.API("%s", tc.query), ""); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// Paging through a filtered timeline with its Link header.
	r := apiGet(t, inst.API("/api/v1/timelines/tag/go?local=true&limit=1"), "")
	if got := timelineIDs(t, linkRel(r.Header.Get("Link"), "next"), ""); !slices.Equal(got, []string{id(both)}) {
		t.Errorf("next page of local #go = %v, want %s", got, id(both))
	}
	r = apiGet(t, inst.API("/api/v1/timelines/tag/go?local=true&min_id=%s&limit=1", both.ID), "")
	var newer []mastodon.Status
	r.decode(t, &newer)
	if len(newer) != 1 || newer[0].ID != id(goOnly) {
		t.Errorf("min_id on a filtered timeline = %v, want %s", newer, id(goOnly))
	}
	// The public timeline splits the same way.
	if got := timelineIDs(t, inst.API("/api/v1/timelines/public?remote=true"), ""); !slices.Equal(got, []string{remote.ID}) {
		t.Errorf("remote public timeline = %v", got)
	}
	if got := timelineIDs(t, inst.API("/api/v1/timelines/public?local=true&limit=2"), ""); !slices.Equal(got, []string{id(redisOnly), id(goOnly)}) {
		t.Errorf("local public timeline = %v", got)
	}
}

// TestTimelinesForgetEndedFollows follows a followers-only post after the follow that let it
// into home and a list has ended: neither timeline shows it any more, nor its later edits,
// while posts of the list's other members stay.
func TestTimelinesForgetEndedFollows(t *testing.T) {
	cases := []struct {
		name string
		end  func(t *testing.T, inst *testrig.Instance, alice, bob *testrig.User)
	}{
		{"alice unfollows", func(t *testing.T, inst *testrig.Instance, alice, bob *testrig.User) {
			apiForm(t, http.MethodPost, inst.API("/api/v1/accounts/%s/unfollow", bob.Account.ID), alice.Token, "").ok(t, nil)
		}},
		{"bob blocks alice, then unblocks", func(t *testing.T, inst *testrig.Instance, alice, bob *testrig.User) {
			apiForm(t, http.MethodPost, inst.API("/api/v1/accounts/%s/block", alice.Account.ID), bob.Token, "").ok(t, nil)
			apiForm(t, http.MethodPost, inst.API("/api/v1/accounts/%s/unblock", alice.Account.ID), bob.Token, "").ok(t, nil)
		}},
		{"alice blocks bob, then unblocks", func(t *testing.T, inst *testrig.Instance, alice, bob *testrig.User) {
			apiForm(t, http.MethodPost, inst.API("/api/v1/accounts/%s/block", bob.Account.ID), alice.Token, "").ok(t, nil)
			apiForm(t, http.MethodPost, inst.API("/api/v1/accounts/%s/unblock", bob.Account.ID), alice.Token, "").ok(t, nil)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inst := testrig.StartInstance(t)
			alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
			followUser(t, inst, alice, bob)
			followUser(t, inst, alice, carol)
			ctx := context.Background()
			client := userClient(inst, alice)
			list, err := client.CreateList(ctx, "Team")
			if err != nil {
				t.Fatal(err)
			}
			if err := client.AddToList(ctx, list.ID, gomastodon.ID(bob.Account.ID), gomastodon.ID(carol.Account.ID)); err != nil {
				t.Fatal(err)
			}
			private := string(postStatus(t, inst, bob, gomastodon.Toot{Status: "followers only", Visibility: "private"}).ID)
			fromCarol := string(postStatus(t, inst, carol, gomastodon.Toot{Status: "also followers only", Visibility: "private"}).ID)
			home, listTL := inst.API("/api/v1/timelines/home"), inst.API("/api/v1/timelines/list/%s", list.ID)
			for _, u := range []string{home, listTL} {
				if got := timelineIDs(t, u, alice.Token); !slices.Equal(got, []string{fromCarol, private}) {
					t.Fatalf("before: %s = %v, want [%s %s]", u, got, fromCarol, private)
				}
			}

			tc.end(t, inst, alice, bob)
			apiForm(t, http.MethodPut, inst.API("/api/v1/statuses/%s", private), bob.Token, "status=edited+after+the+follow+ended").ok(t, nil)
			for _, u := range []string{home, listTL} {
				if got := timelineIDs(t, u, alice.Token); !slices.Equal(got, []string{fromCarol}) {
					t.Errorf("after: %s = %v, want [%s]", u, got, fromCarol)
				}
			}
			apiGet(t, inst.API("/api/v1/statuses/%s", private), alice.Token).expectError(t, http.StatusNotFound, "")
		})
	}
}

// TestTimelinesRecheckVisibility checks that a home timeline is rendered through the same
// visibility check as a single read: an entry written when the viewer could see the status
// (mentioned in a direct message, here) is not shown once they no longer can (the mention
// edited away), whatever the timeline still holds. The page is read twice, since the second
// read takes the one-round-trip path of statuses read before (renderRemembered).
func TestTimelinesRecheckVisibility(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	dm := string(postStatus(t, inst, bob, gomastodon.Toot{Status: "@alice @carol a secret", Visibility: "direct"}).ID)
	home := inst.API("/api/v1/timelines/home")
	for _, u := range []*testrig.User{alice, carol} {
		if got := timelineIDs(t, home, u.Token); !slices.Equal(got, []string{dm}) {
			t.Fatalf("%s's home before = %v, want [%s]", u.Account.Username, got, dm)
		}
	}
	apiForm(t, http.MethodPut, inst.API("/api/v1/statuses/%s", dm), bob.Token, "status=%40carol+only+for+you").ok(t, nil)
	for range 2 {
		if got := timelineIDs(t, home, alice.Token); len(got) != 0 {
			t.Fatalf("alice's home after the edit = %v, want nothing", got)
		}
		if got := timelineIDs(t, home, carol.Token); !slices.Equal(got, []string{dm}) {
			t.Fatalf("carol's home after the edit = %v, want [%s]", got, dm)
		}
	}
	apiGet(t, inst.API("/api/v1/statuses/%s", dm), alice.Token).expectError(t, http.StatusNotFound, "")
}
