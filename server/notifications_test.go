package server_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/testrig"
)

// ntfList reads a page of notifications and returns "type:from" for each, and the Link header.
func ntfList(t testing.TB, inst *testrig.Instance, query, token string) ([]string, []mastodon.Notification, string) {
	t.Helper()
	r := apiGet(t, inst.API("/api/v1/notifications%s", query), token)
	var ns []mastodon.Notification
	r.ok(t, &ns)
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Type + ":" + n.Account.Username
	}
	return out, ns, r.Header.Get("Link")
}

func TestNotificationsListFilterAndPage(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice, bob, carol, dave, erin := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol"), inst.CreateUser(t, "dave"), inst.CreateUser(t, "erin")
	a := alice.Account

	// Oldest first: follow:bob, mention:carol, mention:dave (muted below), mention:erin (status
	// deleted below), favourite:bob.
	if _, err := userClient(inst, bob).AccountFollow(ctx, gomastodon.ID(a.ID)); err != nil {
		t.Fatal(err)
	}
	mention := storeStatus(t, inst, carol.Account, store.Status{Content: "<p>@alice hi</p>", Mentions: []string{a.ID}})
	storeStatus(t, inst, dave.Account, store.Status{Mentions: []string{a.ID}})
	doomed := storeStatus(t, inst, erin.Account, store.Status{Mentions: []string{a.ID}})
	own := storeStatus(t, inst, a, store.Status{Content: "<p>mine</p>"})
	if err := inst.Store.Favourite(ctx, bob.Account.ID, own, true); err != nil {
		t.Fatal(err)
	}
	if err := inst.Store.DeleteStatus(ctx, doomed); err != nil {
		t.Fatal(err)
	}
	if _, err := userClient(inst, alice).AccountMute(ctx, gomastodon.ID(dave.Account.ID)); err != nil {
		t.Fatal(err)
	}

	all, ns, _ := ntfList(t, inst, "", alice.Token)
	if want := []string{"favourite:bob", "mention:carol", "follow:bob"}; !slices.Equal(all, want) {
		t.Fatalf("notifications %v, want %v", all, want)
	}
	if ns[0].Status == nil || ns[0].Status.ID != own.ID || ns[1].Status == nil || ns[1].Status.ID != mention.ID || ns[2].Status != nil {
		t.Errorf("statuses of notifications: %+v %+v %+v", ns[0].Status, ns[1].Status, ns[2].Status)
	}
	if ns[1].Status.Favourited == nil {
		t.Error("a notification's status lacks the viewer's flags")
	}

	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"types", "?types[]=mention", []string{"mention:carol"}},
		{"several types", "?types[]=follow&types[]=favourite", []string{"favourite:bob", "follow:bob"}},
		{"exclude types", "?exclude_types[]=follow&exclude_types[]=mention", []string{"favourite:bob"}},
		{"from one account", "?account_id=" + bob.Account.ID, []string{"favourite:bob", "follow:bob"}},
		{"below max_id", "?max_id=" + ns[0].ID, []string{"mention:carol", "follow:bob"}},
		{"nearest min_id", "?limit=1&min_id=" + ns[2].ID, []string{"mention:carol"}},
	} {
		if got, _, _ := ntfList(t, inst, tc.query, alice.Token); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}

	// Pages of one: follow the Link header to the end.
	var walked []string
	next := inst.API("/api/v1/notifications?limit=1")
	for i := 0; next != "" && i < 10; i++ {
		r := apiGet(t, next, alice.Token)
		var page []mastodon.Notification
		r.ok(t, &page)
		if len(page) == 0 {
			break
		}
		for _, n := range page {
			walked = append(walked, n.Type+":"+n.Account.Username)
		}
		next = linkRel(r.Header.Get("Link"), "next")
	}
	// dave's and erin's notifications sit between carol's and bob's follow and are skipped.
	if !slices.Equal(walked, all) {
		t.Errorf("walking pages of one: %v, want %v", walked, all)
	}

	gomn, err := userClient(inst, alice).GetNotificationsExclude(ctx, &[]string{"favourite"}, nil)
	if err != nil || len(gomn) != 2 || gomn[0].Type != "mention" {
		t.Errorf("go-mastodon exclude favourite: %v %+v", err, gomn)
	}

	// Blocking bob hides his notifications.
	if _, err := userClient(inst, alice).AccountBlock(ctx, gomastodon.ID(bob.Account.ID)); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := ntfList(t, inst, "", alice.Token); !slices.Equal(got, []string{"mention:carol"}) {
		t.Errorf("after blocking bob: %v", got)
	}
}

