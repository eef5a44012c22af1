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

// InstanceSecret returns the instance's random signing key, creating it on first use. SET NX
// makes concurrent first callers (several processes of one instance) agree on one key.
func (s *Store) InstanceSecret(ctx context.Context) ([]byte, error) {
	if err := s.rdb.SetNX(ctx, s.k.instanceSecret(), RandomToken(32), 0).Err(); err != nil {
		return nil, fmt.Errorf("instance secret: %w", err)
	}
	secret, err := s.rdb.Get(ctx, s.k.instanceSecret()).Bytes()
	if err != nil {
		return nil, fmt.Errorf("instance secret: %w", err)
	}
	return secret, nil
}

// InstanceStats are the counters the instance entity publishes.
type InstanceStats struct {
	Users, Statuses int64
	// ActiveMonth counts local accounts that posted in the last 30 days; without sessions this
	// is the closest stand-in for Mastodon's monthly logins.
	ActiveMonth int64
	// ContactAccountID is the oldest local admin, or empty when there is none.
	ContactAccountID string
}

// InstanceStats sums the local accounts' counters. It reads every local account's counters and
// user record in one pipeline: O(users), which is fine for a department-sized instance.
func (s *Store) InstanceStats(ctx context.Context) (InstanceStats, error) {
	ids, err := s.rdb.ZRange(ctx, s.k.localAccounts(), 0, -1).Result()
	if err != nil {
		return InstanceStats{}, fmt.Errorf("instance stats: %w", err)
	}
	out := InstanceStats{Users: int64(len(ids))}
	if len(ids) == 0 {
		return out, nil
	}
	p := s.rdb.Pipeline()
	counts := make([]*redis.SliceCmd, len(ids))
	users := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		counts[i] = p.HMGet(ctx, s.k.postCounts(id), "statuses", "last_status_at")
		users[i] = p.Get(ctx, s.k.user(id))
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return InstanceStats{}, fmt.Errorf("instance stats: %w", err)
	}
	monthAgo := time.Now().Add(-30 * 24 * time.Hour).UnixMilli()
	for i, id := range ids {
		v := counts[i].Val()
		out.Statuses += toInt(v[0])
		if toInt(v[1]) >= monthAgo {
			out.ActiveMonth++
		}
		if out.ContactAccountID != "" {
			continue
		}
		raw, err := users[i].Result()
		if err != nil {
			continue // an account without a user record cannot be the contact
		}
		var u User
		if err := unmarshalString(raw, &u); err != nil {
			return InstanceStats{}, err
		}
		if u.Admin {
			out.ContactAccountID = id
		}
	}
	return out, nil
}

// KnownDomains lists the domains of the remote accounts this instance knows, sorted.
func (s *Store) KnownDomains(ctx context.Context) ([]string, error) {
	out, err := s.rdb.SMembers(ctx, s.k.knownDomains()).Result()
	if err != nil {
		return nil, fmt.Errorf("known domains: %w", err)
	}
	slices.Sort(out)
	return out, nil
}

// rememberKnownDomains lists the domains of every remote account in the index by acct, for a
// department whose remote accounts were put before their domains were listed.
func (s *Store) rememberKnownDomains(ctx context.Context) error {
	accts, err := s.remoteAccts(ctx, redis.Pipeliner.HKeys)
	if err != nil {
		return fmt.Errorf("known domains: %w", err)
	}
	seen := map[string]bool{}
	var domains []any
	for _, acct := range accts {
		if _, domain, ok := strings.Cut(acct, "@"); ok && domain != "" && !seen[domain] {
			seen[domain] = true
			domains = append(domains, domain)
		}
	}
	if len(domains) == 0 {
		return nil
	}
	return s.rdb.SAdd(ctx, s.k.knownDomains(), domains...).Err()
}
