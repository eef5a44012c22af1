package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/testrig"
)

// TestPeopleSearchByWords: colleagues are found by the words of their names, and of their bios
// and profile fields when they are discoverable, through both account searches.
func TestPeopleSearchByWords(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	profile := func(u *testrig.User, form url.Values) {
		t.Helper()
		apiForm(t, http.MethodPatch, inst.URL+"/api/v1/accounts/update_credentials", u.Token, form.Encode()).ok(t, nil)
	}
	profile(bob, url.Values{"display_name": {"Bob Berglund"}, "note": {"Runs the billing system"},
		"fields_attributes[0][name]": {"Ask me about"}, "fields_attributes[0][value]": {"Kubernetes, Postgres"}})
	profile(carol, url.Values{"display_name": {"Carol Berg"}, "note": {"Kubernetes too, quietly"}, "discoverable": {"false"}})
	dave := remoteAccount(t, inst, "dave", "sales.example")
	dave.DisplayName, dave.Discoverable = "Dave Bergström", true
	dave.Fields = []store.Field{{Name: "Ask me about", Value: "<p>kubernetes upgrades</p>"}}
	if _, err := inst.Store.PutRemoteAccount(t.Context(), dave); err != nil {
		t.Fatal(err)
	}

	usernames := func(accounts []mastodon.Account) []string {
		var out []string
		for _, a := range accounts {
			out = append(out, a.Username)
		}
		slices.Sort(out)
		return out
	}
	cases := []struct {
		q    string
		want []string
	}{
		{"Berglund", []string{"bob"}},
		{"berg", []string{"bob", "carol", "dave"}}, // name prefixes, here and in another department
		{"kubernetes", []string{"bob", "dave"}},    // fields of discoverable people; carol's bio is not searchable
		{"ask kube", []string{"bob", "dave"}},      // every word must match
		{"billing", []string{"bob"}},               // a discoverable bio
		{"carol berg", []string{"carol"}},          // names stay searchable when not discoverable
		{"quietly", nil},                           // carol's bio
		{"bergström", []string{"dave"}},            // letters beyond ASCII
		{"bob", []string{"bob"}},                   // the username, as before
	}
	for _, c := range cases {
		t.Run(c.q, func(t *testing.T) {
			var v1 []mastodon.Account
			apiGet(t, inst.URL+"/api/v1/accounts/search?q="+url.QueryEscape(c.q), alice.Token).ok(t, &v1)
			if got := usernames(v1); !slices.Equal(got, c.want) {
				t.Errorf("accounts/search %q = %v, want %v", c.q, got, c.want)
			}
			var v2 struct {
				Accounts []mastodon.Account `json:"accounts"`
			}
			apiGet(t, inst.URL+"/api/v2/search?type=accounts&q="+url.QueryEscape(c.q), alice.Token).ok(t, &v2)
			if got := usernames(v2.Accounts); !slices.Equal(got, c.want) {
				t.Errorf("v2 search %q = %v, want %v", c.q, got, c.want)
			}
		})
	}

	// A changed profile is found by its new words only.
	profile(bob, url.Values{"display_name": {"Bob Lindqvist"}, "fields_attributes[0][name]": {"Ask me about"}, "fields_attributes[0][value]": {"Terraform"}})
	for q, want := range map[string][]string{"berglund": nil, "lindqvist": {"bob"}, "terraform": {"bob"}, "kubernetes": {"dave"}} {
		var got []mastodon.Account
		apiGet(t, inst.URL+"/api/v1/accounts/search?q="+url.QueryEscape(q), alice.Token).ok(t, &got)
		if !slices.Equal(usernames(got), want) {
			t.Errorf("after the change, %q = %v, want %v", q, usernames(got), want)
		}
	}
}
