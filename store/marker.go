package store

import (
	"context"
	"fmt"
)

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
