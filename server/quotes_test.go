package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/store"
	"watercooler/testrig"
)

// quoteOf stores a quote post of quoted by author straight in the store, in state, for tests
// about reading quotes that should not depend on posting them.
func quoteOf(t testing.TB, inst *testrig.Instance, author *store.Account, quoted *store.Status, state string) *store.Status {
	t.Helper()
	return storeStatus(t, inst, author, store.Status{
		Content: "<p>look at this</p>",
		Quote:   &store.QuoteRef{StatusID: quoted.ID, URI: quoted.URI, AccountID: quoted.AccountID, State: state},
	})
}

// rawStatus reads one status as raw JSON, to check the entity's shape field by field.
func rawStatus(t testing.TB, inst *testrig.Instance, id, token string) map[string]any {
	t.Helper()
	var doc map[string]any
	apiGet(t, inst.API("/api/v1/statuses/%s", id), token).ok(t, &doc)
	return doc
}

func TestQuoteEntityShape(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	original := storeStatus(t, inst, alice.Account, store.Status{Content: "<p>original</p>"})
	quote := quoteOf(t, inst, bob.Account, original, store.QuoteAccepted)
	nested := quoteOf(t, inst, carol.Account, quote, store.QuoteAccepted)

	doc := rawStatus(t, inst, quote.ID, carol.Token)
	if got := jsonPath(doc, "quote", "state"); got != "accepted" {
		t.Fatalf("quote.state = %v, want accepted; %v", got, doc["quote"])
	}
	if got := jsonPath(doc, "quote", "quoted_status", "id"); got != original.ID {
		t.Errorf("quote.quoted_status.id = %v, want %s", got, original.ID)
	}
	if got := jsonPath(doc, "quote", "quoted_status", "content"); got != "<p>original</p>" {
		t.Errorf("quoted content = %v", got)
	}
	approval, ok := doc["quote_approval"].(map[string]any)
	if !ok {
		t.Fatalf("quote_approval = %v, want an object", doc["quote_approval"])
	}
	if a, ok := approval["automatic"].([]any); !ok || len(a) != 1 || a[0] != "public" {
		t.Errorf("quote_approval.automatic = %v, want [public]", approval["automatic"])
	}
	if m, ok := approval["manual"].([]any); !ok || len(m) != 0 {
		t.Errorf("quote_approval.manual = %v, want []", approval["manual"])
	}
	if approval["current_user"] != "automatic" {
		t.Errorf("quote_approval.current_user = %v, want automatic", approval["current_user"])
	}
	if got := jsonPath(rawStatus(t, inst, original.ID, carol.Token), "quotes_count"); got != float64(1) {
		t.Errorf("quotes_count of the quoted status = %v, want 1", got)
	}
	if q, present := rawStatus(t, inst, original.ID, "")["quote"]; !present || q != nil {
		t.Errorf("quote of a status quoting nothing = %v (present %v), want null", q, present)
	}
	if got := jsonPath(rawStatus(t, inst, original.ID, ""), "quote_approval", "current_user"); got != "denied" {
		t.Errorf("anonymous current_user = %v, want denied", got)
	}

	// A quote inside a quote is shallow: its id and state, never a third level of content.
	doc = rawStatus(t, inst, nested.ID, alice.Token)
	shallow, ok := jsonPath(doc, "quote", "quoted_status", "quote").(map[string]any)
	if !ok || shallow["state"] != "accepted" || shallow["quoted_status_id"] != original.ID {
		t.Fatalf("nested quote = %v, want a ShallowQuote of %s", jsonPath(doc, "quote", "quoted_status", "quote"), original.ID)
	}
	if _, deep := shallow["quoted_status"]; deep {
		t.Errorf("nested quote carries a quoted_status: %v", shallow)
	}
}

