package federation

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// connCounter is a TCP listener standing for a service beside the departments (the instance's
// Redis, say) that records the peer address of every connection that reaches it.
type connCounter struct {
	ln   net.Listener
	mu   sync.Mutex
	from []string
}

func newConnCounter(t testing.TB) *connCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &connCounter{ln: ln}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.mu.Lock()
			c.from = append(c.from, conn.RemoteAddr().String())
			c.mu.Unlock()
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return c
}

func (c *connCounter) port() int { return c.ln.Addr().(*net.TCPAddr).Port }

// assertUntouched checks that no connection reached c before now: it connects once itself and
// waits for that connection to be accepted. The kernel hands connections to Accept in arrival
// order, so any earlier connection shows up before the probe.
func (c *connCounter) assertUntouched(t testing.TB) {
	t.Helper()
	conn, err := net.Dial("tcp", c.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	probe := conn.LocalAddr().String()
	conn.Close()
	for end := time.Now().Add(5 * time.Second); ; {
		c.mu.Lock()
		from := slices.Clone(c.from)
		c.mu.Unlock()
		if i := slices.Index(from, probe); i >= 0 {
			if i != 0 {
				t.Fatalf("%d connections reached port %d before the probe, want none", i, c.port())
			}
			return
		}
		if time.Now().After(end) {
			t.Fatal("the probe connection was never accepted")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFetchStaysWhereSent: a peer host (127.0.0.9, inside the peer networks) that redirects a
// fetch to another port or host of the private ranges is refused before anything connects
// there, while a redirect on the same host still works; the instance's Redis address is never
// dialled, peer networks or not.
func TestFetchStaysWhereSent(t *testing.T) {
	other := newConnCounter(t)
	ln, err := net.Listen("tcp", "127.0.0.9:0")
	if err != nil {
		t.Skipf("no 127.0.0.9 to listen on: %v", err)
	}
	peer := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/users/moved":
			http.Redirect(w, r, "/users/here", http.StatusFound)
		case "/users/here":
			apDocument("application/activity+json", requestSelfID)(w, r)
		case "/users/to-port":
			http.Redirect(w, r, fmt.Sprintf("http://127.0.0.1:%d/", other.port()), http.StatusFound)
		case "/users/to-localhost":
			http.Redirect(w, r, fmt.Sprintf("http://localhost:%d/", other.port()), http.StatusFound)
		case "/users/to-other-peer":
			http.Redirect(w, r, fmt.Sprintf("http://127.0.0.2:%d/", other.port()), http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	peer.Listener.Close()
	peer.Listener = ln
	peer.Start()
	t.Cleanup(peer.Close)

	redis := fmt.Sprintf("127.0.0.1:%d", other.port())
	f := NewFetcher(FetchOptions{PeerNetworks: loopbackNets(t), Forbidden: []string{redis}})
	ctx := context.Background()
	if doc, _, err := f.GetActivity(ctx, peer.URL+"/users/moved"); err != nil || doc["id"] != peer.URL+"/users/here" {
		t.Fatalf("GetActivity(redirect on the same host) = %v, %v; want the document", doc, err)
	}
	for _, c := range []struct {
		url string
		// direct: the URL itself is forbidden, so a POST is refused too (POSTs never follow
		// redirects, so the others only get the peer's 302).
		direct bool
	}{
		{peer.URL + "/users/to-port", false},
		{peer.URL + "/users/to-localhost", false},
		{peer.URL + "/users/to-other-peer", false},
		{"http://" + redis + "/", true},
		{fmt.Sprintf("http://127.0.0.2:%d/", other.port()), true}, // another loopback address, which a Redis bound to every address would answer
		{fmt.Sprintf("http://localhost:%d/", other.port()), true},
	} {
		if _, _, err := f.GetActivity(ctx, c.url); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("GetActivity(%s) = %v, want ErrForbiddenAddress", c.url, err)
		}
		if _, err := f.GetJSON(ctx, c.url, ""); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("GetJSON(%s) = %v, want ErrForbiddenAddress", c.url, err)
		}
		status, _, err := f.Post(ctx, c.url, []byte("{}"), nil)
		if c.direct && !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("Post(%s) = %d, %v; want ErrForbiddenAddress", c.url, status, err)
		}
	}
	other.assertUntouched(t)
}

func TestRedisAddr(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"redis://127.0.0.1:6379/0", "127.0.0.1:6379"},
		{"redis://:secret@redis.internal/2", "redis.internal:6379"},
		{"rediss://user:pw@[::1]:6380", "[::1]:6380"},
		{"", ""},
		{"unix:///run/redis.sock", ""},
	} {
		if got := redisAddr(c.in); got != c.want {
			t.Errorf("redisAddr(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
