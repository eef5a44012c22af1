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
// a follow, a block, a followed hashtag) or a list's (its members), out of reach of the
// department's MULTI, and then writes, what follows from it, through spreadMulti. change queues
// its commands, all in that one slot, and gives how many things it changed. On a cluster the
// change is made first, in a MULTI of that slot, and its count tells writes whether it changed
// anything; writes queues what is idempotent (a tally, an edge, an index entry) whether or not
// it did, so a writer killed between the two steps leaves a change that the same request made
// again (a client retrying) completes. On a single server both are one MULTI and writes is told
// the change is new: a caller that acts on that (a notification) checks first there, with
// changeOnce.
func (s *Store) spreadAfter(ctx context.Context, change func(p redis.Pipeliner) func() (int64, error), writes func(p redis.Pipeliner, changed bool)) error {
	if !s.cluster {
		return s.spreadMulti(ctx, s.rdb, func(p redis.Pipeliner) error {
			change(p)
			writes(p, true)
			return nil
		})
	}
	var changes func() (int64, error)
	if _, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		changes = change(p)
		return nil
	}); err != nil {
		return err
	}
	n, err := changes()
	if err != nil {
		return err
	}
	return s.spreadMulti(ctx, s.rdb, func(p redis.Pipeliner) error {
		writes(p, n > 0)
		return nil
	})
}

// changeOnce is spreadAfter for a change made once (a follow, a request): on a single server it
// writes only when done, reading watched, reports the change not made yet, and reports whether
// it wrote; on a cluster it always writes (see spreadAfter) and reports true.
func (s *Store) changeOnce(ctx context.Context, watched string, done func(tx *redis.Tx) (bool, error), change func(p redis.Pipeliner) func() (int64, error), writes func(p redis.Pipeliner, changed bool)) (bool, error) {
	if s.cluster {
		return true, s.spreadAfter(ctx, change, writes)
	}
	return s.applyOnce(ctx, watched, done, func(p redis.Pipeliner) {
		change(p)
		writes(p, true)
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

// inOrder writes steps, each a few idempotent commands, in one MULTI on a single server; on a
// cluster, where their keys are in several slots, one step after the other, each as a pipeline,
// stopping at the first that fails. The order is what keeps a process that dies between two
// steps harmless: a step that leaves something pointing at nothing goes first.
func (s *Store) inOrder(ctx context.Context, steps ...func(p redis.Pipeliner)) error {
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
		if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			step(p)
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}
