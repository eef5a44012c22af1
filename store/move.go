package store

import (
	"context"
	"errors"
	"fmt"
)

// ErrMoveNotConfirmed is returned when a move's target does not list the moving account among
// its alsoKnownAs: without it anyone could redirect another account's followers to themselves.
var ErrMoveNotConfirmed = errors.New("the target account does not list this account in alsoKnownAs")

// LocalFollowerIDs lists the local accounts that follow accountID, which an account migration
// moves along to the new account.
func (s *Store) LocalFollowerIDs(ctx context.Context, accountID string) ([]string, error) {
	ids, err := s.rdb.ZRange(ctx, s.k.localFollowers(accountID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("local followers of %s: %w", accountID, err)
	}
	return ids, nil
}
