package store

import (
	"context"
	"fmt"
	"time"
)

// SaveMarker records the last read id of a timeline ("home" or "notifications").
func (s *Store) SaveMarker(ctx context.Context, accountID, timeline, lastReadID string) (*Marker, error) {
	current, err := s.Markers(ctx, accountID, []string{timeline})
	if err != nil {
		return nil, err
	}
	m := Marker{LastReadID: lastReadID, UpdatedAt: time.Now().UTC()}
	if prev, ok := current[timeline]; ok {
		m.Version = prev.Version + 1
	}
	if err := s.rdb.HSet(ctx, s.k.markers(accountID), timeline, mustJSON(m)).Err(); err != nil {
		return nil, fmt.Errorf("save marker: %w", err)
	}
	return &m, nil
}

// Markers reads the markers of the named timelines that exist.
func (s *Store) Markers(ctx context.Context, accountID string, timelines []string) (map[string]Marker, error) {
	out := map[string]Marker{}
	if len(timelines) == 0 {
		return out, nil
	}
	vals, err := s.rdb.HMGet(ctx, s.k.markers(accountID), timelines...).Result()
	if err != nil {
		return nil, fmt.Errorf("markers: %w", err)
	}
	for i, v := range vals {
		if str, ok := v.(string); ok {
			var m Marker
			if err := unmarshalString(str, &m); err != nil {
				return nil, err
			}
			out[timelines[i]] = m
		}
	}
	return out, nil
}
