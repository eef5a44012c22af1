package server_test

import (
	"net/http"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/testrig"
)

// TestReadScopes pins which scope each read route needs of a token, as Mastodon's
// authorize_if_got_token! does: routes open to anonymous readers still refuse (403) a token
// that lacks the read scope, so that a token granted only "profile" or "write:media" cannot
// read its owner's followers-only and direct posts. "profile" is enough for
// verify_credentials, as in Mastodon 4.3.
func TestReadScopes(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	public := postStatus(t, inst, alice, gomastodon.Toot{Status: "hello #scopes", Visibility: "public"})
	direct := postStatus(t, inst, alice, gomastodon.Toot{Status: "@bob a secret", Visibility: "direct"})
	a := alice.Account.ID

	// Columns: the codes for tokens of alice's with these scopes, then for no token at all.
	scopes := []string{"read", "read:statuses", "read:accounts", "profile", "write:media"}
	tokens := make([]string, len(scopes)+1) // the last stays "": anonymous
	for i, sc := range scopes {
		tokens[i] = userToken(t, inst, alice, sc)
	}
	const ok, no, hid, unauth = http.StatusOK, http.StatusForbidden, http.StatusNotFound, http.StatusUnauthorized
	cases := []struct {
		name, path string
		want       [6]int
	}{
		{"status", "/api/v1/statuses/" + string(public.ID), [6]int{ok, ok, no, no, no, ok}},
		{"own direct status", "/api/v1/statuses/" + string(direct.ID), [6]int{ok, ok, no, no, no, hid}},
		{"context", "/api/v1/statuses/" + string(public.ID) + "/context", [6]int{ok, ok, no, no, no, ok}},
		{"own direct context", "/api/v1/statuses/" + string(direct.ID) + "/context", [6]int{ok, ok, no, no, no, hid}},
		{"history", "/api/v1/statuses/" + string(public.ID) + "/history", [6]int{ok, ok, no, no, no, ok}},
		{"reblogged_by", "/api/v1/statuses/" + string(public.ID) + "/reblogged_by", [6]int{ok, no, ok, no, no, ok}},
		{"favourited_by", "/api/v1/statuses/" + string(public.ID) + "/favourited_by", [6]int{ok, no, ok, no, no, ok}},
		{"account statuses", "/api/v1/accounts/" + a + "/statuses", [6]int{ok, ok, no, no, no, ok}},
		{"account", "/api/v1/accounts/" + a, [6]int{ok, no, ok, no, no, ok}},
		{"lookup", "/api/v1/accounts/lookup?acct=alice", [6]int{ok, no, ok, no, no, ok}},
		{"followers", "/api/v1/accounts/" + a + "/followers", [6]int{ok, no, ok, no, no, ok}},
		{"following", "/api/v1/accounts/" + a + "/following", [6]int{ok, no, ok, no, no, ok}},
		{"public timeline", "/api/v1/timelines/public", [6]int{ok, ok, no, no, no, ok}},
		{"tag timeline", "/api/v1/timelines/tag/scopes", [6]int{ok, ok, no, no, no, ok}},
		{"search", "/api/v2/search?q=alice", [6]int{ok, no, no, no, no, ok}},
		{"verify_credentials", "/api/v1/accounts/verify_credentials", [6]int{ok, no, ok, ok, no, unauth}},
	}
	for _, tc := range cases {
		for i, token := range tokens {
			who := "anonymous"
			if i < len(scopes) {
				who = scopes[i]
			}
			t.Run(tc.name+"/"+who, func(t *testing.T) {
				r := apiGet(t, inst.URL+tc.path, token)
				switch want := tc.want[i]; want {
				case ok:
					r.ok(t, nil)
				case no:
					r.expectError(t, no, "This action is outside the authorized scopes")
				default:
					r.expectError(t, want, "")
				}
			})
		}
	}
	// The direct status is bob's to read too, with a read token: the scope check adds to the
	// visibility check, it does not replace it.
	getStatus(t, inst, string(direct.ID), userToken(t, inst, bob, "read:statuses"))
}
