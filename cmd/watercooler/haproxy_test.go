package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/federation"
	"watercooler/store"
	"watercooler/testrig"
)

// processHeader names the backend process that answered, set by the proxy, so the test knows
// where each streaming connection landed.
const processHeader = "X-Watercooler-Process"

// TestProcessesBehindProxySurviveKill runs one department as three serve processes on one Redis
// behind HAProxy (round robin, no sticky sessions), with a second department following its
// people. While several clients post through the proxy, one process is killed with SIGKILL.
// Afterwards every acknowledged post must be readable, in each follower's home exactly once
// (local and on the other department), on every stream held by a surviving process whichever
// process wrote it, and the delivery queue must drain without dead letters.
func TestProcessesBehindProxySurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs real processes")
	}
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		// Debian installs it in /usr/sbin, which a non-root PATH may lack.
		if _, serr := os.Stat("/usr/sbin/haproxy"); serr == nil {
			haproxy, err = "/usr/sbin/haproxy", nil
		}
	}
	if err != nil {
		if os.Getenv("WATERCOOLER_PROXY_TESTS") == "required" {
			t.Fatalf("haproxy not found and WATERCOOLER_PROXY_TESTS=required: %v", err)
		}
		t.Skipf("haproxy not found (apt-get install haproxy): %v", err)
	}
	ctx := context.Background()
	bin := buildWatercooler(t)
	rdb := testrig.Redis(t)

	proxyAddr := freeAddr(t, "127.0.0.1")
	proxyURL := "http://" + proxyAddr
	first := newDeptProcess(t, bin, testrig.Prefix(t, rdb), "127.0.0.1")
	// Every process publishes the proxy's address as the department's URL: links, actor ids
	// and signatures must not depend on which process answered.
	first.domain = proxyAddr
	for i, kv := range first.env {
		if strings.HasPrefix(kv, "WATERCOOLER_URL=") {
			first.env[i] = "WATERCOOLER_URL=" + proxyURL
		}
	}
	first.env = append(first.env, "WATERCOOLER_TRUSTED_PROXIES=127.0.0.1/32")
	procs := []*deptProcess{first, first.sibling(t), first.sibling(t)}
	for _, p := range procs {
		p.start(t)
	}
	startHAProxy(t, haproxy, proxyAddr, procs)
	testrig.Eventually(t, time.Minute, "the proxy answers", func() bool {
		resp, err := http.Get(proxyURL + "/api/v1/instance")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})

	remote := newDeptProcess(t, bin, testrig.Prefix(t, rdb), "127.0.0.1")
	remote.start(t)

	// Users are made with the admin command against the shared Redis; every request then goes
	// through the proxy.
	viaProxy := func(username string) *gomastodon.Client {
		first.admin(t, "user", "create", "--username", username, "--email", username+"@example.com", "--password", "correct horse "+username)
		token := first.admin(t, "token", "--username", username, "--scopes", "read write follow push")
		return gomastodon.NewClient(&gomastodon.Config{Server: proxyURL, AccessToken: token})
	}
	alice, bob, carol := viaProxy("alice"), viaProxy("bob"), viaProxy("carol")
	dan := remote.client(t, "dan")
	aliceAcct, err := alice.GetAccountCurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*gomastodon.Client{bob, carol} {
		if _, err := c.AccountFollow(ctx, aliceAcct.ID); err != nil {
			t.Fatal(err)
		}
	}
	res, err := dan.Search(ctx, "alice@"+proxyAddr, true)
	if err != nil || len(res.Accounts) != 1 {
		t.Fatalf("dan's search for alice@%s = %v, %v; want one account", proxyAddr, res, err)
	}
	if _, err := dan.AccountFollow(ctx, res.Accounts[0].ID); err != nil {
		t.Fatal(err)
	}
	// A Follow and its Accept cross two queues on loopback: seconds even on a loaded machine.
	testrig.Eventually(t, time.Minute, "dan follows alice", func() bool {
		rels, err := dan.GetAccountRelationships(ctx, []string{string(res.Accounts[0].ID)})
		return err == nil && len(rels) == 1 && rels[0].Following
	})

	// Bob's streams, over WebSocket and server-sent events, until each process holds one of
	// each kind: round robin spreads them, the header tells where they landed.
	bobToken := bob.Config.AccessToken
	var streams []*testStream
	held := map[string]map[string]bool{} // process -> kind -> held
	for i := 0; len(held) < len(procs) || !holdsBoth(held); i++ {
		if i == 30 {
			t.Fatalf("streams after 30 connections: %v; want each process to hold a WebSocket and an event stream", held)
		}
		s := openTestStream(t, proxyURL, bobToken, i%2 == 0)
		if s.process == "" {
			t.Fatalf("%s stream: no %s header from the proxy", s.kind, processHeader)
		}
		if held[s.process] == nil {
			held[s.process] = map[string]bool{}
		}
		held[s.process][s.kind] = true
		streams = append(streams, s)
	}

	// Load: writers post through the proxy and keep what was acknowledged; one process dies
	// with SIGKILL after a third of the posts. A failed post is not acknowledged and may or may
	// not exist, as for any client whose request was cut.
	const writers, total = 4, 90
	var (
		mu      sync.Mutex
		acked   = map[string]string{} // status id -> URI
		failed  int
		victim  = procs[0]
		wg      sync.WaitGroup
		stopped = make(chan struct{})
	)
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stopped:
					return
				default:
				}
				st, err := alice.PostStatus(ctx, &gomastodon.Toot{Status: fmt.Sprintf("load %d.%d", w, i), Visibility: "public"})
				mu.Lock()
				if err != nil {
					failed++
				} else {
					acked[string(st.ID)] = st.URI
				}
				mu.Unlock()
			}
		}()
	}
	testrig.Eventually(t, 2*time.Minute, "a third of the posts acknowledged", func() bool { return count() >= total/3 })
	victim.kill(t)
	testrig.Eventually(t, 3*time.Minute, "all posts acknowledged", func() bool { return count() >= total })
	close(stopped)
	wg.Wait()
	t.Logf("%d posts acknowledged, %d failed requests (cut by the kill)", len(acked), failed)

	// Posts written directly through each surviving process, for the streams' check below.
	for _, p := range procs[1:] {
		c := gomastodon.NewClient(&gomastodon.Config{Server: p.url, AccessToken: alice.Config.AccessToken})
		st, err := c.PostStatus(ctx, &gomastodon.Toot{Status: "direct through " + p.url, Visibility: "public"})
		if err != nil {
			t.Fatal(err)
		}
		acked[string(st.ID)] = st.URI
	}

	// Everything acknowledged is readable.
	for id := range acked {
		if _, err := bob.GetStatus(ctx, gomastodon.ID(id)); err != nil {
			t.Fatalf("acknowledged status %s: %v", id, err)
		}
	}
	// In each local follower's home exactly once: fan-out ran once per post although a
	// process died in the middle of it.
	for name, c := range map[string]*gomastodon.Client{"bob": bob, "carol": carol} {
		var seen map[string]int
		testrig.Eventually(t, 2*time.Minute, name+"'s home holds every acknowledged post", func() bool {
			seen = homeCounts(ctx, t, c, func(s *gomastodon.Status) string { return string(s.ID) })
			return holdsAll(seen, acked, func(id, _ string) string { return id })
		})
		checkOnce(t, name+"'s home", seen)
	}
	// On the other department exactly once, matched by URI.
	var remoteSeen map[string]int
	testrig.Eventually(t, 3*time.Minute, "dan's home holds every acknowledged post", func() bool {
		remoteSeen = homeCounts(ctx, t, dan, func(s *gomastodon.Status) string { return s.URI })
		return holdsAll(remoteSeen, acked, func(_, uri string) string { return uri })
	})
	checkOnce(t, "dan's home", remoteSeen)

	// Streams on the surviving processes saw every acknowledged post, written through any
	// process; those on the killed process ended.
	for _, s := range streams {
		if s.process == "p0" {
			testrig.Eventually(t, time.Minute, s.kind+" stream on the killed process ends", s.ended)
			continue
		}
		testrig.Eventually(t, time.Minute, s.kind+" stream on "+s.process+" got every post", func() bool {
			return holdsAll(s.updates(), acked, func(id, _ string) string { return id })
		})
		checkOnce(t, s.kind+" stream on "+s.process, s.updates())
	}

	// Every queued job done once: the queues drain and nothing is dead.
	local, other := store.New(rdb, first.prefix, first.domain), store.New(rdb, remote.prefix, remote.domain)
	testrig.Eventually(t, 2*time.Minute, "queues drained on both departments", func() bool {
		for _, q := range []*store.Queue{local.Queue(federation.DeliveryQueue), local.Queue(federation.InboxQueue), other.Queue(federation.InboxQueue), other.Queue(federation.DeliveryQueue)} {
			if s, err := q.Stats(ctx); err != nil || s != (store.QueueStats{}) {
				return false
			}
		}
		return true
	})
}