func TestQuoteShowsOnlyWhatTheViewerMaySee(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol, dave := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol"), inst.CreateUser(t, "dave")
	followUser(t, inst, bob, alice)
	secret := storeStatus(t, inst, alice.Account, store.Status{Content: "<p>followers only</p>", Visibility: store.VisibilityPrivate})
	// Quoting a followers-only post is alice's own right only, but a stored quote by bob stands
	// in for one accepted before, or one a remote server claims.
	quote := quoteOf(t, inst, bob.Account, secret, store.QuoteAccepted)
	public := storeStatus(t, inst, alice.Account, store.Status{Content: "<p>public</p>"})
	pending := quoteOf(t, inst, bob.Account, public, store.QuotePending)
	gone := storeStatus(t, inst, alice.Account, store.Status{Content: "<p>soon gone</p>"})
	orphan := quoteOf(t, inst, bob.Account, gone, store.QuoteAccepted)
	if err := inst.Store.DeleteStatus(context.Background(), gone); err != nil {
		t.Fatal(err)
	}
	if err := inst.Store.Block(context.Background(), dave.Account.ID, alice.Account.ID); err != nil {
		t.Fatal(err)
	}
	blocked := quoteOf(t, inst, bob.Account, public, store.QuoteAccepted)

	cases := []struct {
		name, statusID, token, state string
		shown                        bool
	}{
		{"follower of the quoted author", quote.ID, bob.Token, "accepted", true},
		{"the quoted author", quote.ID, alice.Token, "accepted", true},
		{"someone else", quote.ID, carol.Token, "unauthorized", false},
		{"anonymous", quote.ID, "", "", false}, // the quote itself is public; the quoted post is not
		{"pending quote", pending.ID, carol.Token, "pending", false},
		{"quoted status deleted", orphan.ID, carol.Token, "deleted", false},
		{"viewer blocks the quoted author", blocked.ID, dave.Token, "blocked_account", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := rawStatus(t, inst, tc.statusID, tc.token)
			state := jsonPath(doc, "quote", "state")
			if tc.state != "" && state != tc.state {
				t.Errorf("state = %v, want %s", state, tc.state)
			}
			if tc.state == "" && state == "accepted" {
				t.Errorf("state = accepted for a viewer who may not see the quoted post")
			}
			q := jsonPath(doc, "quote", "quoted_status")
			if shown := q != nil; shown != tc.shown {
				t.Errorf("quoted_status = %v, want shown %v", q, tc.shown)
			}
		})
	}
}

func TestQuoteListAndRevoke(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	original := storeStatus(t, inst, alice.Account, store.Status{Content: "<p>original</p>"})
	first := quoteOf(t, inst, bob.Account, original, store.QuoteAccepted)
	second := quoteOf(t, inst, carol.Account, original, store.QuoteAccepted)
	other := storeStatus(t, inst, bob.Account, store.Status{})

	list := func(token string) []string {
		return timelineIDs(t, inst.API("/api/v1/statuses/%s/quotes", original.ID), token)
	}
	if got, want := list(alice.Token), []string{second.ID, first.ID}; !slices.Equal(got, want) {
		t.Fatalf("quotes = %v, want %v (newest first)", got, want)
	}
	resp := apiGet(t, inst.API("/api/v1/statuses/%s/quotes?limit=1", original.ID), alice.Token)
	var page []map[string]any
	resp.ok(t, &page)
	if len(page) != 1 || mustLinkRel(t, resp.Header.Get("Link"), "next") == "" {
		t.Fatalf("limit=1 page = %d statuses, Link %q", len(page), resp.Header.Get("Link"))
	}

	revoke := func(quotedID, quotingID, token string) apiResponse {
		return apiDo(t, http.MethodPost, inst.API("/api/v1/statuses/%s/quotes/%s/revoke", quotedID, quotingID), token, "", "")
	}
	expectRefusals(t, []refusal{
		{name: "list of someone else's status", method: http.MethodGet, url: inst.API("/api/v1/statuses/%s/quotes", original.ID), token: bob.Token, code: http.StatusForbidden, msg: "This action is not allowed"},
		{name: "list without a token", method: http.MethodGet, url: inst.API("/api/v1/statuses/%s/quotes", original.ID), code: http.StatusUnauthorized, msg: ""},
		{name: "revoke by the quote's author", method: http.MethodPost, url: inst.API("/api/v1/statuses/%s/quotes/%s/revoke", original.ID, first.ID), token: bob.Token, code: http.StatusForbidden, msg: "This action is not allowed"},
		{name: "revoke of a status that quotes nothing", method: http.MethodPost, url: inst.API("/api/v1/statuses/%s/quotes/%s/revoke", original.ID, other.ID), token: alice.Token, code: http.StatusNotFound, msg: "Record not found"},
		{name: "revoke of an unknown status", method: http.MethodPost, url: inst.API("/api/v1/statuses/%s/quotes/%s/revoke", original.ID, "12345"), token: alice.Token, code: http.StatusNotFound, msg: "Record not found"},
	})

	var revoked map[string]any
	revoke(original.ID, first.ID, alice.Token).ok(t, &revoked)
	if revoked["id"] != first.ID || jsonPath(revoked, "quote", "state") != "revoked" || jsonPath(revoked, "quote", "quoted_status") != nil {
		t.Fatalf("revoke answered %v, want bob's quote, revoked, without the quoted status", revoked["quote"])
	}
	if got := jsonPath(rawStatus(t, inst, first.ID, carol.Token), "quote", "state"); got != "revoked" {
		t.Errorf("revoked quote reads as %v", got)
	}
	if got, want := list(alice.Token), []string{second.ID}; !slices.Equal(got, want) {
		t.Errorf("quotes after revoking = %v, want %v", got, want)
	}
	if got := jsonPath(rawStatus(t, inst, original.ID, alice.Token), "quotes_count"); got != float64(1) {
		t.Errorf("quotes_count after revoking = %v, want 1", got)
	}
	revoke(original.ID, first.ID, alice.Token).ok(t, nil) // revoking twice changes nothing
	if got := jsonPath(rawStatus(t, inst, original.ID, alice.Token), "quotes_count"); got != float64(1) {
		t.Errorf("quotes_count after revoking twice = %v, want 1", got)
	}

	// Deleting a quote takes it off the list and the count.
	if err := inst.Store.DeleteStatus(context.Background(), second); err != nil {
		t.Fatal(err)
	}
	if got := list(alice.Token); len(got) != 0 {
		t.Errorf("quotes after deleting the last = %v", got)
	}
	if got := jsonPath(rawStatus(t, inst, original.ID, alice.Token), "quotes_count"); got != float64(0) {
		t.Errorf("quotes_count after deleting = %v, want 0", got)
	}
}

