package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"
)

// UpdateProfile saves an edited profile and the owner's posting preferences together, so a
// profile update applies entirely or not at all.
func (s *Store) UpdateProfile(ctx context.Context, a *Account, u *User) error {
	if a.ID != u.AccountID {
		return fmt.Errorf("update profile: user %s is not account %s", u.AccountID, a.ID)
	}
	// Both records are in the account's slot: one MULTI.
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SetXX(ctx, s.k.account(a.ID), mustJSON(a), 0)
		p.SetXX(ctx, s.k.user(u.AccountID), mustJSON(u), 0)
		return nil
	})
	if err != nil {
		return fmt.Errorf("update profile %s: %w", a.ID, err)
	}
	return s.indexAccountTerms(ctx, a)
}

// BlockedAccountIDs lists the accounts accountID blocks (not those blocking it), as a set.
func (s *Store) BlockedAccountIDs(ctx context.Context, accountID string) (map[string]bool, error) {
	ids, err := s.rdb.ZRange(ctx, s.k.blocks(accountID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("blocked accounts of %s: %w", accountID, err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// HasFollowRequest reports whether followerID waits for targetID's approval.
func (s *Store) HasFollowRequest(ctx context.Context, targetID, followerID string) (bool, error) {
	return zHas(ctx, s.rdb, s.k.followRequests(targetID), followerID)
}

// StatusBatchFilter keeps the statuses of one batch that a page should show, in their order.
type StatusBatchFilter func(ctx context.Context, batch []*Status) ([]*Status, error)

// AccountStatusesFiltered pages through an account's statuses like AccountStatuses, keeping
// those keep accepts. It reads ahead in batches so that a selective filter (only media, no
// replies, what the viewer may see) still fills the page; the result is newest first. With
// MinID it returns the oldest matching statuses above MinID, as Mastodon's min_id pages do.
func (s *Store) AccountStatusesFiltered(ctx context.Context, accountID string, p Page, keep StatusBatchFilter) ([]*Status, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 20
	}
	batch := p
	batch.Limit = limit * 2
	towardNewer := p.MinID != ""
	var out []*Status
	for len(out) < limit {
		entries, err := pageZSet(ctx, s.rdb, s.k.accountStatuses(accountID), batch)
		if err != nil {
			return nil, err
		}
		if len(entries) == 0 {
			break
		}
		sts, err := s.Statuses(ctx, Members(entries))
		if err != nil {
			return nil, err
		}
		kept, err := keep(ctx, sts)
		if err != nil {
			return nil, err
		}
		if towardNewer {
			// The page nearest MinID is wanted: take each batch from its oldest end.
			for i := len(kept) - 1; i >= 0 && len(out) < limit; i-- {
				out = append(out, kept[i])
			}
			batch.MinID = entries[0].ID
		} else {
			for i := 0; i < len(kept) && len(out) < limit; i++ {
				out = append(out, kept[i])
			}
			batch.MaxID = entries[len(entries)-1].ID
		}
		if len(entries) < batch.Limit {
			break
		}
	}
	if towardNewer {
		slices.Reverse(out)
	}
	return out, nil
}
