package federation_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/federation"
	"watercooler/store"
	"watercooler/testrig"
)

func TestCrashDeliveriesSurviveReceiverDowntime(t *testing.T) {
	ctx := context.Background()
	eng, sales := newDept(t, "alice"), newDept(t, "bob")
	eng.follow(t, sales)

	eng.inst.Stop()
	const n = 5
	for i := range n {
		sales.post(t, &gomastodon.Toot{Status: fmt.Sprintf("Posted while eng was down, number %d", i), Visibility: "public"})
	}
	// Every delivery failed at least once and waits for its retry; none was given up.
	testrig.Eventually(t, deadline, "the sender holds all deliveries as retries", func() bool {
		s := queueStats(t, sales.inst, "delivery")
		return s.Retrying == n && s.Dead == 0
	})

	// The retries keep coming for minutes (testrig.FastFederation), and a probe notices the
	// return within its interval, so on a busy machine this takes longer but never fails.
	eng.inst.Restart(t)
	testrig.Eventually(t, deadline, "all posts reach alice after eng restarts", func() bool {
		sts, err := eng.client.GetTimelineHome(ctx, nil)
		if err != nil {
			return false
		}
		got := 0
		for _, s := range sts {
			if strings.Contains(s.Content, "Posted while eng was down") {
				got++
			}
		}
		return got == n
	})
	quiesce(t, eng.inst, sales.inst)
	if s := queueStats(t, sales.inst, "delivery"); s != (store.QueueStats{}) {
		t.Fatalf("sender's delivery queue after recovery = %+v, want empty with no dead letters", s)
	}
}

// TestCrashUnfinishedJobIsReclaimed hands a job to a consumer that never finishes it, as a
// worker killed mid-job would, and checks that a restarted process takes it over and completes it.
func TestCrashUnfinishedJobIsReclaimed(t *testing.T) {
	cases := []struct {
		queue string
		// enqueue puts bob's Create into the queue while the instance holding that queue is down.
		enqueue func(t *testing.T, eng, sales *dept, body []byte) *testrig.Instance
	}{
		{"delivery", func(t *testing.T, eng, sales *dept, body []byte) *testrig.Instance {
			sales.inst.Stop()
			inboxes, err := sales.inst.Store.RemoteFollowerInboxes(context.Background(), sales.user.Account.ID)
			if err != nil || len(inboxes) != 1 {
				t.Fatalf("bob's follower inboxes = %v, %v; want alice's instance", inboxes, err)
			}
			if err := sales.inst.Federator.Deliver(context.Background(), sales.user.Account.URI+"/statuses/reclaimed/activity", body, sales.user.Account.ID, inboxes); err != nil {
				t.Fatal(err)
			}
			return sales.inst
		}},
		{"inbox", func(t *testing.T, eng, sales *dept, body []byte) *testrig.Instance {
			// The stopped process's inbox handler still verifies and queues: serve it alone.
			eng.inst.Stop()
			srv := httptest.NewServer(eng.inst.Federator.Handler())
			defer srv.Close()
			_, key, _ := testrig.TestKeyPair()
			priv, err := federation.ParsePrivateKey(key)
			if err != nil {
				t.Fatal(err)
			}
			sign := func(r *http.Request) { mastodonSign(r, body, sales.user.Account.PublicKeyID, priv, time.Now()) }
			if got := postInbox(t, srv.URL+"/inbox", body, sign); got != http.StatusAccepted {
				t.Fatalf("POST to the stopped instance's inbox handler = %d, want 202", got)
			}
			return eng.inst
		}},
	}
	for _, c := range cases {
		t.Run(c.queue, func(t *testing.T) {
			ctx := context.Background()
			eng, sales := newDept(t, "alice"), newDept(t, "bob")
			eng.follow(t, sales)
			// The follow is visible before its Accept's job is acknowledged: let that settle, so
			// that the job the crash leaves pending is the only one.
			quiesce(t, eng.inst, sales.inst)
			bob := sales.user.Account
			text := "Recovered from a dead " + c.queue + " worker"
			body := mustJSON(t, map[string]any{
				"@context": "https://www.w3.org/ns/activitystreams",
				"id":       bob.URI + "/statuses/reclaimed/activity", "type": "Create", "actor": bob.URI,
				"to": []any{publicAudience}, "cc": []any{bob.FollowersURI},
				"object": map[string]any{
					"id": bob.URI + "/statuses/reclaimed", "type": "Note", "attributedTo": bob.URI,
					"content": "<p>" + text + "</p>", "to": []any{publicAudience}, "cc": []any{bob.FollowersURI},
					"published": time.Now().UTC().Format(time.RFC3339),
				},
			})
			owner := c.enqueue(t, eng, sales, body)

			q := owner.Store.Queue(c.queue)
			jobs, err := q.Read(ctx, "doomed-consumer", 1, time.Second)
			if err != nil || len(jobs) != 1 {
				t.Fatalf("doomed consumer read %d jobs, %v; want 1", len(jobs), err)
			}
			if s := queueStats(t, owner, c.queue); s.Pending != 1 {
				t.Fatalf("%s queue = %+v, want the job pending with the doomed consumer", c.queue, s)
			}

			owner.Restart(t)
			eng.waitHome(t, "the reclaimed job's post reaches alice", contains(text))
			testrig.Eventually(t, deadline, "the reclaimed job is settled", func() bool {
				return queueStats(t, owner, c.queue) == store.QueueStats{}
			})
		})
	}
}

