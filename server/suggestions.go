package server

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// Bounds of the suggestion and directory reads: how many of the viewer's follows, and of theirs,
// are looked through.
const (
	suggestionFollowsRead = 200
	suggestionsDefault    = 40
	suggestionsMax        = 80
	directoryDefault      = 40
	directoryMax          = 80
)

// suggestion is Mastodon's Suggestion entity (API v2).
type suggestion struct {
	Source  string           `json:"source"`
	Sources []string         `json:"sources"`
	Account mastodon.Account `json:"account"`
}

// suggestedAccounts ranks people the viewer's colleagues follow (friends of friends) by how
// many of the viewer's follows follow them, then, to fill up, the most followed discoverable
// accounts here. Anyone already followed or requested, blocked, muted, dismissed or suspended is
// left out. It returns the accounts with the source of each.
func (s *Server) suggestedAccounts(ctx context.Context, viewer *store.Account, limit int) ([]*store.Account, map[string]string, error) {
	following, err := s.store.FollowingIDs(ctx, viewer.ID, suggestionFollowsRead)
	if err != nil {
		return nil, nil, err
	}
	theirs, err := s.store.FollowingOfMany(ctx, following, suggestionFollowsRead)
	if err != nil {
		return nil, nil, err
	}
	hidden, err := s.store.Hidden(ctx, viewer.ID)
	if err != nil {
		return nil, nil, err
	}
	dismissed, err := s.store.DismissedSuggestions(ctx, viewer.ID)
	if err != nil {
		return nil, nil, err
	}
	excluded := func(id string) bool {
		return id == viewer.ID || slices.Contains(following, id) || hidden[id] || dismissed[id]
	}
	votes := map[string]int{}
	var order []string
	for _, f := range following {
		for _, id := range theirs[f] {
			if excluded(id) {
				continue
			}
			if votes[id] == 0 {
				order = append(order, id)
			}
			votes[id]++
		}
	}
	slices.SortStableFunc(order, func(a, b string) int { return cmp.Compare(votes[b], votes[a]) })
	source := map[string]string{}
	for _, id := range order {
		source[id] = "friends_of_friends"
	}
	local, err := s.store.LocalAccounts(ctx)
	if err != nil {
		return nil, nil, err
	}
	localIDs := make([]string, 0, len(local))
	for _, a := range local {
		if a.Discoverable && !excluded(a.ID) && source[a.ID] == "" {
			localIDs = append(localIDs, a.ID)
		}
	}
	counts, err := s.store.AccountCounts(ctx, localIDs)
	if err != nil {
		return nil, nil, err
	}
	slices.SortStableFunc(localIDs, func(a, b string) int { return cmp.Compare(counts[b].Followers, counts[a].Followers) })
	for _, id := range localIDs {
		source[id] = "most_followed"
		order = append(order, id)
	}
	accounts, err := s.store.AccountsInOrder(ctx, order)
	if err != nil {
		return nil, nil, err
	}
	requested := map[string]bool{}
	if rels, err := s.store.Relationships(ctx, viewer.ID, order); err == nil {
		for _, r := range rels {
			requested[r.ID] = r.Requested
		}
	} else {
		return nil, nil, err
	}
	accounts = slices.DeleteFunc(accounts, func(a *store.Account) bool { return a.Suspended || requested[a.ID] })
	return accounts[:min(limit, len(accounts))], source, nil
}

func suggestionLimit(c *fiber.Ctx) int {
	limit, err := strconv.Atoi(c.Query("limit"))
	if err != nil || limit <= 0 {
		return suggestionsDefault
	}
	return min(limit, suggestionsMax)
}

// suggestionsV2 is GET /api/v2/suggestions.
func (s *Server) suggestionsV2(c *fiber.Ctx) error {
	ctx := c.UserContext()
	accounts, source, err := s.suggestedAccounts(ctx, me(c), suggestionLimit(c))
	if err != nil {
		return err
	}
	entities, err := s.accountEntities(ctx, accounts)
	if err != nil {
		return err
	}
	out := make([]suggestion, len(accounts))
	for i, a := range accounts {
		// source is the deprecated single field: Mastodon maps friends of friends to
		// past_interactions and the rest to global.
		legacy := "global"
		if source[a.ID] == "friends_of_friends" {
			legacy = "past_interactions"
		}
		out[i] = suggestion{Source: legacy, Sources: []string{source[a.ID]}, Account: entities[i]}
	}
	return c.JSON(out)
}

