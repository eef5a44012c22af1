package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Outcomes of delivery attempts, counted per peer and hour by CountDeliveries. One failed
// attempt that is scheduled again counts as failed and retried; one that runs out of retries as
// failed and dead.
const (
	DeliveryDone    = "delivered"
	DeliveryFailed  = "failed"
	DeliveryRetried = "retried"
	DeliveryDead    = "dead"
)

// deliveryStatsTTL keeps an hour's counts a day longer than the admin page shows them, so the
// oldest bar of a 24-hour chart is never half expired.
const deliveryStatsTTL = 49 * time.Hour

func hourOf(t time.Time) int64 { return t.Unix() / 3600 }

// CountDeliveries adds one to each outcome of a delivery attempt to host in the hour of at. The
// counts are for people, not accounting: a lost increment costs a bar a unit, so callers log and
// go on.
func (s *Store) CountDeliveries(ctx context.Context, host string, at time.Time, outcomes ...string) error {
	key := s.k.deliveryStats(hourOf(at))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, o := range outcomes {
			p.HIncrBy(ctx, key, host+"\x00"+o, 1)
		}
		p.Expire(ctx, key, deliveryStatsTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("count deliveries to %s: %w", host, err)
	}
	return nil
}

// DeliveryCounts are one hour's delivery outcomes to one peer.
type DeliveryCounts struct {
	// Hour is the start of the hour, UTC.
	Hour                             time.Time
	Delivered, Failed, Retried, Dead int64
}

// DeliveryHistory reads the counts of the hours hours up to and including now's, oldest
// first, for every peer that had an attempt in them, in one round trip.
func (s *Store) DeliveryHistory(ctx context.Context, now time.Time, hours int) (map[string][]DeliveryCounts, error) {
	last := hourOf(now)
	p := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, hours)
	for i := range hours {
		cmds[i] = p.HGetAll(ctx, s.k.deliveryStats(last-int64(hours-1-i)))
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("delivery history: %w", err)
	}
	out := map[string][]DeliveryCounts{}
	for i, cmd := range cmds {
		for field, v := range cmd.Val() {
			host, outcome, ok := strings.Cut(field, "\x00")
			n, err := strconv.ParseInt(v, 10, 64)
			if !ok || err != nil {
				continue
			}
			series, seen := out[host]
			if !seen {
				series = make([]DeliveryCounts, hours)
				for j := range series {
					series[j].Hour = time.Unix((last-int64(hours-1-j))*3600, 0).UTC()
				}
				out[host] = series
			}
			c := &series[i]
			switch outcome {
			case DeliveryDone:
				c.Delivered += n
			case DeliveryFailed:
				c.Failed += n
			case DeliveryRetried:
				c.Retried += n
			case DeliveryDead:
				c.Dead += n
			}
		}
	}
	return out, nil
}

// PeerHealth is how deliveries to one peer host are going.
type PeerHealth struct {
	Host string
	// Queued counts deliveries in the queue (waiting or being attempted), Retrying those
	// waiting for their next attempt.
	Queued, Retrying int64
	// FailingSince is when deliveries to the host began to fail, zero when they work.
	FailingSince time.Time
	// Hours are the outcomes of each of the last hours, oldest first.
	Hours []DeliveryCounts
}

// Backlog counts by key(fields) the jobs in the stream (waiting or being worked on) and those
// scheduled for a retry, reading at most limit of each: a view for people, which says "more
// than limit" by reaching it.
func (q *Queue) Backlog(ctx context.Context, key func(fields map[string]string) string, limit int64) (queued, retrying map[string]int64, err error) {
	msgs, err := q.rdb.XRangeN(ctx, q.stream, "-", "+", limit).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("backlog of %s: %w", q.stream, err)
	}
	queued, retrying = map[string]int64{}, map[string]int64{}
	for _, m := range msgs {
		queued[key(jobOf(m, 0).Fields)]++
	}
	members, err := q.rdb.ZRange(ctx, q.retry, 0, limit-1).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("backlog of %s: %w", q.retry, err)
	}
	for _, m := range members {
		var r retryMember
		if json.Unmarshal([]byte(m), &r) == nil {
			retrying[key(r.Fields)]++
		}
	}
	return queued, retrying, nil
}

