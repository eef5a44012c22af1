package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// authCodeTTL is how long an authorization code can be exchanged, as in Doorkeeper's default.
const authCodeTTL = 10 * time.Minute

// RandomToken returns n random bytes, URL-safe base64 encoded.
func RandomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // the OS entropy source never fails in practice
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateApp registers an OAuth client with a fresh id and secret.
func (s *Store) CreateApp(ctx context.Context, a *App) error {
	a.CreatedAt = time.Now().UTC()
	a.ID = s.NewID(a.CreatedAt)
	a.ClientID = RandomToken(32)
	a.ClientSecret = RandomToken(32)
	if err := s.rdb.Set(ctx, s.k.app(a.ClientID), mustJSON(a), 0).Err(); err != nil {
		return fmt.Errorf("create app: %w", err)
	}
	return nil
}

// App reads an OAuth client by its client id.
func (s *Store) App(ctx context.Context, clientID string) (*App, error) {
	var a App
	if err := s.getJSON(ctx, s.k.app(clientID), &a); err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	return &a, nil
}

// CreateAuthCode stores an authorization code for ten minutes and returns it.
func (s *Store) CreateAuthCode(ctx context.Context, c *AuthCode) (string, error) {
	code := RandomToken(32)
	if err := s.rdb.Set(ctx, s.k.authCode(code), mustJSON(c), authCodeTTL).Err(); err != nil {
		return "", fmt.Errorf("create auth code: %w", err)
	}
	return code, nil
}

// TakeAuthCode reads and deletes an authorization code, so it can be used once only.
func (s *Store) TakeAuthCode(ctx context.Context, code string) (*AuthCode, error) {
	raw, err := s.rdb.GetDel(ctx, s.k.authCode(code)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("auth code: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("auth code: %w", err)
	}
	var c AuthCode
	if err := unmarshalString(raw, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// CreateToken mints an access token; only its hash is stored, so the returned value is the
// only copy.
func (s *Store) CreateToken(ctx context.Context, clientID, accountID string, scopes []string) (string, *Token, error) {
	value := RandomToken(32)
	now := time.Now().UTC()
	t := &Token{ID: s.NewID(now), Hash: hashToken(value), ClientID: clientID, AccountID: accountID, Scopes: scopes, CreatedAt: now}
	// Listed under its account before it exists, so that no token escapes its account's
	// revocation; a hash listed whose record never came is revoked as nothing.
	err := s.inOrder(ctx, func(p redis.Pipeliner) {
		if accountID != "" {
			p.SAdd(ctx, s.k.accountTokens(accountID), t.Hash)
		}
	}, func(p redis.Pipeliner) {
		p.Set(ctx, s.k.token(t.Hash), mustJSON(t), 0)
	})
	if err != nil {
		return "", nil, fmt.Errorf("create token: %w", err)
	}
	return value, t, nil
}

// TokenByValue finds the record of a presented access token.
func (s *Store) TokenByValue(ctx context.Context, value string) (*Token, error) {
	var t Token
	if err := s.getJSON(ctx, s.k.token(hashToken(value)), &t); err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	return &t, nil
}

// RevokeToken deletes a presented access token; revoking an unknown token is not an error, as
// RFC 7009 asks.
func (s *Store) RevokeToken(ctx context.Context, value string) error {
	t, err := s.TokenByValue(ctx, value)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.revokeTokens(ctx, t.AccountID, []string{t.Hash})
}

// RevokeAccountTokens deletes every token of an account, as suspension and password resets do.
func (s *Store) RevokeAccountTokens(ctx context.Context, accountID string) error {
	hashes, err := s.rdb.SMembers(ctx, s.k.accountTokens(accountID)).Result()
	if err != nil {
		return fmt.Errorf("revoke tokens: %w", err)
	}
	return s.revokeTokens(ctx, accountID, hashes)
}

// revokeTokens deletes tokens of an account by their hashes, with their push subscriptions,
// then drops them from the account's sets and tells their streaming connections. The records go
// first: a hash left listed by a process that died between the steps is revoked as nothing.
func (s *Store) revokeTokens(ctx context.Context, accountID string, hashes []string) error {
	if len(hashes) == 0 {
		return nil
	}
	members := make([]any, len(hashes))
	for i, h := range hashes {
		members[i] = h
	}
	err := s.inOrder(ctx, func(p redis.Pipeliner) {
		for _, h := range hashes {
			p.Del(ctx, s.k.token(h), s.k.pushSubscription(h))
		}
	}, func(p redis.Pipeliner) {
		p.SRem(ctx, s.k.accountTokens(accountID), members...)
		p.SRem(ctx, s.k.accountPushSubscriptions(accountID), members...)
		for _, h := range hashes {
			s.publish(ctx, p, s.k.streamToken(h), StreamEvent{Event: EventRevoked})
		}
	})
	if err != nil {
		return fmt.Errorf("revoke tokens: %w", err)
	}
	return nil
}
