package federation

import (
	"context"

	"watercooler/store"
)

// ArchiveItems renders acct's statuses for the archive of their data as the outbox renders them,
// private and direct ones included: the archive is its owner's copy of everything they posted.
// Boosts of statuses that are gone are left out.
func (f *Federator) ArchiveItems(ctx context.Context, acct *store.Account, sts []*store.Status) ([]map[string]any, error) {
	items := make([]map[string]any, 0, len(sts))
	for _, st := range sts {
		m, err := f.outboxItem(ctx, acct, st)
		if err != nil {
			return nil, err
		}
		if m != nil {
			items = append(items, m)
		}
	}
	return items, nil
}
