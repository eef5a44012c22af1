package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"watercooler/config"
	"watercooler/store"
	"watercooler/testrig"
)

// adminRunner runs admin commands against the test Redis under a fresh key prefix, which it
// returns too.
func adminRunner(t *testing.T) (func(args ...string) (string, error), string) {
	rdb := testrig.Redis(t)
	prefix := testrig.Prefix(t, rdb)
	env := map[string]string{
		"REDIS_URL":                config.TestRedisURL(),
		"WATERCOOLER_REDIS_PREFIX": prefix,
		"WATERCOOLER_URL":          "http://eng.test.example",
	}
	return func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"admin"}, args...), func(k string) string { return env[k] }, &out, &errOut, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			return out.String() + errOut.String(), err
		}
		return out.String(), nil
	}, prefix
}

func TestAdminUserLifecycle(t *testing.T) {
	admin, _ := adminRunner(t)
	steps := []struct {
		args    []string
		wantErr bool
		want    string
	}{
		{[]string{"user", "create", "--username", "alice", "--email", "alice@corp.example", "--password", "correct horse battery"}, false, "created alice"},
		{[]string{"user", "create", "--username", "alice", "--email", "other@corp.example", "--password", "correct horse battery"}, true, "taken"},
		{[]string{"user", "create", "--username", "bob", "--email", "bob@corp.example"}, false, "password: "},
		{[]string{"user", "create", "--username", "x y", "--email", "xy@corp.example"}, true, "username"},
		{[]string{"user", "list"}, false, "alice@corp.example"},
		{[]string{"user", "reset-password", "--username", "alice", "--password", "short"}, true, "8 to 72"},
		{[]string{"user", "reset-password", "--username", "alice", "--password", "another good password"}, false, "reset"},
		{[]string{"user", "suspend", "--username", "bob"}, false, "suspended"},
		{[]string{"user", "list"}, false, "suspended"},
		{[]string{"token", "--username", "nobody"}, true, "no local user"},
		{[]string{"token", "--username", "alice", "--scopes", "read wrong"}, true, "scope"},
		{[]string{"domain", "block", "--host", "spam.example"}, false, "blocked"},
		{[]string{"federation", "mode", "--set", "allowlist"}, false, "allowlist"},
		{[]string{"domain", "allow", "--host", "sales.corp.example"}, false, "allowlist"},
		{[]string{"domain", "list"}, false, "mode: allowlist\nblocked: spam.example\nallowed: sales.corp.example"},
		{[]string{"deliveries", "stats"}, false, "delivery: queued 0"},
		{[]string{"deliveries", "dead"}, false, "FAILED AT"},
		{[]string{"nonsense"}, true, "Usage"},
	}
	for _, s := range steps {
		out, err := admin(s.args...)
		if (err != nil) != s.wantErr || !strings.Contains(out+errString(err), s.want) {
			t.Fatalf("admin %s = %q, %v; want error=%v and output containing %q", strings.Join(s.args, " "), out, err, s.wantErr, s.want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestAdminTokenWorksAgainstServe mints a token with the admin command and uses it against a
// serve process on the same Redis: the contract scripts rely on.
func TestAdminTokenWorksAgainstServe(t *testing.T) {
	admin, prefix := adminRunner(t)
	if _, err := admin("user", "create", "--username", "carol", "--email", "carol@corp.example", "--password", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	token, err := admin("token", "--username", "carol", "--scopes", "read write follow push")
	if err != nil {
		t.Fatal(err)
	}
	token = strings.TrimSuffix(token, "\n")
	if token == "" || strings.ContainsAny(token, " \n") {
		t.Fatalf("admin token printed %q, want the token alone", token)
	}

	addr := freeAddr(t, "127.0.0.1")
	env := map[string]string{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", addr, "--url", "http://eng.test.example", "--redis", config.TestRedisURL(), "--redis-prefix", prefix, "--media-dir", t.TempDir()},
			func(k string) string { return env[k] }, io.Discard, io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v after shutdown", err)
		}
	})
	var acct struct {
		Username string `json:"username"`
	}
	testrig.Eventually(t, time.Minute, "serve answers verify_credentials", func() bool {
		req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/accounts/verify_credentials", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&acct) == nil
	})
	if acct.Username != "carol" {
		t.Fatalf("verify_credentials username = %q, want carol", acct.Username)
	}
}

func TestServeRefusesBadConfig(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--url", "not a url"}, "WATERCOOLER_URL"},
		{[]string{"serve", "--listen", "nowhere"}, "WATERCOOLER_LISTEN"},
		{[]string{"serve", "--redis", "redis://127.0.0.1:1/0"}, "connect to Redis"},
	}
	for _, c := range cases {
		err := run(context.Background(), c.args, func(string) string { return "" }, io.Discard, io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run(%v) = %v, want an error naming %s", c.args, err, c.want)
		}
	}
}

// TestAdminUserRole gives and takes the admin role and checks what the store keeps, which the
// API's role and the report notifications read.
func TestAdminUserRole(t *testing.T) {
	admin, prefix := adminRunner(t)
	if _, err := admin("user", "create", "--username", "alice", "--email", "alice@corp.example", "--password", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	st := store.New(testrig.Redis(t), prefix, "eng.test.example")
	steps := []struct {
		args      []string
		wantErr   bool
		want      string
		wantAdmin bool
	}{
		{[]string{"--username", "alice", "--role", "owner"}, true, `--role must be "admin" or "user"`, false},
		{[]string{"--username", "nobody", "--role", "admin"}, true, "no local user", false},
		{[]string{"--role", "admin"}, true, "--username is required", false},
		{[]string{"--username", "alice", "--role", "admin"}, false, "alice now has the admin role", true},
		{[]string{"--username", "alice", "--role", "admin"}, false, "already has the admin role", true},
		{[]string{"--username", "alice", "--role", "user"}, false, "alice now has the user role", false},
	}
	for _, s := range steps {
		out, err := admin(append([]string{"user", "role"}, s.args...)...)
		if (err != nil) != s.wantErr || !strings.Contains(out+errString(err), s.want) {
			t.Fatalf("admin user role %s = %q, %v; want error=%v and output containing %q", strings.Join(s.args, " "), out, err, s.wantErr, s.want)
		}
		acct, err := st.AccountByAcct(context.Background(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		u, err := st.User(context.Background(), acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u.Admin != s.wantAdmin {
			t.Fatalf("after admin user role %s: stored Admin = %v, want %v", strings.Join(s.args, " "), u.Admin, s.wantAdmin)
		}
	}
	if out, _ := admin("user", "list"); !regexp.MustCompile(`alice\s+alice@corp.example\s+user\s+active`).MatchString(out) {
		t.Fatalf("user list = %q, want alice listed with the user role", out)
	}
}
