package federation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// loopback is the PeerNetworks that lets tests reach their httptest servers.
func loopbackNets(t testing.TB) []*net.IPNet {
	t.Helper()
	_, n, err := net.ParseCIDR("127.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	return []*net.IPNet{n}
}

// apServer serves ActivityPub-ish documents on 127.0.0.1 from a handler per path and counts
// the requests that reach it.
type apServer struct {
	*httptest.Server
	hits atomic.Int32
}

func newAPServer(t testing.TB, routes map[string]http.HandlerFunc) *apServer {
	t.Helper()
	s := &apServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h, ok := routes[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// document answers with an ActivityStreams object whose id is idFor(request URL).
func apDocument(contentType string, idFor func(r *http.Request) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		fmt.Fprintf(w, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Note"}`, idFor(r))
	}
}

func requestSelfID(r *http.Request) string { return "http://" + r.Host + r.URL.Path }

func redirectTo(to string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, http.StatusFound) }
}

func TestFetchAddressGuard(t *testing.T) {
	srv := newAPServer(t, map[string]http.HandlerFunc{
		"/note":       apDocument("application/activity+json", requestSelfID),
		"/to-meta":    redirectTo("http://169.254.169.254/latest/meta-data/"),
		"/to-unspec":  redirectTo("http://0.0.0.0/note"),
		"/to-gopher":  redirectTo("gopher://example.com/"),
		"/to-private": redirectTo("http://10.255.255.1/"),
	})
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	closed := NewFetcher(FetchOptions{})
	open := NewFetcher(FetchOptions{PeerNetworks: loopbackNets(t)})
	ctx := context.Background()

	refused := []struct {
		name string
		f    *Fetcher
		url  string
	}{
		{"loopback", closed, srv.URL + "/note"},
		{"localhost name", closed, fmt.Sprintf("http://localhost:%d/note", port)},
		{"IPv4-mapped loopback", closed, fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/note", port)},
		{"unspecified", closed, fmt.Sprintf("http://0.0.0.0:%d/note", port)},
	}
	for _, tc := range refused {
		before := srv.hits.Load()
		if _, _, err := tc.f.GetActivity(ctx, tc.url); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("GetActivity(%s) = %v, want ErrForbiddenAddress", tc.name, err)
		}
		if _, err := tc.f.GetJSON(ctx, tc.url, ""); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("GetJSON(%s) = %v, want ErrForbiddenAddress", tc.name, err)
		}
		if _, _, err := tc.f.Post(ctx, tc.url, []byte("{}"), nil); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("Post(%s) = %v, want ErrForbiddenAddress", tc.name, err)
		}
		if hits := srv.hits.Load(); hits != before {
			t.Errorf("%s: %d requests reached the server, want 0", tc.name, hits-before)
		}
	}

	if t.Failed() {
		t.FailNow() // the dial-time guard is not working: don't try the off-machine redirects below
	}
	if doc, _, err := open.GetActivity(ctx, srv.URL+"/note"); err != nil || doc["type"] != "Note" {
		t.Errorf("GetActivity(loopback with PeerNetworks 127.0.0.0/8) = %v, %v, want the Note", doc, err)
	}

	// Redirects are dialled through the same guard: the peer network lets us reach the first
	// server, never the metadata service or an unlisted private network behind it. Allowed is
	// checked first so that a broken guard fails here instead of sending packets off the machine.
	for _, ip := range []string{"169.254.169.254", "10.255.255.1", "0.0.0.0"} {
		if open.Allowed(net.ParseIP(ip)) {
			t.Fatalf("Allowed(%s) = true with PeerNetworks 127.0.0.0/8, want false", ip)
		}
	}
	for _, path := range []string{"/to-meta", "/to-private", "/to-unspec"} {
		if _, _, err := open.GetActivity(ctx, srv.URL+path); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("GetActivity(redirect %s) = %v, want ErrForbiddenAddress", path, err)
		}
	}
	if _, _, err := open.GetActivity(ctx, srv.URL+"/to-gopher"); err == nil {
		t.Errorf("GetActivity(redirect to gopher:) succeeded, want an error")
	}
	if _, _, err := closed.GetActivity(ctx, "file:///etc/passwd"); err == nil {
		t.Errorf("GetActivity(file:) succeeded, want an error")
	}
}

