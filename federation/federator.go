// Package federation speaks ActivityPub with other instances: actor documents, WebFinger,
// HTTP Signatures, inbox processing and delivery. It uses net/http, never Fiber.
package federation

import (
	"context"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"watercooler/actorkey"
	"watercooler/config"
	"watercooler/store"
	"watercooler/text"
)

// Queue names, for the admin command that lists dead letters.
const (
	InboxQueue    = "inbox"
	DeliveryQueue = "delivery"
)

// Options tune the workers; zero values take the defaults, tests compress the schedules.
type Options struct {
	// RetrySchedule is the wait before each retry of a failed delivery; after the last one the
	// job is dead-lettered. The default spans about a week, as Mastodon's does.
	RetrySchedule []time.Duration
	// UnavailableAfter is how long a host may fail before deliveries to it stop being tried.
	UnavailableAfter time.Duration
	// DeliveryWorkers and InboxWorkers are the number of concurrent workers per process.
	DeliveryWorkers, InboxWorkers int
	// PerHostConcurrency bounds simultaneous deliveries to one host.
	PerHostConcurrency int
	// ClaimIdle is how long a job may sit with a worker before another worker takes it over.
	ClaimIdle time.Duration
	// Poll is how long a worker blocks waiting for new jobs, and how often retries are promoted.
	Poll time.Duration
	// Fetch configures remote requests; PeerNetworks comes from the config.
	Fetch FetchOptions
	// MaxThreadDepth bounds how many missing ancestors of a reply are fetched.
	MaxThreadDepth int
	// AuthorizedFetch requires signed GETs for ActivityPub documents.
	AuthorizedFetch bool
	// NewKeyPair makes the instance actor's key on first start; nil means actorkey.NewKeyPair.
	NewKeyPair func() (publicPEM, privatePEM string, err error)
}

// DefaultRetrySchedule is a short readable table: about 6.7 days of retries in all.
var defaultRetrySchedule = []time.Duration{
	30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour,
	3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 72 * time.Hour,
}

func (o *Options) fillDefaults() {
	if o.RetrySchedule == nil {
		o.RetrySchedule = append([]time.Duration(nil), defaultRetrySchedule...)
	}
	if o.UnavailableAfter == 0 {
		o.UnavailableAfter = 48 * time.Hour
	}
	if o.DeliveryWorkers == 0 {
		o.DeliveryWorkers = 16
	}
	if o.InboxWorkers == 0 {
		o.InboxWorkers = 4
	}
	if o.PerHostConcurrency == 0 {
		o.PerHostConcurrency = 4
	}
	if o.ClaimIdle == 0 {
		o.ClaimIdle = 2 * time.Minute
	}
	if o.Poll == 0 {
		o.Poll = time.Second
	}
	if o.NewKeyPair == nil {
		o.NewKeyPair = actorkey.NewKeyPair
	}
	if o.MaxThreadDepth == 0 {
		o.MaxThreadDepth = 8
	}
}

// Federator is one instance's ActivityPub side: the documents it serves, its inbox, and the
// workers that process inbound activities and deliver outbound ones.
type Federator struct {
	cfg      config.Config
	store    *store.Store
	log      *slog.Logger
	site     Site
	opts     Options
	fetcher  *Fetcher
	keys     *KeyCache
	policy   *policyCache // every federation check reads it; see policyTTL
	inbox    *store.Queue
	delivery *store.Queue
	// consumer names this process in the consumer groups.
	consumer string

	instanceKey *rsa.PrivateKey
	signerKeys  sync.Map // account id → *rsa.PrivateKey; keys never change once created
	schemes     sync.Map // host → the scheme WebFinger answered on, so peers are probed once

	hostSlotsMu sync.Mutex
	hostSlots   map[string]chan struct{}
}