func TestQuoteInteractionPolicy(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	st := storeStatus(t, inst, alice.Account, store.Status{})
	secret := storeStatus(t, inst, alice.Account, store.Status{Visibility: store.VisibilityPrivate})
	set := func(id, token, policy string) apiResponse {
		return apiForm(t, http.MethodPut, inst.API("/api/v1/statuses/%s/interaction_policy", id), token, "quote_approval_policy="+policy)
	}

	cases := []struct {
		policy, automatic, alice, bob string
	}{
		{"nobody", "", "automatic", "denied"},
		{"followers", "followers", "automatic", "denied"},
		{"public", "public", "automatic", "automatic"},
	}
	for _, tc := range cases {
		t.Run(tc.policy, func(t *testing.T) {
			var doc map[string]any
			set(st.ID, alice.Token, tc.policy).ok(t, &doc)
			automatic, _ := jsonPath(doc, "quote_approval", "automatic").([]any)
			if (tc.automatic == "" && len(automatic) != 0) || (tc.automatic != "" && (len(automatic) != 1 || automatic[0] != tc.automatic)) {
				t.Errorf("automatic = %v, want [%s]", automatic, tc.automatic)
			}
			if got := jsonPath(doc, "quote_approval", "current_user"); got != tc.alice {
				t.Errorf("author's current_user = %v, want %s", got, tc.alice)
			}
			if got := jsonPath(rawStatus(t, inst, st.ID, bob.Token), "quote_approval", "current_user"); got != tc.bob {
				t.Errorf("bob's current_user = %v, want %s", got, tc.bob)
			}
		})
	}
	followUser(t, inst, bob, alice)
	set(st.ID, alice.Token, "followers").ok(t, nil)
	if got := jsonPath(rawStatus(t, inst, st.ID, bob.Token), "quote_approval", "current_user"); got != "automatic" {
		t.Errorf("follower's current_user under followers = %v, want automatic", got)
	}

	var doc map[string]any
	set(secret.ID, alice.Token, "public").ok(t, &doc)
	if a, _ := jsonPath(doc, "quote_approval", "automatic").([]any); len(a) != 0 {
		t.Errorf("followers-only status's automatic = %v, want [] (nobody, forced)", a)
	}
	expectRefusals(t, []refusal{
		{name: "unknown policy", method: http.MethodPut, url: inst.API("/api/v1/statuses/%s/interaction_policy", st.ID), token: alice.Token,
			contentType: "application/x-www-form-urlencoded", body: "quote_approval_policy=everyone", code: http.StatusUnprocessableEntity, msg: "Validation failed: *"},
		{name: "no policy", method: http.MethodPut, url: inst.API("/api/v1/statuses/%s/interaction_policy", st.ID), token: alice.Token,
			contentType: "application/x-www-form-urlencoded", body: "", code: http.StatusUnprocessableEntity, msg: "Validation failed: *"},
		{name: "someone else's status", method: http.MethodPut, url: inst.API("/api/v1/statuses/%s/interaction_policy", st.ID), token: bob.Token,
			contentType: "application/x-www-form-urlencoded", body: "quote_approval_policy=nobody", code: http.StatusNotFound, msg: "Record not found"},
	})
	if got := jsonPath(rawStatus(t, inst, st.ID, alice.Token), "quote_approval", "automatic"); len(got.([]any)) != 1 {
		t.Errorf("a refused change changed the policy: %v", got)
	}
}

