package store

import (
	"context"
	"errors"
	"fmt"
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
			p.Del(ctx, s.k.notification(id))
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
