package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// activityWeeks is how many weeks of activity the instance keeps and shows, as Mastodon.
const activityWeeks = 12

// WeekActivity is one week of the instance's activity (Mastodon's /api/v1/instance/activity).
type WeekActivity struct {
	Week                            time.Time
	Statuses, Logins, Registrations int64
}

// weekStart is the Monday 00:00 UTC that starts t's week.
func weekStart(t time.Time) time.Time {
	day := t.UTC().Truncate(24 * time.Hour)
	return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
}

// CountLogin records that accountID signed in at t, counted once per person and week.
func (s *Store) CountLogin(ctx context.Context, accountID string, t time.Time) error {
	key := s.k.weeklyLogins(strconv.FormatInt(weekStart(t).Unix(), 10))
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.PFAdd(ctx, key, accountID)
		p.Expire(ctx, key, (activityWeeks+1)*7*24*time.Hour)
		return nil
	})
	if err != nil {
		return fmt.Errorf("count login: %w", err)
	}
	return nil
}

// Activity reads the last twelve weeks, this one first: public local posts (from the local
// timeline), distinct people signing in, and new local accounts (from their time-ordered ids).
func (s *Store) Activity(ctx context.Context, now time.Time) ([]WeekActivity, error) {
	p := s.rdb.Pipeline()
	type cmds struct{ statuses, registrations, logins *redis.IntCmd }
	all := make([]cmds, activityWeeks)
	out := make([]WeekActivity, activityWeeks)
	start := weekStart(now)
	for i := range activityWeeks {
		from := start.AddDate(0, 0, -7*i)
		to := from.AddDate(0, 0, 7)
		out[i].Week = from
		lo, hi := IDForTime(from, 0), "("+IDForTime(to, 0)
		all[i] = cmds{
			statuses:      p.ZCount(ctx, s.k.localTimeline(), lo, hi),
			registrations: p.ZCount(ctx, s.k.localAccounts(), lo, hi),
			logins:        p.PFCount(ctx, s.k.weeklyLogins(strconv.FormatInt(from.Unix(), 10))),
		}
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("activity: %w", err)
	}
	for i, c := range all {
		out[i].Statuses, out[i].Registrations, out[i].Logins = c.statuses.Val(), c.registrations.Val(), c.logins.Val()
	}
	return out, nil
}

// InstanceDomainBlocks lists the hosts this instance refuses to federate with, sorted.
func (s *Store) InstanceDomainBlocks(ctx context.Context) ([]string, error) {
	hosts, err := s.rdb.SMembers(ctx, s.k.domainBlocks()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("domain blocks: %w", err)
	}
	slices.Sort(hosts)
	return hosts, nil
}
