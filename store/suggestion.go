package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// FollowingIDs lists up to max accounts accountID follows, most recent first.
func (s *Store) FollowingIDs(ctx context.Context, accountID string, max int) ([]string, error) {
	ids, err := s.rdb.ZRevRange(ctx, s.k.following(accountID), 0, int64(max)-1).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("following of %s: %w", accountID, err)
	}
	return ids, nil
}

// FollowingOfMany lists, for each of accountIDs, up to max accounts it follows, in one round trip.
func (s *Store) FollowingOfMany(ctx context.Context, accountIDs []string, max int) (map[string][]string, error) {
	p := s.rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(accountIDs))
	for i, id := range accountIDs {
		cmds[i] = p.ZRevRange(ctx, s.k.following(id), 0, int64(max)-1)
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("following of many: %w", err)
	}
	out := make(map[string][]string, len(accountIDs))
	for i, id := range accountIDs {
		out[id] = cmds[i].Val()
	}
	return out, nil
}

// FollowersAmong reports, for each target, which of candidates follow it, in one round trip.
func (s *Store) FollowersAmong(ctx context.Context, targets, candidates []string) (map[string][]string, error) {
	out := make(map[string][]string, len(targets))
	if len(candidates) == 0 {
		return out, nil
	}
	p := s.rdb.Pipeline()
	cmds := make([]*redis.FloatSliceCmd, len(targets))
	for i, t := range targets {
		cmds[i] = p.ZMScore(ctx, s.k.followers(t), candidates...)
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("followers among: %w", err)
	}
	for i, t := range targets {
		for j, score := range cmds[i].Val() {
			if score != 0 {
				out[t] = append(out[t], candidates[j])
			}
		}
	}
	return out, nil
}

// DismissSuggestion remembers that accountID does not want targetID suggested again.
func (s *Store) DismissSuggestion(ctx context.Context, accountID, targetID string) error {
	return s.rdb.SAdd(ctx, s.k.dismissedSuggestions(accountID), targetID).Err()
}

// DismissedSuggestions reads the accounts accountID dismissed from its suggestions.
func (s *Store) DismissedSuggestions(ctx context.Context, accountID string) (map[string]bool, error) {
	ids, err := s.rdb.SMembers(ctx, s.k.dismissedSuggestions(accountID)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("dismissed suggestions: %w", err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// LatestStatusIDs reads the newest status id of each account ("" for none), in one round trip.
func (s *Store) LatestStatusIDs(ctx context.Context, accountIDs []string) (map[string]string, error) {
	p := s.rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(accountIDs))
	for i, id := range accountIDs {
		cmds[i] = p.ZRevRange(ctx, s.k.accountStatuses(id), 0, 0)
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("latest statuses: %w", err)
	}
	out := make(map[string]string, len(accountIDs))
	for i, id := range accountIDs {
		if v := cmds[i].Val(); len(v) > 0 {
			out[id] = v[0]
		}
	}
	return out, nil
}
