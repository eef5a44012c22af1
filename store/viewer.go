package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// ViewerFlags is one account's relation to one status.
type ViewerFlags struct {
	Favourited, Reblogged, Bookmarked, Pinned, Muted bool
}

// ViewerFlags reads, in one round trip, how viewerID relates to each of statusIDs.
func (s *Store) ViewerFlags(ctx context.Context, viewerID string, statusIDs []string) (map[string]ViewerFlags, error) {
	type cmds struct {
		fav, book, pin *redis.FloatCmd
		reblog         *redis.BoolCmd
	}
	p := s.rdb.Pipeline()
	all := make([]cmds, len(statusIDs))
	for i, id := range statusIDs {
		all[i] = cmds{
			fav:    p.ZScore(ctx, s.k.favourites(viewerID), id),
			book:   p.ZScore(ctx, s.k.bookmarks(viewerID), id),
			pin:    p.ZScore(ctx, s.k.accountPins(viewerID), id),
			reblog: p.HExists(ctx, s.k.boosts(viewerID), id),
		}
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("viewer flags: %w", err)
	}
	out := make(map[string]ViewerFlags, len(statusIDs))
	for i, id := range statusIDs {
		c := all[i]
		out[id] = ViewerFlags{
			Favourited: c.fav.Err() == nil, Bookmarked: c.book.Err() == nil, Pinned: c.pin.Err() == nil,
			Reblogged: c.reblog.Val(),
		}
	}
	return out, nil
}

// MediaByIDs reads many media records, keyed by id.
func (s *Store) MediaByIDs(ctx context.Context, ids []string) (map[string]*Media, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.k.media(id)
	}
	list, err := recordsJSON[Media](ctx, s, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Media, len(list))
	for i := range list {
		out[list[i].ID] = &list[i]
	}
	return out, nil
}