func TestQuotedUpdateNotification(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	original := postStatus(t, inst, alice, gomastodon.Toot{Status: "first take", Visibility: "public"})
	quoted, err := inst.Store.Status(context.Background(), string(original.ID))
	if err != nil {
		t.Fatal(err)
	}
	accepted := quoteOf(t, inst, bob.Account, quoted, store.QuoteAccepted)
	quoteOf(t, inst, carol.Account, quoted, store.QuoteRevoked)

	apiForm(t, http.MethodPut, inst.API("/api/v1/statuses/%s", original.ID), alice.Token, "status=second+take").ok(t, nil)
	ns := notificationsOf(t, inst, bob.Account.ID, store.NotifyQuotedUpdate)
	if len(ns) != 1 || ns[0].StatusID != accepted.ID || ns[0].FromAccountID != alice.Account.ID {
		t.Fatalf("bob's quoted_update notifications = %+v, want one from alice about his quote %s", ns, accepted.ID)
	}
	if ns := notificationsOf(t, inst, carol.Account.ID, store.NotifyQuotedUpdate); len(ns) != 0 {
		t.Errorf("the author of a revoked quote was notified: %+v", ns)
	}
	var list []map[string]any
	apiGet(t, inst.API("/api/v1/notifications?types[]=quoted_update"), bob.Token).ok(t, &list)
	if len(list) != 1 || list[0]["type"] != "quoted_update" || jsonPath(list[0], "status", "id") != accepted.ID {
		t.Errorf("GET /api/v1/notifications = %v, want bob's quote as the status", list)
	}
}

func TestQuotePolicyDefault(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	source := func() any {
		var acct map[string]any
		apiGet(t, inst.API("/api/v1/accounts/verify_credentials"), alice.Token).ok(t, &acct)
		return jsonPath(acct, "source", "quote_policy")
	}
	preference := func() any {
		var prefs map[string]any
		apiGet(t, inst.API("/api/v1/preferences"), alice.Token).ok(t, &prefs)
		return prefs["posting:default:quote_policy"]
	}
	if s, p := source(), preference(); s != "public" || p != "public" {
		t.Fatalf("default quote policy = %v (source), %v (preferences), want public", s, p)
	}
	apiForm(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), alice.Token, "source[quote_policy]=everyone").
		expectError(t, http.StatusUnprocessableEntity, "Validation failed: *")
	apiForm(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), alice.Token, "source[quote_policy]=followers").ok(t, nil)
	if s, p := source(), preference(); s != "followers" || p != "followers" {
		t.Fatalf("quote policy after setting followers = %v (source), %v (preferences)", s, p)
	}
	var doc map[string]any
	apiForm(t, http.MethodPost, inst.API("/api/v1/statuses"), alice.Token, "status=new+post").ok(t, &doc)
	if a, _ := jsonPath(doc, "quote_approval", "automatic").([]any); len(a) != 1 || a[0] != "followers" {
		t.Errorf("a new post's automatic = %v, want [followers] from the default", a)
	}
	apiForm(t, http.MethodPost, inst.API("/api/v1/statuses"), alice.Token, "status=open&quote_approval_policy=public").ok(t, &doc)
	if a, _ := jsonPath(doc, "quote_approval", "automatic").([]any); len(a) != 1 || a[0] != "public" {
		t.Errorf("a post asking for public: automatic = %v", a)
	}
	apiForm(t, http.MethodPut, inst.API("/api/v1/statuses/%s", doc["id"]), alice.Token, "status=open+edited&quote_approval_policy=nobody").ok(t, &doc)
	if a, _ := jsonPath(doc, "quote_approval", "automatic").([]any); len(a) != 0 || doc["content"] != "<p>open edited</p>" {
		t.Errorf("after an edit asking for nobody: automatic = %v, content %v", a, doc["content"])
	}
	apiForm(t, http.MethodPut, inst.API("/api/v1/statuses/%s", doc["id"]), alice.Token, "status=again&quote_approval_policy=everyone").
		expectError(t, http.StatusUnprocessableEntity, "Validation failed: *")
}

