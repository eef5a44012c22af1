package server_test

import (
	"net/http"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/testrig"
)

// TestConversations follows a direct-message thread as Elk's and Phanpy's DM pages show it:
// one conversation per thread and participant, unread for those who did not write the last
// message, and removable by each participant alone.
func TestConversations(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	type conv struct {
		ID       string `json:"id"`
		Unread   bool   `json:"unread"`
		Accounts []struct {
			Username string `json:"username"`
		} `json:"accounts"`
		LastStatus *struct {
			ID string `json:"id"`
		} `json:"last_status"`
	}
	list := func(u *testrig.User) []conv {
		var out []conv
		resp := apiGet(t, inst.URL+"/api/v1/conversations", u.Token)
		resp.ok(t, &out)
		var raw []map[string]any
		resp.decode(t, &raw)
		for _, c := range raw {
			for _, f := range []string{"id", "unread", "accounts", "last_status"} {
				if _, ok := c[f]; !ok {
					t.Errorf("conversation lacks %q: %s", f, resp.Body)
				}
			}
		}
		return out
	}
	dm := postStatus(t, inst, alice, gomastodon.Toot{Status: "@bob lunch?", Visibility: "direct"})
	postStatus(t, inst, alice, gomastodon.Toot{Status: "not a DM", Visibility: "public"})

	a, b := list(alice), list(bob)
	if len(a) != 1 || a[0].Unread || a[0].LastStatus == nil || a[0].LastStatus.ID != string(dm.ID) || len(a[0].Accounts) != 1 || a[0].Accounts[0].Username != "bob" {
		t.Fatalf("alice's conversations = %+v, want one read conversation with bob", a)
	}
	if len(b) != 1 || !b[0].Unread || b[0].ID != a[0].ID || b[0].Accounts[0].Username != "alice" {
		t.Fatalf("bob's conversations = %+v, want the same thread, unread, with alice", b)
	}
	if c := list(carol); len(c) != 0 {
		t.Errorf("carol sees %+v", c)
	}

	reply := postStatus(t, inst, bob, gomastodon.Toot{Status: "@alice sure, noon", Visibility: "direct", InReplyToID: dm.ID})
	a, b = list(alice), list(bob)
	if len(a) != 1 || !a[0].Unread || a[0].LastStatus.ID != string(reply.ID) || b[0].Unread {
		t.Errorf("after bob's reply: alice %+v, bob %+v; want one thread, unread for alice only, ending with the reply", a, b)
	}
	var read conv
	apiDo(t, http.MethodPost, inst.URL+"/api/v1/conversations/"+a[0].ID+"/read", alice.Token, "", "").ok(t, &read)
	if read.Unread || list(alice)[0].Unread {
		t.Errorf("read conversation still unread: %+v", read)
	}

	// A new thread is a conversation of its own, listed first.
	other := postStatus(t, inst, bob, gomastodon.Toot{Status: "@alice @carol retro notes?", Visibility: "direct"})
	a = list(alice)
	if len(a) != 2 || a[0].LastStatus.ID != string(other.ID) || len(a[0].Accounts) != 2 {
		t.Fatalf("alice's conversations = %+v, want the group thread first with bob and carol", a)
	}
	resp := apiGet(t, inst.URL+"/api/v1/conversations?limit=1", alice.Token)
	if next := mustLinkRel(t, resp.Header.Get("Link"), "next"); next == "" {
		t.Error("a full page has no next link")
	}

	apiDo(t, http.MethodDelete, inst.URL+"/api/v1/conversations/"+a[0].ID, alice.Token, "", "").ok(t, nil)
	if a = list(alice); len(a) != 1 {
		t.Errorf("after removing, alice has %+v", a)
	}
	if c := list(carol); len(c) != 1 {
		t.Errorf("alice's removal touched carol's list: %+v", c)
	}
	apiDo(t, http.MethodPost, inst.URL+"/api/v1/conversations/nope/read", alice.Token, "", "").expectError(t, http.StatusNotFound, "Record not found")
}
