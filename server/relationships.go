package server

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// flatForm holds a request's parameters under their Rails names, whatever the body's shape:
// fields_attributes[0][name] from a form and {"fields_attributes":[{"name":…}]} from JSON
// both land under "fields_attributes[0][name]", and arrays of scalars under "name[]". Body
// values come after query values, so the body wins as it does in Rails.
type flatForm map[string][]string

// lookup returns the last value sent under name.
func (f flatForm) lookup(name string) (string, bool) {
	vs := f[name]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// get returns the value sent under name, or "".
func (f flatForm) get(name string) string {
	v, _ := f.lookup(name)
	return v
}

// list collects an array parameter sent as name, name[] or name[N] (in index order).
func (f flatForm) list(name string) []string {
	out := append(append([]string(nil), f[name]...), f[name+"[]"]...)
	type indexed struct {
		n int
		v string
	}
	var byIndex []indexed
	for k, vs := range f {
		idx, ok := strings.CutPrefix(k, name+"[")
		if !ok || !strings.HasSuffix(idx, "]") {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSuffix(idx, "]")); err == nil {
			for _, v := range vs {
				byIndex = append(byIndex, indexed{n, v})
			}
		}
	}
	slices.SortStableFunc(byIndex, func(a, b indexed) int { return cmp.Compare(a.n, b.n) })
	for _, x := range byIndex {
		out = append(out, x.v)
	}
	return out
}

// relationshipEntities renders how accountID relates to each of targetIDs, in order.
func (s *Server) relationshipEntities(ctx context.Context, accountID string, targetIDs []string) ([]mastodon.Relationship, error) {
	rels, err := s.store.Relationships(ctx, accountID, targetIDs)
	if err != nil {
		return nil, err
	}
	blockedDomains, err := s.store.BlockedDomainSet(ctx, accountID)
	if err != nil {
		return nil, err
	}
	domainOf := map[string]string{}
	if len(blockedDomains) > 0 {
		accounts, err := s.store.AccountsInOrder(ctx, targetIDs)
		if err != nil {
			return nil, err
		}
		for _, a := range accounts {
			domainOf[a.ID] = strings.ToLower(a.Domain)
		}
	}
	out := make([]mastodon.Relationship, len(rels))
	for i, r := range rels {
		out[i] = mastodon.Relationship{
			ID: r.ID, Following: r.Following, ShowingReblogs: r.ShowingReblogs, Notifying: r.Notifying,
			Languages: r.Languages, FollowedBy: r.FollowedBy, Blocking: r.Blocking, BlockedBy: r.BlockedBy,
			Muting: r.Muting, MutingNotifications: r.MutingNotifications, Requested: r.Requested,
			RequestedBy: r.RequestedBy, Endorsed: r.Endorsed, Note: r.Note,
			DomainBlocking: domainOf[r.ID] != "" && blockedDomains[domainOf[r.ID]],
		}
	}
	return out, nil
}

// sendRelationship answers with the viewer's relationship to one account.
func (s *Server) sendRelationship(c *fiber.Ctx, targetID string) error {
	out, err := s.relationshipEntities(c.UserContext(), me(c).ID, []string{targetID})
	if err != nil {
		return err
	}
	return c.JSON(out[0])
}

// relationships is GET /api/v1/accounts/relationships?id[]=…, in the order asked. Unknown and
// suspended accounts are left out unless with_suspended=true keeps the suspended ones.
func (s *Server) relationships(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var ids []string
	for _, id := range queryList(c, "id") {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	accounts, err := s.store.Accounts(ctx, ids)
	if err != nil {
		return err
	}
	withSuspended := queryBool(c, "with_suspended")
	ids = slices.DeleteFunc(ids, func(id string) bool {
		a, ok := accounts[id]
		return !ok || (a.Suspended && !withSuspended)
	})
	out, err := s.relationshipEntities(ctx, me(c).ID, ids)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// relationshipTarget loads the :id account that the signed-in user acts upon; acting on a
// suspended account is 404 as in Mastodon, and on oneself is refused with selfMsg.
func (s *Server) relationshipTarget(c *fiber.Ctx, selfMsg string) (*store.Account, error) {
	target, err := s.accountParam(c)
	if err != nil {
		return nil, err
	}
	if target.ID == me(c).ID {
		return nil, errorf(fiber.StatusForbidden, "%s", selfMsg)
	}
	if target.Suspended {
		return nil, errNotFound
	}
	return target, nil
}

// accountFollow is POST /api/v1/accounts/:id/follow. Following again only changes the options
// that were sent. Locked accounts get a follow request, and so do remote ones until federation
// delivers the Follow and receives the Accept.
func (s *Server) accountFollow(c *fiber.Ctx) error {
	ctx := c.UserContext()
	self := me(c)
	target, err := s.relationshipTarget(c, "Following your own account is not allowed")
	if err != nil {
		return err
	}
	ps, err := flatParams(c)
	if err != nil {
		return err
	}
	rels, err := s.store.Relationships(ctx, self.ID, []string{target.ID})
	if err != nil {
		return err
	}
	rel := rels[0]
	if rel.Blocking || rel.BlockedBy {
		return errForbidden
	}
	opts := store.FollowOptions{ShowReblogs: true}
	if rel.Following || rel.Requested {
		opts = store.FollowOptions{ShowReblogs: rel.ShowingReblogs, Notify: rel.Notifying, Languages: rel.Languages}
	}
	if v, ok := ps.lookup("reblogs"); ok {
		opts.ShowReblogs = railsTrue(v)
	}
	if v, ok := ps.lookup("notify"); ok {
		opts.Notify = railsTrue(v)
	}
	if langs := ps.list("languages"); len(langs) > 0 {
		opts.Languages = slices.DeleteFunc(langs, func(l string) bool { return !validLanguage(l) || l == "" })
	}
	if _, err := s.followTarget(ctx, self, target, rel, opts); err != nil {
		return err
	}
	return s.sendRelationship(c, target.ID)
}

// followTarget makes self follow target with opts, rel being their relationship: at once when
// self follows already or target is local and unlocked, else by a follow request, which
// federation delivers to a remote target's server. It reports whether self follows now.
func (s *Server) followTarget(ctx context.Context, self, target *store.Account, rel store.Relationship, opts store.FollowOptions) (bool, error) {
	if rel.Following || (target.Local() && !target.Locked) {
		return true, s.store.Follow(ctx, self, target, opts)
	}
	if err := s.store.RequestFollow(ctx, self, target, opts); err != nil {
		return false, err
	}
	if !rel.Requested {
		s.federate("follow", func(f Federation) error { return f.FollowRequested(ctx, self, target) })
	}
	return false, nil
}

// accountUnfollow is POST /api/v1/accounts/:id/unfollow; it also withdraws a pending request.
func (s *Server) accountUnfollow(c *fiber.Ctx) error {
	ctx := c.UserContext()
	self := me(c)
	target, err := s.accountParam(c)
	if err != nil {
		return err
	}
	rels, err := s.store.Relationships(ctx, self.ID, []string{target.ID})
	if err != nil {
		return err
	}
	if err := s.store.Unfollow(ctx, self.ID, target.ID); err != nil {
		return err
	}
	if rels[0].Following || rels[0].Requested {
		s.federate("unfollow", func(f Federation) error { return f.Unfollowed(ctx, self, target) })
	}
	return s.sendRelationship(c, target.ID)
}

// accountBlock is POST /api/v1/accounts/:id/block; it ends follows both ways.
func (s *Server) accountBlock(c *fiber.Ctx) error {
	target, err := s.relationshipTarget(c, "This action is not allowed")
	if err != nil {
		return err
	}
	if err := s.blockAccount(c.UserContext(), me(c), target); err != nil {
		return err
	}
	return s.sendRelationship(c, target.ID)
}

// blockAccount makes self block target and tells target's server.
func (s *Server) blockAccount(ctx context.Context, self, target *store.Account) error {
	if err := s.store.Block(ctx, self.ID, target.ID); err != nil {
		return err
	}
	s.federate("block", func(f Federation) error { return f.Blocked(ctx, self, target) })
	return nil
}

// accountUnblock is POST /api/v1/accounts/:id/unblock.
func (s *Server) accountUnblock(c *fiber.Ctx) error {
	target, err := s.accountParam(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	if err := s.store.Unblock(ctx, me(c).ID, target.ID); err != nil {
		return err
	}
	s.federate("unblock", func(f Federation) error { return f.Unblocked(ctx, me(c), target) })
	return s.sendRelationship(c, target.ID)
}

// accountMute is POST /api/v1/accounts/:id/mute; notifications (default true) mutes the
// account's notifications too. Muting for a duration is not supported: mutes last.
func (s *Server) accountMute(c *fiber.Ctx) error {
	target, err := s.relationshipTarget(c, "This action is not allowed")
	if err != nil {
		return err
	}
	ps, err := flatParams(c)
	if err != nil {
		return err
	}
	notifications := true
	if v, ok := ps.lookup("notifications"); ok {
		notifications = railsTrue(v)
	}
	if err := s.store.Mute(c.UserContext(), me(c).ID, target.ID, notifications); err != nil {
		return err
	}
	return s.sendRelationship(c, target.ID)
}

// accountUnmute is POST /api/v1/accounts/:id/unmute.
func (s *Server) accountUnmute(c *fiber.Ctx) error {
	target, err := s.accountParam(c)
	if err != nil {
		return err
	}
	if err := s.store.Unmute(c.UserContext(), me(c).ID, target.ID); err != nil {
		return err
	}
	return s.sendRelationship(c, target.ID)
}

// hidesNetwork reports whether a's followers and follows stay hidden from viewer v: suspended
// accounts and accounts blocking the viewer show none, as in Mastodon.
func (s *Server) hidesNetwork(ctx context.Context, v, a *store.Account) (bool, error) {
	if a.Suspended {
		return true, nil
	}
	if v == nil || v.ID == a.ID {
		return false, nil
	}
	rels, err := s.store.Relationships(ctx, v.ID, []string{a.ID})
	if err != nil {
		return false, err
	}
	return rels[0].BlockedBy, nil
}

// accountFollowers is GET /api/v1/accounts/:id/followers, paginated by follow.
func (s *Server) accountFollowers(c *fiber.Ctx) error {
	return s.accountNetwork(c, s.store.Followers)
}

// accountFollowing is GET /api/v1/accounts/:id/following, paginated by follow.
func (s *Server) accountFollowing(c *fiber.Ctx) error {
	return s.accountNetwork(c, s.store.Following)
}

func (s *Server) accountNetwork(c *fiber.Ctx, read func(context.Context, string, store.Page) ([]store.Entry, error)) error {
	ctx := c.UserContext()
	a, err := s.accountParam(c)
	if err != nil {
		return err
	}
	hidden, err := s.hidesNetwork(ctx, viewer(c), a)
	if err != nil || hidden {
		if err == nil {
			err = c.JSON([]mastodon.Account{})
		}
		return err
	}
	entries, err := read(ctx, a.ID, pageFrom(c, accountPageDefault, accountPageMax))
	if err != nil {
		return err
	}
	return s.sendAccountPage(c, entries)
}

// blocksList is GET /api/v1/blocks.
func (s *Server) blocksList(c *fiber.Ctx) error {
	entries, err := s.store.Blocks(c.UserContext(), me(c).ID, pageFrom(c, accountPageDefault, accountPageMax))
	if err != nil {
		return err
	}
	return s.sendAccountPage(c, entries)
}

// mutesList is GET /api/v1/mutes.
func (s *Server) mutesList(c *fiber.Ctx) error {
	entries, err := s.store.Mutes(c.UserContext(), me(c).ID, pageFrom(c, accountPageDefault, accountPageMax))
	if err != nil {
		return err
	}
	return s.sendAccountPage(c, entries)
}

// followRequestsList is GET /api/v1/follow_requests: the accounts waiting for approval.
func (s *Server) followRequestsList(c *fiber.Ctx) error {
	entries, err := s.store.FollowRequests(c.UserContext(), me(c).ID, pageFrom(c, accountPageDefault, accountPageMax))
	if err != nil {
		return err
	}
	return s.sendAccountPage(c, entries)
}

// followRequestAuthorize is POST /api/v1/follow_requests/:id/authorize, :id being the account
// that asked; it answers with the relationship toward that account.
func (s *Server) followRequestAuthorize(c *fiber.Ctx) error {
	requester, err := s.accountParam(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	err = s.store.AcceptFollowRequest(ctx, requester, me(c))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	s.federate("accept follow", func(f Federation) error { return f.FollowAccepted(ctx, requester, me(c)) })
	return s.sendRelationship(c, requester.ID)
}

// followRequestReject is POST /api/v1/follow_requests/:id/reject.
func (s *Server) followRequestReject(c *fiber.Ctx) error {
	ctx := c.UserContext()
	requester, err := s.accountParam(c)
	if err != nil {
		return err
	}
	pending, err := s.store.HasFollowRequest(ctx, me(c).ID, requester.ID)
	if err != nil {
		return err
	}
	if !pending {
		return errNotFound
	}
	if err := s.store.RejectFollowRequest(ctx, requester.ID, me(c).ID); err != nil {
		return err
	}
	s.federate("reject follow", func(f Federation) error { return f.FollowRejected(ctx, requester, me(c)) })
	return s.sendRelationship(c, requester.ID)
}

// acceptAllFollowRequests turns every pending request to a into a follow.
func (s *Server) acceptAllFollowRequests(ctx context.Context, a *store.Account) error {
	for {
		entries, err := s.store.FollowRequests(ctx, a.ID, store.Page{Limit: 100})
		if err != nil || len(entries) == 0 {
			return err
		}
		followers, err := s.store.AccountsInOrder(ctx, store.Members(entries))
		if err != nil {
			return err
		}
		for _, f := range followers {
			err := s.store.AcceptFollowRequest(ctx, f, a)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			s.federate("accept follow", func(fed Federation) error { return fed.FollowAccepted(ctx, f, a) })
		}
		if len(followers) < len(entries) {
			// Requests of accounts that no longer exist cannot be accepted; drop them.
			for _, e := range entries {
				if err := s.store.RejectFollowRequest(ctx, e.Member, a.ID); err != nil {
					return err
				}
			}
		}
	}
}
