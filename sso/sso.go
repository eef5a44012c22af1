// Package sso signs people in with the organization's OpenID Connect provider: the
// authorization code flow with PKCE, the ID token checked by go-oidc, and the person's local
// account found through its link to (issuer, subject) or created at the first sign-in.
package sso

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"watercooler/config"
	"watercooler/signup"
	"watercooler/store"
	"watercooler/text"
)

// CallbackPath is where the provider sends the browser back, on the instance's own URL.
const CallbackPath = "/auth/oidc/callback"

// flowLifetime bounds how long a person may take at the provider's sign-in page.
const flowLifetime = 10 * time.Minute

// Refusal is a sign-in refused for a reason the person may read; Status is the HTTP status
// the page answers with.
type Refusal struct {
	Status  int
	Message string
	// Err is the cause, for the operator's log only.
	Err error
}

func (r *Refusal) Error() string { return r.Message }

// Unwrap returns the cause.
func (r *Refusal) Unwrap() error { return r.Err }

// HTTPStatus lets the server pick the page's status without importing this package.
func (r *Refusal) HTTPStatus() int { return r.Status }

func refuse(status int, msg string) error { return &Refusal{Status: status, Message: msg} }

func refuseFor(err error, status int, msg string) error {
	return &Refusal{Status: status, Message: msg, Err: err}
}

// Provider is one instance's sign-in through one OpenID provider.
type Provider struct {
	cfg     config.OIDC
	baseURL string
	st      *store.Store
	hasher  signup.Hasher
	client  *http.Client

	mu sync.Mutex
	// discovered is the provider's metadata and keys, fetched at the first sign-in: the
	// provider may start after the instance. A failed discovery is tried again next time.
	discovered *oidc.Provider
}

// New makes the sign-in of the instance at baseURL through the provider cfg names. client
// makes every request to the provider: its URLs come from the operator's issuer and the
// discovery document it serves, never from a user.
func New(cfg config.OIDC, baseURL string, st *store.Store, hasher signup.Hasher, client *http.Client) *Provider {
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Name == "" {
		if u, err := url.Parse(cfg.Issuer); err == nil {
			cfg.Name = u.Host
		}
	}
	return &Provider{cfg: cfg, baseURL: strings.TrimSuffix(baseURL, "/"), st: st, hasher: hasher, client: client}
}

// Name is the provider's name for the sign-in button.
func (p *Provider) Name() string { return p.cfg.Name }

func (p *Provider) provider(ctx context.Context) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.discovered != nil {
		return p.discovered, nil
	}
	// go-oidc keeps only the client from this context for its later key fetches.
	prov, err := oidc.NewProvider(oidc.ClientContext(ctx, p.client), p.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", p.cfg.Issuer, err)
	}
	p.discovered = prov
	return prov, nil
}

func (p *Provider) oauth2Config(prov *oidc.Provider) *oauth2.Config {
	scopes := []string{oidc.ScopeOpenID, "profile", "email"}
	if p.cfg.GroupsClaim != "" {
		// Many providers (Keycloak, Dex, mockoidc) release the groups claim only for this scope;
		// the rest ignore an unknown scope.
		scopes = append(scopes, "groups")
	}
	return &oauth2.Config{
		ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret,
		Endpoint: prov.Endpoint(), RedirectURL: p.baseURL + CallbackPath, Scopes: scopes,
	}
}

// Start begins a sign-in for the instance's pending OAuth request and returns the provider's
// authorization URL and the state, which the caller binds to the browser.
func (p *Provider) Start(ctx context.Context, pending map[string]string) (redirect, state string, err error) {
	prov, err := p.provider(ctx)
	if err != nil {
		return "", "", err
	}
	state, nonce, verifier := store.RandomToken(24), store.RandomToken(24), oauth2.GenerateVerifier()
	if err := p.st.PutSSOFlow(ctx, state, &store.SSOFlow{Verifier: verifier, Nonce: nonce, Pending: pending}, flowLifetime); err != nil {
		return "", "", err
	}
	return p.oauth2Config(prov).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), state, nil
}

// claims are the ID token's claims a sign-in uses; the groups come from the configured claim.
type claims struct {
	Subject           string `json:"sub"`
	PreferredUsername string `json:"preferred_username"`
	Name              string `json:"name"`
	Email             string `json:"email"`
	// EmailVerified is absent with many providers; only an explicit false drops the e-mail.
	EmailVerified *bool `json:"email_verified"`
	groups        []string
}

