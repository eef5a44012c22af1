package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/crypto/bcrypt"

	"watercooler/store"
)

// Bcrypt hashes passwords with bcrypt; it refuses passwords longer than bcrypt's 72-byte input
// instead of silently truncating them.
type Bcrypt struct{ Cost int }

// ErrPasswordTooLong is returned for passwords bcrypt would truncate.
var ErrPasswordTooLong = errors.New("password is longer than 72 bytes")

// Hash hashes a password.
func (b Bcrypt) Hash(password string) (string, error) {
	if len(password) > 72 {
		return "", ErrPasswordTooLong
	}
	cost := b.Cost
	if cost < bcrypt.MinCost {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	return string(h), err
}

// Check reports whether password matches hash.
func (b Bcrypt) Check(hash, password string) bool {
	if len(password) > 72 {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// validatePassword applies the length rules of sign-up and password changes.
func validatePassword(password string) error {
	switch {
	case len(password) < 8:
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Password is too short (minimum is 8 characters)")
	case len(password) > 72:
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Password is too long (maximum is 72 bytes)")
	}
	return nil
}

// WithPasswordHasher replaces the bcrypt hasher, for tests that count the work sign-ins do.
func WithPasswordHasher(h PasswordHasher) Option { return func(s *Server) { s.hasher = h } }

// dummyHash hashes a random password with the instance's hasher, at its cost. Sign-ins of
// unknown logins are checked against it, so they take as long as those of real accounts and
// the answer's timing does not tell which logins exist.
func dummyHash(h PasswordHasher) (string, error) {
	hash, err := h.Hash(store.RandomToken(24))
	if err != nil {
		return "", fmt.Errorf("dummy password hash: %w", err)
	}
	return hash, nil
}

// signIn checks a login (e-mail address or username) and password from address, a client
// address as clientAddress gives it. It answers the account when they match; nil and a wait
// when the login or the address has failed too often and must wait (no password is checked
// then); nil and no wait when they do not match. Every attempt does the same work, one hash
// comparison, whether the login exists or not, and every refusal is logged without the
// password.
func (s *Server) signIn(ctx context.Context, login, password, address string) (*store.Account, time.Duration, error) {
	u, err := s.store.UserByLogin(ctx, login)
	if errors.Is(err, store.ErrNotFound) {
		u, err = nil, nil
	}
	if err != nil {
		return nil, 0, err
	}
	accountID, hash := "", s.dummyHash
	if u != nil {
		accountID, hash = u.AccountID, u.PasswordHash
	}
	account := store.SignInAccount(accountID, login, storeRate(s.cfg.SignInAccountRate))
	from := store.SignInAddress(address, storeRate(s.cfg.SignInAddressRate))
	wait, err := s.store.ReserveSignIn(ctx, account, from)
	if err != nil {
		return nil, 0, err
	}
	if wait > 0 {
		s.logSignInFailure(login, address, "too many failed attempts")
		return nil, wait, nil
	}
	if !s.hasher.Check(hash, password) || u == nil {
		reason := "wrong password"
		if u == nil {
			reason = "unknown login"
		}
		s.logSignInFailure(login, address, reason)
		return nil, 0, nil
	}
	if err := s.store.SignInSucceeded(ctx, account, from); err != nil {
		return nil, 0, err
	}
	if err := s.store.CountLogin(ctx, u.AccountID, time.Now()); err != nil {
		return nil, 0, err
	}
	acct, err := s.store.Account(ctx, u.AccountID)
	if err != nil {
		return nil, 0, err
	}
	return acct, 0, nil
}

// maxLoggedLogin bounds the login written to the log: it is whatever a client typed.
const maxLoggedLogin = 100

func (s *Server) logSignInFailure(login, address, reason string) {
	if len(login) > maxLoggedLogin {
		login = strings.ToValidUTF8(login[:maxLoggedLogin], "") + "…"
	}
	s.log.Warn("sign-in failed", "login", login, "address", address, "reason", reason)
}
