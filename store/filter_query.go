package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// filterUpdateAttempts bounds the retries of an edit that raced another. Each retry means
// another edit of the same account's filters landed, and one person rarely runs more than a
// few at once, so this many always suffice in practice.
const filterUpdateAttempts = 16

// UpdateFilter applies change to one of accountID's filters and saves the result, assigning ids
// to keywords added by change. Change runs on a fresh copy each time a concurrent edit forces a
// retry; when it returns an error nothing is written and the error is returned as is, so
// callers can refuse invalid edits from inside it.
func (s *Store) UpdateFilter(ctx context.Context, accountID, id string, change func(*Filter) error) (*Filter, error) {
	key := s.k.filters(accountID)
	for attempt := 0; attempt < filterUpdateAttempts; attempt++ {
		var f Filter
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			raw, err := tx.HGet(ctx, key, id).Result()
			if errors.Is(err, redis.Nil) {
				return fmt.Errorf("filter %s: %w", id, ErrNotFound)
			}
			if err != nil {
				return fmt.Errorf("filter %s: %w", id, err)
			}
			if err := unmarshalString(raw, &f); err != nil {
				return err
			}
			if err := change(&f); err != nil {
				return err
			}
			f.ID = id
			for i := range f.Keywords {
				if f.Keywords[i].ID == "" {
					f.Keywords[i].ID = s.NewID(time.Now())
				}
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HSet(ctx, key, id, mustJSON(&f))
				return nil
			})
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.publishFiltersChanged(ctx, accountID)
		return &f, nil
	}
	return nil, fmt.Errorf("update filter %s: kept changing: %w", id, ErrConflict)
}
