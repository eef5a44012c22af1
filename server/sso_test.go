package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	gomastodon "github.com/mattn/go-mastodon"
	"github.com/oauth2-proxy/mockoidc"

	"watercooler/config"
	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/testrig"
)

// oidcUser is a person at the test provider; unlike mockoidc.MockUser it has a name claim.
type oidcUser struct {
	Subject, PreferredUsername, Email, Name string
	Groups                                  []string
	// Unverified says the provider has not verified the e-mail address.
	Unverified bool
	// OnlyInUserinfo keeps every claim but sub out of the ID token, as providers may when
	// they issue an access token for the UserInfo endpoint.
	OnlyInUserinfo bool
}

func (u oidcUser) ID() string { return u.Subject }

func (u oidcUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": u.Subject, "email": u.Email, "preferred_username": u.PreferredUsername, "name": u.Name, "groups": u.Groups})
}

type oidcUserClaims struct {
	*mockoidc.IDTokenClaims
	PreferredUsername string   `json:"preferred_username,omitempty"`
	Email             string   `json:"email,omitempty"`
	Name              string   `json:"name,omitempty"`
	Groups            []string `json:"groups,omitempty"`
	EmailVerified     *bool    `json:"email_verified,omitempty"`
}

func (u oidcUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if u.OnlyInUserinfo {
		return &oidcUserClaims{IDTokenClaims: base}, nil
	}
	c := &oidcUserClaims{IDTokenClaims: base, PreferredUsername: u.PreferredUsername, Email: u.Email, Name: u.Name, Groups: u.Groups}
	if u.Unverified {
		c.EmailVerified = new(bool)
	}
	return c, nil
}

// testProvider is a real OpenID provider (mockoidc) on 127.0.0.1 whose token endpoint can be
// made to answer with a tampered ID token: tamper rewrites the claims and returns the key to
// sign with (the provider's own, or another under the provider's key id).
type testProvider struct {
	*mockoidc.MockOIDC
	mu     sync.Mutex
	tamper func(jwt.MapClaims) *mockoidc.Keypair
	// userinfoDown makes the UserInfo endpoint answer 503.
	userinfoDown bool
}

func startProvider(t *testing.T) *testProvider {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &testProvider{MockOIDC: m}
	// KeyID computes and caches the key id on first use, unguarded: done here, before any
	// request, concurrent token requests only read it.
	if _, err := m.Keypair.KeyID(); err != nil {
		t.Fatal(err)
	}
	if err := m.AddMiddleware(p.rewriteIDToken); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return p
}

func (p *testProvider) setTamper(f func(jwt.MapClaims) *mockoidc.Keypair) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = f
}

func (p *testProvider) rewriteIDToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		tamper, userinfoDown := p.tamper, p.userinfoDown
		p.mu.Unlock()
		if r.URL.Path == mockoidc.UserinfoEndpoint && userinfoDown {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path != mockoidc.TokenEndpoint || tamper == nil {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["id_token"] == nil {
			http.Error(w, "no id_token to tamper with: "+rec.Body.String(), http.StatusInternalServerError)
			return
		}
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(body["id_token"].(string), claims); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		key := tamper(claims)
		signed, err := key.SignJWT(claims)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		body["id_token"] = signed
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	})
}

// oidcConfig points an instance at the provider.
func (p *testProvider) oidcConfig(adjust ...func(*config.OIDC)) func(*config.Config) {
	return func(c *config.Config) {
		c.OIDC = config.OIDC{Issuer: p.Issuer(), ClientID: p.ClientID, ClientSecret: p.ClientSecret, Name: "Corp ID", GroupsClaim: "groups"}
		for _, a := range adjust {
			a(&c.OIDC)
		}
	}
}

// ssoFlow is one person's trip through the instance's OAuth page, the provider and back.
type ssoFlow struct {
	app       *gomastodon.Application
	query     url.Values
	verifier  string
	browser   *http.Client
	callback  string // the provider's redirect back to the instance
	final     apiResponse
	startResp apiResponse
}

const ssoRedirect = "https://client.example/callback"

func ssoApp(t *testing.T, inst *testrig.Instance) *gomastodon.Application {
	return oaRegister(t, inst, "read write", ssoRedirect)
}

