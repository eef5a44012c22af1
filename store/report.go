package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// NotifyAdminReport is Mastodon's notification telling moderators of a new report.
const NotifyAdminReport = "admin.report"

// Report categories, as in Mastodon.
const (
	ReportSpam      = "spam"
	ReportLegal     = "legal"
	ReportViolation = "violation"
	ReportOther     = "other"
)

// Report is a complaint about an account, and possibly some of its statuses, for this
// instance's moderators: filed by a local person, or received from another server as a Flag.
// It stays open until a moderator resolves it.
type Report struct {
	ID string `json:"id"`
	// URI is the id of the Flag that brought a remote report, so a redelivery files nothing
	// twice; "" for reports filed here.
	URI string `json:"uri,omitempty"`
	// AccountID is the reporter: a local account, or the remote actor that sent the Flag
	// (usually its server's instance actor, since Mastodon forwards reports anonymously).
	AccountID       string   `json:"account_id"`
	TargetAccountID string   `json:"target_account_id"`
	StatusIDs       []string `json:"status_ids,omitempty"`
	Comment         string   `json:"comment"`
	Category        string   `json:"category"`
	// Forwarded says a copy went to the target's server.
	Forwarded bool `json:"forwarded,omitempty"`
	// Origin is the domain a remote report came from, "" for one filed here.
	Origin         string     `json:"origin,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	ActionTakenAt  *time.Time `json:"action_taken_at,omitempty"`
	ResolutionNote string     `json:"resolution_note,omitempty"`
}

// Open reports whether no moderator has resolved the report yet.
func (r *Report) Open() bool { return r.ActionTakenAt == nil }

// maxReportRetries bounds how often FileReport starts over when a concurrent report on the
// same target or with the same URI changed what it read.
const maxReportRetries = 10

// FileReport stores a new open report, assigning its id and time, and notifies the local
// moderators (accounts whose user is an admin) with an admin.report notification, as Mastodon
// does: only when no other report on the same target is open, so a pile-on is one alert, and
// never the moderator who filed it. A report whose URI is already stored is that report
// delivered again: it is returned with created false and nothing is written.
func (s *Store) FileReport(ctx context.Context, r *Report) (created bool, err error) {
	staff, err := s.StaffAccountIDs(ctx)
	if err != nil {
		return false, err
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now().UTC()
	}
	if r.ID == "" {
		r.ID = s.NewID(r.CreatedAt)
	}
	openKey := s.k.reportsOpenAgainst(r.TargetAccountID)
	watched := []string{openKey}
	var uriKey string
	if r.URI != "" {
		// One Flag naming two local accounts files a report on each.
		uriKey = s.k.reportByURI(r.URI, r.TargetAccountID)
		watched = append(watched, uriKey)
	}
	for try := 0; try < maxReportRetries; try++ {
		var existing string
		err = s.watch(ctx, func(tx *watchedTx) error {
			if r.URI != "" {
				id, err := tx.Get(ctx, uriKey).Result()
				if err == nil {
					existing = id
					return nil
				}
				if !errors.Is(err, redis.Nil) {
					return err
				}
			}
			siblings, err := tx.ZCard(ctx, openKey).Result()
			if err != nil {
				return err
			}
			err = s.spreadMulti(ctx, tx, func(p redis.Pipeliner) error {
				z := redis.Z{Score: idScore(r.ID), Member: r.ID}
				p.Set(ctx, s.k.report(r.ID), mustJSON(r), 0)
				p.ZAdd(ctx, s.k.reports(), z)
				p.ZAdd(ctx, s.k.reportsOpen(), z)
				p.ZAdd(ctx, s.k.reportsAgainst(r.TargetAccountID), z)
				p.ZAdd(ctx, openKey, z)
				if r.URI != "" {
					p.Set(ctx, uriKey, r.ID, 0)
				}
				if siblings > 0 {
					return nil
				}
				for _, id := range staff {
					if id != r.AccountID {
						s.addNotification(ctx, p, &Notification{Type: NotifyAdminReport, AccountID: id, FromAccountID: r.AccountID, ReportID: r.ID})
					}
				}
				return nil
			})
			return err
		}, watched...)
		switch {
		case errors.Is(err, redis.TxFailedErr):
			continue
		case err != nil:
			return false, fmt.Errorf("file report on %s: %w", r.TargetAccountID, err)
		case existing != "":
			stored, err := s.Report(ctx, existing)
			if err != nil {
				return false, err
			}
			*r = *stored
			return false, nil
		}
		return true, nil
	}
	return false, fmt.Errorf("file report on %s: %w", r.TargetAccountID, redis.TxFailedErr)
}

// StaffAccountIDs lists the local accounts that moderate: those whose user is an admin and
// that are not suspended.
func (s *Store) StaffAccountIDs(ctx context.Context) ([]string, error) {
	accounts, err := s.LocalAccounts(ctx)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(accounts))
	active := map[string]bool{}
	for _, a := range accounts {
		if !a.Suspended {
			keys = append(keys, s.k.user(a.ID))
			active[a.ID] = true
		}
	}
	users, err := recordsJSON[User](ctx, s, keys)
	if err != nil {
		return nil, fmt.Errorf("staff: %w", err)
	}
	var out []string
	for _, u := range users {
		if u.Admin && active[u.AccountID] {
			out = append(out, u.AccountID)
		}
	}
	return out, nil
}

// Report reads one report.
func (s *Store) Report(ctx context.Context, id string) (*Report, error) {
	var r Report
	if err := s.getJSON(ctx, s.k.report(id), &r); err != nil {
		return nil, fmt.Errorf("report %s: %w", id, err)
	}
	return &r, nil
}

// ReportsByID reads many reports in one round trip, keyed by id; unknown ids are absent.
func (s *Store) ReportsByID(ctx context.Context, ids []string) (map[string]*Report, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.k.report(id)
	}
	list, err := mgetJSON[Report](ctx, s.rdb, keys)
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	out := make(map[string]*Report, len(list))
	for i := range list {
		out[list[i].ID] = &list[i]
	}
	return out, nil
}

// Reports lists reports newest first: the open ones, or all of them with all.
func (s *Store) Reports(ctx context.Context, all bool) ([]*Report, error) {
	key := s.k.reportsOpen()
	if all {
		key = s.k.reports()
	}
	return s.reportsIn(ctx, key)
}

// ReportsAgainst lists the reports on one account, newest first, open and resolved.
func (s *Store) ReportsAgainst(ctx context.Context, accountID string) ([]*Report, error) {
	return s.reportsIn(ctx, s.k.reportsAgainst(accountID))
}

func (s *Store) reportsIn(ctx context.Context, key string) ([]*Report, error) {
	ids, err := s.rdb.ZRevRange(ctx, key, 0, -1).Result()
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

// ResolveReport closes an open report with the moderator's note. Resolving a resolved report
// is ErrConflict, so that two moderators learn that one of them was first.
func (s *Store) ResolveReport(ctx context.Context, id, note string) (*Report, error) {
	return s.settleReport(ctx, id, true, note)
}

// ReopenReport opens a resolved report again, forgetting its resolution, as Mastodon's reopen
// does. Reopening an open report is ErrConflict.
func (s *Store) ReopenReport(ctx context.Context, id string) (*Report, error) {
	return s.settleReport(ctx, id, false, "")
}

// settleReport resolves (with note) or reopens a report and moves it in or out of the open
// indexes, in one transaction watching the report.
func (s *Store) settleReport(ctx context.Context, id string, resolve bool, note string) (*Report, error) {
	key, verb, state := s.k.report(id), "resolve", "resolved"
	if !resolve {
		verb, state = "reopen", "open"
	}
	for try := 0; try < maxReportRetries; try++ {
		var r Report
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			b, err := tx.Get(ctx, key).Bytes()
			if errors.Is(err, redis.Nil) {
				return ErrNotFound
			}
			if err != nil {
				return err
			}
			if err := unmarshalString(string(b), &r); err != nil {
				return err
			}
			if r.Open() != resolve {
				return ErrConflict
			}
			if resolve {
				now := time.Now().UTC()
				r.ActionTakenAt, r.ResolutionNote = &now, note
			} else {
				r.ActionTakenAt, r.ResolutionNote = nil, ""
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, mustJSON(&r), 0)
				if resolve {
					p.ZRem(ctx, s.k.reportsOpen(), id)
					p.ZRem(ctx, s.k.reportsOpenAgainst(r.TargetAccountID), id)
				} else {
					z := redis.Z{Score: idScore(id), Member: id}
					p.ZAdd(ctx, s.k.reportsOpen(), z)
					p.ZAdd(ctx, s.k.reportsOpenAgainst(r.TargetAccountID), z)
				}
				return nil
			})
			return err
		}, key)
		switch {
		case errors.Is(err, redis.TxFailedErr):
			continue
		case errors.Is(err, ErrConflict):
			return &r, fmt.Errorf("report %s is already %s: %w", id, state, ErrConflict)
		case err != nil:
			return nil, fmt.Errorf("%s report %s: %w", verb, id, err)
		}
		return &r, nil
	}
	return nil, fmt.Errorf("%s report %s: %w", verb, id, redis.TxFailedErr)
}

// ReportNotificationIDs lists the report ids that notifications refer to, for rendering them.
func ReportNotificationIDs(ns []*Notification) []string {
	var ids []string
	for _, n := range ns {
		if n.ReportID != "" {
			ids = append(ids, n.ReportID)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}
