package server_test

import (
	"encoding/json"
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
		{"body over the limit", "POST", "/api/v1/statuses", "status=" + big, "application/x-www-form-urlencoded", 413, "Request Entity Too Large"},
		{"malformed JSON", "POST", "/api/v1/statuses", `{"status": "hi"`, "application/json", 400, ""},
		{"unknown status", "GET", "/api/v1/statuses/123456789", "", "", 404, "Record not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, inst.URL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+alice.Token)
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error string `json:"error"`
			}
			decodeErr := json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != c.wantStatus || decodeErr != nil || body.Error == "" || (c.wantError != "" && body.Error != c.wantError) {
				t.Fatalf("%s %s = %d %q (decode %v), want %d with error %q", c.method, c.path, resp.StatusCode, body.Error, decodeErr, c.wantStatus, c.wantError)
			}
		})
	}
	statuses, err := inst.Store.AccountStatuses(t.Context(), alice.Account.ID, store.Page{Limit: 40})
	if err != nil || len(statuses) != 0 {
		t.Fatalf("refused posts wrote %d statuses (err %v), want none", len(statuses), err)
	}

	// A browser client on another origin may send Authorization and Idempotency-Key and read Link.
	req, _ := http.NewRequest("OPTIONS", inst.URL+"/api/v1/timelines/home", nil)
	req.Header.Set("Origin", "https://client.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "Authorization, Idempotency-Key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
	if resp.StatusCode >= 300 || !strings.Contains(allowed, "authorization") || !strings.Contains(allowed, "idempotency-key") {
		t.Fatalf("preflight = %d, allow-headers %q; want success allowing authorization and idempotency-key", resp.StatusCode, allowed)
	}
	req, _ = http.NewRequest("GET", inst.URL+"/api/v1/timelines/public", nil)
	req.Header.Set("Origin", "https://client.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if exposed := strings.ToLower(resp.Header.Get("Access-Control-Expose-Headers")); !strings.Contains(exposed, "link") {
		t.Fatalf("Access-Control-Expose-Headers = %q, want it to expose Link", exposed)
	}
}
