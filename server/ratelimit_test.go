package server_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"watercooler/config"
	"watercooler/testrig"
)

// TestAPIRateLimits checks Mastodon's X-RateLimit-* headers counting down per account, and per
// client address when signed out, then 429 with Retry-After; media uploads have a limit of
// their own; a client's X-Forwarded-For is ignored when no proxy is trusted.
func TestAPIRateLimits(t *testing.T) {
	inst := testrig.StartInstance(t, func(c *config.Config) {
		c.APIRate = config.Rate{Limit: 4, Window: time.Minute}
		c.MediaRate = config.Rate{Limit: 1, Window: 30 * time.Minute}
	})
	alice := inst.CreateUser(t, "alice")
	bob := inst.CreateUser(t, "bob")

	// Each subject's requests, in order, with the Remaining each must see.
	type hit struct {
		name, token, forwardedFor string
		remaining                 int // -1: refused
	}
	hits := []hit{
		{"anonymous 1", "", "", 3},
		{"anonymous 2, claiming another address", "", "198.51.100.7", 2},
		{"alice 1", alice.Token, "", 3},
		{"anonymous 3", "", "", 1},
		{"anonymous 4", "", "198.51.100.8", 0},
		{"anonymous refused", "", "", -1},
		{"anonymous refused again, before any work", "", "", -1},
		{"alice 2", alice.Token, "", 2},
		{"bob 1", bob.Token, "", 3},
	}
	for _, h := range hits {
		var header []string
		if h.forwardedFor != "" {
			header = []string{"X-Forwarded-For", h.forwardedFor}
		}
		r := apiDo(t, http.MethodGet, inst.API("/api/v1/instance"), h.token, "", "", header...)
		if got := r.Header.Get("X-RateLimit-Limit"); got != "4" {
			t.Fatalf("%s: X-RateLimit-Limit %q, want 4", h.name, got)
		}
		checkReset(t, h.name, r.Header.Get("X-RateLimit-Reset"), time.Minute)
		if h.remaining < 0 {
			r.expectError(t, http.StatusTooManyRequests, "Too many requests")
			checkRetryAfter(t, h.name, r.Header.Get("Retry-After"), time.Minute)
			continue
		}
		if r.Code != http.StatusOK {
			t.Fatalf("%s: status %d; body %s", h.name, r.Code, r.Body)
		}
		if got := r.Header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(h.remaining) {
			t.Fatalf("%s: X-RateLimit-Remaining %q, want %d", h.name, got, h.remaining)
		}
	}

	// Media: one upload per half hour here, whatever the API allows.
	upload := func() apiResponse {
		ct, body := multipartBody(t, multipartFile{Field: "file", Name: "a.png", ContentType: "image/png", Data: pngBytes(t, 8, 8)})
		return apiDo(t, http.MethodPost, inst.API("/api/v1/media"), bob.Token, ct, body)
	}
	r := upload()
	if r.Code != http.StatusOK || r.Header.Get("X-RateLimit-Limit") != "1" || r.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("first upload: %d, limit %q remaining %q; body %s", r.Code, r.Header.Get("X-RateLimit-Limit"), r.Header.Get("X-RateLimit-Remaining"), r.Body)
	}
	r = upload()
	r.expectError(t, http.StatusTooManyRequests, "Too many requests")
	checkRetryAfter(t, "second upload", r.Header.Get("Retry-After"), 30*time.Minute)
}

// TestAPIRateLimitHoldsAcrossProcesses: each process reserves its slices of a window from Redis
// and counts them itself, yet two processes serving one client alternately let exactly the
// limit through between them, and both refuse the next request.
func TestAPIRateLimitHoldsAcrossProcesses(t *testing.T) {
	const limit = 40 // two requests a slice
	inst := testrig.StartInstance(t, func(c *config.Config) { c.APIRate = config.Rate{Limit: limit, Window: time.Minute} })
	alice := inst.CreateUser(t, "alice")
	servers := []string{inst.URL, serveAlso(t, inst, testrig.Logger(t))}
	allowed := 0
	for i := range limit + 2 {
		r := apiDo(t, http.MethodGet, servers[i%2]+"/api/v1/instance", alice.Token, "", "")
		switch r.Code {
		case http.StatusOK:
			allowed++
		case http.StatusTooManyRequests:
		default:
			t.Fatalf("request %d: status %d", i+1, r.Code)
		}
	}
	if allowed != limit {
		t.Fatalf("%d requests allowed through two processes, want %d", allowed, limit)
	}
}

func checkReset(t *testing.T, name, reset string, window time.Duration) {
	t.Helper()
	at, err := time.Parse(time.RFC3339, reset)
	if err != nil || time.Until(at) < -time.Second || time.Until(at) > window+time.Second {
		t.Fatalf("%s: X-RateLimit-Reset %q, want an ISO 8601 time within %s (%v)", name, reset, window, err)
	}
}

func checkRetryAfter(t *testing.T, name, v string, window time.Duration) {
	t.Helper()
	secs, err := strconv.Atoi(v)
	if err != nil || secs < 1 || time.Duration(secs)*time.Second > window {
		t.Fatalf("%s: Retry-After %q, want 1 s to %s", name, v, window)
	}
}

// TestUnauthorizedCarriesChallenge checks that every 401 names its scheme (RFC 9110 §15.5.2):
// Bearer for the API, with error="invalid_token" when a token was presented and refused
// (RFC 6750 §3), and no error code when none was presented.
func TestUnauthorizedCarriesChallenge(t *testing.T) {
	inst := testrig.StartInstance(t)
	const bare = `Bearer realm="Watercooler"`
	const invalid = `Bearer realm="Watercooler", error="invalid_token", error_description="The access token is invalid"`
	cases := []struct {
		name, method, url, token, contentType, body, want string
	}{
		{"no token on a signed-in route", http.MethodGet, "/api/v1/accounts/verify_credentials", "", "", "", bare},
		{"unknown token", http.MethodGet, "/api/v1/accounts/verify_credentials", "not-a-token", "", "", invalid},
		{"unknown token on a public route", http.MethodGet, "/api/v1/timelines/public", "not-a-token", "", "", invalid},
		{"unknown token in the query", http.MethodGet, "/api/v1/timelines/home?access_token=not-a-token", "", "", "", invalid},
		{"signed-out resolving search", http.MethodGet, "/api/v2/search?q=a@b.example&resolve=true", "", "", "", bare},
		{"streaming with an unknown token", http.MethodGet, "/api/v1/streaming/user?access_token=not-a-token", "", "", "", invalid},
		{"token endpoint, unknown client", http.MethodPost, "/oauth/token", "", formType, "grant_type=client_credentials&client_id=x&client_secret=y", `Basic realm="oauth"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := apiDo(t, tc.method, inst.URL+tc.url, tc.token, tc.contentType, tc.body)
			if r.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401; body %s", r.Code, r.Body)
			}
			if got := r.Header.Get("WWW-Authenticate"); got != tc.want {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tc.want)
			}
			if strings.Contains(r.Header.Get("WWW-Authenticate"), "not-a-token") {
				t.Fatal("the challenge echoes the token")
			}
		})
	}
}