// ssoSignIn opens the authorize page, clicks "Sign in with Corp ID", lets the provider sign
// the queued person in, and follows the provider's redirect back to the instance.
func ssoSignIn(t *testing.T, inst *testrig.Instance, app *gomastodon.Application) *ssoFlow {
	t.Helper()
	f := ssoBegin(t, inst, app)
	if f.callback != "" {
		f.final = apiSend(t, f.browser, newAPIRequest(t, http.MethodGet, f.callback, "", "", ""))
	}
	return f
}

// ssoBegin is ssoSignIn up to the provider's redirect back, which it does not follow.
func ssoBegin(t *testing.T, inst *testrig.Instance, app *gomastodon.Application) *ssoFlow {
	t.Helper()
	verifier, challenge := oaPKCE()
	q := url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {ssoRedirect},
		"scope": {"read write"}, "state": {"client-state"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	f := &ssoFlow{app: app, query: q, verifier: verifier, browser: oaBrowser(t)}
	page := apiSend(t, f.browser, newAPIRequest(t, http.MethodGet, inst.URL+"/oauth/authorize?"+q.Encode(), "", "", ""))
	if page.Code != http.StatusOK || !bytes.Contains(page.Body, []byte("Sign in with Corp ID")) {
		t.Fatalf("authorize page without the sign-in button: %d %s", page.Code, page.Body)
	}
	form := url.Values{}
	for k, v := range oaParsePage(t, page.Body).Fields {
		form.Set(k, v)
	}
	f.startResp = apiSend(t, f.browser, newAPIRequest(t, http.MethodPost, inst.URL+"/oauth/oidc", "", formType, form.Encode()))
	if f.startResp.Code != http.StatusFound {
		return f
	}
	atProvider := apiSend(t, f.browser, newAPIRequest(t, http.MethodGet, f.startResp.Header.Get("Location"), "", "", ""))
	if atProvider.Code != http.StatusFound {
		t.Fatalf("provider's authorize endpoint: %d %s", atProvider.Code, atProvider.Body)
	}
	f.callback = atProvider.Header.Get("Location")
	if !strings.HasPrefix(f.callback, inst.URL+"/auth/oidc/callback?") {
		t.Fatalf("provider redirected to %q", f.callback)
	}
	return f
}

// token redeems the code the flow ended with, as the app would, and returns the access token.
func (f *ssoFlow) token(t *testing.T, inst *testrig.Instance) string {
	t.Helper()
	if f.final.Code != http.StatusFound {
		t.Fatalf("callback: %d %s", f.final.Code, f.final.Body)
	}
	loc, err := url.Parse(f.final.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), ssoRedirect+"?") || loc.Query().Get("state") != "client-state" || loc.Query().Get("code") == "" {
		t.Fatalf("callback redirected to %q", f.final.Header.Get("Location"))
	}
	r := apiForm(t, http.MethodPost, inst.URL+"/oauth/token", "", url.Values{
		"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {ssoRedirect},
		"client_id": {f.app.ClientID}, "client_secret": {f.app.ClientSecret}, "code_verifier": {f.verifier},
	}.Encode())
	return oaTokenResponse(t, r).AccessToken
}

func verifyCredentials(t *testing.T, inst *testrig.Instance, token string) mastodon.Account {
	t.Helper()
	var me mastodon.Account
	apiGet(t, inst.API("/api/v1/accounts/verify_credentials"), token).ok(t, &me)
	return me
}

