package server

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"watercooler/config"
	"watercooler/store"
)

// errRateLimited is Mastodon's answer to a client over its limit.
var errRateLimited = &apiError{fiber.StatusTooManyRequests, "Too many requests"}

// limitAPI counts every client API request against the signed-in account, or the client's
// address when signed out, and answers with Mastodon's X-RateLimit-* headers; over the limit it
// answers 429 with Retry-After. It runs after authenticate, so a token decides the subject.
func (s *Server) limitAPI(c *fiber.Ctx) error {
	return s.limit(c, "api", s.cfg.APIRate, rateSubject(c, s.clientAddress(c)))
}

// limitMedia counts media uploads per account on top of limitAPI, as Mastodon does; its
// headers replace the API's, being the stricter limit on these routes.
func (s *Server) limitMedia(c *fiber.Ctx) error {
	return s.limit(c, "media", s.cfg.MediaRate, rateSubject(c, s.clientAddress(c)))
}

func (s *Server) limit(c *fiber.Ctx, bucket string, rate config.Rate, subject string) error {
	if rate.Off() {
		return c.Next()
	}
	st, err := s.budgets.take(c.UserContext(), s.store, bucket, subject, storeRate(rate))
	if err != nil {
		return err
	}
	if err := s.rateAnswer(c, st); err != nil {
		return err
	}
	return c.Next()
}

// rateSlices is how many slices a process takes a window's limit in: a request asks Redis only
// when its process's slice is used up, so counting costs one round trip per limit/rateSlices
// requests. Limits below rateSlices are counted one request at a time.
const rateSlices = 20

// rateBudgets are the slices of rate-limit windows this process has reserved from Redis and
// not used yet, by bucket and subject.
type rateBudgets struct {
	m     sync.Map // bucket+" "+subject → *rateBudget
	added atomic.Int64
}

type rateBudget struct {
	mu      sync.Mutex
	left    int       // reserved and not used yet
	counted int       // the window's count in Redis at the last reservation
	resetAt time.Time // when the window ends
}

// take counts one request of subject. Reserved slices count as used in every process, so
// Remaining is exact with one process and errs low with several; the limit itself holds.
func (b *rateBudgets) take(ctx context.Context, st *store.Store, bucket, subject string, lim store.RateLimit) (store.RateState, error) {
	v, loaded := b.m.Load(bucket + " " + subject)
	if !loaded {
		v, loaded = b.m.LoadOrStore(bucket+" "+subject, &rateBudget{})
		if !loaded && b.added.Add(1)%1024 == 0 {
			b.sweep()
		}
	}
	budget := v.(*rateBudget)
	budget.mu.Lock()
	defer budget.mu.Unlock()
	now := time.Now()
	if budget.left == 0 || !now.Before(budget.resetAt) {
		slice, err := st.ReserveRate(ctx, bucket, subject, lim, max(1, lim.Limit/rateSlices))
		if err != nil {
			return store.RateState{}, err
		}
		budget.left, budget.counted, budget.resetAt = slice.Granted, slice.Counted, now.Add(slice.Reset)
		if slice.Granted == 0 {
			return store.RateState{Limit: lim.Limit, Reset: slice.Reset}, nil
		}
	}
	budget.left--
	used := budget.counted - budget.left
	return store.RateState{Allowed: true, Limit: lim.Limit, Remaining: max(lim.Limit-used, 0), Reset: budget.resetAt.Sub(now)}, nil
}

// sweep forgets the budgets of windows that have ended, so that subjects seen once (client
// addresses, say) do not pile up.
func (b *rateBudgets) sweep() {
	now := time.Now()
	b.m.Range(func(k, v any) bool {
		budget := v.(*rateBudget)
		budget.mu.Lock()
		ended := !now.Before(budget.resetAt)
		budget.mu.Unlock()
		if ended {
			b.m.CompareAndDelete(k, v)
		}
		return true
	})
}

// rateAnswer sets the X-RateLimit-* headers of a counted request and returns the 429 to answer
// when it went over the limit.
func (s *Server) rateAnswer(c *fiber.Ctx, st store.RateState) error {
	c.Set("X-RateLimit-Limit", strconv.Itoa(st.Limit))
	c.Set("X-RateLimit-Remaining", strconv.Itoa(st.Remaining))
	// Mastodon sends the reset as an ISO 8601 time with milliseconds.
	c.Set("X-RateLimit-Reset", time.Now().Add(st.Reset).UTC().Format("2006-01-02T15:04:05.000Z"))
	if st.Allowed {
		return nil
	}
	c.Set(fiber.HeaderRetryAfter, retryAfter(st.Reset))
	return errRateLimited
}

// storeRate converts a configured rate; a limit that is off has a zero Limit, which the store
// takes as no limit.
func storeRate(r config.Rate) store.RateLimit {
	if r.Off() {
		return store.RateLimit{}
	}
	return store.RateLimit{Limit: r.Limit, Window: r.Window}
}

// rateSubject is who a request counts against: its account, its app for app-only tokens, or
// its client address.
func rateSubject(c *fiber.Ctx, address string) string {
	if a := viewer(c); a != nil {
		return "account:" + a.ID
	}
	if t := token(c); t != nil && t.ClientID != "" {
		return "app:" + t.ClientID
	}
	return "address:" + address
}

// retryAfter writes a wait as Retry-After seconds, rounded up so a client that waits exactly
// that long is let in.
func retryAfter(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

// clientAddress is the address a request came from, as limits count it: the connection's peer,
// or, when that peer is a trusted proxy, the nearest address in X-Forwarded-For that is not
// one. Entries left of an untrusted hop are the client's own claims and are never believed.
// IPv6 addresses count by their /64, which one host or household usually holds whole.
func (s *Server) clientAddress(c *fiber.Ctx) string {
	ip := c.Context().RemoteIP()
	if inNetworks(ip, s.cfg.TrustedProxies) {
		var hops []string
		for _, h := range c.Request().Header.PeekAll(fiber.HeaderXForwardedFor) {
			hops = append(hops, strings.Split(string(h), ",")...)
		}
		for i := len(hops) - 1; i >= 0; i-- {
			hop := net.ParseIP(strings.TrimSpace(hops[i]))
			if hop == nil {
				break // a malformed hop: nothing further left can be trusted either
			}
			ip = hop
			if !inNetworks(hop, s.cfg.TrustedProxies) {
				break
			}
		}
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

func inNetworks(ip net.IP, nets []*net.IPNet) bool {
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}
