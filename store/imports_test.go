package store_test

import (
	"context"
	"testing"
	"time"

	"watercooler/store"
)

// TestImportLeases checks that an import is worked by one worker at a time, goes to another
// once its worker's lease lapses, with the progress last saved, and is done once finished.
func TestImportLeases(t *testing.T) {
	ctx := context.Background()
	st, _, _ := rawStore(t)
	alice := localAccount(t, st, "alice")
	imp := &store.Import{AccountID: alice.ID, Type: "blocking", Mode: "merge"}
	rows := [][]string{{"a@x.example"}, {"b@x.example"}, {"c@x.example"}}
	if err := st.CreateImport(ctx, imp, rows); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	const lease = time.Minute
	claim := func(at time.Time) []*store.Import {
		t.Helper()
		got, err := st.ClaimDueImports(ctx, at, lease, 10)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := claim(now)
	if len(first) != 1 || first[0].ID != imp.ID || first[0].Total != 3 {
		t.Fatalf("first claim: %+v", first)
	}
	if got := claim(now); len(got) != 0 {
		t.Errorf("claimed again while leased: %+v", got)
	}
	first[0].Processed, first[0].Imported, first[0].State = 2, 2, store.ImportInProgress
	if err := st.SaveImportProgress(ctx, first[0], lease); err != nil {
		t.Fatal(err)
	}
	// The worker dies; once the lease saved with the progress lapses, another takes over.
	if got := claim(time.Now().Add(lease / 2)); len(got) != 0 {
		t.Errorf("claimed before the renewed lease lapsed: %+v", got)
	}
	second := claim(time.Now().Add(lease + time.Second))
	if len(second) != 1 || second[0].Processed != 2 || second[0].Imported != 2 {
		t.Fatalf("takeover: %+v, want the saved progress", second)
	}
	if got, err := st.ImportRows(ctx, imp.ID); err != nil || len(got) != 3 {
		t.Fatalf("rows: %v, %v", got, err)
	}
	second[0].Processed, second[0].State = 3, store.ImportFinished
	if err := st.SaveImportProgress(ctx, second[0], lease); err != nil {
		t.Fatal(err)
	}
	if got := claim(time.Now().Add(10 * lease)); len(got) != 0 {
		t.Errorf("a finished import was claimed: %+v", got)
	}
	if got, err := st.Import(ctx, alice.ID, imp.ID); err != nil || got.State != store.ImportFinished || got.Processed != 3 {
		t.Errorf("finished import reads %+v, %v", got, err)
	}
	if _, err := st.ImportRows(ctx, imp.ID); err == nil {
		t.Error("a finished import keeps its rows")
	}
	if _, err := st.Import(ctx, localAccount(t, st, "bob").ID, imp.ID); err == nil {
		t.Error("bob reads alice's import")
	}
}
