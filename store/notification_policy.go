package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Notification policy verdicts, as Mastodon 4.3 names them: accept shows a notification,
// filter sets it aside as a request from its sender, drop discards it.
const (
	PolicyAccept = "accept"
	PolicyFilter = "filter"
	PolicyDrop   = "drop"
)

// NotificationPolicy is how an account treats notifications from people it has no tie to.
// Each field holds a verdict.
type NotificationPolicy struct {
	ForNotFollowing    string `redis:"for_not_following"`
	ForNotFollowers    string `redis:"for_not_followers"`
	ForNewAccounts     string `redis:"for_new_accounts"`
	ForPrivateMentions string `redis:"for_private_mentions"`
	ForLimitedAccounts string `redis:"for_limited_accounts"`
}

// DefaultNotificationPolicy is Mastodon 4.3's: everything is accepted except private mentions
// from strangers and accounts moderators limited, which are filtered.
func DefaultNotificationPolicy() NotificationPolicy {
	return NotificationPolicy{
		ForNotFollowing: PolicyAccept, ForNotFollowers: PolicyAccept, ForNewAccounts: PolicyAccept,
		ForPrivateMentions: PolicyFilter, ForLimitedAccounts: PolicyFilter,
	}
}

// ValidPolicy reports whether v is a verdict.
func ValidPolicy(v string) bool { return v == PolicyAccept || v == PolicyFilter || v == PolicyDrop }

// NotificationPolicyOf reads an account's policy; fields never set keep their defaults.
func (s *Store) NotificationPolicyOf(ctx context.Context, accountID string) (NotificationPolicy, error) {
	p := DefaultNotificationPolicy()
	stored := NotificationPolicy{}
	if err := s.rdb.HGetAll(ctx, s.k.notificationPolicy(accountID)).Scan(&stored); err != nil {
		return p, fmt.Errorf("notification policy: %w", err)
	}
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{&p.ForNotFollowing, stored.ForNotFollowing}, {&p.ForNotFollowers, stored.ForNotFollowers},
		{&p.ForNewAccounts, stored.ForNewAccounts}, {&p.ForPrivateMentions, stored.ForPrivateMentions},
		{&p.ForLimitedAccounts, stored.ForLimitedAccounts},
	} {
		if ValidPolicy(f.v) {
			*f.dst = f.v
		}
	}
	return p, nil
}

// SetNotificationPolicy stores an account's whole policy.
func (s *Store) SetNotificationPolicy(ctx context.Context, accountID string, p NotificationPolicy) error {
	if err := s.rdb.HSet(ctx, s.k.notificationPolicy(accountID), p).Err(); err != nil {
		return fmt.Errorf("set notification policy: %w", err)
	}
	return nil
}

// PermitNotifications lets every later notification from fromIDs through the policy, as
// accepting a notification request does in Mastodon.
func (s *Store) PermitNotifications(ctx context.Context, accountID string, fromIDs ...string) error {
	if len(fromIDs) == 0 {
		return nil
	}
	if err := s.rdb.SAdd(ctx, s.k.notificationPermits(accountID), toAny(fromIDs)...).Err(); err != nil {
		return fmt.Errorf("permit notifications: %w", err)
	}
	return nil
}

