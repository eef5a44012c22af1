package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/store"
	"watercooler/testrig"
)

// importCSV posts a CSV import and waits for it to finish, returning the finished import.
func importCSV(t *testing.T, inst *testrig.Instance, token, kind, mode string, data []byte) store.Import {
	t.Helper()
	ct, body := multipartBody(t, multipartFile{Field: "data", Name: kind + ".csv", ContentType: "text/csv", Data: data}, "type", kind, "mode", mode)
	res := apiDo(t, http.MethodPost, inst.API("/settings/imports"), token, ct, body)
	if res.Code != http.StatusAccepted {
		t.Fatalf("import %s: %d %s", kind, res.Code, res.Body)
	}
	var imp store.Import
	res.decode(t, &imp)
	if imp.State != store.ImportScheduled || imp.Total == 0 {
		t.Fatalf("import %s answered %+v", kind, imp)
	}
	// Rows that name remote accounts wait for WebFinger and actor fetches, each bounded by the
	// federation client's timeout; the bound only catches a hang.
	testrig.Eventually(t, 60*time.Second, "the "+kind+" import to finish", func() bool {
		apiGet(t, inst.API("/settings/imports/%s", imp.ID), token).ok(t, &imp)
		return imp.State == store.ImportFinished
	})
	return imp
}

