package server_test

import (
	"context"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/store"
	"watercooler/testrig"
)

// TestCSVExports checks every export against Mastodon's format: its header (or none), user@domain
// addresses for local accounts too, booleans as true/false, and statuses by URI.
func TestCSVExports(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice := inst.CreateUser(t, "alice")
	bob := inst.CreateUser(t, "bob")
	domain := inst.Config.Domain()
	zed := remoteAccount(t, inst, "zed", "remote.example")
	yan := remoteAccount(t, inst, "yan", "remote.example")

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(inst.Store.Follow(ctx, alice.Account, bob.Account, store.FollowOptions{ShowReblogs: true, Notify: true, Languages: []string{"en", "de"}}))
	must(inst.Store.Follow(ctx, alice.Account, zed, store.FollowOptions{}))
	must(inst.Store.Block(ctx, alice.Account.ID, yan.ID))
	must(inst.Store.Mute(ctx, alice.Account.ID, zed.ID, true))
	must(inst.Store.Mute(ctx, alice.Account.ID, bob.Account.ID, false))
	_, err := inst.Store.BlockDomainFor(ctx, alice.Account.ID, "noisy.example")
	must(err)
	post := postStatus(t, inst, bob, gomastodon.Toot{Status: "worth keeping"})
	must(inst.Store.Bookmark(ctx, alice.Account.ID, string(post.ID)))
	list := &store.List{AccountID: alice.Account.ID, Title: "Team, core"}
	must(inst.Store.CreateList(ctx, list))
	must(inst.Store.AddListAccounts(ctx, list, []string{bob.Account.ID}))

	cases := []struct {
		name string
		want string
	}{
		// Newest first, as Mastodon orders them: zed was followed after bob.
		{"follows", "Account address,Show boosts,Notify on new posts,Languages\n" +
			"zed@remote.example,false,false,\n" +
			"bob@" + domain + ",true,true,\"en, de\"\n"},
		{"blocks", "yan@remote.example\n"},
		{"mutes", "Account address,Hide notifications\n" +
			"bob@" + domain + ",false\n" +
			"zed@remote.example,true\n"},
		{"domain_blocks", "noisy.example\n"},
		{"bookmarks", post.URI + "\n"},
		{"lists", "\"Team, core\",bob@" + domain + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := apiGet(t, inst.API("/settings/exports/%s.csv", c.name), alice.Token)
			if res.Code != 200 {
				t.Fatalf("GET %s.csv = %d %s", c.name, res.Code, res.Body)
			}
			if got := string(res.Body); got != c.want {
				t.Errorf("%s.csv =\n%s\nwant\n%s", c.name, got, c.want)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
				t.Errorf("%s.csv Content-Type = %q, want text/csv", c.name, ct)
			}
		})
	}

	// Another person's token exports their own data; no token, or a token without the scope, nothing.
	if res := apiGet(t, inst.API("/settings/exports/blocks.csv"), bob.Token); res.Code != 200 || len(res.Body) != 0 {
		t.Errorf("bob's blocks.csv = %d %q, want 200 and empty", res.Code, res.Body)
	}
	apiGet(t, inst.API("/settings/exports/follows.csv"), "").expectError(t, 401, "")
	apiGet(t, inst.API("/settings/exports/follows.csv"), userToken(t, inst, alice, "read:statuses")).expectError(t, 403, "")
}

// TestCSVExportPagesThroughLongLists exports more follows than one page of the store holds.
func TestCSVExportPagesThroughLongLists(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice := inst.CreateUser(t, "alice")
	others := storeAccounts(t, inst, "colleague", 450)
	for _, a := range others {
		if err := inst.Store.Follow(ctx, alice.Account, a, store.FollowOptions{ShowReblogs: true}); err != nil {
			t.Fatal(err)
		}
	}
	res := apiGet(t, inst.API("/settings/exports/follows.csv"), alice.Token)
	lines := strings.Split(strings.TrimSuffix(string(res.Body), "\n"), "\n")
	if res.Code != 200 || len(lines) != 1+len(others) {
		t.Fatalf("follows.csv = %d with %d lines, want 200 with %d", res.Code, len(lines), 1+len(others))
	}
	seen := map[string]bool{}
	for _, l := range lines[1:] {
		seen[strings.SplitN(l, ",", 2)[0]] = true
	}
	if len(seen) != len(others) {
		t.Errorf("follows.csv names %d distinct accounts, want %d", len(seen), len(others))
	}
}
