package server

import (
	"net"
	"strconv"
	"strings"
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
	ctx, lim, key := c.UserContext(), storeRate(rate), bucket+" "+subject
	if !s.countAlongside(c, key) {
		st, err := s.store.HitRate(ctx, bucket, subject, lim)
		if err != nil {
			return err
		}
		if err := s.rateAnswer(c, key, st); err != nil {
			return err
		}
		return c.Next()
	}
	// A read has no effects, so it is counted while the handler runs rather than before: the
	// count's round trip to Redis then adds nothing to the request's latency. A read over the
	// limit has its answer replaced, and the subject is refused before any work from then on
	// (see countAlongside).
	type hit struct {
		st  store.RateState
		err error
	}
	counted := make(chan hit, 1)
	go func() {
		st, err := s.store.HitRate(ctx, bucket, subject, lim)
		counted <- hit{st, err}
	}()
	err := c.Next()
	h := <-counted
	if h.err != nil {
		return h.err
	}
	if refused := s.rateAnswer(c, key, h.st); refused != nil {
		c.Response().ResetBody()
		return refused
	}
	return err
}

// countAlongside reports whether a request may be counted while its handler runs: a GET that
// is not a stream (which answers before its handler returns), from a subject this process has
// not seen over its limit in the current window.
func (s *Server) countAlongside(c *fiber.Ctx, key string) bool {
	if c.Method() != fiber.MethodGet || strings.HasPrefix(c.Path(), "/api/v1/streaming") {
		return false
	}
	if until, ok := s.overLimit.Load(key); ok {
		if time.Now().Before(until.(time.Time)) {
			return false
		}
		s.overLimit.CompareAndDelete(key, until)
	}
	return true
}

// rateAnswer sets the X-RateLimit-* headers of a counted request and returns the 429 to answer
// when it went over the limit, remembering that the subject is over it until the window ends.
func (s *Server) rateAnswer(c *fiber.Ctx, key string, st store.RateState) error {
	c.Set("X-RateLimit-Limit", strconv.Itoa(st.Limit))
	c.Set("X-RateLimit-Remaining", strconv.Itoa(st.Remaining))
	// Mastodon sends the reset as an ISO 8601 time with milliseconds.
	c.Set("X-RateLimit-Reset", time.Now().Add(st.Reset).UTC().Format("2006-01-02T15:04:05.000Z"))
	if st.Allowed {
		return nil
	}
	s.overLimit.Store(key, time.Now().Add(st.Reset))
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
