package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/config"
	"watercooler/server/mastodon"
	"watercooler/testrig"
)

// TestExactSearchFindsBlockedAndMuted is what toot unblock and toot unmute do: search the exact
// user@host with resolve; Mastodon answers the exact match whatever the block or mute, while a
// prefix search keeps hiding them.
func TestExactSearchFindsBlockedAndMuted(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bobby"), inst.CreateUser(t, "carol")
	if _, err := userClient(inst, alice).AccountBlock(ctx, gomastodon.ID(bob.Account.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := userClient(inst, alice).AccountMute(ctx, gomastodon.ID(carol.Account.ID)); err != nil {
		t.Fatal(err)
	}
	domain := inst.Config.Domain()
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"bobby@" + domain, []string{"bobby"}},
		{"@carol@" + domain, []string{"carol"}},
		{"bobby", []string{"bobby"}},
		{"bob", nil},
		{"car", nil},
	} {
		var res struct{ Accounts []mastodon.Account }
		apiGet(t, inst.URL+"/api/v2/search?type=accounts&resolve=true&q="+url.QueryEscape(tc.q), alice.Token).ok(t, &res)
		var got []string
		for _, a := range res.Accounts {
			got = append(got, a.Username)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("search %q = %v, want %v", tc.q, got, tc.want)
		}
	}
}

// TestStatusesByID is GET /api/v1/statuses?id[]=, which Phanpy uses to refresh its cache.
func TestStatusesByID(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	first := postStatus(t, inst, alice, gomastodon.Toot{Status: "one", Visibility: "public"})
	second := postStatus(t, inst, alice, gomastodon.Toot{Status: "two", Visibility: "unlisted"})
	private := postStatus(t, inst, alice, gomastodon.Toot{Status: "followers only", Visibility: "private"})
	var got []mastodon.Status
	query := fmt.Sprintf("/api/v1/statuses?id[]=%s&id[]=%s&id[]=%s&id[]=999", second.ID, private.ID, first.ID)
	apiGet(t, inst.URL+query, bob.Token).ok(t, &got)
	if ids := statusIDs(got); !slices.Equal(ids, []string{string(second.ID), string(first.ID)}) {
		t.Errorf("bob gets %v, want %s then %s (the private post and the unknown id left out)", ids, second.ID, first.ID)
	}
	apiGet(t, inst.URL+query, alice.Token).ok(t, &got)
	if len(got) != 3 {
		t.Errorf("alice gets %d of her 3 statuses", len(got))
	}
	many := "/api/v1/statuses?"
	for i := range 21 {
		many += fmt.Sprintf("id[]=%d&", i+1)
	}
	apiGet(t, inst.URL+many, bob.Token).expectError(t, http.StatusUnprocessableEntity, "Too many ids requested (at most 20)")
}

// TestDefaultLanguage: a post whose client names no language takes the author's posting
// language, else the instance's default, as Mastodon's falls back to its locale.
func TestDefaultLanguage(t *testing.T) {
	inst := testrig.StartInstance(t, func(c *config.Config) { c.DefaultLanguage = "nl" })
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	apiForm(t, http.MethodPatch, inst.URL+"/api/v1/accounts/update_credentials", bob.Token, "source[language]=de").ok(t, nil)
	for _, tc := range []struct {
		who      *testrig.User
		form     string
		language string
	}{
		{alice, "status=hallo", "nl"},
		{bob, "status=hallo", "de"},
		{bob, "status=hello&language=en", "en"},
	} {
		var st mastodon.Status
		apiForm(t, http.MethodPost, inst.URL+"/api/v1/statuses", tc.who.Token, tc.form).ok(t, &st)
		if st.Language == nil || *st.Language != tc.language {
			t.Errorf("%s posting %q: language %v, want %s", tc.who.Account.Username, tc.form, st.Language, tc.language)
		}
	}
}

// TestPasswordGrant: toot login_cli's password grant is refused with a pointer to the browser
// unless the operator turns it on; on, it signs in as the form does.
func TestPasswordGrant(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		t.Run(fmt.Sprint("enabled=", enabled), func(t *testing.T) {
			inst := testrig.StartInstance(t, func(c *config.Config) { c.PasswordGrant = enabled })
			alice := inst.CreateUser(t, "alice")
			app := oaRegister(t, inst, "read write", "urn:ietf:wg:oauth:2.0:oob")
			grant := func(password string) apiResponse {
				return apiForm(t, http.MethodPost, inst.URL+"/oauth/token", "", url.Values{
					"grant_type": {"password"}, "username": {alice.Account.Username}, "password": {password}, "scope": {"read"},
					"client_id": {app.ClientID}, "client_secret": {app.ClientSecret},
				}.Encode())
			}
			if !enabled {
				r := grant(alice.Password)
				r.expectOAuthError(t, http.StatusBadRequest, "unsupported_grant_type")
				if !strings.Contains(string(r.Body), "through the browser") {
					t.Errorf("refusal does not say what to do: %s", r.Body)
				}
				return
			}
			tok := oaTokenResponse(t, grant(alice.Password))
			var me mastodon.Account
			apiGet(t, inst.URL+"/api/v1/accounts/verify_credentials", tok.AccessToken).ok(t, &me)
			if me.Username != "alice" || tok.Scope != "read" {
				t.Errorf("password grant gave %+v for %s", tok, me.Username)
			}
			grant("wrong").expectOAuthError(t, http.StatusBadRequest, "invalid_grant")
		})
	}
}
