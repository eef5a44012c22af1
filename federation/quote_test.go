package federation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/store"
	"watercooler/testrig"
)

// quoteState reads the quote attribute of a status on d's instance as d sees it: its state and
// whether the quoted status is shown.
func (d *dept) quoteState(t *testing.T, statusID string) (state string, shown bool) {
	t.Helper()
	var doc struct {
		Quote *struct {
			State        string          `json:"state"`
			QuotedStatus json.RawMessage `json:"quoted_status"`
		} `json:"quote"`
	}
	d.getJSON(t, "/api/v1/statuses/"+statusID, &doc)
	if doc.Quote == nil {
		return "", false
	}
	return doc.Quote.State, len(doc.Quote.QuotedStatus) > 0 && string(doc.Quote.QuotedStatus) != "null"
}

// waitStored waits until d's instance has stored the status with that URI and returns its id.
func (d *dept) waitStored(t *testing.T, uri string) string {
	t.Helper()
	var id string
	testrig.Eventually(t, deadline, uri+" stored", func() bool {
		if st := d.findStatus(t, uri); st != nil {
			id = string(st.ID)
		}
		return id != ""
	})
	return id
}

// apiPost POSTs to a client API path as d's user and decodes a 200 answer into out.
func (d *dept) apiPost(t *testing.T, path string, out any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, d.inst.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+d.user.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s = %d, want 200", path, resp.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

// TestQuoteIncomingStamps: a remote quote post counts as accepted only when its stamp, fetched
// from the quoted author's server, names the quoted author, this quote and the quoted post (or
// when it quotes its own author). Anything else stays pending and never shows the quoted post;
// the quoted author's Delete of the stamp revokes it, the quoter's does not.
func TestQuoteIncomingStamps(t *testing.T) {
	d := newDept(t, "alice")
	r := newFakeRemote(t)
	r.addActor("carol", newKey(t))
	r.addActor("mallory", newKey(t))
	quoted := r.note("carol", "quoted", "the quoted words", nil)
	r.put(quoted)
	quotedURI := quoted["id"].(string)
	own := r.note("mallory", "own", "mallory's own words", nil)
	r.put(own)

	stamp := func(i int, attributedTo, interacting, target string) map[string]any {
		return map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams", "id": r.srv.URL + "/stamps/" + strconv.Itoa(i), "type": "QuoteAuthorization",
			"attributedTo": attributedTo, "interactingObject": interacting, "interactionTarget": target,
		}
	}
	quoteURI := func(i int) string { return r.actorURI("mallory") + "/statuses/quote" + strconv.Itoa(i) }
	cases := []struct {
		name   string
		quotes string
		stamp  map[string]any // served at its id; nil: no quoteAuthorization
		served bool
		want   string
	}{
		{"stamp of the quoted author", quotedURI, stamp(0, r.actorURI("carol"), quoteURI(0), quotedURI), true, store.QuoteAccepted},
		{"stamp made by the quoter", quotedURI, stamp(1, r.actorURI("mallory"), quoteURI(1), quotedURI), true, store.QuotePending},
		{"stamp of another quote", quotedURI, stamp(2, r.actorURI("carol"), quoteURI(99), quotedURI), true, store.QuotePending},
		{"stamp of another post", quotedURI, stamp(3, r.actorURI("carol"), quoteURI(3), own["id"].(string)), true, store.QuotePending},
		{"stamp not served", quotedURI, stamp(4, r.actorURI("carol"), quoteURI(4), quotedURI), false, store.QuotePending},
		{"no stamp", quotedURI, nil, false, store.QuotePending},
		{"quoting oneself", own["id"].(string), nil, false, store.QuoteAccepted},
	}
	ids := make([]string, len(cases))
	for i, tc := range cases {
		extra := map[string]any{"quote": tc.quotes, "_misskey_quote": tc.quotes}
		if tc.stamp != nil {
			extra["quoteAuthorization"] = tc.stamp["id"]
			if tc.served {
				r.put(tc.stamp)
			}
		}
		note := r.note("mallory", "quote"+strconv.Itoa(i), tc.name, extra)
		r.deliver(t, d.inst, "mallory", r.activity("mallory", "Create", "quote"+strconv.Itoa(i), note))
	}
	for i, tc := range cases {
		ids[i] = d.waitStored(t, quoteURI(i))
		t.Run(tc.name, func(t *testing.T) {
			state, shown := d.quoteState(t, ids[i])
			if state != tc.want || shown != (tc.want == store.QuoteAccepted) {
				t.Errorf("quote state %q, quoted status shown %v; want %q", state, shown, tc.want)
			}
		})
	}

	// Only the quoted author's Delete of the stamp revokes the quote.
	deleteStamp := func(by string) map[string]any {
		return r.activity(by, "Delete", "stamp0-by-"+by, map[string]any{"id": cases[0].stamp["id"], "type": "QuoteAuthorization"})
	}
	r.deliver(t, d.inst, "mallory", deleteStamp("mallory"))
	quiesce(t, d.inst)
	if state, _ := d.quoteState(t, ids[0]); state != store.QuoteAccepted {
		t.Fatalf("after the quoter deleted the stamp: state %q, want accepted", state)
	}
	r.deliver(t, d.inst, "carol", deleteStamp("carol"))
	testrig.Eventually(t, deadline, "quote revoked by the quoted author's Delete", func() bool {
		state, shown := d.quoteState(t, ids[0])
		return state == store.QuoteRevoked && !shown
	})
}

