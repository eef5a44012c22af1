package main

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/config"
	"watercooler/testrig"
)

// startServe runs the serve command on a free port against the test Redis, with the given key
// prefix and environment, until the test ends.
func startServe(t *testing.T, prefix string, env map[string]string) string {
	t.Helper()
	return startServeOn(t, config.TestRedisURL(), prefix, env, io.Discard)
}

// startServeOn is startServe on the Redis at redisURL, writing its log to stderr when the
// environment asks for JSON logs (and to nowhere otherwise).
func startServeOn(t *testing.T, redisURL, prefix string, env map[string]string, stderr io.Writer) string {
	t.Helper()
	addr := freeAddr(t, "127.0.0.1")
	base := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", addr, "--url", base, "--redis", redisURL, "--redis-prefix", prefix, "--media-dir", t.TempDir()},
			func(k string) string { return env[k] }, io.Discard, stderr, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v after shutdown", err)
		}
	})
	testrig.Eventually(t, time.Minute, "serve answers", func() bool {
		resp, err := http.Get(base + "/api/v1/instance")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	return base
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
var shownCode = regexp.MustCompile(`<code id="code"[^>]*>([^<]+)</code>`)

// signIn drives the instance's OAuth sign-in page like a browser and returns the code the
// out-of-band page shows.
func signIn(t *testing.T, authURL, login, password string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d: %s", authURL, resp.StatusCode, page)
	}
	form := url.Values{"login": {login}, "password": {password}, "decision": {"approve"}}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(page), -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	u, _ := url.Parse(authURL)
	resp, err = browser.PostForm(u.Scheme+"://"+u.Host+"/oauth/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	m := shownCode.FindStringSubmatch(string(page))
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("sign-in = %d without a code: %s", resp.StatusCode, page)
	}
	return strings.TrimSpace(m[1])
}

// TestClientFlowAgainstServe is the flow a Mastodon client performs, through the go-mastodon
// library, against the serve command on a real Redis: register, sign in on the HTML page, post,
// read timelines page by page, follow, boost, favourite, bookmark, get notified, use lists,
// search, delete.
func TestClientFlowAgainstServe(t *testing.T) {
	admin, prefix := adminRunner(t)
	for _, u := range []string{"alice", "bob"} {
		if _, err := admin("user", "create", "--username", u, "--email", u+"@corp.example", "--password", "correct horse "+u); err != nil {
			t.Fatal(err)
		}
	}
	base := startServe(t, prefix, nil)
	ctx := context.Background()

	login := func(user string) *gomastodon.Client {
		app, err := gomastodon.RegisterApp(ctx, &gomastodon.AppConfig{Server: base, ClientName: "flow test", Scopes: "read write follow push", RedirectURIs: "urn:ietf:wg:oauth:2.0:oob"})
		if err != nil {
			t.Fatalf("register app: %v", err)
		}
		code := signIn(t, app.AuthURI, user+"@corp.example", "correct horse "+user)
		c := gomastodon.NewClient(&gomastodon.Config{Server: base, ClientID: app.ClientID, ClientSecret: app.ClientSecret})
		if err := c.AuthenticateToken(ctx, code, "urn:ietf:wg:oauth:2.0:oob"); err != nil {
			t.Fatalf("exchange code: %v", err)
		}
		me, err := c.GetAccountCurrentUser(ctx)
		if err != nil || me.Username != user {
			t.Fatalf("signed in as %v (%v), want %s", me, err, user)
		}
		return c
	}
	alice, bob := login("alice"), login("bob")
	bobAcct, err := bob.GetAccountCurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.AccountFollow(ctx, bobAcct.ID); err != nil {
		t.Fatalf("follow: %v", err)
	}

	var posted []gomastodon.ID
	for _, text := range []string{"first #golang tip", "second #golang tip", "third #golang tip"} {
		st, err := bob.PostStatus(ctx, &gomastodon.Toot{Status: text, Visibility: "public"})
		if err != nil {
			t.Fatalf("post: %v", err)
		}
		posted = append(posted, st.ID)
	}
	// Home and hashtag timelines, two at a time, following the pagination to the end.
	for name, read := range map[string]func(*gomastodon.Pagination) ([]*gomastodon.Status, error){
		"home": func(pg *gomastodon.Pagination) ([]*gomastodon.Status, error) { return alice.GetTimelineHome(ctx, pg) },
		"tag": func(pg *gomastodon.Pagination) ([]*gomastodon.Status, error) {
			return alice.GetTimelineHashtag(ctx, "golang", false, pg)
		},
		"public": func(pg *gomastodon.Pagination) ([]*gomastodon.Status, error) {
			return alice.GetTimelinePublic(ctx, true, pg)
		},
	} {
		var seen []gomastodon.ID
		pg := &gomastodon.Pagination{Limit: 2}
		for page := 0; page < 5; page++ {
			sts, err := read(pg)
			if err != nil {
				t.Fatalf("%s timeline: %v", name, err)
			}
			for _, s := range sts {
				seen = append(seen, s.ID)
			}
			if pg.MaxID == "" || len(sts) == 0 {
				break
			}
			pg = &gomastodon.Pagination{MaxID: pg.MaxID, Limit: 2}
		}
		if len(seen) != 3 || seen[0] != posted[2] || seen[2] != posted[0] {
			t.Fatalf("%s timeline pages = %v, want %v newest first", name, seen, posted)
		}
	}

	newest := posted[2]
	if _, err := alice.Reblog(ctx, newest); err != nil {
		t.Fatalf("boost: %v", err)
	}
	if _, err := alice.Favourite(ctx, newest); err != nil {
		t.Fatalf("favourite: %v", err)
	}
	if _, err := alice.Bookmark(ctx, newest); err != nil {
		t.Fatalf("bookmark: %v", err)
	}
	st, err := alice.GetStatus(ctx, newest)
	if err != nil || !st.Favourited.(bool) || !st.Reblogged.(bool) || !st.Bookmarked.(bool) || st.FavouritesCount != 1 || st.ReblogsCount != 1 {
		t.Fatalf("status after actions = %+v (%v), want favourited, reblogged, bookmarked once", st, err)
	}
	bookmarks, err := alice.GetBookmarks(ctx, nil)
	if err != nil || len(bookmarks) != 1 || bookmarks[0].ID != newest {
		t.Fatalf("bookmarks = %v (%v), want the bookmarked status", bookmarks, err)
	}
	notes, err := bob.GetNotifications(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, n := range notes {
		types[n.Type] = true
	}
	for _, want := range []string{"follow", "reblog", "favourite"} {
		if !types[want] {
			t.Fatalf("bob's notifications %v lack %s", types, want)
		}
	}

	list, err := alice.CreateList(ctx, "Platform people")
	if err != nil {
		t.Fatalf("create list: %v", err)
	}
	if err := alice.AddToList(ctx, list.ID, bobAcct.ID); err != nil {
		t.Fatalf("add to list: %v", err)
	}
	if _, err := bob.PostStatus(ctx, &gomastodon.Toot{Status: "for the list", Visibility: "public"}); err != nil {
		t.Fatal(err)
	}
	inList, err := alice.GetTimelineList(ctx, list.ID, nil)
	if err != nil || len(inList) == 0 || !strings.Contains(inList[0].Content, "for the list") {
		t.Fatalf("list timeline = %v (%v), want bob's new post first", inList, err)
	}

	found, err := alice.Search(ctx, "bo", false)
	if err != nil || len(found.Accounts) != 1 || found.Accounts[0].ID != bobAcct.ID {
		t.Fatalf("search = %+v (%v), want bob", found, err)
	}

	if err := bob.DeleteStatus(ctx, posted[0]); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := alice.GetStatus(ctx, posted[0]); err == nil {
		t.Fatal("deleted status still readable")
	}
}
