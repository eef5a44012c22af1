package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"watercooler/community"
	"watercooler/config"
	"watercooler/federation"
	"watercooler/metrics"
	"watercooler/org"
	"watercooler/push"
	"watercooler/server"
	"watercooler/sso"
	"watercooler/store"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, log *slog.Logger) error {
	cfg, _, err := config.Load("serve", args, getenv)
	if err != nil {
		return err
	}
	if cfg.LogFormat == "json" {
		log = slog.New(slog.NewJSONHandler(stderr, nil))
		// What libraries log on their own (go-redis through redisLogger, the standard log
		// package) comes out as JSON too; the default logger is safe to swap concurrently.
		slog.SetDefault(log)
	}
	rdb, closeRedis, err := openRedis(ctx, cfg.RedisURL, log)
	if err != nil {
		return err
	}
	defer closeRedis()
	if err := os.MkdirAll(cfg.MediaDir, 0o755); err != nil {
		return fmt.Errorf("WATERCOOLER_MEDIA_DIR: %w", err)
	}
	st := store.New(rdb, cfg.RedisPrefix, cfg.Domain())
	var fedOpts federation.Options
	var serverOpts []server.Option
	var m *metrics.Metrics
	if cfg.MetricsListen != "" || cfg.MetricsToken != "" {
		m = metrics.New(st, federation.DeliveryQueue, federation.InboxQueue, store.PushQueue)
		rdb.AddHook(m.RedisHook())
		fedOpts.Observer = m
		serverOpts = append(serverOpts, server.WithMetrics(m))
	}
	if err := st.StartCache(ctx, store.DefaultCacheEntries); err != nil {
		log.Warn("serving without the process-local read cache", "err", err)
	}
	if err := st.EnsureAccountTermsIndexed(ctx); err != nil {
		return err
	}
	if err := st.EnsureSpreadKeys(ctx); err != nil {
		return err
	}
	fed, err := federation.New(ctx, cfg, st, log.With("instance", cfg.Domain(), "part", "federation"), fedOpts)
	if err != nil {
		return err
	}
	pusher, err := push.New(ctx, cfg, st, fed.Fetcher(), log.With("instance", cfg.Domain(), "part", "push"), push.Options{Consumer: fed.Consumer() + "/push"})
	if err != nil {
		return err
	}
	organization := org.New(cfg, st, fed, log.With("instance", cfg.Domain(), "part", "org"), org.Options{})
	if err := organization.Start(ctx); err != nil {
		return fmt.Errorf("organization: %w", err)
	}
	communities := community.New(cfg, st, fed, log.With("instance", cfg.Domain(), "part", "community"), community.Options{})
	workers := &workerSet{}
	serverOpts = append(serverOpts, server.WithFederation(fed), server.WithPush(pusher), server.WithOrganization(organization), server.WithCommunities(communities),
		server.WithReadyCheck("workers", workers.ready))
	if cfg.OIDC.Issuer != "" {
		serverOpts = append(serverOpts, server.WithSSO(sso.New(cfg.OIDC, cfg.URL, st, server.Bcrypt{Cost: cfg.BcryptCost}, nil)))
	}
	app := server.New(cfg, st, log.With("instance", cfg.Domain()), serverOpts...)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("WATERCOOLER_LISTEN: %w", err)
	}
	if cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("WATERCOOLER_METRICS_LISTEN: %w", err)
		}
		workers.run(ctx, func(ctx context.Context) {
			if err := m.Serve(ctx, mln); err != nil {
				log.Error("metrics listener failed", "listen", cfg.MetricsListen, "err", err)
			}
		})
		log.Info("serving metrics", "listen", cfg.MetricsListen)
	}
	log.Info("watercooler serving", "url", cfg.URL, "listen", cfg.Listen)
	workers.run(ctx, fed.Run, pusher.Run, organization.Run, func(ctx context.Context) {
		server.RunScheduled(ctx, cfg, st, log.With("instance", cfg.Domain(), "part", "scheduled"), server.WithFederation(fed), server.WithCommunities(communities))
	}, func(ctx context.Context) {
		server.RunImports(ctx, cfg, st, log.With("instance", cfg.Domain(), "part", "imports"), server.WithFederation(fed))
	})
	// Starting up (go-fed's vocabulary, the templates, the first Redis reads) leaves garbage
	// that the collector would otherwise keep mapped until the heap doubles: hand it back now,
	// so an idle process is as small as what it holds.
	debug.FreeOSMemory()
	err = listenUntilDone(ctx, app, ln)
	workers.wg.Wait()
	return err
}

// workerSet runs a serve process's background workers (the federation queues, Web Push, the
// organization's gossip, scheduled posts, the metrics listener) until ctx ends, and tells
// /readyz whether they all run: a process whose workers stopped would accept posts it never
// delivers.
type workerSet struct {
	wg             sync.WaitGroup
	total, running atomic.Int32
}

// run starts each function in its own goroutine; wg.Wait returns when all have returned,
// leaving unfinished jobs pending in Redis for the next start.
func (w *workerSet) run(ctx context.Context, fns ...func(context.Context)) {
	w.total.Add(int32(len(fns)))
	for _, fn := range fns {
		w.wg.Add(1)
		w.running.Add(1)
		go func() {
			defer w.wg.Done()
			defer w.running.Add(-1)
			fn(ctx)
		}()
	}
}

// ready is /readyz's check of the workers.
func (w *workerSet) ready(context.Context) error {
	running, total := w.running.Load(), w.total.Load()
	switch {
	case total == 0:
		return errors.New("background workers not started yet")
	case running < total:
		return fmt.Errorf("%d of %d background workers running", running, total)
	}
	return nil
}

// listenUntilDone serves until ctx ends, then drains open requests for up to ten seconds.
func listenUntilDone(ctx context.Context, app *fiber.App, ln net.Listener) error {
	errs := make(chan error, 1)
	go func() { errs <- app.Listener(ln) }()
	select {
	case err := <-errs:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	if err := app.ShutdownWithTimeout(10 * time.Second); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	// Connections still open after the grace period are cut when the process exits; that is
	// the end of a normal shutdown, not a failure.
	return nil
}