func TestSSOSignInCreatesAndLinksAccount(t *testing.T) {
	p := startProvider(t)
	inst := testrig.StartInstance(t, p.oidcConfig())
	app := ssoApp(t, inst)
	// A local account already has the name the provider proposes: the new one gets digits.
	inst.CreateUser(t, "jane_doe")

	p.QueueUser(oidcUser{Subject: "sub-1", PreferredUsername: "jane.doe", Email: "jane@corp.example", Name: "Jane Doe"})
	tok := ssoSignIn(t, inst, app).token(t, inst)
	me := verifyCredentials(t, inst, tok)
	if me.Username != "jane_doe2" || me.DisplayName != "Jane Doe" {
		t.Fatalf("created account %q %q, want jane_doe2 \"Jane Doe\"", me.Username, me.DisplayName)
	}
	u, err := inst.Store.User(t.Context(), me.ID)
	if err != nil || u.Email != "jane@corp.example" || u.Admin {
		t.Fatalf("user %+v, %v", u, err)
	}

	// The same subject signs in again, under another preferred name: the linked account.
	p.QueueUser(oidcUser{Subject: "sub-1", PreferredUsername: "jd", Email: "jane@corp.example", Name: "J"})
	again := verifyCredentials(t, inst, ssoSignIn(t, inst, app).token(t, inst))
	if again.ID != me.ID {
		t.Fatalf("second sign-in gave account %s (%s), want %s", again.ID, again.Username, me.ID)
	}

	// Without preferred_username the e-mail's local part names the account; an address the
	// provider has not verified is not kept.
	p.QueueUser(oidcUser{Subject: "sub-2", Email: "bob.berg@corp.example", Name: "Bob", Unverified: true})
	bob := verifyCredentials(t, inst, ssoSignIn(t, inst, app).token(t, inst))
	if bob.Username != "bob_berg" {
		t.Fatalf("username from e-mail %q, want bob_berg", bob.Username)
	}
	if u, err := inst.Store.User(t.Context(), bob.ID); err != nil || u.Email != "" {
		t.Fatalf("unverified e-mail kept: %+v, %v", u, err)
	}

	// An address a password user already has is not taken over.
	p.QueueUser(oidcUser{Subject: "sub-3", PreferredUsername: "other", Email: "jane@corp.example", Name: "Other"})
	other := verifyCredentials(t, inst, ssoSignIn(t, inst, app).token(t, inst))
	if u, err := inst.Store.User(t.Context(), other.ID); err != nil || u.Email != "" {
		t.Fatalf("second account got a taken e-mail: %+v, %v", u, err)
	}

	// A suspended account stays shut although the provider vouches for the person.
	acct := storeAccount(t, inst, me.ID)
	acct.Suspended = true
	if err := inst.Store.UpdateAccount(t.Context(), acct); err != nil {
		t.Fatal(err)
	}
	p.QueueUser(oidcUser{Subject: "sub-1", PreferredUsername: "jane.doe"})
	if f := ssoSignIn(t, inst, app); f.final.Code != http.StatusForbidden || !bytes.Contains(f.final.Body, []byte("currently disabled")) {
		t.Fatalf("suspended account's sign-in: %d %s", f.final.Code, f.final.Body)
	}
}

