package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"watercooler/store"
	"watercooler/testrig"
)

func TestFilterUpdate(t *testing.T) {
	ctx := context.Background()
	st := testrig.NewStore(t, testDomain)
	owner := localAccount(t, st, "owner")
	other := localAccount(t, st, "other")

	f := &store.Filter{Title: "spoilers", Context: []string{"home"}, FilterAction: "warn",
		Keywords: []store.FilterKeyword{{Keyword: "finale", WholeWord: true}}}
	if err := st.SaveFilter(ctx, owner.ID, f); err != nil {
		t.Fatal(err)
	}
	if f.ID == "" || f.Keywords[0].ID == "" {
		t.Fatalf("ids not assigned: %+v", f)
	}

	updated, err := st.UpdateFilter(ctx, owner.ID, f.ID, func(f *store.Filter) error {
		f.Title = "tv"
		f.Keywords = append(f.Keywords, store.FilterKeyword{Keyword: "season"})
		return nil
	})
	if err != nil || updated.Title != "tv" || len(updated.Keywords) != 2 || updated.Keywords[1].ID == "" {
		t.Fatalf("update = %+v, %v", updated, err)
	}
	if found, err := st.FilterByKeyword(ctx, owner.ID, updated.Keywords[1].ID); err != nil || found.ID != f.ID {
		t.Fatalf("FilterByKeyword = %+v, %v", found, err)
	}

	// A refused change writes nothing and returns its own error.
	refusal := errors.New("invalid")
	if _, err := st.UpdateFilter(ctx, owner.ID, f.ID, func(f *store.Filter) error {
		f.Title = "changed"
		return refusal
	}); !errors.Is(err, refusal) {
		t.Fatalf("refused change: %v", err)
	}
	if got, _ := st.Filter(ctx, owner.ID, f.ID); got.Title != "tv" {
		t.Fatalf("refused change was written: %+v", got)
	}

	for name, id := range map[string]string{"another account's filter": f.ID, "unknown filter": "123"} {
		acct := other.ID
		if name == "unknown filter" {
			acct = owner.ID
		}
		if _, err := st.UpdateFilter(ctx, acct, id, func(*store.Filter) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}

	// Concurrent keyword additions all land: each of n writers retries at most n-1 times.
	const n = 8
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.UpdateFilter(ctx, owner.ID, f.ID, func(f *store.Filter) error {
				f.Keywords = append(f.Keywords, store.FilterKeyword{Keyword: "k"})
				return nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := st.Filter(ctx, owner.ID, f.ID)
	if err != nil || len(got.Keywords) != 2+n {
		t.Fatalf("after %d concurrent additions: %d keywords, %v", n, len(got.Keywords), err)
	}
}
