package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"watercooler/config"
	"watercooler/testrig"
)

// TestAdminCommunity creates a community with the admin command against a running instance's
// Redis, lists it, and finds it served at once as a Group through WebFinger.
func TestAdminCommunity(t *testing.T) {
	inst := testrig.StartInstance(t)
	inst.CreateUser(t, "alice")
	env := map[string]string{
		"REDIS_URL":                config.TestRedisURL(),
		"WATERCOOLER_REDIS_PREFIX": inst.RedisPrefix,
		"WATERCOOLER_URL":          inst.URL,
		"WATERCOOLER_LISTEN":       inst.Config.Listen,
	}
	admin := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"admin", "community"}, args...), func(k string) string { return env[k] }, &out, &errOut, slog.New(slog.NewTextHandler(io.Discard, nil)))
		return out.String() + errOut.String(), err
	}

	if out, err := admin("create", "--name", "golang", "--display-name", "Go practitioners", "--moderator", "alice"); err != nil || !strings.Contains(out, "golang@"+inst.Config.Domain()) {
		t.Fatalf("create: %q, %v", out, err)
	}
	for _, bad := range [][]string{
		{"create"},
		{"create", "--name", "golang"},                        // taken
		{"create", "--name", "alice"},                         // a person's name
		{"create", "--name", "go lang"},                       // not a username
		{"create", "--name", "rust", "--moderator", "nobody"}, // no such person
		{"create", "--name", "rust", "--moderator", "golang"}, // a group moderates nothing
		{"create", "--name", "rust", "--display-name", strings.Repeat("r", 31)},
	} {
		if out, err := admin(bad...); err == nil {
			t.Errorf("admin community %v succeeded: %q", bad, out)
		}
	}
	out, err := admin("list")
	if err != nil || !strings.Contains(out, "golang@"+inst.Config.Domain()) || !strings.Contains(out, "Go practitioners") || !strings.Contains(out, "alice") || strings.Contains(out, "rust") {
		t.Fatalf("list: %q, %v", out, err)
	}

	resp, err := http.Get(inst.URL + "/.well-known/webfinger?resource=" + url.QueryEscape("acct:golang@"+inst.Config.Domain()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jrd struct {
		Links []struct{ Rel, Type, Href string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&jrd); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("webfinger: %d, %v", resp.StatusCode, err)
	}
	found := false
	for _, l := range jrd.Links {
		found = found || (l.Rel == "self" && l.Href == inst.URL+"/users/golang")
	}
	if !found {
		t.Errorf("webfinger links = %+v, want self → %s/users/golang", jrd.Links, inst.URL)
	}
}
