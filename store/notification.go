package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// notificationsKept bounds each account's notifications.
const notificationsKept = 2000

// addNotification adds a notification to the write of p, a spreadTx: the write's fan-out
// stores it in its account's slot, then sends its stream event and pushes (spreadMulti). It
// assigns the id.
func (s *Store) addNotification(ctx context.Context, p redis.Pipeliner, n *Notification) {
	if n.CreatedAt.IsZero() {
		n.CreatedAt = time.Now().UTC()
	}
	n.ID = s.NewID(time.Now())
	t := spreadOf(p)
	t.writes.Notify = append(t.writes.Notify, n)
}

// Notify stores one notification on its own.
func (s *Store) Notify(ctx context.Context, n *Notification) error {
	err := s.spreadMulti(ctx, s.rdb, func(p redis.Pipeliner) error {
		s.addNotification(ctx, p, n)
		return nil
	})
	if err != nil {
		return fmt.Errorf("notify %s: %w", n.AccountID, err)
	}
	return nil
}

// NotificationQuery selects notifications by type.
type NotificationQuery struct {
	Page
	Types        []string
	ExcludeTypes []string
	// FromAccountID keeps only notifications caused by that account.
	FromAccountID string
}

func (q NotificationQuery) wants(n *Notification) bool {
	if len(q.Types) > 0 && !slices.Contains(q.Types, n.Type) {
		return false
	}
	if slices.Contains(q.ExcludeTypes, n.Type) {
		return false
	}
	return q.FromAccountID == "" || q.FromAccountID == n.FromAccountID
}

// Notifications pages through an account's notifications, newest first, filtered by type. It
// reads ahead in batches so that a filter that skips many entries still fills the page.
func (s *Store) Notifications(ctx context.Context, accountID string, q NotificationQuery) ([]*Notification, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 20
	}
	page := q.Page
	page.Limit = limit * 2
	var out []*Notification
	for len(out) < limit {
		entries, err := pageZSet(ctx, s.rdb, s.k.notifications(accountID), page)
		if err != nil {
			return nil, err
		}
		keys := make([]string, len(entries))
		for i, e := range entries {
			keys[i] = s.k.notification(accountID, e.Member)
		}
		list, err := mgetJSON[Notification](ctx, s.rdb, keys)
		if err != nil {
			return nil, err
		}
		for j := range list {
			i := j
			if q.MinID != "" {
				// A min_id page is the one nearest MinID: take each batch from its oldest end.
				i = len(list) - 1 - j
			}
			if q.wants(&list[i]) && len(out) < limit {
				out = append(out, &list[i])
			}
		}
		if len(entries) < page.Limit {
			break
		}
		last := entries[len(entries)-1].ID
		if page.MinID != "" {
			// Pages toward newer entries continue above the newest one read.
			page.MinID = entries[0].ID
		} else {
			page.MaxID = last
		}
	}
	if q.MinID != "" {
		slices.Reverse(out)
	}
	return out, nil
}

// Notification reads one of an account's notifications.
func (s *Store) Notification(ctx context.Context, accountID, id string) (*Notification, error) {
	var n Notification
	if err := s.getJSON(ctx, s.k.notification(accountID, id), &n); err != nil || n.AccountID != accountID {
		return nil, fmt.Errorf("notification %s: %w", id, ErrNotFound)
	}
	return &n, nil
}

// DismissNotification deletes one notification.
func (s *Store) DismissNotification(ctx context.Context, accountID, id string) error {
	if _, err := s.Notification(ctx, accountID, id); err != nil {
		return err
	}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.k.notification(accountID, id))
		p.ZRem(ctx, s.k.notifications(accountID), id)
		return nil
	})
	return err
}

// ClearNotifications deletes all of an account's notifications.
func (s *Store) ClearNotifications(ctx context.Context, accountID string) error {
	ids, err := s.rdb.ZRange(ctx, s.k.notifications(accountID), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("clear notifications: %w", err)
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.Del(ctx, s.k.notification(accountID, id))
		}
		p.Del(ctx, s.k.notifications(accountID))
		return nil
	})
	return err
}
