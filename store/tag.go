package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// FollowTag makes accountID's home timeline receive new public statuses with the tag.
func (s *Store) FollowTag(ctx context.Context, accountID, tag string) error {
	id := s.NewID(time.Now())
	err := s.spreadAfter(ctx, func(p redis.Pipeliner) func() (int64, error) {
		return p.ZAddNX(ctx, s.k.followedTags(accountID), redis.Z{Score: idScore(id), Member: tag}).Result
	}, func(p redis.Pipeliner, _ bool) {
		p.SAdd(ctx, s.k.tagFollowers(tag), accountID)
		p.ZAdd(ctx, s.k.tagSearch(), redis.Z{Member: tag})
	})
	if err != nil {
		return fmt.Errorf("follow tag: %w", err)
	}
	return nil
}

// UnfollowTag stops following a tag.
func (s *Store) UnfollowTag(ctx context.Context, accountID, tag string) error {
	err := s.spreadAfter(ctx, func(p redis.Pipeliner) func() (int64, error) {
		return p.ZRem(ctx, s.k.followedTags(accountID), tag).Result
	}, func(p redis.Pipeliner, _ bool) {
		p.SRem(ctx, s.k.tagFollowers(tag), accountID)
	})
	if err != nil {
		return fmt.Errorf("unfollow tag: %w", err)
	}
	return nil
}

// FollowedTags pages through the tags accountID follows.
func (s *Store) FollowedTags(ctx context.Context, accountID string, p Page) ([]Entry, error) {
	return pageZSet(ctx, s.rdb, s.k.followedTags(accountID), p)
}

// FollowsTag reports whether accountID follows tag.
func (s *Store) FollowsTag(ctx context.Context, accountID, tag string) (bool, error) {
	return zHas(ctx, s.rdb, s.k.followedTags(accountID), tag)
}

// SearchTags finds known tags starting with prefix.
func (s *Store) SearchTags(ctx context.Context, prefix string, limit int) ([]string, error) {
	prefix = strings.ToLower(strings.TrimPrefix(prefix, "#"))
	if prefix == "" {
		return nil, nil
	}
	return s.rdb.ZRangeByLex(ctx, s.k.tagSearch(), &redis.ZRangeBy{Min: "[" + prefix, Max: "[" + prefix + "\xff", Count: int64(limit)}).Result()
}