// startHAProxy runs HAProxy in the foreground in front of procs: round robin, a health check
// on the instance endpoint, timeouts long enough for streaming, and connection failures
// retried on another process (a request never sent cannot have been written).
func startHAProxy(t *testing.T, haproxy, addr string, procs []*deptProcess) {
	t.Helper()
	var servers strings.Builder
	for i, p := range procs {
		fmt.Fprintf(&servers, "  server p%d %s check inter 300ms fall 2 rise 1\n", i, strings.TrimPrefix(p.url, "http://"))
	}
	cfg := fmt.Sprintf(`global
  maxconn 2000
defaults
  mode http
  timeout connect 2s
  timeout client 1h
  timeout server 1h
  timeout tunnel 1h
  timeout http-keep-alive 10s
  retries 3
  option redispatch 1
  retry-on conn-failure
frontend department
  bind %s
  option forwardfor
  default_backend processes
backend processes
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  http-response set-header %s %%s
%s`, addr, processHeader, servers.String())
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	log := &testrig.LogBuffer{}
	cmd := exec.Command(haproxy, "-db", "-f", path)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("haproxy log:\n%s", tail(log.String(), 4000))
		}
	})
}

// testStream is one streaming connection of the user stream through the proxy, collecting the
// ids of the statuses its update events carry.
type testStream struct {
	kind, process string

	mu   sync.Mutex
	ids  map[string]int
	done bool
}

