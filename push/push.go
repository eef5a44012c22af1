// Package push sends Web Push notifications the way Mastodon does: each notification of a
// local account becomes one job per subscription of that account (queued by the store in the
// notification's own transaction), and workers send the encrypted payload (RFC 8291
// aes128gcm) signed with the instance's VAPID key (RFC 8292) to the subscription's push
// service, through the same address guard as every federation request.
package push

import (
	"cmp"
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"

	"watercooler/config"
	"watercooler/federation"
	"watercooler/store"
)

// Options tune the workers; zero values take the defaults, tests compress the schedule.
type Options struct {
	// RetrySchedule is the wait before each retry of a send that failed for a reason that may
	// pass (429, 5xx, network); after the last one the job is dead-lettered. The default spans
	// about five hours: a notification pushed later than that is of little use.
	RetrySchedule []time.Duration
	// Workers is the number of sends in flight per process.
	Workers int
	// Consumer names this process in the push queue's consumer group; it must be stable across
	// restarts (see federation.Options.Consumer). The default is hostname/listen/push.
	Consumer string
	// Lease is how long this process's hold on its jobs outlives its last sign of life.
	Lease time.Duration
	// Poll is how long a reader blocks for new jobs, and how often retries are promoted and
	// jobs of dead processes taken over.
	Poll time.Duration
	// TTL is how long a push service keeps a message for an offline device; Mastodon's 48 hours.
	TTL time.Duration
}

var defaultRetrySchedule = []time.Duration{
	15 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 4 * time.Hour,
}

func (o *Options) fillDefaults(cfg config.Config) {
	if o.RetrySchedule == nil {
		o.RetrySchedule = append([]time.Duration(nil), defaultRetrySchedule...)
	}
	if o.Workers == 0 {
		o.Workers = 8
	}
	if o.Consumer == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "localhost"
		}
		o.Consumer = host + "/" + cfg.Listen + "/push"
	}
	if o.Lease == 0 {
		o.Lease = 15 * time.Second
	}
	if o.Poll == 0 {
		o.Poll = time.Second
	}
	if o.TTL == 0 {
		o.TTL = 48 * time.Hour
	}
}

// Service is one instance's Web Push side: its VAPID key, the check of new subscriptions,
// and the workers that send.
type Service struct {
	cfg     config.Config
	store   *store.Store
	log     *slog.Logger
	fetcher *federation.Fetcher
	opts    Options
	keys    store.VAPIDKeys
	queue   *store.Queue
	// leaseToken tells this process's lease on its consumer name from a predecessor's.
	leaseToken string
}

// New builds the Service, making the instance's VAPID key on first start; Run starts its
// workers. fetcher is the federation's guarded client.
func New(ctx context.Context, cfg config.Config, st *store.Store, fetcher *federation.Fetcher, log *slog.Logger, opts Options) (*Service, error) {
	opts.fillDefaults(cfg)
	keys, err := st.VAPIDKeys(ctx, func() (store.VAPIDKeys, error) {
		private, public, err := webpush.GenerateVAPIDKeys()
		return store.VAPIDKeys{Public: public, Private: private}, err
	})
	if err != nil {
		return nil, err
	}
	s := &Service{
		cfg: cfg, store: st, log: log, fetcher: fetcher, opts: opts, keys: keys,
		queue: st.Queue(store.PushQueue), leaseToken: store.RandomToken(12),
	}
	if err := s.queue.Ensure(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// PublicKey is the VAPID public key, base64url: the server_key apps hand to the browser or
// the platform's push service, which then accepts only messages signed with its private half.
func (s *Service) PublicKey() string { return s.keys.Public }

// invalid is a refusal of CheckSubscription: its text is shown to the client.
func invalid(msg string) error { return errors.New(msg) }

// CheckSubscription refuses a subscription that could never be sent to: an endpoint that is
// not https (plain http is allowed only to the configured peer networks, for a department's
// own push relay and for tests), an endpoint whose host is on a private address the address
// guard refuses, a p256dh that is not a P-256 point, an auth secret that is not 16 bytes.
// Every error is a refusal, and its text is safe to show as Mastodon's "Validation failed"
// detail.
func (s *Service) CheckSubscription(ctx context.Context, endpoint, p256dh, auth string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return invalid("Endpoint is not a valid https URL")
	}
	port, err := strconv.ParseUint(cmp.Or(u.Port(), map[string]string{"http": "80", "https": "443"}[u.Scheme]), 10, 16)
	if err != nil {
		return invalid("Endpoint is not a valid https URL")
	}
	if err := s.fetcher.CheckAddress(ctx, u.Hostname(), uint16(port), u.Scheme == "http"); err != nil {
		if u.Scheme == "http" {
			return invalid("Endpoint must use https")
		}
		return invalid("Endpoint is not a reachable public address")
	}
	key, err := decodeKey(p256dh)
	if err != nil {
		return invalid("Key p256dh is not valid base64")
	}
	if _, err := ecdh.P256().NewPublicKey(key); err != nil {
		return invalid("Key p256dh is not a P-256 public key")
	}
	secret, err := decodeKey(auth)
	if err != nil {
		return invalid("Key auth is not valid base64")
	}
	if len(secret) != 16 {
		return invalid("Key auth must be 16 bytes")
	}
	return nil
}

// decodeKey reads a key the way apps send them: base64url as the Push API gives it, or
// standard base64, padded or not.
func decodeKey(v string) ([]byte, error) {
	v = strings.TrimRight(strings.TrimSpace(v), "=")
	if b, err := base64.RawURLEncoding.DecodeString(v); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(v)
}
