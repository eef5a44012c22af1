package server

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// Grouped notifications (Mastodon 4.3's API v2). A group's key is derived from its notifications
// alone, as Mastodon derives it when it stores them: favourites and boosts of one status, and
// follows, within one time slot form a group; every other notification is a group of its own.
// Nothing extra is stored, so v1 and v2 read the same notifications.
const (
	notificationGroupSlot    = 12 * time.Hour
	notificationGroupSamples = 8
	notificationGroupScan    = 400
	unreadCountDefault       = 100
	unreadCountMax           = 1000
)

// groupableTypes are the notification types Mastodon groups.
var groupableTypes = []string{store.NotifyFavourite, store.NotifyReblog, store.NotifyFollow, "admin.sign_up"}

// notificationGroupKey is n's group key, grouping only the types in grouped.
func notificationGroupKey(n *store.Notification, grouped []string) string {
	if !slices.Contains(grouped, n.Type) {
		return "ungrouped-" + n.ID
	}
	slot := n.CreatedAt.Unix() / int64(notificationGroupSlot/time.Second)
	if n.StatusID != "" {
		return fmt.Sprintf("%s-%s-%d", n.Type, n.StatusID, slot)
	}
	return fmt.Sprintf("%s-%d", n.Type, slot)
}

// notificationGroup is Mastodon's NotificationGroup entity.
type notificationGroup struct {
	GroupKey                 string           `json:"group_key"`
	NotificationsCount       int              `json:"notifications_count"`
	Type                     string           `json:"type"`
	MostRecentNotificationID string           `json:"most_recent_notification_id"`
	PageMinID                string           `json:"page_min_id"`
	PageMaxID                string           `json:"page_max_id"`
	LatestPageNotificationAt string           `json:"latest_page_notification_at"`
	SampleAccountIDs         []string         `json:"sample_account_ids"`
	StatusID                 *string          `json:"status_id,omitempty"`
	Report                   *mastodon.Report `json:"report,omitempty"`
}

// groupedNotifications is Mastodon's GroupedNotificationsResults entity.
type groupedNotifications struct {
	Accounts           []mastodon.Account  `json:"accounts"`
	Statuses           []mastodon.Status   `json:"statuses"`
	NotificationGroups []notificationGroup `json:"notification_groups"`
}

// groupNotifications folds rendered notifications (newest first) into at most limit groups,
// with the accounts and statuses they name; it reports whether it stopped at the limit.
func groupNotifications(rendered []mastodon.Notification, byID map[string]*store.Notification, grouped []string, limit int, into *groupedNotifications, index map[string]int) bool {
	seenAccount := map[string]bool{}
	for _, a := range into.Accounts {
		seenAccount[a.ID] = true
	}
	seenStatus := map[string]bool{}
	for _, st := range into.Statuses {
		seenStatus[st.ID] = true
	}
	for _, n := range rendered {
		key := notificationGroupKey(byID[n.ID], grouped)
		i, ok := index[key]
		if !ok {
			if len(into.NotificationGroups) == limit {
				return true
			}
			i = len(into.NotificationGroups)
			index[key] = i
			g := notificationGroup{GroupKey: key, Type: n.Type, MostRecentNotificationID: n.ID, PageMaxID: n.ID, LatestPageNotificationAt: n.CreatedAt, SampleAccountIDs: []string{}}
			g.Report = n.Report
			if n.Status != nil {
				id := n.Status.ID
				g.StatusID = &id
				if !seenStatus[id] {
					seenStatus[id] = true
					into.Statuses = append(into.Statuses, *n.Status)
				}
			}
			into.NotificationGroups = append(into.NotificationGroups, g)
		}
		g := &into.NotificationGroups[i]
		g.NotificationsCount++
		g.PageMinID = n.ID
		if len(g.SampleAccountIDs) < notificationGroupSamples && !slices.Contains(g.SampleAccountIDs, n.Account.ID) {
			g.SampleAccountIDs = append(g.SampleAccountIDs, n.Account.ID)
		}
		if !seenAccount[n.Account.ID] {
			seenAccount[n.Account.ID] = true
			into.Accounts = append(into.Accounts, n.Account)
		}
	}
	return false
}

// groupedTypesOf reads grouped_types[]: the groupable types the client wants grouped.
func groupedTypesOf(c *fiber.Ctx) []string {
	asked := queryList(c, "grouped_types")
	if len(asked) == 0 {
		return groupableTypes
	}
	return slices.DeleteFunc(asked, func(t string) bool { return !slices.Contains(groupableTypes, t) })
}

