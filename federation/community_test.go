package federation_test

import (
	"context"
	"strconv"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/community"
	"watercooler/testrig"
)

// TestGroupAnnouncesWhatIsAddressedToIt sends a local Group notes shaped as Mastodon, Lemmy and
// others address a group (FEP-1b12: a mention, cc, audience), and some it must not announce.
func TestGroupAnnouncesWhatIsAddressedToIt(t *testing.T) {
	eng := newDept(t, "alice")
	_, group, err := community.Create(context.Background(), eng.inst.Store, eng.inst.URL,
		community.Params{Name: "golang", KeyPair: testrig.TestKeyPair})
	if err != nil {
		t.Fatal(err)
	}
	remote := newFakeRemote(t)
	remote.addActor("lem", newKey(t))
	followers := remote.actorURI("lem") + "/followers"
	mention := []any{map[string]any{"type": "Mention", "href": group.URI, "name": "@golang@" + eng.inst.Config.Domain()}}
	cases := []struct {
		name     string
		extra    map[string]any
		announce bool
	}{
		{"a mention (Mastodon)", map[string]any{"to": []any{publicAudience, group.URI}, "tag": mention}, true},
		{"audience (Lemmy)", map[string]any{"audience": group.URI}, true},
		{"cc", map[string]any{"cc": []any{followers, group.URI}}, true},
		{"unlisted to the group", map[string]any{"to": []any{followers, group.URI}, "cc": []any{publicAudience}}, true},
		{"followers-only to the group", map[string]any{"to": []any{followers, group.URI}, "cc": []any{}}, false},
		{"not addressed to the group", nil, false},
	}
	for i, c := range cases {
		note := remote.note("lem", strconv.Itoa(i), c.name, c.extra)
		remote.deliver(t, eng.inst, "lem", remote.activity("lem", "Create", strconv.Itoa(i), note))
	}
	quiesce(t, eng.inst)
	sts, err := eng.client.GetAccountStatuses(context.Background(), gomastodon.ID(group.ID), &gomastodon.Pagination{Limit: 40})
	if err != nil {
		t.Fatal(err)
	}
	announced := map[string]bool{}
	for _, s := range sts {
		if s.Reblog != nil {
			announced[s.Reblog.URI] = true
		}
	}
	for i, c := range cases {
		if uri := remote.actorURI("lem") + "/statuses/" + strconv.Itoa(i); announced[uri] != c.announce {
			t.Errorf("%s: announced %v, want %v", c.name, announced[uri], c.announce)
		}
	}
}

// TestMastodonUserFollowsAGroup follows a local group from a stand-in Mastodon server: the
// group accepts at once, and its announces of what members post reach the follower's server.
func TestMastodonUserFollowsAGroup(t *testing.T) {
	eng := newDept(t, "alice")
	_, group, err := community.Create(context.Background(), eng.inst.Store, eng.inst.URL,
		community.Params{Name: "golang", KeyPair: testrig.TestKeyPair})
	if err != nil {
		t.Fatal(err)
	}
	remote := newFakeRemote(t)
	remote.addActor("mia", newKey(t))
	follow := remote.activity("mia", "Follow", "1", group.URI)
	remote.deliver(t, eng.inst, "mia", follow)
	testrig.Eventually(t, deadline, "the group accepts mia's follow", func() bool {
		for _, a := range remote.postedOfType("Accept") {
			if a["actor"] == group.URI {
				return true
			}
		}
		return false
	})

	st := eng.post(t, &gomastodon.Toot{Status: "@golang profile before optimizing", Visibility: "public"})
	testrig.Eventually(t, deadline, "the group's Announce of alice's post reaches mia's server", func() bool {
		for _, a := range remote.postedOfType("Announce") {
			if a["actor"] == group.URI && a["object"] == st.URI {
				return true
			}
		}
		return false
	})
}