func TestNotificationGetDismissClear(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	for _, u := range []*testrig.User{bob, carol} {
		if _, err := userClient(inst, u).AccountFollow(ctx, gomastodon.ID(alice.Account.ID)); err != nil {
			t.Fatal(err)
		}
	}
	_, ns, _ := ntfList(t, inst, "", alice.Token)
	if len(ns) != 2 {
		t.Fatalf("%d notifications, want 2", len(ns))
	}
	one, err := userClient(inst, alice).GetNotification(ctx, gomastodon.ID(ns[0].ID))
	if err != nil || one.Type != "follow" || string(one.Account.ID) != carol.Account.ID {
		t.Errorf("GET notification: %v %+v", err, one)
	}
	apiGet(t, inst.API("/api/v1/notifications/%s", ns[0].ID), bob.Token).expectError(t, http.StatusNotFound, "Record not found")
	apiForm(t, http.MethodPost, inst.API("/api/v1/notifications/%s/dismiss", ns[0].ID), bob.Token, "").expectError(t, http.StatusNotFound, "Record not found")
	apiForm(t, http.MethodPost, inst.API("/api/v1/notifications/%s/dismiss", ns[0].ID), userToken(t, inst, alice, "read"), "").expectError(t, http.StatusForbidden, "This action is outside the authorized scopes")
	apiForm(t, http.MethodPost, inst.API("/api/v1/notifications/clear"), userToken(t, inst, alice, "read"), "").expectError(t, http.StatusForbidden, "This action is outside the authorized scopes")
	apiGet(t, inst.API("/api/v1/notifications"), "").expectError(t, http.StatusUnauthorized, "The access token is invalid")
	if got, _, _ := ntfList(t, inst, "", alice.Token); len(got) != 2 {
		t.Fatalf("refused requests removed notifications: %v", got)
	}

	var empty map[string]any
	apiForm(t, http.MethodPost, inst.API("/api/v1/notifications/%s/dismiss", ns[0].ID), alice.Token, "").ok(t, &empty)
	if len(empty) != 0 {
		t.Errorf("dismiss answered %v, want {}", empty)
	}
	apiGet(t, inst.API("/api/v1/notifications/%s", ns[0].ID), alice.Token).expectError(t, http.StatusNotFound, "Record not found")
	if got, _, _ := ntfList(t, inst, "", alice.Token); !slices.Equal(got, []string{"follow:bob"}) {
		t.Errorf("after dismiss: %v", got)
	}
	if err := userClient(inst, alice).ClearNotifications(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := ntfList(t, inst, "", alice.Token); len(got) != 0 {
		t.Errorf("after clear: %v", got)
	}
	apiForm(t, http.MethodPost, inst.API("/api/v1/notifications/%s/dismiss", ns[1].ID), alice.Token, "").expectError(t, http.StatusNotFound, "Record not found")
}

// A notification shows its status through the same visibility check as every other read: once
// alice no longer follows bob, the notification of his followers-only post goes with the post.
func TestNotificationsHideWhatTheViewerMayNoLongerSee(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	if err := inst.Store.Follow(context.Background(), alice.Account, bob.Account, store.FollowOptions{ShowReblogs: true, Notify: true}); err != nil {
		t.Fatal(err)
	}
	postStatus(t, inst, bob, gomastodon.Toot{Status: "followers only", Visibility: "private"})
	if got, _, _ := ntfList(t, inst, "", alice.Token); !slices.Equal(got, []string{"status:bob"}) {
		t.Fatalf("while following: %v, want [status:bob]", got)
	}
	apiForm(t, http.MethodPost, inst.API("/api/v1/accounts/%s/unfollow", bob.Account.ID), alice.Token, "").ok(t, nil)
	if got, _, _ := ntfList(t, inst, "", alice.Token); len(got) != 0 {
		t.Fatalf("after unfollowing: %v, want none", got)
	}
}