// notificationsV2 is GET /api/v2/notifications: notification groups with types[],
// exclude_types[], account_id, grouped_types[], include_filtered and paging, as Mastodon pages
// them: by each group's most recent notification, so a group is on one page only, whole, even
// when its notifications interleave with others'. Groups are read from the newest
// notificationGroupScan notifications below max_id.
func (s *Server) notificationsV2(c *fiber.Ctx) error {
	ctx := c.UserContext()
	self := me(c)
	page := pageFrom(c, notificationPageDefault, notificationPageMax)
	grouped := groupedTypesOf(c)
	keep := acceptedOnly
	if queryBool(c, "include_filtered") {
		keep = notDropped
	}
	q := store.NotificationQuery{
		Page:  store.Page{MaxID: page.MaxID, SinceID: cmp.Or(page.SinceID, page.MinID), Limit: notificationGroupScan},
		Types: queryList(c, "types"), ExcludeTypes: queryList(c, "exclude_types"), FromAccountID: c.Query("account_id"),
	}
	ns, err := s.store.Notifications(ctx, self.ID, q)
	if err != nil {
		return err
	}
	// Groups with a notification at or above max_id were on an earlier page.
	shown := map[string]bool{}
	if page.MaxID != "" {
		above, err := s.store.Notifications(ctx, self.ID, store.NotificationQuery{Page: store.Page{MinID: page.MaxID, Limit: notificationGroupScan}})
		if err != nil {
			return err
		}
		if last, err := s.store.Notification(ctx, self.ID, page.MaxID); err == nil {
			above = append(above, last) // max_id is the previous page's last group's newest
		}
		for _, n := range above {
			shown[notificationGroupKey(n, grouped)] = true
		}
	}
	var keys []string
	members := map[string][]*store.Notification{}
	for _, n := range ns {
		key := notificationGroupKey(n, grouped)
		if shown[key] {
			continue
		}
		if _, ok := members[key]; !ok {
			keys = append(keys, key)
		}
		members[key] = append(members[key], n)
	}
	out := groupedNotifications{Accounts: []mastodon.Account{}, Statuses: []mastodon.Status{}, NotificationGroups: []notificationGroup{}}
	index := map[string]int{}
	// Rendering drops what the viewer must not see (blocked or muted senders, gone or hidden
	// statuses, the policy's verdicts); a group left empty gives its place to the next one.
	for start := 0; start < len(keys) && len(out.NotificationGroups) < page.Limit; {
		end := min(start+page.Limit-len(out.NotificationGroups), len(keys))
		var batch []*store.Notification
		byID := map[string]*store.Notification{}
		for _, key := range keys[start:end] {
			for _, n := range members[key] {
				batch = append(batch, n)
				byID[n.ID] = n
			}
		}
		rendered, err := s.renderNotificationsWhere(ctx, self, batch, keep)
		if err != nil {
			return err
		}
		// batch is ordered group by group; groups are listed by their newest notification.
		slices.SortStableFunc(rendered, func(a, b mastodon.Notification) int {
			ka, kb := notificationGroupKey(byID[a.ID], grouped), notificationGroupKey(byID[b.ID], grouped)
			return cmp.Compare(slices.Index(keys, ka), slices.Index(keys, kb))
		})
		groupNotifications(rendered, byID, grouped, page.Limit, &out, index)
		start = end
	}
	if n := len(out.NotificationGroups); n > 0 {
		s.setLinkHeader(c, []store.Entry{{ID: out.NotificationGroups[0].MostRecentNotificationID}, {ID: out.NotificationGroups[n-1].MostRecentNotificationID}})
	}
	return c.JSON(out)
}

// notificationGroupMembers reads the viewer's notifications that form the group key, newest
// first, from the recent ones.
func (s *Server) notificationGroupMembers(ctx context.Context, viewer *store.Account, key string) ([]*store.Notification, error) {
	if id, ok := strings.CutPrefix(key, "ungrouped-"); ok {
		n, err := s.store.Notification(ctx, viewer.ID, id)
		if err != nil {
			return nil, errNotFound
		}
		return []*store.Notification{n}, nil
	}
	recent, err := s.store.RecentNotifications(ctx, viewer.ID, notificationGroupScan)
	if err != nil {
		return nil, err
	}
	members := slices.DeleteFunc(recent, func(n *store.Notification) bool { return notificationGroupKey(n, groupableTypes) != key })
	if len(members) == 0 {
		return nil, errNotFound
	}
	return members, nil
}

