// Package store is Watercooler's data layer: every Redis access of one instance, with key names
// built in keys.go. It knows nothing of HTTP or ActivityStreams.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel errors, checked with errors.Is by callers that map them to HTTP statuses.
var (
	ErrNotFound  = errors.New("record not found")
	ErrConflict  = errors.New("record already exists")
	ErrForbidden = errors.New("not allowed")
)

// HomeTimelineLength is how many entries a home or list timeline keeps, as Mastodon does.
const HomeTimelineLength = 800

// publicTimelineLength bounds the shared public and hashtag timelines.
const publicTimelineLength = 10000

// Store is one instance's data in Redis.
type Store struct {
	rdb    redis.UniversalClient
	k      keys
	domain string
	ids    *idGenerator
	// Decoded records shared by the render reads (see memo.go), for the timeline pages readers
	// load again and again: statuses, and accounts, of which TokenAccount hands out copies.
	statusMemo  memo[Status]
	accountMemo memo[Account]
	// tokenOwners maps token hashes to the account each token belongs to, which never changes
	// (see TokenAccount).
	tokenOwners *bounded[string]
	// cache holds hot records in process memory once StartCache has run (see cache.go); nil
	// before.
	cache *readCache
	// cluster: the store runs on a Redis Cluster, where the stream channels use sharded pub/sub
	// (see publish) and writes reach readers' slots through fan-out jobs (fanout_jobs.go).
	cluster bool
	// leaveFanOutJobs makes writes record their fan-out jobs, on a single server too, without
	// applying them, as a writer on a cluster killed between its MULTI and its fan-out does
	// (tests only, export_test.go).
	leaveFanOutJobs bool
}

// Sizes of the memos: about 1 KiB per status and 2 KiB per account decoded, JSON included, and
// 100 bytes per token.
const (
	statusMemoSize  = 4096
	accountMemoSize = 1024
	tokenOwnersSize = 4096
)

// New returns a Store whose keys all start with the {prefix} hash tag. Domain is the instance's
// host, used to tell local accounts from remote ones.
func New(rdb redis.UniversalClient, prefix, domain string) *Store {
	s := &Store{
		rdb: rdb, k: newKeys(prefix), domain: domain, ids: newIDGenerator(rdb, newKeys(prefix)),
		statusMemo: newMemo(statusMemoSize, decodeStatus), accountMemo: newMemo[Account](accountMemoSize, nil),
		tokenOwners: newBounded[string](tokenOwnersSize),
	}
	_, s.cluster = rdb.(*redis.ClusterClient)
	return s
}

// Redis exposes the client for components that run their own queues on the same Redis.
func (s *Store) Redis() redis.UniversalClient { return s.rdb }

// Ping checks that Redis answers, for the readiness check.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping Redis: %w", err)
	}
	return nil
}

// Domain is the local instance's domain.
func (s *Store) Domain() string { return s.domain }

// NewID mints a time-sortable id for a record created at t, unique across every process on the
// instance's Redis (see ids.go).
func (s *Store) NewID(t time.Time) string { return s.ids.next(t) }

// getJSON reads one JSON record; a missing key is ErrNotFound.
func (s *Store) getJSON(ctx context.Context, key string, v any) error {
	b, err := s.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("get %s: %w", key, err)
	}
	return json.Unmarshal(b, v)
}

// mgetJSON reads many JSON records in one round trip; missing ones are skipped.
func mgetJSON[T any](ctx context.Context, rdb redis.Cmdable, keys []string) ([]T, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	vals, err := rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("mget: %w", err)
	}
	return decodeRecords[T](vals)
}

// recordsJSON is mgetJSON for records in slots of their own (keys.go), which a cluster reads
// with a GET each, in one pipeline split by node.
func recordsJSON[T any](ctx context.Context, s *Store, keys []string) ([]T, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	p := s.rdb.Pipeline()
	vals := s.queueMGet(ctx, p, keys, true)
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("mget: %w", err)
	}
	return decodeRecords[T](vals())
}

// decodeRecords decodes the records an MGET found.
func decodeRecords[T any](vals []any) ([]T, error) {
	out := make([]T, 0, len(vals))
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		var rec T
		if err := json.Unmarshal([]byte(str), &rec); err != nil {
			return nil, fmt.Errorf("decode record: %w", err)
		}
		out = append(out, rec)
	}
	return out, nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("store: encoding %T: %v", v, err)) // only plain structs are encoded
	}
	return string(b)
}
