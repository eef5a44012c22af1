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

// spreadAfter is applyOnce on a cluster for a change of an account's own that lives in the
// account's slot (a favourite), out of reach of the department's MULTI: change has been made
// there already, and its count tells whether it changed anything; writes then runs through
// spreadMulti, told so. writes queues what is idempotent (a tally) whether or not the change was
// new: a writer killed between the two steps leaves the change without what follows from it,
// and the same change made again (a client retrying) completes it.
func (s *Store) spreadAfter(ctx context.Context, change *redis.IntCmd, writes func(p redis.Pipeliner, changed bool)) error {
	n, err := change.Result()
	if err != nil {
		return err
	}
	return s.spreadMulti(ctx, s.rdb, func(p redis.Pipeliner) error {
		writes(p, n > 0)
		return nil
	})
}

// inSlotOrder writes steps whose keys are in different slots (an account's own list and the
// department's index of it): in one MULTI on a single server; on a cluster one MULTI per step,
// in order. Each step writes what writing it again leaves as it is, so a writer stopped between
// two steps leaves a change that the same request made again completes.
func (s *Store) inSlotOrder(ctx context.Context, steps ...func(p redis.Pipeliner)) error {
	if !s.cluster {
		_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for _, step := range steps {
				step(p)
			}
			return nil
		})
		return err
	}
	for _, step := range steps {
		if _, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			step(p)
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// zHas reports whether member is in the sorted set key.
func zHas(ctx context.Context, c redis.Cmdable, key, member string) (bool, error) {
	err := c.ZScore(ctx, key, member).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil, err
}