// TestQuoteRequestAnsweredByPolicy: a remote QuoteRequest of a local post is answered under the
// post's policy, Accept with a stamp that we serve, or Reject; an accepted quote notifies the
// author and lists among the post's quotes, and revoking it deletes the stamp.
func TestQuoteRequestAnsweredByPolicy(t *testing.T) {
	ctx := context.Background()
	d := newDept(t, "alice")
	r := newFakeRemote(t)
	r.addActor("mallory", newKey(t))
	mallory := d.resolve(t, r.acct("mallory"))
	malloryAccount, err := d.inst.Store.Account(ctx, string(mallory.ID))
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name, policy string
		follows      bool
		want         string
	}{
		{"anybody may quote", store.QuotePublic, false, "Accept"},
		{"followers only, not a follower", store.QuoteFollowers, false, "Reject"},
		{"nobody but the author", store.QuoteNobody, false, "Reject"},
		{"followers only, a follower", store.QuoteFollowers, true, "Accept"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.follows {
				if err := d.inst.Store.Follow(ctx, malloryAccount, d.user.Account, store.FollowOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			post := d.post(t, &gomastodon.Toot{Status: fmt.Sprintf("quotable %d", i), Visibility: "public"})
			if _, err := d.inst.Store.SetQuotePolicy(ctx, string(post.ID), tc.policy); err != nil {
				t.Fatal(err)
			}
			quote := r.note("mallory", "q"+strconv.Itoa(i), "quoting alice", map[string]any{"quote": post.URI})
			requestID := quote["id"].(string) + "#quote_request"
			request := map[string]any{
				"@context": "https://www.w3.org/ns/activitystreams", "id": requestID, "type": "QuoteRequest",
				"actor": r.actorURI("mallory"), "object": post.URI, "instrument": quote,
			}
			r.deliver(t, d.inst, "mallory", request)
			var answer map[string]any
			testrig.Eventually(t, deadline, tc.want+" of the QuoteRequest", func() bool {
				for _, a := range r.postedOfType(tc.want) {
					if obj, ok := a["object"].(map[string]any); ok && obj["id"] == requestID {
						answer = a
					}
				}
				return answer != nil
			})
			if answer["actor"] != d.user.Account.URI {
				t.Errorf("answer actor = %v, want alice", answer["actor"])
			}
			quoteID := d.waitStored(t, quote["id"].(string))
			var quotes []struct {
				ID string `json:"id"`
			}
			d.getJSON(t, "/api/v1/statuses/"+string(post.ID)+"/quotes", &quotes)
			if listed := len(quotes) == 1 && quotes[0].ID == quoteID; listed != (tc.want == "Accept") {
				t.Errorf("quotes of the post = %+v, want mallory's listed: %v", quotes, tc.want == "Accept")
			}
			if tc.want != "Accept" {
				if state, shown := d.quoteState(t, quoteID); state != store.QuoteRejected || shown {
					t.Errorf("refused quote reads %q (shown %v), want rejected", state, shown)
				}
				return
			}

			stampURI, _ := answer["result"].(string)
			status, _, body := fetch(t, http.DefaultClient, stampURI, "Accept", "application/activity+json")
			var doc map[string]any
			if status != http.StatusOK || json.Unmarshal(body, &doc) != nil {
				t.Fatalf("GET stamp %s = %d %s", stampURI, status, body)
			}
			want := map[string]any{"id": stampURI, "type": "QuoteAuthorization", "attributedTo": d.user.Account.URI,
				"interactingObject": quote["id"], "interactionTarget": post.URI}
			for k, v := range want {
				if doc[k] != v {
					t.Errorf("stamp %s = %v, want %v", k, doc[k], v)
				}
			}
			if state, shown := d.quoteState(t, quoteID); state != store.QuoteAccepted || !shown {
				t.Errorf("accepted quote reads %q (shown %v)", state, shown)
			}
			d.waitNotification(t, "quote", r.acct("mallory"))

			d.apiPost(t, "/api/v1/statuses/"+string(post.ID)+"/quotes/"+quoteID+"/revoke", nil)
			testrig.Eventually(t, deadline, "Delete of the stamp sent to the quoter", func() bool {
				for _, a := range r.postedOfType("Delete") {
					if obj, ok := a["object"].(map[string]any); ok && obj["id"] == stampURI && obj["type"] == "QuoteAuthorization" {
						return true
					}
				}
				return false
			})
			if status, _, _ := fetch(t, http.DefaultClient, stampURI, "Accept", "application/activity+json"); status != http.StatusNotFound {
				t.Errorf("GET revoked stamp = %d, want 404", status)
			}
		})
	}
}

