package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Rate limits are fixed windows counted in Redis, so every process of an instance shares them:
// a window starts at its first event and its key expires when it ends. Each check is one script,
// so concurrent requests on several processes can never count past a limit together.

// RateLimit is one limit: at most Limit events per Window.
type RateLimit struct {
	Limit  int
	Window time.Duration
}

// RateState is a counter's state after a hit.
type RateState struct {
	// Allowed is false when the hit went over the limit.
	Allowed bool
	// Limit is the limit checked, Remaining the hits the window still allows.
	Limit, Remaining int
	// Reset is how long until the window ends and the count starts over.
	Reset time.Duration
}

// reserveRateScript counts n events at once: INCRBY, with the window's expiry set by the first
// event. The TTL guard repairs a counter that lost its expiry, which would otherwise block
// forever.
var reserveRateScript = redis.NewScript(`
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if n == tonumber(ARGV[2]) or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
`)

// RateSlice is what ReserveRate granted: up to the events asked for, as many as the window
// still allows.
type RateSlice struct {
	Granted int
	// Counted is the window's count after the reservation, every process's reservations
	// included; Reset is how long until the window ends.
	Counted int
	Reset   time.Duration
}

// ReserveRate reserves up to n events of subject (an account id, a client address) in bucket
// ("api", "media") against lim, so that a process can count the next events itself and ask
// Redis again only when they are used: one round trip for a slice of a limit, not one per
// request. Reserved events count against the limit in every process at once, so the limit holds
// across processes; an unused reservation ends with its window.
func (s *Store) ReserveRate(ctx context.Context, bucket, subject string, lim RateLimit, n int) (RateSlice, error) {
	res, err := reserveRateScript.Run(ctx, s.rdb, []string{s.k.rateLimit(bucket, subject)}, lim.Window.Milliseconds(), n).Int64Slice()
	if err != nil {
		return RateSlice{}, fmt.Errorf("rate %s of %s: %w", bucket, subject, err)
	}
	counted := int(res[0])
	before := counted - n
	return RateSlice{Granted: min(max(lim.Limit-before, 0), n), Counted: counted, Reset: time.Duration(res[1]) * time.Millisecond}, nil
}

// SignInSubject is what one password check is charged to, with its limit. A zero Limit
// charges nothing.
type SignInSubject struct {
	Key string
	RateLimit
}

// SignInAccount is the subject for a login: the account's id when the login names one, else the
// login itself, hashed so the key's size does not depend on what a client typed. An unknown
// login is limited exactly as a known one, so the limits reveal nothing about which exist.
func SignInAccount(accountID, login string, lim RateLimit) SignInSubject {
	if accountID != "" {
		return SignInSubject{Key: "account:" + accountID, RateLimit: lim}
	}
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(login))))
	return SignInSubject{Key: "login:" + hex.EncodeToString(sum[:16]), RateLimit: lim}
}

// SignInAddress is the subject for a client address (as the server normalized it).
func SignInAddress(address string, lim RateLimit) SignInSubject {
	return SignInSubject{Key: "address:" + address, RateLimit: lim}
}

// reserveSignInScript charges one attempt to every subject unless one of them is spent, in which
// case it charges none and answers how long until the last spent one's window ends. ARGV holds
// limit and window (ms) pairs in the order of KEYS.
var reserveSignInScript = redis.NewScript(`
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2*i-1])
  if limit > 0 and tonumber(redis.call('GET', key) or '0') >= limit then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then
      redis.call('PEXPIRE', key, ARGV[2*i])
      ttl = tonumber(ARGV[2*i])
    end
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  if tonumber(ARGV[2*i-1]) > 0 and redis.call('INCR', key) == 1 then
    redis.call('PEXPIRE', key, ARGV[2*i])
  end
end
return 0
`)

// ReserveSignIn charges a password check to its subjects before the check is made, so that
// parallel guesses cannot overtake the count; wait is zero when the check may go ahead, else
// how long until it may. SignInSucceeded takes the charge back.
func (s *Store) ReserveSignIn(ctx context.Context, subjects ...SignInSubject) (wait time.Duration, err error) {
	keys := make([]string, len(subjects))
	args := make([]any, 0, 2*len(subjects))
	for i, sub := range subjects {
		keys[i] = s.k.signInFailures(sub.Key)
		args = append(args, sub.Limit, sub.Window.Milliseconds())
	}
	ms, err := reserveSignInScript.Run(ctx, s.rdb, keys, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("reserve sign-in: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// signedInScript clears the account's failures and returns the address's charge; the address
// keeps the rest of its count, so signing in to one's own account does not buy more guesses at
// others.
var signedInScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 0
`)

// SignInSucceeded records a successful password check reserved with ReserveSignIn.
func (s *Store) SignInSucceeded(ctx context.Context, account, address SignInSubject) error {
	keys := []string{s.k.signInFailures(account.Key), s.k.signInFailures(address.Key)}
	if err := signedInScript.Run(ctx, s.rdb, keys).Err(); err != nil {
		return fmt.Errorf("record sign-in: %w", err)
	}
	return nil
}
