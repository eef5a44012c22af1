package federation_test

import (
	"context"
	"crypto/rsa"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"watercooler/config"
	"watercooler/federation"
	"watercooler/testrig"
)

// What became of an activity POSTed to the inbox.
const (
	stored   = "stored"   // accepted and applied: the status exists
	refused  = "refused"  // refused over HTTP: nothing queued
	rejected = "rejected" // accepted, then the worker gave up on it: dead-lettered, nothing stored
	ignored  = "ignored"  // accepted and processed to no effect, without error
)

func TestInboxSecurity(t *testing.T) {
	eng := newDept(t, "alice")
	remote := newFakeRemote(t)  // where mallory, a Mastodon user, lives
	foreign := newFakeRemote(t) // another server, whose objects mallory lies about
	malloryKey, otherKey, forgerKey := newKey(t), newKey(t), newKey(t)
	remote.addActor("mallory", malloryKey)
	remote.addActor("bob", otherKey)
	inbox := eng.inst.URL + "/inbox"
	mallory := remote.keyID("mallory")

	// createNote is a Create by mallory of a note mentioning alice, so that storing it would
	// both create a status and notify alice.
	createNote := func(id string, extra map[string]any) (map[string]any, string) {
		n := remote.note("mallory", id, "Hello alice, this is "+id, mentioning(eng))
		for k, v := range extra {
			n[k] = v
		}
		return remote.activity("mallory", "Create", id, n), n["id"].(string)
	}
	sendSigned := func(t *testing.T, body []byte, keyID string, key *rsa.PrivateKey, date time.Time) int {
		return postInbox(t, inbox, body, func(r *http.Request) { mastodonSign(r, body, keyID, key, date) })
	}

	cases := []struct {
		name string
		// send posts the case's request and returns the HTTP status and the URI of the note
		// that must (or must not) end up stored.
		send    func(t *testing.T, id string) (int, string)
		want    int
		outcome string
		// after checks more of the outcome.
		after func(t *testing.T, noteURI string)
	}{
		{
			name: "valid Create signed like Mastodon", want: http.StatusAccepted, outcome: stored,
			send: func(t *testing.T, id string) (int, string) {
				act, uri := createNote(id, nil)
				body := mustJSON(t, act)
				return sendSigned(t, body, mallory, malloryKey, time.Now()), uri
			},
		},
		{
			name: "valid Create signed by federation.SignRequest", want: http.StatusAccepted, outcome: stored,
			send: func(t *testing.T, id string) (int, string) {
				act, uri := createNote(id, nil)
				body := mustJSON(t, act)
				return postInbox(t, inbox, body, func(r *http.Request) {
					if err := federation.SignRequest(r, body, mallory, malloryKey); err != nil {
						t.Fatal(err)
					}
				}), uri
			},
		},
		{
			name: "forged signature", want: http.StatusUnauthorized, outcome: refused,
			send: func(t *testing.T, id string) (int, string) {
				act, uri := createNote(id, nil)
				return sendSigned(t, mustJSON(t, act), mallory, forgerKey, time.Now()), uri
			},
		},
		{
			name: "missing signature", want: http.StatusUnauthorized, outcome: refused,
			send: func(t *testing.T, id string) (int, string) {
				act, uri := createNote(id, nil)
				return postInbox(t, inbox, mustJSON(t, act), nil), uri
			},
		},
		{
			name: "stale Date", want: http.StatusUnauthorized, outcome: refused,
			send: func(t *testing.T, id string) (int, string) {
				act, uri := createNote(id, nil)
				return sendSigned(t, mustJSON(t, act), mallory, malloryKey, time.Now().Add(-2*time.Hour)), uri
			},
		},
		{
			name: "body changed after signing", want: http.StatusUnauthorized, outcome: refused,
			send: func(t *testing.T, id string) (int, string) {
				act, uri := createNote(id, nil)
				signed := mustJSON(t, act)
				act["object"].(map[string]any)["content"] = "<p>Changed in transit</p>"
				return postInbox(t, inbox, mustJSON(t, act), func(r *http.Request) { mastodonSign(r, signed, mallory, malloryKey, time.Now()) }), uri
			},
		},
		{
			name: "activity actor is not the signer", want: http.StatusUnauthorized, outcome: refused,
			send: func(t *testing.T, id string) (int, string) {
				n := remote.note("bob", id, "Words put in bob's mouth", mentioning(eng))
				act := remote.activity("bob", "Create", id, n)
				return sendSigned(t, mustJSON(t, act), mallory, malloryKey, time.Now()), n["id"].(string)
			},
		},
		{
			name: "Announce of a foreign object embedding a fake copy", want: http.StatusAccepted, outcome: rejected,
			send: func(t *testing.T, id string) (int, string) {
				fake := foreign.note("ceo", id, "Everyone gets a week off, alice", mentioning(eng))
				fake["attributedTo"] = foreign.actorURI("ceo")
				act := remote.activity("mallory", "Announce", id, fake)
				return sendSigned(t, mustJSON(t, act), mallory, malloryKey, time.Now()), fake["id"].(string)
			},
			after: func(t *testing.T, noteURI string) {
				// The object was looked for at its origin, which has no such thing.
				if foreign.hitsOf(strings.TrimPrefix(noteURI, foreign.srv.URL)) == 0 {
					t.Fatalf("the announced object %s was never fetched from its origin", noteURI)
				}
				if acct := eng.findAccount(t, remote.actorURI("mallory")); acct != nil {
					sts, err := eng.client.GetAccountStatuses(context.Background(), acct.ID, nil)
					if err != nil {
						t.Fatal(err)
					}
					for _, s := range sts {
						if s.Reblog != nil {
							t.Fatalf("mallory's spoofed boost was stored: %s of %s", s.URI, s.Reblog.URI)
						}
					}
				}
			},
		},
		{
			name: "Create of an object on another host", want: http.StatusAccepted, outcome: rejected,
			send: func(t *testing.T, id string) (int, string) {
				act, _ := createNote(id, map[string]any{"id": foreign.actorURI("ceo") + "/statuses/" + id})
				return sendSigned(t, mustJSON(t, act), mallory, malloryKey, time.Now()), foreign.actorURI("ceo") + "/statuses/" + id
			},
		},
		{
			name: "body over 1 MiB", want: http.StatusRequestEntityTooLarge, outcome: refused,
			send: func(t *testing.T, id string) (int, string) {
				act, uri := createNote(id, map[string]any{"content": strings.Repeat("a", 1<<20)})
				body := mustJSON(t, act)
				return announceInbox(t, inbox, body, func(r *http.Request) { mastodonSign(r, body, mallory, malloryKey, time.Now()) }), uri
			},
		},
		{
			name: "JSON nested 1000 levels deep", want: http.StatusBadRequest, outcome: refused,
			send: func(t *testing.T, id string) (int, string) {
				act, uri := createNote(id, nil)
				head := string(mustJSON(t, act))
				body := []byte(head[:len(head)-1] + `,"x":` + strings.Repeat(`{"a":`, 1000) + "1" + strings.Repeat("}", 1000) + "}")
				return sendSigned(t, body, mallory, malloryKey, time.Now()), uri
			},
		},
		{
			name: "text/plain body", want: http.StatusUnsupportedMediaType, outcome: refused,
			send: func(t *testing.T, id string) (int, string) {
				act, uri := createNote(id, nil)
				body := mustJSON(t, act)
				return postInbox(t, inbox, body, func(r *http.Request) {
					r.Header.Set("Content-Type", "text/plain")
					mastodonSign(r, body, mallory, malloryKey, time.Now())
				}), uri
			},
		},
		{
			name: "Arrive, a type nobody handles", want: http.StatusAccepted, outcome: ignored,
			send: func(t *testing.T, id string) (int, string) {
				act := remote.activity("mallory", "Arrive", id, nil)
				delete(act, "object")
				act["location"] = map[string]any{"type": "Place", "name": "Break room"}
				return sendSigned(t, mustJSON(t, act), mallory, malloryKey, time.Now()), act["id"].(string)
			},
		},
		{
			name: "Flag, a type we do not act on", want: http.StatusAccepted, outcome: ignored,
			send: func(t *testing.T, id string) (int, string) {
				act := remote.activity("mallory", "Flag", id, []any{eng.user.Account.URI})
				act["content"] = "spam"
				return sendSigned(t, mustJSON(t, act), mallory, malloryKey, time.Now()), act["id"].(string)
			},
		},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			quiesce(t, eng.inst)
			before := queueStats(t, eng.inst, "inbox")
			got, noteURI := c.send(t, fmt.Sprintf("sec%d", i))
			if got != c.want {
				t.Fatalf("POST /inbox = %d, want %d", got, c.want)
			}
			switch c.outcome {
			case stored:
				testrig.Eventually(t, deadline, "the note is stored", func() bool { return eng.findStatus(t, noteURI) != nil })
				testrig.Eventually(t, deadline, "alice is notified", func() bool { return slices.Contains(eng.mentionsOf(t), noteURI) })
				return
			case refused:
				if after := queueStats(t, eng.inst, "inbox"); after != before {
					t.Fatalf("inbox queue went from %+v to %+v, want unchanged", before, after)
				}
			case rejected, ignored:
				quiesce(t, eng.inst)
				want := before.Dead
				if c.outcome == rejected {
					want++
				}
				if after := queueStats(t, eng.inst, "inbox"); after.Dead != want {
					t.Fatalf("inbox dead letters went from %d to %d, want %d", before.Dead, after.Dead, want)
				}
			}
			if st := eng.findStatus(t, noteURI); st != nil {
				t.Fatalf("%s was stored: %q", noteURI, st.Content)
			}
			if slices.Contains(eng.mentionsOf(t), noteURI) {
				t.Fatalf("alice was notified of %s", noteURI)
			}
			if c.after != nil {
				c.after(t, noteURI)
			}
		})
	}
}

