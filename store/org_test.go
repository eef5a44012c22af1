package store_test

import (
	"context"
	"testing"

	"watercooler/store"
	"watercooler/testrig"
)

// TestMergeOrgMembersOrder checks the rule the organization's convergence rests on: of two
// entries about a host the newer wins, at equal versions a departure wins, and an older entry
// changes nothing, whatever order they arrive in.
func TestMergeOrgMembersOrder(t *testing.T) {
	in := func(v int64) store.OrgMember {
		return store.OrgMember{Host: "sales.example", URL: "https://sales.example", Title: "Sales", Version: v}
	}
	out := func(v int64) store.OrgMember { m := in(v); m.Left = true; return m }
	cases := []struct {
		name     string
		sequence []store.OrgMember
		want     store.OrgMember
	}{
		{"newer join after a leave", []store.OrgMember{out(5), in(6)}, in(6)},
		{"stale join after a leave", []store.OrgMember{out(5), in(4)}, out(5)},
		{"leave and join at once", []store.OrgMember{in(5), out(5)}, out(5)},
		{"join at the leave's time", []store.OrgMember{out(5), in(5)}, out(5)},
		{"renamed", []store.OrgMember{in(1), func() store.OrgMember { m := in(2); m.Title = "Sales & Marketing"; return m }()}, func() store.OrgMember { m := in(2); m.Title = "Sales & Marketing"; return m }()},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := testrig.NewStore(t, testDomain)
			for _, m := range c.sequence {
				if _, err := st.MergeOrgMembers(ctx, []store.OrgMember{m}); err != nil {
					t.Fatal(err)
				}
			}
			all, err := st.OrgMembers(ctx)
			if err != nil || len(all) != 1 || all[0] != c.want {
				t.Errorf("members %+v, %v; want %+v", all, err, c.want)
			}
		})
	}
}

// TestOrgMemberAdmittedIsNoLongerPending: a host approved elsewhere and learned by gossip
// leaves the pending list, so no admin approves it twice.
func TestOrgMemberAdmittedIsNoLongerPending(t *testing.T) {
	ctx := context.Background()
	st := testrig.NewStore(t, testDomain)
	m := store.OrgMember{Host: "hr.example", URL: "https://hr.example", Version: 3}
	if err := st.AddOrgPending(ctx, m); err != nil {
		t.Fatal(err)
	}
	changed, err := st.MergeOrgMembers(ctx, []store.OrgMember{m})
	if err != nil || len(changed) != 1 {
		t.Fatalf("merge: %v, %v", changed, err)
	}
	if p, err := st.OrgPending(ctx); err != nil || len(p) != 0 {
		t.Errorf("pending %v, %v after the host became a member", p, err)
	}
	if again, err := st.MergeOrgMembers(ctx, []store.OrgMember{m}); err != nil || len(again) != 0 {
		t.Errorf("merging the same entry again changed %v, %v", again, err)
	}
}
