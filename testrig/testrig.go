// Package testrig starts the real parts tests run against: a key space on the test suite's
// Redis (started by scripts/test) and instances listening on 127.0.0.1 ports.
package testrig

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"watercooler/community"
	"watercooler/config"
	"watercooler/federation"
	"watercooler/org"
	"watercooler/push"
	"watercooler/server"
	"watercooler/signup"
	"watercooler/sso"
	"watercooler/store"
)

// Redis connects to the test suite's Redis or fails the test with the way to start it. The
// suite's Redis is a single server, or a Redis Cluster when WATERCOOLER_TEST_REDIS is a
// redis+cluster:// URL (scripts/test runs the store and federation suites on one too).
func Redis(t testing.TB) redis.UniversalClient {
	t.Helper()
	url := config.TestRedisURL()
	if url == "" {
		t.Fatal("WATERCOOLER_TEST_REDIS is not set: run the test suite with scripts/test, which starts a redis-server for it")
	}
	var rdb redis.UniversalClient
	if clusterURL, ok, err := config.ClusterURL(url); err != nil {
		t.Fatalf("WATERCOOLER_TEST_REDIS=%q: %v", url, err)
	} else if ok {
		opts, err := redis.ParseClusterURL(clusterURL)
		if err != nil {
			t.Fatalf("WATERCOOLER_TEST_REDIS=%q: %v", url, err)
		}
		rdb = redis.NewClusterClient(opts)
	} else {
		opts, err := redis.ParseURL(url)
		if err != nil {
			t.Fatalf("WATERCOOLER_TEST_REDIS=%q: %v", url, err)
		}
		rdb = redis.NewClient(opts)
	}
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("test Redis at %s does not answer: %v", url, err)
	}
	return rdb
}

// SingleRedis is Redis for tests of what only a single server offers (the read cache's
// CLIENT TRACKING, databases): they are skipped when the suite runs on a cluster.
func SingleRedis(t testing.TB) *redis.Client {
	t.Helper()
	single, ok := Redis(t).(*redis.Client)
	if !ok {
		t.Skip("needs a single Redis server; the suite's is a cluster")
	}
	return single
}

// Prefix returns a key prefix no other test uses and deletes its keys when the test ends.
func Prefix(t testing.TB, rdb redis.UniversalClient) string {
	t.Helper()
	prefix := "t" + store.RandomToken(6)
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := Keys(ctx, rdb, DepartmentKeys(prefix))
		for _, k := range keys {
			rdb.Del(ctx, k)
		}
	})
	return prefix
}

// DepartmentKeys is the SCAN pattern of every key of the instance with prefix: those in its
// slot ({prefix}:...) and the timelines in slots of their own ({prefix:...}).
func DepartmentKeys(prefix string) string { return "{" + prefix + "[:}]*" }

// Keys lists the keys matching pattern on the suite's Redis, every master of a cluster included.
func Keys(ctx context.Context, rdb redis.UniversalClient, pattern string) ([]string, error) {
	byServer, err := KeysByServer(ctx, rdb, pattern)
	var out []string
	for _, keys := range byServer {
		out = append(out, keys...)
	}
	return out, err
}

// KeysByServer lists the keys matching pattern by the address of the server holding them: the
// single server, or each master of a cluster.
func KeysByServer(ctx context.Context, rdb redis.UniversalClient, pattern string) (map[string][]string, error) {
	var mu sync.Mutex
	out := map[string][]string{}
	err := store.ForEachServer(ctx, rdb, func(ctx context.Context, node *redis.Client) error {
		var keys []string
		iter := node.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		mu.Lock()
		out[node.Options().Addr] = keys
		mu.Unlock()
		return iter.Err()
	})
	return out, err
}

// Subscribers counts the pub/sub subscriptions to channel, plain and sharded, on the suite's
// Redis, every master of a cluster included.
func Subscribers(ctx context.Context, rdb redis.UniversalClient, channel string) (int64, error) {
	var n atomic.Int64
	err := store.ForEachServer(ctx, rdb, func(ctx context.Context, node *redis.Client) error {
		plain, err := node.PubSubNumSub(ctx, channel).Result()
		if err != nil {
			return err
		}
		sharded, err := node.PubSubShardNumSub(ctx, channel).Result()
		n.Add(plain[channel] + sharded[channel])
		return err
	})
	return n.Load(), err
}

// NewStore returns a store in its own key space on the test Redis.
func NewStore(t testing.TB, domain string) *store.Store {
	t.Helper()
	rdb := Redis(t)
	return store.New(rdb, Prefix(t, rdb), domain)
}