func TestSSOAdminGroup(t *testing.T) {
	p := startProvider(t)
	inst := testrig.StartInstance(t, p.oidcConfig(func(o *config.OIDC) { o.AdminGroup = "wc-admins" }))
	app := ssoApp(t, inst)
	admin := func(groups ...string) bool {
		p.QueueUser(oidcUser{Subject: "boss", PreferredUsername: "boss", Groups: groups})
		me := verifyCredentials(t, inst, ssoSignIn(t, inst, app).token(t, inst))
		u, err := inst.Store.User(t.Context(), me.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u.Admin
	}
	if !admin("staff", "wc-admins") {
		t.Fatal("member of the admin group is not admin")
	}
	// Removed from the group at the provider: no longer admin at the next sign-in.
	if admin("staff") {
		t.Fatal("admin rights kept after leaving the admin group")
	}
}

func TestSSORefusals(t *testing.T) {
	p := startProvider(t)
	inst := testrig.StartInstance(t, p.oidcConfig(func(o *config.OIDC) { o.AllowedGroups = []string{"engineering"} }))
	app := ssoApp(t, inst)
	otherKey, err := mockoidc.RandomKeypair(2048)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := p.Keypair.KeyID()
	if err != nil {
		t.Fatal(err)
	}
	otherKey.Kid = kid // claims to be the provider's key, but is not

	// Someone in the allowed group signs in and has a token before the group cases run.
	p.QueueUser(oidcUser{Subject: "carol", PreferredUsername: "carol", Groups: []string{"engineering"}})
	carolToken := ssoSignIn(t, inst, app).token(t, inst)
	verifyCredentials(t, inst, carolToken)

	cases := []struct {
		name   string
		user   oidcUser
		tamper func(jwt.MapClaims) *mockoidc.Keypair
		status int
		text   string
	}{
		{"expired ID token", oidcUser{Subject: "u1", PreferredUsername: "u1", Groups: []string{"engineering"}},
			func(c jwt.MapClaims) *mockoidc.Keypair {
				c["iat"], c["nbf"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
				return p.Keypair
			}, http.StatusForbidden, "could not be verified"},
		{"bad signature", oidcUser{Subject: "u2", PreferredUsername: "u2", Groups: []string{"engineering"}},
			func(jwt.MapClaims) *mockoidc.Keypair { return otherKey }, http.StatusForbidden, "could not be verified"},
		{"another issuer", oidcUser{Subject: "u3", PreferredUsername: "u3", Groups: []string{"engineering"}},
			func(c jwt.MapClaims) *mockoidc.Keypair { c["iss"] = "https://evil.example/oidc"; return p.Keypair },
			http.StatusForbidden, "could not be verified"},
		{"another audience", oidcUser{Subject: "u4", PreferredUsername: "u4", Groups: []string{"engineering"}},
			func(c jwt.MapClaims) *mockoidc.Keypair { c["aud"] = "some-other-client"; return p.Keypair },
			http.StatusForbidden, "could not be verified"},
		{"wrong nonce", oidcUser{Subject: "u5", PreferredUsername: "u5", Groups: []string{"engineering"}},
			func(c jwt.MapClaims) *mockoidc.Keypair { c["nonce"] = "a-nonce-of-another-sign-in"; return p.Keypair },
			http.StatusForbidden, "not issued for this sign-in"},
		{"outside the allowed groups", oidcUser{Subject: "u6", PreferredUsername: "u6", Groups: []string{"sales"}},
			nil, http.StatusForbidden, "not in a group allowed"},
		{"no groups at all", oidcUser{Subject: "u7", PreferredUsername: "u7"},
			nil, http.StatusForbidden, "not in a group allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p.setTamper(tc.tamper)
			defer p.setTamper(nil)
			p.QueueUser(tc.user)
			f := ssoSignIn(t, inst, app)
			if f.final.Code != tc.status || !bytes.Contains(f.final.Body, []byte(tc.text)) {
				t.Fatalf("callback %d %s, want %d with %q", f.final.Code, f.final.Body, tc.status, tc.text)
			}
			if _, err := inst.Store.AccountByAcct(t.Context(), tc.user.PreferredUsername); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("refused sign-in left account %s (err %v)", tc.user.PreferredUsername, err)
			}
		})
	}

	t.Run("reused state", func(t *testing.T) {
		p.QueueUser(oidcUser{Subject: "u8", PreferredUsername: "u8", Groups: []string{"engineering"}})
		f := ssoSignIn(t, inst, app)
		f.token(t, inst)
		// The browser presents the callback again, its state cookie put back: the state in
		// Redis was spent by the first callback.
		cb, _ := url.Parse(f.callback)
		f.browser.Jar.SetCookies(cb, []*http.Cookie{{Name: "wc_oidc_state", Value: cb.Query().Get("state"), Path: "/auth/oidc/callback"}})
		r := apiSend(t, f.browser, newAPIRequest(t, http.MethodGet, f.callback, "", "", ""))
		if r.Code != http.StatusBadRequest || !bytes.Contains(r.Body, []byte("already used")) {
			t.Fatalf("replayed callback %d %s", r.Code, r.Body)
		}
	})
	t.Run("callback in another browser", func(t *testing.T) {
		p.QueueUser(oidcUser{Subject: "u9", PreferredUsername: "u9", Groups: []string{"engineering"}})
		f := ssoSignIn(t, inst, app)
		_ = f.final // the first browser's callback already ran; now a stranger's browser
		r := apiSend(t, oaBrowser(t), newAPIRequest(t, http.MethodGet, f.callback, "", "", ""))
		if r.Code != http.StatusBadRequest || !bytes.Contains(r.Body, []byte("not started in this browser")) {
			t.Fatalf("callback from another browser %d %s", r.Code, r.Body)
		}
	})

	t.Run("removed from the allowed groups", func(t *testing.T) {
		p.QueueUser(oidcUser{Subject: "carol", PreferredUsername: "carol", Groups: []string{"sales"}})
		f := ssoSignIn(t, inst, app)
		if f.final.Code != http.StatusForbidden || !bytes.Contains(f.final.Body, []byte("not in a group allowed")) {
			t.Fatalf("callback %d %s", f.final.Code, f.final.Body)
		}
		apiGet(t, inst.API("/api/v1/accounts/verify_credentials"), carolToken).expectError(t, http.StatusUnauthorized, "The access token is invalid")
	})
}

