package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// oobRedirectURI is the out-of-band redirect URI: the code is shown to the user instead.
const oobRedirectURI = "urn:ietf:wg:oauth:2.0:oob"

// csrfCookie carries the browser-bound half of the authorize form's CSRF token; the form's
// hidden field is an HMAC over it and the OAuth parameters, so no server-side session exists.
const csrfCookie = "wc_oauth_csrf"

// csrfLifetime is how long a rendered authorize form can be submitted.
const csrfLifetime = time.Hour

// pkceParam matches RFC 7636's code_challenge and code_verifier syntax.
var pkceParam = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// OAuth error descriptions, worded as Doorkeeper (Mastodon's OAuth server) words them.
const (
	descInvalidClient   = "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."
	descInvalidGrant    = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."
	descInvalidScope    = "The requested scope is invalid, unknown, or malformed."
	descUnsupportedType = "The authorization server does not support this response type."
	descInvalidRedirect = "The redirect uri included is not valid."
)

// oauthMetadata serves RFC 8414 authorization server metadata, as Mastodon 4.3 does.
func (s *Server) oauthMetadata(c *fiber.Ctx) error {
	grants := []string{"authorization_code", "client_credentials"}
	if s.cfg.PasswordGrant && s.cfg.PasswordSignIn {
		grants = append(grants, "password")
	}
	return c.JSON(fiber.Map{
		"issuer":                                s.cfg.URL + "/",
		"service_documentation":                 "https://docs.joinmastodon.org/",
		"authorization_endpoint":                s.cfg.URL + "/oauth/authorize",
		"token_endpoint":                        s.cfg.URL + "/oauth/token",
		"revocation_endpoint":                   s.cfg.URL + "/oauth/revoke",
		"app_registration_endpoint":             s.cfg.URL + "/api/v1/apps",
		"scopes_supported":                      knownScopes,
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 grants,
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

// authRequest is an authorization request's parameters, from the query string or the form.
type authRequest struct {
	ResponseType, ClientID, RedirectURI, Scope, State, CodeChallenge, CodeChallengeMethod string
}

func readAuthRequest(get func(key string, def ...string) string) authRequest {
	return authRequest{
		ResponseType: get("response_type"), ClientID: get("client_id"), RedirectURI: get("redirect_uri"),
		Scope: get("scope"), State: get("state"),
		CodeChallenge: get("code_challenge"), CodeChallengeMethod: get("code_challenge_method"),
	}
}

// fields lists the parameters in a fixed order, for the hidden inputs and the CSRF MAC.
func (r authRequest) fields() []hiddenField {
	return []hiddenField{
		{"response_type", r.ResponseType}, {"client_id", r.ClientID}, {"redirect_uri", r.RedirectURI},
		{"scope", r.Scope}, {"state", r.State},
		{"code_challenge", r.CodeChallenge}, {"code_challenge_method", r.CodeChallengeMethod},
	}
}

// authProblem is a refused authorization request. Every problem with the request itself is
// shown on a page, never sent to the redirect URI: anyone may register an app with any redirect
// URI, so an automatic redirect on an invalid request would make the instance an open
// redirector (RFC 9700 §4.11.2). Only the user's own refusal, once they have seen which app
// asks, goes back to the client (RFC 6749 §4.1.2.1).
type authProblem struct {
	code, description string
	redirect          bool
}

// checkAuthRequest validates an authorization request and returns its app and scopes.
func (s *Server) checkAuthRequest(ctx context.Context, r authRequest) (*store.App, []string, *authProblem, error) {
	if r.ClientID == "" {
		return nil, nil, &authProblem{code: "invalid_client", description: descInvalidClient}, nil
	}
	app, err := s.store.App(ctx, r.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, &authProblem{code: "invalid_client", description: descInvalidClient}, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if r.RedirectURI == "" || !slices.Contains(app.RedirectURIs, r.RedirectURI) {
		return nil, nil, &authProblem{code: "invalid_redirect_uri", description: descInvalidRedirect}, nil
	}
	if r.ResponseType != "code" {
		return nil, nil, &authProblem{code: "unsupported_response_type", description: descUnsupportedType}, nil
	}
	scopes, err := ParseScopes(r.Scope)
	if err != nil || !scopesWithin(scopes, app.Scopes) {
		return nil, nil, &authProblem{code: "invalid_scope", description: descInvalidScope}, nil
	}
	switch {
	case r.CodeChallenge == "" && r.CodeChallengeMethod != "":
		return nil, nil, &authProblem{code: "invalid_request", description: "code_challenge_method was given without a code_challenge."}, nil
	case r.CodeChallenge != "" && r.CodeChallengeMethod != "S256":
		// An absent method means "plain" (RFC 7636 §4.3), which leaks the verifier: refused.
		return nil, nil, &authProblem{code: "invalid_request", description: "The code challenge method must be S256."}, nil
	case r.CodeChallenge != "" && !pkceParam.MatchString(r.CodeChallenge):
		return nil, nil, &authProblem{code: "invalid_request", description: "The code challenge is malformed."}, nil
	}
	return app, scopes, nil, nil
}

// scopesWithin reports whether every requested scope is granted by the app's registered ones;
// a registered parent scope ("read") covers its children ("read:statuses").
func scopesWithin(requested, registered []string) bool {
	for _, sc := range requested {
		if !ScopeAllows(registered, sc) {
			return false
		}
	}
	return true
}

// refuseAuthRequest answers a refused authorization request: back to the client with the
// error for the user's own refusal (unless out-of-band), else with an error page.
func (s *Server) refuseAuthRequest(c *fiber.Ctx, r authRequest, p *authProblem) error {
	if p.redirect && r.RedirectURI != oobRedirectURI {
		return s.redirectToClient(c, r, url.Values{"error": {p.code}, "error_description": {p.description}})
	}
	status := fiber.StatusBadRequest
	if p.code == "access_denied" {
		status = fiber.StatusForbidden
	}
	return renderPage(c, status, messageTemplate, messagePage{
		Title: "Authorization failed", Instance: s.cfg.Title, IsError: true,
		Message: p.description + " (" + p.code + ")",
	})
}

// redirectToClient sends the browser to the request's (already validated) redirect URI with
// params and the state added to its query.
func (s *Server) redirectToClient(c *fiber.Ctx, r authRequest, params url.Values) error {
	u, err := url.Parse(r.RedirectURI)
	if err != nil {
		return errorf(fiber.StatusBadRequest, "The redirect uri included is not valid.")
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	if r.State != "" {
		q.Set("state", r.State)
	}
	u.RawQuery = q.Encode()
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	return c.Redirect(u.String(), fiber.StatusFound)
}

// oauthAuthorizeForm shows the sign-in and consent form of an authorization request.
func (s *Server) oauthAuthorizeForm(c *fiber.Ctx) error {
	ctx := c.UserContext()
	r := readAuthRequest(c.Query)
	app, scopes, problem, err := s.checkAuthRequest(ctx, r)
	if err != nil {
		return err
	}
	if problem != nil {
		return s.refuseAuthRequest(c, r, problem)
	}
	return s.renderAuthorizeForm(c, fiber.StatusOK, r, app, scopes, "", "")
}

// renderAuthorizeForm renders the form with a fresh CSRF token, reusing the browser's CSRF
// cookie when it has a well-formed one so several open forms stay valid.
func (s *Server) renderAuthorizeForm(c *fiber.Ctx, status int, r authRequest, app *store.App, scopes []string, login, problem string) error {
	secret, err := s.store.InstanceSecret(c.UserContext())
	if err != nil {
		return err
	}
	cookie := c.Cookies(csrfCookie)
	if len(cookie) < 22 || len(cookie) > 64 {
		cookie = store.RandomToken(16)
		c.Cookie(&fiber.Cookie{
			Name: csrfCookie, Value: cookie, Path: "/oauth", HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
			Secure: strings.HasPrefix(s.cfg.URL, "https://"),
		})
	}
	hidden := append(r.fields(), hiddenField{"authenticity_token", csrfToken(secret, cookie, r, time.Now().Add(csrfLifetime))})
	website := app.Website
	if !strings.HasPrefix(website, "https://") && !strings.HasPrefix(website, "http://") {
		website = ""
	}
	page := authorizePage{
		Title: "Authorize " + app.Name, Instance: s.cfg.Title, AppName: app.Name, AppWebsite: website,
		Scopes: describeScopes(scopes), Hidden: hidden, Login: login, Error: problem,
		Password: s.cfg.PasswordSignIn,
	}
	if s.sso != nil {
		page.SSOName = s.sso.Name()
	}
	return renderPage(c, status, authorizeTemplate, page)
}

// csrfToken binds a form to the browser's cookie and to the exact OAuth parameters until
// expires: "<unix expiry>.<HMAC>".
func csrfToken(secret []byte, cookie string, r authRequest, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("oauth-authorize\x00" + cookie + "\x00" + exp))
	for _, f := range r.fields() {
		mac.Write([]byte("\x00" + f.Name + "=" + f.Value))
	}
	return exp + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func validCSRF(secret []byte, cookie, token string, r authRequest, now time.Time) bool {
	exp, _, ok := strings.Cut(token, ".")
	unix, err := strconv.ParseInt(exp, 10, 64)
	if !ok || err != nil || cookie == "" || now.Unix() > unix {
		return false
	}
	want := csrfToken(secret, cookie, r, time.Unix(unix, 0))
	return hmac.Equal([]byte(want), []byte(token))
}

// oauthAuthorizeSubmit handles the form: it checks the CSRF token and the password, then
// issues an authorization code to the client, or tells it the user refused.
func (s *Server) oauthAuthorizeSubmit(c *fiber.Ctx) error {
	ctx := c.UserContext()
	r := readAuthRequest(c.FormValue)
	app, scopes, problem, err := s.checkAuthRequest(ctx, r)
	if err != nil {
		return err
	}
	if problem != nil {
		return s.refuseAuthRequest(c, r, problem)
	}
	login := strings.TrimSpace(c.FormValue("login"))
	secret, err := s.store.InstanceSecret(ctx)
	if err != nil {
		return err
	}
	if !validCSRF(secret, c.Cookies(csrfCookie), c.FormValue("authenticity_token"), r, time.Now()) {
		return s.renderAuthorizeForm(c, fiber.StatusForbidden, r, app, scopes, login,
			"This form has expired or did not come from this site. Please sign in again.")
	}
	if c.FormValue("decision") == "deny" {
		return s.refuseAuthRequest(c, r, &authProblem{code: "access_denied", redirect: true,
			description: "The resource owner or authorization server denied the request."})
	}
	if !s.cfg.PasswordSignIn {
		return s.renderAuthorizeForm(c, fiber.StatusForbidden, r, app, scopes, "", passwordSignInOff)
	}
	password := c.FormValue("password")
	if login == "" || password == "" {
		return s.renderAuthorizeForm(c, fiber.StatusUnprocessableEntity, r, app, scopes, login,
			"Enter your e-mail address or username and your password.")
	}
	acct, wait, err := s.signIn(ctx, login, password, s.clientAddress(c))
	if err != nil {
		return err
	}
	if wait > 0 {
		c.Set(fiber.HeaderRetryAfter, retryAfter(wait))
		return s.renderAuthorizeForm(c, fiber.StatusTooManyRequests, r, app, scopes, login,
			"Too many failed sign-in attempts for this account or from your network. For your safety, please wait "+waitText(wait)+" before trying again.")
	}
	if acct == nil {
		// A 401 must name a scheme (RFC 9110 §15.5.2); the form's is the API's bearer one.
		c.Set(fiber.HeaderWWWAuthenticate, bearerChallenge(""))
		return s.renderAuthorizeForm(c, fiber.StatusUnauthorized, r, app, scopes, login,
			"Invalid e-mail address, username or password.")
	}
	if acct.Suspended {
		return s.renderAuthorizeForm(c, fiber.StatusForbidden, r, app, scopes, login,
			"Your login is currently disabled.")
	}
	return s.issueAuthCode(c, r, app, scopes, acct)
}

// issueAuthCode ends a granted authorization request of a signed-in person: the code goes to
// the client's redirect URI, or is shown for out-of-band clients.
func (s *Server) issueAuthCode(c *fiber.Ctx, r authRequest, app *store.App, scopes []string, acct *store.Account) error {
	code, err := s.store.CreateAuthCode(c.UserContext(), &store.AuthCode{
		ClientID: app.ClientID, AccountID: acct.ID, RedirectURI: r.RedirectURI, Scopes: scopes,
		CodeChallenge: r.CodeChallenge, CodeChallengeMethod: r.CodeChallengeMethod,
	})
	if err != nil {
		return err
	}
	if r.RedirectURI == oobRedirectURI {
		return renderPage(c, fiber.StatusOK, messageTemplate, messagePage{
			Title: "Authorization code", Instance: s.cfg.Title, Code: code,
			Message: "You authorized " + app.Name + ".",
		})
	}
	return s.redirectToClient(c, r, url.Values{"code": {code}})
}

// tokenParams are the parameters of the token and revocation endpoints, as a form or JSON.
type tokenParams struct {
	GrantType    string `json:"grant_type" form:"grant_type" query:"grant_type"`
	Code         string `json:"code" form:"code" query:"code"`
	RedirectURI  string `json:"redirect_uri" form:"redirect_uri" query:"redirect_uri"`
	ClientID     string `json:"client_id" form:"client_id" query:"client_id"`
	ClientSecret string `json:"client_secret" form:"client_secret" query:"client_secret"`
	CodeVerifier string `json:"code_verifier" form:"code_verifier" query:"code_verifier"`
	Scope        string `json:"scope" form:"scope" query:"scope"`
	Token        string `json:"token" form:"token" query:"token"`
	Username     string `json:"username" form:"username" query:"username"`
	Password     string `json:"password" form:"password" query:"password"`
}

// oauthFail writes an RFC 6749 §5.2 error. OAuth clients expect error codes with descriptions
// rather than the API's error messages, so these bypass the central error handler.
func oauthFail(c *fiber.Ctx, status int, code, description string) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderPragma, "no-cache")
	if status == fiber.StatusUnauthorized {
		c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="oauth"`)
	}
	return c.Status(status).JSON(mastodon.Error{Error: code, ErrorDescription: description})
}

// authenticateClient checks client credentials from HTTP Basic or the parameters.
func (s *Server) authenticateClient(c *fiber.Ctx, p *tokenParams) (*store.App, bool, error) {
	id, secret := p.ClientID, p.ClientSecret
	// Other schemes (a stale Bearer token some clients keep sending) leave the parameters.
	if scheme, value, _ := strings.Cut(c.Get(fiber.HeaderAuthorization), " "); strings.EqualFold(scheme, "Basic") {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
		if err != nil {
			return nil, false, nil
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return nil, false, nil
		}
		// RFC 6749 §2.3.1: both halves are form-encoded before being joined.
		if id, err = url.QueryUnescape(user); err != nil {
			return nil, false, nil
		}
		if secret, err = url.QueryUnescape(pass); err != nil {
			return nil, false, nil
		}
	}
	if id == "" || secret == "" {
		return nil, false, nil
	}
	app, err := s.store.App(c.UserContext(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if subtle.ConstantTimeCompare([]byte(app.ClientSecret), []byte(secret)) != 1 {
		return nil, false, nil
	}
	return app, true, nil
}

// oauthToken exchanges an authorization code, or the client's own credentials, for a token.
func (s *Server) oauthToken(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var p tokenParams
	if err := decodeParams(c, &p); err != nil {
		return oauthFail(c, fiber.StatusBadRequest, "invalid_request", "The request body could not be parsed.")
	}
	if p.GrantType == "" {
		return oauthFail(c, fiber.StatusBadRequest, "invalid_request", "Missing required parameter: grant_type.")
	}
	if p.GrantType == "password" && !s.cfg.PasswordSignIn {
		return oauthFail(c, fiber.StatusBadRequest, "unsupported_grant_type", passwordSignInOff)
	}
	if p.GrantType == "password" && !s.cfg.PasswordGrant {
		// toot login_cli and other command-line clients use this grant; tell them what works.
		return oauthFail(c, fiber.StatusBadRequest, "unsupported_grant_type",
			"This server does not accept passwords from apps. Sign in through the browser instead (for toot: toot login).")
	}
	if p.GrantType != "authorization_code" && p.GrantType != "client_credentials" && p.GrantType != "password" {
		return oauthFail(c, fiber.StatusBadRequest, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")
	}
	app, ok, err := s.authenticateClient(c, &p)
	if err != nil {
		return err
	}
	if !ok {
		return oauthFail(c, fiber.StatusUnauthorized, "invalid_client", descInvalidClient)
	}
	var accountID string
	var scopes []string
	switch p.GrantType {
	case "client_credentials":
		scopes, err = ParseScopes(p.Scope)
		if err != nil || !scopesWithin(scopes, app.Scopes) {
			return oauthFail(c, fiber.StatusBadRequest, "invalid_scope", descInvalidScope)
		}
	case "password":
		scopes, err = ParseScopes(p.Scope)
		if err != nil || !scopesWithin(scopes, app.Scopes) {
			return oauthFail(c, fiber.StatusBadRequest, "invalid_scope", descInvalidScope)
		}
		if p.Username == "" || p.Password == "" {
			return oauthFail(c, fiber.StatusBadRequest, "invalid_request", missingParam+"username and password.")
		}
		// The same sign-in as the form's, throttled the same way.
		acct, wait, err := s.signIn(ctx, p.Username, p.Password, s.clientAddress(c))
		switch {
		case err != nil:
			return err
		case wait > 0:
			c.Set(fiber.HeaderRetryAfter, retryAfter(wait))
			return oauthFail(c, fiber.StatusTooManyRequests, "invalid_grant", "Too many failed sign-in attempts; wait "+waitText(wait)+".")
		case acct == nil:
			return oauthFail(c, fiber.StatusBadRequest, "invalid_grant", "Invalid e-mail address, username or password.")
		case acct.Suspended:
			return oauthFail(c, fiber.StatusBadRequest, "invalid_grant", "Your login is currently disabled.")
		}
		accountID = acct.ID
	default:
		code, desc := s.redeemCode(ctx, app, &p)
		if code == nil {
			if desc == "" {
				desc = descInvalidGrant
			}
			return oauthFail(c, fiber.StatusBadRequest, grantErrorCode(desc), desc)
		}
		accountID, scopes = code.AccountID, code.Scopes
	}
	value, tok, err := s.store.CreateToken(ctx, app.ClientID, accountID, scopes)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderPragma, "no-cache")
	return c.JSON(mastodon.Token{AccessToken: value, TokenType: "Bearer", Scope: strings.Join(tok.Scopes, " "), CreatedAt: tok.CreatedAt.Unix()})
}

// missingParam prefixes descriptions of absent parameters, which are invalid_request errors.
const missingParam = "Missing required parameter: "

func grantErrorCode(desc string) string {
	if strings.HasPrefix(desc, missingParam) {
		return "invalid_request"
	}
	return "invalid_grant"
}

// redeemCode takes a presented authorization code and checks it against the request; it
// returns nil and why when the grant is refused. The code is spent even when refused, so a
// stolen code cannot be retried against the checks.
func (s *Server) redeemCode(ctx context.Context, app *store.App, p *tokenParams) (*store.AuthCode, string) {
	switch {
	case p.Code == "":
		return nil, missingParam + "code."
	case p.RedirectURI == "":
		return nil, missingParam + "redirect_uri."
	}
	code, err := s.store.TakeAuthCode(ctx, p.Code)
	if err != nil {
		return nil, ""
	}
	if code.ClientID != app.ClientID || code.RedirectURI != p.RedirectURI {
		return nil, ""
	}
	if code.CodeChallenge == "" {
		if p.CodeVerifier != "" {
			// OAuth 2.1 §4.1.3: a verifier without a challenge signals a downgrade attack.
			return nil, "A code_verifier was sent, but the authorization request had no code_challenge."
		}
		return code, ""
	}
	if p.CodeVerifier == "" || !pkceParam.MatchString(p.CodeVerifier) {
		return nil, "The code_verifier is missing or malformed."
	}
	sum := sha256.Sum256([]byte(p.CodeVerifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(code.CodeChallenge)) != 1 {
		return nil, "The code_verifier does not match the code_challenge."
	}
	return code, ""
}

// oauthRevoke revokes a token of the authenticated client (RFC 7009); unknown tokens are
// not an error.
func (s *Server) oauthRevoke(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var p tokenParams
	if err := decodeParams(c, &p); err != nil {
		return oauthFail(c, fiber.StatusBadRequest, "invalid_request", "The request body could not be parsed.")
	}
	app, ok, err := s.authenticateClient(c, &p)
	if err != nil {
		return err
	}
	if !ok {
		return oauthFail(c, fiber.StatusUnauthorized, "invalid_client", descInvalidClient)
	}
	if p.Token == "" {
		return oauthFail(c, fiber.StatusBadRequest, "invalid_request", missingParam+"token.")
	}
	tok, err := s.store.TokenByValue(ctx, p.Token)
	if errors.Is(err, store.ErrNotFound) {
		return c.JSON(fiber.Map{})
	}
	if err != nil {
		return err
	}
	if tok.ClientID != app.ClientID {
		return oauthFail(c, fiber.StatusForbidden, "unauthorized_client", "You are not authorized to revoke this token")
	}
	if err := s.store.RevokeToken(ctx, p.Token); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}
