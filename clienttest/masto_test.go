// Package clienttest drives an instance with masto.js, the client library Elk and Phanpy are
// built on, through the calls those apps make on their first screens (firstscreens.mjs).
package clienttest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/community"
	"watercooler/store"
	"watercooler/testrig"
)

// TestFirstScreensWithMastoJS seeds a department the way people would use it (follows, a post
// favourited by two colleagues, a direct message, a filter, an announcement, a read marker)
// and runs firstscreens.mjs against it as alice.
func TestFirstScreensWithMastoJS(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not on PATH: scripts/test installs Node.js and npm (apt-get install nodejs npm)")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "masto", "package.json")); err != nil {
		t.Fatal("masto.js is not installed: run `npm ci` in clienttest/ (scripts/test does)")
	}
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	for _, f := range [][2]*testrig.User{{bob, alice}, {carol, alice}, {alice, bob}} {
		if err := inst.Store.Follow(ctx, f[0].Account, f[1].Account, store.FollowOptions{ShowReblogs: true}); err != nil {
			t.Fatal(err)
		}
	}
	client := func(u *testrig.User) *gomastodon.Client {
		return gomastodon.NewClient(&gomastodon.Config{Server: inst.URL, AccessToken: u.Token})
	}
	post := func(u *testrig.User, toot gomastodon.Toot) *gomastodon.Status {
		t.Helper()
		st, err := client(u).PostStatus(ctx, &toot)
		if err != nil {
			t.Fatalf("post %q: %v", toot.Status, err)
		}
		return st
	}
	bobPost := post(bob, gomastodon.Toot{Status: "Morning! Notes from the retro are in the wiki.", Visibility: "public"})
	tip := post(alice, gomastodon.Toot{Status: "#golang tip: run the race detector in CI", Visibility: "public"})
	for _, u := range []*testrig.User{bob, carol} {
		if _, err := client(u).Favourite(ctx, tip.ID); err != nil {
			t.Fatal(err)
		}
	}
	dm := post(bob, gomastodon.Toot{Status: "@alice lunch at noon?", Visibility: "direct"})

	// The marker sits on the oldest notification, so the later ones are unread.
	notes, err := client(alice).GetNotifications(ctx, nil)
	if err != nil || len(notes) == 0 {
		t.Fatalf("alice's notifications: %v, %v", notes, err)
	}
	oldest := string(notes[len(notes)-1].ID)
	if _, err := inst.Store.SaveMarkers(ctx, alice.Account.ID, map[string]string{"notifications": oldest}); err != nil {
		t.Fatal(err)
	}
	postJSON(t, inst.URL+"/api/v2/filters", alice.Token, map[string]any{
		"title": "Spoilers", "context": []string{"home", "public"}, "filter_action": "warn",
		"keywords_attributes": []map[string]any{{"keyword": "finale", "whole_word": true}},
	})
	if _, _, err := community.Create(ctx, inst.Store, inst.URL, community.Params{Name: "golang", DisplayName: "Go practitioners", KeyPair: testrig.TestKeyPair}); err != nil {
		t.Fatal(err)
	}
	announcement := "Welcome to the engineering department's Watercooler"
	createAnnouncement(t, inst, announcement)

	expect, _ := json.Marshal(map[string]string{
		"tipID": string(tip.ID), "bobPostID": string(bobPost.ID), "dmID": string(dm.ID), "bobID": bob.Account.ID,
		"filterTitle": "Spoilers", "filterKeyword": "finale", "announcement": announcement,
		"notificationsMarker": oldest,
	})
	runCtx, cancel := context.WithTimeout(ctx, 5*time.Minute) // bounds a hang, not a speed target
	defer cancel()
	cmd := exec.CommandContext(runCtx, node, "firstscreens.mjs")
	cmd.Env = append(os.Environ(), "WC_URL="+inst.URL, "WC_TOKEN="+alice.Token, "WC_BOB_TOKEN="+bob.Token, "WC_CAROL_TOKEN="+carol.Token, "WC_EXPECT="+string(expect))
	out, err := cmd.CombinedOutput()
	t.Logf("firstscreens.mjs:\n%s", out)
	if err != nil {
		var failed []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "FAIL") {
				failed = append(failed, l)
			}
		}
		t.Fatalf("masto.js walk failed (%v):\n%s", err, strings.Join(failed, "\n"))
	}
}

// postJSON sends a client API request with a JSON body and fails the test unless it is 200.
func postJSON(t *testing.T, url, token string, body any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, msg)
	}
}

// createAnnouncement publishes an announcement as the admin command does.
func createAnnouncement(t *testing.T, inst *testrig.Instance, text string) {
	t.Helper()
	if err := inst.Store.CreateAnnouncement(context.Background(), &store.Announcement{Text: text, Content: "<p>" + text + "</p>"}); err != nil {
		t.Fatal(err)
	}
}
