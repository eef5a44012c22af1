package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// CreateList creates a list owned by l.AccountID and assigns its id. The record goes first, into
// the list's slot; a process killed before the owner's index names it leaves a list no one sees.
func (s *Store) CreateList(ctx context.Context, l *List) error {
	l.ID = s.NewID(time.Now())
	err := s.rdb.Set(ctx, s.k.list(l.ID), mustJSON(l), 0).Err()
	if err == nil {
		err = s.rdb.SAdd(ctx, s.k.accountLists(l.AccountID), l.ID).Err()
	}
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
	ls, err := recordsJSON[List](ctx, s, keys)
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

// DeleteList deletes a list with its members and timeline: its members leave it first, then
// its timeline goes and, last, its record, so deleting it again completes a deletion whose
// writer died half way.
func (s *Store) DeleteList(ctx context.Context, l *List) error {
	members, err := s.rdb.SMembers(ctx, s.k.listMembers(l.ID)).Result()
	if err == nil {
		err = s.changeListings(ctx, l.ID, members, true)
	}
	if err == nil {
		err = s.spreadMulti(ctx, s.rdb, func(p redis.Pipeliner) error {
			spreadOf(p).move(timelineMove{Lists: []string{l.ID}, Clear: true})
			return nil
		})
	}
	if err == nil {
		err = s.rdb.SRem(ctx, s.k.accountLists(l.AccountID), l.ID).Err()
	}
	if err == nil {
		err = s.rdb.Del(ctx, s.k.list(l.ID), s.k.listMembers(l.ID)).Err()
	}
	if err != nil {
		return fmt.Errorf("delete list: %w", err)
	}
	return nil
}

// changeListings adds accounts to a list's members, or takes them out, with the other side of
// each: the list among those the account is in (an edge), which is what a post's fan-out reads
// to reach the lists of its author. On a cluster the members, in the list's slot, change first
// and the edges follow through the department's MULTI, so making the change again completes one
// whose writer died between the two.
func (s *Store) changeListings(ctx context.Context, listID string, accountIDs []string, leave bool) error {
	if len(accountIDs) == 0 {
		return nil
	}
	return s.spreadAfter(ctx, func(p redis.Pipeliner) func() (int64, error) {
		if leave {
			return p.SRem(ctx, s.k.listMembers(listID), toAny(accountIDs)...).Result
		}
		return p.SAdd(ctx, s.k.listMembers(listID), toAny(accountIDs)...).Result
	}, func(p redis.Pipeliner, _ bool) {
		for _, id := range accountIDs {
			spreadOf(p).link(edge{To: id, Set: listedInEdges, From: listID, Leave: leave})
		}
	})
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
	return s.changeListings(ctx, l.ID, accountIDs, false)
}

// RemoveListAccounts removes accounts from a list.
func (s *Store) RemoveListAccounts(ctx context.Context, l *List, accountIDs []string) error {
	return s.changeListings(ctx, l.ID, accountIDs, true)
}

// ListAccountIDs lists a list's members in id order.
func (s *Store) ListAccountIDs(ctx context.Context, listID string) ([]string, error) {
	ids, err := s.rdb.SMembers(ctx, s.k.listMembers(listID)).Result()
	sortIDs(ids)
	return ids, err
}

// ListsContaining lists ownerID's lists that include accountID.
func (s *Store) ListsContaining(ctx context.Context, ownerID, accountID string) ([]*List, error) {
	// The two sets are in the two accounts' slots: read both, and keep what they share.
	p := s.rdb.Pipeline()
	owned, containing := p.SMembers(ctx, s.k.accountLists(ownerID)), p.SMembers(ctx, s.k.memberOfLists(accountID))
	if _, err := p.Exec(ctx); err != nil {
		return nil, fmt.Errorf("lists containing: %w", err)
	}
	in := containing.Val()
	ids := slices.DeleteFunc(owned.Val(), func(id string) bool { return !slices.Contains(in, id) })
	return s.listsByID(ctx, ids)
}