// TestSSOFirstSignInTwiceAtOnce: two first sign-ins of one person at once (two tabs) make
// one account, never two.
func TestSSOFirstSignInTwiceAtOnce(t *testing.T) {
	p := startProvider(t)
	inst := testrig.StartInstance(t, p.oidcConfig())
	app := ssoApp(t, inst)
	var flows [2]*ssoFlow
	for i := range flows {
		p.QueueUser(oidcUser{Subject: "twin", PreferredUsername: "twin"})
		flows[i] = ssoBegin(t, inst, app)
	}
	var wg sync.WaitGroup
	for _, f := range flows {
		wg.Go(func() { f.final = apiSend(t, f.browser, newAPIRequest(t, http.MethodGet, f.callback, "", "", "")) })
	}
	wg.Wait()
	var ids []string
	for _, f := range flows {
		switch f.final.Code {
		case http.StatusFound:
			ids = append(ids, verifyCredentials(t, inst, f.token(t, inst)).ID)
		case http.StatusConflict:
		default:
			t.Fatalf("callback %d %s", f.final.Code, f.final.Body)
		}
	}
	if len(ids) == 0 || (len(ids) == 2 && ids[0] != ids[1]) {
		t.Fatalf("accounts signed in: %v", ids)
	}
	if _, err := inst.Store.AccountByAcct(t.Context(), "twin2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a second account was made (err %v)", err)
	}
}

// TestSSOStartNeedsThePage: the button's form carries the page's CSRF token, so another site
// cannot send a browser through the provider to authorize an app unseen.
func TestSSOStartNeedsThePage(t *testing.T) {
	p := startProvider(t)
	inst := testrig.StartInstance(t, p.oidcConfig())
	app := ssoApp(t, inst)
	_, challenge := oaPKCE()
	q := oaAuthorizeQuery(app, ssoRedirect, "read", "s", challenge)
	r := apiSend(t, oaBrowser(t), newAPIRequest(t, http.MethodPost, inst.URL+"/oauth/oidc", "", formType, q.Encode()))
	if r.Code != http.StatusForbidden || r.Header.Get("Location") != "" {
		t.Fatalf("start without the page's token: %d %s", r.Code, r.Body)
	}
}

func TestSSOWrongIssuerConfigured(t *testing.T) {
	p := startProvider(t)
	// The provider is up and serves its discovery document at the configured issuer's
	// well-known URL, but names its issuer without the trailing slash: issuers must match
	// exactly (OpenID Connect Discovery §4.3), so the instance refuses the provider.
	inst := testrig.StartInstance(t, p.oidcConfig(func(o *config.OIDC) { o.Issuer = p.Issuer() + "/" }))
	f := ssoSignIn(t, inst, ssoApp(t, inst))
	if f.startResp.Code != http.StatusBadGateway || !bytes.Contains(f.startResp.Body, []byte("cannot be reached")) {
		t.Fatalf("start with a wrong issuer: %d %s", f.startResp.Code, f.startResp.Body)
	}
}

