package server_test

import (
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"watercooler/config"
	"watercooler/server"
	"watercooler/testrig"
)

// serveAlso starts another server process of inst's department: its own port and Fiber app on
// the same Redis key space, as a second `serve` behind a load balancer would be.
func serveAlso(t *testing.T, inst *testrig.Instance, log *slog.Logger, options ...server.Option) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := server.New(inst.Config, inst.Store, log, options...)
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	t.Cleanup(func() {
		_ = app.ShutdownWithTimeout(5 * time.Second)
		<-served
	})
	return "http://" + ln.Addr().String()
}

// signInAttempt is one submission of the sign-in form.
type signInAttempt struct {
	name     string
	server   int    // which process of the department gets it
	login    string // e-mail address or username
	password string // "right" for the account's own
	from     string // X-Forwarded-For sent, which only a trusted proxy's is believed
	want     int
}

// submitSignIn opens the authorize form on base and submits it as a browser would.
func submitSignIn(t *testing.T, base string, q url.Values, login, password, from string) apiResponse {
	t.Helper()
	browser := oaBrowser(t)
	r := apiSend(t, browser, newAPIRequest(t, http.MethodGet, base+"/oauth/authorize?"+q.Encode(), "", "", ""))
	if r.Code != http.StatusOK {
		t.Fatalf("authorize page: %d %s", r.Code, r.Body)
	}
	form := url.Values{}
	for k, v := range oaParsePage(t, r.Body).Fields {
		form.Set(k, v)
	}
	form.Set("login", login)
	form.Set("password", password)
	form.Set("decision", "approve")
	var header []string
	if from != "" {
		header = []string{"X-Forwarded-For", from}
	}
	return apiSend(t, browser, newAPIRequest(t, http.MethodPost, base+"/oauth/authorize", "", formType, form.Encode(), header...))
}

// TestSignInThrottle runs sign-in attempts in order through two processes of one department,
// which must share the counts: failures per account and per client address lead to 429 with
// Retry-After and a message on the page, a success clears the account's count, unknown logins
// are limited as known ones are, and every failure is logged without its password.
func TestSignInThrottle(t *testing.T) {
	inst := testrig.StartInstance(t, func(c *config.Config) {
		c.SignInAccountRate = config.Rate{Limit: 3, Window: 10 * time.Minute}
		c.SignInAddressRate = config.Rate{Limit: 5, Window: 10 * time.Minute}
		c.TrustedProxies, _ = config.ParseNetworks("127.0.0.0/8, 10.0.0.0/8")
	})
	var logs testrig.LogBuffer
	servers := []string{inst.URL, serveAlso(t, inst, slog.New(slog.NewTextHandler(&logs, nil)))}
	users := map[string]*testrig.User{}
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		users[name] = inst.CreateUser(t, name)
	}
	app := oaRegister(t, inst, "read", "urn:ietf:wg:oauth:2.0:oob")
	q := oaAuthorizeQuery(app, "urn:ietf:wg:oauth:2.0:oob", "read", "", "")

	// The test's connections come from 127.0.0.1, a trusted proxy here, so X-Forwarded-For
	// gives each scenario a client address of its own; "" leaves 127.0.0.1 the client.
	attempts := []signInAttempt{
		// One account, through both processes and both of its logins.
		{"alice wrong 1", 0, "alice", "guess-1", "192.0.2.1", http.StatusUnauthorized},
		{"alice wrong 2", 1, "alice@example.com", "guess-2", "192.0.2.1", http.StatusUnauthorized},
		{"alice wrong 3", 1, "ALICE", "guess-3", "192.0.2.1", http.StatusUnauthorized},
		{"alice locked, even with her password", 0, "alice", "right", "192.0.2.1", http.StatusTooManyRequests},
		{"alice locked on the other process, from elsewhere", 1, "alice", "guess-4", "192.0.2.9", http.StatusTooManyRequests},
		// A success clears the account's count.
		{"bob wrong 1", 1, "bob", "guess-1", "192.0.2.2", http.StatusUnauthorized},
		{"bob wrong 2", 0, "bob", "guess-2", "192.0.2.2", http.StatusUnauthorized},
		{"bob signs in", 1, "bob", "right", "192.0.2.2", http.StatusOK},
		{"bob wrong after success 1", 0, "bob", "guess-3", "192.0.2.2", http.StatusUnauthorized},
		{"bob wrong after success 2", 1, "bob", "guess-4", "192.0.2.2", http.StatusUnauthorized},
		{"bob wrong after success 3", 0, "bob", "guess-5", "192.0.2.2", http.StatusUnauthorized},
		{"bob locked", 1, "bob", "guess-6", "192.0.2.2", http.StatusTooManyRequests},
		// An unknown login answers as a known one does.
		{"nobody 1", 0, "nobody@example.com", "guess-1", "", http.StatusUnauthorized},
		{"nobody 2", 1, "nobody@example.com", "guess-2", "", http.StatusUnauthorized},
		{"nobody 3", 0, "nobody@example.com", "guess-3", "", http.StatusUnauthorized},
		{"nobody locked", 1, "nobody@example.com", "guess-4", "", http.StatusTooManyRequests},
		// One address trying many accounts: after 5 failures every account is closed to it.
		{"spray 1", 0, "carol", "guess-1", "203.0.113.5", http.StatusUnauthorized},
		{"spray 2", 1, "dave", "guess-1", "203.0.113.5", http.StatusUnauthorized},
		{"spray 3", 0, "eve", "guess-1", "203.0.113.5", http.StatusUnauthorized},
		{"spray 4", 1, "carol", "guess-2", "203.0.113.5", http.StatusUnauthorized},
		{"spray 5", 0, "dave", "guess-2", "203.0.113.5", http.StatusUnauthorized},
		{"spray stopped", 1, "frank", "guess-1", "203.0.113.5", http.StatusTooManyRequests},
		{"a forged hop left of the client's is not believed", 0, "frank", "guess-1", "198.51.100.1, 203.0.113.5", http.StatusTooManyRequests},
		{"the client behind two trusted proxies", 1, "frank", "guess-1", "203.0.113.5, 10.9.8.7", http.StatusTooManyRequests},
		{"carol signs in from elsewhere", 0, "carol", "right", "203.0.113.6", http.StatusOK},
	}
	for _, a := range attempts {
		password := a.password
		if password == "right" {
			if u, ok := users[strings.ToLower(a.login)]; ok {
				password = u.Password
			}
		}
		r := submitSignIn(t, servers[a.server], q, a.login, password, a.from)
		if r.Code != a.want {
			t.Fatalf("%s: status %d, want %d; body %s", a.name, r.Code, a.want, r.Body)
		}
		page := oaParsePage(t, r.Body)
		switch a.want {
		case http.StatusUnauthorized:
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("%s: WWW-Authenticate %q, want a Bearer challenge", a.name, r.Header.Get("WWW-Authenticate"))
			}
		case http.StatusTooManyRequests:
			secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
			if err != nil || secs < 1 || secs > 600 {
				t.Errorf("%s: Retry-After %q, want 1 to 600 seconds", a.name, r.Header.Get("Retry-After"))
			}
			if msg := page.ByID["form-error"]; !strings.Contains(msg, "Too many failed sign-in attempts") || !strings.Contains(msg, "minutes") {
				t.Errorf("%s: the page says %q, want how long to wait", a.name, msg)
			}
			if page.Fields["authenticity_token"] == "" {
				t.Errorf("%s: no form to try again with", a.name)
			}
		case http.StatusOK:
			if page.ByID["code"] == "" {
				t.Errorf("%s: no authorization code on the page", a.name)
			}
		}
	}

	// The second process logged its failures: who, from where, why; never the password.
	log := logs.String()
	for _, want := range []string{
		`msg="sign-in failed" login=alice@example.com address=192.0.2.1 reason="wrong password"`,
		`msg="sign-in failed" login=nobody@example.com address=127.0.0.1 reason="unknown login"`,
		`msg="sign-in failed" login=alice address=192.0.2.9 reason="too many failed attempts"`,
		`msg="sign-in failed" login=dave address=203.0.113.5 reason="wrong password"`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s; log:\n%s", want, log)
		}
	}
	for _, secret := range []string{"guess-", users["bob"].Password} {
		if strings.Contains(log, secret) {
			t.Errorf("a password (%q) reached the log:\n%s", secret, log)
		}
	}
}

