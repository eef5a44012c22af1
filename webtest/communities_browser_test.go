package webtest_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"

	"watercooler/community"
	"watercooler/config"
	"watercooler/testrig"
)

// TestWebClientCommunities uses the Communities page from a department that hosts none: carol in
// support finds golang@engineering in the organization's list, joins it, posts to it and sees
// her post in its timeline once the group announced it, then leaves.
func TestWebClientCommunities(t *testing.T) {
	eng := testrig.StartInstance(t)
	support := testrig.StartInstance(t, func(c *config.Config) { c.OrgJoin = eng.URL })
	carol := support.CreateUser(t, "carol")
	if _, _, err := community.Create(context.Background(), eng.Store, eng.URL,
		community.Params{Name: "golang", DisplayName: "Go practitioners", KeyPair: testrig.TestKeyPair}); err != nil {
		t.Fatal(err)
	}
	golang := "golang@" + eng.Config.Domain()
	waitStreaming(t, support)

	u, _ := url.Parse(support.URL)
	b := startBrowser(t, support.URL+"/", eng.URL+"/", "ws://"+u.Host+"/api/v1/streaming")
	b.do("open the client",
		chromedp.Navigate(support.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#account-box [data-sign-in]")),
		chromedp.Click(chromedp.CSS("#account-box [data-sign-in]")))
	b.do("sign in",
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "carol@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), carol.Password),
		chromedp.Click(chromedp.CSS(`button[name="decision"][value="approve"]`)))
	b.waitJS("home after sign-in", `location.pathname === "/web/home"`)

	// The organization's gossip makes eng a member within a few rounds; the page lists what the
	// departments answer when it loads, so reload it until golang shows.
	row := `.communities [data-acct=` + js(golang) + `]`
	testrig.Eventually(t, waitFor, "golang listed on support's Communities page", func() bool {
		b.do("open Communities", chromedp.Navigate(support.URL+"/web/communities"), chromedp.WaitVisible(chromedp.CSS("main h1")))
		return eval[bool](b, "golang row", `!!document.querySelector(`+js(row)+`)`)
	})
	b.shot("communities")
	b.checkAccessibility("the Communities page")

	b.do("open golang", chromedp.Click(chromedp.CSS(row+" a.button")))
	b.waitJS("golang's page with a Join button", `document.querySelector("main .follow-button")?.textContent.startsWith("Join")`)
	b.do("join", chromedp.Click(chromedp.CSS("main .follow-button")))
	b.waitJS("joined", `document.querySelector("main .follow-button")?.dataset.state === "following" && document.querySelector("main .follow-button").textContent.startsWith("Leave")`)

	const tip = "Tip from support: go test -race catches what reviews miss"
	b.do("post to golang",
		chromedp.SendKeys(chromedp.CSS("#community-post"), tip),
		chromedp.Click(chromedp.CSS(`main form button[type=submit]`)))
	testrig.Eventually(t, waitFor, "carol's post in golang's timeline", func() bool {
		b.do("reload golang", chromedp.Navigate(support.URL+"/web/communities/"+url.PathEscape(golang)), chromedp.WaitVisible(chromedp.CSS("main h1")))
		return eval[bool](b, "post shown", `[...document.querySelectorAll("main article.status")].some((a) => a.textContent.includes(`+js(tip)+`))`)
	})
	b.shot("community-timeline")
	b.checkAccessibility("a community's page")

	b.do("leave", chromedp.Click(chromedp.CSS("main .follow-button")))
	b.waitJS("left", `document.querySelector("main .follow-button")?.dataset.state === "none" && document.querySelector("main .follow-button").textContent.startsWith("Join")`)
	b.checkTraffic()
	b.checkNoProblems()
}