// TestSSOProviderStartsLater: discovery is lazy, so an instance whose provider was down at
// its start signs people in once the provider is up.
func TestSSOProviderStartsLater(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	inst := testrig.StartInstance(t, func(c *config.Config) {
		c.OIDC = config.OIDC{Issuer: "http://" + addr + "/oidc", ClientID: m.ClientID, ClientSecret: m.ClientSecret, Name: "Corp ID", GroupsClaim: "groups"}
	})
	app := ssoApp(t, inst)
	if f := ssoSignIn(t, inst, app); f.startResp.Code != http.StatusBadGateway {
		t.Fatalf("start with the provider down: %d %s", f.startResp.Code, f.startResp.Body)
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	m.QueueUser(oidcUser{Subject: "late", PreferredUsername: "late"})
	if me := verifyCredentials(t, inst, ssoSignIn(t, inst, app).token(t, inst)); me.Username != "late" {
		t.Fatalf("signed in as %q", me.Username)
	}
}

func TestPasswordSignInOff(t *testing.T) {
	p := startProvider(t)
	inst := testrig.StartInstance(t, p.oidcConfig(), func(c *config.Config) { c.PasswordSignIn = false; c.PasswordGrant = true })
	alice := inst.CreateUser(t, "alice")
	app := ssoApp(t, inst)
	browser := oaBrowser(t)
	_, challenge := oaPKCE()
	q := oaAuthorizeQuery(app, ssoRedirect, "read", "s", challenge)
	page := apiSend(t, browser, newAPIRequest(t, http.MethodGet, inst.URL+"/oauth/authorize?"+q.Encode(), "", "", ""))
	if page.Code != http.StatusOK || bytes.Contains(page.Body, []byte(`type="password"`)) || !bytes.Contains(page.Body, []byte("Sign in with Corp ID")) {
		t.Fatalf("authorize page with password sign-in off: %d %s", page.Code, page.Body)
	}
	form := url.Values{}
	for k, v := range oaParsePage(t, page.Body).Fields {
		form.Set(k, v)
	}
	form.Set("login", "alice")
	form.Set("password", alice.Password)
	form.Set("decision", "approve")
	r := oaSubmit(t, inst, browser, form)
	if r.Code != http.StatusForbidden || !bytes.Contains(r.Body, []byte("switched off")) {
		t.Fatalf("password form with password sign-in off: %d %s", r.Code, r.Body)
	}
	apiForm(t, http.MethodPost, inst.URL+"/oauth/token", "", url.Values{
		"grant_type": {"password"}, "username": {"alice"}, "password": {alice.Password},
		"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "scope": {"read"},
	}.Encode()).expectOAuthError(t, http.StatusBadRequest, "unsupported_grant_type")
	var meta struct {
		Grants []string `json:"grant_types_supported"`
	}
	apiGet(t, inst.URL+"/.well-known/oauth-authorization-server", "").ok(t, &meta)
	for _, g := range meta.Grants {
		if g == "password" {
			t.Fatalf("metadata offers the password grant: %v", meta.Grants)
		}
	}
}

// TestSSOOneIdentityEveryDepartment: three departments trust one provider, and one person
// signs in to each with the same identity and the same name.
func TestSSOOneIdentityEveryDepartment(t *testing.T) {
	p := startProvider(t)
	for i := range 3 {
		inst := testrig.StartInstance(t, p.oidcConfig())
		p.QueueUser(oidcUser{Subject: "erin", PreferredUsername: "erin", Name: "Erin Example", Groups: []string{"staff"}})
		me := verifyCredentials(t, inst, ssoSignIn(t, inst, ssoApp(t, inst)).token(t, inst))
		if me.Username != "erin" || me.DisplayName != "Erin Example" {
			t.Fatalf("department %d: signed in as %q %q", i, me.Username, me.DisplayName)
		}
	}
}

// TestSSOClaimsFromUserInfo: a provider that keeps the profile and groups claims out of the
// ID token still names the account and decides by groups, through its UserInfo endpoint.
func TestSSOClaimsFromUserInfo(t *testing.T) {
	p := startProvider(t)
	inst := testrig.StartInstance(t, p.oidcConfig(func(o *config.OIDC) {
		o.AllowedGroups, o.AdminGroup = []string{"staff"}, "wc-admins"
	}))
	app := ssoApp(t, inst)
	p.QueueUser(oidcUser{Subject: "fay", PreferredUsername: "fay", Name: "Fay Field", Email: "fay@corp.example",
		Groups: []string{"staff", "wc-admins"}, OnlyInUserinfo: true})
	faysToken := ssoSignIn(t, inst, app).token(t, inst)
	me := verifyCredentials(t, inst, faysToken)
	u, err := inst.Store.User(t.Context(), me.ID)
	if err != nil || me.Username != "fay" || me.DisplayName != "Fay Field" || u.Email != "fay@corp.example" || !u.Admin {
		t.Fatalf("account %q %q, user %+v (%v)", me.Username, me.DisplayName, u, err)
	}
	// UserInfo down: the groups are unknown, so the sign-in fails, but without treating Fay
	// as removed from her groups (her token stays).
	p.mu.Lock()
	p.userinfoDown = true
	p.mu.Unlock()
	p.QueueUser(oidcUser{Subject: "fay", OnlyInUserinfo: true})
	if f := ssoSignIn(t, inst, app); f.final.Code != http.StatusBadGateway || !bytes.Contains(f.final.Body, []byte("groups could not be read")) {
		t.Fatalf("UserInfo down: %d %s", f.final.Code, f.final.Body)
	}
	p.mu.Lock()
	p.userinfoDown = false
	p.mu.Unlock()
	verifyCredentials(t, inst, faysToken)

	p.QueueUser(oidcUser{Subject: "gus", PreferredUsername: "gus", Groups: []string{"sales"}, OnlyInUserinfo: true})
	if f := ssoSignIn(t, inst, app); f.final.Code != http.StatusForbidden {
		t.Fatalf("outside the groups, read from UserInfo: %d %s", f.final.Code, f.final.Body)
	}
}
