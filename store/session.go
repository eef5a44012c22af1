package store

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"
)

// TokenAccount reads a presented access token's record and, for a user token, its account, as
// every authenticated request needs both. The account a token belongs to never changes, so once
// a token has been seen both are read in one round trip instead of two dependent ones. An
// unknown token is ErrNotFound with a nil token; when the token is found but its account cannot
// be read, the token comes back with the error. The account is the caller's to modify.
func (s *Store) TokenAccount(ctx context.Context, value string) (*Token, *Account, error) {
	hash := hashToken(value)
	tokKey := s.k.token(hash)
	if v, ok := s.cache.get(tokKey); ok {
		t := v.(*Token)
		if t.AccountID == "" {
			return t.clone(), nil, nil
		}
		if a, ok := s.cache.get(s.k.account(t.AccountID)); ok {
			return t.clone(), a.(*Account).clone(), nil
		}
	}
	epoch := s.cache.begin()
	owner, _ := s.tokenOwners.get(hash)
	p := s.rdb.Pipeline()
	tokCmd := p.Get(ctx, tokKey)
	var acctCmd *redis.StringCmd
	if owner != "" {
		acctCmd = p.Get(ctx, s.k.account(owner))
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("token: %w", err)
	}
	raw, err := tokCmd.Result()
	if errors.Is(err, redis.Nil) {
		s.tokenOwners.remove(hash) // revoked
		return nil, nil, fmt.Errorf("token: %w", ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("token: %w", err)
	}
	var t Token
	if err := unmarshalString(raw, &t); err != nil {
		return nil, nil, fmt.Errorf("token: %w", err)
	}
	s.cache.put(epoch, tokKey, t.clone())
	if t.AccountID == "" {
		return &t, nil, nil
	}
	if owner != t.AccountID {
		epoch = s.cache.begin()
		acctCmd = s.rdb.Get(ctx, s.k.account(t.AccountID))
	}
	raw, err = acctCmd.Result()
	if errors.Is(err, redis.Nil) {
		return &t, nil, fmt.Errorf("account %s: %w", t.AccountID, ErrNotFound)
	}
	if err != nil {
		return &t, nil, fmt.Errorf("account %s: %w", t.AccountID, err)
	}
	shared, err := s.accountMemo.decode(t.AccountID, raw)
	if err != nil {
		return &t, nil, fmt.Errorf("account %s: %w", t.AccountID, err)
	}
	s.cache.put(epoch, s.k.account(t.AccountID), shared)
	s.tokenOwners.put(hash, t.AccountID)
	return &t, shared.clone(), nil
}

// clone copies a token so that changing the copy leaves a shared original as it was.
func (t *Token) clone() *Token {
	c := *t
	c.Scopes = slices.Clone(t.Scopes)
	return &c
}

// clone copies an account deeply enough that changing the copy leaves a shared original as it was.
func (a *Account) clone() *Account {
	c := *a
	c.Fields = slices.Clone(a.Fields)
	for i, f := range c.Fields {
		if f.VerifiedAt != nil {
			t := *f.VerifiedAt
			c.Fields[i].VerifiedAt = &t
		}
	}
	return &c
}
