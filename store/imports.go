package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Import states, as Mastodon's BulkImport names them.
const (
	ImportScheduled  = "scheduled"
	ImportInProgress = "in_progress"
	ImportFinished   = "finished"
)

// Import is a person's import of one of Mastodon's CSV exports (follows, blocks, ...). Its rows
// are worked through by whichever process leases it (see ClaimDueImports); Processed is where
// the next lease resumes, so a process killed in the middle costs at most the rows since its
// last SaveImportProgress, done again (every row's action can be done twice).
type Import struct {
	ID        string    `json:"id"`
	AccountID string    `json:"account_id"`
	Type      string    `json:"type"`
	Mode      string    `json:"mode"` // merge or overwrite
	State     string    `json:"state"`
	Total     int       `json:"total_items"`
	Processed int       `json:"processed_items"`
	Imported  int       `json:"imported_items"`
	Failed    int       `json:"failed_items"`
	CreatedAt time.Time `json:"created_at"`
	// FinishedAt is set once every row is done.
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// CreateImport stores an import of rows and makes it due now.
func (s *Store) CreateImport(ctx context.Context, imp *Import, rows [][]string) error {
	now := time.Now().UTC()
	imp.ID, imp.State, imp.Total, imp.CreatedAt = s.NewID(now), ImportScheduled, len(rows), now
	record, err := json.Marshal(imp)
	if err != nil {
		return err
	}
	data, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.k.importRecord(imp.ID), record, 0)
		p.Set(ctx, s.k.importRows(imp.ID), data, 0)
		p.ZAdd(ctx, s.k.importsDue(), redis.Z{Score: float64(now.UnixMilli()), Member: imp.ID})
		return nil
	})
	if err != nil {
		return fmt.Errorf("create import: %w", err)
	}
	return nil
}

// Import reads an import of accountID's; another's is ErrNotFound.
func (s *Store) Import(ctx context.Context, accountID, id string) (*Import, error) {
	var imp Import
	if err := s.getJSON(ctx, s.k.importRecord(id), &imp); err != nil {
		return nil, fmt.Errorf("import %s: %w", id, err)
	}
	if imp.AccountID != accountID {
		return nil, fmt.Errorf("import %s: %w", id, ErrNotFound)
	}
	return &imp, nil
}

// ClaimDueImports leases up to limit imports that no live worker holds, for lease.
func (s *Store) ClaimDueImports(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Import, error) {
	ids, err := claimDueScript.Run(ctx, s.rdb, []string{s.k.importsDue()},
		now.UnixMilli(), now.Add(lease).UnixMilli(), limit).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("claim imports: %w", err)
	}
	out := make([]*Import, 0, len(ids))
	for _, id := range ids {
		var imp Import
		err := s.getJSON(ctx, s.k.importRecord(id), &imp)
		if errors.Is(err, ErrNotFound) {
			s.rdb.ZRem(ctx, s.k.importsDue(), id) // its record is gone: nothing to do
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, &imp)
	}
	return out, nil
}

// ImportRows reads the rows of an import that is not finished.
func (s *Store) ImportRows(ctx context.Context, id string) ([][]string, error) {
	var rows [][]string
	if err := s.getJSON(ctx, s.k.importRows(id), &rows); err != nil {
		return nil, fmt.Errorf("import %s rows: %w", id, err)
	}
	return rows, nil
}

// SaveImportProgress stores imp's counters and state and extends its worker's lease; once imp is
// finished it also drops its rows and its place among the due imports.
func (s *Store) SaveImportProgress(ctx context.Context, imp *Import, lease time.Duration) error {
	record, err := json.Marshal(imp)
	if err != nil {
		return err
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.k.importRecord(imp.ID), record, 0)
		if imp.State == ImportFinished {
			p.Del(ctx, s.k.importRows(imp.ID))
			p.ZRem(ctx, s.k.importsDue(), imp.ID)
		} else {
			p.ZAddXX(ctx, s.k.importsDue(), redis.Z{Score: float64(time.Now().Add(lease).UnixMilli()), Member: imp.ID})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("import %s progress: %w", imp.ID, err)
	}
	return nil
}