// Instance is one running instance.
type Instance struct {
	URL       string
	Config    config.Config
	Store     *store.Store
	Federator *federation.Federator
	Push      *push.Service
	Org       *org.Service
	// Communities hosts the department's communities (package community).
	Communities *community.Service
	// RedisPrefix is the key space of Store, for admin commands run against the instance.
	RedisPrefix string

	app         *fiber.App
	ln          net.Listener
	served      chan error
	stopWorkers context.CancelFunc
	workersDone chan struct{}
	log         *slog.Logger
}

// Logger discards output unless the test runs verbosely.
func Logger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// StartInstance runs an instance on a free 127.0.0.1 port until the test ends. Options may
// adjust its configuration before it starts.
func StartInstance(t testing.TB, options ...func(*config.Config)) *Instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	cfg := config.Defaults()
	cfg.Listen = ln.Addr().String()
	cfg.URL = "http://" + cfg.Listen
	cfg.MediaDir = t.TempDir()
	cfg.BcryptCost = 4 // the minimum; production keeps 12
	// Tests and benchmarks send far more requests than a person does: the API limits stay on,
	// so every request still pays for its count, but too high to refuse anything. Tests of
	// the limits set their own.
	cfg.APIRate.Limit, cfg.MediaRate.Limit = 1<<30, 1<<30
	cfg.PeerNetworks, _ = config.ParseNetworks("127.0.0.0/8")
	for _, o := range options {
		o(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	rdb := Redis(t)
	prefix := Prefix(t, rdb)
	st := store.New(rdb, prefix, cfg.Domain())
	cacheCtx, stopCache := context.WithCancel(context.Background())
	t.Cleanup(stopCache)
	if err := st.StartCache(cacheCtx, store.DefaultCacheEntries); err != nil {
		t.Fatalf("read cache: %v", err)
	}
	log := Logger(t).With("instance", cfg.Domain())
	fed, err := federation.New(context.Background(), cfg, st, log, loopbackFederation(cfg))
	if err != nil {
		t.Fatalf("federation: %v", err)
	}
	pusher, err := push.New(context.Background(), cfg, st, fed.Fetcher(), log, FastPush(fed))
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	organization := org.New(cfg, st, fed, log, FastOrg())
	if err := organization.Start(context.Background()); err != nil {
		t.Fatalf("organization: %v", err)
	}
	communities := community.New(cfg, st, fed, log, community.Options{KeyPair: TestKeyPair})
	opts := []server.Option{server.WithFederation(fed), server.WithPush(pusher), server.WithOrganization(organization), server.WithCommunities(communities)}
	if cfg.OIDC.Issuer != "" {
		opts = append(opts, server.WithSSO(sso.New(cfg.OIDC, cfg.URL, st, server.Bcrypt{Cost: cfg.BcryptCost}, nil)))
	}
	app := server.New(cfg, st, log, opts...)
	inst := &Instance{URL: cfg.URL, Config: cfg, Store: st, Federator: fed, Push: pusher, Org: organization, Communities: communities, RedisPrefix: prefix, app: app, ln: ln, log: log}
	inst.start()
	t.Cleanup(inst.Stop)
	return inst
}

// FastFederation compresses the federation schedules so tests see retries and reclaimed jobs
// within seconds; production keeps the defaults. The retry schedule starts fast but lasts
// minutes, longer than any test waits, so that a busy machine slowing a test down never makes a
// delivery run out of retries: tests wait for deliveries, not for the schedule to end.
func FastFederation() federation.Options {
	return federation.Options{
		RetrySchedule: []time.Duration{
			100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond,
			5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		},
		Lease:            2 * time.Second,
		ProbeEvery:       100 * time.Millisecond,
		ReviveCooldown:   100 * time.Millisecond,
		Poll:             50 * time.Millisecond,
		PollUpdateDelay:  200 * time.Millisecond,
		UnavailableAfter: time.Hour,
		NewKeyPair:       TestKeyPair,
	}
}

// loopbackFederation is FastFederation for cfg. A test that narrows WATERCOOLER_PEER_NETWORKS
// to other networks does so to see who may join the organization unapproved, yet its peers all
// listen on 127.0.0.1: its fetches still reach loopback. A test that clears the peer networks
// keeps the guard whole, to see private addresses refused.
func loopbackFederation(cfg config.Config) federation.Options {
	o := FastFederation()
	if len(cfg.PeerNetworks) > 0 {
		loopback, _ := config.ParseNetworks("127.0.0.0/8")
		o.Fetch.PeerNetworks = append(slices.Clone(cfg.PeerNetworks), loopback...)
	}
	return o
}

// FastOrg makes the organization's gossip run five times a second, so that tests see members
// spread within a second or two; production gossips every 10 s.
func FastOrg() org.Options {
	return org.Options{Period: 200 * time.Millisecond, DirectoryPeriod: 200 * time.Millisecond}
}

// FastPush compresses the Web Push retry schedule as FastFederation does federation's.
func FastPush(fed *federation.Federator) push.Options {
	return push.Options{
		RetrySchedule: []time.Duration{
			100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
			5 * time.Second, 20 * time.Second, 80 * time.Second,
		},
		Consumer: fed.Consumer() + "/push",
		Lease:    2 * time.Second,
		Poll:     50 * time.Millisecond,
	}
}

// start serves HTTP on the instance's listener and runs its federation workers.
func (i *Instance) start() {
	ctx, cancel := context.WithCancel(context.Background())
	i.stopWorkers = cancel
	i.served = make(chan error, 1)
	i.workersDone = make(chan struct{})
	go func() { i.served <- i.app.Listener(i.ln) }()
	go func() {
		defer close(i.workersDone)
		var wg sync.WaitGroup
		wg.Add(4)
		go func() {
			defer wg.Done()
			server.RunImports(ctx, i.Config, i.Store, i.log, server.WithFederation(i.Federator))
		}()
		go func() { defer wg.Done(); i.Push.Run(ctx) }()
		go func() { defer wg.Done(); i.Org.Run(ctx) }()
		go func() {
			defer wg.Done()
			server.RunScheduled(ctx, i.Config, i.Store, i.log, server.WithFederation(i.Federator), server.WithCommunities(i.Communities))
		}()
		i.Federator.Run(ctx)
		wg.Wait()
	}()
}

// Stop shuts the listener and the workers down, like a process exiting; queued work stays in
// Redis. Stopping twice is harmless.
func (i *Instance) Stop() {
	if i.stopWorkers == nil {
		return
	}
	i.stopWorkers()
	<-i.workersDone
	_ = i.app.ShutdownWithTimeout(5 * time.Second)
	<-i.served
	i.stopWorkers = nil
}

// Restart brings a stopped instance back on the same address, with the same Redis key space,
// as a restarted process would.
func (i *Instance) Restart(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", i.Config.Listen)
	if err != nil {
		t.Fatalf("listen again on %s: %v", i.Config.Listen, err)
	}
	log := Logger(t).With("instance", i.Config.Domain())
	fed, err := federation.New(context.Background(), i.Config, i.Store, log, loopbackFederation(i.Config))
	if err != nil {
		t.Fatalf("federation: %v", err)
	}
	pusher, err := push.New(context.Background(), i.Config, i.Store, fed.Fetcher(), log, FastPush(fed))
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	organization := org.New(i.Config, i.Store, fed, log, FastOrg())
	if err := organization.Start(context.Background()); err != nil {
		t.Fatalf("organization: %v", err)
	}
	communities := community.New(i.Config, i.Store, fed, log, community.Options{KeyPair: TestKeyPair})
	i.Federator, i.Push, i.Org, i.Communities, i.ln, i.log = fed, pusher, organization, communities, ln, log
	i.app = server.New(i.Config, i.Store, log, server.WithFederation(fed), server.WithPush(pusher), server.WithOrganization(organization), server.WithCommunities(communities))
	i.start()
}

// User is a local account created for a test, with a token for every scope.
type User struct {
	Account  *store.Account
	Token    string
	Password string
}

// CreateUser creates a local user and mints a "read write follow push" token for it.
func (i *Instance) CreateUser(t testing.TB, username string, options ...func(*signup.Params)) *User {
	t.Helper()
	p := signup.Params{Username: username, Email: username + "@example.com", Password: "correct horse " + username, KeyPair: TestKeyPair}
	for _, o := range options {
		o(&p)
	}
	ctx := context.Background()
	acct, err := signup.Create(ctx, i.Store, server.Bcrypt{Cost: i.Config.BcryptCost}, i.URL, p)
	if err != nil {
		t.Fatalf("create user %s: %v", username, err)
	}
	tok, _, err := i.Store.CreateToken(ctx, "", acct.ID, []string{"read", "write", "follow", "push"})
	if err != nil {
		t.Fatalf("token for %s: %v", username, err)
	}
	return &User{Account: acct, Token: tok, Password: p.Password}
}

// Eventually polls cond until it holds or the deadline passes; tests use it instead of sleeps.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// API is a base URL plus path, for raw HTTP tests.
func (i *Instance) API(path string, args ...any) string { return i.URL + fmt.Sprintf(path, args...) }
