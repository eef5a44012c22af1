package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"watercooler/config"
	"watercooler/federation"
	"watercooler/org"
	"watercooler/push"
	"watercooler/server"
	"watercooler/sso"
	"watercooler/store"
)

func serve(ctx context.Context, args []string, getenv func(string) string, log *slog.Logger) error {
	cfg, _, err := config.Load("serve", args, getenv)
	if err != nil {
		return err
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
	if err := st.StartCache(ctx, store.DefaultCacheEntries); err != nil {
		log.Warn("serving without the process-local read cache", "err", err)
	}
	if err := st.EnsureAccountTermsIndexed(ctx); err != nil {
		return err
	}
	fed, err := federation.New(ctx, cfg, st, log.With("instance", cfg.Domain(), "part", "federation"), federation.Options{})
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
	opts := []server.Option{server.WithFederation(fed), server.WithPush(pusher), server.WithOrganization(organization)}
	if cfg.OIDC.Issuer != "" {
		opts = append(opts, server.WithSSO(sso.New(cfg.OIDC, cfg.URL, st, server.Bcrypt{Cost: cfg.BcryptCost}, nil)))
	}
	app := server.New(cfg, st, log.With("instance", cfg.Domain()), opts...)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("WATERCOOLER_LISTEN: %w", err)
	}
	log.Info("watercooler serving", "url", cfg.URL, "listen", cfg.Listen)
	workers := runWorkers(ctx, fed, pusher.Run, organization.Run, func(ctx context.Context) {
		server.RunScheduled(ctx, cfg, st, log.With("instance", cfg.Domain(), "part", "scheduled"), server.WithFederation(fed))
	})
	err = listenUntilDone(ctx, app, ln)
	workers.Wait()
	return err
}

// runWorkers runs the federation workers and the other background workers until ctx ends;
// Wait returns when they have stopped, leaving unfinished jobs pending in Redis for the next
// start.
func runWorkers(ctx context.Context, fed *federation.Federator, others ...func(context.Context)) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); fed.Run(ctx) }()
	for _, run := range others {
		wg.Add(1)
		go func() { defer wg.Done(); run(ctx) }()
	}
	return &wg
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
