package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"watercooler/store"
	"watercooler/testrig"
)

func TestNotificationsFilterAndPage(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	alice, bob, carol := localAccount(t, st, "alice"), localAccount(t, st, "bob"), localAccount(t, st, "carol")
	// Oldest first: mention(bob) follow(bob) mention(carol) favourite(bob) mention(bob) follow(carol).
	plan := []struct {
		typ  string
		from *store.Account
	}{
		{store.NotifyMention, bob}, {store.NotifyFollow, bob}, {store.NotifyMention, carol},
		{store.NotifyFavourite, bob}, {store.NotifyMention, bob}, {store.NotifyFollow, carol},
	}
	ids := make([]string, len(plan))
	for i, p := range plan {
		n := &store.Notification{Type: p.typ, AccountID: alice.ID, FromAccountID: p.from.ID}
		if err := st.Notify(ctx, n); err != nil {
			t.Fatal(err)
		}
		ids[i] = n.ID
	}
	query := func(q store.NotificationQuery) []string {
		t.Helper()
		ns, err := st.Notifications(ctx, alice.ID, q)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]string, len(ns))
		for i, n := range ns {
			out[i] = n.ID
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    store.NotificationQuery
		want []string
	}{
		{"all", store.NotificationQuery{}, []string{ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"limit", store.NotificationQuery{Page: store.Page{Limit: 2}}, []string{ids[5], ids[4]}},
		{"types", store.NotificationQuery{Types: []string{store.NotifyMention}}, []string{ids[4], ids[2], ids[0]}},
		{"exclude types", store.NotificationQuery{ExcludeTypes: []string{store.NotifyMention, store.NotifyFollow}}, []string{ids[3]}},
		{"from account", store.NotificationQuery{FromAccountID: carol.ID}, []string{ids[5], ids[2]}},
		{"types below max_id", store.NotificationQuery{Types: []string{store.NotifyMention}, Page: store.Page{MaxID: ids[4], Limit: 1}}, []string{ids[2]}},
		{"types nearest min_id", store.NotificationQuery{Types: []string{store.NotifyMention}, Page: store.Page{MinID: ids[0], Limit: 1}}, []string{ids[2]}},
		{"min_id, several", store.NotificationQuery{Page: store.Page{MinID: ids[1], Limit: 3}}, []string{ids[4], ids[3], ids[2]}},
	} {
		if got := query(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNotificationDismissAndClear(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	alice, bob := localAccount(t, st, "alice"), localAccount(t, st, "bob")
	var ids []string
	for i := 0; i < 3; i++ {
		n := &store.Notification{Type: store.NotifyMention, AccountID: alice.ID, FromAccountID: bob.ID}
		if err := st.Notify(ctx, n); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, n.ID)
	}
	if _, err := st.Notification(ctx, bob.ID, ids[0]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bob read alice's notification: %v", err)
	}
	if err := st.DismissNotification(ctx, bob.ID, ids[0]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bob dismissed alice's notification: %v", err)
	}
	if err := st.DismissNotification(ctx, alice.ID, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Notification(ctx, alice.ID, ids[0]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("dismissed notification still readable: %v", err)
	}
	if got := notificationTypes(t, st, alice); len(got) != 2 {
		t.Errorf("%d notifications after dismissing one of 3", len(got))
	}
	if err := st.ClearNotifications(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	if got := notificationTypes(t, st, alice); len(got) != 0 {
		t.Errorf("%d notifications after clear", len(got))
	}
	if _, err := st.Notification(ctx, alice.ID, ids[1]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cleared notification still readable: %v", err)
	}
}
