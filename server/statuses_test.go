package server_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/testrig"
)

func TestStatusesPostReachesTimelines(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	followUser(t, inst, carol, alice)

	st := postStatus(t, inst, alice, gomastodon.Toot{Status: "Hello @bob, see #WaterCooler and https://example.com/x"})

	for _, want := range []string{`class="u-url mention"`, `@<span>bob</span>`, `class="mention hashtag"`, `/tags/watercooler`, `href="https://example.com/x"`} {
		if !strings.Contains(st.Content, want) {
			t.Errorf("content %s lacks %s", st.Content, want)
		}
	}
	if len(st.Mentions) != 1 || string(st.Mentions[0].ID) != bob.Account.ID || st.Mentions[0].Acct != "bob" {
		t.Errorf("mentions = %+v, want bob", st.Mentions)
	}
	if len(st.Tags) != 1 || st.Tags[0].Name != "watercooler" {
		t.Errorf("tags = %+v, want watercooler", st.Tags)
	}
	if st.Visibility != "public" || st.Account.ID != gomastodon.ID(alice.Account.ID) {
		t.Errorf("visibility %q account %s", st.Visibility, st.Account.ID)
	}
	id := string(st.ID)

	timelines := []struct {
		name, path, token string
		want              bool
	}{
		{"author home", "/api/v1/timelines/home", alice.Token, true},
		{"follower home", "/api/v1/timelines/home", carol.Token, true},
		{"mentioned non-follower home", "/api/v1/timelines/home", bob.Token, false},
		{"public anonymous", "/api/v1/timelines/public", "", true},
		{"public local", "/api/v1/timelines/public?local=true", bob.Token, true},
		{"public remote", "/api/v1/timelines/public?remote=true", "", false},
		{"public only media", "/api/v1/timelines/public?only_media=true", "", false},
		{"tag, mixed case", "/api/v1/timelines/tag/WaterCooler", "", true},
		{"tag with hash escaped", "/api/v1/timelines/tag/%23watercooler", "", true},
		{"other tag", "/api/v1/timelines/tag/other", "", false},
	}
	for _, tl := range timelines {
		ids := timelineIDs(t, inst.API("%s", tl.path), tl.token)
		if got := slices.Contains(ids, id); got != tl.want {
			t.Errorf("%s: contains post = %v, want %v (ids %v)", tl.name, got, tl.want, ids)
		}
	}

	mentions := notificationsOf(t, inst, bob.Account.ID, store.NotifyMention)
	if len(mentions) != 1 || mentions[0].StatusID != id {
		t.Errorf("bob's mention notifications = %+v", mentions)
	}
	if n := statusesCount(t, inst, alice.Account.ID); n != 1 {
		t.Errorf("statuses_count = %d, want 1", n)
	}
}

