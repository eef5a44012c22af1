package store

import (
	"context"
	"slices"
	"strconv"
)

// HomeTimeline pages through an account's home timeline. Pages are kept in the read cache as
// values derived from the timeline's key, so a client polling its home timeline costs no round
// trip for the page until a status arrives in it (or leaves it), which invalidates the key.
func (s *Store) HomeTimeline(ctx context.Context, accountID string, p Page) ([]Entry, error) {
	key := s.k.homeTimeline(accountID)
	name := p.MaxID + "/" + p.SinceID + "/" + p.MinID + "/" + strconv.Itoa(p.Limit)
	if v, ok := s.cache.derived(key, name); ok {
		return slices.Clone(v.([]Entry)), nil
	}
	epoch := s.cache.begin()
	es, err := pageZSet(ctx, s.rdb, key, p)
	if err == nil {
		s.cache.putDerived(epoch, key, name, slices.Clone(es))
	}
	return es, err
}

// PublicScope selects which public timeline to read.
type PublicScope struct {
	Local, Remote, OnlyMedia bool
}

// PublicTimeline pages through the local, remote or combined public timeline.
func (s *Store) PublicTimeline(ctx context.Context, scope PublicScope, p Page) ([]Entry, error) {
	local, remote := s.k.localTimeline(), s.k.remoteTimeline()
	if scope.OnlyMedia {
		local, remote = s.k.localMediaTimeline(), s.k.remoteMediaTimeline()
	}
	switch {
	case scope.Local && !scope.Remote:
		return pageZSet(ctx, s.rdb, local, p)
	case scope.Remote && !scope.Local:
		return pageZSet(ctx, s.rdb, remote, p)
	}
	return pageMerged(ctx, s, []string{local, remote}, p)
}

// TagTimeline pages through a hashtag's timeline.
func (s *Store) TagTimeline(ctx context.Context, tag string, p Page) ([]Entry, error) {
	return pageZSet(ctx, s.rdb, s.k.tagTimeline(tag), p)
}

// ListTimeline pages through a list's timeline.
func (s *Store) ListTimeline(ctx context.Context, listID string, p Page) ([]Entry, error) {
	return pageZSet(ctx, s.rdb, s.k.listTimeline(listID), p)
}

// pageMerged reads the same page from several sorted sets and merges them by id.
func pageMerged(ctx context.Context, s *Store, keys []string, p Page) ([]Entry, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 20
	}
	var all []Entry
	for _, key := range keys {
		es, err := pageZSet(ctx, s.rdb, key, p)
		if err != nil {
			return nil, err
		}
		all = append(all, es...)
	}
	sortEntriesNewestFirst(all)
	if len(all) > limit {
		if p.MinID != "" {
			all = all[len(all)-limit:]
		} else {
			all = all[:limit]
		}
	}
	return all, nil
}
