package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// NotifyAdminReport tells a moderator of a new report (Mastodon's admin.report).
const NotifyAdminReport = "admin.report"

// Report is a complaint about an account, made here by a local person or forwarded by another
// server's Flag (then AccountID is the sending actor and Origin its host).
type Report struct {
	ID              string     `json:"id"`
	AccountID       string     `json:"account_id"` // the reporter
	TargetAccountID string     `json:"target_account_id"`
	StatusIDs       []string   `json:"status_ids,omitempty"`
	Comment         string     `json:"comment,omitempty"`
	Category        string     `json:"category"`
	RuleIDs         []string   `json:"rule_ids,omitempty"`
	Forwarded       bool       `json:"forwarded,omitempty"`
	Origin          string     `json:"origin,omitempty"` // host of a report that came by Flag
	CreatedAt       time.Time  `json:"created_at"`
	ResolvedAt      *time.Time `json:"resolved_at,omitempty"`
	ResolvedNote    string     `json:"resolved_note,omitempty"`
}

// CreateReport stores a report and, in the same transaction, notifies each of moderators.
func (s *Store) CreateReport(ctx context.Context, r *Report, moderators []string) error {
	now := time.Now().UTC()
	r.ID, r.CreatedAt = s.NewID(now), now
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.k.report(r.ID), mustJSON(r), 0)
		p.ZAdd(ctx, s.k.reports(), redis.Z{Score: idScore(r.ID), Member: r.ID})
		p.ZAdd(ctx, s.k.openReports(), redis.Z{Score: idScore(r.ID), Member: r.ID})
		for _, id := range moderators {
			if id == r.AccountID {
				continue
			}
			s.addNotification(ctx, p, &Notification{Type: NotifyAdminReport, AccountID: id, FromAccountID: r.AccountID, ReportID: r.ID, CreatedAt: now})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create report: %w", err)
	}
	return nil
}

// Report reads one report.
func (s *Store) Report(ctx context.Context, id string) (*Report, error) {
	var r Report
	if err := s.getJSON(ctx, s.k.report(id), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// ReportsByID reads reports, keyed by id; missing ones are left out.
func (s *Store) ReportsByID(ctx context.Context, ids []string) (map[string]*Report, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.k.report(id)
	}
	list, err := mgetJSON[Report](ctx, s.rdb, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Report, len(list))
	for i := range list {
		out[list[i].ID] = &list[i]
	}
	return out, nil
}

// Reports lists reports newest first: the open ones, or all with all.
func (s *Store) Reports(ctx context.Context, all bool, limit int) ([]*Report, error) {
	key := s.k.openReports()
	if all {
		key = s.k.reports()
	}
	ids, err := s.rdb.ZRevRange(ctx, key, 0, int64(limit)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	byID, err := s.ReportsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*Report, 0, len(ids))
	for _, id := range ids {
		if r, ok := byID[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// ErrReportResolved refuses resolving a report twice.
var ErrReportResolved = errors.New("report already resolved")

// ResolveReport closes a report with a moderator's note.
func (s *Store) ResolveReport(ctx context.Context, id, note string) (*Report, error) {
	var r Report
	var refusal error
	_, err := s.applyOnce(ctx, s.k.report(id), func(tx *redis.Tx) (bool, error) {
		raw, err := tx.Get(ctx, s.k.report(id)).Result()
		if errors.Is(err, redis.Nil) {
			refusal = fmt.Errorf("report %s: %w", id, ErrNotFound)
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if err := unmarshalString(raw, &r); err != nil {
			return false, err
		}
		if r.ResolvedAt != nil {
			refusal = ErrReportResolved
			return true, nil
		}
		now := time.Now().UTC()
		r.ResolvedAt, r.ResolvedNote = &now, note
		return false, nil
	}, func(p redis.Pipeliner) {
		p.Set(ctx, s.k.report(id), mustJSON(&r), 0)
		p.ZRem(ctx, s.k.openReports(), id)
	})
	if err != nil {
		return nil, fmt.Errorf("resolve report: %w", err)
	}
	if refusal != nil {
		return nil, refusal
	}
	return &r, nil
}

// Moderators lists the local accounts whose users are admins, who hear of reports. It reads
// every local user: O(users), as InstanceStats, fine for a department.
func (s *Store) Moderators(ctx context.Context) ([]string, error) {
	ids, err := s.rdb.ZRange(ctx, s.k.localAccounts(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("moderators: %w", err)
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.k.user(id)
	}
	users, err := mgetJSON[User](ctx, s.rdb, keys)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range users {
		if u.Admin {
			out = append(out, u.AccountID)
		}
	}
	return out, nil
}
