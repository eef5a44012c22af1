package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/testrig"
)

// freePortRun finds three consecutive free ports on 127.0.0.1, below the ephemeral range
// (32768 and up) and above the cluster ports of scripts/test and freeClusterPort (20000–22700):
// a port the kernel hands out could be taken, between this check and the demo's listen, by any
// test's outgoing connection (the suite lost TestDemoFederates to that twice).
func freePortRun(t *testing.T) int {
	t.Helper()
	for range 100 {
		base := 23000 + rand.IntN(6900)
		if portFree(base) && portFree(base+1) && portFree(base+2) {
			return base
		}
	}
	t.Fatal("no three consecutive free ports")
	return 0
}

// portFree reports whether a listener could bind port on 127.0.0.1 just now.
func portFree(port int) bool {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// TestDemoFederates runs the demo as a newcomer would and checks that the departments
// federate: a sales reply to an engineering post shows up on engineering's public timeline.
func TestDemoFederates(t *testing.T) {
	base := freePortRun(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, logs testrig.LogBuffer
	// stopped closes when the demo returns, with its error in demoErr: the wait for its start
	// and the cleanup both look, so neither may take a value the other waits for.
	stopped := make(chan struct{})
	var demoErr error
	go func() {
		defer close(stopped)
		// The log at main's level: what a newcomer sees on the terminal.
		demoErr = run(ctx, []string{"demo", "--base-port", strconv.Itoa(base)}, func(string) string { return "" }, &out, io.Discard, slog.New(slog.NewTextHandler(&logs, nil)))
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
		if demoErr != nil {
			t.Errorf("demo returned %v after Ctrl-C", demoErr)
		}
	})
	eng := "http://127.0.0.1:" + strconv.Itoa(base)
	// The demo either prints its URLs or stops with an error; seeding hashes a dozen passwords
	// with bcrypt, which the race detector and a busy machine slow down by an order of
	// magnitude, so the bound only catches a hang.
	testrig.Eventually(t, 5*time.Minute, "demo prints its URLs", func() bool {
		select {
		case <-stopped:
			t.Fatalf("demo stopped early: %v\n%s", demoErr, out.String())
		default:
		}
		return strings.Contains(out.String(), "Press Ctrl-C")
	})
	// The first screen is the banner: no warning per embedded Redis, no TLS handshake bytes
	// of one department's https:// attempt logged by another as a refused request.
	if l := strings.TrimSpace(logs.String()); l != "" {
		t.Errorf("the demo logged before its banner:\n%s", l)
	}
	for _, want := range []string{eng, "alice@example.com / watercooler-demo", "sales", "support"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	salesDomain := "127.0.0.1:" + strconv.Itoa(base+1)
	getJSON := func(url string, v any) bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(v) == nil
	}
	type status struct {
		Content string `json:"content"`
		Account struct {
			Acct string `json:"acct"`
		} `json:"account"`
	}
	has := func(sts []status, acct, text string) bool {
		for _, s := range sts {
			if s.Account.Acct == acct && strings.Contains(s.Content, text) {
				return true
			}
		}
		return false
	}
	// The three departments formed the organization: sales and support named engineering,
	// and each learned of the other through it.
	for i := range 3 {
		dept := "http://127.0.0.1:" + strconv.Itoa(base+i)
		testrig.Eventually(t, 10*time.Second, dept+" lists the three departments", func() bool {
			var ds []struct {
				Domain string `json:"domain"`
				Title  string `json:"title"`
			}
			if !getJSON(dept+"/api/v1/organization", &ds) || len(ds) != 3 {
				return false
			}
			for _, d := range ds {
				if !strings.HasPrefix(d.Title, "Watercooler · ") {
					return false
				}
			}
			return true
		})
	}
	bob := "bob@" + salesDomain
	// Federation runs on the production schedule here: a delivery that met a department still
	// starting waits for a probe (every second while the outage is short), not for its 30 s
	// retry. The bound is for a hung test on a busy machine, not a performance target.
	testrig.Eventually(t, time.Minute, "bob's post from sales on engineering's federated timeline", func() bool {
		var sts []status
		return getJSON(eng+"/api/v1/timelines/public?remote=true&limit=40", &sts) && has(sts, bob, "offline mode")
	})
	var found struct {
		ID string `json:"id"`
	}
	if !getJSON(eng+"/api/v1/accounts/lookup?acct="+bob, &found) {
		t.Fatalf("engineering does not know %s", bob)
	}
	testrig.Eventually(t, time.Minute, "bob's cross-department reply stored on engineering", func() bool {
		var sts []status
		return getJSON(eng+"/api/v1/accounts/"+found.ID+"/statuses", &sts) && has(sts, bob, "glad this exists")
	})
	// The Go community of engineering announced bob's tip: its timeline holds the boost.
	testrig.Eventually(t, time.Minute, "golang@engineering announced bob's tip", func() bool {
		var group struct {
			ID    string `json:"id"`
			Group bool   `json:"group"`
		}
		var boosts []struct {
			Reblog *status `json:"reblog"`
		}
		if !getJSON(eng+"/api/v1/accounts/lookup?acct=golang", &group) || !group.Group ||
			!getJSON(eng+"/api/v1/accounts/"+group.ID+"/statuses", &boosts) {
			return false
		}
		for _, b := range boosts {
			if b.Reblog != nil && b.Reblog.Account.Acct == bob && strings.Contains(b.Reblog.Content, "--json flag") {
				return true
			}
		}
		return false
	})
	// The demo's one OpenID provider signs the same person in to two departments.
	if !strings.Contains(out.String(), `"Sign in with Demo ID"`) {
		t.Errorf("demo output does not offer single sign-on:\n%s", out.String())
	}
	for _, dept := range []string{eng, "http://" + salesDomain} {
		app, err := gomastodon.RegisterApp(ctx, &gomastodon.AppConfig{Server: dept, ClientName: "demo sso", Scopes: "read", RedirectURIs: "urn:ietf:wg:oauth:2.0:oob"})
		if err != nil {
			t.Fatal(err)
		}
		if me := signInWithOIDC(t, dept, app, "Demo ID"); me.Username != "jane_doe" {
			t.Errorf("%s: signed in through the demo provider as %q, want jane_doe", dept, me.Username)
		}
	}
	for _, l := range logs.Lines() {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") || strings.Contains(l, "request refused") {
			t.Errorf("quiet logs expected while nothing is wrong, got: %s", l)
		}
	}
}
