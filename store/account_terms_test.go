package store_test

import (
	"context"
	"testing"
)

// TestEnsureAccountTermsIndexed: accounts written before the word index existed are found
// once the index is built at start, and building it again changes nothing.
func TestEnsureAccountTermsIndexed(t *testing.T) {
	ctx := context.Background()
	st, rdb, prefix := rawStore(t)
	a := localAccount(t, st, "bob")
	a.DisplayName = "Bob Berglund"
	if err := st.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	// As the data was before: no word index at all (bob's words all start with a b).
	for _, key := range []string{"{" + prefix + ":idx:account:terms:b}", "{" + prefix + ":acct:" + a.ID + "}:words"} {
		if err := rdb.Del(ctx, key).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if found, err := st.SearchAccountTerms(ctx, "berglund", 10); err != nil || len(found) != 0 {
		t.Fatalf("before indexing: %v, %v", found, err)
	}
	for range 2 {
		if err := st.EnsureAccountTermsIndexed(ctx); err != nil {
			t.Fatal(err)
		}
		found, err := st.SearchAccountTerms(ctx, "berglund", 10)
		if err != nil || len(found) != 1 || found[0].ID != a.ID {
			t.Fatalf("after indexing: %v, %v", found, err)
		}
	}
}
