package server

import (
	"errors"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/crypto/bcrypt"
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
