package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/server/mastodon"
	"watercooler/testrig"
)

// TestTrends ranks one department's hashtags, statuses and links from what its people posted,
// boosted and favourited, and checks each endpoint's entity as Mastodon documents it.
func TestTrends(t *testing.T) {
	var pageFetches atomic.Int32
	pages := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageFetches.Add(1)
		switch r.URL.Path {
		case "/guide":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<!doctype html><html lang="en-GB"><head><title>fallback</title>
<meta property="og:title" content="The onboarding guide">
<meta property="og:description" content="Everything a new colleague asks in week one.">
<meta property="og:site_name" content="Handbook">
<meta property="og:image" content="/cover.png"><meta property="og:image:width" content="1200">
</head><body>…</body></html>`)
		case "/plain":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<html><head><title>Just a title</title></head><body></body></html>`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(pages.Close)

	inst := testrig.StartInstance(t)
	alice, bob, carol, dave := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol"), inst.CreateUser(t, "dave")
	ctx := context.Background()
	guide, plain, gone := pages.URL+"/guide", pages.URL+"/plain", pages.URL+"/gone"

	tip := postStatus(t, inst, alice, gomastodon.Toot{Status: "#golang tip: read " + guide + " first", Visibility: "public"})
	postStatus(t, inst, bob, gomastodon.Toot{Status: "agreed, #golang people: " + guide + "#section", Visibility: "public"})
	welcome := postStatus(t, inst, carol, gomastodon.Toot{Status: "#onboarding welcome! see " + plain + " and " + gone, Visibility: "public"})
	warned := postStatus(t, inst, dave, gomastodon.Toot{Status: "#golang spoilers", SpoilerText: "plot", Visibility: "public"})
	quiet := postStatus(t, inst, dave, gomastodon.Toot{Status: "nobody reacted to this", Visibility: "public"})
	postStatus(t, inst, dave, gomastodon.Toot{Status: "#secret between us " + gone, Visibility: "private"})
	reply := postStatus(t, inst, bob, gomastodon.Toot{Status: "a reply", InReplyToID: tip.ID, Visibility: "public"})

	for _, r := range []struct {
		who *testrig.User
		id  gomastodon.ID
	}{{bob, tip.ID}, {carol, tip.ID}, {dave, welcome.ID}, {alice, warned.ID}, {alice, reply.ID}} {
		if _, err := userClient(inst, r.who).Favourite(ctx, r.id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := userClient(inst, dave).Reblog(ctx, tip.ID); err != nil {
		t.Fatal(err)
	}

	t.Run("tags", func(t *testing.T) {
		var tags []struct {
			Name    string `json:"name"`
			URL     string `json:"url"`
			History []struct {
				Day, Uses, Accounts string
			} `json:"history"`
		}
		apiGet(t, inst.API("/api/v1/trends/tags"), "").ok(t, &tags)
		var names []string
		for _, tg := range tags {
			names = append(names, tg.Name)
		}
		if !slices.Equal(names, []string{"golang", "onboarding"}) {
			t.Fatalf("trending tags = %v, want [golang onboarding] (private #secret never counts)", names)
		}
		if h := tags[0].History; len(h) != 7 || h[0].Uses != "3" || h[0].Accounts != "3" || tags[0].URL == "" {
			t.Errorf("golang = %+v, want a week of history with 3 uses by 3 accounts today", tags[0])
		}
		var v1 []mastodon.Tag
		apiGet(t, inst.API("/api/v1/trends?limit=1"), "").ok(t, &v1)
		if len(v1) != 1 || v1[0].Name != "golang" {
			t.Errorf("/api/v1/trends?limit=1 = %+v, want golang alone", v1)
		}
	})

	t.Run("statuses", func(t *testing.T) {
		ids := func(token, query string) []string {
			var sts []mastodon.Status
			apiGet(t, inst.URL+"/api/v1/trends/statuses"+query, token).ok(t, &sts)
			return statusIDs(sts)
		}
		// Replies, posts behind a content warning and posts nobody reacted to stay out.
		want := []string{string(tip.ID), string(welcome.ID)}
		if got := ids("", ""); !slices.Equal(got, want) {
			t.Fatalf("trending statuses = %v, want %v (quiet %s, warned %s, reply %s left out)", got, want, quiet.ID, warned.ID, reply.ID)
		}
		resp := apiGet(t, inst.API("/api/v1/trends/statuses?limit=1"), "")
		if !strings.Contains(mustLinkRel(t, resp.Header.Get("Link"), "next"), "offset=1") {
			t.Errorf("a full page links to offset=1: %q", resp.Header.Get("Link"))
		}
		if got := ids("", "?offset=1"); !slices.Equal(got, want[1:]) {
			t.Errorf("offset=1 = %v, want %v", got, want[1:])
		}
		// The viewer's blocks apply through the one visibility rule.
		if _, err := userClient(inst, carol).AccountBlock(ctx, gomastodon.ID(alice.Account.ID)); err != nil {
			t.Fatal(err)
		}
		if got := ids(carol.Token, ""); slices.Contains(got, string(tip.ID)) {
			t.Errorf("carol blocked alice but sees her post trending: %v", got)
		}
	})

	t.Run("links", func(t *testing.T) {
		var links []struct {
			mastodon.PreviewCard
			History []mastodon.TagHistory `json:"history"`
		}
		resp := apiGet(t, inst.API("/api/v1/trends/links"), "")
		resp.ok(t, &links)
		if len(links) != 2 {
			t.Fatalf("trending links = %s, want the guide then the plain page (the 404 has no card)", resp.Body)
		}
		g := links[0]
		if g.URL != guide || g.Title != "The onboarding guide" || g.ProviderName != "Handbook" || g.Type != "link" ||
			g.Image == nil || *g.Image != pages.URL+"/cover.png" || g.Width != 1200 || g.Language == nil || *g.Language != "en" {
			t.Errorf("guide card = %+v", g.PreviewCard)
		}
		if len(g.History) != 7 || g.History[0].Uses != "2" || g.History[0].Accounts != "2" {
			t.Errorf("guide history = %+v, want 2 uses by 2 accounts today (the #section fragment is the same link)", g.History)
		}
		if p := links[1]; p.URL != plain || p.Title != "Just a title" || p.Image != nil {
			t.Errorf("plain card = %+v, want the page's title and no image", p.PreviewCard)
		}
		var raw []map[string]any
		resp.decode(t, &raw)
		for _, field := range []string{"url", "title", "description", "type", "authors", "author_name", "author_url", "provider_name", "provider_url", "html", "width", "height", "image", "embed_url", "blurhash", "history"} {
			if _, ok := raw[0][field]; !ok {
				t.Errorf("trends link lacks %q: %s", field, resp.Body)
			}
		}
		// Cards are kept: asking again fetches nothing, not even the page that failed.
		before := pageFetches.Load()
		apiGet(t, inst.API("/api/v1/trends/links"), "").ok(t, &links)
		if after := pageFetches.Load(); after != before {
			t.Errorf("a second trends request fetched %d pages again", after-before)
		}
	})
}
