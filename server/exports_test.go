package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"slices"
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

// TestArchiveExport reads the archive back: the actor, every post (a direct one and a boost too)
// as its outbox activity, likes and bookmarks by URI, and the attachment's file.
func TestArchiveExport(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice := inst.CreateUser(t, "alice")
	bob := inst.CreateUser(t, "bob")
	client := userClient(inst, alice)

	png := pngBytes(t, 16, 12)
	att, err := client.UploadMediaFromBytes(ctx, png)
	if err != nil {
		t.Fatal(err)
	}
	withImage := postStatus(t, inst, alice, gomastodon.Toot{Status: "a picture", MediaIDs: []gomastodon.ID{att.ID}})
	direct := postStatus(t, inst, alice, gomastodon.Toot{Status: "@bob only for you", Visibility: "direct"})
	bobs := postStatus(t, inst, bob, gomastodon.Toot{Status: "from bob"})
	if _, err := client.Reblog(ctx, bobs.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Favourite(ctx, bobs.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Bookmark(ctx, withImage.ID); err != nil {
		t.Fatal(err)
	}

	res := apiGet(t, inst.API("/settings/exports/archive.zip"), alice.Token)
	if res.Code != 200 || res.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("archive.zip = %d %s", res.Code, res.Header.Get("Content-Type"))
	}
	zr, err := zip.NewReader(bytes.NewReader(res.Body), int64(len(res.Body)))
	if err != nil {
		t.Fatalf("archive is not a zip: %v", err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = b
	}
	doc := func(name string) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(files[name], &m); err != nil {
			t.Fatalf("%s: %v in %q", name, err, files[name])
		}
		return m
	}

	if actor := doc("actor.json"); actor["id"] != alice.Account.URI || actor["type"] != "Person" {
		t.Errorf("actor.json id %v type %v, want %s Person", actor["id"], actor["type"], alice.Account.URI)
	}
	outbox := doc("outbox.json")
	items, _ := outbox["orderedItems"].([]any)
	if outbox["type"] != "OrderedCollection" || outbox["totalItems"] != float64(3) || len(items) != 3 {
		t.Fatalf("outbox.json = %v with %d items, want an OrderedCollection of 3", outbox["type"], len(items))
	}
	var got []string
	for _, it := range items {
		act := it.(map[string]any)
		obj := act["object"]
		if m, ok := obj.(map[string]any); ok {
			obj = m["id"]
		}
		got = append(got, act["type"].(string)+" "+obj.(string))
	}
	// Newest first: the boost, the direct message, the post with the picture.
	want := []string{"Announce " + bobs.URI, "Create " + direct.URI, "Create " + withImage.URI}
	if !slices.Equal(got, want) {
		t.Errorf("outbox items = %q, want %q", got, want)
	}
	for name, uri := range map[string]string{"likes.json": bobs.URI, "bookmarks.json": withImage.URI} {
		if items := doc(name)["orderedItems"].([]any); len(items) != 1 || items[0] != uri {
			t.Errorf("%s items = %v, want [%s]", name, items, uri)
		}
	}
	rel := strings.TrimPrefix(att.URL, inst.URL+"/media/")
	stored, ok := files["media_attachments/"+rel]
	if !ok || len(stored) == 0 {
		t.Fatalf("no media_attachments/%s in the archive (files: %v)", rel, slices.Sorted(maps.Keys(files)))
	}
	if !strings.Contains(string(files["outbox.json"]), att.URL) {
		t.Errorf("outbox.json does not name the attachment %s", att.URL)
	}

	// Only a token that may read everything gets it.
	apiGet(t, inst.API("/settings/exports/archive.zip"), userToken(t, inst, alice, "read:statuses")).expectError(t, 403, "")
}
