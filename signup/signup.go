// Package signup creates local accounts the same way for every entry point: the admin command,
// open registration, the demo and tests.
package signup

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"

	"watercooler/actorkey"
	"watercooler/store"
	"watercooler/text"
)

// Hasher hashes passwords.
type Hasher interface {
	Hash(password string) (string, error)
}

// Params describe a new local user.
type Params struct {
	Username, Email, Password, DisplayName string
	Locked, Bot, Admin                     bool
	// KeyPair makes the actor's key pair; nil means actorkey.NewKeyPair.
	KeyPair func() (publicPEM, privatePEM string, err error)
}

// Errors that name what is wrong with the input.
var (
	ErrInvalidUsername  = errors.New("username must be 1–30 letters, digits or underscores (dots and dashes inside)")
	ErrReservedUsername = errors.New("username is reserved for the instance itself")
	ErrInvalidEmail     = errors.New("e-mail address is not valid")
	ErrPasswordLength   = errors.New("password must be 8 to 72 bytes long")
)

// Reserved reports whether username belongs to the instance at baseURL: WebFinger answers the
// instance actor's name (and the bare domain) with the instance actor, so a user of that name
// could never be found from another server.
func Reserved(username, baseURL string) bool {
	u, err := url.Parse(baseURL)
	if err != nil {
		return false
	}
	return strings.EqualFold(username, text.InstanceActorName(u.Host)) || strings.EqualFold(username, u.Host)
}

// Create validates the parameters, hashes the password, generates the actor's key pair and
// stores the account.
func Create(ctx context.Context, st *store.Store, hasher Hasher, baseURL string, p Params) (*store.Account, error) {
	if !text.ValidUsername(p.Username) {
		return nil, fmt.Errorf("%q: %w", p.Username, ErrInvalidUsername)
	}
	if Reserved(p.Username, baseURL) {
		return nil, fmt.Errorf("%q: %w", p.Username, ErrReservedUsername)
	}
	if p.Email != "" {
		if addr, err := mail.ParseAddress(p.Email); err != nil || addr.Address != p.Email || !strings.Contains(p.Email, "@") {
			return nil, fmt.Errorf("%q: %w", p.Email, ErrInvalidEmail)
		}
	}
	if len(p.Password) < 8 || len(p.Password) > 72 {
		return nil, ErrPasswordLength
	}
	hash, err := hasher.Hash(p.Password)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	newKeyPair := p.KeyPair
	if newKeyPair == nil {
		newKeyPair = actorkey.NewKeyPair
	}
	pub, priv, err := newKeyPair()
	if err != nil {
		return nil, err
	}
	return st.CreateLocalAccount(ctx, store.NewLocalAccount{
		Username: p.Username, Email: p.Email, PasswordHash: hash, DisplayName: p.DisplayName,
		BaseURL: baseURL, PublicKeyPEM: pub, PrivateKeyPEM: priv, Locked: p.Locked, Bot: p.Bot, Admin: p.Admin,
	})
}
