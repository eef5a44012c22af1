package server_test

import (
	"net/http"
	"slices"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/server/mastodon"
	"watercooler/testrig"
)

// TestSuggestionsFamiliarFollowersDirectory: people one's colleagues follow come first in
// suggestions, ranked by how many colleagues follow them; familiar followers name the
// colleagues; the directory lists who chose to be discoverable.
func TestSuggestionsFamiliarFollowersDirectory(t *testing.T) {
	inst := testrig.StartInstance(t)
	users := map[string]*testrig.User{}
	for _, name := range []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace"} {
		users[name] = inst.CreateUser(t, name)
	}
	follows := [][2]string{
		{"alice", "bob"}, {"alice", "carol"},
		{"bob", "dave"}, {"carol", "dave"}, {"bob", "erin"}, {"carol", "alice"},
	}
	for _, f := range follows {
		followUser(t, inst, users[f[0]], users[f[1]])
	}
	// frank, whom alice's colleagues do not follow, has a follower of his own.
	followUser(t, inst, users["dave"], users["frank"])
	alice := users["alice"]

	type sugg struct {
		Source  string           `json:"source"`
		Sources []string         `json:"sources"`
		Account mastodon.Account `json:"account"`
	}
	var got []sugg
	apiGet(t, inst.URL+"/api/v2/suggestions", alice.Token).ok(t, &got)
	var names []string
	for _, s := range got {
		names = append(names, s.Account.Username+":"+s.Sources[0])
	}
	want := []string{"dave:friends_of_friends", "erin:friends_of_friends", "frank:most_followed", "grace:most_followed"}
	if !slices.Equal(names, want) {
		t.Fatalf("suggestions = %v, want %v (dave followed by two colleagues, erin by one, then discoverable accounts by followers)", names, want)
	}
	apiDo(t, http.MethodDelete, inst.URL+"/api/v1/suggestions/"+users["dave"].Account.ID, alice.Token, "", "").ok(t, nil)
	var v1 []mastodon.Account
	apiGet(t, inst.URL+"/api/v1/suggestions", alice.Token).ok(t, &v1)
	if len(v1) != 3 || v1[0].Username != "erin" {
		t.Errorf("after dismissing dave, v1 suggestions = %+v", v1)
	}

	var familiar []struct {
		ID       string             `json:"id"`
		Accounts []mastodon.Account `json:"accounts"`
	}
	apiGet(t, inst.URL+"/api/v1/accounts/familiar_followers?id[]="+users["dave"].Account.ID+"&id[]="+users["grace"].Account.ID, alice.Token).ok(t, &familiar)
	if len(familiar) != 2 || len(familiar[0].Accounts) != 2 || len(familiar[1].Accounts) != 0 {
		t.Fatalf("familiar followers = %+v, want bob and carol for dave, nobody for grace", familiar)
	}

	// The directory: discoverable people only, the recently active first.
	postStatus(t, inst, users["grace"], gomastodon.Toot{Status: "hello from grace", Visibility: "public"})
	var dir []mastodon.Account
	apiGet(t, inst.URL+"/api/v1/directory?local=true", "").ok(t, &dir)
	var listed []string
	for _, a := range dir {
		listed = append(listed, a.Username)
	}
	if len(listed) != 7 || listed[0] != "grace" {
		t.Errorf("directory = %v, want all seven discoverable people, grace (the only one who posted) first", listed)
	}
	apiForm(t, http.MethodPatch, inst.URL+"/api/v1/accounts/update_credentials", users["frank"].Token, "discoverable=false").ok(t, nil)
	apiGet(t, inst.URL+"/api/v1/directory", "").ok(t, &dir)
	if slices.ContainsFunc(dir, func(a mastodon.Account) bool { return a.Username == "frank" }) {
		t.Error("frank is listed after choosing not to be discoverable")
	}
	apiGet(t, inst.URL+"/api/v1/directory?order=new&limit=1", "").ok(t, &dir)
	if len(dir) != 1 || dir[0].Username != "grace" {
		t.Errorf("newest in directory = %+v", dir)
	}
}
