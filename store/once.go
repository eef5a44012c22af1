package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// applyOnce runs writes in a MULTI/EXEC only when done reports the change is not made yet, and
// retries when a concurrent request touched watched meanwhile: double-clicked favourites or
// follows change counters once. It reports whether it wrote.
func (s *Store) applyOnce(ctx context.Context, watched string, done func(tx *redis.Tx) (bool, error), writes func(p redis.Pipeliner)) (bool, error) {
	return s.applyOnceWatching(ctx, []string{watched}, done, writes)
}

// applyOnceWatching is applyOnce for a change whose check reads several keys.
func (s *Store) applyOnceWatching(ctx context.Context, watched []string, done func(tx *redis.Tx) (bool, error), writes func(p redis.Pipeliner)) (bool, error) {
	wrote := false
	for attempt := 0; attempt < 5; attempt++ {
		err := s.watch(ctx, func(tx *watchedTx) error {
			already, err := done(tx.Tx)
			if err != nil || already {
				return err
			}
			err = s.spreadMulti(ctx, tx, func(p redis.Pipeliner) error {
				writes(p)
				return nil
			})
			if err == nil {
				wrote = true
			}
			return err
		}, watched...)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		return wrote, err
	}
	return false, fmt.Errorf("%v kept changing: %w", watched, redis.TxFailedErr)
}

// spreadAfter writes a change of an account's own that lives in the account's slot (a favourite,
// a followed hashtag), out of reach of the department's MULTI, and then writes, what follows from
// it, through spreadMulti. On a cluster the change is made first and its count tells writes
// whether it changed anything; writes queues what is idempotent (a tally, an index entry)
// whether or not it did, so a writer killed between the two steps leaves a change that the same
// request made again (a client retrying) completes. On a single server both are one MULTI and
// writes is told the change is new: a caller that acts on that (a favourite's notification)
// checks first there, with applyOnce.
func (s *Store) spreadAfter(ctx context.Context, change func(c redis.Cmdable) *redis.IntCmd, writes func(p redis.Pipeliner, changed bool)) error {
	if !s.cluster {
		return s.spreadMulti(ctx, s.rdb, func(p redis.Pipeliner) error {
			change(p)
			writes(p, true)
			return nil
		})
	}
	n, err := change(s.rdb).Result()
	if err != nil {
		return err
	}
	return s.spreadMulti(ctx, s.rdb, func(p redis.Pipeliner) error {
		writes(p, n > 0)
		return nil
	})
}

// zHas reports whether member is in the sorted set key.
func zHas(ctx context.Context, c redis.Cmdable, key, member string) (bool, error) {
	err := c.ZScore(ctx, key, member).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil, err
}