// New builds a Federator; Run starts its workers.
func New(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger, opts Options) (*Federator, error) {
	opts.fillDefaults()
	f := &Federator{
		cfg: cfg, store: st, log: log, opts: opts,
		site:      Site{BaseURL: cfg.URL, Domain: cfg.Domain(), Renderer: text.NewRenderer(cfg.URL)},
		inbox:     st.Queue(InboxQueue),
		delivery:  st.Queue(DeliveryQueue),
		consumer:  cfg.Domain() + "-" + store.RandomToken(6),
		hostSlots: map[string]chan struct{}{},
	}
	pemText, err := st.InstanceKey(ctx, func() (string, error) {
		_, priv, err := opts.NewKeyPair()
		return priv, err
	})
	if err != nil {
		return nil, err
	}
	if f.instanceKey, err = ParsePrivateKey(pemText); err != nil {
		return nil, fmt.Errorf("instance key: %w", err)
	}
	fetchOpts := opts.Fetch
	if fetchOpts.PeerNetworks == nil {
		fetchOpts.PeerNetworks = cfg.PeerNetworks
	}
	if fetchOpts.UserAgent == "" {
		fetchOpts.UserAgent = "Watercooler/0.1 (+" + cfg.URL + "/)"
	}
	fetchOpts.SignGet = func(r *http.Request) error {
		return SignRequest(r, nil, f.InstanceActorURI()+"#main-key", f.instanceKey)
	}
	f.fetcher = NewFetcher(fetchOpts)
	f.keys = NewKeyCache(f.fetcher, f.localKey, time.Hour)
	f.policy = newPolicyCache(st.FederationPolicy, policyTTL)
	for _, q := range []*store.Queue{f.inbox, f.delivery} {
		if err := q.Ensure(ctx); err != nil {
			return nil, err
		}
	}
	if err := applyPolicy(ctx, cfg, st); err != nil {
		return nil, err
	}
	f.opts.AuthorizedFetch = f.opts.AuthorizedFetch || cfg.AuthorizedFetch
	return f, nil
}

// applyPolicy adds the configured domain blocks and allowed peers to those kept in Redis, where
// admin commands also change them, and sets the mode when the configuration names one.
func applyPolicy(ctx context.Context, cfg config.Config, st *store.Store) error {
	for _, h := range cfg.DomainBlocks {
		if err := st.BlockDomain(ctx, h); err != nil {
			return fmt.Errorf("domain block %s: %w", h, err)
		}
	}
	for _, h := range cfg.AllowedPeers {
		if err := st.AllowDomain(ctx, h); err != nil {
			return fmt.Errorf("allowed peer %s: %w", h, err)
		}
	}
	if cfg.FederationMode != "" {
		return st.SetAllowlistMode(ctx, cfg.FederationMode == "allowlist")
	}
	return nil
}

// InstanceActorURI is the id of the instance's own actor, which signs fetches.
func (f *Federator) InstanceActorURI() string { return f.cfg.URL + "/actor" }

// localKey answers key lookups from accounts already stored, so known peers' keys need no fetch.
func (f *Federator) localKey(ctx context.Context, keyID string) (owner, pemText string, ok bool) {
	actor := strings.SplitN(keyID, "#", 2)[0]
	a, err := f.store.AccountByURI(ctx, actor)
	if err != nil || a.PublicKeyPEM == "" || (a.PublicKeyID != "" && a.PublicKeyID != keyID) {
		return "", "", false
	}
	return a.URI, a.PublicKeyPEM, true
}

// signerKey returns the parsed private key of a local account, or of the instance actor for "".
func (f *Federator) signerKey(ctx context.Context, accountID string) (*rsa.PrivateKey, string, error) {
	if accountID == "" {
		return f.instanceKey, f.InstanceActorURI() + "#main-key", nil
	}
	acct, err := f.store.Account(ctx, accountID)
	if err != nil {
		return nil, "", err
	}
	if k, ok := f.signerKeys.Load(accountID); ok {
		return k.(*rsa.PrivateKey), acct.PublicKeyID, nil
	}
	pemText, err := f.store.PrivateKey(ctx, accountID)
	if err != nil {
		return nil, "", err
	}
	key, err := ParsePrivateKey(pemText)
	if err != nil {
		return nil, "", fmt.Errorf("key of %s: %w", accountID, err)
	}
	f.signerKeys.Store(accountID, key)
	return key, acct.PublicKeyID, nil
}

