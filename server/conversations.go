package server

import (
	"context"
	"errors"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// Page sizes of GET /api/v1/conversations, as in Mastodon.
const (
	conversationsPageDefault = 20
	conversationsPageMax     = 40
)

// conversation is Mastodon's Conversation entity.
type conversation struct {
	ID         string             `json:"id"`
	Unread     bool               `json:"unread"`
	Accounts   []mastodon.Account `json:"accounts"`
	LastStatus *mastodon.Status   `json:"last_status"`
}

// renderConversations builds Conversation entities; a conversation whose last status is gone
// or no longer visible to the viewer is left out.
func (s *Server) renderConversations(ctx context.Context, viewer *store.Account, list []*store.Conversation) ([]conversation, error) {
	var statusIDs, accountIDs []string
	for _, c := range list {
		statusIDs = append(statusIDs, c.LastStatusID)
		accountIDs = append(accountIDs, c.AccountIDs...)
	}
	sts, err := s.store.Statuses(ctx, statusIDs)
	if err != nil {
		return nil, err
	}
	rendered, err := s.renderChecking(ctx, viewer, sts, contextThread, true)
	if err != nil {
		return nil, err
	}
	statusByID := make(map[string]*mastodon.Status, len(rendered))
	for i := range rendered {
		statusByID[rendered[i].ID] = &rendered[i]
	}
	accounts, err := s.store.AccountsInOrder(ctx, accountIDs)
	if err != nil {
		return nil, err
	}
	entities, err := s.accountEntities(ctx, accounts)
	if err != nil {
		return nil, err
	}
	accountByID := make(map[string]mastodon.Account, len(accounts))
	for i, a := range accounts {
		accountByID[a.ID] = entities[i]
	}
	out := make([]conversation, 0, len(list))
	for _, c := range list {
		last, ok := statusByID[c.LastStatusID]
		if !ok {
			continue
		}
		e := conversation{ID: c.ID, Unread: c.Unread, Accounts: []mastodon.Account{}, LastStatus: last}
		for _, id := range c.AccountIDs {
			if a, ok := accountByID[id]; ok {
				e.Accounts = append(e.Accounts, a)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// conversationsList is GET /api/v1/conversations.
func (s *Server) conversationsList(c *fiber.Ctx) error {
	ctx := c.UserContext()
	entries, list, err := s.store.Conversations(ctx, me(c).ID, pageFrom(c, conversationsPageDefault, conversationsPageMax))
	if err != nil {
		return err
	}
	out, err := s.renderConversations(ctx, me(c), list)
	if err != nil {
		return err
	}
	s.setLinkHeader(c, entries)
	return c.JSON(out)
}

// conversationRead is POST /api/v1/conversations/:id/read.
func (s *Server) conversationRead(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id := c.Params("id")
	if err := s.store.MarkConversationRead(ctx, me(c).ID, id); errors.Is(err, store.ErrNotFound) {
		return errNotFound
	} else if err != nil {
		return err
	}
	conv, err := s.store.ConversationOf(ctx, me(c).ID, id)
	if err != nil {
		return err
	}
	out, err := s.renderConversations(ctx, me(c), []*store.Conversation{conv})
	if err != nil {
		return err
	}
	if len(out) == 0 {
		return errNotFound
	}
	return c.JSON(out[0])
}

// conversationRemove is DELETE /api/v1/conversations/:id.
func (s *Server) conversationRemove(c *fiber.Ctx) error {
	if err := s.store.RemoveConversation(c.UserContext(), me(c).ID, c.Params("id")); errors.Is(err, store.ErrNotFound) {
		return errNotFound
	} else if err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}
