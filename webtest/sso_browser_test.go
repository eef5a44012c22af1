package webtest_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"

	"watercooler/config"
	"watercooler/testrig"
)

// TestWebClientSignsInWithOIDC: a person opens the web client, picks "Sign in with Corp ID"
// on the instance's OAuth page, passes the organization's provider, and lands on their home
// timeline under the account the first sign-in created; the page has no password form.
func TestWebClientSignsInWithOIDC(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	eng := testrig.StartInstance(t, func(c *config.Config) {
		c.OIDC = config.OIDC{Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret, Name: "Corp ID", GroupsClaim: "groups"}
		c.PasswordSignIn = false
	})
	m.QueueUser(&mockoidc.MockUser{Subject: "dana-1", PreferredUsername: "dana", Email: "dana@corp.example", Groups: []string{"engineering"}})

	b := startBrowser(t, eng.URL+"/", "ws"+strings.TrimPrefix(eng.URL, "http")+"/api/v1/streaming", m.Addr()+"/")
	b.do("open the client",
		chromedp.Navigate(eng.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#account-box [data-sign-in]")))
	b.do("start sign-in", chromedp.Click(chromedp.CSS("#account-box [data-sign-in]")))
	b.do("see the provider's button", chromedp.WaitVisible(chromedp.CSS("#sso button")))
	b.shot("oauth-page-sso")
	if n := eval[int](b, "password fields", `document.querySelectorAll("input[type=password]").length`); n != 0 {
		t.Fatalf("%d password fields with password sign-in off", n)
	}
	if got := eval[string](b, "button", `document.querySelector("#sso button").textContent.trim()`); got != "Sign in with Corp ID" {
		t.Fatalf("button says %q", got)
	}
	b.do("sign in with the provider", chromedp.Click(chromedp.CSS("#sso button")))
	b.waitJS("home timeline after sign-in", `location.pathname === "/web/home" && document.querySelector("main h1")?.textContent === "Home"`)
	if got := eval[string](b, "signed-in account", `document.querySelector("#account-box .acct")?.textContent.trim()`); got != "@dana" {
		t.Fatalf("account box shows %q, want @dana", got)
	}
	b.shot("signed-in-sso")
	b.checkTraffic()
	b.checkNoProblems()
}