func TestQuoteChangesAreStreamed(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	original := storeStatus(t, inst, alice.Account, store.Status{Content: "<p>original</p>"})
	quote := quoteOf(t, inst, bob.Account, original, store.QuoteAccepted)
	ws := strmDial(t, inst, bob.Token, "?stream=user")
	ws.sync()

	apiDo(t, http.MethodPost, inst.API("/api/v1/statuses/%s/quotes/%s/revoke", original.ID, quote.ID), alice.Token, "", "").ok(t, nil)
	m := ws.await("bob's quote updated on his stream", func(m strmMsg) bool { return m.Event == "status.update" })
	if st := m.status(t); st.ID != quote.ID {
		t.Fatalf("streamed %s, want bob's quote %s", st.ID, quote.ID)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(*m.Payload), &raw); err != nil || jsonPath(raw, "quote", "state") != "revoked" {
		t.Fatalf("streamed quote = %v, want revoked", raw["quote"])
	}

	apiForm(t, http.MethodPut, inst.API("/api/v1/statuses/%s/interaction_policy", quote.ID), bob.Token, "quote_approval_policy=nobody").ok(t, nil)
	m = ws.await("the policy change on bob's stream", func(m strmMsg) bool { return m.Event == "status.update" })
	if err := json.Unmarshal([]byte(*m.Payload), &raw); err != nil {
		t.Fatal(err)
	}
	if automatic, ok := jsonPath(raw, "quote_approval", "automatic").([]any); !ok || len(automatic) != 0 {
		t.Fatalf("streamed quote_approval = %v, want nobody but bob", raw["quote_approval"])
	}
}

