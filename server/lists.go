package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// Lists limits, as in Mastodon.
const (
	listsPerAccount  = 50
	listTitleMaxLen  = 256
	listAccountsPage = 40
	listAccountsMax  = 80
)

// listNotFollowed is Mastodon's message for adding an account the list's owner does not follow.
const listNotFollowed = "Account must be a followed account"

// List replies policies, as in Mastodon; "list" is the default.
var listRepliesPolicies = []string{"list", "followed", "none"}

// listParams are the parameters of POST and PUT /api/v1/lists.
type listParams struct {
	Title         optString `json:"title"`
	RepliesPolicy optString `json:"replies_policy"`
	Exclusive     optString `json:"exclusive"`
}

// apply validates the parameters that were sent and sets them on l.
func (p listParams) apply(l *store.List) error {
	if p.Title.set {
		l.Title = p.Title.val
	}
	if p.RepliesPolicy.set {
		if !slices.Contains(listRepliesPolicies, p.RepliesPolicy.val) {
			// Mastodon reports a bad enum value with Rails' ArgumentError message.
			return errorf(fiber.StatusUnprocessableEntity, "'%s' is not a valid replies_policy", p.RepliesPolicy.val)
		}
		l.RepliesPolicy = p.RepliesPolicy.val
	}
	if p.Exclusive.set {
		l.Exclusive, _ = railsBool(p.Exclusive.val)
	}
	switch {
	case strings.TrimSpace(l.Title) == "":
		return validationFailed("Title can't be blank")
	case utf8.RuneCountInString(l.Title) > listTitleMaxLen:
		return validationFailed(fmt.Sprintf("Title is too long (maximum is %d characters)", listTitleMaxLen))
	}
	return nil
}

func listEntity(l *store.List) mastodon.List {
	policy := l.RepliesPolicy
	if policy == "" {
		policy = listRepliesPolicies[0]
	}
	return mastodon.List{ID: l.ID, Title: l.Title, RepliesPolicy: policy, Exclusive: l.Exclusive}
}

// listsIndex is GET /api/v1/lists.
func (s *Server) listsIndex(c *fiber.Ctx) error {
	lists, err := s.store.Lists(c.UserContext(), me(c).ID)
	if err != nil {
		return err
	}
	out := make([]mastodon.List, len(lists))
	for i, l := range lists {
		out[i] = listEntity(l)
	}
	return c.JSON(out)
}

// listCreate is POST /api/v1/lists.
func (s *Server) listCreate(c *fiber.Ctx) error {
	var p listParams
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	ctx := c.UserContext()
	l := &store.List{AccountID: me(c).ID, RepliesPolicy: listRepliesPolicies[0]}
	if err := p.apply(l); err != nil {
		return err
	}
	existing, err := s.store.Lists(ctx, l.AccountID)
	if err != nil {
		return err
	}
	if len(existing) >= listsPerAccount {
		return validationFailed("You have reached the maximum number of lists")
	}
	if err := s.store.CreateList(ctx, l); err != nil {
		return err
	}
	return c.JSON(listEntity(l))
}

// ownList loads the signed-in account's list named in the path; the store reports other
// accounts' lists as not found, so they answer 404 like unknown ones.
func (s *Server) ownList(c *fiber.Ctx) (*store.List, error) {
	return s.store.List(c.UserContext(), me(c).ID, c.Params("id"))
}

// listGet is GET /api/v1/lists/:id.
func (s *Server) listGet(c *fiber.Ctx) error {
	l, err := s.ownList(c)
	if err != nil {
		return err
	}
	return c.JSON(listEntity(l))
}

// listUpdate is PUT /api/v1/lists/:id.
func (s *Server) listUpdate(c *fiber.Ctx) error {
	var p listParams
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	l, err := s.ownList(c)
	if err != nil {
		return err
	}
	if err := p.apply(l); err != nil {
		return err
	}
	if err := s.store.UpdateList(c.UserContext(), l); err != nil {
		return fmt.Errorf("update list %s: %w", l.ID, err)
	}
	return c.JSON(listEntity(l))
}

