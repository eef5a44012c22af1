package server_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/config"
	"watercooler/signup"
	"watercooler/store"
	"watercooler/testrig"
)

func TestInstanceV1(t *testing.T) {
	inst := testrig.StartInstance(t, func(c *config.Config) { c.ContactEmail = "admin@corp.example"; c.Title = "Engineering" })
	boss := inst.CreateUser(t, "boss", func(p *signup.Params) { p.Admin = true })
	alice := inst.CreateUser(t, "alice")
	storeStatus(t, inst, alice.Account, store.Status{Visibility: store.VisibilityPublic})
	storeStatus(t, inst, alice.Account, store.Status{Visibility: store.VisibilityPrivate})
	storeStatus(t, inst, boss.Account, store.Status{Visibility: store.VisibilityPublic})
	remoteAccount(t, inst, "carol", "sales.example")
	remoteAccount(t, inst, "dave", "sales.example")
	remoteAccount(t, inst, "erin", "hr.example")

	r := apiGet(t, inst.URL+"/api/v1/instance", "")
	if r.Code != http.StatusOK {
		t.Fatalf("instance: %d %s", r.Code, r.Body)
	}
	var doc map[string]any
	r.decode(t, &doc)
	want := map[string]any{
		"uri": inst.Config.Domain(), "title": "Engineering", "email": "admin@corp.example",
		"version": "4.3.0 (compatible; Watercooler 0.1)", "registrations": false, "approval_required": false, "invites_enabled": false,
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %#v, want %#v", k, doc[k], v)
		}
	}
	checks := []struct {
		path []string
		want any
	}{
		{[]string{"urls", "streaming_api"}, "ws://" + inst.Config.Domain()},
		{[]string{"stats", "user_count"}, float64(2)},
		{[]string{"stats", "status_count"}, float64(3)},
		{[]string{"stats", "domain_count"}, float64(2)},
		{[]string{"configuration", "statuses", "max_characters"}, float64(500)},
		{[]string{"configuration", "statuses", "max_media_attachments"}, float64(4)},
		{[]string{"configuration", "statuses", "characters_reserved_per_url"}, float64(23)},
		{[]string{"configuration", "media_attachments", "image_size_limit"}, float64(16777216)},
		{[]string{"configuration", "media_attachments", "image_matrix_limit"}, float64(33177600)},
		{[]string{"configuration", "media_attachments", "video_size_limit"}, float64(0)},
		{[]string{"configuration", "accounts", "max_featured_tags"}, float64(10)},
		{[]string{"configuration", "polls", "max_options"}, float64(4)},
		{[]string{"contact_account", "username"}, "boss"},
	}
	for _, c := range checks {
		if got := jsonPath(doc, c.path...); got != c.want {
			t.Errorf("%s = %#v, want %#v", strings.Join(c.path, "."), got, c.want)
		}
	}
	types, _ := jsonPath(doc, "configuration", "media_attachments", "supported_mime_types").([]any)
	for _, mt := range []string{"image/jpeg", "image/png", "image/gif", "image/webp"} {
		if !slices.Contains(types, any(mt)) {
			t.Errorf("supported_mime_types %v lacks %s", types, mt)
		}
	}
	if s, _ := doc["thumbnail"].(string); !strings.HasPrefix(s, inst.URL) {
		t.Errorf("thumbnail %#v", doc["thumbnail"])
	}
	if rules, ok := doc["rules"].([]any); !ok || len(rules) != 0 {
		t.Errorf("rules %#v, want []", doc["rules"])
	}
	if langs, _ := doc["languages"].([]any); len(langs) != 1 || langs[0] != "en" {
		t.Errorf("languages %#v", doc["languages"])
	}

	// What a Mastodon client library reads.
	c := gomastodon.NewClient(&gomastodon.Config{Server: inst.URL})
	gi, err := c.GetInstance(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if gi.URI != inst.Config.Domain() || gi.Stats == nil || gi.Stats.UserCount != 2 || gi.ContactAccount == nil || gi.ContactAccount.Username != "boss" ||
		gi.Configuration == nil || (*gi.Configuration.Statuses)["max_characters"] != float64(500) || gi.URLs["streaming_api"] == "" {
		t.Errorf("go-mastodon instance %+v", gi)
	}
	peers, err := c.GetInstancePeers(context.Background())
	if err != nil || !slices.Equal(peers, []string{"hr.example", "sales.example"}) {
		t.Errorf("peers %v, %v", peers, err)
	}
}

