package federation_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"watercooler/store"
	"watercooler/testrig"
)

// migrationForm sends a form to d's client API as d's user and returns the status code.
func (d *dept) migrationForm(t *testing.T, method, path string, form url.Values) int {
	t.Helper()
	req, err := http.NewRequest(method, d.inst.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+d.user.Token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestMoveAcrossDepartments moves alice on one department to bob on another; carol, on a
// third, follows alice and must end up following bob, notified of the move.
func TestMoveAcrossDepartments(t *testing.T) {
	alice, bob, carol := newDept(t, "alice"), newDept(t, "bob"), newDept(t, "carol")
	oldOnCarol := carol.follow(t, alice)

	if code := bob.migrationForm(t, "POST", "/api/v1/accounts/aliases", url.Values{"acct": {alice.acct()}}); code != 200 {
		t.Fatalf("POST aliases = %d, want 200", code)
	}
	form := url.Values{"acct": {bob.acct()}, "current_password": {alice.user.Password}}
	if code := alice.migrationForm(t, "POST", "/api/v1/accounts/migration", form); code != 200 {
		t.Fatalf("POST migration = %d, want 200", code)
	}
	carol.waitNotification(t, store.NotifyMove, alice.acct())
	newOnCarol := carol.resolve(t, bob.acct())
	testrig.Eventually(t, deadline, "carol follows bob, not alice", func() bool {
		return carol.relationship(t, newOnCarol.ID).Following && !carol.relationship(t, oldOnCarol.ID).Following
	})
	testrig.Eventually(t, deadline, "bob's department sees carol as a follower", func() bool {
		ids, err := bob.inst.Store.Followers(context.Background(), bob.user.Account.ID, store.Page{Limit: 10})
		return err == nil && len(ids) == 1
	})
	var moved struct {
		Moved *struct{ Acct string } `json:"moved"`
	}
	carol.getJSON(t, "/api/v1/accounts/"+string(oldOnCarol.ID), &moved)
	if moved.Moved == nil || moved.Moved.Acct != bob.acct() {
		t.Errorf("alice's moved on carol's department = %+v, want %s", moved.Moved, bob.acct())
	}
}

// TestMoveWithoutAliasRefused checks that a Move whose target does not name the old account in
// alsoKnownAs changes no follow, whether asked through the API or received from a peer.
func TestMoveWithoutAliasRefused(t *testing.T) {
	alice, bob, carol := newDept(t, "alice"), newDept(t, "bob"), newDept(t, "carol")
	oldOnCarol := carol.follow(t, alice)
	form := url.Values{"acct": {bob.acct()}, "current_password": {alice.user.Password}}
	if code := alice.migrationForm(t, "POST", "/api/v1/accounts/migration", form); code != 422 {
		t.Fatalf("POST migration without alias = %d, want 422", code)
	}
	old, err := alice.inst.Store.Account(context.Background(), alice.user.Account.ID)
	if err != nil {
		t.Fatal(err)
	}
	if old.MovedToURI != "" {
		t.Errorf("alice moved to %s after a refused move", old.MovedToURI)
	}
	if !carol.relationship(t, oldOnCarol.ID).Following {
		t.Error("carol stopped following alice after a refused move")
	}
}
