package store_test

import (
	"context"
	"errors"
	"testing"

	"watercooler/store"
	"watercooler/testrig"
)

// relOf reads how a relates to b.
func relOf(t testing.TB, st *store.Store, a, b *store.Account) store.Relationship {
	t.Helper()
	rels, err := st.Relationships(context.Background(), a.ID, []string{b.ID})
	if err != nil {
		t.Fatal(err)
	}
	return rels[0]
}

// countsOf reads an account's counters.
func countsOf(t testing.TB, st *store.Store, a *store.Account) store.AccountCounts {
	t.Helper()
	c, err := st.AccountCounts(context.Background(), []string{a.ID})
	if err != nil {
		t.Fatal(err)
	}
	return c[a.ID]
}

func TestFollowIsCountedOnceAndNotifies(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	alice, bob := localAccount(t, st, "alice"), localAccount(t, st, "bob")
	for i := 0; i < 2; i++ {
		if err := st.Follow(ctx, alice, bob, store.FollowOptions{ShowReblogs: i == 0, Notify: true}); err != nil {
			t.Fatal(err)
		}
	}
	if r := relOf(t, st, alice, bob); !r.Following || r.FollowedBy || r.ShowingReblogs || !r.Notifying {
		t.Errorf("alice → bob after following twice: %+v (the second follow's options should apply)", r)
	}
	if r := relOf(t, st, bob, alice); r.Following || !r.FollowedBy {
		t.Errorf("bob → alice: %+v", r)
	}
	if c := countsOf(t, st, alice); c.Following != 1 || c.Followers != 0 {
		t.Errorf("alice counts %+v", c)
	}
	if c := countsOf(t, st, bob); c.Followers != 1 {
		t.Errorf("bob counts %+v", c)
	}
	if types := notificationTypes(t, st, bob); len(types) != 1 || types[0] != store.NotifyFollow {
		t.Errorf("bob's notifications %v, want one follow", types)
	}
	for i := 0; i < 2; i++ {
		if err := st.Unfollow(ctx, alice.ID, bob.ID); err != nil {
			t.Fatal(err)
		}
	}
	if r := relOf(t, st, alice, bob); r.Following {
		t.Errorf("still following after unfollow: %+v", r)
	}
	if c := countsOf(t, st, bob); c.Followers != 0 {
		t.Errorf("bob's followers after unfollowing twice: %d", c.Followers)
	}
}

func TestFollowRequestAcceptAndReject(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	alice, carol, bob := localAccount(t, st, "alice"), localAccount(t, st, "carol"), localAccount(t, st, "bob", lockedAccount)
	for _, a := range []*store.Account{alice, carol} {
		if err := st.RequestFollow(ctx, a, bob, store.FollowOptions{ShowReblogs: false}); err != nil {
			t.Fatal(err)
		}
	}
	if r := relOf(t, st, alice, bob); !r.Requested || r.Following {
		t.Errorf("alice → bob after request: %+v", r)
	}
	if r := relOf(t, st, bob, alice); !r.RequestedBy {
		t.Errorf("bob → alice after request: %+v", r)
	}
	if n, err := st.FollowRequestCount(ctx, bob.ID); err != nil || n != 2 {
		t.Errorf("follow request count %d (%v), want 2", n, err)
	}
	if types := notificationTypes(t, st, bob); len(types) != 2 || types[0] != store.NotifyFollowRequest {
		t.Errorf("bob's notifications %v, want two follow requests", types)
	}
	if err := st.AcceptFollowRequest(ctx, alice, bob); err != nil {
		t.Fatal(err)
	}
	if r := relOf(t, st, alice, bob); !r.Following || r.Requested || r.ShowingReblogs {
		t.Errorf("alice → bob after accept: %+v (the request's options should carry over)", r)
	}
	if ok, _ := st.HasFollowRequest(ctx, bob.ID, alice.ID); ok {
		t.Error("accepted request still pending")
	}
	if ok, _ := st.HasFollowRequest(ctx, bob.ID, carol.ID); !ok {
		t.Error("carol's request is not pending")
	}
	if err := st.RejectFollowRequest(ctx, carol.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	if r := relOf(t, st, carol, bob); r.Requested || r.Following {
		t.Errorf("carol → bob after reject: %+v", r)
	}
	if err := st.AcceptFollowRequest(ctx, carol, bob); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("accepting a rejected request: %v, want ErrNotFound", err)
	}
	if c := countsOf(t, st, bob); c.Followers != 1 {
		t.Errorf("bob's followers %d, want 1", c.Followers)
	}
}

