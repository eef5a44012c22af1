package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"
	"golang.org/x/net/html"

	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/testrig"
)

// oaBrowser is a client that keeps cookies and stops at redirects, like a browser whose
// redirects the test inspects.
func oaBrowser(t testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// oaPage is a parsed HTML page: its form fields and the text of its elements with an id.
type oaPage struct {
	Fields map[string]string
	ByID   map[string]string
	Action string
}

func oaParsePage(t testing.TB, body []byte) oaPage {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing HTML: %v", err)
	}
	p := oaPage{Fields: map[string]string{}, ByID: map[string]string{}}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attrs := map[string]string{}
			for _, a := range n.Attr {
				attrs[a.Key] = a.Val
			}
			if n.Data == "input" && attrs["type"] == "hidden" {
				p.Fields[attrs["name"]] = attrs["value"]
			}
			if n.Data == "form" {
				p.Action = attrs["action"]
			}
			if id := attrs["id"]; id != "" {
				var text strings.Builder
				var collect func(*html.Node)
				collect = func(c *html.Node) {
					if c.Type == html.TextNode {
						text.WriteString(c.Data)
					}
					for k := c.FirstChild; k != nil; k = k.NextSibling {
						collect(k)
					}
				}
				collect(n)
				p.ByID[id] = strings.TrimSpace(text.String())
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return p
}

// oaPKCE returns a fresh code verifier and its S256 challenge.
func oaPKCE() (verifier, challenge string) {
	verifier = store.RandomToken(32)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func oaRegister(t testing.TB, inst *testrig.Instance, scopes, redirect string) *gomastodon.Application {
	t.Helper()
	app, err := gomastodon.RegisterApp(context.Background(), &gomastodon.AppConfig{
		Server: inst.URL, ClientName: "Test Client", Scopes: scopes, RedirectURIs: redirect, Website: "https://client.example",
	})
	if err != nil {
		t.Fatalf("register app: %v", err)
	}
	return app
}

// oaAuthorizeQuery builds the query of an authorization request.
func oaAuthorizeQuery(app *gomastodon.Application, redirect, scope, state, challenge string) url.Values {
	q := url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {redirect}, "scope": {scope}, "state": {state}}
	if challenge != "" {
		q.Set("code_challenge", challenge)
		q.Set("code_challenge_method", "S256")
	}
	return q
}

// oaOpenForm loads the authorize page in browser and returns its form fields.
func oaOpenForm(t testing.TB, inst *testrig.Instance, browser *http.Client, q url.Values) url.Values {
	t.Helper()
	r := apiSend(t, browser, newAPIRequest(t, http.MethodGet, inst.URL+"/oauth/authorize?"+q.Encode(), "", "", ""))
	if r.Code != http.StatusOK {
		t.Fatalf("authorize page: %d %s", r.Code, r.Body)
	}
	page := oaParsePage(t, r.Body)
	if page.Action != "/oauth/authorize" || page.Fields["authenticity_token"] == "" {
		t.Fatalf("authorize page has no usable form: %+v", page)
	}
	form := url.Values{}
	for k, v := range page.Fields {
		form.Set(k, v)
	}
	return form
}

// oaSubmit posts the authorize form like the browser does.
func oaSubmit(t testing.TB, inst *testrig.Instance, browser *http.Client, form url.Values) apiResponse {
	t.Helper()
	return apiSend(t, browser, newAPIRequest(t, http.MethodPost, inst.URL+"/oauth/authorize", "", formType, form.Encode()))
}

// oaSignIn runs the browser part of the flow and returns the authorization code, read from
// the out-of-band page or from the redirect.
func oaSignIn(t testing.TB, inst *testrig.Instance, q url.Values, login, password string) string {
	t.Helper()
	browser := oaBrowser(t)
	form := oaOpenForm(t, inst, browser, q)
	form.Set("login", login)
	form.Set("password", password)
	form.Set("decision", "approve")
	r := oaSubmit(t, inst, browser, form)
	if q.Get("redirect_uri") == "urn:ietf:wg:oauth:2.0:oob" {
		if r.Code != http.StatusOK {
			t.Fatalf("sign-in: %d %s", r.Code, r.Body)
		}
		code := oaParsePage(t, r.Body).ByID["code"]
		if code == "" {
			t.Fatalf("no code on the out-of-band page: %s", r.Body)
		}
		return code
	}
	if r.Code != http.StatusFound {
		t.Fatalf("sign-in: %d %s", r.Code, r.Body)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("redirect without a code: %q", r.Header.Get("Location"))
	}
	if loc.Query().Get("state") != q.Get("state") {
		t.Fatalf("state %q, want %q", loc.Query().Get("state"), q.Get("state"))
	}
	return loc.Query().Get("code")
}

func oaTokenResponse(t testing.TB, r apiResponse) mastodon.Token {
	t.Helper()
	if r.Code != http.StatusOK {
		t.Fatalf("token: %d %s", r.Code, r.Body)
	}
	var tok mastodon.Token
	r.decode(t, &tok)
	if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.CreatedAt == 0 {
		t.Fatalf("token response %s", r.Body)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("token response Cache-Control %q, want no-store", r.Header.Get("Cache-Control"))
	}
	return tok
}

func TestOAuthAuthorizationCodeFlow(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	ctx := context.Background()
	const oob = "urn:ietf:wg:oauth:2.0:oob"
	app := oaRegister(t, inst, "read write follow", oob)
	if app.ClientID == "" || app.ClientSecret == "" || app.RedirectURI != oob {
		t.Fatalf("registered app %+v", app)
	}

	// The page names the app and its scopes and is protected against framing and sniffing.
	verifier, challenge := oaPKCE()
	q := oaAuthorizeQuery(app, oob, "read write", "xyz", challenge)
	browser := oaBrowser(t)
	r := apiSend(t, browser, newAPIRequest(t, http.MethodGet, inst.URL+"/oauth/authorize?"+q.Encode(), "", "", ""))
	if r.Code != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("authorize page: %d %s", r.Code, r.Header.Get("Content-Type"))
	}
	for _, want := range []string{"Test Client", "read", "write", `for="login"`, `for="password"`, `autocomplete="current-password"`} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("authorize page lacks %q", want)
		}
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if r.Header.Get("X-Frame-Options") != "DENY" {
		t.Error("authorize page can be framed")
	}
	page := oaParsePage(t, r.Body)
	for k, want := range map[string]string{"client_id": app.ClientID, "redirect_uri": oob, "scope": "read write", "state": "xyz", "code_challenge": challenge, "code_challenge_method": "S256"} {
		if page.Fields[k] != want {
			t.Errorf("hidden field %s = %q, want %q", k, page.Fields[k], want)
		}
	}

	// Out-of-band: the code is shown; exchanged as a form with PKCE.
	code := oaSignIn(t, inst, q, "alice", alice.Password)
	tok := oaTokenResponse(t, apiForm(t, http.MethodPost, inst.URL+"/oauth/token", "", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {oob},
		"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "code_verifier": {verifier},
	}.Encode()))
	if tok.Scope != "read write" {
		t.Errorf("scope %q, want the requested %q", tok.Scope, "read write")
	}
	c := gomastodon.NewClient(&gomastodon.Config{Server: inst.URL, AccessToken: tok.AccessToken})
	me, err := c.GetAccountCurrentUser(ctx)
	if err != nil || me.Username != "alice" {
		t.Fatalf("verify_credentials with the new token: %+v, %v", me, err)
	}
	verified, err := c.VerifyAppCredentials(ctx)
	if err != nil || verified.Name != "Test Client" || verified.Website != "https://client.example" {
		t.Fatalf("apps/verify_credentials: %+v, %v", verified, err)
	}

	// Signing in by e-mail; exchanged as JSON with HTTP Basic client authentication.
	verifier, challenge = oaPKCE()
	code = oaSignIn(t, inst, oaAuthorizeQuery(app, oob, "follow", "", challenge), "ALICE@example.com", alice.Password)
	basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(app.ClientID) + ":" + url.QueryEscape(app.ClientSecret)))
	body, _ := json.Marshal(map[string]string{"grant_type": "authorization_code", "code": code, "redirect_uri": oob, "code_verifier": verifier})
	tok = oaTokenResponse(t, apiJSON(t, http.MethodPost, inst.URL+"/oauth/token", "", string(body), "Authorization", "Basic "+basic))
	if tok.Scope != "follow" {
		t.Errorf("scope %q, want follow", tok.Scope)
	}
	if r := apiGet(t, inst.URL+"/api/v1/accounts/verify_credentials", tok.AccessToken); r.Code != http.StatusForbidden {
		t.Errorf("a follow-only token read the account: %d", r.Code)
	}

	// A web app: the code comes back in the redirect, with the state; go-mastodon exchanges it.
	r = apiJSON(t, http.MethodPost, inst.URL+"/api/v1/apps", "", `{"client_name":"Web App","redirect_uris":["https://app.example/cb?x=1","myapp://oauth"],"scopes":"read write"}`)
	var reg map[string]any
	r.decode(t, &reg)
	if uris, _ := reg["redirect_uris"].([]any); r.Code != http.StatusOK || len(uris) != 2 {
		t.Fatalf("JSON app registration: %d %s", r.Code, r.Body)
	}
	webApp := &gomastodon.Application{ClientID: reg["client_id"].(string), ClientSecret: reg["client_secret"].(string)}
	code = oaSignIn(t, inst, oaAuthorizeQuery(webApp, "https://app.example/cb?x=1", "read", "s t/ate", ""), "alice", alice.Password)
	wc := gomastodon.NewClient(&gomastodon.Config{Server: inst.URL, ClientID: webApp.ClientID, ClientSecret: webApp.ClientSecret})
	if err := wc.GetUserAccessToken(ctx, code, "https://app.example/cb?x=1"); err != nil {
		t.Fatalf("go-mastodon code exchange: %v", err)
	}
	if me, err := wc.GetAccountCurrentUser(ctx); err != nil || me.Username != "alice" {
		t.Fatalf("web app token: %+v, %v", me, err)
	}

	// The metadata advertises what the flow above used.
	var meta map[string]any
	apiGet(t, inst.URL+"/.well-known/oauth-authorization-server", "").decode(t, &meta)
	if meta["authorization_endpoint"] != inst.URL+"/oauth/authorize" || meta["token_endpoint"] != inst.URL+"/oauth/token" ||
		meta["revocation_endpoint"] != inst.URL+"/oauth/revoke" || meta["app_registration_endpoint"] != inst.URL+"/api/v1/apps" {
		t.Errorf("metadata endpoints %v", meta)
	}
	for key, want := range map[string]string{"code_challenge_methods_supported": "S256", "grant_types_supported": "client_credentials", "response_types_supported": "code", "token_endpoint_auth_methods_supported": "client_secret_basic", "scopes_supported": "write:media"} {
		list, _ := meta[key].([]any)
		if !slices.Contains(list, any(want)) {
			t.Errorf("metadata %s = %v, want it to include %q", key, meta[key], want)
		}
	}
	if list, _ := meta["code_challenge_methods_supported"].([]any); slices.Contains(list, any("plain")) {
		t.Error("metadata offers plain PKCE")
	}
}