// TestQuotePolicyUpdateIsNoEdit: an Update that changes only who may quote a post (or brings a
// quote's stamp) changes the policy without showing the post as edited; one that changes its
// text is an edit.
func TestQuotePolicyUpdateIsNoEdit(t *testing.T) {
	d := newDept(t, "alice")
	r := newFakeRemote(t)
	r.addActor("carol", newKey(t))
	canQuote := func(who ...any) map[string]any {
		return map[string]any{"canQuote": map[string]any{"automaticApproval": who}}
	}
	note := r.note("carol", "policy", "quote me", map[string]any{"interactionPolicy": canQuote(publicAudience)})
	r.deliver(t, d.inst, "carol", r.activity("carol", "Create", "policy", note))
	id := d.waitStored(t, note["id"].(string))
	read := func() (automatic []any, editedAt any) {
		var doc map[string]any
		d.getJSON(t, "/api/v1/statuses/"+id, &doc)
		approval, _ := doc["quote_approval"].(map[string]any)
		automatic, _ = approval["automatic"].([]any)
		return automatic, doc["edited_at"]
	}
	if automatic, _ := read(); len(automatic) != 1 || automatic[0] != "public" {
		t.Fatalf("automatic = %v, want [public] from canQuote", automatic)
	}

	note["interactionPolicy"] = canQuote(r.actorURI("carol"))
	r.deliver(t, d.inst, "carol", r.activity("carol", "Update", "policy-1", note))
	testrig.Eventually(t, deadline, "policy narrowed to nobody", func() bool {
		automatic, _ := read()
		return len(automatic) == 0
	})
	if _, editedAt := read(); editedAt != nil {
		t.Errorf("a policy change shows as an edit at %v", editedAt)
	}
	note["content"] = "<p>quote me, edited</p>"
	r.deliver(t, d.inst, "carol", r.activity("carol", "Update", "policy-2", note))
	testrig.Eventually(t, deadline, "the text edit", func() bool {
		_, editedAt := read()
		return editedAt != nil
	})
}