func TestFetchRedirects(t *testing.T) {
	srv := newAPServer(t, map[string]http.HandlerFunc{
		"/loop":  redirectTo("/loop"),
		"/old":   redirectTo("/new"),
		"/new":   apDocument("application/activity+json", requestSelfID),
		"/liar":  redirectTo("/new-claims-old"),
		"/chain": redirectTo("/chain1"), "/chain1": redirectTo("/chain2"), "/chain2": redirectTo("/chain3"),
		"/chain3": redirectTo("/new"),
		"/new-claims-old": apDocument("application/activity+json", func(r *http.Request) string {
			return "http://" + r.Host + "/liar"
		}),
	})
	f := NewFetcher(FetchOptions{PeerNetworks: loopbackNets(t)})
	ctx := context.Background()

	before := srv.hits.Load()
	if _, _, err := f.GetActivity(ctx, srv.URL+"/loop"); !errors.Is(err, ErrTooManyRedirects) {
		t.Errorf("GetActivity(redirect loop) = %v, want ErrTooManyRedirects", err)
	}
	if hits := srv.hits.Load() - before; hits != 4 {
		t.Errorf("redirect loop made %d requests, want 4 (the first and 3 redirects)", hits)
	}
	if doc, _, err := f.GetActivity(ctx, srv.URL+"/old"); err != nil || doc["id"] != srv.URL+"/new" {
		t.Errorf("GetActivity(/old → /new) = %v, %v, want the document at /new", doc, err)
	}
	if _, _, err := f.GetActivity(ctx, srv.URL+"/chain"); !errors.Is(err, ErrTooManyRedirects) {
		t.Errorf("GetActivity(4 redirects) = %v, want ErrTooManyRedirects", err)
	}
	// The id must be the URL finally fetched, not the one we asked for.
	if _, _, err := f.GetActivity(ctx, srv.URL+"/liar"); !errors.Is(err, ErrIDMismatch) {
		t.Errorf("GetActivity(redirected, id of the first URL) = %v, want ErrIDMismatch", err)
	}
}

func TestFetchDocumentChecks(t *testing.T) {
	padded := func(size int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			head := fmt.Sprintf(`{"id":%q,"type":"Note","pad":"`, requestSelfID(r))
			pad := size - len(head) - len(`"}`)
			w.Header().Set("Content-Type", "application/activity+json")
			if r.URL.Query().Has("chunked") {
				w.(http.Flusher).Flush() // no Content-Length: the cap must hold while reading
			}
			_, _ = io.WriteString(w, head+strings.Repeat("x", pad)+`"}`)
		}
	}
	srv := newAPServer(t, map[string]http.HandlerFunc{
		"/ok":         apDocument("application/activity+json", requestSelfID),
		"/ld":         apDocument(`application/ld+json; profile="https://www.w3.org/ns/activitystreams"`, requestSelfID),
		"/charset":    apDocument("application/activity+json; charset=utf-8", requestSelfID),
		"/html":       apDocument("text/html; charset=utf-8", requestSelfID),
		"/plain-json": apDocument("application/json", requestSelfID),
		"/other-host": apDocument("application/activity+json", func(r *http.Request) string { return "https://elsewhere.example/note" }),
		"/no-id":      apDocument("application/activity+json", func(r *http.Request) string { return "" }),
		"/fragment":   apDocument("application/activity+json", func(r *http.Request) string { return requestSelfID(r) + "#main-key" }),
		"/exact":      padded(1 << 20),
		"/over":       padded(1<<20 + 1),
		"/array": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/activity+json")
			_, _ = io.WriteString(w, `[1,2]`)
		},
		"/gone": func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusGone) },
	})
	f := NewFetcher(FetchOptions{PeerNetworks: loopbackNets(t)})
	ctx := context.Background()
	tests := []struct {
		path string
		want error // nil: success
	}{
		{"/ok", nil},
		{"/ld", nil},
		{"/charset", nil},
		{"/fragment", nil},
		{"/exact", nil},
		{"/exact?chunked=1", nil},
		{"/html", ErrNotActivityPub},
		{"/plain-json", ErrNotActivityPub},
		{"/array", ErrNotActivityPub},
		{"/other-host", ErrIDMismatch},
		{"/no-id", ErrIDMismatch},
		{"/over", ErrTooLarge},
		{"/over?chunked=1", ErrTooLarge},
	}
	for _, tc := range tests {
		doc, raw, err := f.GetActivity(ctx, srv.URL+tc.path)
		switch {
		case tc.want == nil && (err != nil || doc == nil || len(raw) == 0):
			t.Errorf("GetActivity(%s) = %v, want a document", tc.path, err)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("GetActivity(%s) = %v, want %v", tc.path, err, tc.want)
		}
	}
	var se *StatusError
	if _, _, err := f.GetActivity(ctx, srv.URL+"/gone"); !errors.As(err, &se) || se.Code != http.StatusGone {
		t.Errorf("GetActivity(/gone) = %v, want StatusError 410", err)
	}
}

func TestFetchTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := newAPServer(t, map[string]http.HandlerFunc{
		"/hang": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		},
		"/hang-body": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/activity+json")
			_, _ = io.WriteString(w, `{"id":`)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-release:
			}
		},
	})
	t.Cleanup(func() { close(release) }) // runs before srv.Close, so hung handlers return
	const timeout = 300 * time.Millisecond
	f := NewFetcher(FetchOptions{PeerNetworks: loopbackNets(t), Timeout: timeout, ConnectTimeout: timeout})
	for _, path := range []string{"/hang", "/hang-body"} {
		start := time.Now()
		_, _, err := f.GetActivity(context.Background(), srv.URL+path)
		elapsed := time.Since(start)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("GetActivity(%s) = %v, want a timeout", path, err)
		}
		// The handlers hang until the test ends, so any return is the timeout's doing; the bound
		// only catches a timeout far longer than configured, whatever the machine's load.
		if elapsed > timeout+30*time.Second {
			t.Errorf("GetActivity(%s) took %v, want about %v", path, elapsed, timeout)
		}
	}
}

func TestFetchSignedGet(t *testing.T) {
	instance := sigTestKey(t, "bob.pem")
	const instanceActor = "https://local.example/actor"
	keys := &sigResolver{owner: instanceActor, cached: &instance.PublicKey}
	var mu sync.Mutex
	var verified []string
	check := func(next http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			owner, err := VerifyRequest(r.Context(), r, nil, keys, time.Now())
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			mu.Lock()
			verified = append(verified, r.URL.RequestURI()+" by "+owner)
			mu.Unlock()
			next(w, r)
		}
	}
	srv := newAPServer(t, map[string]http.HandlerFunc{
		"/old": check(redirectTo("/new?page=2")),
		"/new": check(func(w http.ResponseWriter, r *http.Request) {
			if got := r.Header.Get("Accept"); got != acceptActivity {
				t.Errorf("Accept = %q, want %q", got, acceptActivity)
			}
			if got := r.Header.Get("User-Agent"); got != "Watercooler/test" {
				t.Errorf("User-Agent = %q, want Watercooler/test", got)
			}
			apDocument("application/activity+json", requestSelfID)(w, r)
		}),
	})
	f := NewFetcher(FetchOptions{
		PeerNetworks: loopbackNets(t),
		UserAgent:    "Watercooler/test",
		SignGet: func(r *http.Request) error {
			return SignRequest(r, nil, instanceActor+"#main-key", instance)
		},
	})
	if _, _, err := f.GetActivity(context.Background(), srv.URL+"/old"); err != nil {
		t.Fatalf("GetActivity(signed, redirected) = %v", err)
	}
	want := []string{"/old by " + instanceActor, "/new?page=2 by " + instanceActor}
	if fmt.Sprint(verified) != fmt.Sprint(want) {
		t.Errorf("verified requests = %q, want %q", verified, want)
	}
}

// TestFetchSignedGetQueryFallback talks to a server that, like Mastodon before 4.3, verifies
// (request-target) without the query: the first, query-signed attempt is refused and the fetcher
// signs once more without it.
func TestFetchSignedGetQueryFallback(t *testing.T) {
	instance := sigTestKey(t, "bob.pem")
	const instanceActor = "https://local.example/actor"
	keys := &sigResolver{owner: instanceActor, cached: &instance.PublicKey}
	var attempts atomic.Int32
	srv := newAPServer(t, map[string]http.HandlerFunc{
		"/outbox": func(w http.ResponseWriter, r *http.Request) {
			attempts.Add(1)
			pathOnly := r.Clone(r.Context())
			pathOnly.URL.RawQuery, pathOnly.RequestURI = "", r.URL.Path
			if _, err := VerifyRequest(r.Context(), pathOnly, nil, keys, time.Now()); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			apDocument("application/activity+json", requestSelfID)(w, r)
		},
	})
	f := NewFetcher(FetchOptions{PeerNetworks: loopbackNets(t), SignGet: func(r *http.Request) error {
		return SignRequest(r, nil, instanceActor+"#main-key", instance)
	}})
	if _, _, err := f.GetActivity(context.Background(), srv.URL+"/outbox?page=true"); err != nil {
		t.Fatalf("GetActivity(old Mastodon, query) = %v", err)
	}
	if n := attempts.Load(); n != 2 {
		t.Errorf("attempts = %d, want 2", n)
	}
}