func (s *testStream) add(id string) { s.mu.Lock(); s.ids[id]++; s.mu.Unlock() }
func (s *testStream) end()          { s.mu.Lock(); s.done = true; s.mu.Unlock() }
func (s *testStream) ended() bool   { s.mu.Lock(); defer s.mu.Unlock(); return s.done }
func (s *testStream) updates() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.ids))
	for k, v := range s.ids {
		out[k] = v
	}
	return out
}

// openTestStream connects bob's user stream over WebSocket or as server-sent events; process
// is the proxy's header naming the process that holds it, empty without a proxy.
func openTestStream(t *testing.T, base, token string, ws bool) *testStream {
	t.Helper()
	s := &testStream{ids: map[string]int{}}
	if ws {
		s.kind = "websocket"
		d := websocket.Dialer{HandshakeTimeout: 30 * time.Second}
		conn, resp, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/api/v1/streaming?stream=user", http.Header{"Authorization": {"Bearer " + token}})
		if err != nil {
			t.Fatalf("websocket through the proxy: %v", err)
		}
		t.Cleanup(func() { conn.Close() })
		s.process = resp.Header.Get(processHeader)
		go func() {
			defer s.end()
			for {
				var m struct {
					Event   string  `json:"event"`
					Payload *string `json:"payload"`
				}
				if err := conn.ReadJSON(&m); err != nil {
					return
				}
				if m.Event == "update" && m.Payload != nil {
					s.addPayload(*m.Payload)
				}
			}
		}()
	} else {
		s.kind = "sse"
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/streaming/user", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("event stream through the proxy: %v %v", resp, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		s.process = resp.Header.Get(processHeader)
		go func() {
			defer s.end()
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			event := ""
			for sc.Scan() {
				line := sc.Text()
				switch {
				case strings.HasPrefix(line, "event: "):
					event = line[len("event: "):]
				case strings.HasPrefix(line, "data: ") && event == "update":
					s.addPayload(line[len("data: "):])
				case line == "":
					event = ""
				}
			}
		}()
	}
	return s
}

func (s *testStream) addPayload(payload string) {
	var st struct {
		ID string `json:"id"`
	}
	if json.Unmarshal([]byte(payload), &st) == nil {
		s.add(st.ID)
	}
}

// holdsBoth reports whether every process in held holds both kinds of stream.
func holdsBoth(held map[string]map[string]bool) bool {
	for _, kinds := range held {
		if !kinds["websocket"] || !kinds["sse"] {
			return false
		}
	}
	return true
}

// homeCounts pages through a home timeline and counts each status by key.
func homeCounts(ctx context.Context, t *testing.T, c *gomastodon.Client, key func(*gomastodon.Status) string) map[string]int {
	t.Helper()
	seen := map[string]int{}
	pg := gomastodon.Pagination{Limit: 40}
	for range 100 {
		page, err := c.GetTimelineHome(ctx, &pg)
		if err != nil {
			return nil
		}
		for _, s := range page {
			seen[key(s)]++
		}
		if len(page) == 0 || pg.MaxID == "" {
			break
		}
		pg = gomastodon.Pagination{MaxID: pg.MaxID, Limit: 40}
	}
	return seen
}

// holdsAll reports whether seen counts every acknowledged post, keyed by key(id, uri).
func holdsAll(seen map[string]int, acked map[string]string, key func(id, uri string) string) bool {
	for id, uri := range acked {
		if seen[key(id, uri)] == 0 {
			return false
		}
	}
	return true
}

// checkOnce fails for every status counted more than once.
func checkOnce(t *testing.T, where string, seen map[string]int) {
	t.Helper()
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s holds %s %d times, want once", where, k, n)
		}
	}
}