func TestInstanceV2(t *testing.T) {
	inst := testrig.StartInstance(t, func(c *config.Config) {
		c.OpenRegistrations = true
		c.URL = strings.Replace(c.URL, "http://", "https://", 1) // the public URL, behind a TLS proxy
	})
	alice := inst.CreateUser(t, "alice")
	inst.CreateUser(t, "bob")
	storeStatus(t, inst, alice.Account, store.Status{Visibility: store.VisibilityPublic})

	// The instance listens on plain HTTP; its configured URL is https.
	base := "http://" + inst.Config.Listen
	r := apiGet(t, base+"/api/v2/instance", "")
	if r.Code != http.StatusOK {
		t.Fatalf("instance v2: %d %s", r.Code, r.Body)
	}
	var doc map[string]any
	r.decode(t, &doc)
	checks := []struct {
		path []string
		want any
	}{
		{[]string{"domain"}, inst.Config.Domain()},
		{[]string{"title"}, "Watercooler"},
		{[]string{"version"}, "4.3.0 (compatible; Watercooler 0.1)"},
		{[]string{"usage", "users", "active_month"}, float64(1)},
		{[]string{"configuration", "urls", "streaming"}, "wss://" + inst.Config.Domain()},
		{[]string{"configuration", "vapid", "public_key"}, inst.Push.PublicKey()},
		{[]string{"configuration", "statuses", "max_characters"}, float64(500)},
		{[]string{"configuration", "media_attachments", "image_size_limit"}, float64(16777216)},
		{[]string{"configuration", "media_attachments", "description_limit"}, float64(1500)},
		{[]string{"configuration", "polls", "max_expiration"}, float64(2629746)},
		{[]string{"configuration", "translation", "enabled"}, false},
		{[]string{"registrations", "enabled"}, true},
		{[]string{"registrations", "approval_required"}, false},
		{[]string{"registrations", "message"}, nil},
		{[]string{"contact", "account"}, nil}, // no admin
		{[]string{"api_versions", "mastodon"}, float64(2)},
	}
	for _, c := range checks {
		if got := jsonPath(doc, c.path...); got != c.want {
			t.Errorf("%s = %#v, want %#v", strings.Join(c.path, "."), got, c.want)
		}
	}
	if u, _ := jsonPath(doc, "thumbnail", "url").(string); !strings.HasPrefix(u, "https://") {
		t.Errorf("thumbnail.url %#v", jsonPath(doc, "thumbnail", "url"))
	}
	for _, key := range []string{"source_url", "description"} {
		if _, ok := doc[key].(string); !ok {
			t.Errorf("%s = %#v, want a string", key, doc[key])
		}
	}
	if rules, ok := doc["rules"].([]any); !ok || len(rules) != 0 {
		t.Errorf("rules %#v, want []", doc["rules"])
	}

	for _, path := range []string{"/api/v1/instance/rules", "/api/v1/custom_emojis", "/api/v1/instance/peers"} {
		if r := apiGet(t, base+path, ""); r.Code != http.StatusOK || strings.TrimSpace(string(r.Body)) != "[]" {
			t.Errorf("%s: %d %s, want []", path, r.Code, r.Body)
		}
	}
	// A presented but invalid token is refused even here, as Mastodon does.
	apiGet(t, base+"/api/v2/instance", "bogus").expectError(t, http.StatusUnauthorized, "The access token is invalid")
}
