package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// Community is a community of practice hosted here: a local Group account that boosts what its
// members address to it (package community). Its members are the group account's followers.
type Community struct {
	// AccountID is the group account's id; the community's name is its username.
	AccountID string `json:"account_id"`
	// Moderators are the local accounts that may remove posts from the community.
	Moderators []string  `json:"moderators,omitempty"`
	CreatedBy  string    `json:"created_by,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// Moderates reports whether accountID is one of the community's moderators.
func (c *Community) Moderates(accountID string) bool { return slices.Contains(c.Moderators, accountID) }

// SaveCommunity writes a community's record; its group account must already exist.
func (s *Store) SaveCommunity(ctx context.Context, c *Community) error {
	if err := s.rdb.HSet(ctx, s.k.communities(), c.AccountID, mustJSON(c)).Err(); err != nil {
		return fmt.Errorf("save community %s: %w", c.AccountID, err)
	}
	return nil
}

// Community reads the community whose group account is accountID; ErrNotFound when that
// account is no community of ours.
func (s *Store) Community(ctx context.Context, accountID string) (*Community, error) {
	b, err := s.rdb.HGet(ctx, s.k.communities(), accountID).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("community %s: %w", accountID, err)
	}
	var c Community
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("decode community %s: %w", accountID, err)
	}
	return &c, nil
}

// Communities lists every community hosted here, oldest first.
func (s *Store) Communities(ctx context.Context) ([]*Community, error) {
	all, err := s.rdb.HGetAll(ctx, s.k.communities()).Result()
	if err != nil {
		return nil, fmt.Errorf("communities: %w", err)
	}
	out := make([]*Community, 0, len(all))
	for id, v := range all {
		var c Community
		if err := json.Unmarshal([]byte(v), &c); err != nil {
			return nil, fmt.Errorf("decode community %s: %w", id, err)
		}
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *Community) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// MarkRemovedFromCommunity records that a moderator removed statusID from the community, so that
// a later reply or redelivery does not announce it again.
func (s *Store) MarkRemovedFromCommunity(ctx context.Context, communityID, statusID string) error {
	return s.rdb.SAdd(ctx, s.k.communityRemoved(communityID), statusID).Err()
}

// RemovedFromCommunity reports whether a moderator removed statusID from the community.
func (s *Store) RemovedFromCommunity(ctx context.Context, communityID, statusID string) (bool, error) {
	return s.rdb.SIsMember(ctx, s.k.communityRemoved(communityID), statusID).Result()
}

// GroupsThatBoosted lists the group accounts, local or remote, that boosted statusID: the
// communities whose thread a reply to it belongs to.
func (s *Store) GroupsThatBoosted(ctx context.Context, statusID string) ([]*Account, error) {
	ids, err := s.rdb.ZRange(ctx, s.k.statusReblogs(statusID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("boosters of %s: %w", statusID, err)
	}
	accounts, err := s.AccountsInOrder(ctx, ids)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(accounts, func(a *Account) bool { return !a.Group }), nil
}
