package server

import (
	"context"
	"errors"

	"github.com/gofiber/fiber/v2"

	"watercooler/store"
)

// actionTarget loads the status an action applies to: one the viewer may see, and for a boost
// the boosted status, since favourites, boosts and bookmarks always land on the original.
func (s *Server) actionTarget(ctx context.Context, v *store.Account, id string) (*store.Status, error) {
	st, err := s.visibleStatus(ctx, v, id)
	if err != nil {
		return nil, err
	}
	if st.ReblogOfID != "" {
		return s.visibleStatus(ctx, v, st.ReblogOfID)
	}
	return st, nil
}

// blocksAuthor reports whether v blocks the author of st; Mastodon refuses to let one boost or
// favourite a blocked account's statuses.
func (s *Server) blocksAuthor(ctx context.Context, v *store.Account, st *store.Status) (bool, error) {
	if st.AccountID == v.ID {
		return false, nil
	}
	rels, err := s.store.Relationships(ctx, v.ID, []string{st.AccountID})
	if err != nil {
		return false, err
	}
	return rels[0].Blocking, nil
}

// respondStatus answers with st rendered for the viewer, flags re-read after the action.
func (s *Server) respondStatus(c *fiber.Ctx, st *store.Status) error {
	out, err := s.renderStatus(c.UserContext(), viewer(c), st)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// statusReblog is POST /api/v1/statuses/:id/reblog; it answers the boost, wrapping the original.
func (s *Server) statusReblog(c *fiber.Ctx) error {
	ctx := c.UserContext()
	booster := me(c)
	st, err := s.actionTarget(ctx, booster, c.Params("id"))
	if err != nil {
		return err
	}
	var p struct {
		Visibility string `json:"visibility" form:"visibility"`
	}
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	allowed, err := s.store.MayReblog(ctx, booster, st)
	if err != nil {
		return err
	}
	if !allowed {
		return errForbidden
	}
	visibility := p.Visibility
	switch {
	case st.Visibility == store.VisibilityPrivate:
		visibility = st.Visibility // a boost must not widen the audience
	case visibility == "":
		visibility = store.VisibilityPublic
		if u, err := s.store.User(ctx, booster.ID); err == nil && u.Preferences.PostingVisibility != "" && u.Preferences.PostingVisibility != store.VisibilityDirect {
			visibility = u.Preferences.PostingVisibility
		}
	case visibility != store.VisibilityPublic && visibility != store.VisibilityUnlisted && visibility != store.VisibilityPrivate:
		return errVisibility
	}
	author, err := s.store.Account(ctx, st.AccountID)
	if err != nil {
		return err
	}
	boost, err := s.store.Reblog(ctx, booster, st, visibility, s.cfg.URL, author.Local())
	if err != nil {
		return err
	}
	s.federate("boost", func(f Federation) error { return f.Reblogged(ctx, boost, st) })
	return s.respondStatus(c, boost)
}

// statusUnreblog is POST /api/v1/statuses/:id/unreblog; it answers the original status.
func (s *Server) statusUnreblog(c *fiber.Ctx) error {
	ctx := c.UserContext()
	booster := me(c)
	st, err := s.actionTarget(ctx, booster, c.Params("id"))
	if err != nil {
		return err
	}
	boost, err := s.store.ReblogOf(ctx, booster.ID, st.ID)
	switch {
	case err == nil:
		if err := s.store.DeleteStatus(ctx, boost); err != nil {
			return err
		}
		s.federate("unboost", func(f Federation) error { return f.StatusDeleted(ctx, boost) })
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	return s.respondStatus(c, st)
}

// statusFavourite is POST /api/v1/statuses/:id/favourite; favouriting twice counts once.
func (s *Server) statusFavourite(c *fiber.Ctx) error {
	ctx := c.UserContext()
	fan := me(c)
	st, err := s.actionTarget(ctx, fan, c.Params("id"))
	if err != nil {
		return err
	}
	blocked, err := s.blocksAuthor(ctx, fan, st)
	if err != nil {
		return err
	}
	if blocked {
		return errForbidden
	}
	author, err := s.store.Account(ctx, st.AccountID)
	if err != nil {
		return err
	}
	if err := s.store.Favourite(ctx, fan.ID, st, author.Local()); err != nil {
		return err
	}
	s.federate("favourite", func(f Federation) error { return f.Favourited(ctx, fan, st) })
	return s.respondStatus(c, st)
}

// statusUnfavourite is POST /api/v1/statuses/:id/unfavourite.
func (s *Server) statusUnfavourite(c *fiber.Ctx) error {
	ctx := c.UserContext()
	st, err := s.actionTarget(ctx, me(c), c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.store.Unfavourite(ctx, me(c).ID, st.ID); err != nil {
		return err
	}
	s.federate("unfavourite", func(f Federation) error { return f.Unfavourited(ctx, me(c), st) })
	return s.respondStatus(c, st)
}

// statusBookmark is POST /api/v1/statuses/:id/bookmark.
func (s *Server) statusBookmark(c *fiber.Ctx) error {
	ctx := c.UserContext()
	st, err := s.actionTarget(ctx, me(c), c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.store.Bookmark(ctx, me(c).ID, st.ID); err != nil {
		return err
	}
	return s.respondStatus(c, st)
}

// statusUnbookmark is POST /api/v1/statuses/:id/unbookmark.
func (s *Server) statusUnbookmark(c *fiber.Ctx) error {
	ctx := c.UserContext()
	st, err := s.actionTarget(ctx, me(c), c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.store.Unbookmark(ctx, me(c).ID, st.ID); err != nil {
		return err
	}
	return s.respondStatus(c, st)
}

// statusPin is POST /api/v1/statuses/:id/pin, with the checks and messages of Mastodon's
// StatusPinValidator.
func (s *Server) statusPin(c *fiber.Ctx) error {
	ctx := c.UserContext()
	owner := me(c)
	st, err := s.visibleStatus(ctx, owner, c.Params("id"))
	if err != nil {
		return err
	}
	switch {
	case st.ReblogOfID != "":
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: A boost cannot be pinned")
	case st.AccountID != owner.ID:
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Someone else's post cannot be pinned")
	case st.Visibility == store.VisibilityDirect:
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Posts that are only visible to mentioned users cannot be pinned")
	}
	err = s.store.Pin(ctx, owner.ID, st.ID)
	if errors.Is(err, store.ErrPinLimit) {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: You have already pinned the maximum number of posts")
	}
	if err != nil {
		return err
	}
	return s.respondStatus(c, st)
}

// statusUnpin is POST /api/v1/statuses/:id/unpin.
func (s *Server) statusUnpin(c *fiber.Ctx) error {
	ctx := c.UserContext()
	st, err := s.visibleStatus(ctx, me(c), c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.store.Unpin(ctx, me(c).ID, st.ID); err != nil {
		return err
	}
	return s.respondStatus(c, st)
}

// statusAccounts answers a page of the accounts that boosted or favourited a visible status.
func (s *Server) statusAccounts(c *fiber.Ctx, page func(ctx context.Context, statusID string, p store.Page) ([]store.Entry, error)) error {
	ctx := c.UserContext()
	st, err := s.visibleStatus(ctx, viewer(c), c.Params("id"))
	if err != nil {
		return err
	}
	entries, err := page(ctx, st.ID, pageFrom(c, 40, 80))
	if err != nil {
		return err
	}
	accounts, err := s.store.AccountsInOrder(ctx, store.Members(entries))
	if err != nil {
		return err
	}
	out, err := s.renderAccounts(ctx, accounts)
	if err != nil {
		return err
	}
	s.setLinkHeader(c, entries)
	return c.JSON(out)
}

// statusRebloggedBy is GET /api/v1/statuses/:id/reblogged_by.
func (s *Server) statusRebloggedBy(c *fiber.Ctx) error {
	return s.statusAccounts(c, s.store.RebloggedBy)
}

// statusFavouritedBy is GET /api/v1/statuses/:id/favourited_by.
func (s *Server) statusFavouritedBy(c *fiber.Ctx) error {
	return s.statusAccounts(c, s.store.FavouritedBy)
}

// favouritesList is GET /api/v1/favourites, paginated by favourite id as in Mastodon.
func (s *Server) favouritesList(c *fiber.Ctx) error {
	return s.ownCollection(c, s.store.Favourites)
}

// bookmarksList is GET /api/v1/bookmarks, paginated by bookmark id as in Mastodon.
func (s *Server) bookmarksList(c *fiber.Ctx) error {
	return s.ownCollection(c, s.store.Bookmarks)
}

// ownCollection answers a page of one of the viewer's status collections.
func (s *Server) ownCollection(c *fiber.Ctx, page func(ctx context.Context, accountID string, p store.Page) ([]store.Entry, error)) error {
	ctx := c.UserContext()
	entries, err := page(ctx, me(c).ID, pageFrom(c, 20, 40))
	if err != nil {
		return err
	}
	out, err := s.renderEntries(ctx, me(c), entries, "")
	if err != nil {
		return err
	}
	s.setLinkHeader(c, entries)
	return c.JSON(out)
}
