package store_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"watercooler/testrig"
)

func TestMarkersSaveVersions(t *testing.T) {
	ctx := context.Background()
	st := testrig.NewStore(t, testDomain)
	acct := localAccount(t, st, "reader")

	first, err := st.SaveMarkers(ctx, acct.ID, map[string]string{"home": "100", "notifications": "7"})
	if err != nil {
		t.Fatal(err)
	}
	if first["home"].Version != 0 || first["home"].LastReadID != "100" || first["notifications"].LastReadID != "7" {
		t.Fatalf("first save = %+v", first)
	}
	// Saving the same position again changes nothing, as Rails skips unchanged records.
	same, err := st.SaveMarkers(ctx, acct.ID, map[string]string{"home": "100"})
	if err != nil || same["home"] != first["home"] {
		t.Fatalf("unchanged save = %+v, %v; want %+v", same["home"], err, first["home"])
	}
	moved, err := st.SaveMarkers(ctx, acct.ID, map[string]string{"home": "150"})
	if err != nil || moved["home"].Version != 1 || moved["home"].LastReadID != "150" {
		t.Fatalf("moved = %+v, %v", moved["home"], err)
	}
	got, err := st.Markers(ctx, acct.ID, []string{"home", "notifications", "public"})
	if err != nil || len(got) != 2 || got["home"].Version != 1 || got["notifications"].Version != 0 {
		t.Fatalf("read back %+v, %v", got, err)
	}

	// Concurrent saves of distinct positions each get their own version: none is lost.
	const n = 12
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.SaveMarkers(ctx, acct.ID, map[string]string{"notifications": strconv.Itoa(1000 + i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _ = st.Markers(ctx, acct.ID, []string{"notifications"})
	if got["notifications"].Version != n {
		t.Fatalf("after %d concurrent saves version = %d, want %d", n, got["notifications"].Version, n)
	}
}
