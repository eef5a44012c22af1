package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Page selects a slice of an id-ordered collection the way Mastodon's API does: newest first,
// below MaxID, above SinceID, or the oldest Limit entries just above MinID.
type Page struct {
	MaxID, SinceID, MinID string
	Limit                 int
}

// Entry is one member of an id-ordered collection: the member (a status or account id) and the
// id that orders it (for favourites, the favourite's id rather than the status's).
type Entry struct {
	ID     string
	Member string
}

// pageZSet reads one page of a sorted set whose scores are ids, newest first.
func pageZSet(ctx context.Context, rdb redis.UniversalClient, key string, p Page) ([]Entry, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 20
	}
	maxBound, minBound := "+inf", "-inf"
	if p.MaxID != "" {
		maxBound = "(" + p.MaxID
	}
	if p.SinceID != "" {
		minBound = "(" + p.SinceID
	}
	var zs []redis.Z
	var err error
	if p.MinID != "" {
		// The oldest entries above MinID, returned newest first like every other page.
		zs, err = rdb.ZRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Min: "(" + p.MinID, Max: maxBound, Count: int64(limit)}).Result()
		for i, j := 0, len(zs)-1; i < j; i, j = i+1, j-1 {
			zs[i], zs[j] = zs[j], zs[i]
		}
	} else {
		zs, err = rdb.ZRevRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Min: minBound, Max: maxBound, Count: int64(limit)}).Result()
	}
	if err != nil {
		return nil, fmt.Errorf("page %s: %w", key, err)
	}
	out := make([]Entry, len(zs))
	for i, z := range zs {
		out[i] = Entry{ID: strconv.FormatInt(int64(z.Score), 10), Member: z.Member.(string)}
	}
	return out, nil
}

// Members lists the member of every entry.
func Members(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Member
	}
	return out
}

func sortEntriesNewestFirst(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int { return cmp.Compare(idScore(b.ID), idScore(a.ID)) })
}

// sortIDs orders ids oldest first; equal-length decimal ids sort like numbers.
func sortIDs(ids []string) {
	slices.SortFunc(ids, func(a, b string) int { return cmp.Compare(idScore(a), idScore(b)) })
}
