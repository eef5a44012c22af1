package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// CreateList creates a list owned by l.AccountID and assigns its id.
func (s *Store) CreateList(ctx context.Context, l *List) error {
	l.ID = s.NewID(time.Now())
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.k.list(l.ID), mustJSON(l), 0)
		p.SAdd(ctx, s.k.accountLists(l.AccountID), l.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("create list: %w", err)
	}
	return nil
}

// List reads one of ownerID's lists; other owners' lists are ErrNotFound.
func (s *Store) List(ctx context.Context, ownerID, id string) (*List, error) {
	var l List
	if err := s.getJSON(ctx, s.k.list(id), &l); err != nil || l.AccountID != ownerID {
		return nil, fmt.Errorf("list %s: %w", id, ErrNotFound)
	}
	return &l, nil
}

// Lists reads all of ownerID's lists, in creation order.
func (s *Store) Lists(ctx context.Context, ownerID string) ([]*List, error) {
	ids, err := s.rdb.SMembers(ctx, s.k.accountLists(ownerID)).Result()
	if err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	return s.listsByID(ctx, ids)
}

func (s *Store) listsByID(ctx context.Context, ids []string) ([]*List, error) {
	sortIDs(ids)
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.k.list(id)
	}
	ls, err := mgetJSON[List](ctx, s.rdb, keys)
	if err != nil {
		return nil, err
	}
	out := make([]*List, len(ls))
	for i := range ls {
		out[i] = &ls[i]
	}
	return out, nil
}

// UpdateList saves a list's title and policies.
func (s *Store) UpdateList(ctx context.Context, l *List) error {
	return s.rdb.SetXX(ctx, s.k.list(l.ID), mustJSON(l), 0).Err()
}

// DeleteList deletes a list with its members and timeline.
func (s *Store) DeleteList(ctx context.Context, l *List) error {
	members, err := s.rdb.SMembers(ctx, s.k.listMembers(l.ID)).Result()
	if err != nil {
		return fmt.Errorf("delete list: %w", err)
	}
	err = s.spreadMulti(ctx, s.rdb, func(p redis.Pipeliner) error {
		for _, m := range members {
			p.SRem(ctx, s.k.memberOfLists(m), l.ID)
		}
		p.Del(ctx, s.k.list(l.ID), s.k.listMembers(l.ID))
		p.SRem(ctx, s.k.accountLists(l.AccountID), l.ID)
		spreadOf(p).move(timelineMove{Lists: []string{l.ID}, Clear: true})
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete list: %w", err)
	}
	return nil
}

// ErrNotFollowed is returned when adding an account the list owner does not follow to a list.
var ErrNotFollowed = errors.New("account is not followed")

// AddListAccounts adds accounts that the list owner follows to a list. The owner may add
// themselves, as in Mastodon, to see their own posts in the list.
func (s *Store) AddListAccounts(ctx context.Context, l *List, accountIDs []string) error {
	for _, id := range accountIDs {
		if id == l.AccountID {
			continue
		}
		ok, err := s.Follows(ctx, l.AccountID, id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("add %s to list: %w", id, ErrNotFollowed)
		}
	}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range accountIDs {
			p.SAdd(ctx, s.k.listMembers(l.ID), id)
			p.SAdd(ctx, s.k.memberOfLists(id), l.ID)
		}
		return nil
	})
	return err
}

// RemoveListAccounts removes accounts from a list.
func (s *Store) RemoveListAccounts(ctx context.Context, l *List, accountIDs []string) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range accountIDs {
			p.SRem(ctx, s.k.listMembers(l.ID), id)
			p.SRem(ctx, s.k.memberOfLists(id), l.ID)
		}
		return nil
	})
	return err
}

// ListAccountIDs lists a list's members in id order.
func (s *Store) ListAccountIDs(ctx context.Context, listID string) ([]string, error) {
	ids, err := s.rdb.SMembers(ctx, s.k.listMembers(listID)).Result()
	sortIDs(ids)
	return ids, err
}

// ListsContaining lists ownerID's lists that include accountID.
func (s *Store) ListsContaining(ctx context.Context, ownerID, accountID string) ([]*List, error) {
	ids, err := s.rdb.SInter(ctx, s.k.accountLists(ownerID), s.k.memberOfLists(accountID)).Result()
	if err != nil {
		return nil, fmt.Errorf("lists containing: %w", err)
	}
	return s.listsByID(ctx, ids)
}
