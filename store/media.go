package store

import (
	"context"
	"fmt"
	"time"
)

// CreateMedia stores an upload's metadata and assigns its id when empty.
func (s *Store) CreateMedia(ctx context.Context, m *Media) error {
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.Now().UTC()
	}
	if m.ID == "" {
		m.ID = s.NewID(m.CreatedAt)
	}
	if err := s.rdb.Set(ctx, s.k.media(m.ID), mustJSON(m), 0).Err(); err != nil {
		return fmt.Errorf("create media: %w", err)
	}
	return nil
}

// Media reads one media record.
func (s *Store) Media(ctx context.Context, id string) (*Media, error) {
	var m Media
	if err := s.getJSON(ctx, s.k.media(id), &m); err != nil {
		return nil, fmt.Errorf("media %s: %w", id, err)
	}
	return &m, nil
}

// UpdateMedia saves a media record's description and focus.
func (s *Store) UpdateMedia(ctx context.Context, m *Media) error {
	return s.rdb.SetXX(ctx, s.k.media(m.ID), mustJSON(m), 0).Err()
}
