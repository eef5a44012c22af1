package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/testrig"
)

func TestStatusesReblog(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	followUser(t, inst, carol, bob)
	followUser(t, inst, bob, alice)
	ctx := context.Background()
	st := postStatus(t, inst, alice, gomastodon.Toot{Status: "boost me"})

	for i := 0; i < 2; i++ {
		boost, err := userClient(inst, bob).Reblog(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if boost.Reblog == nil || boost.Reblog.ID != st.ID || boost.Reblog.ReblogsCount != 1 || boost.Reblog.Reblogged != true {
			t.Fatalf("boost #%d = %+v, want a boost of %s counted once", i+1, boost.Reblog, st.ID)
		}
		if boost.Account.ID != gomastodon.ID(bob.Account.ID) || boost.ID == st.ID {
			t.Errorf("boost belongs to %s with id %s", boost.Account.ID, boost.ID)
		}
	}
	// Boosting the boost boosts the original, once.
	boost, _ := inst.Store.ReblogOf(ctx, bob.Account.ID, string(st.ID))
	if b, err := userClient(inst, bob).Reblog(ctx, gomastodon.ID(boost.ID)); err != nil || b.ID != gomastodon.ID(boost.ID) {
		t.Errorf("boosting the boost: %v %v", b, err)
	}
	if ids := timelineIDs(t, inst.API("/api/v1/timelines/home"), carol.Token); !slices.Contains(ids, boost.ID) {
		t.Errorf("carol's home %v lacks bob's boost %s", ids, boost.ID)
	}
	if n := notificationsOf(t, inst, alice.Account.ID, store.NotifyReblog); len(n) != 1 || n[0].FromAccountID != bob.Account.ID {
		t.Errorf("alice's reblog notifications = %+v, want one from bob", n)
	}
	by, err := userClient(inst, alice).GetRebloggedBy(ctx, st.ID, nil)
	if err != nil || len(by) != 1 || by[0].ID != gomastodon.ID(bob.Account.ID) {
		t.Errorf("reblogged_by = %v (%v)", by, err)
	}

	for i := 0; i < 2; i++ {
		orig, err := userClient(inst, bob).Unreblog(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if orig.ID != st.ID || orig.Reblogged != false || orig.ReblogsCount != 0 {
			t.Errorf("unreblog #%d answered id %s reblogged %v count %d", i+1, orig.ID, orig.Reblogged, orig.ReblogsCount)
		}
	}
	if ids := timelineIDs(t, inst.API("/api/v1/timelines/home"), carol.Token); slices.Contains(ids, boost.ID) {
		t.Error("the undone boost is still in carol's home")
	}

	// Private statuses: only the author may boost them; direct ones nobody.
	private := postStatus(t, inst, alice, gomastodon.Toot{Status: "inner circle", Visibility: "private"})
	apiForm(t, http.MethodPost, inst.API("/api/v1/statuses/%s/reblog", private.ID), bob.Token, "").expectError(t, 403, "This action is not allowed")
	own, err := userClient(inst, alice).Reblog(ctx, private.ID)
	if err != nil || own.Visibility != "private" {
		t.Errorf("self-boost of a private status: %v %v", own, err)
	}
	direct := postStatus(t, inst, alice, gomastodon.Toot{Status: "@bob psst", Visibility: "direct"})
	apiForm(t, http.MethodPost, inst.API("/api/v1/statuses/%s/reblog", direct.ID), bob.Token, "").expectError(t, 403, "This action is not allowed")
	apiForm(t, http.MethodPost, inst.API("/api/v1/statuses/%s/reblog", st.ID), bob.Token, url.Values{"visibility": {"direct"}}.Encode()).
		expectError(t, 422, "Validation failed: Visibility is not included in the list")
}

func TestStatusesFavourite(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	ctx := context.Background()
	st := postStatus(t, inst, alice, gomastodon.Toot{Status: "like me"})
	for i := 0; i < 2; i++ {
		fav, err := userClient(inst, bob).Favourite(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if fav.FavouritesCount != 1 || fav.Favourited != true {
			t.Errorf("favourite #%d: count %d favourited %v", i+1, fav.FavouritesCount, fav.Favourited)
		}
	}
	if n := notificationsOf(t, inst, alice.Account.ID, store.NotifyFavourite); len(n) != 1 {
		t.Errorf("alice got %d favourite notifications, want 1", len(n))
	}
	if got := getStatus(t, inst, string(st.ID), alice.Token); *got.Favourited || got.FavouritesCount != 1 {
		t.Errorf("alice sees favourited=%v count=%d", *got.Favourited, got.FavouritesCount)
	}
	by, err := userClient(inst, alice).GetFavouritedBy(ctx, st.ID, nil)
	if err != nil || len(by) != 1 || by[0].ID != gomastodon.ID(bob.Account.ID) {
		t.Errorf("favourited_by = %v (%v)", by, err)
	}
	favs, err := userClient(inst, bob).GetFavourites(ctx, nil)
	if err != nil || len(favs) != 1 || favs[0].ID != st.ID {
		t.Errorf("bob's favourites = %v (%v)", favs, err)
	}
	for i := 0; i < 2; i++ {
		un, err := userClient(inst, bob).Unfavourite(ctx, st.ID)
		if err != nil || un.FavouritesCount != 0 || un.Favourited != false {
			t.Errorf("unfavourite #%d: %v %v", i+1, un, err)
		}
	}
	if favs, _ := userClient(inst, bob).GetFavourites(ctx, nil); len(favs) != 0 {
		t.Errorf("favourites after unfavourite = %v", favs)
	}
}

func TestStatusesBookmarks(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	ctx := context.Background()
	var ids []string
	for i := 0; i < 3; i++ {
		st := postStatus(t, inst, alice, gomastodon.Toot{Status: fmt.Sprintf("keep %d", i)})
		ids = append(ids, string(st.ID))
	}
	// Bookmarked newest status first, so bookmark order differs from status order.
	for _, i := range []int{2, 0, 1} {
		b, err := userClient(inst, bob).Bookmark(ctx, gomastodon.ID(ids[i]))
		if err != nil || b.Bookmarked != true {
			t.Fatalf("bookmark: %v %v", b, err)
		}
	}
	r := apiGet(t, inst.API("/api/v1/bookmarks?limit=2"), bob.Token)
	var page []mastodon.Status
	r.decode(t, &page)
	if len(page) != 2 || page[0].ID != ids[1] || page[1].ID != ids[0] {
		t.Fatalf("first bookmarks page = %v, want most recently bookmarked first", page)
	}
	next := linkRel(r.Header.Get("Link"), "next")
	if next == "" {
		t.Fatal("no rel=next link")
	}
	if rest := timelineIDs(t, next, bob.Token); !slices.Equal(rest, []string{ids[2]}) {
		t.Errorf("second page = %v, want %v", rest, ids[2])
	}
	if _, err := userClient(inst, bob).Unbookmark(ctx, gomastodon.ID(ids[0])); err != nil {
		t.Fatal(err)
	}
	if all := timelineIDs(t, inst.API("/api/v1/bookmarks"), bob.Token); !slices.Equal(all, []string{ids[1], ids[2]}) {
		t.Errorf("bookmarks after unbookmark = %v", all)
	}
	if all := timelineIDs(t, inst.API("/api/v1/bookmarks"), alice.Token); len(all) != 0 {
		t.Errorf("alice sees bob's bookmarks: %v", all)
	}
}

func TestStatusesPins(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	ctx := context.Background()
	pin := func(u *testrig.User, id gomastodon.ID) apiResponse {
		return apiForm(t, http.MethodPost, inst.API("/api/v1/statuses/%s/pin", id), u.Token, "")
	}
	var sts []*gomastodon.Status
	for i := 0; i < 6; i++ {
		sts = append(sts, postStatus(t, inst, alice, gomastodon.Toot{Status: fmt.Sprintf("pin %d", i)}))
	}
	for i := 0; i < 5; i++ {
		r := pin(alice, sts[i].ID)
		var st mastodon.Status
		r.decode(t, &st)
		if r.Code != 200 || st.Pinned == nil || !*st.Pinned {
			t.Fatalf("pin %d: %d %s", i, r.Code, r.Body)
		}
	}
	pin(alice, sts[5].ID).expectError(t, 422, "Validation failed: You have already pinned the maximum number of posts")
	pin(bob, sts[0].ID).expectError(t, 422, "Validation failed: Someone else's post cannot be pinned")
	boost, err := userClient(inst, alice).Reblog(ctx, sts[5].ID)
	if err != nil {
		t.Fatal(err)
	}
	pin(alice, boost.ID).expectError(t, 422, "Validation failed: A boost cannot be pinned")
	direct := postStatus(t, inst, alice, gomastodon.Toot{Status: "@bob dm", Visibility: "direct"})
	pin(alice, direct.ID).expectError(t, 422, "Validation failed: Posts that are only visible to mentioned users cannot be pinned")

	r := apiForm(t, http.MethodPost, inst.API("/api/v1/statuses/%s/unpin", sts[0].ID), alice.Token, "")
	var st mastodon.Status
	r.decode(t, &st)
	if r.Code != 200 || st.Pinned == nil || *st.Pinned {
		t.Fatalf("unpin: %d %s", r.Code, r.Body)
	}
	if r := pin(alice, sts[5].ID); r.Code != 200 {
		t.Errorf("pin after unpin: %d %s", r.Code, r.Body)
	}
	pinned, err := inst.Store.Pinned(ctx, alice.Account.ID)
	if err != nil || len(pinned) != 5 || pinned[0] != string(sts[5].ID) {
		t.Errorf("pinned = %v (%v)", pinned, err)
	}
}
