package main

import (
	"context"
	"strings"
	"testing"

	"watercooler/store"
	"watercooler/testrig"
)

// TestAdminUserMove moves alice to bob within one department through the admin commands; carol,
// who followed alice, follows bob afterwards. A move to an account without the alias fails.
func TestAdminUserMove(t *testing.T) {
	admin, prefix := adminRunner(t)
	ctx := context.Background()
	st := store.New(testrig.Redis(t), prefix, "eng.test.example")
	local := func(name string) *store.Account {
		a, err := st.CreateLocalAccount(ctx, store.NewLocalAccount{Username: name, BaseURL: "http://eng.test.example"})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	alice, bob, carol := local("alice"), local("bob"), local("carol")
	if err := st.Follow(ctx, carol, alice, store.FollowOptions{ShowReblogs: true}); err != nil {
		t.Fatal(err)
	}
	if out, err := admin("user", "move", "--username", "alice", "--to", "bob@eng.test.example"); err == nil {
		t.Fatalf("move without alias succeeded: %s", out)
	}
	if out, err := admin("user", "alias", "--username", "bob", "--aliases", "alice@eng.test.example"); err != nil || !strings.Contains(out, alice.URI) {
		t.Fatalf("user alias = %q, %v", out, err)
	}
	if out, err := admin("user", "move", "--username", "alice", "--to", "bob@eng.test.example"); err != nil {
		t.Fatalf("user move = %q, %v", out, err)
	}
	for _, c := range []struct {
		target *store.Account
		want   bool
	}{{alice, false}, {bob, true}} {
		if got, err := st.Follows(ctx, carol.ID, c.target.ID); err != nil || got != c.want {
			t.Errorf("carol follows %s = %v, %v; want %v", c.target.Username, got, err, c.want)
		}
	}
	moved, err := st.Account(ctx, alice.ID)
	if err != nil || moved.MovedToURI != bob.URI {
		t.Errorf("alice moved to %q (%v), want %s", moved.MovedToURI, err, bob.URI)
	}
}
