package signup_test

import (
	"context"
	"errors"
	"testing"

	"watercooler/signup"
)

// The instance actor's name and the bare domain belong to the instance: WebFinger answers them
// with the instance actor, so no local user may take them.
func TestReservedUsernames(t *testing.T) {
	for _, tc := range []struct {
		username, baseURL string
		want              bool
	}{
		{"127.0.0.3_8133", "http://127.0.0.3:8133", true},
		{"eng.corp.example", "https://eng.corp.example", true},
		{"ENG.corp.example", "https://eng.corp.example", true},
		{"localhost", "http://localhost", true},
		{"alice", "http://127.0.0.3:8133", false},
		{"eng", "https://eng.corp.example", false},
	} {
		if got := signup.Reserved(tc.username, tc.baseURL); got != tc.want {
			t.Errorf("Reserved(%q, %q) = %v, want %v", tc.username, tc.baseURL, got, tc.want)
		}
	}
	_, err := signup.Create(context.Background(), nil, nil, "http://127.0.0.3:8133", signup.Params{Username: "127.0.0.3_8133", Email: "x@example.com", Password: "correct horse"})
	if !errors.Is(err, signup.ErrReservedUsername) {
		t.Fatalf("Create with the instance actor's name = %v, want ErrReservedUsername", err)
	}
}
