package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"watercooler/config"
)

// healthcheckTimeout bounds one check; container runtimes time the command out themselves too.
const healthcheckTimeout = 5 * time.Second

// healthcheck GETs url and succeeds on a 2xx answer. Without a URL it asks the /readyz of the
// serve process configured in this environment (WATERCOOLER_LISTEN, on 127.0.0.1 when it
// listens on every address). It is the health check command of the container image, which
// ships no shell, curl or wget.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var url string
	switch {
	case len(args) == 1 && (strings.HasPrefix(args[0], "http://") || strings.HasPrefix(args[0], "https://")):
		url = args[0]
	case len(args) == 0:
		cfg, _, err := config.Load("healthcheck", nil, getenv)
		if err != nil {
			return err
		}
		host, port, _ := net.SplitHostPort(cfg.Listen) // Validate checked it
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		url = "http://" + net.JoinHostPort(host, port) + "/readyz"
	default:
		return errors.New("usage: watercooler healthcheck [http(s)://URL]")
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("healthcheck: %s answered %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(stdout, "%s: %s\n", resp.Status, strings.TrimSpace(string(body)))
	return nil
}