func TestOAuthAuthorizeRefusals(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	const oob = "urn:ietf:wg:oauth:2.0:oob"
	const cb = "https://app.example/cb"
	app := oaRegister(t, inst, "read write", oob+"\n"+cb)
	_, challenge := oaPKCE()

	// Invalid requests get an error page, never a redirect: anyone can register an app with any
	// redirect URI, so redirecting them would make the instance an open redirector (RFC 9700
	// §4.11.2), even for a registered URI.
	pages := []struct {
		name string
		q    url.Values
	}{
		{"unregistered redirect_uri", oaAuthorizeQuery(app, "https://evil.example/cb", "read", "s", "")},
		{"redirect_uri differing in a trailing slash", oaAuthorizeQuery(app, cb+"/", "read", "s", "")},
		{"missing redirect_uri", url.Values{"response_type": {"code"}, "client_id": {app.ClientID}}},
		{"unknown client", oaAuthorizeQuery(&gomastodon.Application{ClientID: "nope"}, cb, "read", "s", "")},
		{"missing client", url.Values{"response_type": {"code"}, "redirect_uri": {cb}, "state": {"s"}}},
		{"plain PKCE, out of band", url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {oob}, "code_challenge": {challenge}, "code_challenge_method": {"plain"}}},
		{"scope beyond the app, out of band", oaAuthorizeQuery(app, oob, "read follow", "s", "")},
		{"plain PKCE", url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {cb}, "state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"plain"}}},
		{"challenge without method", url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {cb}, "state": {"s"}, "code_challenge": {challenge}}},
		{"method without challenge", url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {cb}, "state": {"s"}, "code_challenge_method": {"S256"}}},
		{"malformed challenge", url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {cb}, "state": {"s"}, "code_challenge": {"short"}, "code_challenge_method": {"S256"}}},
		{"scope beyond the app", oaAuthorizeQuery(app, cb, "read follow", "s", "")},
		{"unknown scope", oaAuthorizeQuery(app, cb, "read everything", "s", "")},
		{"implicit grant", url.Values{"response_type": {"token"}, "client_id": {app.ClientID}, "redirect_uri": {cb}, "state": {"s"}}},
		{"no response_type", url.Values{"client_id": {app.ClientID}, "redirect_uri": {cb}, "state": {"s"}}},
	}
	for _, tc := range pages {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(tc.name+" "+method, func(t *testing.T) {
				req := newAPIRequest(t, http.MethodGet, inst.URL+"/oauth/authorize?"+tc.q.Encode(), "", "", "")
				if method == http.MethodPost {
					req = newAPIRequest(t, http.MethodPost, inst.URL+"/oauth/authorize", "", formType, tc.q.Encode())
				}
				r := apiSend(t, oaBrowser(t), req)
				if r.Code != http.StatusBadRequest || r.Header.Get("Location") != "" {
					t.Fatalf("status %d, Location %q; want a 400 page", r.Code, r.Header.Get("Location"))
				}
				if strings.Contains(string(r.Body), "<form") {
					t.Fatal("an invalid request got the sign-in form")
				}
				if page := oaParsePage(t, r.Body); page.ByID["code"] != "" {
					t.Fatal("an invalid request got a code")
				}
			})
		}
	}

	// Submissions that must not issue a code.
	suspended := inst.CreateUser(t, "mallory")
	suspended.Account.Suspended = true
	if err := inst.Store.UpdateAccount(context.Background(), suspended.Account); err != nil {
		t.Fatal(err)
	}
	submissions := []struct {
		name   string
		status int
		edit   func(form url.Values, browser *http.Client)
	}{
		{"wrong password", http.StatusUnauthorized, func(f url.Values, _ *http.Client) { f.Set("password", "wrong password") }},
		{"unknown user", http.StatusUnauthorized, func(f url.Values, _ *http.Client) { f.Set("login", "nobody") }},
		{"empty password", http.StatusUnprocessableEntity, func(f url.Values, _ *http.Client) { f.Set("password", "") }},
		{"suspended account", http.StatusForbidden, func(f url.Values, _ *http.Client) {
			f.Set("login", "mallory")
			f.Set("password", suspended.Password)
		}},
		{"tampered CSRF token", http.StatusForbidden, func(f url.Values, _ *http.Client) { f.Set("authenticity_token", f.Get("authenticity_token")+"x") }},
		{"scope changed after rendering", http.StatusForbidden, func(f url.Values, _ *http.Client) { f.Set("scope", "read write") }},
		{"no CSRF cookie (cross-site post)", http.StatusForbidden, func(_ url.Values, b *http.Client) { b.Jar, _ = cookiejar.New(nil) }},
	}
	for _, tc := range submissions {
		t.Run(tc.name, func(t *testing.T) {
			browser := oaBrowser(t)
			form := oaOpenForm(t, inst, browser, oaAuthorizeQuery(app, cb, "read", "s", ""))
			form.Set("login", "alice")
			form.Set("password", alice.Password)
			form.Set("decision", "approve")
			tc.edit(form, browser)
			r := oaSubmit(t, inst, browser, form)
			if r.Code != tc.status || r.Header.Get("Location") != "" {
				t.Fatalf("status %d, Location %q; want %d and no redirect", r.Code, r.Header.Get("Location"), tc.status)
			}
			page := oaParsePage(t, r.Body)
			if page.ByID["code"] != "" || page.ByID["form-error"] == "" {
				t.Fatalf("want the form again with an error and no code; got %+v", page.ByID)
			}
			if page.Fields["authenticity_token"] == "" {
				t.Fatal("the re-rendered form has no CSRF token")
			}
		})
	}

	// Deny goes back to the client with access_denied and no code.
	browser := oaBrowser(t)
	form := oaOpenForm(t, inst, browser, oaAuthorizeQuery(app, cb, "read", "st", ""))
	form.Set("decision", "deny")
	r := oaSubmit(t, inst, browser, form)
	loc, _ := url.Parse(r.Header.Get("Location"))
	if r.Code != http.StatusFound || loc == nil || loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "st" || loc.Query().Get("code") != "" {
		t.Fatalf("deny: %d %q", r.Code, r.Header.Get("Location"))
	}
}

