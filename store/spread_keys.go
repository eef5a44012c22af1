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

// EnsureSpreadKeys moves the keys that data written before they had slots of their own
// (keys.go) keeps under the department's tag to their keys now, once: the readers' timelines
// and notifications, the authors' lists of statuses, and what others did with each status.
// Without it a department upgraded in place would show everyone an empty home, no
// notifications and no favourites. A key is merged into its new one (members added, a record
// set unless one is there, counts made the merged sets' sizes) and then deleted, so processes
// starting together, or one killed half way, only repeat work; what was written under the new
// keys meanwhile stays.
func (s *Store) EnsureSpreadKeys(ctx context.Context) error {
	moved, err := s.rdb.Get(ctx, s.k.spreadKeysMoved()).Result()
	if err != nil && !errors.Is(err, redis.Nil) || moved == spreadLayout {
		return err
	}
	old := s.k.p
	var mu sync.Mutex
	var found []string
	err = ForEachServer(ctx, s.rdb, func(ctx context.Context, node *redis.Client) error {
		patterns := []string{old + "tl:home:*", old + "tl:list:*", old + "notifications:*", old + "notification:*", old + "account:statuses:*", old + "status:counts:*"}
		for _, set := range statusSets {
			patterns = append(patterns, old+"status:"+string(set)+":*")
		}
		for _, pattern := range patterns {
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
	statuses := map[string]bool{}
	for _, key := range found {
		if id, ok := oldStatusKeyID(strings.TrimPrefix(key, old)); ok {
			statuses[id] = true
		} else if err := s.moveToSpreadKey(ctx, key); err != nil {
			return err
		}
	}
	for id := range statuses {
		if err := s.moveStatusSets(ctx, id); err != nil {
			return err
		}
	}
	return s.rdb.Set(ctx, s.k.spreadKeysMoved(), spreadLayout, 0).Err()
}

// spreadLayout names the layout EnsureSpreadKeys moves keys to: "1" spread the timelines,
// notifications and authors' statuses, "2" what others do with a status as well.
const spreadLayout = "2"

var statusSets = []statusSet{repliesSet, reblogsSet, favouritesSet, quotesSet}

// oldStatusKeyID gives the status of a key (after the department's tag) that held one of its
// sets or its counts in the old layout.
func oldStatusKeyID(rest string) (string, bool) {
	for _, name := range []string{"counts", "replies", "reblogs", "favourites", "quotes"} {
		if id, ok := strings.CutPrefix(rest, "status:"+name+":"); ok && isDigits(id) {
			return id, true
		}
	}
	return "", false
}

// moveStatusSets merges a status's sets of the old layout into its slot and sets its counts to
// the merged sets' sizes, as tallies keep them.
func (s *Store) moveStatusSets(ctx context.Context, id string) error {
	old := s.k.p + "status:"
	for _, set := range statusSets {
		if err := s.mergeZSet(ctx, old+string(set)+":"+id, s.k.statusSet(id, set)); err != nil {
			return err
		}
	}
	p := s.rdb.Pipeline()
	sizes := make([]*redis.IntCmd, len(statusSets))
	for i, set := range statusSets {
		sizes[i] = p.ZCard(ctx, s.k.statusSet(id, set))
	}
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("spread the sets of status %s: %w", id, err)
	}
	counts := make([]any, 0, 2*len(statusSets))
	for i, set := range statusSets {
		counts = append(counts, string(set), sizes[i].Val())
	}
	if err := s.rdb.HSet(ctx, s.k.statusCounts(id), counts...).Err(); err != nil {
		return fmt.Errorf("spread the counts of status %s: %w", id, err)
	}
	return s.rdb.Del(ctx, old+"counts:"+id).Err()
}

// mergeZSet adds the members of the sorted set from to the one at to, and deletes from.
func (s *Store) mergeZSet(ctx context.Context, from, to string) error {
	entries, err := s.rdb.ZRangeWithScores(ctx, from, 0, -1).Result()
	if err != nil {
		return fmt.Errorf("spread %s: %w", from, err)
	}
	if len(entries) > 0 {
		if err := s.rdb.ZAdd(ctx, to, entries...).Err(); err != nil {
			return fmt.Errorf("spread %s: %w", from, err)
		}
	}
	return s.rdb.Del(ctx, from).Err()
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
	return s.mergeZSet(ctx, key, target)
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