func TestStatusesApplicationAndPreferences(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	ctx := context.Background()
	app := &store.App{Name: "Test Client", Website: "https://client.example", Scopes: []string{"read", "write"}}
	if err := inst.Store.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	token, _, err := inst.Store.CreateToken(ctx, app.ClientID, alice.Account.ID, []string{"read", "write"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := inst.Store.User(ctx, alice.Account.ID)
	if err != nil {
		t.Fatal(err)
	}
	u.Preferences.PostingVisibility = store.VisibilityUnlisted
	if err := inst.Store.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}

	// A JSON body, with the booleans some clients send as strings.
	r := apiJSON(t, http.MethodPost, inst.API("/api/v1/statuses"), token, `{"status":"spoilers ahead","spoiler_text":"cw","sensitive":"false","language":"de"}`)
	if r.Code != http.StatusOK {
		t.Fatalf("post: %d %s", r.Code, r.Body)
	}
	var st mastodon.Status
	r.decode(t, &st)
	if st.Application == nil || st.Application.Name != "Test Client" || st.Application.Website == nil || *st.Application.Website != "https://client.example" {
		t.Errorf("application = %+v", st.Application)
	}
	if st.Visibility != store.VisibilityUnlisted {
		t.Errorf("visibility = %q, want the preference unlisted", st.Visibility)
	}
	if !st.Sensitive || st.SpoilerText != "cw" {
		t.Errorf("sensitive %v spoiler %q: a content warning makes a status sensitive", st.Sensitive, st.SpoilerText)
	}
	if st.Language == nil || *st.Language != "de" {
		t.Errorf("language = %v", st.Language)
	}
	if ids := timelineIDs(t, inst.API("/api/v1/timelines/public"), ""); slices.Contains(ids, st.ID) {
		t.Error("an unlisted status is in the public timeline")
	}

	// A form body with Rails' lenient boolean.
	r = apiForm(t, http.MethodPost, inst.API("/api/v1/statuses"), token, url.Values{"status": {"plain"}, "sensitive": {"1"}, "visibility": {"public"}}.Encode())
	r.decode(t, &st)
	if r.Code != http.StatusOK || !st.Sensitive || st.Visibility != "public" {
		t.Errorf("form post: %d sensitive=%v visibility=%q", r.Code, st.Sensitive, st.Visibility)
	}
}

func TestStatusesMedia(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	ctx := context.Background()
	upload := func(owner *testrig.User) string {
		m := &store.Media{AccountID: owner.Account.ID, Type: "image", URL: inst.URL + "/media/x.png"}
		if err := inst.Store.CreateMedia(ctx, m); err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	m1, m2 := upload(alice), upload(alice)

	// go-mastodon sends media_ids[] in a form body; the text may be empty with media.
	st := postStatus(t, inst, alice, gomastodon.Toot{MediaIDs: []gomastodon.ID{gomastodon.ID(m1), gomastodon.ID(m2)}, Status: "#pics"})
	if len(st.MediaAttachments) != 2 || string(st.MediaAttachments[0].ID) != m1 {
		t.Fatalf("media = %+v", st.MediaAttachments)
	}
	if ids := timelineIDs(t, inst.API("/api/v1/timelines/public?only_media=true"), ""); !slices.Contains(ids, string(st.ID)) {
		t.Error("a status with media is missing from only_media")
	}
	if ids := timelineIDs(t, inst.API("/api/v1/timelines/tag/pics?only_media=true&local=true"), ""); !slices.Contains(ids, string(st.ID)) {
		t.Error("a status with media is missing from the tag timeline with only_media")
	}

	m3 := upload(alice)
	r := apiJSON(t, http.MethodPost, inst.API("/api/v1/statuses"), alice.Token, `{"media_ids":["`+m3+`"]}`)
	if r.Code != http.StatusOK {
		t.Fatalf("JSON media post: %d %s", r.Code, r.Body)
	}

	attached := m1
	foreign := upload(bob)
	cases := []struct {
		name string
		ids  []string
		msg  string
	}{
		{"already attached", []string{attached}, "Media " + attached + " not found or already attached to another post"},
		{"someone else's", []string{foreign}, "Media " + foreign + " not found or already attached to another post"},
		{"unknown", []string{"123"}, "Media 123 not found or already attached to another post"},
		{"too many", []string{upload(alice), upload(alice), upload(alice), upload(alice), upload(alice)}, "Cannot attach more than 4 files"},
	}
	before := statusesCount(t, inst, alice.Account.ID)
	for _, tc := range cases {
		r := apiForm(t, http.MethodPost, inst.API("/api/v1/statuses"), alice.Token, url.Values{"status": {"x"}, "media_ids[]": tc.ids}.Encode())
		r.expectError(t, http.StatusUnprocessableEntity, tc.msg)
	}
	if after := statusesCount(t, inst, alice.Account.ID); after != before {
		t.Errorf("refused posts were written: statuses_count %d → %d", before, after)
	}

	// Delete & redraft keeps the media for the new status.
	r = apiDo(t, http.MethodDelete, inst.API("/api/v1/statuses/%s", st.ID), alice.Token, "", "")
	if r.Code != http.StatusOK {
		t.Fatalf("delete: %d %s", r.Code, r.Body)
	}
	redraft := postStatus(t, inst, alice, gomastodon.Toot{MediaIDs: []gomastodon.ID{gomastodon.ID(m1)}})
	if len(redraft.MediaAttachments) != 1 {
		t.Errorf("redraft media = %+v", redraft.MediaAttachments)
	}
}

func TestStatusesBadInput(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	readOnly := userToken(t, inst, alice, "read")
	post := inst.API("/api/v1/statuses")
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	expectRefusals(t, []refusal{
		{"malformed JSON", "POST", post, alice.Token, jsonType, `{"status": "hi"`, 400, ""},
		{"no token", "POST", post, "", formType, form("status", "hi"), 401, "The access token is invalid"},
		{"unknown token", "POST", post, "nope", formType, form("status", "hi"), 401, "The access token is invalid"},
		{"read-only token", "POST", post, readOnly, formType, form("status", "hi"), 403, "This action is outside the authorized scopes"},
		{"501 characters", "POST", post, alice.Token, formType, form("status", strings.Repeat("é", 501)), 422, "Validation failed: Text character limit of 500 exceeded"},
		{"text and warning over 500", "POST", post, alice.Token, formType, form("status", strings.Repeat("a", 450), "spoiler_text", strings.Repeat("b", 51)), 422, "Validation failed: Text character limit of 500 exceeded"},
		{"blank", "POST", post, alice.Token, formType, form("status", "  \n "), 422, "Validation failed: Text can't be blank"},
		{"no status at all", "POST", post, alice.Token, jsonType, `{}`, 422, "Validation failed: Text can't be blank"},
		{"unknown visibility", "POST", post, alice.Token, formType, form("status", "hi", "visibility", "friends"), 422, "Validation failed: Visibility is not included in the list"},
		{"unknown parent", "POST", post, alice.Token, formType, form("status", "hi", "in_reply_to_id", "99999"), 404, "The post you are trying to reply to does not appear to exist."},
		{"unknown status", "GET", inst.API("/api/v1/statuses/12345"), alice.Token, "", "", 404, "Record not found"},
		{"non-numeric status", "GET", inst.API("/api/v1/statuses/abc"), "", "", "", 404, "Record not found"},
		{"delete unknown", "DELETE", inst.API("/api/v1/statuses/12345"), alice.Token, "", "", 404, "Record not found"},
		{"favourite unknown", "POST", inst.API("/api/v1/statuses/12345/favourite"), alice.Token, "", "", 404, "Record not found"},
		{"home without token", "GET", inst.API("/api/v1/timelines/home"), "", "", "", 401, "The access token is invalid"},
		{"unknown list", "GET", inst.API("/api/v1/timelines/list/12345"), alice.Token, "", "", 404, "Record not found"},
		{"favourites without token", "GET", inst.API("/api/v1/favourites"), "", "", "", 401, "The access token is invalid"},
	})
	if n := statusesCount(t, inst, alice.Account.ID); n != 0 {
		t.Errorf("statuses_count = %d after refused posts, want 0", n)
	}
	entries, err := inst.Store.AccountStatuses(context.Background(), alice.Account.ID, store.Page{Limit: 10})
	if err != nil || len(entries) != 0 {
		t.Errorf("refused posts were stored: %v %v", entries, err)
	}
}

func TestStatusesIdempotencyKey(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	var ids []string
	for i := 0; i < 3; i++ {
		r := apiForm(t, http.MethodPost, inst.API("/api/v1/statuses"), alice.Token, url.Values{"status": {"only once"}}.Encode(), "Idempotency-Key", "key-1")
		if r.Code != http.StatusOK {
			t.Fatalf("attempt %d: %d %s", i, r.Code, r.Body)
		}
		var st mastodon.Status
		r.decode(t, &st)
		ids = append(ids, st.ID)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("retries got different statuses: %v", ids)
	}
	r := apiForm(t, http.MethodPost, inst.API("/api/v1/statuses"), alice.Token, url.Values{"status": {"only once"}}.Encode(), "Idempotency-Key", "key-2")
	var other mastodon.Status
	r.decode(t, &other)
	if other.ID == ids[0] {
		t.Error("a different key returned the same status")
	}
	if n := statusesCount(t, inst, alice.Account.ID); n != 2 {
		t.Errorf("statuses_count = %d, want 2", n)
	}
}

func TestStatusesReplyThreadAndContext(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol, dave := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol"), inst.CreateUser(t, "dave")
	followUser(t, inst, dave, bob)
	ctx := context.Background()

	root := postStatus(t, inst, alice, gomastodon.Toot{Status: "root"})
	r1 := postStatus(t, inst, bob, gomastodon.Toot{Status: "first reply", InReplyToID: root.ID})
	r1a := postStatus(t, inst, alice, gomastodon.Toot{Status: "@bob answer", InReplyToID: r1.ID})
	r2 := postStatus(t, inst, carol, gomastodon.Toot{Status: "second reply", InReplyToID: root.ID})
	hidden := postStatus(t, inst, carol, gomastodon.Toot{Status: "for followers", InReplyToID: root.ID, Visibility: "private"})
	r1b := postStatus(t, inst, bob, gomastodon.Toot{Status: "self thread", InReplyToID: r1a.ID})

	if r1.InReplyToID != string(root.ID) || r1.InReplyToAccountID != alice.Account.ID {
		t.Errorf("reply points at %v/%v", r1.InReplyToID, r1.InReplyToAccountID)
	}
	// The replied-to author counts as mentioned, and is notified, although not named.
	if len(r1.Mentions) != 1 || string(r1.Mentions[0].ID) != alice.Account.ID {
		t.Errorf("reply mentions = %+v, want alice", r1.Mentions)
	}
	if n := notificationsOf(t, inst, alice.Account.ID, store.NotifyMention); len(n) != 4 {
		t.Errorf("alice has %d mention notifications, want 4 (one per reply to her statuses)", len(n))
	}
	// A reply reaches only followers who also follow the replied-to account.
	if ids := timelineIDs(t, inst.API("/api/v1/timelines/home"), dave.Token); slices.Contains(ids, string(r1.ID)) {
		t.Error("bob's reply to alice reached dave, who does not follow alice")
	}
	// Replies to others stay off the public timeline, as in Mastodon.
	if ids := timelineIDs(t, inst.API("/api/v1/timelines/public"), ""); slices.Contains(ids, string(r1.ID)) || !slices.Contains(ids, string(root.ID)) {
		t.Errorf("public timeline %v: want root without replies", ids)
	}

	got, err := userClient(inst, alice).GetStatus(ctx, root.ID)
	if err != nil || got.RepliesCount != 3 {
		t.Errorf("root replies_count = %v (%v), want 3", got, err)
	}

	idsOf := func(sts []*gomastodon.Status) []gomastodon.ID {
		out := []gomastodon.ID{}
		for _, s := range sts {
			out = append(out, s.ID)
		}
		return out
	}
	c, err := userClient(inst, bob).GetStatusContext(ctx, root.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := []gomastodon.ID{r1.ID, r1a.ID, r1b.ID, r2.ID}; !slices.Equal(idsOf(c.Descendants), want) || len(c.Ancestors) != 0 {
		t.Errorf("root context: ancestors %v descendants %v, want none and %v (depth first, private reply hidden)", idsOf(c.Ancestors), idsOf(c.Descendants), want)
	}
	c, err = userClient(inst, bob).GetStatusContext(ctx, r1b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := []gomastodon.ID{root.ID, r1.ID, r1a.ID}; !slices.Equal(idsOf(c.Ancestors), want) || len(c.Descendants) != 0 {
		t.Errorf("leaf context: ancestors %v, want %v", idsOf(c.Ancestors), want)
	}
	// The private reply's author and the replied-to author see it in the thread; anonymous
	// readers do not.
	for _, u := range []*testrig.User{carol, alice} {
		c, err = userClient(inst, u).GetStatusContext(ctx, root.ID)
		if err != nil || !slices.Contains(idsOf(c.Descendants), hidden.ID) {
			t.Errorf("%s's context lacks the private reply: %v %v", u.Account.Username, err, c)
		}
	}
	r := apiGet(t, inst.API("/api/v1/statuses/%s/context", root.ID), "")
	var anon mastodon.Context
	r.decode(t, &anon)
	if r.Code != http.StatusOK || len(anon.Descendants) != 4 {
		t.Errorf("anonymous context: %d, %d descendants, want 4", r.Code, len(anon.Descendants))
	}
}

func TestStatusesPrivateAndDirect(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol, dave := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol"), inst.CreateUser(t, "dave")
	followUser(t, inst, carol, alice)

	private := postStatus(t, inst, alice, gomastodon.Toot{Status: "followers only #secret", Visibility: "private"})
	direct := postStatus(t, inst, alice, gomastodon.Toot{Status: "@bob just you", Visibility: "direct"})

	access := []struct {
		name, id, token string
		code            int
	}{
		{"author reads private", string(private.ID), alice.Token, 200},
		{"follower reads private", string(private.ID), carol.Token, 200},
		{"stranger reads private", string(private.ID), dave.Token, 404},
		{"anonymous reads private", string(private.ID), "", 404},
		{"mentioned reads direct", string(direct.ID), bob.Token, 200},
		{"follower reads direct", string(direct.ID), carol.Token, 404},
		{"anonymous reads direct", string(direct.ID), "", 404},
	}
	for _, a := range access {
		if r := apiGet(t, inst.API("/api/v1/statuses/%s", a.id), a.token); r.Code != a.code {
			t.Errorf("%s: %d, want %d", a.name, r.Code, a.code)
		}
	}
	home := func(u *testrig.User) []string { return timelineIDs(t, inst.API("/api/v1/timelines/home"), u.Token) }
	if ids := home(carol); !slices.Contains(ids, string(private.ID)) || slices.Contains(ids, string(direct.ID)) {
		t.Errorf("carol's home %v: want the private post and not the direct one", ids)
	}
	if ids := home(bob); !slices.Contains(ids, string(direct.ID)) || slices.Contains(ids, string(private.ID)) {
		t.Errorf("bob's home %v: want the direct post only", ids)
	}
	for _, path := range []string{"/api/v1/timelines/public", "/api/v1/timelines/tag/secret"} {
		if ids := timelineIDs(t, inst.API("%s", path), alice.Token); slices.Contains(ids, string(private.ID)) || slices.Contains(ids, string(direct.ID)) {
			t.Errorf("%s shows non-public posts: %v", path, ids)
		}
	}
	// Replying to what one cannot see is replying to nothing.
	r := apiForm(t, http.MethodPost, inst.API("/api/v1/statuses"), dave.Token, url.Values{"status": {"hi"}, "in_reply_to_id": {string(private.ID)}}.Encode())
	r.expectError(t, http.StatusNotFound, "The post you are trying to reply to does not appear to exist.")
	// Nor can one favourite or boost it.
	apiForm(t, http.MethodPost, inst.API("/api/v1/statuses/%s/favourite", private.ID), dave.Token, "").expectError(t, 404, "Record not found")
}

func TestStatusesEditHistorySource(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	ctx := context.Background()
	client := userClient(inst, alice)
	st := postStatus(t, inst, alice, gomastodon.Toot{Status: "first draft"})
	if !st.EditedAt.IsZero() {
		t.Errorf("a new status has edited_at %v", st.EditedAt)
	}
	history, err := client.GetStatusHistory(ctx, st.ID)
	if err != nil || len(history) != 1 {
		t.Fatalf("history of an unedited status: %v %v", history, err)
	}

	if _, err := userClient(inst, bob).Reblog(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	edited, err := client.UpdateStatus(ctx, &gomastodon.Toot{Status: "second draft #edited @bob", SpoilerText: "cw"}, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	// As in Mastodon, those who boosted the status hear of the edit.
	if n := notificationsOf(t, inst, bob.Account.ID, store.NotifyUpdate); len(n) != 1 || n[0].StatusID != string(st.ID) {
		t.Errorf("bob's update notifications = %+v, want one for the edited status", n)
	}
	if edited.ID != st.ID || !strings.Contains(edited.Content, "second draft") || edited.EditedAt.IsZero() || !edited.Sensitive {
		t.Errorf("edited = id %s content %q edited_at %v sensitive %v", edited.ID, edited.Content, edited.EditedAt, edited.Sensitive)
	}
	if len(edited.Mentions) != 1 || len(edited.Tags) != 1 {
		t.Errorf("edit did not re-render mentions %v / tags %v", edited.Mentions, edited.Tags)
	}
	if ids := timelineIDs(t, inst.API("/api/v1/timelines/tag/edited"), ""); !slices.Contains(ids, string(st.ID)) {
		t.Error("a tag added by an edit does not list the status")
	}

	history, err = client.GetStatusHistory(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != 2 || !strings.Contains(history[0].Content, "first draft") || !strings.Contains(history[1].Content, "second draft") {
		t.Fatalf("history = %+v, want first then second draft", history)
	}
	if history[1].SpoilerText != "cw" || history[0].Account.ID != gomastodon.ID(alice.Account.ID) {
		t.Errorf("history entry: spoiler %q account %s", history[1].SpoilerText, history[0].Account.ID)
	}

	src, err := client.GetStatusSource(ctx, st.ID)
	if err != nil || src.Text != "second draft #edited @bob" || src.SpoilerText != "cw" || src.ID != st.ID {
		t.Errorf("source = %+v (%v)", src, err)
	}

	// Others can neither edit nor read the source: 404, as Mastodon answers.
	r := apiForm(t, http.MethodPut, inst.API("/api/v1/statuses/%s", st.ID), bob.Token, url.Values{"status": {"hijacked"}}.Encode())
	r.expectError(t, http.StatusNotFound, "Record not found")
	apiGet(t, inst.API("/api/v1/statuses/%s/source", st.ID), bob.Token).expectError(t, http.StatusNotFound, "Record not found")
	r = apiForm(t, http.MethodPut, inst.API("/api/v1/statuses/%s", st.ID), alice.Token, url.Values{"status": {strings.Repeat("x", 501)}}.Encode())
	r.expectError(t, http.StatusUnprocessableEntity, "Validation failed: Text character limit of 500 exceeded")
	if after := getStatus(t, inst, string(st.ID), alice.Token); !strings.Contains(after.Content, "second draft") {
		t.Errorf("a refused edit changed the status: %q", after.Content)
	}
}

func TestStatusesDelete(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	followUser(t, inst, carol, alice)
	st := postStatus(t, inst, alice, gomastodon.Toot{Status: "regrettable #oops"})
	id := string(st.ID)

	// Someone else's status is not found, and stays.
	apiDo(t, http.MethodDelete, inst.API("/api/v1/statuses/%s", id), bob.Token, "", "").expectError(t, http.StatusNotFound, "Record not found")
	getStatus(t, inst, id, bob.Token)

	r := apiDo(t, http.MethodDelete, inst.API("/api/v1/statuses/%s", id), alice.Token, "", "")
	if r.Code != http.StatusOK {
		t.Fatalf("delete: %d %s", r.Code, r.Body)
	}
	var deleted mastodon.Status
	r.decode(t, &deleted)
	if deleted.ID != id || deleted.Text == nil || *deleted.Text != "regrettable #oops" {
		t.Errorf("delete answered %+v, want the status with its source text", deleted)
	}
	apiGet(t, inst.API("/api/v1/statuses/%s", id), alice.Token).expectError(t, http.StatusNotFound, "Record not found")
	for _, tl := range []struct{ path, token string }{
		{"/api/v1/timelines/home", alice.Token}, {"/api/v1/timelines/home", carol.Token},
		{"/api/v1/timelines/public", ""}, {"/api/v1/timelines/tag/oops", ""},
	} {
		if ids := timelineIDs(t, inst.API("%s", tl.path), tl.token); slices.Contains(ids, id) {
			t.Errorf("%s still lists the deleted status", tl.path)
		}
	}
	if n := statusesCount(t, inst, alice.Account.ID); n != 0 {
		t.Errorf("statuses_count = %d, want 0", n)
	}
	if err := userClient(inst, alice).DeleteStatus(context.Background(), st.ID); err == nil {
		t.Error("deleting twice succeeded")
	}
}
