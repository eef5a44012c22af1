package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"watercooler/store"
	"watercooler/testrig"
)

func TestAccountCreateRefusesTakenNameOrEmail(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	localAccount(t, st, "alice")
	for _, n := range []store.NewLocalAccount{
		{Username: "ALICE", Email: "other@mail.example"},
		{Username: "alice2", Email: "Alice@Mail.Example"},
	} {
		n.BaseURL, n.PasswordHash = testBaseURL, "x"
		if _, err := st.CreateLocalAccount(ctx, n); !errors.Is(err, store.ErrConflict) {
			t.Errorf("create %s/%s: got %v, want ErrConflict", n.Username, n.Email, err)
		}
	}
	all, err := st.LocalAccounts(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("local accounts after refused sign-ups: %d (%v), want 1", len(all), err)
	}
	if _, err := st.AccountByAcct(ctx, "alice2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("refused alice2 was stored: %v", err)
	}
}

func TestAccountByAcctAcceptsLocalAliases(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	alice := localAccount(t, st, "alice")
	bob := remoteAccount(t, st, "bob", "remote.example")
	for acct, want := range map[string]string{
		"alice": alice.ID, "@alice": alice.ID, "ALICE": alice.ID, "alice@" + testDomain: alice.ID,
		"bob@remote.example": bob.ID, "@Bob@Remote.Example": bob.ID,
	} {
		a, err := st.AccountByAcct(ctx, acct)
		if err != nil || a.ID != want {
			t.Errorf("AccountByAcct(%q) = %v, %v; want %s", acct, a, err, want)
		}
	}
	for _, acct := range []string{"bob", "alice@remote.example", "carol"} {
		if _, err := st.AccountByAcct(ctx, acct); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AccountByAcct(%q): got %v, want ErrNotFound", acct, err)
		}
	}
}

func TestAccountSearchByPrefix(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	localAccount(t, st, "alice")
	localAccount(t, st, "alicia")
	localAccount(t, st, "bob")
	remoteAccount(t, st, "alfred", "remote.example")
	acctsOf := func(as []*store.Account) []string {
		out := make([]string, len(as))
		for i, a := range as {
			out[i] = a.Acct()
		}
		return out
	}
	for _, tc := range []struct {
		q     string
		limit int
		want  []string
	}{
		{"ali", 10, []string{"alice", "alicia"}},
		{"@AL", 10, []string{"alfred@remote.example", "alice", "alicia"}},
		{"al", 2, []string{"alfred@remote.example", "alice"}},
		{"alfred@rem", 10, []string{"alfred@remote.example"}},
		{"zed", 10, []string{}},
		{"", 10, []string{}},
	} {
		got, err := st.SearchAccounts(ctx, tc.q, tc.limit)
		if err != nil {
			t.Fatalf("search %q: %v", tc.q, err)
		}
		if g := acctsOf(got); !slices.Equal(g, tc.want) {
			t.Errorf("search %q limit %d = %v, want %v", tc.q, tc.limit, g, tc.want)
		}
	}
}

func TestAccountUpdateProfileWritesBoth(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	alice := localAccount(t, st, "alice")
	bob := localAccount(t, st, "bob")
	u, err := st.User(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	alice.DisplayName = "Alice A."
	u.Preferences.PostingVisibility = store.VisibilityPrivate
	if err := st.UpdateProfile(ctx, alice, u); err != nil {
		t.Fatal(err)
	}
	gotA, _ := st.Account(ctx, alice.ID)
	gotU, _ := st.User(ctx, alice.ID)
	if gotA.DisplayName != "Alice A." || gotU.Preferences.PostingVisibility != store.VisibilityPrivate {
		t.Errorf("after UpdateProfile: display name %q, visibility %q", gotA.DisplayName, gotU.Preferences.PostingVisibility)
	}
	bob.DisplayName = "Mismatched"
	if err := st.UpdateProfile(ctx, bob, u); err == nil {
		t.Error("UpdateProfile with another account's user succeeded")
	}
	if gotB, _ := st.Account(ctx, bob.ID); gotB.DisplayName == "Mismatched" {
		t.Error("a refused UpdateProfile wrote the account")
	}
}

func TestAccountStatusesFilteredFillsPages(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	alice := localAccount(t, st, "alice")
	var ids []string // oldest first
	for i := 0; i < 12; i++ {
		s, err := st.CreateStatus(ctx, store.NewStatus{Status: store.Status{
			AccountID: alice.ID, Local: true, Visibility: store.VisibilityPublic, Content: fmt.Sprintf("<p>%d</p>", i),
		}, BaseURL: testBaseURL})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	// Keep every third status: 0, 3, 6, 9.
	keep := func(_ context.Context, batch []*store.Status) ([]*store.Status, error) {
		var out []*store.Status
		for _, s := range batch {
			if slices.Index(ids, s.ID)%3 == 0 {
				out = append(out, s)
			}
		}
		return out, nil
	}
	idsOf := func(sts []*store.Status) []string {
		out := make([]string, len(sts))
		for i, s := range sts {
			out[i] = s.ID
		}
		return out
	}
	for _, tc := range []struct {
		name string
		page store.Page
		want []string
	}{
		{"newest", store.Page{Limit: 3}, []string{ids[9], ids[6], ids[3]}},
		{"below max_id", store.Page{Limit: 3, MaxID: ids[3]}, []string{ids[0]}},
		{"above since_id", store.Page{Limit: 5, SinceID: ids[5]}, []string{ids[9], ids[6]}},
		{"nearest min_id", store.Page{Limit: 2, MinID: ids[0]}, []string{ids[6], ids[3]}},
		{"min_id and max_id", store.Page{Limit: 5, MinID: ids[0], MaxID: ids[9]}, []string{ids[6], ids[3]}},
	} {
		got, err := st.AccountStatusesFiltered(ctx, alice.ID, tc.page, keep)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if g := idsOf(got); !slices.Equal(g, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, g, tc.want)
		}
	}
}
