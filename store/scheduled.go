package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
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
// read), checking limits in the same transaction as the write, in the account's slot. A new
// post's media are reserved first, each in its slot (reserveMedia), and freed again when the post
// is refused. The time it is due, in the department's slot, is set before the post (never later
// than an earlier one), so a stored post always has one; a time without its post, or earlier than
// its post's, left by a process that died, is found out when it comes (ClaimDueScheduled).
func (s *Store) writeSchedule(ctx context.Context, sch *ScheduledStatus, old *ScheduledStatus) error {
	if old == nil {
		if err := s.reserveMedia(ctx, sch); err != nil {
			return err
		}
	}
	at := float64(sch.ScheduledAt.UnixMilli())
	due := redis.Z{Score: at, Member: dueMember(sch.AccountID, sch.ID)}
	records, byTime := s.k.scheduledStatuses(sch.AccountID), s.k.scheduledTimes(sch.AccountID)
	var refusal error
	err := s.rdb.ZAddLT(ctx, s.k.scheduledDue(), due).Err()
	if err == nil {
		_, err = s.applyOnceWatching(ctx, []string{byTime, records}, func(tx *redis.Tx) (bool, error) {
			refusal = nil
			if old != nil {
				exists, err := tx.HExists(ctx, records, sch.ID).Result()
				if err != nil {
					return false, err
				}
				if !exists {
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
			p.HSet(ctx, records, sch.ID, mustJSON(sch))
			p.ZAdd(ctx, byTime, redis.Z{Score: at, Member: sch.ID})
			if old == nil {
				p.ZAdd(ctx, s.k.scheduledByAccount(sch.AccountID), redis.Z{Score: idScore(sch.ID), Member: sch.ID})
			}
		})
	}
	switch {
	case err == nil && refusal == nil:
		// Also a later time than before, and the time again if a claim dropped it meanwhile for
		// want of the post; a post published or deleted meanwhile leaves a time without it.
		err = s.rdb.ZAdd(ctx, s.k.scheduledDue(), due).Err()
	case old == nil:
		err = errors.Join(err, s.rdb.ZRem(ctx, s.k.scheduledDue(), due.Member).Err(), s.freeMedia(ctx, sch))
	case refusal != nil:
		err = s.rdb.ZAddXX(ctx, s.k.scheduledDue(), redis.Z{Score: float64(old.ScheduledAt.UnixMilli()), Member: due.Member}).Err()
	}
	if err != nil {
		return fmt.Errorf("schedule status: %w", err)
	}
	return refusal
}

// reserveMediaLua moves the reservation of an upload for a scheduled post from ARGV[1] to
// ARGV[2] (either "" for none) at ARGV[3] (unix ms): KEYS the upload's record. It gives 1 when
// the upload is then held by ARGV[2], 0 when another post holds it (or, reserving, a status has
// it), -1 when there is no such upload.
const reserveMediaLua = `local m = redis.call('GET', KEYS[1])
if not m then return -1 end
local r = cjson.decode(m)
local held = r['scheduled_status_id'] or ''
if held ~= ARGV[1] and held ~= ARGV[2] then return 0 end
if ARGV[2] ~= '' and (r['status_id'] or '') ~= '' then return 0 end
if ARGV[2] == '' then
  r['scheduled_status_id'] = nil
  r['reserved_at'] = nil
else
  r['scheduled_status_id'] = ARGV[2]
  r['reserved_at'] = tonumber(ARGV[3])
end
redis.call('SET', KEYS[1], cjson.encode(r))
return 1`

// reserveMedia reserves sch's media, all or none: a post whose media another post holds is
// refused with ErrMediaTaken. Each upload is in a slot of its own, so a process that dies half
// way leaves uploads reserved for a post that was never stored; a reservation like that is
// taken over once it is older than fanOutGrace (FreeStaleReservations).
func (s *Store) reserveMedia(ctx context.Context, sch *ScheduledStatus) error {
	err := s.tryReserveMedia(ctx, sch)
	if !errors.Is(err, ErrMediaTaken) {
		return err
	}
	uploads, err := s.MediaByIDs(ctx, sch.MediaIDs)
	if err != nil {
		return err
	}
	freed, err := s.FreeStaleReservations(ctx, sch.AccountID, slices.Collect(maps.Values(uploads)), time.Now())
	if err != nil || len(freed) == 0 {
		return cmp.Or(err, fmt.Errorf("media: %w", ErrMediaTaken))
	}
	return s.tryReserveMedia(ctx, sch)
}

func (s *Store) tryReserveMedia(ctx context.Context, sch *ScheduledStatus) error {
	if len(sch.MediaIDs) == 0 {
		return nil
	}
	p := s.rdb.Pipeline()
	replies := make([]*redis.Cmd, len(sch.MediaIDs))
	now := time.Now().UnixMilli()
	for i, id := range sch.MediaIDs {
		replies[i] = p.Eval(ctx, reserveMediaLua, []string{s.k.media(id)}, "", sch.ID, now)
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
			p.Eval(ctx, reserveMediaLua, []string{s.k.media(id)}, sch.ID, "", 0)
		}
		return nil
	})
	return err
}