// Run starts the inbox and delivery workers and blocks until ctx ends.
func (f *Federator) Run(ctx context.Context) {
	var wg sync.WaitGroup
	start := func(fn func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); fn(ctx) }()
	}
	start(func(ctx context.Context) { f.work(ctx, f.inbox, f.opts.InboxWorkers, f.processJob) })
	start(func(ctx context.Context) { f.work(ctx, f.delivery, f.opts.DeliveryWorkers, f.deliverJob) })
	start(f.maintain)
	wg.Wait()
}

// work runs one queue: a single reader blocks on Redis for new jobs and runs each in its own
// goroutine, at most n at a time, so idle workers hold one Redis connection per queue instead of
// one each (and never starve the client API of connections). Handlers settle their job (ack,
// retry or dead-letter); a job left unsettled by a crash is claimed by maintain.
func (f *Federator) work(ctx context.Context, q *store.Queue, n int, handle func(context.Context, *store.Queue, store.Job)) {
	slots := make(chan struct{}, n)
	var running sync.WaitGroup
	defer running.Wait()
	for ctx.Err() == nil {
		// Wait for one free slot, then take every other free one: read only as many jobs as
		// can start at once, so none waits unclaimed in this process.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		free := 1
		for taking := true; taking && free < n; {
			select {
			case slots <- struct{}{}:
				free++
			default:
				taking = false
			}
		}
		batch, err := q.Read(ctx, f.consumer, free, f.opts.Poll)
		if err != nil && ctx.Err() == nil {
			f.log.Warn("queue read failed", "err", err)
			waitOrDone(ctx, f.opts.Poll)
		}
		for range free - len(batch) {
			<-slots
		}
		for _, j := range batch {
			running.Add(1)
			go func() {
				defer func() { <-slots; running.Done() }()
				handle(ctx, q, j)
			}()
		}
	}
}

// maintain promotes due retries and reclaims jobs that crashed workers held.
func (f *Federator) maintain(ctx context.Context) {
	tick := time.NewTicker(f.opts.Poll)
	defer tick.Stop()
	lastClaim := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, q := range []*store.Queue{f.inbox, f.delivery} {
			if _, err := q.PromoteDue(ctx, time.Now(), 500); err != nil && ctx.Err() == nil {
				f.log.Warn("promote retries failed", "err", err)
			}
		}
		if time.Since(lastClaim) < f.opts.ClaimIdle/2 {
			continue
		}
		lastClaim = time.Now()
		for _, pair := range []struct {
			q      *store.Queue
			handle func(context.Context, *store.Queue, store.Job)
		}{{f.inbox, f.processJob}, {f.delivery, f.deliverJob}} {
			jobs, err := pair.q.Claim(ctx, f.consumer, f.opts.ClaimIdle, 100)
			if err != nil {
				if ctx.Err() == nil {
					f.log.Warn("claim failed", "err", err)
				}
				continue
			}
			for _, j := range jobs {
				f.log.Info("reclaimed job a worker left unfinished", "id", j.ID)
				pair.handle(ctx, pair.q, j)
			}
		}
	}
}

func waitOrDone(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// acquireHost takes one of host's delivery slots; release gives it back.
func (f *Federator) acquireHost(ctx context.Context, host string) (release func(), err error) {
	f.hostSlotsMu.Lock()
	slots, ok := f.hostSlots[host]
	if !ok {
		slots = make(chan struct{}, f.opts.PerHostConcurrency)
		f.hostSlots[host] = slots
	}
	f.hostSlotsMu.Unlock()
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
