package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/config"
	"watercooler/store"
	"watercooler/testrig"
)

// TestInstanceDocuments reads the smaller instance documents that apps show on their "about"
// pages, with the shapes Mastodon gives them.
func TestInstanceDocuments(t *testing.T) {
	inst := testrig.StartInstance(t, func(c *config.Config) {
		c.Title, c.Description, c.PasswordGrant, c.DefaultLanguage = "Engineering", "Builders & <fixers>", true, "sv"
	})
	ctx := context.Background()
	alice := inst.CreateUser(t, "alice")
	bob := inst.CreateUser(t, "bob")
	postStatus(t, inst, alice, gomastodon.Toot{Status: "hello", Visibility: "public"})
	postStatus(t, inst, alice, gomastodon.Toot{Status: "not counted: only public posts are activity", Visibility: "private"})
	if err := inst.Store.BlockDomain(ctx, "spam.example"); err != nil {
		t.Fatal(err)
	}
	// Two sign-ins by alice and one by bob this week: two people.
	app := oaRegister(t, inst, "read", "urn:ietf:wg:oauth:2.0:oob")
	for _, who := range []*testrig.User{alice, alice, bob} {
		oaTokenResponse(t, apiForm(t, http.MethodPost, inst.URL+"/oauth/token", "", url.Values{
			"grant_type": {"password"}, "username": {who.Account.Username}, "password": {who.Password}, "scope": {"read"},
			"client_id": {app.ClientID}, "client_secret": {app.ClientSecret},
		}.Encode()))
	}

	var weeks []map[string]string
	apiGet(t, inst.URL+"/api/v1/instance/activity", "").ok(t, &weeks)
	if len(weeks) != 12 {
		t.Fatalf("activity has %d weeks, want 12", len(weeks))
	}
	this := map[string]string{"statuses": "1", "logins": "2", "registrations": "2"}
	for k, want := range this {
		if weeks[0][k] != want {
			t.Errorf("this week's %s = %q, want %q (%v)", k, weeks[0][k], want, weeks[0])
		}
		if weeks[1][k] != "0" {
			t.Errorf("last week's %s = %q, want 0", k, weeks[1][k])
		}
	}
	start, _ := strconv.ParseInt(weeks[0]["week"], 10, 64)
	if monday := time.Unix(start, 0).UTC(); monday.Weekday() != time.Monday || time.Since(monday) > 7*24*time.Hour || monday.After(time.Now()) {
		t.Errorf("this week starts %v, want the last Monday", monday)
	}

	cases := []struct {
		path string
		code int
		has  []string // substrings of the body
	}{
		{"/api/v1/instance/extended_description", http.StatusOK, []string{`"updated_at":"`, `"content":"\u003cp\u003eBuilders \u0026amp; \u0026lt;fixers\u0026gt;`}},
		{"/api/v1/instance/privacy_policy", http.StatusOK, []string{`"updated_at":"`, "Privacy policy of Engineering"}},
		{"/api/v1/instance/terms_of_service", http.StatusNotFound, []string{`"error":`}},
		{"/api/v1/instance/translation_languages", http.StatusOK, []string{`{}`}},
		{"/api/v1/instance/languages", http.StatusOK, []string{`{"code":"sv","name":"Swedish"}`, `{"code":"en","name":"English"}`}},
		{"/api/v1/instance/domain_blocks", http.StatusOK, []string{`"domain":"spam.example"`, `"severity":"suspend"`, `"digest":"`}},
		{"/api/v1/instance", http.StatusOK, []string{`"languages":["sv"]`}},
		{"/api/v2/instance", http.StatusOK, []string{`"languages":["sv"]`}},
	}
	for _, c := range cases {
		r := apiGet(t, inst.URL+c.path, "")
		if r.Code != c.code {
			t.Errorf("%s: %d %s, want %d", c.path, r.Code, r.Body, c.code)
			continue
		}
		for _, h := range c.has {
			if !strings.Contains(string(r.Body), h) {
				t.Errorf("%s: body lacks %s: %s", c.path, h, r.Body)
			}
		}
	}
}

// TestOEmbed: a local public post's link unfurls; private, remote and unknown links do not.
func TestOEmbed(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	public := postStatus(t, inst, alice, gomastodon.Toot{Status: "Pairing notes <3", Visibility: "public"})
	private := postStatus(t, inst, alice, gomastodon.Toot{Status: "just followers", Visibility: "private"})
	remote := storeStatus(t, inst, remoteAccount(t, inst, "carol", "sales.example"), store.Status{Visibility: store.VisibilityPublic, URI: "https://sales.example/s/1", URL: "https://sales.example/@carol/1"})

	var doc map[string]any
	apiGet(t, inst.URL+"/api/oembed?url="+url.QueryEscape(public.URL), "").ok(t, &doc)
	for k, want := range map[string]any{"type": "rich", "version": "1.0", "author_name": "alice", "provider_url": inst.URL + "/", "width": float64(400)} {
		if doc[k] != want {
			t.Errorf("oembed %s = %#v, want %#v", k, doc[k], want)
		}
	}
	if h, _ := doc["html"].(string); !strings.Contains(h, "Pairing notes &lt;3") || !strings.Contains(h, `href="`+public.URL+`"`) {
		t.Errorf("oembed html = %q", h)
	}
	for name, u := range map[string]string{"private": private.URL, "remote": remote.URL, "unknown": inst.URL + "/@alice/1", "empty": ""} {
		if r := apiGet(t, inst.URL+"/api/oembed?url="+url.QueryEscape(u), ""); r.Code != http.StatusNotFound {
			t.Errorf("oembed of a %s post: %d %s, want 404", name, r.Code, r.Body)
		}
	}
}