// oaCode creates an authorization code directly in the store, for token endpoint tests.
func oaCode(t testing.TB, inst *testrig.Instance, c store.AuthCode) string {
	t.Helper()
	code, err := inst.Store.CreateAuthCode(context.Background(), &c)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func TestOAuthTokenRefusals(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	const cb = "https://app.example/cb"
	app := oaRegister(t, inst, "read write", cb)
	other := oaRegister(t, inst, "read write", cb)
	verifier, challenge := oaPKCE()
	withPKCE := store.AuthCode{ClientID: app.ClientID, AccountID: alice.Account.ID, RedirectURI: cb, Scopes: []string{"read"}, CodeChallenge: challenge, CodeChallengeMethod: "S256"}
	plain := withPKCE
	plain.CodeChallenge, plain.CodeChallengeMethod = "", ""
	creds := url.Values{"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}}
	exchange := func(code string, extra url.Values) url.Values {
		v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cb}}
		for k, vs := range creds {
			v[k] = vs
		}
		for k, vs := range extra {
			v[k] = vs
		}
		return v
	}

	// The real flow's code works once only.
	code := oaSignIn(t, inst, oaAuthorizeQuery(app, cb, "read", "s", challenge), "alice", alice.Password)
	oaTokenResponse(t, apiForm(t, http.MethodPost, inst.URL+"/oauth/token", "", exchange(code, url.Values{"code_verifier": {verifier}}).Encode()))
	apiForm(t, http.MethodPost, inst.URL+"/oauth/token", "", exchange(code, url.Values{"code_verifier": {verifier}}).Encode()).expectOAuthError(t, http.StatusBadRequest, "invalid_grant")

	kept := oaCode(t, inst, withPKCE)
	wrongVerifier, _ := oaPKCE()
	cases := []struct {
		name      string
		params    url.Values
		status    int
		oauthCode string
	}{
		{"wrong PKCE verifier", exchange(oaCode(t, inst, withPKCE), url.Values{"code_verifier": {wrongVerifier}}), 400, "invalid_grant"},
		{"missing PKCE verifier", exchange(oaCode(t, inst, withPKCE), nil), 400, "invalid_grant"},
		{"the challenge sent as verifier", exchange(oaCode(t, inst, withPKCE), url.Values{"code_verifier": {challenge}}), 400, "invalid_grant"},
		{"verifier without a challenge", exchange(oaCode(t, inst, plain), url.Values{"code_verifier": {verifier}}), 400, "invalid_grant"},
		{"different redirect_uri", exchange(oaCode(t, inst, plain), url.Values{"redirect_uri": {cb + "/other"}}), 400, "invalid_grant"},
		{"code of another client", exchange(oaCode(t, inst, plain), url.Values{"client_id": {other.ClientID}, "client_secret": {other.ClientSecret}}), 400, "invalid_grant"},
		{"unknown code", exchange("made-up", nil), 400, "invalid_grant"},
		{"missing code", exchange("", nil), 400, "invalid_request"},
		{"wrong client secret", exchange(kept, url.Values{"client_secret": {"guess"}}), 401, "invalid_client"},
		{"no client credentials", url.Values{"grant_type": {"authorization_code"}, "code": {kept}, "redirect_uri": {cb}}, 401, "invalid_client"},
		{"password grant", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {alice.Password}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret}}, 400, "unsupported_grant_type"},
		{"missing grant_type", creds, 400, "invalid_request"},
		{"client_credentials beyond the app's scopes", url.Values{"grant_type": {"client_credentials"}, "scope": {"read follow"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret}}, 400, "invalid_scope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			apiForm(t, http.MethodPost, inst.URL+"/oauth/token", "", tc.params.Encode()).expectOAuthError(t, tc.status, tc.oauthCode)
		})
	}
	// A refused exchange spends the code: it cannot be retried with the right verifier.
	refused := oaCode(t, inst, withPKCE)
	apiForm(t, http.MethodPost, inst.URL+"/oauth/token", "", exchange(refused, url.Values{"code_verifier": {wrongVerifier}}).Encode()).expectOAuthError(t, 400, "invalid_grant")
	apiForm(t, http.MethodPost, inst.URL+"/oauth/token", "", exchange(refused, url.Values{"code_verifier": {verifier}}).Encode()).expectOAuthError(t, 400, "invalid_grant")
	// The wrong-secret attempt above did not spend the code of a client it could not authenticate.
	oaTokenResponse(t, apiForm(t, http.MethodPost, inst.URL+"/oauth/token", "", exchange(kept, url.Values{"code_verifier": {verifier}}).Encode()))

	apiJSON(t, http.MethodPost, inst.URL+"/oauth/token", "", `{"grant_type":`).expectOAuthError(t, http.StatusBadRequest, "invalid_request")
}

