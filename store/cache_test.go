package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"watercooler/store"
	"watercooler/testrig"
)

// cachedPair returns two stores on one prefix, each with its own Redis client and read cache,
// as two processes of one instance have.
func cachedPair(t *testing.T) (a, b *store.Store, prefix string) {
	t.Helper()
	rdb := testrig.Redis(t)
	prefix = testrig.Prefix(t, rdb)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a = store.New(rdb, prefix, testDomain)
	b = store.New(testrig.Redis(t), prefix, testDomain)
	for _, s := range []*store.Store{a, b} {
		if err := s.StartCache(ctx, 1000); err != nil {
			t.Fatalf("StartCache: %v", err)
		}
	}
	return a, b, prefix
}

// seenSoon waits for a reader to see another process's write: as soon as Redis's invalidation,
// which Redis sends before it answers the writer, has been read off the reader's tracking
// connection by a goroutine of its own (microseconds, so the deadline is generous).
func seenSoon(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testrig.Eventually(t, 5*time.Second, what, cond)
}

// TestCacheSeesWritesOfAnotherProcess writes in one process and reads in the other, after the
// reader cached what the write changes.
func TestCacheSeesWritesOfAnotherProcess(t *testing.T) {
	ctx := context.Background()
	writer, reader, _ := cachedPair(t)
	alice := localAccount(t, writer, "alice")
	app := &store.App{Name: "app", RedirectURIs: []string{"urn:ietf:wg:oauth:2.0:oob"}, Scopes: []string{"read", "write"}}
	if err := writer.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}

	// What the reader's page of a status of bob's shows alice: her flags, whether bob is hidden
	// from her, her filters.
	bob := localAccount(t, writer, "bob")
	bobs := postStatus(t, writer, bob, store.Status{Text: "bob's"})
	alicesPage := func() (string, error) {
		q := store.RenderQuery{StatusIDs: []string{bobs.ID}, AccountIDs: []string{bob.ID}, ViewerID: alice.ID, Filters: true, Following: true}
		page, err := reader.ReadPage(ctx, store.PageRead{ViewerID: alice.ID, StatusIDs: []string{bobs.ID}, Render: &q})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%+v hidden=%v filters=%d following=%v", page.Render.ViewerFlags[bobs.ID],
			store.StatusHidden(page.Hidden, bobs), len(page.Render.Filters), page.Render.Following[bob.ID]), nil
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name  string
		read  func() (string, error) // what the reader sees, through its cache
		write func()
	}{
		{
			name: "account update",
			read: func() (string, error) {
				a, err := reader.Account(ctx, alice.ID)
				if err != nil {
					return "", err
				}
				return a.DisplayName, nil
			},
			write: func() {
				a, err := writer.Account(ctx, alice.ID)
				if err != nil {
					t.Fatal(err)
				}
				a.DisplayName = "Alice " + store.RandomToken(4)
				if err := writer.UpdateAccount(ctx, a); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "account counters",
			read: func() (string, error) {
				c, err := reader.AccountCounts(ctx, []string{alice.ID})
				return strings.Repeat("s", int(c[alice.ID].Statuses)), err
			},
			write: func() { postStatus(t, writer, alice, store.Status{Text: "one more"}) },
		},
		{
			name: "home timeline page",
			read: func() (string, error) {
				es, err := reader.HomeTimeline(ctx, alice.ID, store.Page{Limit: 5})
				return strings.Join(store.Members(es), ","), err
			},
			write: func() { postStatus(t, writer, alice, store.Status{Text: "to my home"}) },
		},
		{name: "follow", read: alicesPage, write: func() { must(writer.Follow(ctx, alice, bob, store.FollowOptions{ShowReblogs: true})) }},
		{name: "favourite", read: alicesPage, write: func() { must(writer.Favourite(ctx, alice.ID, bobs, true)) }},
		{name: "bookmark", read: alicesPage, write: func() { must(writer.Bookmark(ctx, alice.ID, bobs.ID)) }},
		{name: "boost", read: alicesPage, write: func() {
			_, err := writer.Reblog(ctx, alice, bobs, store.VisibilityPublic, testBaseURL, true)
			must(err)
		}},
		{name: "filter", read: alicesPage, write: func() {
			must(writer.SaveFilter(ctx, alice.ID, &store.Filter{Title: "f", Context: []string{"home"}, FilterAction: "warn"}))
		}},
		{name: "mute", read: alicesPage, write: func() { must(writer.Mute(ctx, alice.ID, bob.ID, false)) }},
		{name: "unmute", read: alicesPage, write: func() { must(writer.Unmute(ctx, alice.ID, bob.ID)) }},
		{name: "blocked by", read: alicesPage, write: func() { must(writer.Block(ctx, bob.ID, alice.ID)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, err := tc.read()
			if err != nil {
				t.Fatal(err)
			}
			if again, _ := tc.read(); again != before {
				t.Fatalf("two reads without a write differ: %q, %q", before, again)
			}
			tc.write()
			seenSoon(t, "the reader to see the write of the other process", func() bool {
				got, err := tc.read()
				return err == nil && got != before
			})
		})
	}

	t.Run("rendered account document", func(t *testing.T) {
		renders := 0
		doc := func() string {
			b, err := reader.LocalAccountDocument(ctx, "ALICE", "test", func(a *store.Account) ([]byte, error) {
				renders++
				return []byte(a.DisplayName), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		before := doc()
		if doc(); renders != 1 {
			t.Errorf("rendered %d times for two reads of one version, want once", renders)
		}
		a, err := writer.Account(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		a.DisplayName = "Alice, rendered again"
		if err := writer.UpdateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		seenSoon(t, "the document of the updated account", func() bool { return doc() == a.DisplayName })
		if before == a.DisplayName {
			t.Fatal("the update changed nothing")
		}
	})

	t.Run("status edit and delete", func(t *testing.T) {
		st := postStatus(t, writer, alice, store.Status{Text: "first"})
		read := func() (*store.Status, error) {
			page, err := reader.ReadPage(ctx, store.PageRead{StatusIDs: []string{st.ID}})
			if err != nil || len(page.Statuses) != 1 {
				return nil, err
			}
			one, err := reader.Status(ctx, st.ID)
			if err == nil && one.Content != page.Statuses[0].Content {
				t.Errorf("Status reads %q, ReadPage %q", one.Content, page.Statuses[0].Content)
			}
			return one, err
		}
		if got, err := read(); err != nil || got.Content != "<p>first</p>" {
			t.Fatalf("before the edit: %+v, %v", got, err)
		}
		edited := *st
		edited.Content = "<p>edited</p>"
		if err := writer.UpdateStatus(ctx, &edited, st); err != nil {
			t.Fatal(err)
		}
		seenSoon(t, "the edit", func() bool {
			got, err := read()
			return err == nil && got != nil && got.Content == "<p>edited</p>"
		})
		if err := writer.DeleteStatus(ctx, &edited); err != nil {
			t.Fatal(err)
		}
		seenSoon(t, "the delete", func() bool {
			_, err := reader.Status(ctx, st.ID)
			page, perr := reader.ReadPage(ctx, store.PageRead{StatusIDs: []string{st.ID}})
			return errors.Is(err, store.ErrNotFound) && perr == nil && len(page.Statuses) == 0
		})
	})

	t.Run("token revocation", func(t *testing.T) {
		value, _, err := writer.CreateToken(ctx, app.ClientID, alice.ID, []string{"read"})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second read is served from the cache
			if tok, acct, err := reader.TokenAccount(ctx, value); err != nil || tok == nil || acct.ID != alice.ID {
				t.Fatalf("TokenAccount = %v, %v, %v", tok, acct, err)
			}
		}
		if err := writer.RevokeToken(ctx, value); err != nil {
			t.Fatal(err)
		}
		seenSoon(t, "the revoked token to be refused", func() bool {
			tok, _, err := reader.TokenAccount(ctx, value)
			return tok == nil && errors.Is(err, store.ErrNotFound)
		})
	})
}

// TestCacheEmptiedWhenTrackingIsLost cuts the connection that carries a process's invalidations:
// what it cached may have been invalidated meanwhile, so it must be dropped, and the cache
// must come back once the connection does.
func TestCacheEmptiedWhenTrackingIsLost(t *testing.T) {
	ctx := context.Background()
	writer, reader, prefix := cachedPair(t)
	alice := localAccount(t, writer, "alice")
	// A read whose reply races an invalidation of the sign-up's last writes caches nothing:
	// read again until one is cached.
	seenSoon(t, "something cached after a read", func() bool {
		if _, err := reader.Account(ctx, alice.ID); err != nil {
			t.Fatal(err)
		}
		return reader.CachedRecords() > 0
	})
	// Cut this prefix's tracking connections on one server (the writer's too), which the store
	// names: on a cluster, losing one master's invalidations is enough to empty the cache.
	var killed atomic.Int64
	err := store.ForEachServer(ctx, testrig.Redis(t), func(ctx context.Context, server *redis.Client) error {
		list, err := server.ClientList(ctx).Result()
		if err != nil {
			return err
		}
		var ids []string
		for _, line := range strings.Split(list, "\n") {
			if strings.Contains(line, " name=watercooler-cache:"+prefix+" ") {
				id, _, _ := strings.Cut(strings.TrimPrefix(line, "id="), " ")
				ids = append(ids, id)
			}
		}
		if len(ids) != 2 {
			return fmt.Errorf("%s holds %d tracking connections of the prefix, want 2:\n%s", server.Options().Addr, len(ids), list)
		}
		if !killed.CompareAndSwap(0, 2) {
			return nil
		}
		for _, id := range ids {
			if err := server.Do(ctx, "client", "kill", "id", id).Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || killed.Load() != 2 {
		t.Fatalf("cutting the tracking connections: %v", err)
	}
	testrig.Eventually(t, 10*time.Second, "the cache to be emptied", func() bool { return reader.CachedRecords() == 0 })
	a, err := writer.Account(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	a.DisplayName = "changed while cut off"
	if err := writer.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	testrig.Eventually(t, 10*time.Second, "the cache to fill again and see the change", func() bool {
		got, err := reader.Account(ctx, alice.ID)
		return err == nil && got.DisplayName == "changed while cut off" && reader.CachedRecords() > 0
	})
}