// DeadLetterByID reads one dead letter; ErrNotFound when there is none by that id.
func (q *Queue) DeadLetterByID(ctx context.Context, id string) (Job, error) {
	if !streamID.MatchString(id) {
		return Job{}, fmt.Errorf("dead letter %q: %w", id, ErrNotFound)
	}
	msgs, err := q.rdb.XRange(ctx, q.dead, id, id).Result()
	if err != nil {
		return Job{}, fmt.Errorf("dead letter %s: %w", id, err)
	}
	if len(msgs) == 0 {
		return Job{}, fmt.Errorf("dead letter %s: %w", id, ErrNotFound)
	}
	return jobOf(msgs[0], 0), nil
}

// streamID is the shape of a stream entry id; anything else is no entry of ours.
var streamID = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

// retryDeadScript moves one dead letter back to the stream with changed fields (an empty value
// drops a field), in one step, so a retry clicked twice queues the job once. KEYS: dead,
// stream; ARGV: id, field, value, ... It returns the dead letter, or nil when it is gone.
var retryDeadScript = redis.NewScript(`
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])[1]
if not e then return nil end
local change = {}
for i = 2, #ARGV, 2 do change[ARGV[i]] = ARGV[i + 1] end
local values, f = {}, e[2]
for i = 1, #f, 2 do
  if change[f[i]] == nil then
    table.insert(values, f[i])
    table.insert(values, f[i + 1])
  end
end
for k, v in pairs(change) do
  if v ~= '' then
    table.insert(values, k)
    table.insert(values, v)
  end
end
redis.call('XADD', KEYS[2], '*', unpack(values))
redis.call('XDEL', KEYS[1], ARGV[1])
return e
`)

// RetryDead queues the dead letter id again, without the reason and time DeadLetter added and
// with change applied to its fields (an empty value drops the field). It returns the dead
// letter as it was; ErrNotFound when there is none by that id (retried already, say).
func (q *Queue) RetryDead(ctx context.Context, id string, change map[string]string) (Job, error) {
	if !streamID.MatchString(id) {
		return Job{}, fmt.Errorf("dead letter %q: %w", id, ErrNotFound)
	}
	args := []any{id, "reason", "", "failed_at", ""}
	for k, v := range change {
		args = append(args, k, v)
	}
	res, err := retryDeadScript.Run(ctx, q.rdb, []string{q.dead, q.stream}, args...).Result()
	if errors.Is(err, redis.Nil) {
		return Job{}, fmt.Errorf("dead letter %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Job{}, fmt.Errorf("retry dead letter %s: %w", id, err)
	}
	m, ok := messageOf(res)
	if !ok {
		return Job{}, fmt.Errorf("dead letter %s: %w", id, ErrNotFound)
	}
	return jobOf(m, 0), nil
}

// ClearHostFailure forgets that host has been failing, so that deliveries to it are tried
// again on their schedule rather than dead-lettered as unavailable: an admin asked for it.
func (s *Store) ClearHostFailure(ctx context.Context, host string) error {
	return s.rdb.HDel(ctx, s.k.hostFailures(), host).Err()
}

// RecentDeadLetters lists up to count dead-lettered jobs, newest first.
func (q *Queue) RecentDeadLetters(ctx context.Context, count int64) ([]Job, error) {
	msgs, err := q.rdb.XRevRangeN(ctx, q.dead, "+", "-", count).Result()
	if err != nil {
		return nil, fmt.Errorf("dead letters of %s: %w", q.stream, err)
	}
	out := make([]Job, len(msgs))
	for i, m := range msgs {
		out[i] = jobOf(m, 0)
	}
	return out, nil
}