// TestCrashLeasesDecideWhoResumes hands three delivery jobs to three consumers, as if their
// processes died mid-job, and restarts the sender: the job of its own predecessor (same consumer
// name, lease not yet lapsed) is resumed at once, the job of a consumer whose lease lapsed is
// taken over at once, and the job of a consumer whose lease is alive, a slow worker, stays with
// it until its lease ends.
func TestCrashLeasesDecideWhoResumes(t *testing.T) {
	ctx := context.Background()
	eng, sales := newDept(t, "alice"), newDept(t, "bob")
	eng.follow(t, sales)
	sales.inst.Stop()
	bob := sales.user.Account
	inboxes, err := sales.inst.Store.RemoteFollowerInboxes(ctx, bob.ID)
	if err != nil || len(inboxes) != 1 {
		t.Fatalf("bob's follower inboxes = %v, %v; want alice's instance", inboxes, err)
	}
	own := sales.inst.Federator.Consumer()
	holders := []struct {
		consumer string
		lease    bool
		text     string
	}{
		{own, true, "Held by the process that restarted"},
		{"lapsed-worker", false, "Held by a process that never came back"},
		{"slow-worker", true, "Held by a slow live worker"},
	}
	q := sales.inst.Store.Queue("delivery")
	for i, h := range holders {
		id := fmt.Sprintf("%s/statuses/held%d", bob.URI, i)
		body := mustJSON(t, map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams",
			"id":       id + "/activity", "type": "Create", "actor": bob.URI,
			"to": []any{publicAudience}, "cc": []any{bob.FollowersURI},
			"object": map[string]any{
				"id": id, "type": "Note", "attributedTo": bob.URI,
				"content": "<p>" + h.text + "</p>", "to": []any{publicAudience}, "cc": []any{bob.FollowersURI},
				"published": time.Now().UTC().Format(time.RFC3339),
			},
		})
		if err := sales.inst.Federator.Deliver(ctx, id+"/activity", body, bob.ID, inboxes); err != nil {
			t.Fatal(err)
		}
		if jobs, err := q.Read(ctx, h.consumer, 1, time.Second); err != nil || len(jobs) != 1 {
			t.Fatalf("%s read %d jobs, %v; want 1", h.consumer, len(jobs), err)
		}
		if h.lease {
			// An hour: far longer than the test, so only the lease decides.
			if err := sales.inst.Store.TakeLease(ctx, h.consumer, "token-of-"+h.consumer, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
	}

	sales.inst.Restart(t)
	eng.waitHome(t, "the restarted process resumes its predecessor's job", contains(holders[0].text))
	eng.waitHome(t, "the lapsed consumer's job is taken over", contains(holders[1].text))
	// Both have been handled, so the maintain loop has looked at every consumer by now.
	testrig.Eventually(t, deadline, "only the slow worker's job is left", func() bool {
		// Queued counts the entry too: a pending job stays in the stream until settled.
		return queueStats(t, sales.inst, "delivery") == store.QueueStats{Queued: 1, Pending: 1}
	})
	if jobs, _, err := q.Resume(ctx, "slow-worker", "0", 10); err != nil || len(jobs) != 1 {
		t.Fatalf("the slow worker holds %d jobs, %v; want its own one", len(jobs), err)
	}
	for _, s := range homeTexts(t, eng) {
		if strings.Contains(s, holders[2].text) {
			t.Fatal("the slow live worker's job was taken from it")
		}
	}

	// The slow worker's process ends: its job moves on at once.
	if err := sales.inst.Store.ReleaseLease(ctx, "slow-worker", "token-of-slow-worker"); err != nil {
		t.Fatal(err)
	}
	eng.waitHome(t, "the slow worker's job is taken over once its lease ends", contains(holders[2].text))
	quiesce(t, eng.inst, sales.inst)
	got := map[string]int{}
	for _, s := range homeTexts(t, eng) {
		for _, h := range holders {
			if strings.Contains(s, h.text) {
				got[h.text]++
			}
		}
	}
	for _, h := range holders {
		if got[h.text] != 1 {
			t.Errorf("alice's home holds %q %d times, want once", h.text, got[h.text])
		}
	}
}

// homeTexts lists the contents of d's home timeline.
func homeTexts(t *testing.T, d *dept) []string {
	t.Helper()
	sts, err := d.client.GetTimelineHome(context.Background(), &gomastodon.Pagination{Limit: 40})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range sts {
		out = append(out, s.Content)
	}
	return out
}

func TestCrashDuplicateDeliveryStoresOnce(t *testing.T) {
	eng := newDept(t, "alice")
	remote := newFakeRemote(t)
	remote.addActor("dupe", newKey(t))
	note := remote.note("dupe", "1", "Said once, delivered twice", mentioning(eng))
	create := remote.activity("dupe", "Create", "1", note)

	remote.deliver(t, eng.inst, "dupe", create)
	remote.deliver(t, eng.inst, "dupe", create)                                             // a retry after a lost 202
	quiesce(t, eng.inst)                                                                    // so the next one cannot overtake
	remote.deliver(t, eng.inst, "dupe", remote.activity("dupe", "Create", "1-again", note)) // same note, new activity id
	quiesce(t, eng.inst)

	acct := eng.findAccount(t, remote.actorURI("dupe"))
	if acct == nil {
		t.Fatal("the sender's account is unknown on the receiving side")
	}
	sts, err := eng.client.GetAccountStatuses(context.Background(), acct.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 1 || sts[0].URI != note["id"] || acct.StatusesCount != 1 {
		t.Fatalf("receiver stored %d statuses (statuses_count %d), want exactly %s", len(sts), acct.StatusesCount, note["id"])
	}
	mentions := 0
	for _, uri := range eng.mentionsOf(t) {
		if uri == note["id"] {
			mentions++
		}
	}
	if mentions != 1 {
		t.Fatalf("alice was notified %d times, want once", mentions)
	}
}

// TestCrashOutOfOrderArrivals delivers the later of two activities first and waits until it is
// processed before the earlier one arrives: the end state must be the one the sender meant.
func TestCrashOutOfOrderArrivals(t *testing.T) {
	eng := newDept(t, "alice")
	remote := newFakeRemote(t)
	key := newKey(t)
	cases := []struct {
		name        string
		first, then func(actor string) map[string]any
		check       func(t *testing.T, actor string)
	}{
		{
			name: "Delete before Create leaves no status",
			first: func(actor string) map[string]any {
				return remote.activity(actor, "Delete", "1", map[string]any{"id": remote.actorURI(actor) + "/statuses/1", "type": "Tombstone"})
			},
			then: func(actor string) map[string]any {
				return remote.activity(actor, "Create", "1", remote.note(actor, "1", "Deleted before it arrived", mentioning(eng)))
			},
			check: func(t *testing.T, actor string) {
				if st := eng.findStatus(t, remote.actorURI(actor)+"/statuses/1"); st != nil {
					t.Fatalf("status stored despite its Delete: %q", st.Content)
				}
				for _, uri := range eng.mentionsOf(t) {
					if strings.HasPrefix(uri, remote.actorURI(actor)+"/") {
						t.Fatalf("alice notified of deleted %s", uri)
					}
				}
			},
		},
		{
			name: "Undo Follow before Follow leaves no follow",
			first: func(actor string) map[string]any {
				follow := map[string]any{"id": remote.actorURI(actor) + "#follows/1", "type": "Follow", "actor": remote.actorURI(actor), "object": eng.user.Account.URI}
				return remote.activity(actor, "Undo", "1", follow)
			},
			then: func(actor string) map[string]any {
				follow := map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": remote.actorURI(actor) + "#follows/1", "type": "Follow", "actor": remote.actorURI(actor), "object": eng.user.Account.URI}
				return follow
			},
			check: func(t *testing.T, actor string) {
				followers, err := eng.client.GetAccountFollowers(context.Background(), eng.id(), nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range followers {
					if f.Acct == remote.acct(actor) {
						t.Fatalf("%s follows alice after its Follow was undone", f.Acct)
					}
				}
				if accepts := remote.postedOfType("Accept"); len(accepts) != 0 {
					t.Fatalf("alice's instance accepted an undone follow: %v", accepts)
				}
			},
		},
		{
			name: "Update before Create keeps the edit, stored once",
			first: func(actor string) map[string]any {
				n := remote.note(actor, "1", "Second draft", map[string]any{"updated": time.Now().UTC().Format(time.RFC3339)})
				return remote.activity(actor, "Update", "1", n)
			},
			then: func(actor string) map[string]any {
				return remote.activity(actor, "Create", "1", remote.note(actor, "1", "First draft", nil))
			},
			check: func(t *testing.T, actor string) {
				acct := eng.findAccount(t, remote.actorURI(actor))
				if acct == nil {
					t.Fatal("sender unknown on the receiving side")
				}
				sts, err := eng.client.GetAccountStatuses(context.Background(), acct.ID, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(sts) != 1 || !strings.Contains(sts[0].Content, "Second draft") {
					var got []string
					for _, s := range sts {
						got = append(got, s.Content)
					}
					t.Fatalf("statuses = %q, want one with the second draft", got)
				}
			},
		},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			actor := fmt.Sprintf("ooo%d", i)
			remote.addActor(actor, key)
			remote.deliver(t, eng.inst, actor, c.first(actor))
			quiesce(t, eng.inst)
			remote.deliver(t, eng.inst, actor, c.then(actor))
			quiesce(t, eng.inst)
			if eng.findAccount(t, remote.actorURI(actor)) == nil {
				t.Fatal("the activities were never processed: their actor is unknown")
			}
			c.check(t, actor)
		})
	}
}