func TestQuotePosting(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	followUser(t, inst, carol, alice)
	public := postStatus(t, inst, alice, gomastodon.Toot{Status: "public words", Visibility: "public"})
	post := func(u *testrig.User, form string) apiResponse {
		return apiForm(t, http.MethodPost, inst.API("/api/v1/statuses"), u.Token, form)
	}
	var followersOnly, nobody map[string]any
	post(alice, "status=followers+may+quote&quote_approval_policy=followers").ok(t, &followersOnly)
	post(alice, "status=only+me&quote_approval_policy=nobody").ok(t, &nobody)
	secret := postStatus(t, inst, alice, gomastodon.Toot{Status: "for followers", Visibility: "private"})
	direct := postStatus(t, inst, alice, gomastodon.Toot{Status: "@bob psst", Visibility: "direct"})

	cases := []struct {
		name       string
		by         *testrig.User
		form       string
		code       int
		visibility string // of the quote post, when posted
	}{
		{"anybody may quote a public post", bob, "status=so+true&quoted_status_id=" + string(public.ID), 200, "public"},
		{"unlisted quote", bob, "status=so+true&visibility=unlisted&quoted_status_id=" + string(public.ID), 200, "unlisted"},
		{"followers policy, not a follower", bob, "status=x&quoted_status_id=" + followersOnly["id"].(string), 403, ""},
		{"followers policy, a follower", carol, "status=x&quoted_status_id=" + followersOnly["id"].(string), 200, "public"},
		{"nobody policy, someone else", bob, "status=x&quoted_status_id=" + nobody["id"].(string), 403, ""},
		{"nobody policy, the author", alice, "status=x&quoted_status_id=" + nobody["id"].(string), 200, "public"},
		{"followers-only post, someone who cannot see it", bob, "status=x&quoted_status_id=" + string(secret.ID), 404, ""},
		{"followers-only post, a follower", carol, "status=x&quoted_status_id=" + string(secret.ID), 403, ""},
		{"followers-only post, its author: the quote is followers-only too", alice, "status=x&visibility=public&quoted_status_id=" + string(secret.ID), 200, "private"},
		{"a direct message, even its author", alice, "status=x&quoted_status_id=" + string(direct.ID), 403, ""},
		{"unknown status", bob, "status=x&quoted_status_id=4242", 404, ""},
		{"unknown policy", bob, "status=x&quote_approval_policy=everyone&quoted_status_id=" + string(public.ID), 422, ""},
		{"direct quote without mentioning the quoted author", bob, "status=x&visibility=direct&quoted_status_id=" + string(public.ID), 422, ""},
		{"direct quote mentioning the quoted author", bob, "status=%40alice+x&visibility=direct&quoted_status_id=" + string(public.ID), 200, "direct"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := statusesCount(t, inst, tc.by.Account.ID)
			resp := post(tc.by, tc.form)
			if tc.code != http.StatusOK {
				resp.expectError(t, tc.code, "")
				if after := statusesCount(t, inst, tc.by.Account.ID); after != before {
					t.Errorf("a refused quote was posted: statuses %d → %d", before, after)
				}
				return
			}
			var doc map[string]any
			resp.ok(t, &doc)
			if doc["visibility"] != tc.visibility {
				t.Errorf("visibility = %v, want %s", doc["visibility"], tc.visibility)
			}
			if got := jsonPath(doc, "quote", "state"); got != "accepted" {
				t.Errorf("quote.state = %v, want accepted", got)
			}
			if jsonPath(doc, "quote", "quoted_status", "id") == nil {
				t.Errorf("quote carries no quoted_status: %v", doc["quote"])
			}
		})
	}

	// The quoted author hears of quotes by others, not of their own.
	if n := len(notificationsOf(t, inst, alice.Account.ID, store.NotifyQuote)); n != 4 {
		t.Errorf("alice has %d quote notifications, want 4 (bob twice, carol, bob's direct quote)", n)
	}
	var grouped map[string]any
	apiGet(t, inst.API("/api/v2/notifications?types[]=quote"), alice.Token).ok(t, &grouped)
	groups, _ := grouped["notification_groups"].([]any)
	for _, g := range groups {
		if jsonPath(g, "type") != "quote" || jsonPath(g, "status_id") == nil {
			t.Errorf("grouped quote notification = %v, want type quote with the quote post", g)
		}
	}
	if len(groups) == 0 {
		t.Errorf("GET /api/v2/notifications shows no quote notifications: %v", grouped)
	}
	var doc map[string]any
	post(bob, "status=my+take&quote_approval_policy=nobody&quoted_status_id="+string(public.ID)).ok(t, &doc)
	if content, _ := doc["content"].(string); !strings.HasPrefix(content, `<p class="quote-inline">RE: <a href="`+public.URL+`">`) {
		t.Errorf("content %q lacks the RE: link to the quoted post", content)
	}
	if a, _ := jsonPath(doc, "quote_approval", "automatic").([]any); len(a) != 0 {
		t.Errorf("quote_approval.automatic = %v, want [] under nobody", a)
	}
	post(bob, "status=about+"+url.QueryEscape(public.URL)+"&quoted_status_id="+string(public.ID)).ok(t, &doc)
	if content, _ := doc["content"].(string); strings.Contains(content, "quote-inline") {
		t.Errorf("content %q got an RE: link though it links the quoted post", content)
	}
	if got := jsonPath(rawStatus(t, inst, string(public.ID), alice.Token), "quotes_count"); got != float64(5) {
		t.Errorf("quotes_count = %v, want 5", got)
	}
}
