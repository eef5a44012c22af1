// Package requestid names one client request so that its log lines, and those of the
// federation jobs it queued, can be found together. It sits below server and federation,
// which both need it and may not import each other.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// Header is the HTTP header that carries the id in and out, as reverse proxies and load
// balancers set it.
const Header = "X-Request-Id"

// maxLen bounds an id taken from a client: it is logged and stored with every job it queues.
const maxLen = 128

type key struct{}

// New returns a fresh random id.
func New() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Valid reports whether an id received from a client may be used as it is: 1 to 128 of the
// characters proxies put in ids (letters, digits and -_.:/+=), so that a log line cannot be
// forged or bloated through it.
func Valid(id string) bool {
	if id == "" || len(id) > maxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':' || c == '/' || c == '+' || c == '=':
		default:
			return false
		}
	}
	return true
}

// With returns ctx carrying id; an empty id leaves ctx as it is.
func With(ctx context.Context, id string) context.Context {
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, key{}, id)
}

// From is the id ctx carries, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}
