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

// Mastodon's limits on scheduled posts: pending in all, and pending for one day.
const (
	ScheduledTotalLimit = 300
	ScheduledDailyLimit = 25
)

// Refusals of a scheduled post.
var (
	ErrScheduledTotal = errors.New("over the limit of scheduled posts")
	ErrScheduledDaily = errors.New("over the limit of scheduled posts for that day")
	ErrMediaTaken     = errors.New("media attached to another post")
)

// ScheduledStatus is a post to be published at ScheduledAt. Params is what the poster sent, as
// the server encoded it; the store keeps it opaque.
type ScheduledStatus struct {
	ID          string    `json:"id"`
	AccountID   string    `json:"account_id"`
	ScheduledAt time.Time `json:"scheduled_at"`
	Params      string    `json:"params"`
	MediaIDs    []string  `json:"media_ids,omitempty"`
	ClientID    string    `json:"client_id,omitempty"`
}

// ScheduleStatus stores a scheduled post with a new id, within Mastodon's limits, reserving its
// media so that no other post takes them meanwhile.
func (s *Store) ScheduleStatus(ctx context.Context, sch *ScheduledStatus) error {
	sch.ID = s.NewID(time.Now())
	sch.ScheduledAt = sch.ScheduledAt.UTC()
	return s.writeSchedule(ctx, sch, nil)
}

// RescheduleStatus moves a scheduled post of accountID to at, within the daily limit.
func (s *Store) RescheduleStatus(ctx context.Context, accountID, id string, at time.Time) (*ScheduledStatus, error) {
	sch, err := s.ScheduledStatus(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	old := *sch
	sch.ScheduledAt = at.UTC()
	if err := s.writeSchedule(ctx, sch, &old); err != nil {
		return nil, err
	}
	return sch, nil
}

// writeSchedule writes a new scheduled post (old nil) or a new time for one (old its record as
// read), checking limits in the same transaction as the write. A new post's media are reserved
// first, each in its slot (reserveMedia), and freed again when the post is refused.
func (s *Store) writeSchedule(ctx context.Context, sch *ScheduledStatus, old *ScheduledStatus) error {
	if old == nil {
		if err := s.reserveMedia(ctx, sch); err != nil {
			return err
		}
	}
	byTime := s.k.scheduledTimes(sch.AccountID)
	var refusal error
	_, err := s.applyOnceWatching(ctx, []string{byTime, s.k.scheduledStatus(sch.ID)}, func(tx *redis.Tx) (bool, error) {
		refusal = nil
		if old != nil {
			exists, err := tx.Exists(ctx, s.k.scheduledStatus(sch.ID)).Result()
			if err != nil {
				return false, err
			}
			if exists == 0 {
				refusal = fmt.Errorf("scheduled status %s: %w", sch.ID, ErrNotFound)
				return true, nil
			}
		}
		total, err := tx.ZCard(ctx, byTime).Result()
		if err != nil {
			return false, err
		}
		if old == nil && total >= ScheduledTotalLimit {
			refusal = ErrScheduledTotal
			return true, nil
		}
		day := sch.ScheduledAt.Truncate(24 * time.Hour)
		sameDay, err := tx.ZRangeByScore(ctx, byTime, &redis.ZRangeBy{
			Min: strconv.FormatInt(day.UnixMilli(), 10), Max: "(" + strconv.FormatInt(day.Add(24*time.Hour).UnixMilli(), 10),
		}).Result()
		if err != nil {
			return false, err
		}
		if len(slices.DeleteFunc(sameDay, func(id string) bool { return id == sch.ID })) >= ScheduledDailyLimit {
			refusal = ErrScheduledDaily
			return true, nil
		}
		return false, nil
	}, func(p redis.Pipeliner) {
		at := float64(sch.ScheduledAt.UnixMilli())
		p.Set(ctx, s.k.scheduledStatus(sch.ID), mustJSON(sch), 0)
		p.ZAdd(ctx, byTime, redis.Z{Score: at, Member: sch.ID})
		p.ZAdd(ctx, s.k.scheduledDue(), redis.Z{Score: at, Member: sch.ID})
		if old == nil {
			p.ZAdd(ctx, s.k.scheduledByAccount(sch.AccountID), redis.Z{Score: idScore(sch.ID), Member: sch.ID})
		}
	})
	if old == nil && (err != nil || refusal != nil) {
		err = errors.Join(err, s.freeMedia(ctx, sch))
	}
	if err != nil {
		return fmt.Errorf("schedule status: %w", err)
	}
	return refusal
}

// reserveMediaLua moves the reservation of an upload for a scheduled post from ARGV[1] to
// ARGV[2] (either "" for none): KEYS the upload's record. It gives 1 when the upload is then
// held by ARGV[2], 0 when another post holds it (or, reserving, a status has it), -1 when there
// is no such upload.
const reserveMediaLua = `local m = redis.call('GET', KEYS[1])
if not m then return -1 end
local r = cjson.decode(m)
local held = r['scheduled_status_id'] or ''
if held ~= ARGV[1] and held ~= ARGV[2] then return 0 end
if ARGV[2] ~= '' and (r['status_id'] or '') ~= '' then return 0 end
if ARGV[2] == '' then r['scheduled_status_id'] = nil else r['scheduled_status_id'] = ARGV[2] end
redis.call('SET', KEYS[1], cjson.encode(r))
return 1`

// reserveMedia reserves sch's media, all or none: a post whose media another post holds is
// refused with ErrMediaTaken. Each upload is in a slot of its own, so a process that dies half
// way leaves uploads reserved for a post that was never stored; deleting that post (or
// uploading again) frees them.
func (s *Store) reserveMedia(ctx context.Context, sch *ScheduledStatus) error {
	if len(sch.MediaIDs) == 0 {
		return nil
	}
	p := s.rdb.Pipeline()
	replies := make([]*redis.Cmd, len(sch.MediaIDs))
	for i, id := range sch.MediaIDs {
		replies[i] = p.Eval(ctx, reserveMediaLua, []string{s.k.media(id)}, "", sch.ID)
	}
	_, err := p.Exec(ctx)
	for i, r := range replies {
		if n, _ := r.Int(); n == 0 && err == nil {
			err = fmt.Errorf("media %s: %w", sch.MediaIDs[i], ErrMediaTaken)
		}
	}
	if err != nil {
		return errors.Join(err, s.freeMedia(ctx, sch))
	}
	return nil
}

// freeMedia drops sch's reservations of its media.
func (s *Store) freeMedia(ctx context.Context, sch *ScheduledStatus) error {
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range sch.MediaIDs {
			p.Eval(ctx, reserveMediaLua, []string{s.k.media(id)}, sch.ID, "")
		}
		return nil
	})
	return err
}

