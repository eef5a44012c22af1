package server

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"watercooler/store"
)

// maxAccountNote is the longest private note Mastodon keeps about an account.
const maxAccountNote = 2000

// accountEndorse is POST /api/v1/accounts/:id/pin: feature an account one follows on one's
// profile.
func (s *Server) accountEndorse(c *fiber.Ctx) error {
	ctx := c.UserContext()
	target, err := s.relationshipTarget(c, "Endorsing your own account is not allowed")
	if err != nil {
		return err
	}
	following, err := s.store.Follows(ctx, me(c).ID, target.ID)
	if err != nil {
		return err
	}
	if !following {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: You must be following this account to endorse it")
	}
	if err := s.store.Endorse(ctx, me(c).ID, target.ID); errors.Is(err, store.ErrEndorseLimit) {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: You have already endorsed the maximum number of accounts")
	} else if err != nil {
		return err
	}
	return s.sendRelationship(c, target.ID)
}

// accountUnendorse is POST /api/v1/accounts/:id/unpin.
func (s *Server) accountUnendorse(c *fiber.Ctx) error {
	target, err := s.accountParam(c)
	if err != nil {
		return err
	}
	if err := s.store.Unendorse(c.UserContext(), me(c).ID, target.ID); err != nil {
		return err
	}
	return s.sendRelationship(c, target.ID)
}

// endorsementsList is GET /api/v1/endorsements: the accounts the viewer features.
func (s *Server) endorsementsList(c *fiber.Ctx) error {
	entries, err := s.store.Endorsements(c.UserContext(), me(c).ID, pageFrom(c, accountPageDefault, accountPageMax))
	if err != nil {
		return err
	}
	return s.sendAccountPage(c, entries)
}

// accountEndorsements is GET /api/v1/accounts/:id/endorsements: the accounts someone features
// on their profile, public as the profile is (Mastodon 4.4).
func (s *Server) accountEndorsements(c *fiber.Ctx) error {
	a, err := s.accountParam(c)
	if err != nil {
		return err
	}
	entries, err := s.store.Endorsements(c.UserContext(), a.ID, pageFrom(c, accountPageDefault, accountPageMax))
	if err != nil {
		return err
	}
	return s.sendAccountPage(c, entries)
}

// accountNote is POST /api/v1/accounts/:id/note: a private note about the account, seen only
// by its author in the relationship and never sent anywhere.
func (s *Server) accountNote(c *fiber.Ctx) error {
	target, err := s.accountParam(c)
	if err != nil {
		return err
	}
	var p struct {
		Comment string `json:"comment" form:"comment"`
	}
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	if utf8.RuneCountInString(p.Comment) > maxAccountNote {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Comment is too long (maximum is %d characters)", maxAccountNote)
	}
	if err := s.store.SetAccountNote(c.UserContext(), me(c).ID, target.ID, p.Comment); err != nil {
		return err
	}
	return s.sendRelationship(c, target.ID)
}

// domainBlocksList is GET /api/v1/domain_blocks: the domains the viewer blocks, as strings.
func (s *Server) domainBlocksList(c *fiber.Ctx) error {
	entries, err := s.store.BlockedDomains(c.UserContext(), me(c).ID, pageFrom(c, 100, 200))
	if err != nil {
		return err
	}
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Member
	}
	s.setLinkHeader(c, entries)
	return c.JSON(out)
}

// domainParam reads the domain parameter of the domain block endpoints.
func domainParam(c *fiber.Ctx) (string, error) {
	var p struct {
		Domain string `json:"domain" form:"domain" query:"domain"`
	}
	if err := decodeParams(c, &p); err != nil {
		return "", err
	}
	domain := strings.ToLower(strings.TrimSpace(p.Domain))
	if domain == "" {
		domain = strings.ToLower(strings.TrimSpace(c.Query("domain")))
	}
	if domain == "" || strings.ContainsAny(domain, "/@ ?#") {
		return "", errorf(fiber.StatusUnprocessableEntity, "Validation failed: Domain can't be blank")
	}
	return domain, nil
}

// domainBlock is POST /api/v1/domain_blocks: everything from the domain is hidden from the
// viewer (timelines, notifications, streams), and follows both ways with its accounts end,
// with the other servers told as an unfollow and a rejected follow, as Mastodon does.
func (s *Server) domainBlock(c *fiber.Ctx) error {
	ctx := c.UserContext()
	domain, err := domainParam(c)
	if err != nil {
		return err
	}
	if strings.EqualFold(domain, s.cfg.Domain()) {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Domain is this instance")
	}
	if err := s.blockDomain(ctx, me(c), domain); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

// blockDomain hides domain from self and ends the follows between self and its accounts.
func (s *Server) blockDomain(ctx context.Context, self *store.Account, domain string) error {
	if _, err := s.store.BlockDomainFor(ctx, self.ID, domain); err != nil {
		return err
	}
	return s.severDomain(ctx, self, domain)
}

// severDomain ends self's follows of, and by, accounts of domain.
func (s *Server) severDomain(ctx context.Context, self *store.Account, domain string) error {
	ofDomain := func(page func(context.Context, string, store.Page) ([]store.Entry, error)) ([]*store.Account, error) {
		var out []*store.Account
		p := store.Page{Limit: 200}
		for {
			entries, err := page(ctx, self.ID, p)
			if err != nil || len(entries) == 0 {
				return out, err
			}
			accounts, err := s.store.AccountsInOrder(ctx, store.Members(entries))
			if err != nil {
				return nil, err
			}
			for _, a := range accounts {
				if strings.EqualFold(a.Domain, domain) {
					out = append(out, a)
				}
			}
			if len(entries) < p.Limit {
				return out, nil
			}
			p.MaxID = entries[len(entries)-1].ID
		}
	}
	following, err := ofDomain(s.store.Following)
	if err != nil {
		return err
	}
	for _, a := range following {
		if err := s.store.Unfollow(ctx, self.ID, a.ID); err != nil {
			return err
		}
		s.federate("unfollow", func(f Federation) error { return f.Unfollowed(ctx, self, a) })
	}
	followers, err := ofDomain(s.store.Followers)
	if err != nil {
		return err
	}
	for _, a := range followers {
		if err := s.store.Unfollow(ctx, a.ID, self.ID); err != nil {
			return err
		}
		s.federate("remove follower", func(f Federation) error { return f.FollowRejected(ctx, a, self) })
	}
	return nil
}

// domainUnblock is DELETE /api/v1/domain_blocks.
func (s *Server) domainUnblock(c *fiber.Ctx) error {
	domain, err := domainParam(c)
	if err != nil {
		return err
	}
	if err := s.store.UnblockDomainFor(c.UserContext(), me(c).ID, domain); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}
