package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Errors of remote fetches, to be checked with errors.Is.
var (
	// ErrTooLarge: the response body exceeded FetchOptions.MaxBody.
	ErrTooLarge = errors.New("response body too large")
	// ErrNotActivityPub: the response's Content-Type is not an ActivityStreams type.
	ErrNotActivityPub = errors.New("response is not an ActivityPub document")
	// ErrIDMismatch: the document's id is not the URL it was fetched from, so its origin can't
	// vouch for it.
	ErrIDMismatch = errors.New("document id does not match the fetched URL")
	// ErrTooManyRedirects: more redirects than FetchOptions.MaxRedirects.
	ErrTooManyRedirects = errors.New("too many redirects")
)

// StatusError is returned when a peer answers a fetch with a non-2xx status; a 404 or 410 tells
// the caller the object is gone.
type StatusError struct {
	URL  string
	Code int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: status %d", e.URL, e.Code)
}

// Accept header values: what Mastodon sends, so peers that negotiate content answer with JSON.
const (
	acceptActivity = `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
	acceptJRD      = "application/jrd+json, application/json"
)

// FetchOptions configures a Fetcher; zero values take the documented defaults.
type FetchOptions struct {
	// PeerNetworks are private networks that may be reached (config.PeerNetworks); loopback,
	// private, unspecified and unique-local addresses are refused otherwise, link-local always.
	PeerNetworks []*net.IPNet
	// MaxBody caps response bodies; default 1 MiB.
	MaxBody int64
	// ConnectTimeout bounds one TCP connect; default 5s.
	ConnectTimeout time.Duration
	// Timeout bounds a whole request including reading the body; default 30s.
	Timeout time.Duration
	// MaxRedirects caps redirects followed by GETs; default 3, negative for none.
	MaxRedirects int
	// UserAgent is sent with every request, e.g. "Watercooler/0.1 (+https://eng.example/)".
	UserAgent string
	// Forbidden are host:port addresses never dialled, whatever PeerNetworks say: the instance's
	// own Redis among them. A loopback or wildcard host stands for every address of this machine.
	Forbidden []string
	// SignGet signs outgoing GETs of ActivityPub documents (with the instance actor's key), again
	// after each redirect; nil sends them unsigned.
	SignGet func(r *http.Request) error
}

func (o *FetchOptions) fillDefaults() {
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	switch {
	case o.MaxRedirects == 0:
		o.MaxRedirects = 3
	case o.MaxRedirects < 0:
		o.MaxRedirects = 0
	}
	if o.UserAgent == "" {
		o.UserAgent = "Watercooler"
	}
}

// Fetcher makes requests to other servers: every connection is checked at dial time against
// Allowed, redirects are capped and re-signed, bodies are capped. It is safe for concurrent use.
type Fetcher struct {
	opts      FetchOptions
	peers     []netip.Prefix
	forbidden forbiddenAddrs
	// client follows redirects (GETs); poster never does, since a delivery that is redirected
	// must not be replayed somewhere its signature did not name.
	client, poster *http.Client
}

// NewFetcher builds a Fetcher. Environment proxies are ignored on purpose: a proxy would dial
// on our behalf and bypass the address check.
func NewFetcher(o FetchOptions) *Fetcher {
	o.fillDefaults()
	f := &Fetcher{opts: o, peers: peerPrefixes(o.PeerNetworks), forbidden: newForbiddenAddrs(o.Forbidden)}
	dialer := &net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second, ControlContext: f.dialControl}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   o.ConnectTimeout,
		ResponseHeaderTimeout: o.Timeout,
		ExpectContinueTimeout: time.Second,
	}
	f.client = &http.Client{Transport: transport, Timeout: o.Timeout, CheckRedirect: f.checkRedirect}
	f.poster = &http.Client{Transport: transport, Timeout: o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return f
}

// MaxBody is the cap on response bodies in bytes.
func (f *Fetcher) MaxBody() int64 { return f.opts.MaxBody }

func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > f.opts.MaxRedirects {
		return fmt.Errorf("after %d redirects: %w", len(via)-1, ErrTooManyRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirect to %s: %w", req.URL.Scheme, ErrForbiddenAddress)
	}
	if canonicalHost(req.URL) != canonicalHost(via[0].URL) {
		// Peer networks let us reach departments, not every service beside them: a redirect
		// may take a fetch to another host only on the public internet. The dial is held to
		// the same rule, in case the name resolves differently by then.
		if g, ok := req.Context().Value(redirectGuardKey{}).(*redirectGuard); ok {
			g.crossed.Store(true)
		}
		if err := f.publicHost(req.Context(), req.URL.Hostname()); err != nil {
			return fmt.Errorf("redirect from %s to %s: %w", via[0].URL.Host, req.URL.Host, err)
		}
	}
	// net/http copies the headers of the first request, Signature included, which names the old
	// target; sign again for the new one, or leave the request unsigned.
	req.Header.Del("Signature")
	req.Header.Del("Host")
	if via[0].Header.Get("Signature") != "" && f.opts.SignGet != nil {
		if err := f.opts.SignGet(req); err != nil {
			return fmt.Errorf("sign redirect to %s: %w", req.URL, err)
		}
	}
	return nil
}

// GetActivity fetches an ActivityPub document with a signed GET. The response must be an
// ActivityStreams JSON object of at most MaxBody bytes whose "id" is the URL finally fetched
// (scheme, host and path; fragment and query ignored). It returns the decoded object and its bytes.
func (f *Fetcher) GetActivity(ctx context.Context, rawURL string) (map[string]any, []byte, error) {
	doc, body, _, err := f.getActivity(ctx, rawURL, true)
	return doc, body, err
}

// getActivity fetches like GetActivity and also returns the URL finally fetched; checkID=false
// leaves the id check to the caller, for key documents that GoToSocial serves as an actor stub
// under the key's own URL.
func (f *Fetcher) getActivity(ctx context.Context, rawURL string, checkID bool) (map[string]any, []byte, *url.URL, error) {
	body, final, err := f.get(ctx, rawURL, acceptActivity, true, true)
	if err != nil {
		return nil, nil, nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil || doc == nil {
		return nil, nil, nil, fmt.Errorf("GET %s: not a JSON object: %w", rawURL, ErrNotActivityPub)
	}
	if checkID {
		id, _ := doc["id"].(string)
		if !SameDocument(id, final) {
			return nil, nil, nil, fmt.Errorf("GET %s: id %q: %w", final, id, ErrIDMismatch)
		}
	}
	return doc, body, final, nil
}

// GetJSON fetches plain JSON such as WebFinger or NodeInfo: the same address guard and caps as
// GetActivity, unsigned, with no content-type or id check. accept defaults to JRD then JSON.
func (f *Fetcher) GetJSON(ctx context.Context, rawURL string, accept string) ([]byte, error) {
	if accept == "" {
		accept = acceptJRD
	}
	body, _, err := f.get(ctx, rawURL, accept, false, false)
	return body, err
}

// newGET builds a GET of a remote URL whose redirects are guarded as the first request is.
func (f *Fetcher) newGET(ctx context.Context, rawURL, accept string) (*http.Request, *url.URL, error) {
	u, err := parseRemoteURL(rawURL)
	if err != nil {
		return nil, nil, err
	}
	ctx = context.WithValue(ctx, redirectGuardKey{}, &redirectGuard{})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", rawURL, err)
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", f.opts.UserAgent)
	return req, u, nil
}

// get performs a GET and returns the capped body and the URL finally fetched.
func (f *Fetcher) get(ctx context.Context, rawURL, accept string, sign, wantAP bool) ([]byte, *url.URL, error) {
	req, u, err := f.newGET(ctx, rawURL, accept)
	if err != nil {
		return nil, nil, err
	}
	ctx = req.Context()
	sign = sign && f.opts.SignGet != nil
	if sign {
		if err := f.opts.SignGet(req); err != nil {
			return nil, nil, fmt.Errorf("sign GET %s: %w", rawURL, err)
		}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", rawURL, err)
	}
	if resp.StatusCode == http.StatusUnauthorized && sign && u.RawQuery != "" && resp.Request.URL.String() == u.String() {
		// Mastodon before 4.3 verifies (request-target) without the query: sign once more that way.
		drain(resp.Body)
		resp.Body.Close()
		retry := req.Clone(ctx)
		view := *retry
		pathOnly := *retry.URL
		pathOnly.RawQuery = ""
		view.URL = &pathOnly
		if err := f.opts.SignGet(&view); err != nil { // view shares retry's headers
			return nil, nil, fmt.Errorf("sign GET %s: %w", rawURL, err)
		}
		if resp, err = f.client.Do(retry); err != nil {
			return nil, nil, fmt.Errorf("GET %s: %w", rawURL, err)
		}
	}
	defer resp.Body.Close()
	final := resp.Request.URL
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		drain(resp.Body)
		return nil, final, &StatusError{URL: final.String(), Code: resp.StatusCode}
	}
	if wantAP && !isActivityPubType(resp.Header.Get("Content-Type")) {
		return nil, final, fmt.Errorf("GET %s: content type %q: %w", final, resp.Header.Get("Content-Type"), ErrNotActivityPub)
	}
	body, err := f.readCapped(resp)
	if err != nil {
		return nil, final, fmt.Errorf("GET %s: %w", final, err)
	}
	return body, final, nil
}

// readCapped reads the body, refusing it as soon as it passes MaxBody.
func (f *Fetcher) readCapped(resp *http.Response) ([]byte, error) {
	if resp.ContentLength > f.opts.MaxBody {
		return nil, fmt.Errorf("%d bytes: %w", resp.ContentLength, ErrTooLarge)
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, f.opts.MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if n > f.opts.MaxBody {
		return nil, fmt.Errorf("more than %d bytes: %w", f.opts.MaxBody, ErrTooLarge)
	}
	return buf.Bytes(), nil
}

// Post delivers a signed activity. sign is called once per call, on the request about to be sent
// (the caller passes a closure over SignRequest with the actor's key); redirects are not followed.
// It returns the status code and the Retry-After the peer asked for (0 if none); only network
// failures are errors.
func (f *Fetcher) Post(ctx context.Context, rawURL string, body []byte, sign func(r *http.Request, body []byte) error) (status int, retryAfter time.Duration, err error) {
	u, err := parseRemoteURL(rawURL)
	if err != nil {
		return 0, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, 0, fmt.Errorf("POST %s: %w", rawURL, err)
	}
	req.Header.Set("Content-Type", "application/activity+json")
	req.Header.Set("User-Agent", f.opts.UserAgent)
	if sign != nil {
		if err := sign(req, body); err != nil {
			return 0, 0, fmt.Errorf("sign POST %s: %w", rawURL, err)
		}
	}
	start := time.Now()
	resp, err := f.poster.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("POST %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	drain(resp.Body)
	return resp.StatusCode, parseRetryAfter(resp.Header.Get("Retry-After"), start), nil
}

// parseRetryAfter reads delay-seconds or an HTTP date; a past date or garbage gives 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		const maxSecs = int64(365 * 24 * time.Hour / time.Second)
		return time.Duration(min(secs, maxSecs)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// drain reads a little of an unwanted body so the connection can be reused.
func drain(r io.Reader) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 64<<10))
}

// parseRemoteURL accepts absolute http(s) URLs only; a fragment never leaves the client.
func parseRemoteURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("remote URL %q: %w", rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("remote URL %q: want an absolute http(s) URL", rawURL)
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// isActivityPubType accepts application/activity+json and application/ld+json with any
// parameters: Mastodon sends the profile parameter, others send charset or nothing.
func isActivityPubType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/activity+json" || mt == "application/ld+json"
}

// SameDocument reports whether id names the document at u: same scheme, host (case-insensitive,
// default port implied) and path. Fragment and query are ignored.
func SameDocument(id string, u *url.URL) bool {
	if id == "" || u == nil {
		return false
	}
	v, err := url.Parse(id)
	if err != nil {
		return false
	}
	return strings.EqualFold(v.Scheme, u.Scheme) &&
		canonicalHost(v) == canonicalHost(u) &&
		v.EscapedPath() == u.EscapedPath()
}

// canonicalHost lower-cases the host and drops the scheme's default port.
func canonicalHost(u *url.URL) string {
	host := strings.ToLower(u.Host)
	switch {
	case strings.EqualFold(u.Scheme, "https"):
		host = strings.TrimSuffix(host, ":443")
	case strings.EqualFold(u.Scheme, "http"):
		host = strings.TrimSuffix(host, ":80")
	}
	return host
}

// Do sends a request the caller built (a Web Push message) through the guarded transport:
// every connection passes the address check, and redirects are not followed, since a push
// service that redirects has no business being followed with a signed request.
func (f *Fetcher) Do(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", f.opts.UserAgent)
	}
	return f.poster.Do(req)
}
