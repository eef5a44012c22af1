package server_test

import (
	"net/http"
	"testing"
	"time"

	"watercooler/server/mastodon"
	"watercooler/testrig"
)

func TestMarkersSaveAndRead(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	markersURL := inst.API("/api/v1/markers")
	read := func(query string) map[string]mastodon.Marker {
		t.Helper()
		var got map[string]mastodon.Marker
		apiGet(t, markersURL+query, alice.Token).ok(t, &got)
		return got
	}

	if got := read("?timeline[]=home&timeline[]=notifications"); len(got) != 0 {
		t.Fatalf("before any save: %+v, want {}", got)
	}

	var saved map[string]mastodon.Marker
	apiForm(t, http.MethodPost, markersURL, alice.Token, "home[last_read_id]=100").ok(t, &saved)
	home := saved["home"]
	if len(saved) != 1 || home.LastReadID != "100" || home.Version != 0 {
		t.Fatalf("form save = %+v", saved)
	}
	if at, err := time.Parse(time.RFC3339, home.UpdatedAt); err != nil || time.Since(at) > time.Minute {
		t.Fatalf("updated_at %q: %v", home.UpdatedAt, err)
	}

	apiJSON(t, http.MethodPost, markersURL, alice.Token,
		`{"home":{"last_read_id":"120"},"notifications":{"last_read_id":5},"public":{"last_read_id":"1"}}`).ok(t, &saved)
	if len(saved) != 2 || saved["home"].LastReadID != "120" || saved["home"].Version != 1 ||
		saved["notifications"].LastReadID != "5" || saved["notifications"].Version != 0 {
		t.Fatalf("JSON save = %+v; want home 120 v1, notifications 5 v0, public ignored", saved)
	}
	// An unchanged position keeps its version.
	apiForm(t, http.MethodPost, markersURL, alice.Token, "notifications[last_read_id]=5").ok(t, &saved)
	if saved["notifications"].Version != 0 {
		t.Fatalf("unchanged position bumped the version: %+v", saved)
	}

	reads := []struct {
		query string
		want  []string
	}{
		{"?timeline[]=home&timeline[]=notifications", []string{"home", "notifications"}},
		{"?timeline[]=home", []string{"home"}},
		{"?timeline=notifications", []string{"notifications"}},
		{"?timeline[]=public&timeline[]=home", []string{"home"}},
		{"", nil},
	}
	for _, r := range reads {
		got := read(r.query)
		if len(got) != len(r.want) {
			t.Errorf("%q: %+v, want %v", r.query, got, r.want)
		}
		for _, tl := range r.want {
			if _, ok := got[tl]; !ok {
				t.Errorf("%q lacks %s: %+v", r.query, tl, got)
			}
		}
	}
	if got := read("?timeline[]=home"); got["home"].LastReadID != "120" || got["home"].Version != 1 {
		t.Fatalf("home read back = %+v", got["home"])
	}
}

func TestMarkersBadInput(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	markersURL := inst.API("/api/v1/markers")
	apiForm(t, http.MethodPost, markersURL, alice.Token, "home[last_read_id]=42").ok(t, nil)
	readOnly := userToken(t, inst, alice, "read")

	cases := []struct {
		name              string
		method, token     string
		contentType, body string
		code              int
		msg               string
	}{
		{"no token on read", http.MethodGet, "", "", "", http.StatusUnauthorized, "The access token is invalid"},
		{"no token on save", http.MethodPost, "", formType, "home[last_read_id]=1", http.StatusUnauthorized, "The access token is invalid"},
		{"read-only token", http.MethodPost, readOnly, formType, "home[last_read_id]=1", http.StatusForbidden, "This action is outside the authorized scopes"},
		{"malformed JSON", http.MethodPost, alice.Token, jsonType, `{"home":{"last_read_id":`, http.StatusBadRequest, "Malformed request body*"},
		{"timeline not an object", http.MethodPost, alice.Token, jsonType, `{"home":"1"}`, http.StatusBadRequest, "Malformed request body*"},
		{"blank position", http.MethodPost, alice.Token, formType, "home[last_read_id]=", http.StatusUnprocessableEntity, "Validation failed: Last read can't be blank"},
		{"null position", http.MethodPost, alice.Token, jsonType, `{"home":{"last_read_id":null}}`, http.StatusUnprocessableEntity, "Validation failed: Last read can't be blank"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			apiDo(t, tc.method, markersURL, tc.token, tc.contentType, tc.body).expectError(t, tc.code, tc.msg)
		})
	}
	var got map[string]mastodon.Marker
	apiGet(t, markersURL+"?timeline[]=home", alice.Token).ok(t, &got)
	if got["home"].LastReadID != "42" || got["home"].Version != 0 {
		t.Fatalf("refused saves changed the marker: %+v", got["home"])
	}
}
