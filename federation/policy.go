package federation

import (
	"context"
	"sync"
	"time"

	"watercooler/store"
)

// policyTTL is how long federation trusts the policy it read. Every inbound POST, fetch and
// delivery checks the policy, and reading it was a Redis round trip each; admin commands change
// it from another process, so their changes take effect within policyTTL.
const policyTTL = 3 * time.Second

// policyCache keeps the federation policy read from the store for policyTTL. It is safe for
// concurrent use; one caller refreshes an expired policy while the others wait for it.
type policyCache struct {
	load func(context.Context) (store.FederationPolicy, error)
	ttl  time.Duration
	now  func() time.Time

	mu      sync.Mutex
	policy  store.FederationPolicy
	expires time.Time
}

func newPolicyCache(load func(context.Context) (store.FederationPolicy, error), ttl time.Duration) *policyCache {
	return &policyCache{load: load, ttl: ttl, now: time.Now}
}

// get returns the policy, reading it again when the one held is older than the TTL. A failed
// read is not remembered: the next caller tries again.
func (c *policyCache) get(ctx context.Context) (store.FederationPolicy, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if now.Before(c.expires) {
		return c.policy, nil
	}
	p, err := c.load(ctx)
	if err != nil {
		return store.FederationPolicy{}, err
	}
	c.policy, c.expires = p, now.Add(c.ttl)
	return p, nil
}