func TestOAuthClientCredentialsAndScopes(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	ctx := context.Background()
	app := oaRegister(t, inst, "read write", "urn:ietf:wg:oauth:2.0:oob")

	c := gomastodon.NewClient(&gomastodon.Config{Server: inst.URL, ClientID: app.ClientID, ClientSecret: app.ClientSecret})
	if err := c.GetAppAccessToken(ctx, "urn:ietf:wg:oauth:2.0:oob"); err != nil {
		t.Fatalf("client_credentials: %v", err)
	}
	appToken := c.Config.AccessToken
	if v, err := c.VerifyAppCredentials(ctx); err != nil || v.Name != "Test Client" {
		t.Fatalf("app token verify_credentials: %+v, %v", v, err)
	}
	// An app token has no user: user endpoints refuse it.
	apiForm(t, http.MethodPost, inst.URL+"/api/v1/statuses", appToken, url.Values{"status": {"hi"}}.Encode()).expectError(t, http.StatusUnauthorized, "The access token is invalid")
	apiGet(t, inst.URL+"/api/v1/accounts/verify_credentials", appToken).expectError(t, http.StatusUnauthorized, "The access token is invalid")

	r := apiForm(t, http.MethodPost, inst.URL+"/oauth/token", "", url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret}}.Encode())
	if tok := oaTokenResponse(t, r); tok.Scope != "read" {
		t.Fatalf("client_credentials scope %q", tok.Scope)
	}

	// A read-only user token cannot write.
	code := oaSignIn(t, inst, oaAuthorizeQuery(app, "urn:ietf:wg:oauth:2.0:oob", "read", "", ""), "alice", alice.Password)
	tok := oaTokenResponse(t, apiForm(t, http.MethodPost, inst.URL+"/oauth/token", "", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"urn:ietf:wg:oauth:2.0:oob"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret}}.Encode()))
	apiForm(t, http.MethodPost, inst.URL+"/api/v1/statuses", tok.AccessToken, url.Values{"status": {"hi"}}.Encode()).expectError(t, http.StatusForbidden, "This action is outside the authorized scopes")
	if r := apiGet(t, inst.URL+"/api/v1/accounts/verify_credentials", tok.AccessToken); r.Code != http.StatusOK {
		t.Fatalf("read token cannot read: %d %s", r.Code, r.Body)
	}
}