// listDelete is DELETE /api/v1/lists/:id.
func (s *Server) listDelete(c *fiber.Ctx) error {
	l, err := s.ownList(c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteList(c.UserContext(), l); err != nil {
		return fmt.Errorf("delete list %s: %w", l.ID, err)
	}
	return c.JSON(fiber.Map{})
}

// listAccounts is GET /api/v1/lists/:id/accounts; limit=0 returns every member unpaginated.
func (s *Server) listAccounts(c *fiber.Ctx) error {
	l, err := s.ownList(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	page := store.Page{}
	unlimited := c.Query("limit") == "0"
	if !unlimited {
		page = pageFrom(c, listAccountsPage, listAccountsMax)
	}
	entries, err := s.store.ListAccountsPage(ctx, l.ID, page)
	if err != nil {
		return err
	}
	accounts, err := s.store.AccountsInOrder(ctx, store.Members(entries))
	if err != nil {
		return err
	}
	accounts = slices.DeleteFunc(accounts, func(a *store.Account) bool { return a.Suspended })
	out, err := s.renderAccounts(ctx, accounts)
	if err != nil {
		return err
	}
	if !unlimited {
		s.setLinkHeader(c, entries)
	}
	return c.JSON(out)
}

// listAccountsParams carry account_ids[], in the body or, for DELETE, the query string.
type listAccountsParams struct {
	AccountIDs stringList `json:"account_ids"`
}

// listAddAccounts is POST /api/v1/lists/:id/accounts. As in Mastodon it adds all the accounts
// or none: each must exist, be followed by the list's owner, and not be on the list yet.
func (s *Server) listAddAccounts(c *fiber.Ctx) error {
	var p listAccountsParams
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	l, err := s.ownList(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	ids := compactIDs(p.AccountIDs)
	if err := s.checkListAdditions(ctx, l, ids); err != nil {
		return err
	}
	err = s.store.AddListAccounts(ctx, l, ids)
	if errors.Is(err, store.ErrNotFollowed) {
		return validationFailed(listNotFollowed) // unfollowed meanwhile
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

// checkListAdditions refuses unknown accounts (404) and then, in the order given as Mastodon
// adds them, an account already on the list or not followed by the owner (422).
func (s *Server) checkListAdditions(ctx context.Context, l *store.List, ids []string) error {
	accounts, err := s.store.Accounts(ctx, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, ok := accounts[id]; !ok {
			return errNotFound
		}
	}
	members, err := s.store.ListHasAccounts(ctx, l.ID, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if members[id] {
			return validationFailed("Account is already on the list")
		}
		if id == l.AccountID {
			continue
		}
		following, err := s.store.Follows(ctx, l.AccountID, id)
		if err != nil {
			return err
		}
		if !following {
			return validationFailed(listNotFollowed)
		}
	}
	return nil
}

// listRemoveAccounts is DELETE /api/v1/lists/:id/accounts; ids not on the list are ignored.
func (s *Server) listRemoveAccounts(c *fiber.Ctx) error {
	var p listAccountsParams
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	l, err := s.ownList(c)
	if err != nil {
		return err
	}
	if err := s.store.RemoveListAccounts(c.UserContext(), l, compactIDs(p.AccountIDs)); err != nil {
		return fmt.Errorf("remove from list %s: %w", l.ID, err)
	}
	return c.JSON(fiber.Map{})
}

// compactIDs drops blank and repeated ids, keeping the first occurrence's order.
func compactIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// validationFailed is Mastodon's 422 for a record that fails validation.
func validationFailed(messages ...string) error {
	return errorf(fiber.StatusUnprocessableEntity, "Validation failed: %s", strings.Join(messages, ", "))
}
