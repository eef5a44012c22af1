// Command watercooler runs a department's Watercooler instance (serve), a three-department demo
// (demo), and administrative tasks (admin). It is the composition root: it wires configuration,
// Redis, the store and the server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"
)

const usage = `watercooler: a federated microblog for a department.

Usage:
  watercooler serve [flags]     run one instance (flags: --url --listen --redis --media-dir ...)
  watercooler demo [flags]      run three department instances on localhost with sample users
  watercooler admin ...         manage users and tokens (run "watercooler admin" for the list)
  watercooler healthcheck [URL] GET URL (default: this environment's serve's /readyz) and fail
                                unless it answers 2xx; the container image's health check

Every setting can come from a flag, an environment variable or a --config file;
run "watercooler serve -h" to see them all.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logs := newBatchedWriter(os.Stderr)
	log := slog.New(slog.NewTextHandler(logs, nil))
	redis.SetLogger(redisLogger{})
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, logs, log)
	_ = logs.Flush()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "watercooler:", err)
		}
		if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
			os.Exit(1) // what container runtimes read as unhealthy; they reserve 2
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, log *slog.Logger) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("missing subcommand")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stderr, log)
	case "demo":
		return demo(ctx, args[1:], getenv, stdout, log)
	case "admin":
		return admin(ctx, args[1:], getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, args[1:], getenv, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown subcommand %q", args[0])
}