func TestOAuthRevoke(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	app := oaRegister(t, inst, "read write", "urn:ietf:wg:oauth:2.0:oob")
	other := oaRegister(t, inst, "read", "urn:ietf:wg:oauth:2.0:oob")
	code := oaSignIn(t, inst, oaAuthorizeQuery(app, "urn:ietf:wg:oauth:2.0:oob", "read", "", ""), "alice", alice.Password)
	tok := oaTokenResponse(t, apiForm(t, http.MethodPost, inst.URL+"/oauth/token", "", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"urn:ietf:wg:oauth:2.0:oob"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret}}.Encode()))
	verify := inst.URL + "/api/v1/accounts/verify_credentials"
	if r := apiGet(t, verify, tok.AccessToken); r.Code != http.StatusOK {
		t.Fatalf("fresh token: %d", r.Code)
	}

	apiForm(t, http.MethodPost, inst.URL+"/oauth/revoke", "", url.Values{"token": {tok.AccessToken}}.Encode()).expectOAuthError(t, http.StatusUnauthorized, "invalid_client")
	apiForm(t, http.MethodPost, inst.URL+"/oauth/revoke", "", url.Values{"token": {tok.AccessToken}, "client_id": {app.ClientID}, "client_secret": {"guess"}}.Encode()).expectOAuthError(t, http.StatusUnauthorized, "invalid_client")
	apiForm(t, http.MethodPost, inst.URL+"/oauth/revoke", "", url.Values{"token": {tok.AccessToken}, "client_id": {other.ClientID}, "client_secret": {other.ClientSecret}}.Encode()).expectOAuthError(t, http.StatusForbidden, "unauthorized_client")
	apiForm(t, http.MethodPost, inst.URL+"/oauth/revoke", "", url.Values{"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}}.Encode()).expectOAuthError(t, http.StatusBadRequest, "invalid_request")
	if r := apiGet(t, verify, tok.AccessToken); r.Code != http.StatusOK {
		t.Fatalf("refused revocations revoked the token: %d", r.Code)
	}

	for i := 0; i < 2; i++ { // revoking again, or an unknown token, is still 200
		r := apiForm(t, http.MethodPost, inst.URL+"/oauth/revoke", "", url.Values{"token": {tok.AccessToken}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret}}.Encode())
		if r.Code != http.StatusOK || strings.TrimSpace(string(r.Body)) != "{}" {
			t.Fatalf("revoke: %d %s", r.Code, r.Body)
		}
	}
	apiGet(t, verify, tok.AccessToken).expectError(t, http.StatusUnauthorized, "The access token is invalid")
	apiGet(t, inst.URL+"/api/v1/timelines/public", tok.AccessToken).expectError(t, http.StatusUnauthorized, "The access token is invalid")
}

