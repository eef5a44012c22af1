package org_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/org"
	"watercooler/testrig"
)

// person is what the tests read of an account entity.
type person struct {
	ID          string `json:"id"`
	Acct        string `json:"acct"`
	DisplayName string `json:"display_name"`
}

func client(inst *testrig.Instance, u *testrig.User) *gomastodon.Client {
	return gomastodon.NewClient(&gomastodon.Config{Server: inst.URL, AccessToken: u.Token})
}

// apiGet decodes a GET of the client API as u into out.
func apiGet(t *testing.T, inst *testrig.Instance, u *testrig.User, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, inst.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+u.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func accts[T any](list []T, acct func(T) string) []string {
	out := make([]string, 0, len(list))
	for _, a := range list {
		out = append(out, acct(a))
	}
	return out
}

// searchFinds reports whether u's search for q at inst answers acct through each of the two
// searches apps use, and whether the directory (which has no query) lists acct.
func searchFinds(t *testing.T, inst *testrig.Instance, u *testrig.User, q, acct string) map[string]bool {
	t.Helper()
	ctx := context.Background()
	c := client(inst, u)
	found := map[string]bool{}
	v1, err := c.AccountsSearch(ctx, q, 40)
	if err != nil {
		t.Fatalf("accounts/search %q: %v", q, err)
	}
	found["v1"] = slices.Contains(accts(v1, func(a *gomastodon.Account) string { return a.Acct }), acct)
	v2, err := c.Search(ctx, q, false)
	if err != nil {
		t.Fatalf("v2/search %q: %v", q, err)
	}
	found["v2"] = slices.Contains(accts(v2.Accounts, func(a *gomastodon.Account) string { return a.Acct }), acct)
	var dir []person
	apiGet(t, inst, u, "/api/v1/directory?local=false&limit=80", &dir)
	found["directory"] = slices.Contains(accts(dir, func(a person) string { return a.Acct }), acct)
	return found
}

func everywhere(found map[string]bool) bool { return found["v1"] && found["v2"] && found["directory"] }
func nowhere(found map[string]bool) bool    { return !found["v1"] && !found["v2"] && !found["directory"] }

func updateProfile(t *testing.T, inst *testrig.Instance, u *testrig.User, form url.Values) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPatch, inst.URL+"/api/v1/accounts/update_credentials", strings.NewReader(form.Encode()))
	req.Header.Set("Authorization", "Bearer "+u.Token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("update_credentials %v: %s", form, resp.Status)
	}
}

// TestDirectoryFindsColleaguesInEveryDepartment: people of one department are found in the
// others by name, username and words of their bio and fields, with no user@host typed; a
// profile change reaches every department, and so does switching discoverable off.
func TestDirectoryFindsColleaguesInEveryDepartment(t *testing.T) {
	eng := testrig.StartInstance(t, named("Engineering"))
	sales := testrig.StartInstance(t, named("Sales"), joining(eng))
	support := testrig.StartInstance(t, named("Support"), joining(eng))
	three := []*testrig.Instance{eng, sales, support}
	bob := sales.CreateUser(t, "bob")
	alice := eng.CreateUser(t, "alice")
	carol := support.CreateUser(t, "carol")
	viewers := map[*testrig.Instance]*testrig.User{eng: alice, support: carol}
	waitMembers(t, converge, three, three...)

	updateProfile(t, sales, bob, url.Values{
		"display_name": {"Bob Berglund"}, "note": {"Sales engineer, mostly pricing."},
		"fields_attributes[0][name]": {"Ask me about"}, "fields_attributes[0][value]": {"Kubernetes"},
	})
	bobAcct := "bob@" + sales.Config.Domain()
	for inst, viewer := range viewers {
		for _, q := range []string{"Berglund", "bob", "pricing", "ask kube"} {
			testrig.Eventually(t, converge, inst.Config.Title+" finds "+bobAcct+" by "+q, func() bool {
				return everywhere(searchFinds(t, inst, viewer, q, bobAcct))
			})
		}
	}
	// The department's own directory stays its own people.
	var local []person
	apiGet(t, support, carol, "/api/v1/directory?local=true", &local)
	if got := accts(local, func(a person) string { return a.Acct }); !slices.Equal(got, []string{"carol"}) {
		t.Errorf("support's local directory %v, want [carol]", got)
	}
	var ofSales []person
	apiGet(t, support, carol, "/api/v1/directory?domain="+sales.Config.Domain(), &ofSales)
	if got := accts(ofSales, func(a person) string { return a.Acct }); !slices.Equal(got, []string{bobAcct}) {
		t.Errorf("support's directory of sales %v, want [%s]", got, bobAcct)
	}

	// A change of name is seen in every department within the organization's promise.
	updateProfile(t, sales, bob, url.Values{"display_name": {"Bob Lindqvist"}})
	for inst, viewer := range viewers {
		testrig.Eventually(t, converge, inst.Config.Title+" sees bob's new name", func() bool {
			return everywhere(searchFinds(t, inst, viewer, "Lindqvist", bobAcct))
		})
		if found := searchFinds(t, inst, viewer, "Berglund", bobAcct); found["v1"] || found["v2"] {
			t.Errorf("%s still finds bob by his old name: %v", inst.Config.Title, found)
		}
	}

	// Switching discoverable off takes bob out of every directory and his bio out of search.
	updateProfile(t, sales, bob, url.Values{"discoverable": {"false"}})
	for inst, viewer := range viewers {
		testrig.Eventually(t, converge, inst.Config.Title+" drops bob from the directory", func() bool {
			return nowhere(searchFinds(t, inst, viewer, "pricing", bobAcct))
		})
	}
}

// TestDirectoryCatchesUpAfterDowntime: a department that was down while a colleague changed
// their profile sees the change after it returns, from where it stopped reading.
func TestDirectoryCatchesUpAfterDowntime(t *testing.T) {
	eng := testrig.StartInstance(t, named("Engineering"))
	sales := testrig.StartInstance(t, named("Sales"), joining(eng))
	bob := sales.CreateUser(t, "bob")
	alice := eng.CreateUser(t, "alice")
	waitMembers(t, converge, []*testrig.Instance{eng, sales}, eng, sales)
	bobAcct := "bob@" + sales.Config.Domain()
	testrig.Eventually(t, converge, "eng lists bob", func() bool {
		return everywhere(searchFinds(t, eng, alice, "bob", bobAcct))
	})

	eng.Stop()
	updateProfile(t, sales, bob, url.Values{"display_name": {"Bob Berglund"}})
	eng.Restart(t)
	testrig.Eventually(t, converge, "eng sees bob's change made while it was down", func() bool {
		return everywhere(searchFinds(t, eng, alice, "Berglund", bobAcct))
	})
}

// TestDirectoryIsForMembersOnly: the directory answers only a member's instance actor.
func TestDirectoryIsForMembersOnly(t *testing.T) {
	eng := testrig.StartInstance(t, named("Engineering"))
	outsider := testrig.StartInstance(t, named("Outsider"))
	eng.CreateUser(t, "alice")

	cases := []struct {
		name string
		sign bool
		want int
	}{
		{"unsigned", false, http.StatusUnauthorized},
		{"signed by a department outside the organization", true, http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, eng.URL+org.DirectoryPath+"?since=0", nil)
			if tc.sign {
				if err := outsider.Federator.SignAsInstance(req, nil); err != nil {
					t.Fatal(err)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want || strings.Contains(string(body), "alice") {
				t.Errorf("GET %s %s: %s %q, want %d without alice", org.DirectoryPath, tc.name, resp.Status, body, tc.want)
			}
		})
	}
}
