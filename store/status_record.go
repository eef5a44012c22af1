package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// A status's record and history live in the status's own slot (keys.go), beyond the reach of
// the MULTI in the department's slot that writes the status's indexes and timelines. Two rules
// keep them in step.
//
// A new status on a cluster claims its id by setting its record (SET NX) before that MULTI, so
// two statuses never share an id (claimStatusID). A writer killed in between leaves a record
// nothing points to; the same remote status written again (same URI) finishes the write. The
// status's entry in the index by URI, in a slot of the index's own, is written by its fan-out;
// until then the MULTI's mark (statusIndexing) tells a write again that it is written. On a
// single server the MULTI writes the record too, watching it, atomically with the rest.
//
// A status written again (edited, its quote's state or policy changed) is versioned: the MULTI
// that rewrites it watches and raises the department's version of it, and hands the record to
// its fan-out, which sets it only over an older version (rewriteLua). Rewrites applied out of
// order (two writers, or a resumed job) still leave the last one, and a rewrite that reads the
// record first (statusAt) waits until the record has caught up with the version it watches.

// claimStatusID takes st's id for st on a cluster, moving to the ids nextID proposes while other
// statuses hold them. It returns the status already holding the id when that is st written
// before, whole: a remote status's URI index already names it, or the department's MULTI marked
// it as being indexed by its fan-out (a local status's id is new each time it is written, so a
// local one holding it was written whole). A remote status whose first write stopped after its
// claim, before that MULTI, is left to this write to finish (nil). On a single server it does
// nothing: writeWithFreeID's MULTI checks the id.
func (s *Store) claimStatusID(ctx context.Context, st *Status, nextID func(string) string) (*Status, error) {
	if !s.cluster {
		return nil, nil
	}
	for probe := 0; probe < maxIDProbes; probe++ {
		claimed, err := s.rdb.SetNX(ctx, s.k.status(st.ID), encodeStatus(st), 0).Result()
		if err != nil || claimed {
			return nil, err
		}
		raw, err := s.rdb.Get(ctx, s.k.status(st.ID)).Result()
		if errors.Is(err, redis.Nil) {
			continue // deleted meanwhile: the id is free again
		}
		if err != nil {
			return nil, err
		}
		var holder Status
		if decodeStatus(st.ID, raw, &holder) == nil && holder.URI == st.URI && st.URI != "" {
			if holder.Local {
				return &holder, nil
			}
			p := s.rdb.Pipeline()
			indexed := p.HGet(ctx, s.k.statusByURI(st.URI), st.URI)
			indexing := p.Exists(ctx, s.k.statusIndexing(st.ID))
			if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
				return nil, err
			}
			if indexed.Val() == st.ID || indexing.Val() > 0 {
				return &holder, nil
			}
			return nil, nil
		}
		st.ID = nextID(st.ID)
	}
	return nil, fmt.Errorf("no free id near %s after %d tries", st.ID, maxIDProbes)
}

// A statusRewrite is a status's record written again, on its way to the status's slot.
type statusRewrite struct {
	ID      string `json:"i"`
	Version int64  `json:"v"`
	Record  []byte `json:"r"` // bytes: a record is compressed, and JSON strings hold UTF-8 only
	// First and Edit are an edit's snapshots for the history: the status before its first edit
	// (pushed only while the history is empty) and after this one. Empty when it is no edit.
	First string `json:"f,omitempty"`
	Edit  string `json:"e,omitempty"`
}

// rewriteLua applies a statusRewrite: KEYS the record, its version and its history, ARGV the
// version, the record and the snapshots. A status deleted meanwhile stays deleted.
const rewriteLua = `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if tonumber(ARGV[1]) <= tonumber(redis.call('GET', KEYS[2]) or '0') then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
if ARGV[4] ~= '' then
  if ARGV[3] ~= '' and redis.call('LLEN', KEYS[3]) == 0 then redis.call('RPUSH', KEYS[3], ARGV[3]) end
  redis.call('RPUSH', KEYS[3], ARGV[4])
end
return 1`

func (r statusRewrite) queue(ctx context.Context, p redis.Pipeliner, k keys) {
	p.Eval(ctx, rewriteLua, []string{k.status(r.ID), k.statusRecordVersion(r.ID), k.statusHistory(r.ID)},
		r.Version, r.Record, r.First, r.Edit)
}

// rewriteStatus runs write with the department's version of status id, watching it, until no
// other rewrite of the status came between. write queues the new record with queueRewrite.
func (s *Store) rewriteStatus(ctx context.Context, id string, write func(tx *watchedTx, version int64) error) error {
	key := s.k.statusVersion(id)
	for attempt := 0; attempt < 10; attempt++ {
		err := s.watch(ctx, func(tx *watchedTx) error {
			version, err := tx.Get(ctx, key).Int64()
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			return write(tx, version)
		}, key)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
	}
	return fmt.Errorf("rewrite status %s: too much contention", id)
}

// queueRewrite queues on p, the MULTI of rewriteStatus that read version, st's record as the
// next version, with an edit's snapshots (see statusRewrite) when edit is set.
func (s *Store) queueRewrite(ctx context.Context, p redis.Pipeliner, st *Status, version int64, first, edit *StatusEdit) {
	next := version + 1
	p.Set(ctx, s.k.statusVersion(st.ID), next, 0)
	r := statusRewrite{ID: st.ID, Version: next, Record: []byte(encodeStatus(st))}
	if edit != nil {
		r.Edit = mustJSON(edit)
		if first != nil {
			r.First = mustJSON(first)
		}
	}
	spreadOf(p).rewrite(r)
}

// statusCatchUp bounds how long statusAt waits for a record to reach a version. The writer of
// the version sets the record right after its MULTI, a round trip later; a record still behind
// after this belongs to a writer that died, whose fan-out a worker applies after fanOutGrace.
const statusCatchUp = 2 * time.Second

// statusAt reads status id at least at version, the department's version of it that the caller
// watches.
func (s *Store) statusAt(ctx context.Context, id string, version int64) (*Status, error) {
	deadline := time.Now().Add(statusCatchUp)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		p := s.rdb.Pipeline()
		raw := p.Get(ctx, s.k.status(id))
		at := p.Get(ctx, s.k.statusRecordVersion(id))
		if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("status %s: %w", id, err)
		}
		if errors.Is(raw.Err(), redis.Nil) {
			return nil, fmt.Errorf("status %s: %w", id, ErrNotFound)
		}
		if have, _ := at.Int64(); have >= version {
			var st Status
			if err := decodeStatus(id, raw.Val(), &st); err != nil {
				return nil, err
			}
			return &st, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("status %s is still being written: %w", id, ErrConflict)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}
