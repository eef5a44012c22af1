package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// TagDay is one day of a hashtag's use: how many public statuses carried it, how many
// distinct accounts posted them, and from how many departments (servers) those accounts are.
type TagDay struct {
	Day                         time.Time
	Uses, Accounts, Departments int64
}

// TagsHistory counts each hashtag's use on each of the last days UTC days up to now, newest
// first, from the hashtag timelines (public statuses, as Mastodon counts). It makes three round
// trips whatever the number of tags.
func (s *Store) TagsHistory(ctx context.Context, tags []string, now time.Time, days int) (map[string][]TagDay, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	cmds := make([][]*redis.StringSliceCmd, len(tags))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for t, tag := range tags {
			cmds[t] = make([]*redis.StringSliceCmd, days)
			for i := range days {
				day := today.AddDate(0, 0, -i)
				cmds[t][i] = p.ZRangeByScore(ctx, s.k.tagTimeline(tag), &redis.ZRangeBy{
					Min: IDForTime(day, 0),
					Max: "(" + IDForTime(day.AddDate(0, 0, 1), 0),
				})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tag history: %w", err)
	}
	var ids []string
	for _, perTag := range cmds {
		for _, cmd := range perTag {
			ids = append(ids, cmd.Val()...)
		}
	}
	sts, err := s.Statuses(ctx, ids)
	if err != nil {
		return nil, err
	}
	author := make(map[string]string, len(sts))
	authorIDs := make([]string, 0, len(sts))
	for _, st := range sts {
		author[st.ID] = st.AccountID
		authorIDs = append(authorIDs, st.AccountID)
	}
	slices.Sort(authorIDs)
	authors, err := s.Accounts(ctx, slices.Compact(authorIDs))
	if err != nil {
		return nil, err
	}
	out := make(map[string][]TagDay, len(tags))
	for t, tag := range tags {
		history := make([]TagDay, days)
		for i, cmd := range cmds[t] {
			accounts, departments := map[string]bool{}, map[string]bool{}
			for _, id := range cmd.Val() {
				if a, ok := author[id]; ok {
					accounts[a] = true
					if acct, ok := authors[a]; ok {
						departments[acct.Domain] = true
					}
				}
			}
			history[i] = TagDay{Day: today.AddDate(0, 0, -i), Uses: int64(len(cmd.Val())),
				Accounts: int64(len(accounts)), Departments: int64(len(departments))}
		}
		out[tag] = history
	}
	return out, nil
}
