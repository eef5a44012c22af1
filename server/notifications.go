package server

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// Page sizes of GET /api/v1/notifications, Mastodon's default and maximum.
const (
	notificationPageDefault = 40
	notificationPageMax     = 80
)

// notificationHasStatus reports whether a notification type carries a status.
func notificationHasStatus(typ string) bool {
	switch typ {
	case store.NotifyMention, store.NotifyStatus, store.NotifyReblog, store.NotifyFavourite, store.NotifyUpdate,
		store.NotifyQuote, store.NotifyQuotedUpdate, store.NotifyPoll:
		return true
	}
	return false
}

// renderNotifications builds Notification entities in a fixed number of round trips. It drops
// notifications from accounts the viewer blocks or muted with notifications, from accounts that
// are gone, those whose status is gone or hidden by the viewer's filters, and those the
// viewer's notification policy filters or drops.
func (s *Server) renderNotifications(ctx context.Context, viewer *store.Account, ns []*store.Notification) ([]mastodon.Notification, error) {
	return s.renderNotificationsWhere(ctx, viewer, ns, acceptedOnly)
}

// acceptedOnly keeps what the notification policy accepts; notDropped what it accepts or filters.
func acceptedOnly(verdict string) bool { return verdict == store.PolicyAccept }
func notDropped(verdict string) bool   { return verdict != store.PolicyDrop }

// renderNotificationsWhere is renderNotifications keeping the notifications whose policy
// verdict keep accepts: the filtered ones too for include_filtered, or only them for requests.
func (s *Server) renderNotificationsWhere(ctx context.Context, viewer *store.Account, ns []*store.Notification, keep func(verdict string) bool) ([]mastodon.Notification, error) {
	blocked, err := s.store.BlockedAccountIDs(ctx, viewer.ID)
	if err != nil {
		return nil, err
	}
	muted, err := s.store.MutedNotificationsFrom(ctx, viewer.ID)
	if err != nil {
		return nil, err
	}
	verdicts, err := s.notificationVerdicts(ctx, viewer, ns)
	if err != nil {
		return nil, err
	}
	var accountIDs, statusIDs []string
	kept := make([]*store.Notification, 0, len(ns))
	for _, n := range ns {
		if blocked[n.FromAccountID] || muted[n.FromAccountID] || !keep(verdicts[n.ID]) {
			continue
		}
		kept = append(kept, n)
		accountIDs = append(accountIDs, n.FromAccountID)
		if notificationHasStatus(n.Type) && n.StatusID != "" {
			statusIDs = append(statusIDs, n.StatusID)
		}
	}
	slices.Sort(accountIDs)
	accounts, err := s.store.AccountsInOrder(ctx, slices.Compact(accountIDs))
	if err != nil {
		return nil, err
	}
	entities, err := s.accountEntities(ctx, accounts)
	if err != nil {
		return nil, err
	}
	blockedDomains, err := s.store.BlockedDomainSet(ctx, viewer.ID)
	if err != nil {
		return nil, err
	}
	accountByID := make(map[string]mastodon.Account, len(accounts))
	for i, a := range accounts {
		if !blockedDomains[strings.ToLower(a.Domain)] { // a blocked domain's people notify no one
			accountByID[a.ID] = entities[i]
		}
	}
	sts, err := s.store.Statuses(ctx, statusIDs)
	if err != nil {
		return nil, err
	}
	rendered, err := s.renderChecking(ctx, viewer, sts, contextNotifications, true)
	if err != nil {
		return nil, err
	}
	statusByID := make(map[string]*mastodon.Status, len(rendered))
	for i := range rendered {
		statusByID[rendered[i].ID] = &rendered[i]
	}
	reportByID, err := s.reportEntities(ctx, store.ReportNotificationIDs(kept))
	if err != nil {
		return nil, err
	}
	out := make([]mastodon.Notification, 0, len(kept))
	for _, n := range kept {
		account, ok := accountByID[n.FromAccountID]
		if !ok {
			continue
		}
		entity := mastodon.Notification{ID: n.ID, Type: n.Type, CreatedAt: mastodon.Timestamp(n.CreatedAt), Account: account, GroupKey: notificationGroupKey(n, groupableTypes)}
		if notificationHasStatus(n.Type) {
			if entity.Status, ok = statusByID[n.StatusID]; !ok {
				continue
			}
		}
		if n.Type == store.NotifyAdminReport {
			if entity.Report, ok = reportByID[n.ReportID]; !ok {
				continue
			}
		}
		out = append(out, entity)
	}
	return out, nil
}

// notificationFillRounds bounds how many times one page reads on past hidden notifications.
const notificationFillRounds = 10

// notificationsList is GET /api/v1/notifications with types[], exclude_types[], account_id
// and the usual pagination. Notifications hidden while rendering (muted or blocked senders,
// deleted statuses) are read past, so a page is short only at the end.
func (s *Server) notificationsList(c *fiber.Ctx) error {
	ctx := c.UserContext()
	self := me(c)
	page := pageFrom(c, notificationPageDefault, notificationPageMax)
	q := store.NotificationQuery{
		Page:          page,
		Types:         queryList(c, "types"),
		ExcludeTypes:  queryList(c, "exclude_types"),
		FromAccountID: c.Query("account_id"),
	}
	keep := acceptedOnly
	if queryBool(c, "include_filtered") {
		keep = notDropped
	}
	var out []mastodon.Notification
	for round := 0; round < notificationFillRounds && len(out) < page.Limit; round++ {
		q.Limit = page.Limit - len(out)
		ns, err := s.store.Notifications(ctx, self.ID, q)
		if err != nil {
			return err
		}
		rendered, err := s.renderNotificationsWhere(ctx, self, ns, keep)
		if err != nil {
			return err
		}
		if page.MinID != "" {
			// Each round of a min_id page reads newer notifications than the last.
			out = append(rendered, out...)
		} else {
			out = append(out, rendered...)
		}
		if len(ns) < q.Limit {
			break
		}
		if page.MinID != "" {
			q.MinID = ns[0].ID
		} else {
			q.MaxID = ns[len(ns)-1].ID
		}
	}
	entries := make([]store.Entry, len(out))
	for i, n := range out {
		entries[i] = store.Entry{ID: n.ID, Member: n.ID}
	}
	s.setLinkHeader(c, entries)
	if out == nil {
		out = []mastodon.Notification{}
	}
	return c.JSON(out)
}

// notificationGet is GET /api/v1/notifications/:id.
func (s *Server) notificationGet(c *fiber.Ctx) error {
	ctx := c.UserContext()
	n, err := s.store.Notification(ctx, me(c).ID, c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	// Filtered notifications are still readable one by one, as a notification request shows them.
	out, err := s.renderNotificationsWhere(ctx, me(c), []*store.Notification{n}, notDropped)
	if err != nil {
		return err
	}
	if len(out) == 0 {
		return errNotFound
	}
	return c.JSON(out[0])
}

// notificationsClear is POST /api/v1/notifications/clear.
func (s *Server) notificationsClear(c *fiber.Ctx) error {
	if err := s.store.ClearNotifications(c.UserContext(), me(c).ID); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

// notificationDismiss is POST /api/v1/notifications/:id/dismiss.
func (s *Server) notificationDismiss(c *fiber.Ctx) error {
	err := s.store.DismissNotification(c.UserContext(), me(c).ID, c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}