// ScheduledStatus reads one of accountID's scheduled posts.
func (s *Store) ScheduledStatus(ctx context.Context, accountID, id string) (*ScheduledStatus, error) {
	var sch ScheduledStatus
	if err := s.getJSON(ctx, s.k.scheduledStatus(id), &sch); err != nil {
		return nil, err
	}
	if sch.AccountID != accountID {
		return nil, fmt.Errorf("scheduled status %s: %w", id, ErrNotFound)
	}
	return &sch, nil
}

// ScheduledStatuses pages through accountID's scheduled posts by id, newest first.
func (s *Store) ScheduledStatuses(ctx context.Context, accountID string, p Page) ([]Entry, []*ScheduledStatus, error) {
	entries, err := pageZSet(ctx, s.rdb, s.k.scheduledByAccount(accountID), p)
	if err != nil {
		return nil, nil, err
	}
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = s.k.scheduledStatus(e.Member)
	}
	list, err := mgetJSON[ScheduledStatus](ctx, s.rdb, keys)
	if err != nil {
		return nil, nil, err
	}
	out := make([]*ScheduledStatus, len(list))
	for i := range list {
		out[i] = &list[i]
	}
	return entries, out, nil
}

// UnscheduleStatus deletes a scheduled post and then frees its media; it reports whether there
// was one. accountID "" deletes whosever it is (the worker, after posting it).
func (s *Store) UnscheduleStatus(ctx context.Context, accountID, id string) (bool, error) {
	var sch ScheduledStatus
	deleted, err := s.applyOnceWatching(ctx, []string{s.k.scheduledStatus(id)}, func(tx *redis.Tx) (bool, error) {
		raw, err := tx.Get(ctx, s.k.scheduledStatus(id)).Result()
		if errors.Is(err, redis.Nil) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if err := unmarshalString(raw, &sch); err != nil {
			return false, err
		}
		return accountID != "" && sch.AccountID != accountID, nil
	}, func(p redis.Pipeliner) {
		p.Del(ctx, s.k.scheduledStatus(id))
		p.ZRem(ctx, s.k.scheduledTimes(sch.AccountID), id)
		p.ZRem(ctx, s.k.scheduledByAccount(sch.AccountID), id)
		p.ZRem(ctx, s.k.scheduledDue(), id)
	})
	if err != nil || !deleted {
		return deleted, err
	}
	return true, s.freeMedia(ctx, &sch)
}

// claimDueScript takes up to ARGV[3] posts due by ARGV[1] (ms) and moves each one's due time
// to ARGV[2], its lease: a process that dies while posting leaves the post due again when the
// lease ends, and no other process takes it before.
var claimDueScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return due`)

// ClaimDueScheduled leases up to limit scheduled posts due at now for lease, and tells when the
// next unclaimed one is due (zero when none is).
func (s *Store) ClaimDueScheduled(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*ScheduledStatus, time.Time, error) {
	ids, err := claimDueScript.Run(ctx, s.rdb, []string{s.k.scheduledDue()},
		now.UnixMilli(), now.Add(lease).UnixMilli(), limit).StringSlice()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("claim scheduled posts: %w", err)
	}
	var next time.Time
	if first, err := s.rdb.ZRangeWithScores(ctx, s.k.scheduledDue(), 0, 0).Result(); err != nil {
		return nil, time.Time{}, fmt.Errorf("next scheduled post: %w", err)
	} else if len(first) == 1 {
		next = time.UnixMilli(int64(first[0].Score))
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.k.scheduledStatus(id)
	}
	list, err := mgetJSON[ScheduledStatus](ctx, s.rdb, keys)
	if err != nil {
		return nil, time.Time{}, err
	}
	out := make([]*ScheduledStatus, len(list))
	found := make(map[string]bool, len(list))
	for i := range list {
		out[i] = &list[i]
		found[list[i].ID] = true
	}
	// A post deleted between its claim and this read leaves nothing to lease.
	for _, id := range ids {
		if !found[id] {
			s.rdb.ZRem(ctx, s.k.scheduledDue(), id)
		}
	}
	return out, next, nil
}