// TestCSVImportOnAnotherDepartment moves a person's follows, blocks, mutes, domain blocks,
// bookmarks and lists from one department to another the way people do it: export on one,
// import on the other; and checks overwrite, and that bad files are refused whole.
func TestCSVImportOnAnotherDepartment(t *testing.T) {
	eng, sales := testrig.StartInstance(t), testrig.StartInstance(t)
	ctx := context.Background()
	alice, bob, dave := eng.CreateUser(t, "alice"), eng.CreateUser(t, "bob"), eng.CreateUser(t, "dave")
	carol := sales.CreateUser(t, "carol")
	ghost := remoteAccount(t, eng, "ghost", "gone.example") // no server answers for it
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(eng.Store.Follow(ctx, alice.Account, bob.Account, store.FollowOptions{ShowReblogs: false, Notify: true}))
	must(eng.Store.Follow(ctx, alice.Account, ghost, store.FollowOptions{ShowReblogs: true}))
	must(eng.Store.Block(ctx, alice.Account.ID, dave.Account.ID))
	must(eng.Store.Mute(ctx, alice.Account.ID, bob.Account.ID, false))
	_, err := eng.Store.BlockDomainFor(ctx, alice.Account.ID, "noisy.example")
	must(err)
	post := postStatus(t, eng, bob, gomastodon.Toot{Status: "worth keeping"})
	must(eng.Store.Bookmark(ctx, alice.Account.ID, string(post.ID)))
	team := &store.List{AccountID: alice.Account.ID, Title: "Team"}
	must(eng.Store.CreateList(ctx, team))
	must(eng.Store.AddListAccounts(ctx, team, []string{bob.Account.ID}))
	export := func(name string) []byte {
		res := apiGet(t, eng.API("/settings/exports/%s.csv", name), alice.Token)
		if res.Code != http.StatusOK {
			t.Fatalf("export %s: %d %s", name, res.Code, res.Body)
		}
		return res.Body
	}

	newAlice := sales.CreateUser(t, "alice")
	me := newAlice.Account.ID
	// carol is blocked on sales before the import, and the import overwrites blocks.
	must(sales.Store.Block(ctx, me, carol.Account.ID))
	rel := func(a *store.Account) store.Relationship {
		t.Helper()
		rels, err := sales.Store.Relationships(ctx, me, []string{a.ID})
		must(err)
		return rels[0]
	}
	remote := func(name string) *store.Account {
		t.Helper()
		a, err := sales.Store.AccountByAcct(ctx, name+"@"+eng.Config.Domain())
		must(err)
		return a
	}

	cases := []struct {
		kind, mode, export string
		imported, failed   int
		check              func(t *testing.T)
	}{
		{"following", "merge", "follows", 1, 1, func(t *testing.T) {
			testrig.Eventually(t, 20*time.Second, "bob on eng accepts the follow", func() bool { return rel(remote("bob")).Following })
			if r := rel(remote("bob")); r.ShowingReblogs || !r.Notifying {
				t.Errorf("follow options not carried over: %+v", r)
			}
		}},
		{"blocking", "overwrite", "blocks", 1, 0, func(t *testing.T) {
			if !rel(remote("dave")).Blocking || rel(carol.Account).Blocking {
				t.Errorf("blocks: dave %+v, carol %+v; want dave blocked, carol (not in the file) unblocked", rel(remote("dave")), rel(carol.Account))
			}
		}},
		{"muting", "merge", "mutes", 1, 0, func(t *testing.T) {
			if r := rel(remote("bob")); !r.Muting || r.MutingNotifications {
				t.Errorf("mute of bob: %+v, want muted with notifications", r)
			}
		}},
		{"domain_blocking", "merge", "domain_blocks", 1, 0, func(t *testing.T) {
			es, err := sales.Store.BlockedDomains(ctx, me, store.Page{})
			if err != nil || len(es) != 1 || es[0].Member != "noisy.example" {
				t.Errorf("domain blocks %v, %v", es, err)
			}
		}},
		{"bookmarks", "merge", "bookmarks", 1, 0, func(t *testing.T) {
			es, err := sales.Store.Bookmarks(ctx, me, store.Page{})
			must(err)
			sts, err := sales.Store.Statuses(ctx, store.Members(es))
			if err != nil || len(sts) != 1 || sts[0].URI != post.URI {
				t.Errorf("bookmarks %v, %v; want %s", sts, err, post.URI)
			}
		}},
		{"lists", "merge", "lists", 1, 0, func(t *testing.T) {
			lists, err := sales.Store.Lists(ctx, me)
			must(err)
			if len(lists) != 1 || lists[0].Title != "Team" {
				t.Fatalf("lists %+v", lists)
			}
			members, err := sales.Store.ListAccountsPage(ctx, lists[0].ID, store.Page{})
			if err != nil || len(members) != 1 || members[0].Member != remote("bob").ID {
				t.Errorf("members of Team: %v, %v", members, err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			imp := importCSV(t, sales, newAlice.Token, tc.kind, tc.mode, export(tc.export))
			if imp.Imported != tc.imported || imp.Failed != tc.failed || imp.Processed != imp.Total {
				t.Errorf("import %+v: want %d imported, %d failed", imp, tc.imported, tc.failed)
			}
			tc.check(t)
		})
	}

	t.Run("refused", func(t *testing.T) {
		readOnly := userToken(t, sales, newAlice, "read")
		blocksOnly := userToken(t, sales, newAlice, "write:blocks")
		many := strings.Repeat("someone@eng.example\n", 20001)
		for _, tc := range []struct {
			name, token, kind, mode, data string
			code                          int
		}{
			{"unknown type", newAlice.Token, "statuses", "merge", "a@b.example\n", http.StatusUnprocessableEntity},
			{"unknown mode", newAlice.Token, "blocking", "replace", "a@b.example\n", http.StatusUnprocessableEntity},
			{"overwrite of lists", newAlice.Token, "lists", "overwrite", "Team,a@b.example\n", http.StatusUnprocessableEntity},
			{"no rows", newAlice.Token, "blocking", "merge", "Account address\n", http.StatusUnprocessableEntity},
			{"not CSV", newAlice.Token, "blocking", "merge", "\"unterminated\n", http.StatusUnprocessableEntity},
			{"more than 20,000 rows", newAlice.Token, "blocking", "merge", many, http.StatusUnprocessableEntity},
			{"no token", "", "blocking", "merge", "a@b.example\n", http.StatusUnauthorized},
			{"a read-only token", readOnly, "blocking", "merge", "a@b.example\n", http.StatusForbidden},
			{"a token for blocks importing follows", blocksOnly, "following", "merge", "a@b.example\n", http.StatusForbidden},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ct, body := multipartBody(t, multipartFile{Field: "data", Name: "x.csv", Data: []byte(tc.data)}, "type", tc.kind, "mode", tc.mode)
				if res := apiDo(t, http.MethodPost, sales.API("/settings/imports"), tc.token, ct, body); res.Code != tc.code {
					t.Errorf("%d %s, want %d", res.Code, res.Body, tc.code)
				}
			})
		}
		// A file over the request body limit is refused before it is read.
		if got := announceBody(t, sales.URL+"/settings/imports", newAlice.Token, "multipart/form-data; boundary=x", 1<<20+1); got != http.StatusRequestEntityTooLarge {
			t.Errorf("body over the request limit: status %d, want 413", got)
		}
		// Another person's import is not found.
		if res := apiGet(t, eng.API("/settings/imports/1"), alice.Token); res.Code != http.StatusNotFound {
			t.Errorf("someone else's import: %d", res.Code)
		}
	})
}
