package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"watercooler/store"
	"watercooler/testrig"
)

// TestReserveSignInCountsAtomically sends many parallel attempts at one account from one
// address: exactly the limit may check a password, however the attempts interleave.
func TestReserveSignInCountsAtomically(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	lim := store.RateLimit{Limit: 10, Window: time.Minute}
	account := store.SignInAccount("", "Alice@Example.com ", lim)
	address := store.SignInAddress("192.0.2.1", store.RateLimit{Limit: 100, Window: time.Minute})

	var mu sync.Mutex
	allowed, waits := 0, []time.Duration{}
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait, err := st.ReserveSignIn(ctx, account, address)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Error(err)
			case wait == 0:
				allowed++
			default:
				waits = append(waits, wait)
			}
		}()
	}
	wg.Wait()
	if allowed != lim.Limit {
		t.Fatalf("%d of 40 parallel attempts went ahead, want %d", allowed, lim.Limit)
	}
	for _, w := range waits {
		if w <= 0 || w > lim.Window {
			t.Fatalf("wait %s, want within the %s window", w, lim.Window)
		}
	}

	// The same login however it is spelled, but a different address's count is its own.
	if wait, _ := st.ReserveSignIn(ctx, store.SignInAccount("", "alice@example.com", lim), address); wait == 0 {
		t.Fatal("the login in other case and spacing escaped its limit")
	}
	other := store.SignInAccount("acct-2", "bob", lim)
	if wait, _ := st.ReserveSignIn(ctx, other, address); wait != 0 {
		t.Fatalf("another account waits %s", wait)
	}

	// A success clears the account's count and takes back its own charge from the address.
	if err := st.SignInSucceeded(ctx, account, address); err != nil {
		t.Fatal(err)
	}
	for i := range lim.Limit {
		if wait, _ := st.ReserveSignIn(ctx, account, address); wait != 0 {
			t.Fatalf("attempt %d after a success waits %s", i+1, wait)
		}
	}
}

// TestReserveRate hands out a fixed window in slices, the last one cut to what the limit still
// allows, and nothing beyond it.
func TestReserveRate(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	lim := store.RateLimit{Limit: 10, Window: time.Minute}
	for i, want := range []store.RateSlice{
		{Granted: 4, Counted: 4},
		{Granted: 4, Counted: 8},
		{Granted: 2, Counted: 12},
		{Granted: 0, Counted: 16},
	} {
		got, err := st.ReserveRate(ctx, "api", "account:1", lim, 4)
		if err != nil {
			t.Fatal(err)
		}
		if got.Reset <= 0 || got.Reset > lim.Window {
			t.Fatalf("reservation %d: reset in %s, want within %s", i+1, got.Reset, lim.Window)
		}
		got.Reset = 0
		if got != want {
			t.Fatalf("reservation %d: %+v, want %+v", i+1, got, want)
		}
	}
	if got, _ := st.ReserveRate(ctx, "media", "account:1", lim, 4); got.Granted != 4 {
		t.Fatalf("another bucket grants %d, want 4", got.Granted)
	}
}