func TestBlockEndsFollowsBothWays(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	alice, bob := localAccount(t, st, "alice"), localAccount(t, st, "bob")
	for _, pair := range [][2]*store.Account{{alice, bob}, {bob, alice}} {
		followAccount(t, st, pair[0], pair[1])
	}
	if err := st.Block(ctx, alice.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	if r := relOf(t, st, alice, bob); r.Following || r.FollowedBy || !r.Blocking || r.BlockedBy {
		t.Errorf("alice → bob after block: %+v", r)
	}
	if r := relOf(t, st, bob, alice); r.Following || !r.BlockedBy {
		t.Errorf("bob → alice after block: %+v", r)
	}
	for _, a := range []*store.Account{alice, bob} {
		if c := countsOf(t, st, a); c.Followers != 0 || c.Following != 0 {
			t.Errorf("%s counts after block: %+v", a.Username, c)
		}
	}
	blocked, err := st.BlockedAccountIDs(ctx, alice.ID)
	if err != nil || !blocked[bob.ID] || len(blocked) != 1 {
		t.Errorf("alice's blocked ids %v (%v)", blocked, err)
	}
	if blocked, _ := st.BlockedAccountIDs(ctx, bob.ID); len(blocked) != 0 {
		t.Errorf("bob blocks %v, want nobody", blocked)
	}
	if hidden, _ := st.Hidden(ctx, bob.ID); !hidden[alice.ID] {
		t.Error("alice is not hidden from bob, who she blocks")
	}
	if err := st.Unblock(ctx, alice.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	if r := relOf(t, st, bob, alice); r.BlockedBy {
		t.Errorf("bob → alice after unblock: %+v", r)
	}
}

func TestMuteWithAndWithoutNotifications(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	alice, bob := localAccount(t, st, "alice"), localAccount(t, st, "bob")
	if err := st.Mute(ctx, alice.ID, bob.ID, true); err != nil {
		t.Fatal(err)
	}
	if r := relOf(t, st, alice, bob); !r.Muting || !r.MutingNotifications {
		t.Errorf("after mute with notifications: %+v", r)
	}
	if muted, _ := st.MutedNotificationsFrom(ctx, alice.ID); !muted[bob.ID] {
		t.Error("bob's notifications are not muted")
	}
	if err := st.Mute(ctx, alice.ID, bob.ID, false); err != nil {
		t.Fatal(err)
	}
	if r := relOf(t, st, alice, bob); !r.Muting || r.MutingNotifications {
		t.Errorf("after mute without notifications: %+v", r)
	}
	if err := st.Unmute(ctx, alice.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	if hidden, _ := st.Hidden(ctx, alice.ID); hidden[bob.ID] {
		t.Error("bob still hidden after unmute")
	}
}

// TestIsBlockedBy checks both ways IsBlockedBy answers: from the blockers' list the read cache
// keeps, and with no cache (a cluster) by asking for the one member; a block and an unblock are
// seen by the next read either way.
func TestIsBlockedBy(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) *store.Store
	}{
		{"no cache", func(t *testing.T) *store.Store { return testrig.NewStore(t, testDomain) }},
		{"read cache", func(t *testing.T) *store.Store { st, _, _ := cachedPair(t); return st }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.store(t)
			alice, bob := localAccount(t, st, "alice"), localAccount(t, st, "bob")
			check := func(want bool) {
				t.Helper()
				if got, err := st.IsBlockedBy(ctx, alice.ID, bob.ID); err != nil || got != want {
					t.Fatalf("IsBlockedBy = %v, %v; want %v", got, err, want)
				}
			}
			check(false)
			check(false) // the second read from the cache, where there is one
			if err := st.Block(ctx, bob.ID, alice.ID); err != nil {
				t.Fatal(err)
			}
			check(true)
			if err := st.Unblock(ctx, bob.ID, alice.ID); err != nil {
				t.Fatal(err)
			}
			check(false)
		})
	}
}