// TestInboxKeyRotation: a peer the instance already knows changes its key; the first request
// signed with the new key makes the instance refetch the key once and accept.
func TestInboxKeyRotation(t *testing.T) {
	eng := newDept(t, "alice")
	remote := newFakeRemote(t)
	oldKey, rotated := newKey(t), newKey(t)
	remote.addActor("rotor", oldKey)
	if res, err := eng.client.Search(context.Background(), remote.actorURI("rotor"), true); err != nil || len(res.Accounts) != 1 {
		t.Fatalf("alice resolves the remote actor: %v", err)
	}
	send := func(id string, key *rsa.PrivateKey) (int, string) {
		n := remote.note("rotor", id, "Signed with whatever key I have: "+id, mentioning(eng))
		body := mustJSON(t, remote.activity("rotor", "Create", id, n))
		return postInbox(t, eng.inst.URL+"/inbox", body, func(r *http.Request) {
			mastodonSign(r, body, remote.keyID("rotor"), key, time.Now())
		}), n["id"].(string)
	}
	actorPath := "/users/rotor"

	if got, _ := send("1", oldKey); got != http.StatusAccepted {
		t.Fatalf("POST signed with the key on file = %d, want 202", got)
	}
	quiesce(t, eng.inst)
	fetches := remote.hitsOf(actorPath)

	remote.setKey("rotor", rotated)
	steps := []struct {
		id      string
		key     *rsa.PrivateKey
		want    int
		fetches int // actor document fetches since the rotation
	}{
		{"2", rotated, http.StatusAccepted, 1},    // the new key: refetched once, accepted
		{"3", rotated, http.StatusAccepted, 1},    // now cached
		{"4", oldKey, http.StatusUnauthorized, 1}, // the old key is dead, and no refetch storm
	}
	for _, s := range steps {
		got, uri := send(s.id, s.key)
		if got != s.want {
			t.Fatalf("POST %s = %d, want %d", s.id, got, s.want)
		}
		if n := remote.hitsOf(actorPath) - fetches; n != s.fetches {
			t.Fatalf("after POST %s the actor was fetched %d times since the rotation, want %d", s.id, n, s.fetches)
		}
		if s.want == http.StatusAccepted {
			testrig.Eventually(t, deadline, "note "+s.id+" stored", func() bool { return eng.findStatus(t, uri) != nil })
		}
	}
}

