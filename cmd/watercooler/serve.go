package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/gofiber/fiber/v2"

	"watercooler/config"
	"watercooler/server"
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
	app := server.New(cfg, st, log.With("instance", cfg.Domain()))
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("WATERCOOLER_LISTEN: %w", err)
	}
	log.Info("watercooler serving", "url", cfg.URL, "listen", cfg.Listen)
	return listenUntilDone(ctx, app, ln)
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
	return app.ShutdownWithTimeout(10 * time.Second)
}
