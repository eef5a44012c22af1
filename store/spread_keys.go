package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// EnsureSpreadKeys moves the readers' timelines and notifications, and the authors' lists of
// statuses, that data written before they had slots of their own (keys.go) keeps under the department's tag to their keys now, once:
// without it a department upgraded in place would show everyone an empty home and no
// notifications. A key is merged into its new one (members added, a record set unless one is
// there) and then deleted, so processes starting together, or one killed half way, only repeat
// work; what was written under the new keys meanwhile stays.
func (s *Store) EnsureSpreadKeys(ctx context.Context) error {
	done, err := s.rdb.Exists(ctx, s.k.spreadKeysMoved()).Result()
	if err != nil || done == 1 {
		return err
	}
	old := s.k.p
	var mu sync.Mutex
	var found []string
	err = ForEachServer(ctx, s.rdb, func(ctx context.Context, node *redis.Client) error {
		for _, pattern := range []string{old + "tl:home:*", old + "tl:list:*", old + "notifications:*", old + "notification:*", old + "account:statuses:*"} {
			iter := node.Scan(ctx, 0, pattern, 1000).Iterator()
			for iter.Next(ctx) {
				mu.Lock()
				found = append(found, iter.Val())
				mu.Unlock()
			}
			if err := iter.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("find keys to spread: %w", err)
	}
	for _, key := range found {
		if err := s.moveToSpreadKey(ctx, key); err != nil {
			return err
		}
	}
	return s.rdb.Set(ctx, s.k.spreadKeysMoved(), "1", 0).Err()
}

// moveToSpreadKey merges one key of the old layout into its key now; keys of the department
// that only look alike (the notification policy's) are left.
func (s *Store) moveToSpreadKey(ctx context.Context, key string) error {
	rest := strings.TrimPrefix(key, s.k.p)
	var target string
	if id, ok := strings.CutPrefix(rest, "notification:"); ok {
		raw, err := s.rdb.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			return nil // moved by another process meanwhile
		}
		if err != nil {
			return fmt.Errorf("spread %s: %w", key, err)
		}
		var n Notification
		if err := json.Unmarshal([]byte(raw), &n); err != nil || n.AccountID == "" {
			return nil // not a notification this code wrote: left where it is
		}
		target = s.k.notification(n.AccountID, id)
		if err := s.rdb.SetNX(ctx, target, raw, 0).Err(); err != nil {
			return fmt.Errorf("spread %s: %w", key, err)
		}
		return s.rdb.Del(ctx, key).Err()
	}
	switch {
	case strings.HasPrefix(rest, "tl:home:reblogs:"):
		target = s.k.homeReblogs(strings.TrimPrefix(rest, "tl:home:reblogs:"))
	case strings.HasPrefix(rest, "tl:home:"):
		target = s.k.homeTimeline(strings.TrimPrefix(rest, "tl:home:"))
	case strings.HasPrefix(rest, "tl:list:"):
		target = s.k.listTimeline(strings.TrimPrefix(rest, "tl:list:"))
	case strings.HasPrefix(rest, "account:statuses:"):
		target = s.k.accountStatuses(strings.TrimPrefix(rest, "account:statuses:"))
	case strings.HasPrefix(rest, "notifications:") && isDigits(strings.TrimPrefix(rest, "notifications:")):
		target = s.k.notifications(strings.TrimPrefix(rest, "notifications:"))
	default:
		return nil
	}
	entries, err := s.rdb.ZRangeWithScores(ctx, key, 0, -1).Result()
	if err != nil {
		return fmt.Errorf("spread %s: %w", key, err)
	}
	if len(entries) > 0 {
		if err := s.rdb.ZAdd(ctx, target, entries...).Err(); err != nil {
			return fmt.Errorf("spread %s: %w", key, err)
		}
	}
	return s.rdb.Del(ctx, key).Err()
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// ForEachServer runs f on the single server, or on every master of a cluster: SCAN, KEYS and
// PUBSUB NUMSUB answer for the node they are sent to only.
func ForEachServer(ctx context.Context, rdb redis.UniversalClient, f func(context.Context, *redis.Client) error) error {
	if cluster, ok := rdb.(*redis.ClusterClient); ok {
		return cluster.ForEachMaster(ctx, f)
	}
	single, ok := rdb.(*redis.Client)
	if !ok {
		return fmt.Errorf("a %T cannot be scanned server by server", rdb)
	}
	return f(ctx, single)
}