// FreeStaleReservations frees those of accountID's uploads that are reserved for a scheduled
// post that is not stored, the reservation older at now than fanOutGrace (long enough for a
// writer between the two steps to have stored it): the writer died between reserving them and
// storing the post. It returns the ids it freed.
func (s *Store) FreeStaleReservations(ctx context.Context, accountID string, uploads []*Media, now time.Time) ([]string, error) {
	var stale []*Media
	for _, m := range uploads {
		if m.AccountID == accountID && m.ScheduledStatusID != "" && m.StatusID == "" && now.Sub(time.UnixMilli(m.ReservedAt)) > fanOutGrace {
			stale = append(stale, m)
		}
	}
	if len(stale) == 0 {
		return nil, nil
	}
	p := s.rdb.Pipeline()
	stored := make([]*redis.BoolCmd, len(stale))
	for i, m := range stale {
		stored[i] = p.HExists(ctx, s.k.scheduledStatuses(accountID), m.ScheduledStatusID)
	}
	if _, err := p.Exec(ctx); err != nil {
		return nil, fmt.Errorf("reservations of media: %w", err)
	}
	p = s.rdb.Pipeline()
	freed := map[string]*redis.Cmd{}
	for i, m := range stale {
		if !stored[i].Val() {
			freed[m.ID] = p.Eval(ctx, reserveMediaLua, []string{s.k.media(m.ID)}, m.ScheduledStatusID, "", 0)
		}
	}
	if len(freed) == 0 {
		return nil, nil
	}
	if _, err := p.Exec(ctx); err != nil {
		return nil, fmt.Errorf("reservations of media: %w", err)
	}
	var ids []string
	for id, reply := range freed {
		if n, _ := reply.Int(); n == 1 {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// ScheduledStatus reads one of accountID's scheduled posts.
func (s *Store) ScheduledStatus(ctx context.Context, accountID, id string) (*ScheduledStatus, error) {
	list, err := s.scheduledRecords(ctx, accountID, []string{id})
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("scheduled status %s: %w", id, ErrNotFound)
	}
	return list[0], nil
}

// scheduledRecords reads accountID's scheduled posts ids, skipping those that are gone.
func (s *Store) scheduledRecords(ctx context.Context, accountID string, ids []string) ([]*ScheduledStatus, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	raws, err := s.rdb.HMGet(ctx, s.k.scheduledStatuses(accountID), ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("scheduled statuses of %s: %w", accountID, err)
	}
	out := make([]*ScheduledStatus, 0, len(raws))
	for _, raw := range raws {
		if raw, ok := raw.(string); ok {
			var sch ScheduledStatus
			if err := unmarshalString(raw, &sch); err != nil {
				return nil, err
			}
			out = append(out, &sch)
		}
	}
	return out, nil
}

// ScheduledStatuses pages through accountID's scheduled posts by id, newest first.
func (s *Store) ScheduledStatuses(ctx context.Context, accountID string, p Page) ([]Entry, []*ScheduledStatus, error) {
	entries, err := pageZSet(ctx, s.rdb, s.k.scheduledByAccount(accountID), p)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.Member
	}
	out, err := s.scheduledRecords(ctx, accountID, ids)
	if err != nil {
		return nil, nil, err
	}
	return entries, out, nil
}

// UnscheduleStatus deletes one of accountID's scheduled posts (the worker deletes one after
// posting it) and then frees its media and drops the time it was due; it reports whether there
// was one.
func (s *Store) UnscheduleStatus(ctx context.Context, accountID, id string) (bool, error) {
	records := s.k.scheduledStatuses(accountID)
	var sch ScheduledStatus
	deleted, err := s.applyOnceWatching(ctx, []string{records}, func(tx *redis.Tx) (bool, error) {
		raw, err := tx.HGet(ctx, records, id).Result()
		if errors.Is(err, redis.Nil) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		return false, unmarshalString(raw, &sch)
	}, func(p redis.Pipeliner) {
		p.HDel(ctx, records, id)
		p.ZRem(ctx, s.k.scheduledTimes(accountID), id)
		p.ZRem(ctx, s.k.scheduledByAccount(accountID), id)
	})
	if err != nil || !deleted {
		return deleted, err
	}
	return true, errors.Join(s.freeMedia(ctx, &sch), s.rdb.ZRem(ctx, s.k.scheduledDue(), dueMember(accountID, id)).Err())
}

// claimDueScript takes up to ARGV[3] posts due by ARGV[1] (ms) and moves each one's due time
// to ARGV[2], its lease: a process that dies while posting leaves the post due again when the
// lease ends, and no other process takes it before.
var claimDueScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return due`)

// dueMember names a scheduled post among the department's due times: its account finds its
// record.
func dueMember(accountID, id string) string { return accountID + "/" + id }

func postOfDueMember(member string) (accountID, id string) {
	accountID, id, _ = strings.Cut(member, "/")
	return accountID, id
}

// mendDueLua moves a claimed due time (KEYS[1], member ARGV[1]) to ARGV[3], or drops it when
// ARGV[3] is "", only while it is still the lease the claim gave it (ARGV[2]): a time set
// meanwhile by a write of the post wins.
const mendDueLua = `local at = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not at or tonumber(at) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])`

// ClaimDueScheduled leases up to limit scheduled posts due at now for lease, and tells when the
// next unclaimed one is due (zero when none is). A time whose post is gone (deleted between its
// claim and this read, or never stored by a process that died) is dropped; one earlier than its
// post's (a new time whose writer died half way) is moved to the post's; either only while no
// write of the post set it again meanwhile (mendDueLua).
func (s *Store) ClaimDueScheduled(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*ScheduledStatus, time.Time, error) {
	leased := now.Add(lease).UnixMilli()
	claimed, err := claimDueScript.Run(ctx, s.rdb, []string{s.k.scheduledDue()},
		now.UnixMilli(), leased, limit).StringSlice()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("claim scheduled posts: %w", err)
	}
	p := s.rdb.Pipeline()
	records := make([]*redis.StringCmd, len(claimed))
	for i, member := range claimed {
		accountID, id := postOfDueMember(member)
		records[i] = p.HGet(ctx, s.k.scheduledStatuses(accountID), id)
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, time.Time{}, fmt.Errorf("claim scheduled posts: %w", err)
	}
	var out []*ScheduledStatus
	for i, member := range claimed {
		var sch ScheduledStatus
		switch raw, err := records[i].Result(); {
		case errors.Is(err, redis.Nil):
			err = s.rdb.Eval(ctx, mendDueLua, []string{s.k.scheduledDue()}, member, leased, "").Err()
		case err == nil:
			if err = unmarshalString(raw, &sch); err == nil && sch.ScheduledAt.UnixMilli() > now.UnixMilli() {
				err = s.rdb.Eval(ctx, mendDueLua, []string{s.k.scheduledDue()}, member, leased, sch.ScheduledAt.UnixMilli()).Err()
			} else if err == nil {
				out = append(out, &sch)
			}
		}
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("claim scheduled posts: %w", err)
		}
	}
	var next time.Time
	if first, err := s.rdb.ZRangeWithScores(ctx, s.k.scheduledDue(), 0, 0).Result(); err != nil {
		return nil, time.Time{}, fmt.Errorf("next scheduled post: %w", err)
	} else if len(first) == 1 {
		next = time.UnixMilli(int64(first[0].Score))
	}
	return out, next, nil
}
