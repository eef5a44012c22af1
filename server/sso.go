package server

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"watercooler/store"
)

// SSO is sign-in through the organization's OpenID provider (package sso).
type SSO interface {
	// Name names the provider on the sign-in button.
	Name() string
	// Start keeps the pending authorization request and returns the provider's URL to send the
	// browser to, and the state that comes back with it.
	Start(ctx context.Context, pending map[string]string) (redirect, state string, err error)
	// Finish takes the provider's callback parameters and returns the signed-in person's
	// account and the pending request. A refusal the person may read is an error with an
	// HTTPStatus() int method, its message client-safe.
	Finish(ctx context.Context, callback url.Values) (*store.Account, map[string]string, error)
}

// WithSSO offers sign-in through an OpenID provider on the authorization page.
func WithSSO(sso SSO) Option { return func(s *Server) { s.sso = sso } }

// ssoCallbackPath is where the provider returns; package sso builds the same URL.
const ssoCallbackPath = "/auth/oidc/callback"

// ssoStateCookie binds a sign-in at the provider to the browser that started it, so a
// callback URL cannot be handed to someone else to sign them in as another person.
const ssoStateCookie = "wc_oidc_state"

// passwordSignInOff is the answer to a password when only the provider signs people in.
const passwordSignInOff = "Signing in with a password is switched off on this server. Sign in with your organization's account instead."

// ssoStart sends the browser to the provider, carrying the authorization request the page
// showed; the click on the page is the person's consent, so it needs the page's CSRF token
// like the password form.
func (s *Server) ssoStart(c *fiber.Ctx) error {
	if s.sso == nil {
		return errNotFound
	}
	ctx := c.UserContext()
	r := readAuthRequest(c.FormValue)
	app, scopes, problem, err := s.checkAuthRequest(ctx, r)
	if err != nil {
		return err
	}
	if problem != nil {
		return s.refuseAuthRequest(c, r, problem)
	}
	secret, err := s.store.InstanceSecret(ctx)
	if err != nil {
		return err
	}
	if !validCSRF(secret, c.Cookies(csrfCookie), c.FormValue("authenticity_token"), r, time.Now()) {
		return s.renderAuthorizeForm(c, fiber.StatusForbidden, r, app, scopes, "",
			"This form has expired or did not come from this site. Please sign in again.")
	}
	pending := make(map[string]string)
	for _, f := range r.fields() {
		pending[f.Name] = f.Value
	}
	redirect, state, err := s.sso.Start(ctx, pending)
	if err != nil {
		s.log.Error("sso start", "err", err)
		return renderPage(c, fiber.StatusBadGateway, messageTemplate, messagePage{
			Title: "Sign-in failed", Instance: s.cfg.Title, IsError: true,
			Message: "The sign-in provider " + s.sso.Name() + " cannot be reached. Please try again later.",
		})
	}
	c.Cookie(&fiber.Cookie{
		Name: ssoStateCookie, Value: state, Path: ssoCallbackPath, HTTPOnly: true, MaxAge: 600,
		SameSite: fiber.CookieSameSiteLaxMode, Secure: strings.HasPrefix(s.cfg.URL, "https://"),
	})
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Redirect(redirect, fiber.StatusFound)
}

// ssoCallback finishes a sign-in at the provider and then the pending authorization request,
// exactly as the password form does once the password is right.
func (s *Server) ssoCallback(c *fiber.Ctx) error {
	if s.sso == nil {
		return errNotFound
	}
	ctx := c.UserContext()
	fail := func(status int, msg string) error {
		return renderPage(c, status, messageTemplate, messagePage{
			Title: "Sign-in failed", Instance: s.cfg.Title, IsError: true, Message: msg,
		})
	}
	q, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		return fail(fiber.StatusBadRequest, "The sign-in provider's answer could not be read.")
	}
	state := c.Cookies(ssoStateCookie)
	// The state is spent whatever happens next.
	c.Cookie(&fiber.Cookie{Name: ssoStateCookie, Path: ssoCallbackPath, HTTPOnly: true, MaxAge: -1, Expires: time.Unix(0, 0)})
	if state == "" || state != q.Get("state") {
		return fail(fiber.StatusBadRequest, "This sign-in was not started in this browser. Please start again from the app.")
	}
	acct, pending, err := s.sso.Finish(ctx, q)
	var refusal interface{ HTTPStatus() int }
	if errors.As(err, &refusal) {
		s.log.Warn("sso sign-in refused", "err", err, "cause", errors.Unwrap(err))
		return fail(refusal.HTTPStatus(), err.Error())
	}
	if err != nil {
		return err
	}
	if acct.Suspended {
		return fail(fiber.StatusForbidden, "Your login is currently disabled.")
	}
	r := readAuthRequest(func(key string, _ ...string) string { return pending[key] })
	app, scopes, problem, err := s.checkAuthRequest(ctx, r)
	if err != nil {
		return err
	}
	if problem != nil {
		return s.refuseAuthRequest(c, r, problem)
	}
	return s.issueAuthCode(c, r, app, scopes, acct)
}