// countingHasher is bcrypt that records the cost of every hash a password is compared with:
// the work a sign-in does, observed without timing it.
type countingHasher struct {
	server.Bcrypt
	mu    sync.Mutex
	costs []int
}

func (h *countingHasher) Check(hash, password string) bool {
	cost, err := bcrypt.Cost([]byte(hash))
	if err != nil {
		cost = -1
	}
	h.mu.Lock()
	h.costs = append(h.costs, cost)
	h.mu.Unlock()
	return h.Bcrypt.Check(hash, password)
}

func (h *countingHasher) take() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.costs
	h.costs = nil
	return out
}

// TestSignInSameWorkForUnknownLogins checks that a sign-in compares exactly one bcrypt hash of
// the configured cost whether the login exists or not, so the answer's timing does not tell
// which logins have accounts.
func TestSignInSameWorkForUnknownLogins(t *testing.T) {
	inst := testrig.StartInstance(t, func(c *config.Config) { c.BcryptCost = 5 })
	alice := inst.CreateUser(t, "alice")
	hasher := &countingHasher{Bcrypt: server.Bcrypt{Cost: inst.Config.BcryptCost}}
	base := serveAlso(t, inst, testrig.Logger(t), server.WithPasswordHasher(hasher))
	app := oaRegister(t, inst, "read", "urn:ietf:wg:oauth:2.0:oob")
	q := oaAuthorizeQuery(app, "urn:ietf:wg:oauth:2.0:oob", "read", "", "")

	cases := []struct{ name, login, password string }{
		{"known e-mail, wrong password", "alice@example.com", "wrong password"},
		{"known username, wrong password", "alice", "wrong password"},
		{"unknown e-mail", "nobody@example.com", "wrong password"},
		{"unknown username", "nobody", "wrong password"},
		{"unknown, password over 72 bytes", "nobody", strings.Repeat("x", 80)},
		{"known, password over 72 bytes", "alice", strings.Repeat("x", 80)},
		{"known, right password", "alice", alice.Password},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			submitSignIn(t, base, q, tc.login, tc.password, "")
			got := hasher.take()
			if len(got) != 1 || got[0] != inst.Config.BcryptCost {
				t.Fatalf("compared hashes of costs %v, want one of cost %d", got, inst.Config.BcryptCost)
			}
		})
	}
}
