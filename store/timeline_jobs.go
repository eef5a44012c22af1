package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// Home and list timelines live in slots of their own (keys.go), so on a Redis Cluster the MULTI
// that writes a status, a follow or a deletion cannot reach them. That MULTI records instead a
// timeline job: what the timelines must get, in the department's slot, committed with the rest
// of the write or not at all. The writer then applies the job (one pipeline, which the cluster
// client splits by node) and marks it done. A job still recorded after timelineJobGrace belongs
// to a writer that died between the two steps: ResumeTimelineJobs, run by every process's
// workers, applies it then. Applying a job twice changes nothing (adding a member with its
// score, removing members, trimming), so a job may be resumed while its writer is still at it.

// timelineJobGrace is how long a writer has to apply its job before a worker takes the job
// for orphaned. A writer applies it right after its MULTI; the grace only has to outlast a
// slow round trip, and decides how late a killed writer's readers see the post.
const timelineJobGrace = 30 * time.Second

// A timelineMove is one change to a set of timelines.
type timelineMove struct {
	Homes  []string `json:"h,omitempty"` // account ids whose home timelines change
	Lists  []string `json:"l,omitempty"` // list ids whose timelines change
	Add    []string `json:"a,omitempty"` // status ids entering, each scored by its id
	Remove []string `json:"r,omitempty"` // status ids leaving
	// Boosted is, with Add, the post the added boost brings into each home (home_filters.go
	// keeps it out again while it is there), and with Remove the post a home forgets having
	// been brought by a boost.
	Boosted string `json:"b,omitempty"`
	Clear   bool   `json:"c,omitempty"` // the lists' timelines are dropped (the lists are gone)
}

func (m timelineMove) empty() bool {
	return len(m.Homes) == 0 && len(m.Lists) == 0 || len(m.Add) == 0 && len(m.Remove) == 0 && !m.Clear
}

// queue puts the move's commands on p.
func (m timelineMove) queue(ctx context.Context, p redis.Pipeliner, k keys) {
	added := make([]redis.Z, len(m.Add))
	for i, id := range m.Add {
		added[i] = redis.Z{Score: idScore(id), Member: id}
	}
	removed := toAny(m.Remove)
	for _, home := range m.Homes {
		if len(added) > 0 {
			addTrimmed(ctx, p, k.homeTimeline(home), HomeTimelineLength, added...)
			if m.Boosted != "" {
				addTrimmed(ctx, p, k.homeReblogs(home), HomeTimelineLength, redis.Z{Score: added[0].Score, Member: m.Boosted})
			}
		}
		if len(removed) > 0 {
			p.ZRem(ctx, k.homeTimeline(home), removed...)
			if m.Boosted != "" {
				p.ZRem(ctx, k.homeReblogs(home), m.Boosted)
			}
		}
	}
	for _, list := range m.Lists {
		switch {
		case m.Clear:
			p.Del(ctx, k.listTimeline(list))
		case len(added) > 0:
			addTrimmed(ctx, p, k.listTimeline(list), HomeTimelineLength, added...)
		}
		if len(removed) > 0 && !m.Clear {
			p.ZRem(ctx, k.listTimeline(list), removed...)
		}
	}
}

// A timelineJob is a recorded set of moves, waiting to be applied.
type timelineJob struct {
	id    string
	moves []timelineMove
}

// queueTimelineJob records moves as a job on p, the write's MULTI, and returns the job for
// applyTimelineJob once the MULTI has run; nil when there is nothing to move.
func (s *Store) queueTimelineJob(ctx context.Context, p redis.Pipeliner, moves ...timelineMove) *timelineJob {
	moves = slices.DeleteFunc(moves, timelineMove.empty)
	if len(moves) == 0 {
		return nil
	}
	j := &timelineJob{id: RandomToken(12), moves: moves}
	p.HSet(ctx, s.k.timelineJobs(), j.id, mustJSON(moves))
	p.ZAdd(ctx, s.k.timelineJobsDue(), redis.Z{Score: float64(time.Now().Add(timelineJobGrace).UnixMilli()), Member: j.id})
	return j
}

// finishTimelineJob applies the job a write's MULTI recorded. When that fails the job stays
// recorded and a worker applies it after its grace, logging what failed: the write itself has
// happened, so the caller reports it made.
func (s *Store) finishTimelineJob(ctx context.Context, j *timelineJob) {
	if !s.leaveTimelineJobs {
		_ = s.applyTimelineJob(ctx, j)
	}
}

// applyTimelineJob applies a recorded job and marks it done.
func (s *Store) applyTimelineJob(ctx context.Context, j *timelineJob) error {
	if j == nil {
		return nil
	}
	p := s.rdb.Pipeline()
	for _, m := range j.moves {
		m.queue(ctx, p, s.k)
	}
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("timeline job %s: %w", j.id, err)
	}
	// Marked only once every node has answered: a job marked before its moves landed would be
	// lost with the process.
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, s.k.timelineJobs(), j.id)
		p.ZRem(ctx, s.k.timelineJobsDue(), j.id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("timeline job %s done: %w", j.id, err)
	}
	return nil
}

// ResumeTimelineJobs applies up to limit jobs that their writers left recorded past the grace,
// leasing each one for lease so that one process at a time takes it up, and returns how many
// it applied.
func (s *Store) ResumeTimelineJobs(ctx context.Context, now time.Time, lease time.Duration, limit int) (int, error) {
	ids, err := claimDueScript.Run(ctx, s.rdb, []string{s.k.timelineJobsDue()},
		now.UnixMilli(), now.Add(lease).UnixMilli(), limit).StringSlice()
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	raws, err := s.rdb.HMGet(ctx, s.k.timelineJobs(), ids...).Result()
	if err != nil {
		return 0, fmt.Errorf("read timeline jobs: %w", err)
	}
	applied := 0
	var unreadable error
	for i, id := range ids {
		j := &timelineJob{id: id}
		// A job gone between the claim and the read was done by its writer: marking it done
		// again only drops its claim. One that does not decode was not written by this code,
		// and would come back every lease: it is dropped, and reported.
		if raw, ok := raws[i].(string); ok {
			if err := json.Unmarshal([]byte(raw), &j.moves); err != nil {
				unreadable = errors.Join(unreadable, fmt.Errorf("timeline job %s dropped: %w", id, err))
				j.moves = nil
			}
			if j.moves, err = s.withoutDeleted(ctx, j.moves); err != nil {
				return applied, err
			}
		}
		if err := s.applyTimelineJob(ctx, j); err != nil {
			return applied, err
		}
		applied++
	}
	return applied, unreadable
}

// withoutDeleted drops from moves the statuses deleted since their job was recorded: a post
// deleted while its fan-out was pending must not come back into the timelines its deletion
// already swept.
func (s *Store) withoutDeleted(ctx context.Context, moves []timelineMove) ([]timelineMove, error) {
	var ids []string
	for _, m := range moves {
		ids = append(ids, m.Add...)
	}
	if len(ids) == 0 {
		return moves, nil
	}
	p := s.rdb.Pipeline()
	exists := make(map[string]*redis.IntCmd, len(ids))
	for _, id := range ids {
		exists[id] = p.Exists(ctx, s.k.status(id))
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("timeline job statuses: %w", err)
	}
	for i := range moves {
		moves[i].Add = slices.DeleteFunc(moves[i].Add, func(id string) bool { return exists[id].Val() == 0 })
	}
	return slices.DeleteFunc(moves, timelineMove.empty), nil
}
