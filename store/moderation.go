package store

import (
	"cmp"
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// SetSuspended suspends an account or lifts its suspension. Suspending revokes the account's
// tokens, so its apps and streams stop at once. The admin command and the admin API both call
// it, so the two cannot drift apart.
func (s *Store) SetSuspended(ctx context.Context, accountID string, suspended bool) (*Account, error) {
	acct, err := s.Account(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if acct.Suspended != suspended {
		acct.Suspended = suspended
		if err := s.UpdateAccount(ctx, acct); err != nil {
			return nil, err
		}
	}
	if suspended {
		if err := s.RevokeAccountTokens(ctx, acct.ID); err != nil {
			return nil, fmt.Errorf("suspend %s: %w", acct.ID, err)
		}
	}
	return acct, nil
}

// KnownAccounts lists every account the instance knows, local and remote, in no order: the
// admin's account list filters and sorts it.
func (s *Store) KnownAccounts(ctx context.Context) ([]*Account, error) {
	ids, err := s.knownAccountIDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("known accounts: %w", err)
	}
	return s.AccountsInOrder(ctx, ids)
}

// knownAccountIDs reads the ids of every account the instance knows from the indexes by acct,
// the local one and every shard of the remote one.
func (s *Store) knownAccountIDs(ctx context.Context) ([]string, error) {
	local := s.rdb.HVals(ctx, s.k.accountByAcct())
	remote, err := s.remoteAccts(ctx, redis.Pipeliner.HVals)
	if err := cmp.Or(local.Err(), err); err != nil {
		return nil, err
	}
	return append(local.Val(), remote...), nil
}

// remoteAccts reads every shard of the index of remote accounts by acct with read (HKEYS for
// the accts, HVALS for the ids) in one pipeline.
func (s *Store) remoteAccts(ctx context.Context, read func(p redis.Pipeliner, ctx context.Context, key string) *redis.StringSliceCmd) ([]string, error) {
	p := s.rdb.Pipeline()
	shards := make([]*redis.StringSliceCmd, uriShards)
	for i := range shards {
		shards[i] = read(p, ctx, s.k.remoteAccountsByAcct(strconv.Itoa(i)))
	}
	if _, err := p.Exec(ctx); err != nil {
		return nil, err
	}
	var out []string
	for _, shard := range shards {
		out = append(out, shard.Val()...)
	}
	return out, nil
}

// Users reads the sign-in records of many local accounts in one round trip, keyed by account
// id; accounts without one (remote ones) are absent.
func (s *Store) Users(ctx context.Context, accountIDs []string) (map[string]*User, error) {
	keys := make([]string, len(accountIDs))
	for i, id := range accountIDs {
		keys[i] = s.k.user(id)
	}
	list, err := recordsJSON[User](ctx, s, keys)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	out := make(map[string]*User, len(list))
	for i := range list {
		out[list[i].AccountID] = &list[i]
	}
	return out, nil
}
