package store

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"
)

// Home timelines follow Mastodon's feed rules beyond "the people I follow": a follow can hide
// the account's boosts (show_reblogs false) or keep only posts in some languages, a boost never
// enters the home of the boosted post's author, and a boost of a post that is already near the
// top of a home, itself or through another boost, is not shown again.

// reblogFalloff is how near the top of a home a post (or a boost of it) keeps a new boost of it
// out, as Mastodon's REBLOG_FALLOFF.
const reblogFalloff = 40

// followFilterOf is the part of a follow's options that filters what enters the follower's
// home; a follow with neither hides nothing and is not kept in the followFilters hash.
func followFilterOf(opts FollowOptions) (string, bool) {
	if opts.ShowReblogs && len(opts.Languages) == 0 {
		return "", false
	}
	return mustJSON(FollowOptions{ShowReblogs: opts.ShowReblogs, Languages: opts.Languages}), true
}

// homeAccepts reports whether a follow with opts lets st into the follower's home.
func homeAccepts(opts FollowOptions, st *Status) bool {
	if st.ReblogOfID != "" {
		return opts.ShowReblogs
	}
	return len(opts.Languages) == 0 || st.Language == "" || slices.Contains(opts.Languages, st.Language)
}

// filterHomes drops from f.homes those that st must not enter by the rules above; the author's
// own home always keeps their post.
func (s *Store) filterHomes(ctx context.Context, st *Status, f *fanOut) error {
	if len(f.homes) == 0 {
		return nil
	}
	filters, err := s.rdb.HGetAll(ctx, s.k.followFilters(st.AccountID)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("follow filters: %w", err)
	}
	f.homes = slices.DeleteFunc(f.homes, func(home string) bool {
		raw, ok := filters[home]
		if !ok || home == st.AccountID {
			return false
		}
		opts := FollowOptions{ShowReblogs: true}
		_ = unmarshalString(raw, &opts)
		return !homeAccepts(opts, st)
	})
	if st.ReblogOfID == "" || len(f.homes) == 0 {
		return nil
	}
	original, err := s.Status(ctx, st.ReblogOfID)
	if err != nil {
		return err
	}
	p := s.rdb.Pipeline()
	ranks := make([]*redis.IntCmd, len(f.homes))
	tracked := make([]*redis.FloatCmd, len(f.homes))
	for i, home := range f.homes {
		ranks[i] = p.ZRevRank(ctx, s.k.homeTimeline(home), original.ID)
		tracked[i] = p.ZScore(ctx, s.k.homeReblogs(home), original.ID)
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("home reblog check: %w", err)
	}
	kept := f.homes[:0]
	for i, home := range f.homes {
		nearTop := ranks[i].Err() == nil && ranks[i].Val() < reblogFalloff
		alreadyBoosted := tracked[i].Err() == nil
		if home == original.AccountID || nearTop || alreadyBoosted {
			continue
		}
		kept = append(kept, home)
	}
	f.homes = kept
	return nil
}
