package server

import (
	"errors"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/store"
)

// Keys of the request-scoped values set by authenticate.
const (
	localToken   = "wc.token"
	localAccount = "wc.account"
	localUser    = "wc.user"
)

// authenticate resolves a bearer token when one is presented; a presented but unknown token is
// refused even on public endpoints, as Mastodon does.
func (s *Server) authenticate(c *fiber.Ctx) error {
	value := bearerToken(c)
	if value == "" {
		return c.Next()
	}
	tok, acct, err := s.store.TokenAccount(c.UserContext(), value)
	if tok == nil {
		if errors.Is(err, store.ErrNotFound) {
			return errUnauthorized
		}
		return err
	}
	c.Locals(localToken, tok)
	if tok.AccountID != "" {
		if err != nil {
			return errUnauthorized // the token's account is gone or unreadable
		}
		if acct.Suspended {
			return errorf(fiber.StatusForbidden, "Your login is currently disabled")
		}
		c.Locals(localAccount, acct)
	}
	return c.Next()
}

// bearerRealm names the protected resource in WWW-Authenticate challenges.
const bearerRealm = "Watercooler"

// bearerChallenge is the WWW-Authenticate value of a 401 (RFC 6750 §3): with error
// "invalid_token" when the request presented a token that was refused, bare when it presented
// none, which RFC 6750 says should carry no error code.
func bearerChallenge(presented string) string {
	if presented == "" {
		return `Bearer realm="` + bearerRealm + `"`
	}
	return `Bearer realm="` + bearerRealm + `", error="invalid_token", error_description="The access token is invalid"`
}

func bearerToken(c *fiber.Ctx) string {
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		scheme, value, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(value)
		}
		return ""
	}
	return c.Query("access_token")
}

// requireScope admits requests whose user token grants one of scopes (like "write:statuses").
func requireScope(scopes ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		tok, _ := c.Locals(localToken).(*store.Token)
		if tok == nil || tok.AccountID == "" {
			return errUnauthorized
		}
		if !slices.ContainsFunc(scopes, func(sc string) bool { return ScopeAllows(tok.Scopes, sc) }) {
			return errScope
		}
		return c.Next()
	}
}

// scopeIfToken admits anonymous requests, and requests whose token (a user's or an app's)
// grants scope, as Mastodon's authorize_if_got_token! does: a token presented is the client
// speaking for its user, so a token granted only "profile" or "write:media" must not read what
// its user may read (their followers-only and direct posts among it).
func scopeIfToken(scope string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if tok := token(c); tok != nil && !ScopeAllows(tok.Scopes, scope) {
			return errScope
		}
		return c.Next()
	}
}

// requireAppScope admits any valid token, app-only (client_credentials) tokens included.
func requireAppScope(scope string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		tok, _ := c.Locals(localToken).(*store.Token)
		if tok == nil {
			return errUnauthorized
		}
		if scope != "" && !ScopeAllows(tok.Scopes, scope) {
			return errScope
		}
		return c.Next()
	}
}

// legacyFollowScope lists what the old "follow" scope grants.
var legacyFollowScope = []string{"read:follows", "write:follows", "read:blocks", "write:blocks", "read:mutes", "write:mutes"}

// ScopeAllows reports whether granted scopes include needed: the exact scope, its parent
// ("read" covers "read:statuses", "admin:read" covers "admin:read:accounts"), or the legacy
// "follow" scope for relationship scopes.
func ScopeAllows(granted []string, needed string) bool {
	parent := needed
	if i := strings.LastIndex(needed, ":"); i > 0 {
		parent = needed[:i]
	}
	for _, g := range granted {
		if g == needed || g == parent || (g == "follow" && slices.Contains(legacyFollowScope, needed)) {
			return true
		}
	}
	return false
}

// KnownScopes are the scopes an app or token may ask for.
var knownScopes = []string{
	"read", "write", "follow", "push", "profile",
	"read:accounts", "read:blocks", "read:bookmarks", "read:favourites", "read:filters", "read:follows",
	"read:lists", "read:mutes", "read:notifications", "read:search", "read:statuses",
	"write:accounts", "write:blocks", "write:bookmarks", "write:conversations", "write:favourites",
	"write:filters", "write:follows", "write:lists", "write:media", "write:mutes", "write:notifications",
	"write:reports", "write:statuses",
	"admin:read", "admin:write",
	"admin:read:accounts", "admin:write:accounts", "admin:read:reports", "admin:write:reports",
	"admin:read:domain_blocks", "admin:write:domain_blocks", "admin:read:domain_allows", "admin:write:domain_allows",
}

// ParseScopes splits a space- or plus-separated scope string, rejecting unknown scopes.
func ParseScopes(s string) ([]string, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '+' || r == ',' })
	if len(fields) == 0 {
		return []string{"read"}, nil
	}
	var out []string
	for _, f := range fields {
		if !slices.Contains(knownScopes, f) {
			return nil, errorf(fiber.StatusBadRequest, "The requested scope is invalid, unknown, or malformed: %s", f)
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// viewer is the signed-in account, or nil for anonymous requests.
func viewer(c *fiber.Ctx) *store.Account {
	a, _ := c.Locals(localAccount).(*store.Account)
	return a
}

// me is the signed-in account of a route behind requireScope.
func me(c *fiber.Ctx) *store.Account { return viewer(c) }

// token is the presented token, or nil.
func token(c *fiber.Ctx) *store.Token {
	t, _ := c.Locals(localToken).(*store.Token)
	return t
}