// apiForm sends a form to a client API path as d's user and returns the status and body.
func (d *dept) apiForm(t *testing.T, method, path string, form url.Values) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, d.inst.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+d.user.Token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// TestFederationQuoteAcrossInstances: bob on one instance quotes alice's post on another. His
// quote is pending until alice's instance accepts his QuoteRequest with a stamp, then accepted
// on both; alice is notified and sees it among her post's quotes; when she revokes it, bob's
// copy shows it revoked. A post whose federated policy lets nobody quote it is refused at once.
func TestFederationQuoteAcrossInstances(t *testing.T) {
	ctx := context.Background()
	eng, sales := newDept(t, "alice"), newDept(t, "bob")
	post := eng.post(t, &gomastodon.Toot{Status: "Quarterly numbers are in", Visibility: "public"})
	res, err := sales.client.Search(ctx, post.URI, true)
	if err != nil || len(res.Statuses) != 1 {
		t.Fatalf("bob resolves alice's post: %v, %d statuses", err, len(res.Statuses))
	}
	onSales := res.Statuses[0].ID

	code, body := sales.apiForm(t, http.MethodPost, "/api/v1/statuses", url.Values{"status": {"Great quarter!"}, "quoted_status_id": {string(onSales)}})
	var quote struct {
		ID    string `json:"id"`
		URI   string `json:"uri"`
		Quote struct {
			State string `json:"state"`
		} `json:"quote"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &quote) != nil {
		t.Fatalf("bob posts the quote: %d %s", code, body)
	}
	if quote.Quote.State != store.QuotePending {
		t.Errorf("a quote of a remote post starts %q, want pending", quote.Quote.State)
	}
	testrig.Eventually(t, deadline, "bob's quote accepted by alice's instance", func() bool {
		state, shown := sales.quoteState(t, quote.ID)
		return state == store.QuoteAccepted && shown
	})
	eng.waitNotification(t, "quote", sales.acct())
	onEng := eng.waitStored(t, quote.URI)
	if state, shown := eng.quoteState(t, onEng); state != store.QuoteAccepted || !shown {
		t.Errorf("bob's quote on alice's instance reads %q (shown %v)", state, shown)
	}
	var quotes []struct {
		ID string `json:"id"`
	}
	eng.getJSON(t, "/api/v1/statuses/"+string(post.ID)+"/quotes", &quotes)
	if len(quotes) != 1 || quotes[0].ID != onEng {
		t.Errorf("quotes of alice's post = %+v, want bob's %s", quotes, onEng)
	}

	eng.apiPost(t, "/api/v1/statuses/"+string(post.ID)+"/quotes/"+onEng+"/revoke", nil)
	testrig.Eventually(t, deadline, "revocation reaches bob's instance", func() bool {
		state, shown := sales.quoteState(t, quote.ID)
		return state == store.QuoteRevoked && !shown
	})

	// Alice lets nobody quote her next post; bob's instance knows it from the Note's canQuote.
	closed := eng.post(t, &gomastodon.Toot{Status: "Not for quoting", Visibility: "public"})
	if code, body := eng.apiForm(t, http.MethodPut, "/api/v1/statuses/"+string(closed.ID)+"/interaction_policy", url.Values{"quote_approval_policy": {"nobody"}}); code != http.StatusOK {
		t.Fatalf("alice sets the policy: %d %s", code, body)
	}
	res, err = sales.client.Search(ctx, closed.URI, true)
	if err != nil || len(res.Statuses) != 1 {
		t.Fatalf("bob resolves alice's second post: %v", err)
	}
	code, body = sales.apiForm(t, http.MethodPost, "/api/v1/statuses", url.Values{"status": {"Quoting anyway"}, "quoted_status_id": {string(res.Statuses[0].ID)}})
	if code != http.StatusForbidden {
		t.Errorf("quoting a post nobody may quote = %d %s, want 403", code, body)
	}
}
