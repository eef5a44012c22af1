package webtest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"watercooler/store"
	"watercooler/testrig"
)

// TestWebClientExplore opens the Explore page of engineering, signed out, after bob in sales
// shared a tip with a link and alice in engineering favourited it: the post, its hashtag and
// the link's preview card are there, each on its tab, from another department's post.
func TestWebClientExplore(t *testing.T) {
	cover, err := os.ReadFile(testPNG(t))
	if err != nil {
		t.Fatal(err)
	}
	pages := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/guide":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>fallback</title>
<meta property="og:title" content="The onboarding guide">
<meta property="og:description" content="Everything a new colleague asks in week one.">
<meta property="og:site_name" content="Handbook">
<meta property="og:image" content="http://%s/cover.png"></head><body></body></html>`, r.Host)
		case "/cover.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(cover)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(pages.Close)

	eng, sales := testrig.StartInstance(t), testrig.StartInstance(t)
	alice, bob := eng.CreateUser(t, "alice"), sales.CreateUser(t, "bob")
	var members []store.OrgMember
	for _, inst := range []*testrig.Instance{eng, sales} {
		members = append(members, store.OrgMember{Host: inst.Config.Domain(), URL: inst.URL, Title: inst.Config.Domain(), Version: time.Now().UnixMilli()})
	}
	for _, inst := range []*testrig.Instance{eng, sales} {
		if _, err := inst.Store.MergeOrgMembers(context.Background(), members); err != nil {
			t.Fatal(err)
		}
	}

	var tip struct{ URI string }
	if code := apiCall(t, "POST", sales.URL+"/api/v1/statuses", bob.Token, map[string]any{
		"status": "#golang tip: read " + pages.URL + "/guide before your first review", "visibility": "public",
	}, &tip); code != http.StatusOK {
		t.Fatalf("bob posts: %d", code)
	}
	var here string // the tip's id in engineering, which got it through the organization
	testrig.Eventually(t, waitFor, "bob's tip in engineering's federated timeline", func() bool {
		var sts []struct{ ID, URI string }
		apiCall(t, "GET", eng.URL+"/api/v1/timelines/public", "", nil, &sts)
		i := slices.IndexFunc(sts, func(s struct{ ID, URI string }) bool { return s.URI == tip.URI })
		if i >= 0 {
			here = sts[i].ID
		}
		return i >= 0
	})
	if code := apiCall(t, "POST", eng.URL+"/api/v1/statuses/"+here+"/favourite", alice.Token, nil, nil); code != http.StatusOK {
		t.Fatalf("alice favourites: %d", code)
	}

	b := startBrowser(t, eng.URL+"/", pages.URL+"/")
	b.do("open Explore", chromedp.Navigate(eng.URL+"/web/explore"))
	b.waitJS("the tip among trending posts", `[...document.querySelectorAll("#main article.status")].some((a) => a.textContent.includes("golang tip"))`)
	if got := eval[string](b, "current nav item", `document.querySelector("#side-nav a[aria-current=page]")?.textContent`); got != "Explore" {
		t.Errorf("current nav item = %q, want Explore", got)
	}
	b.shot("explore-posts")
	b.checkAccessibility("Explore: posts")
	b.noOverflow("Explore: posts")

	b.do("open the hashtags tab", chromedp.Click(chromedp.CSS(`.explore-tabs a[href="/web/explore/tags"]`)))
	b.waitJS("#golang among trending hashtags", `[...document.querySelectorAll(".explore-tag-name")].some((a) => a.textContent === "#golang" && a.getAttribute("href") === "/tags/golang")`)
	if meta := eval[string](b, "tag meta", `document.querySelector(".explore-tag .explore-meta")?.textContent`); !strings.Contains(meta, "1 person today") {
		t.Errorf("#golang reads %q, want it used by 1 person today", meta)
	}
	b.shot("explore-tags")
	b.checkAccessibility("Explore: hashtags")

	b.do("open the links tab", chromedp.Click(chromedp.CSS(`.explore-tabs a[href="/web/explore/links"]`)))
	b.waitJS("the guide's card among trending links", `[...document.querySelectorAll(".explore-link")].some((li) => {
		const a = li.querySelector(".explore-link-title"), img = li.querySelector("img");
		return a && a.textContent === "The onboarding guide" && a.href === `+js(pages.URL+"/guide")+` && img && img.complete && img.naturalWidth > 0;
	})`)
	b.shot("explore-links")
	b.checkAccessibility("Explore: links")
	b.noOverflow("Explore: links")
	b.do("phone viewport", chromedp.EmulateViewport(375, 667, chromedp.EmulateMobile), chromedp.Reload())
	b.waitJS("the links tab at phone width", `!!document.querySelector(".explore-link-title")`)
	b.shot("explore-links-phone")
	b.noOverflow("Explore: links at phone width")
	b.checkTraffic()
	b.checkNoProblems()
}
