package federation_test

import (
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"watercooler/config"
	"watercooler/federation"
	"watercooler/store"
	"watercooler/testrig"
)

// TestRemoteAddressingDecidesRecipients: a remote note reaches a local user only when it is
// addressed to them. A Mention tag naming alice on a note addressed to trent alone must not
// put it in her home or notifications, while notes addressed to her arrive, tagged or not.
func TestRemoteAddressingDecidesRecipients(t *testing.T) {
	d := newDept(t, "alice")
	r := newFakeRemote(t)
	r.addActor("mallory", newKey(t))
	r.addActor("trent", newKey(t))
	alice := d.user.Account
	mention := []any{map[string]any{"type": "Mention", "href": alice.URI, "name": "@" + d.acct()}}
	// Mallory is a stranger whose private mentions the default policy sets aside as a request;
	// this test is about addressing, so alice accepts them.
	policy := store.DefaultNotificationPolicy()
	policy.ForPrivateMentions = store.PolicyAccept
	if err := d.inst.Store.SetNotificationPolicy(context.Background(), alice.ID, policy); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name       string
		to         []any
		tag        []any
		home, note bool // in alice's home; a mention notification for her
	}{
		{"addressed to trent, Mention tag of alice", []any{r.actorURI("trent")}, mention, false, false},
		{"cc trent's followers, Mention tag of alice", []any{r.actorURI("trent") + "/followers"}, mention, false, false},
		{"addressed to alice and tagged", []any{alice.URI}, mention, true, true},
		// Mastodon calls this a silent mention; we notify, as the store knows no silent kind.
		{"addressed to alice without a tag", []any{alice.URI}, nil, true, true},
	}
	uris := make([]string, len(cases))
	for i, c := range cases {
		id := "addr" + string(rune('a'+i))
		note := r.note("mallory", id, c.name, map[string]any{"to": c.to, "cc": []any{}, "tag": c.tag})
		if c.tag == nil {
			delete(note, "tag")
		}
		uris[i] = note["id"].(string)
		act := r.activity("mallory", "Create", id, note)
		act["to"] = c.to
		r.deliver(t, d.inst, "mallory", act)
	}
	for i, c := range cases {
		if c.home {
			d.waitHome(t, c.name+" reaches alice", withURI(uris[i]))
		}
	}
	quiesce(t, d.inst)
	notified := map[string]bool{}
	for _, uri := range d.mentionsOf(t) {
		notified[uri] = true
	}
	inHome := map[string]bool{}
	for _, s := range d.home(t) {
		inHome[s.URI] = true
	}
	for i, c := range cases {
		if inHome[uris[i]] != c.home || notified[uris[i]] != c.note {
			t.Errorf("%s: in alice's home %v, mention notification %v; want %v, %v", c.name, inHome[uris[i]], notified[uris[i]], c.home, c.note)
		}
		if !c.home && d.findStatus(t, uris[i]) != nil {
			t.Errorf("%s: alice can read it", c.name)
		}
	}
}

// startLoggedFederator runs the federation side of an instance (its documents, inbox and
// workers) with its log kept for the test to read.
func startLoggedFederator(t *testing.T) (*testrig.Instance, *testrig.LogBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.URL = "http://" + ln.Addr().String()
	cfg.PeerNetworks, _ = config.ParseNetworks("127.0.0.0/8")
	st := testrig.NewStore(t, cfg.Domain())
	logs := &testrig.LogBuffer{}
	fed, err := federation.New(context.Background(), cfg, st, slog.New(slog.NewTextHandler(logs, nil)), testrig.FastFederation())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(fed.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); fed.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; srv.Close() })
	return &testrig.Instance{URL: cfg.URL, Config: cfg, Store: st, Federator: fed}, logs
}

// TestInboxLogsWhyNothingWasStored: an inbound activity that ends without storing anything
// leaves one log line naming the activity, its type, its actor and the reason.
func TestInboxLogsWhyNothingWasStored(t *testing.T) {
	inst, logs := startLoggedFederator(t)
	r := newFakeRemote(t)
	r.addActor("mallory", newKey(t))
	note := r.note("mallory", "n1", "Said once", nil)
	gone := r.note("mallory", "n2", "Deleted before it came", nil)
	r.put(note)

	cases := []struct {
		act    map[string]any
		reason string
	}{
		{r.activity("mallory", "Create", "first", note), ""}, // stored: no line
		{r.activity("mallory", "Create", "again", note), "already stored"},
		{r.activity("mallory", "Like", "l1", "http://elsewhere.example/statuses/1"), "not stored here"},
		{r.activity("mallory", "Undo", "u1", r.actorURI("mallory")+"#likes/never"), "nothing stored here"},
		{r.activity("mallory", "Listen", "x1", "http://elsewhere.example/songs/1"), "unsupported activity type"},
		{r.activity("mallory", "Delete", "d1", gone["id"]), "not stored here"},
		{r.activity("mallory", "Create", "late", gone), "was deleted"},
	}
	for _, c := range cases {
		r.deliver(t, inst, "mallory", c.act)
		quiesce(t, inst) // in order: a duplicate or late Create must find what came before
	}
	lines := logs.Lines()
	for _, c := range cases {
		id := c.act["id"].(string)
		var found []string
		for _, l := range lines {
			if strings.Contains(l, "activity="+id+" ") {
				found = append(found, l)
			}
		}
		if c.reason == "" {
			if len(found) != 0 {
				t.Errorf("stored %s %s, yet the log says %q", c.act["type"], id, found)
			}
			continue
		}
		want := []string{"type=" + c.act["type"].(string), "actor=" + r.actorURI("mallory"), c.reason}
		if len(found) != 1 || !containsAll(found[0], want) {
			t.Errorf("log lines of %s %s = %q, want one with %q", c.act["type"], id, found, want)
		}
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