// Finish completes a sign-in from the provider's callback parameters: it spends the state,
// redeems the code with the PKCE verifier, verifies the ID token and its nonce, and returns
// the person's local account with the pending OAuth request it started from.
func (p *Provider) Finish(ctx context.Context, q url.Values) (*store.Account, map[string]string, error) {
	flow, err := p.st.TakeSSOFlow(ctx, q.Get("state"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, refuse(http.StatusBadRequest, "This sign-in has expired or was already used. Please start again from the app.")
	}
	if err != nil {
		return nil, nil, err
	}
	if e := q.Get("error"); e != "" {
		return nil, nil, refuse(http.StatusForbidden, "The sign-in provider did not sign you in ("+e+").")
	}
	prov, err := p.provider(ctx)
	if err != nil {
		return nil, nil, err
	}
	cctx := oidc.ClientContext(ctx, p.client)
	tok, err := p.oauth2Config(prov).Exchange(cctx, q.Get("code"), oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		return nil, nil, refuseFor(err, http.StatusBadGateway, "The sign-in provider did not confirm the sign-in.")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, nil, refuse(http.StatusBadGateway, "The sign-in provider sent no ID token.")
	}
	idt, err := prov.Verifier(&oidc.Config{ClientID: p.cfg.ClientID}).Verify(cctx, raw)
	if err != nil {
		return nil, nil, refuseFor(err, http.StatusForbidden, "The sign-in provider's ID token could not be verified.")
	}
	if idt.Nonce != flow.Nonce {
		return nil, nil, refuse(http.StatusForbidden, "The sign-in provider's ID token was not issued for this sign-in.")
	}
	c, err := p.readClaims(idt.Claims)
	if err != nil {
		return nil, nil, refuseFor(err, http.StatusForbidden, "The sign-in provider's ID token could not be read.")
	}
	c.Subject = idt.Subject
	if err := p.completeFromUserInfo(cctx, prov, tok, c); err != nil {
		return nil, nil, err
	}
	acct, err := p.account(ctx, idt.Issuer, c)
	if err != nil {
		return nil, nil, err
	}
	return acct, flow.Pending, nil
}

// needsGroups reports whether sign-in decisions depend on the person's groups.
func (p *Provider) needsGroups() bool {
	return p.cfg.GroupsClaim != "" && (len(p.cfg.AllowedGroups) > 0 || p.cfg.AdminGroup != "")
}

// completeFromUserInfo fills the claims the ID token lacks from the UserInfo endpoint: with
// an access token, a provider may keep the profile, e-mail and groups claims there alone
// (OpenID Connect Core §5.4). When groups decide and cannot be read, the sign-in fails rather
// than treating the person as outside every group.
func (p *Provider) completeFromUserInfo(ctx context.Context, prov *oidc.Provider, tok *oauth2.Token, c *claims) error {
	missingGroups := p.needsGroups() && c.groups == nil
	if !missingGroups && c.Name != "" && (c.PreferredUsername != "" || c.Email != "") || prov.UserInfoEndpoint() == "" {
		return nil
	}
	info, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err == nil && info.Subject != c.Subject {
		err = fmt.Errorf("userinfo subject %q is not the ID token's %q", info.Subject, c.Subject)
	}
	var more *claims
	if err == nil {
		more, err = p.readClaims(info.Claims)
	}
	if err != nil {
		if missingGroups {
			return refuseFor(err, http.StatusBadGateway, "Your groups could not be read from the sign-in provider. Please try again later.")
		}
		return nil // the ID token's claims suffice to name the account
	}
	if c.PreferredUsername == "" {
		c.PreferredUsername = more.PreferredUsername
	}
	if c.Name == "" {
		c.Name = more.Name
	}
	if c.Email == "" {
		c.Email, c.EmailVerified = more.Email, more.EmailVerified
	}
	if c.groups == nil {
		c.groups = more.groups
	}
	return nil
}

// readClaims decodes the claims a sign-in uses, from the ID token or the UserInfo answer;
// groups is nil when the groups claim is absent.
func (p *Provider) readClaims(decode func(any) error) (*claims, error) {
	var c claims
	if err := decode(&c); err != nil {
		return nil, err
	}
	if p.cfg.GroupsClaim == "" {
		return &c, nil
	}
	var all map[string]any
	if err := decode(&all); err != nil {
		return nil, err
	}
	switch g := all[p.cfg.GroupsClaim].(type) {
	case string:
		c.groups = []string{g}
	case []any:
		c.groups = []string{} // present, perhaps empty
		for _, v := range g {
			if s, ok := v.(string); ok {
				c.groups = append(c.groups, s)
			}
		}
	}
	return &c, nil
}

// account finds or creates the person's account, after the group checks; a person outside
// the allowed groups loses every token their linked account had.
func (p *Provider) account(ctx context.Context, issuer string, c *claims) (*store.Account, error) {
	linked, err := p.st.SSOLink(ctx, issuer, c.Subject)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if len(p.cfg.AllowedGroups) > 0 && !slices.ContainsFunc(c.groups, func(g string) bool { return slices.Contains(p.cfg.AllowedGroups, g) }) {
		if linked != "" {
			if err := p.st.RevokeAccountTokens(ctx, linked); err != nil {
				return nil, err
			}
		}
		return nil, refuse(http.StatusForbidden, "Your account at the sign-in provider is not in a group allowed on this server. Ask your administrator for access.")
	}
	admin := p.cfg.AdminGroup != "" && slices.Contains(c.groups, p.cfg.AdminGroup)
	if linked == "" {
		ok, err := p.st.ClaimSSOFirstSignIn(ctx, issuer, c.Subject, time.Minute)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, refuse(http.StatusConflict, "Your account is being created by another sign-in. Please try again in a moment.")
		}
		defer func() { _ = p.st.ReleaseSSOFirstSignIn(context.WithoutCancel(ctx), issuer, c.Subject) }()
		// The other sign-in may have finished between the look-up and the claim.
		switch id, err := p.st.SSOLink(ctx, issuer, c.Subject); {
		case err == nil:
			linked = id
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		default:
			return p.create(ctx, issuer, c, admin)
		}
	}
	acct, err := p.st.Account(ctx, linked)
	if err != nil {
		return nil, err
	}
	u, err := p.st.User(ctx, linked)
	if err != nil {
		return nil, err
	}
	if p.cfg.AdminGroup != "" && u.Admin != admin {
		u.Admin = admin
		if err := p.st.UpdateUser(ctx, u); err != nil {
			return nil, err
		}
	}
	return acct, nil
}