// TestResolveRefusesPrivateAddresses: on an instance without peer networks, search with
// resolve=true never reaches loopback, unspecified or link-local addresses, however spelled.
func TestResolveRefusesPrivateAddresses(t *testing.T) {
	hardened := testrig.StartInstance(t, func(c *config.Config) { c.PeerNetworks = nil })
	open := newDept(t, "olivia") // 127.0.0.0/8 is a peer network here: the control
	user := deptOn(hardened, hardened.CreateUser(t, "harriet"))

	// Each row names a document of its own, so the control below is never answered from what
	// an earlier row stored.
	victim := newFakeRemote(t)
	for _, name := range []string{"acct", "actor"} {
		victim.addActor(name, newKey(t))
	}
	for i := range 5 {
		victim.put(victim.note("acct", fmt.Sprint(i), "Internal only", nil))
	}
	_, port, _ := net.SplitHostPort(victim.host())
	status := func(i int) string { return "/users/acct/statuses/" + fmt.Sprint(i) }

	v6 := newFakeRemote6(t)
	if v6 != nil {
		v6.addActor("acct", newKey(t))
		v6.put(v6.note("acct", "0", "Internal only", nil))
	}

	cases := []struct {
		name, q string
		server  *fakeRemote
		// control: a permissive instance (127.0.0.0/8 listed) does reach the server.
		control bool
	}{
		{"acct on loopback", "acct@127.0.0.1:" + port, victim, true},
		{"actor URL on loopback", "http://127.0.0.1:" + port + "/users/actor", victim, true},
		{"status URL on loopback", "http://127.0.0.1:" + port + status(1), victim, true},
		{"localhost", "http://localhost:" + port + status(2), victim, true},
		{"IPv4-mapped IPv6", "http://[::ffff:127.0.0.1]:" + port + status(3), victim, true},
		{"unspecified address", "http://0.0.0.0:" + port + status(4), victim, false},
		{"cloud metadata", "http://169.254.169.254/latest/meta-data/", nil, false},
		{"IPv6 loopback", "", v6, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "IPv6 loopback" {
				if v6 == nil {
					t.Skip("no IPv6 loopback here")
				}
				c.q = v6.srv.URL + status(0)
			}
			hits := 0
			if c.server != nil {
				hits = c.server.totalHits()
			}
			res, err := user.client.Search(context.Background(), c.q, true)
			if err != nil {
				t.Fatalf("search %s: %v", c.q, err)
			}
			if len(res.Accounts) != 0 || len(res.Statuses) != 0 {
				t.Fatalf("search %s found %d accounts and %d statuses, want none", c.q, len(res.Accounts), len(res.Statuses))
			}
			if c.server != nil && c.server.totalHits() != hits {
				t.Fatalf("search %s reached the server (%d requests)", c.q, c.server.totalHits()-hits)
			}
			if !c.control {
				return
			}
			// The control: where loopback is a peer network the same query does reach the
			// server, so the refusal above is the address guard's doing.
			if _, err := open.client.Search(context.Background(), c.q, true); err != nil {
				t.Fatalf("control search %s: %v", c.q, err)
			}
			if victim.totalHits() == hits {
				t.Fatalf("control search %s on a permissive instance never reached the server", c.q)
			}
		})
	}
}

