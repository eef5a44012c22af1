package server

import (
	"errors"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/store"
)

// Account migration as Mastodon does it (Settings → Account → Moving to/from a different
// account), exposed as Watercooler extensions of the client API because Mastodon 4.x has no
// public API for it:
//
//	GET    /api/v1/accounts/aliases             the accounts the viewer says they also are
//	POST   /api/v1/accounts/aliases  acct=...   add one (user@host or actor URI)
//	DELETE /api/v1/accounts/aliases  acct=...   remove one
//	POST   /api/v1/accounts/migration acct=... current_password=...   move to acct
//
// The new account first adds the old one as an alias; then the old account moves.

// maxAliases bounds alsoKnownAs, as Mastodon's validation does.
const maxAliases = 10

// aliasesList is GET /api/v1/accounts/aliases.
func (s *Server) aliasesList(c *fiber.Ctx) error {
	return s.sendAliases(c, me(c))
}

func (s *Server) sendAliases(c *fiber.Ctx, acct *store.Account) error {
	ctx := c.UserContext()
	out := make([]*store.Account, 0, len(acct.AlsoKnownAs))
	for _, uri := range acct.AlsoKnownAs {
		a, err := s.store.AccountByURI(ctx, uri)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		out = append(out, a)
	}
	entities, err := s.accountEntities(ctx, out)
	if err != nil {
		return err
	}
	return c.JSON(entities)
}

// aliasAdd is POST /api/v1/accounts/aliases: name an account the viewer moves from.
func (s *Server) aliasAdd(c *fiber.Ctx) error {
	return s.changeAliases(c, true)
}

// aliasRemove is DELETE /api/v1/accounts/aliases.
func (s *Server) aliasRemove(c *fiber.Ctx) error {
	return s.changeAliases(c, false)
}

func (s *Server) changeAliases(c *fiber.Ctx, add bool) error {
	if s.fed == nil {
		return errorf(fiber.StatusUnprocessableEntity, "This instance does not federate")
	}
	var p struct {
		Acct string `json:"acct" form:"acct"`
	}
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	p.Acct = strings.TrimPrefix(strings.TrimSpace(p.Acct), "@")
	if p.Acct == "" {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Acct can't be blank")
	}
	ctx := c.UserContext()
	viewer := me(c)
	other, err := s.fed.ResolveAccountQuery(ctx, p.Acct)
	if err != nil {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Acct can't be resolved")
	}
	aliases := slices.Clone(viewer.AlsoKnownAs)
	if add {
		if other.ID == viewer.ID {
			return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Acct can't be yourself")
		}
		if !slices.Contains(aliases, other.URI) {
			aliases = append(aliases, other.URI)
		}
		if len(aliases) > maxAliases {
			return errorf(fiber.StatusUnprocessableEntity, "Validation failed: You can have at most %d aliases", maxAliases)
		}
	} else {
		aliases = slices.DeleteFunc(aliases, func(u string) bool { return u == other.URI })
	}
	updated, err := s.fed.SetAliases(ctx, viewer, aliases)
	if err != nil {
		return err
	}
	return s.sendAliases(c, updated)
}

// accountMigrate is POST /api/v1/accounts/migration: move the viewer's account to acct, which
// must list it as an alias. Answers with the viewer's account, now carrying moved.
func (s *Server) accountMigrate(c *fiber.Ctx) error {
	if s.fed == nil {
		return errorf(fiber.StatusUnprocessableEntity, "This instance does not federate")
	}
	var p struct {
		Acct            string `json:"acct" form:"acct"`
		CurrentPassword string `json:"current_password" form:"current_password"`
	}
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	p.Acct = strings.TrimPrefix(strings.TrimSpace(p.Acct), "@")
	if p.Acct == "" {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Acct can't be blank")
	}
	ctx := c.UserContext()
	viewer := me(c)
	u, err := s.store.User(ctx, viewer.ID)
	if err != nil {
		return err
	}
	// Mastodon asks for the password before a move, which cannot be undone from the new side;
	// an account that signs in only through SSO has none to ask for.
	if u.PasswordHash != "" && !s.hasher.Check(u.PasswordHash, p.CurrentPassword) {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Current password is invalid")
	}
	if viewer.MovedToURI != "" {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: This account has already moved")
	}
	target, err := s.fed.ResolveAccountQuery(ctx, p.Acct)
	if err != nil {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Acct can't be resolved")
	}
	if _, err := s.fed.MoveAccount(ctx, viewer, target.URI); errors.Is(err, store.ErrMoveNotConfirmed) {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Acct must list this account as an alias")
	} else if err != nil {
		return err
	}
	return s.verifyCredentials(c)
}