func TestFetchPost(t *testing.T) {
	alice := sigTestKey(t, "alice.pem")
	keys := &sigResolver{owner: aliceActor, cached: &alice.PublicKey}
	retryAt := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	accept := func(status int, retryAfter string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if _, err := VerifyRequest(r.Context(), r, body, keys, time.Now()); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/activity+json" {
				http.Error(w, "content type "+ct, http.StatusUnsupportedMediaType)
				return
			}
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(status)
		}
	}
	srv := newAPServer(t, map[string]http.HandlerFunc{
		"/inbox":       accept(http.StatusAccepted, ""),
		"/busy":        accept(http.StatusTooManyRequests, "120"),
		"/down":        accept(http.StatusServiceUnavailable, retryAt),
		"/moved-inbox": redirectTo("/inbox"),
	})
	f := NewFetcher(FetchOptions{PeerNetworks: loopbackNets(t)})
	body := []byte(`{"type":"Create"}`)
	var signs atomic.Int32
	sign := func(r *http.Request, b []byte) error {
		signs.Add(1)
		return SignRequest(r, b, aliceKeyID, alice)
	}
	tests := []struct {
		path       string
		status     int
		retryAfter time.Duration // lower bound
	}{
		{"/inbox", 202, 0},
		{"/busy", 429, 120 * time.Second},
		{"/down", 503, 80 * time.Second},
		{"/moved-inbox", 302, 0}, // deliveries never follow redirects
	}
	for _, tc := range tests {
		status, retry, err := f.Post(context.Background(), srv.URL+tc.path, body, sign)
		if err != nil || status != tc.status {
			t.Errorf("Post(%s) = %d, %v, want %d", tc.path, status, err, tc.status)
		}
		if retry < tc.retryAfter || (tc.retryAfter == 0 && retry != 0) || retry > tc.retryAfter+time.Minute {
			t.Errorf("Post(%s) retryAfter = %v, want about %v", tc.path, retry, tc.retryAfter)
		}
	}
	if n := signs.Load(); n != int32(len(tests)) {
		t.Errorf("sign called %d times, want %d", n, len(tests))
	}
	wantErr := errors.New("no key")
	if _, _, err := f.Post(context.Background(), srv.URL+"/inbox", body, func(*http.Request, []byte) error { return wantErr }); !errors.Is(err, wantErr) {
		t.Errorf("Post with failing signer = %v, want %v", err, wantErr)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"30", 30 * time.Second},
		{" 5 ", 5 * time.Second},
		{"-3", 0},
		{"soon", 0},
		{now.Add(2 * time.Minute).Format(http.TimeFormat), 2 * time.Minute},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"99999999999999", 365 * 24 * time.Hour},
	}
	for _, tc := range tests {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestFetchGetJSON(t *testing.T) {
	srv := newAPServer(t, map[string]http.HandlerFunc{
		"/.well-known/webfinger": func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Signature") != "" {
				t.Errorf("WebFinger request was signed")
			}
			w.Header().Set("Content-Type", "application/jrd+json")
			fmt.Fprintf(w, `{"subject":"acct:alice@x","accept":%q}`, r.Header.Get("Accept"))
		},
		"/big": func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write(bytes.Repeat([]byte(" "), 2048))
		},
	})
	f := NewFetcher(FetchOptions{PeerNetworks: loopbackNets(t), MaxBody: 1024, SignGet: func(r *http.Request) error {
		r.Header.Set("Signature", "should not be sent")
		return nil
	}})
	ctx := context.Background()
	b, err := f.GetJSON(ctx, srv.URL+"/.well-known/webfinger?resource=acct:alice@x", "")
	if err != nil || !bytes.Contains(b, []byte(`"accept":"application/jrd+json, application/json"`)) {
		t.Errorf("GetJSON(webfinger) = %s, %v, want the JRD with the default Accept", b, err)
	}
	if _, err := f.GetJSON(ctx, srv.URL+"/big", "application/json"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("GetJSON(2 KiB, MaxBody 1 KiB) = %v, want ErrTooLarge", err)
	}
	var se *StatusError
	if _, err := f.GetJSON(ctx, srv.URL+"/missing", ""); !errors.As(err, &se) || se.Code != 404 {
		t.Errorf("GetJSON(/missing) = %v, want StatusError 404", err)
	}
}