// suggestionsV1 is GET /api/v1/suggestions: the same accounts, without sources.
func (s *Server) suggestionsV1(c *fiber.Ctx) error {
	ctx := c.UserContext()
	accounts, _, err := s.suggestedAccounts(ctx, me(c), suggestionLimit(c))
	if err != nil {
		return err
	}
	out, err := s.accountEntities(ctx, accounts)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// suggestionDismiss is DELETE /api/v1/suggestions/:account_id.
func (s *Server) suggestionDismiss(c *fiber.Ctx) error {
	if err := s.store.DismissSuggestion(c.UserContext(), me(c).ID, c.Params("account_id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

// familiarFollowers is GET /api/v1/accounts/familiar_followers?id[]=: for each account, the
// accounts the viewer follows that follow it.
func (s *Server) familiarFollowers(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var ids []string
	for _, id := range queryList(c, "id") {
		if id = cleanID(id); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	following, err := s.store.FollowingIDs(ctx, me(c).ID, 5000)
	if err != nil {
		return err
	}
	among, err := s.store.FollowersAmong(ctx, ids, following)
	if err != nil {
		return err
	}
	type familiar struct {
		ID       string             `json:"id"`
		Accounts []mastodon.Account `json:"accounts"`
	}
	out := make([]familiar, len(ids))
	for i, id := range ids {
		accounts, err := s.store.AccountsInOrder(ctx, among[id])
		if err != nil {
			return err
		}
		entities, err := s.accountEntities(ctx, slices.DeleteFunc(accounts, func(a *store.Account) bool { return a.Suspended }))
		if err != nil {
			return err
		}
		out[i] = familiar{ID: id, Accounts: entities}
		if out[i].Accounts == nil {
			out[i].Accounts = []mastodon.Account{}
		}
	}
	return c.JSON(out)
}

// directory is GET /api/v1/directory: the people who chose to be discoverable, the recently
// active first (order=active, the default) or the newest (order=new), with offset and limit.
// With local=true only this department's; otherwise also the other departments' people, as
// their directories sent them (never other servers', which this instance does not know all
// of). domain=HOST, a Watercooler extension, lists one department's people.
func (s *Server) directory(c *fiber.Ctx) error {
	ctx := c.UserContext()
	limit, err := strconv.Atoi(c.Query("limit"))
	if err != nil || limit <= 0 {
		limit = directoryDefault
	}
	limit = min(limit, directoryMax)
	offset := max(c.QueryInt("offset"), 0)
	listed, err := s.store.LocalAccounts(ctx)
	if err != nil {
		return err
	}
	if !c.QueryBool("local") {
		others, err := s.departmentsPeople(ctx)
		if err != nil {
			return err
		}
		listed = append(listed, others...)
	}
	domain := strings.ToLower(c.Query("domain"))
	if domain == strings.ToLower(s.cfg.Domain()) {
		domain = ""
	}
	listed = slices.DeleteFunc(listed, func(a *store.Account) bool {
		return !a.Discoverable || a.Suspended || (c.Query("domain") != "" && a.Domain != domain)
	})
	if c.Query("order") == "new" {
		slices.SortStableFunc(listed, func(a, b *store.Account) int { return b.CreatedAt.Compare(a.CreatedAt) })
	} else {
		ids := make([]string, len(listed))
		for i, a := range listed {
			ids[i] = a.ID
		}
		latest, err := s.store.LatestStatusIDs(ctx, ids)
		if err != nil {
			return err
		}
		slices.SortStableFunc(listed, func(a, b *store.Account) int {
			la, lb := latest[a.ID], latest[b.ID]
			if len(la) != len(lb) {
				return cmp.Compare(len(lb), len(la))
			}
			return cmp.Compare(lb, la)
		})
	}
	out, err := s.accountEntities(ctx, searchWindow(listed, offset, limit))
	if err != nil {
		return err
	}
	if out == nil {
		out = []mastodon.Account{}
	}
	return c.JSON(out)
}

// departmentsPeople is the other departments' people in this department's copy of the
// organization's directory, of departments that are members now (not one that left or that
// an admin blocked).
func (s *Server) departmentsPeople(ctx context.Context) ([]*store.Account, error) {
	hosts, err := s.organizationPeers(ctx)
	if err != nil || len(hosts) == 0 {
		return nil, err
	}
	people, err := s.store.DirectoryAccounts(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(people, func(a *store.Account) bool { return !slices.Contains(hosts, a.Domain) }), nil
}
