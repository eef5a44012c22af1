// Package federation speaks ActivityPub with other instances: actor documents, WebFinger,
// HTTP Signatures, inbox processing and delivery. It uses net/http, never Fiber.
package federation

import (
	"context"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
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
	// Consumer names this process in the queues' consumer groups. It must be stable across
	// restarts, so that a process that comes back resumes at once the jobs it held when it died;
	// the default, hostname/listen address, is, since no two live processes share it.
	Consumer string
	// Lease is how long a process's hold on its jobs outlives its last sign of life in Redis
	// (renewed every Lease/3): after that, other processes take the jobs over.
	Lease time.Duration
	// ProbeEvery is the shortest interval between probes of a host that deliveries wait for:
	// one waiting delivery is tried early, and when it succeeds the rest follow at once. The
	// interval grows with the outage (an eighth of it, up to maxProbeInterval).
	ProbeEvery time.Duration
	// ReviveCooldown spaces the revivals that requests from a host trigger, since a host that
	// sends to us may still fail to receive.
	ReviveCooldown time.Duration
	// Poll is how long a worker blocks waiting for new jobs, and how often retries are promoted.
	Poll time.Duration
	// Fetch configures remote requests; PeerNetworks comes from the config.
	Fetch FetchOptions
	// MaxThreadDepth bounds how many missing ancestors of a reply are fetched.
	MaxThreadDepth int
	// AuthorizedFetch requires signed GETs for ActivityPub documents.
	AuthorizedFetch bool
	// PollUpdateDelay spaces the Update{Question} a local poll's votes send: the first vote
	// after a quiet spell is sent at once, the votes within the next PollUpdateDelay together at
	// its end. The default is Mastodon's three minutes.
	PollUpdateDelay time.Duration
	// NewKeyPair makes the instance actor's key on first start; nil means actorkey.NewKeyPair.
	NewKeyPair func() (publicPEM, privatePEM string, err error)
	// Observer is told how deliveries go, for metrics; nil tells nothing.
	Observer Observer
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
	if o.Lease == 0 {
		o.Lease = 15 * time.Second
	}
	if o.ProbeEvery == 0 {
		o.ProbeEvery = time.Second
	}
	if o.ReviveCooldown == 0 {
		o.ReviveCooldown = 2 * time.Second
	}
	if o.Poll == 0 {
		o.Poll = time.Second
	}
	if o.NewKeyPair == nil {
		o.NewKeyPair = actorkey.NewKeyPair
	}
	if o.PollUpdateDelay == 0 {
		o.PollUpdateDelay = 3 * time.Minute
	}
	if o.MaxThreadDepth == 0 {
		o.MaxThreadDepth = 8
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
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
	// consumer names this process in the consumer groups (Options.Consumer); leaseToken tells
	// this process's lease on that name from a predecessor's.
	consumer, leaseToken string
	// communities hears of the statuses Creates bring (SetCommunities); nil when none are hosted.
	communities Communities
	// promoteNow wakes maintain to promote retries that a sign of life brought forward.
	promoteNow chan struct{}

	instanceKey *rsa.PrivateKey
	// instanceActor is the instance actor's document, rendered once: nothing in it changes
	// while the process runs (public_documents.go).
	instanceActor func() ([]byte, error)
	signerKeys    sync.Map // account id → *rsa.PrivateKey; keys never change once created
	schemes       sync.Map // host → the scheme WebFinger answered on, so peers are probed once

	hostSlotsMu sync.Mutex
	hostSlots   map[string]chan struct{}
}

// New builds a Federator; Run starts its workers.
func New(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger, opts Options) (*Federator, error) {
	opts.fillDefaults()
	f := &Federator{
		cfg: cfg, store: st, log: log, opts: opts,
		site:       Site{BaseURL: cfg.URL, Domain: cfg.Domain(), Renderer: text.NewRenderer(cfg.URL)},
		inbox:      st.Queue(InboxQueue),
		delivery:   st.Queue(DeliveryQueue),
		consumer:   opts.Consumer,
		leaseToken: store.RandomToken(12),
		promoteNow: make(chan struct{}, 1),
		hostSlots:  map[string]chan struct{}{},
	}
	if f.consumer == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "localhost"
		}
		f.consumer = host + "/" + cfg.Listen
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
	f.instanceActor = sync.OnceValues(func() ([]byte, error) {
		app, err := InstanceActor(f.site, publicPEM(f.instanceKey))
		if err != nil {
			return nil, err
		}
		return Serialize(app)
	})
	fetchOpts := opts.Fetch
	if fetchOpts.PeerNetworks == nil {
		fetchOpts.PeerNetworks = cfg.PeerNetworks
	}
	if addr := redisAddr(cfg.RedisURL); addr != "" {
		fetchOpts.Forbidden = append(slices.Clip(fetchOpts.Forbidden), addr)
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

// redisAddr is the host:port of a redis:// or rediss:// URL (port 6379 when left out), which no
// remote fetch may reach even when it lies in the peer networks; "" for anything else.
func redisAddr(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Hostname() == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = "6379"
	}
	return net.JoinHostPort(u.Hostname(), port)
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