// create makes the account of a first sign-in: a valid, unused username from the claims, and
// a random password no one knows, so it signs in only through the provider.
func (p *Provider) create(ctx context.Context, issuer string, c *claims, admin bool) (*store.Account, error) {
	email := c.Email
	if c.EmailVerified != nil && !*c.EmailVerified {
		email = ""
	}
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email {
		email = ""
	} else if _, err := p.st.UserByLogin(ctx, email); err == nil {
		// Someone already signs in with this address; taking it over on the provider's word
		// alone would hand them that account, so the new one goes without.
		email = ""
	}
	base := usernameBase(c)
	for i := 1; i <= 50; i++ {
		name := base
		if i > 1 {
			suffix := strconv.Itoa(i)
			name = base[:min(len(base), 30-len(suffix))] + suffix
		}
		if signup.Reserved(name, p.baseURL) {
			continue
		}
		if _, err := p.st.AccountByAcct(ctx, name); err == nil {
			continue
		}
		acct, err := signup.Create(ctx, p.st, p.hasher, p.baseURL, signup.Params{
			Username: name, Email: email, Password: store.RandomToken(36), DisplayName: displayName(c.Name), Admin: admin,
		})
		if errors.Is(err, store.ErrConflict) {
			continue // taken meanwhile
		}
		if err != nil {
			return nil, err
		}
		if err := p.st.LinkSSO(ctx, issuer, c.Subject, acct.ID); err != nil {
			return nil, err
		}
		return acct, nil
	}
	return nil, fmt.Errorf("no free username for %q", base)
}

// usernameBase makes Mastodon's username rule (letters, digits, underscore; at most 30) out of
// preferred_username or the e-mail's local part.
func usernameBase(c *claims) string {
	src := c.PreferredUsername
	if src == "" {
		src, _, _ = strings.Cut(c.Email, "@")
	}
	var b strings.Builder
	for _, r := range src {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case r == '.' || r == '-' || r == ' ':
			b.WriteByte('_')
		}
	}
	name := strings.Trim(b.String(), "_")
	if len(name) > 30 {
		name = name[:30]
	}
	if name == "" || !text.ValidUsername(name) {
		name = "user"
	}
	return name
}

// displayName keeps Mastodon's limit of 30 characters.
func displayName(name string) string {
	name = strings.TrimSpace(name)
	if r := []rune(name); len(r) > 30 {
		return strings.TrimSpace(string(r[:30]))
	}
	return name
}
