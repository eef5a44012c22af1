package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"watercooler/config"
	"watercooler/testrig"
)

// orgAdmin runs admin commands against a running instance's Redis, as its operator would.
func orgAdmin(t *testing.T, inst *testrig.Instance) func(args ...string) (string, error) {
	env := map[string]string{
		"REDIS_URL":                config.TestRedisURL(),
		"WATERCOOLER_REDIS_PREFIX": inst.RedisPrefix,
		"WATERCOOLER_URL":          inst.URL,
		"WATERCOOLER_LISTEN":       inst.Config.Listen,
		"WATERCOOLER_TITLE":        inst.Config.Title,
	}
	return func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"admin", "org"}, args...), func(k string) string { return env[k] }, &out, &errOut, slog.New(slog.NewTextHandler(io.Discard, nil)))
		return out.String() + errOut.String(), err
	}
}

// TestAdminOrg joins a department to another that admits only approved hosts, approves it
// from the list of pending requests, and has it leave, all through admin commands.
func TestAdminOrg(t *testing.T) {
	eng := testrig.StartInstance(t, func(c *config.Config) {
		c.Title = "Engineering"
		c.PeerNetworks, _ = config.ParseNetworks("10.0.0.0/8")
	})
	sales := testrig.StartInstance(t, func(c *config.Config) { c.Title = "Sales" })
	engAdmin, salesAdmin := orgAdmin(t, eng), orgAdmin(t, sales)

	for _, bad := range [][]string{
		{"join"},
		{"join", "not a url"},
		{"join", sales.URL}, // its own URL
		{"join", "--org-join", "ftp://eng.example"},
		{"approve"},
		{"approve", "--host", "nobody.example"},
	} {
		if out, err := salesAdmin(bad...); err == nil {
			t.Errorf("admin org %v succeeded: %q", bad, out)
		}
	}

	if out, err := salesAdmin("join", "--org-join", eng.URL); err != nil || !strings.Contains(out, "asked "+eng.URL) {
		t.Fatalf("join: %q, %v", out, err)
	}
	host := sales.Config.Domain()
	testrig.Eventually(t, 10*time.Second, "eng lists sales as pending", func() bool {
		out, err := engAdmin("list")
		return err == nil && strings.Contains(out, host) && strings.Contains(out, "pending (admin org approve --host "+host+")")
	})
	if out, err := engAdmin("approve", "--host", host); err != nil || !strings.Contains(out, "approved "+host) {
		t.Fatalf("approve: %q, %v", out, err)
	}
	line := func(out, host, state, title string) bool {
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) >= 3 && f[0] == host && f[1] == state && f[2] == title {
				return true
			}
		}
		return false
	}
	testrig.Eventually(t, 10*time.Second, "sales lists eng as a member", func() bool {
		out, err := salesAdmin("list")
		return err == nil && line(out, eng.Config.Domain(), "member", "Engineering") && line(out, host, "member", "Sales")
	})

	if out, err := salesAdmin("leave"); err != nil || !strings.Contains(out, "left") {
		t.Fatalf("leave: %q, %v", out, err)
	}
	testrig.Eventually(t, 10*time.Second, "eng lists sales as left", func() bool {
		out, err := engAdmin("list")
		return err == nil && line(out, host, "left", "Sales")
	})
}