func TestOAuthAppsCreate(t *testing.T) {
	inst := testrig.StartInstance(t)
	apps := inst.URL + "/api/v1/apps"

	r := apiForm(t, http.MethodPost, apps, "", url.Values{"client_name": {"Lines"}, "redirect_uris": {"https://a.example/cb\nurn:ietf:wg:oauth:2.0:oob"}}.Encode())
	var app map[string]any
	r.decode(t, &app)
	if r.Code != http.StatusOK {
		t.Fatalf("create: %d %s", r.Code, r.Body)
	}
	uris, _ := app["redirect_uris"].([]any)
	scopes, _ := app["scopes"].([]any)
	if len(uris) != 2 || app["redirect_uri"] != "https://a.example/cb\nurn:ietf:wg:oauth:2.0:oob" || len(scopes) != 1 || scopes[0] != "read" ||
		app["website"] != nil || app["client_secret_expires_at"] != float64(0) || app["id"] == "" || app["client_id"] == "" || app["name"] != "Lines" {
		t.Fatalf("application entity %s", r.Body)
	}

	r = apiForm(t, http.MethodPost, apps, "", url.Values{"client_name": {"Array"}, "redirect_uris[]": {"https://a.example/1", "https://a.example/2"}, "scopes": {"read:statuses write:media"}}.Encode())
	r.decode(t, &app)
	if uris, _ := app["redirect_uris"].([]any); r.Code != http.StatusOK || len(uris) != 2 {
		t.Fatalf("redirect_uris[]: %d %s", r.Code, r.Body)
	}

	cases := []struct {
		name, body string
		status     int
		msg        string
	}{
		{"missing name", `{"redirect_uris":"urn:ietf:wg:oauth:2.0:oob"}`, 422, "Validation failed: Application name can't be blank"},
		{"long name", `{"client_name":"` + strings.Repeat("n", 61) + `","redirect_uris":"urn:ietf:wg:oauth:2.0:oob"}`, 422, "Validation failed: Application name is too long (maximum is 60 characters)"},
		{"missing redirect", `{"client_name":"x"}`, 422, "Validation failed: Redirect URI can't be blank"},
		{"relative redirect", `{"client_name":"x","redirect_uris":"/cb"}`, 422, "Validation failed: Redirect URI must be an absolute URI."},
		{"fragment", `{"client_name":"x","redirect_uris":"https://a.example/cb#frag"}`, 422, "Validation failed: Redirect URI cannot contain a fragment."},
		{"javascript", `{"client_name":"x","redirect_uris":"javascript:alert(1)"}`, 422, "Validation failed: Redirect URI is forbidden by the server."},
		{"unknown scope", `{"client_name":"x","redirect_uris":"urn:ietf:wg:oauth:2.0:oob","scopes":"read admin"}`, 422, "Validation failed: Scopes doesn't match configured on the server."},
		{"bad website", `{"client_name":"x","redirect_uris":"urn:ietf:wg:oauth:2.0:oob","website":"javascript:alert(1)"}`, 422, "Validation failed: Website is invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			apiJSON(t, http.MethodPost, apps, "", tc.body).expectError(t, tc.status, tc.msg)
		})
	}
	if r := apiJSON(t, http.MethodPost, apps, "", `{"client_name":`); r.Code != http.StatusBadRequest {
		t.Fatalf("malformed JSON: %d %s", r.Code, r.Body)
	}
	apiGet(t, apps+"/verify_credentials", "").expectError(t, http.StatusUnauthorized, "The access token is invalid")
	apiGet(t, apps+"/verify_credentials", "not-a-token").expectError(t, http.StatusUnauthorized, "The access token is invalid")
}
