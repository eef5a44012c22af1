package main

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"
	"github.com/oauth2-proxy/mockoidc"
)

// TestServeSignsInThroughOIDC runs serve configured only by the OIDC settings, with password
// sign-in off, against a real OpenID provider, and signs a go-mastodon client in through it.
func TestServeSignsInThroughOIDC(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	_, prefix := adminRunner(t)
	env := map[string]string{
		"WATERCOOLER_OIDC_ISSUER": m.Issuer(), "WATERCOOLER_OIDC_CLIENT_ID": m.ClientID,
		"WATERCOOLER_OIDC_CLIENT_SECRET": m.ClientSecret, "WATERCOOLER_OIDC_NAME": "Corp ID",
		"WATERCOOLER_OIDC_ALLOWED_GROUPS": "engineering", "WATERCOOLER_PASSWORD_SIGN_IN": "false",
	}
	base := startServe(t, prefix, env)
	ctx := context.Background()

	app, err := gomastodon.RegisterApp(ctx, &gomastodon.AppConfig{Server: base, ClientName: "sso test", Scopes: "read write", RedirectURIs: "urn:ietf:wg:oauth:2.0:oob"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(app.AuthURI)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(page), `type="password"`) {
		t.Fatalf("password form shown with password sign-in off: %s", page)
	}
	m.QueueUser(&mockoidc.MockUser{Subject: "s-1", PreferredUsername: "dana.s", Email: "dana@corp.example", Groups: []string{"engineering"}})
	me := signInWithOIDC(t, base, app, "Corp ID")
	if me.Username != "dana_s" {
		t.Fatalf("signed in as %+v, want dana_s", me)
	}
}

// signInWithOIDC signs in to the app through the instance's "Sign in with <provider>" button
// like a browser, and returns the account the code's token belongs to.
func signInWithOIDC(t *testing.T, base string, app *gomastodon.Application, provider string) *gomastodon.Account {
	t.Helper()
	ctx := context.Background()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) (*http.Response, string) {
		t.Helper()
		resp, err := browser.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	resp, page := get(app.AuthURI)
	if resp.StatusCode != 200 || !strings.Contains(page, "Sign in with "+provider) {
		t.Fatalf("authorize page %d: %s", resp.StatusCode, page)
	}
	form := url.Values{}
	for _, f := range hiddenInput.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	resp, err := browser.PostForm(base+"/oauth/oidc", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("start = %d", resp.StatusCode)
	}
	resp, _ = get(resp.Header.Get("Location"))
	resp, page = get(resp.Header.Get("Location"))
	code := shownCode.FindStringSubmatch(page)
	if resp.StatusCode != 200 || code == nil {
		t.Fatalf("callback = %d without a code: %s", resp.StatusCode, page)
	}
	c := gomastodon.NewClient(&gomastodon.Config{Server: base, ClientID: app.ClientID, ClientSecret: app.ClientSecret})
	if err := c.AuthenticateToken(ctx, strings.TrimSpace(code[1]), "urn:ietf:wg:oauth:2.0:oob"); err != nil {
		t.Fatalf("exchange code: %v", err)
	}
	me, err := c.GetAccountCurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return me
}
