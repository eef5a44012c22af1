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

// TestHitRate counts a fixed window down to zero and refuses beyond it.
func TestHitRate(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	lim := store.RateLimit{Limit: 3, Window: time.Minute}
	for i, want := range []store.RateState{
		{Allowed: true, Limit: 3, Remaining: 2},
		{Allowed: true, Limit: 3, Remaining: 1},
		{Allowed: true, Limit: 3, Remaining: 0},
		{Allowed: false, Limit: 3, Remaining: 0},
	} {
		got, err := st.HitRate(ctx, "api", "account:1", lim)
		if err != nil {
			t.Fatal(err)
		}
		if got.Reset <= 0 || got.Reset > lim.Window {
			t.Fatalf("hit %d: reset in %s, want within %s", i+1, got.Reset, lim.Window)
		}
		got.Reset = 0
		if got != want {
			t.Fatalf("hit %d: %+v, want %+v", i+1, got, want)
		}
	}
	if got, _ := st.HitRate(ctx, "media", "account:1", lim); got.Remaining != 2 {
		t.Fatalf("another bucket starts at %d remaining, want 2", got.Remaining)
	}
}
