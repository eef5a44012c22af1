package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// SSOFlow is a sign-in under way at the OpenID provider, kept under its state parameter until
// the provider sends the browser back.
type SSOFlow struct {
	// Verifier is the PKCE code verifier of the request to the provider.
	Verifier string `json:"verifier"`
	// Nonce must come back inside the ID token.
	Nonce string `json:"nonce"`
	// Pending is the instance's own OAuth authorization request to finish afterwards.
	Pending map[string]string `json:"pending"`
}

// PutSSOFlow stores a flow under its state for ttl.
func (s *Store) PutSSOFlow(ctx context.Context, state string, f *SSOFlow, ttl time.Duration) error {
	if err := s.rdb.Set(ctx, s.k.ssoFlow(state), mustJSON(f), ttl).Err(); err != nil {
		return fmt.Errorf("sso flow: %w", err)
	}
	return nil
}

// TakeSSOFlow reads and deletes the flow of a state, so a state is good for one callback only.
func (s *Store) TakeSSOFlow(ctx context.Context, state string) (*SSOFlow, error) {
	raw, err := s.rdb.GetDel(ctx, s.k.ssoFlow(state)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("sso flow: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sso flow: %w", err)
	}
	var f SSOFlow
	if err := unmarshalString(raw, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// SSOLink is the local account linked to a provider's subject, or ErrNotFound.
func (s *Store) SSOLink(ctx context.Context, issuer, subject string) (string, error) {
	id, err := s.rdb.HGet(ctx, s.k.ssoLinks(), issuer+"\x00"+subject).Result()
	if errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("sso link: %w", ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("sso link: %w", err)
	}
	return id, nil
}

// LinkSSO links a provider's subject to a local account.
func (s *Store) LinkSSO(ctx context.Context, issuer, subject, accountID string) error {
	if err := s.rdb.HSet(ctx, s.k.ssoLinks(), issuer+"\x00"+subject, accountID).Err(); err != nil {
		return fmt.Errorf("sso link: %w", err)
	}
	return nil
}

// ClaimSSOFirstSignIn reserves the creation of a provider subject's account for ttl, so two
// first sign-ins at once (two tabs, a double click) cannot make two accounts; false means
// another holds it.
func (s *Store) ClaimSSOFirstSignIn(ctx context.Context, issuer, subject string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.k.ssoFirstSignIn(issuer, subject), "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("sso first sign-in: %w", err)
	}
	return ok, nil
}

// ReleaseSSOFirstSignIn ends a reservation made by ClaimSSOFirstSignIn.
func (s *Store) ReleaseSSOFirstSignIn(ctx context.Context, issuer, subject string) error {
	if err := s.rdb.Del(ctx, s.k.ssoFirstSignIn(issuer, subject)).Err(); err != nil {
		return fmt.Errorf("sso first sign-in: %w", err)
	}
	return nil
}
