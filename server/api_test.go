package server_test

import (
	"net/http"
	"strings"
	"testing"

	"watercooler/config"
	"watercooler/store"
	"watercooler/testrig"
)

// TestAPIGeneralBehaviour covers what every route shares: Mastodon's error shape for unknown
// routes, the body limit, and CORS for browser clients.
func TestAPIGeneralBehaviour(t *testing.T) {
	inst := testrig.StartInstance(t, func(c *config.Config) { c.BodyLimit = 64 << 10 })
	alice := inst.CreateUser(t, "alice")
	big := strings.Repeat("x", 128<<10)
	cases := []struct {
		name, method, path, body, contentType string
		wantStatus                            int
		wantError                             string
	}{
		{"unknown API route", "GET", "/api/v1/no/such/route", "", "", 404, "Record not found"},
		{"unknown API version", "GET", "/api/v9/instance", "", "", 404, "Record not found"},
		{"unknown page", "POST", "/no/such/page", "", "", 404, "Not found"},
		{"malformed JSON", "POST", "/api/v1/statuses", `{"status": "hi"`, jsonType, 400, ""},
		{"unknown status", "GET", "/api/v1/statuses/123456789", "", "", 404, "Record not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			apiDo(t, c.method, inst.URL+c.path, alice.Token, c.contentType, c.body).expectError(t, c.wantStatus, c.wantError)
		})
	}
	if got := announceBody(t, inst.URL+"/api/v1/statuses", alice.Token, formType, len("status=")+len(big)); got != http.StatusRequestEntityTooLarge {
		t.Errorf("body over the limit: status %d, want 413", got)
	}
	statuses, err := inst.Store.AccountStatuses(t.Context(), alice.Account.ID, store.Page{Limit: 40})
	if err != nil || len(statuses) != 0 {
		t.Fatalf("refused posts wrote %d statuses (err %v), want none", len(statuses), err)
	}

	// A browser client on another origin may send Authorization and Idempotency-Key and read Link.
	resp := apiDo(t, http.MethodOptions, inst.URL+"/api/v1/timelines/home", "", "", "",
		"Origin", "https://client.example", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "Authorization, Idempotency-Key")
	allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
	if resp.Code >= 300 || !strings.Contains(allowed, "authorization") || !strings.Contains(allowed, "idempotency-key") {
		t.Fatalf("preflight = %d, allow-headers %q; want success allowing authorization and idempotency-key", resp.Code, allowed)
	}
	resp = apiDo(t, http.MethodGet, inst.URL+"/api/v1/timelines/public", "", "", "", "Origin", "https://client.example")
	if exposed := strings.ToLower(resp.Header.Get("Access-Control-Expose-Headers")); !strings.Contains(exposed, "link") {
		t.Fatalf("Access-Control-Expose-Headers = %q, want it to expose Link", exposed)
	}
}