// notificationGroupGet is GET /api/v2/notifications/:group_key.
func (s *Server) notificationGroupGet(c *fiber.Ctx) error {
	ctx := c.UserContext()
	members, err := s.notificationGroupMembers(ctx, me(c), c.Params("group_key"))
	if err != nil {
		return err
	}
	rendered, err := s.renderNotificationsWhere(ctx, me(c), members, notDropped)
	if err != nil {
		return err
	}
	if len(rendered) == 0 {
		return errNotFound
	}
	byID := make(map[string]*store.Notification, len(members))
	for _, n := range members {
		byID[n.ID] = n
	}
	out := groupedNotifications{Accounts: []mastodon.Account{}, Statuses: []mastodon.Status{}, NotificationGroups: []notificationGroup{}}
	groupNotifications(rendered, byID, groupableTypes, 1, &out, map[string]int{})
	return c.JSON(out)
}

// notificationGroupAccounts is GET /api/v2/notifications/:group_key/accounts.
func (s *Server) notificationGroupAccounts(c *fiber.Ctx) error {
	ctx := c.UserContext()
	members, err := s.notificationGroupMembers(ctx, me(c), c.Params("group_key"))
	if err != nil {
		return err
	}
	rendered, err := s.renderNotificationsWhere(ctx, me(c), members, notDropped)
	if err != nil {
		return err
	}
	out := []mastodon.Account{}
	for _, n := range rendered {
		if !slices.ContainsFunc(out, func(a mastodon.Account) bool { return a.ID == n.Account.ID }) {
			out = append(out, n.Account)
		}
	}
	return c.JSON(out)
}

// notificationGroupDismiss is POST /api/v2/notifications/:group_key/dismiss: every notification
// of the group goes.
func (s *Server) notificationGroupDismiss(c *fiber.Ctx) error {
	ctx := c.UserContext()
	members, err := s.notificationGroupMembers(ctx, me(c), c.Params("group_key"))
	if err != nil {
		return err
	}
	ids := make([]string, len(members))
	for i, n := range members {
		ids[i] = n.ID
	}
	if err := s.store.DismissNotifications(ctx, me(c).ID, ids); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

// unreadNotifications reads the notifications newer than the viewer's notifications marker
// (all of them without a marker), up to the limit parameter, as the unread counts count them:
// by type and sender as asked, without those from blocked or notification-muted accounts or
// those the policy sets aside.
func (s *Server) unreadNotifications(c *fiber.Ctx) ([]*store.Notification, error) {
	ctx := c.UserContext()
	self := me(c)
	limit := unreadCountDefault
	if n, err := strconv.Atoi(c.Query("limit")); err == nil && n > 0 {
		limit = min(n, unreadCountMax)
	}
	markers, err := s.store.Markers(ctx, self.ID, []string{"notifications"})
	if err != nil {
		return nil, err
	}
	ns, err := s.store.Notifications(ctx, self.ID, store.NotificationQuery{
		Page:  store.Page{SinceID: markers["notifications"].LastReadID, Limit: limit},
		Types: queryList(c, "types"), ExcludeTypes: queryList(c, "exclude_types"), FromAccountID: c.Query("account_id"),
	})
	if err != nil {
		return nil, err
	}
	blocked, err := s.store.BlockedAccountIDs(ctx, self.ID)
	if err != nil {
		return nil, err
	}
	muted, err := s.store.MutedNotificationsFrom(ctx, self.ID)
	if err != nil {
		return nil, err
	}
	verdicts, err := s.notificationVerdicts(ctx, self, ns)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ns, func(n *store.Notification) bool {
		return blocked[n.FromAccountID] || muted[n.FromAccountID] || verdicts[n.ID] != store.PolicyAccept
	}), nil
}

// notificationsUnreadCountV1 is GET /api/v1/notifications/unread_count.
func (s *Server) notificationsUnreadCountV1(c *fiber.Ctx) error {
	ns, err := s.unreadNotifications(c)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"count": len(ns)})
}

// notificationsUnreadCountV2 is GET /api/v2/notifications/unread_count: unread groups.
func (s *Server) notificationsUnreadCountV2(c *fiber.Ctx) error {
	ns, err := s.unreadNotifications(c)
	if err != nil {
		return err
	}
	grouped := groupedTypesOf(c)
	keys := map[string]bool{}
	for _, n := range ns {
		keys[notificationGroupKey(n, grouped)] = true
	}
	return c.JSON(fiber.Map{"count": len(keys)})
}

// idBefore reports whether id a is older than id b (ids are decimal numbers).
func idBefore(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
