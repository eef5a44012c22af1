package store

import (
	"context"
	"fmt"
	"time"
)

// SaveFilter creates or replaces one of accountID's filters, assigning ids to it and to new keywords.
func (s *Store) SaveFilter(ctx context.Context, accountID string, f *Filter) error {
	if f.ID == "" {
		f.ID = s.NewID(time.Now())
	}
	for i := range f.Keywords {
		if f.Keywords[i].ID == "" {
			f.Keywords[i].ID = s.NewID(time.Now())
		}
	}
	if err := s.rdb.HSet(ctx, s.k.filters(accountID), f.ID, mustJSON(f)).Err(); err != nil {
		return fmt.Errorf("save filter: %w", err)
	}
	s.publishFiltersChanged(ctx, accountID)
	return nil
}

// Filters reads all of accountID's filters, oldest first, including expired ones.
func (s *Store) Filters(ctx context.Context, accountID string) ([]*Filter, error) {
	raw, err := s.rdb.HGetAll(ctx, s.k.filters(accountID)).Result()
	if err != nil {
		return nil, fmt.Errorf("filters: %w", err)
	}
	return decodeFilters(raw)
}

// decodeFilters decodes an account's filters hash, oldest first.
func decodeFilters(raw map[string]string) ([]*Filter, error) {
	ids := make([]string, 0, len(raw))
	for id := range raw {
		ids = append(ids, id)
	}
	sortIDs(ids)
	out := make([]*Filter, 0, len(ids))
	for _, id := range ids {
		var f Filter
		if err := unmarshalString(raw[id], &f); err != nil {
			return nil, err
		}
		out = append(out, &f)
	}
	return out, nil
}

// Filter reads one of accountID's filters.
func (s *Store) Filter(ctx context.Context, accountID, id string) (*Filter, error) {
	raw, err := s.rdb.HGet(ctx, s.k.filters(accountID), id).Result()
	if err != nil {
		return nil, fmt.Errorf("filter %s: %w", id, ErrNotFound)
	}
	var f Filter
	return &f, unmarshalString(raw, &f)
}

// DeleteFilter deletes one of accountID's filters.
func (s *Store) DeleteFilter(ctx context.Context, accountID, id string) error {
	deleted, err := s.rdb.HDel(ctx, s.k.filters(accountID), id).Result()
	if err != nil {
		return fmt.Errorf("delete filter: %w", err)
	}
	if deleted == 0 {
		return fmt.Errorf("filter %s: %w", id, ErrNotFound)
	}
	s.publishFiltersChanged(ctx, accountID)
	return nil
}

// FilterByKeyword finds the filter holding a keyword id.
func (s *Store) FilterByKeyword(ctx context.Context, accountID, keywordID string) (*Filter, error) {
	fs, err := s.Filters(ctx, accountID)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		for _, k := range f.Keywords {
			if k.ID == keywordID {
				return f, nil
			}
		}
	}
	return nil, fmt.Errorf("filter keyword %s: %w", keywordID, ErrNotFound)
}