// NotificationPermits lists the accounts whose notifications accountID accepted.
func (s *Store) NotificationPermits(ctx context.Context, accountID string) (map[string]bool, error) {
	ids, err := s.rdb.SMembers(ctx, s.k.notificationPermits(accountID)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("notification permits: %w", err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// RecentNotifications reads up to max of an account's newest notifications, newest first: what
// grouping and notification requests look through.
func (s *Store) RecentNotifications(ctx context.Context, accountID string, max int) ([]*Notification, error) {
	return s.Notifications(ctx, accountID, NotificationQuery{Page: Page{Limit: max}})
}

// DismissNotifications deletes some of an account's notifications at once.
func (s *Store) DismissNotifications(ctx context.Context, accountID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.Del(ctx, s.k.notification(accountID, id))
		}
		p.ZRem(ctx, s.k.notifications(accountID), toAny(ids)...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("dismiss notifications: %w", err)
	}
	return nil
}

// NewAccountAge is how young an account counts as new for the notification policy, as in
// Mastodon.
const NewAccountAge = 30 * 24 * time.Hour

// NotificationVerdicts applies the viewer's notification policy (Mastodon 4.3) to ns: each
// notification's verdict, accept, filter or drop, keyed by notification id. The relationships,
// accounts and statuses a verdict needs are read only when the policy asks for them. The
// notifications list and Web Push both ask it, so a filtered notification is neither listed
// nor pushed, as in Mastodon.
func (s *Store) NotificationVerdicts(ctx context.Context, viewerID string, ns []*Notification) (map[string]string, error) {
	out := make(map[string]string, len(ns))
	for _, n := range ns {
		out[n.ID] = PolicyAccept
	}
	if len(ns) == 0 {
		return out, nil
	}
	policy, err := s.NotificationPolicyOf(ctx, viewerID)
	if err != nil {
		return nil, err
	}
	needRelations := policy.ForNotFollowing != PolicyAccept || policy.ForNotFollowers != PolicyAccept || policy.ForPrivateMentions != PolicyAccept
	var senderIDs, mentionStatusIDs []string
	for _, n := range ns {
		if n.FromAccountID != viewerID && !slices.Contains(senderIDs, n.FromAccountID) {
			senderIDs = append(senderIDs, n.FromAccountID)
		}
		if n.Type == NotifyMention && n.StatusID != "" {
			mentionStatusIDs = append(mentionStatusIDs, n.StatusID)
		}
	}
	if len(senderIDs) == 0 {
		return out, nil
	}
	permits, err := s.NotificationPermits(ctx, viewerID)
	if err != nil {
		return nil, err
	}
	rels := map[string]Relationship{}
	if needRelations {
		list, err := s.Relationships(ctx, viewerID, senderIDs)
		if err != nil {
			return nil, err
		}
		for _, r := range list {
			rels[r.ID] = r
		}
	}
	created := map[string]time.Time{}
	if policy.ForNewAccounts != PolicyAccept {
		accounts, err := s.AccountsInOrder(ctx, senderIDs)
		if err != nil {
			return nil, err
		}
		for _, a := range accounts {
			created[a.ID] = a.CreatedAt
		}
	}
	private := map[string]bool{} // mention status ids that are private mentions from strangers
	if policy.ForPrivateMentions != PolicyAccept && len(mentionStatusIDs) > 0 {
		sts, err := s.Statuses(ctx, mentionStatusIDs)
		if err != nil {
			return nil, err
		}
		for _, st := range sts {
			// A reply to a conversation the viewer started is not unsolicited.
			private[st.ID] = st.Visibility == VisibilityDirect && st.InReplyToAccountID != viewerID
		}
	}
	now := time.Now()
	for _, n := range ns {
		// A poll's end is never filtered: Mastodon's NotifyService lists it among the
		// non-filterable types, since the voter asked for the poll.
		if n.FromAccountID == viewerID || permits[n.FromAccountID] || strings.HasPrefix(n.Type, "admin.") || n.Type == NotifyPoll {
			continue
		}
		r := rels[n.FromAccountID]
		verdict := PolicyAccept
		apply := func(applies bool, v string) {
			if !applies || v == PolicyAccept || verdict == PolicyDrop {
				return
			}
			verdict = v
		}
		apply(needRelations && !r.Following, policy.ForNotFollowing)
		apply(needRelations && !r.FollowedBy, policy.ForNotFollowers)
		if t, ok := created[n.FromAccountID]; ok {
			apply(now.Sub(t) < NewAccountAge, policy.ForNewAccounts)
		}
		apply(n.Type == NotifyMention && private[n.StatusID] && !r.Following, policy.ForPrivateMentions)
		out[n.ID] = verdict
	}
	return out, nil
}
