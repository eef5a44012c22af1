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
	_, group, err := community.Create(context.Background(), eng.inst.Config, eng.inst.Store,
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