// newFakeRemote6 is newFakeRemote listening on [::1], or nil where there is no IPv6 loopback.
func newFakeRemote6(t *testing.T) *fakeRemote {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return nil
	}
	return serveFakeRemote(t, ln)
}

// TestResolveRedirectLoop: a server that redirects to itself costs a bounded number of
// requests and finds nothing, for WebFinger and for object URLs alike. The count of requests is
// the bound; how long they take depends on the machine.
func TestResolveRedirectLoop(t *testing.T) {
	d := newDept(t, "alice")
	var hits atomic.Int64
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, r.URL.String(), http.StatusFound)
	}))
	t.Cleanup(loop.Close)
	host := strings.TrimPrefix(loop.URL, "http://")
	for _, q := range []string{"loop@" + host, loop.URL + "/users/loop", loop.URL + "/users/loop/statuses/1"} {
		hits.Store(0)
		res, err := d.client.Search(context.Background(), q, true)
		if err != nil {
			t.Fatalf("search %s: %v", q, err)
		}
		if len(res.Accounts) != 0 || len(res.Statuses) != 0 {
			t.Fatalf("search %s found something", q)
		}
		if n := hits.Load(); n == 0 || n > 10 {
			t.Fatalf("search %s made %d requests to the loop, want a few", q, n)
		}
	}
}
