package store_test

// The set-up helpers every test file of this package shares, kept in one place so that the
// accounts and statuses the tests build stay alike.

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"watercooler/store"
	"watercooler/testrig"
)

// testDomain is the local domain of the stores these tests make, and testBaseURL its URL.
const (
	testDomain  = "test.example"
	testBaseURL = "https://" + testDomain
)

// rawStore is a store whose prefix the test knows, so it can inspect raw keys.
func rawStore(t *testing.T) (*store.Store, redis.UniversalClient, string) {
	t.Helper()
	rdb := testrig.Redis(t)
	prefix := testrig.Prefix(t, rdb)
	return store.New(rdb, prefix, testDomain), rdb, prefix
}

// localAccount creates a local account named name on st, with an e-mail address and a password
// hash so that it can sign in; options change the sign-up (lockedAccount, say).
func localAccount(t testing.TB, st *store.Store, name string, options ...func(*store.NewLocalAccount)) *store.Account {
	t.Helper()
	n := store.NewLocalAccount{Username: name, Email: name + "@mail.example", PasswordHash: "x", BaseURL: testBaseURL}
	for _, o := range options {
		o(&n)
	}
	a, err := st.CreateLocalAccount(context.Background(), n)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return a
}

// lockedAccount is a localAccount option for an account that approves its followers.
func lockedAccount(n *store.NewLocalAccount) { n.Locked = true }

// remoteAccount stores a remote account user@domain on st, as federation would.
func remoteAccount(t testing.TB, st *store.Store, user, domain string) *store.Account {
	t.Helper()
	a, err := st.PutRemoteAccount(context.Background(), &store.Account{
		Username: user, Domain: domain, URI: "https://" + domain + "/users/" + user, URL: "https://" + domain + "/@" + user,
	})
	if err != nil {
		t.Fatalf("remote %s@%s: %v", user, domain, err)
	}
	return a
}

// followAccount makes follower follow target with boosts shown, the default of the client API.
func followAccount(t testing.TB, st *store.Store, follower, target *store.Account) {
	t.Helper()
	if err := st.Follow(context.Background(), follower, target, store.FollowOptions{ShowReblogs: true}); err != nil {
		t.Fatalf("follow: %v", err)
	}
}

// postStatus creates a local status of author's; it is public, with s.Text as its content,
// unless s says otherwise.
func postStatus(t testing.TB, st *store.Store, author *store.Account, s store.Status) *store.Status {
	t.Helper()
	s.AccountID, s.Local = author.ID, true
	if s.Visibility == "" {
		s.Visibility = store.VisibilityPublic
	}
	if s.Content == "" {
		s.Content = "<p>" + s.Text + "</p>"
	}
	created, err := st.CreateStatus(context.Background(), store.NewStatus{Status: s, BaseURL: testBaseURL})
	if err != nil {
		t.Fatalf("create status: %v", err)
	}
	return created
}

// notificationTypes lists the types of a's notifications, newest first.
func notificationTypes(t testing.TB, st *store.Store, a *store.Account) []string {
	t.Helper()
	ns, err := st.Notifications(context.Background(), a.ID, store.NotificationQuery{Page: store.Page{Limit: 80}})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Type
	}
	return out
}

// needsCluster skips t, saying why, unless the suite's Redis is a cluster of several masters.
func needsCluster(t *testing.T, rdb redis.UniversalClient, why string) {
	t.Helper()
	byServer, err := testrig.KeysByServer(context.Background(), rdb, "no key is named this")
	if err != nil {
		t.Fatal(err)
	}
	if len(byServer) < 2 {
		t.Skip(why)
	}
}
