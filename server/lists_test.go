package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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

// The lmf prefix (lists, markers, filters) keeps these helpers apart from other areas' helpers
// in the same test package; the tags tests use them too.

type lmfResponse struct {
	Code   int
	Header http.Header
	Body   []byte
}

func (r lmfResponse) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// ok decodes a 200 answer into v, failing on any other status.
func (r lmfResponse) ok(t testing.TB, v any) {
	t.Helper()
	if r.Code != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", r.Code, r.Body)
	}
	if v != nil {
		r.decode(t, v)
	}
}

// wantError checks the status and Mastodon's {"error": ...} body; a msg ending in "*" is a
// prefix.
func (r lmfResponse) wantError(t testing.TB, code int, msg string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status %d, want %d; body %s", r.Code, code, r.Body)
	}
	var e mastodon.Error
	r.decode(t, &e)
	if prefix, ok := strings.CutSuffix(msg, "*"); ok {
		if !strings.HasPrefix(e.Error, prefix) {
			t.Fatalf("error %q, want it to start with %q", e.Error, prefix)
		}
		return
	}
	if e.Error != msg {
		t.Fatalf("error %q, want %q", e.Error, msg)
	}
}

func lmfDo(t testing.TB, method, u, token, contentType, body string) lmfResponse {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return lmfResponse{Code: resp.StatusCode, Header: resp.Header, Body: b}
}

func lmfGet(t testing.TB, u, token string) lmfResponse {
	t.Helper()
	return lmfDo(t, http.MethodGet, u, token, "", "")
}

func lmfForm(t testing.TB, method, u, token, form string) lmfResponse {
	t.Helper()
	return lmfDo(t, method, u, token, "application/x-www-form-urlencoded", form)
}

func lmfJSON(t testing.TB, method, u, token, body string) lmfResponse {
	t.Helper()
	return lmfDo(t, method, u, token, "application/json", body)
}

func lmfClient(inst *testrig.Instance, u *testrig.User) *gomastodon.Client {
	return gomastodon.NewClient(&gomastodon.Config{Server: inst.URL, AccessToken: u.Token})
}

func lmfFollow(t testing.TB, inst *testrig.Instance, follower, target *testrig.User) {
	t.Helper()
	if err := inst.Store.Follow(context.Background(), follower.Account, target.Account, store.FollowOptions{ShowReblogs: true}); err != nil {
		t.Fatalf("follow: %v", err)
	}
}

// lmfReadOnlyToken mints a token with only the read scope.
func lmfReadOnlyToken(t testing.TB, inst *testrig.Instance, u *testrig.User) string {
	t.Helper()
	tok, _, err := inst.Store.CreateToken(context.Background(), "", u.Account.ID, []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// lmfPost posts a public status through the API and returns its id.
func lmfPost(t testing.TB, inst *testrig.Instance, u *testrig.User, text string) string {
	t.Helper()
	var st mastodon.Status
	lmfForm(t, http.MethodPost, inst.API("/api/v1/statuses"), u.Token, url.Values{"status": {text}}.Encode()).ok(t, &st)
	return st.ID
}

// lmfTimeline reads a timeline through the API, or skips the test while its endpoint is a stub.
func lmfTimeline(t testing.TB, u, token string) []mastodon.Status {
	t.Helper()
	r := lmfGet(t, u, token)
	if r.Code == http.StatusNotImplemented {
		t.Skipf("%s is not implemented yet", u)
	}
	var sts []mastodon.Status
	r.ok(t, &sts)
	return sts
}

func lmfStatusIDs(sts []mastodon.Status) []string {
	ids := make([]string, len(sts))
	for i, st := range sts {
		ids[i] = st.ID
	}
	return ids
}

func TestListsCRUD(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	ctx := context.Background()
	client := lmfClient(inst, alice)

	created, err := client.CreateList(ctx, "Work")
	if err != nil {
		t.Fatal(err)
	}
	var raw mastodon.List
	lmfGet(t, inst.API("/api/v1/lists/%s", created.ID), alice.Token).ok(t, &raw)
	if raw.Title != "Work" || raw.RepliesPolicy != "list" || raw.Exclusive {
		t.Fatalf("new list = %+v, want title Work, replies_policy list, not exclusive", raw)
	}
	second, err := client.CreateList(ctx, "Friends")
	if err != nil {
		t.Fatal(err)
	}

	renamed, err := client.RenameList(ctx, created.ID, "Colleagues")
	if err != nil || renamed.Title != "Colleagues" {
		t.Fatalf("rename = %+v, %v", renamed, err)
	}
	lmfJSON(t, http.MethodPut, inst.API("/api/v1/lists/%s", created.ID), alice.Token,
		`{"replies_policy":"followed","exclusive":true}`).ok(t, &raw)
	if raw.Title != "Colleagues" || raw.RepliesPolicy != "followed" || !raw.Exclusive {
		t.Fatalf("after PUT = %+v; title should be kept, policy and exclusive changed", raw)
	}
	lmfForm(t, http.MethodPut, inst.API("/api/v1/lists/%s", created.ID), alice.Token, "exclusive=false&replies_policy=none").ok(t, &raw)
	if raw.RepliesPolicy != "none" || raw.Exclusive {
		t.Fatalf("after form PUT = %+v", raw)
	}

	lists, err := client.GetLists(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, l := range lists {
		titles = append(titles, l.Title)
	}
	if !slices.Equal(titles, []string{"Colleagues", "Friends"}) {
		t.Fatalf("lists = %v", titles)
	}

	r := lmfDo(t, http.MethodDelete, inst.API("/api/v1/lists/%s", second.ID), alice.Token, "", "")
	if r.Code != http.StatusOK || strings.TrimSpace(string(r.Body)) != "{}" {
		t.Fatalf("delete = %d %s, want 200 {}", r.Code, r.Body)
	}
	lmfGet(t, inst.API("/api/v1/lists/%s", second.ID), alice.Token).wantError(t, http.StatusNotFound, "Record not found")
	if lists, _ := client.GetLists(ctx); len(lists) != 1 {
		t.Fatalf("after delete %d lists, want 1", len(lists))
	}
}

func TestListsMembers(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol, dave := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol"), inst.CreateUser(t, "dave")
	lmfFollow(t, inst, alice, bob)
	lmfFollow(t, inst, alice, carol)
	ctx := context.Background()
	client := lmfClient(inst, alice)
	list, err := client.CreateList(ctx, "Team")
	if err != nil {
		t.Fatal(err)
	}
	members := func() []string {
		t.Helper()
		accts, err := client.GetListAccounts(ctx, list.ID)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, a := range accts {
			names = append(names, a.Username)
		}
		slices.Sort(names)
		return names
	}
	accountsURL := inst.API("/api/v1/lists/%s/accounts", list.ID)

	if err := client.AddToList(ctx, list.ID, gomastodon.ID(bob.Account.ID)); err != nil {
		t.Fatalf("add bob (form account_ids[]): %v", err)
	}
	lmfJSON(t, http.MethodPost, accountsURL, alice.Token, fmt.Sprintf(`{"account_ids":[%q]}`, carol.Account.ID)).ok(t, nil)
	if got := members(); !slices.Equal(got, []string{"bob", "carol"}) {
		t.Fatalf("members = %v", got)
	}

	// Paging: newest account first, with Link headers.
	var page []mastodon.Account
	r := lmfGet(t, accountsURL+"?limit=1", alice.Token)
	r.ok(t, &page)
	if len(page) != 1 || page[0].Username != "carol" {
		t.Fatalf("first page = %+v", page)
	}
	next := lmfLink(t, r.Header.Get("Link"), "next")
	lmfGet(t, next, alice.Token).ok(t, &page)
	if len(page) != 1 || page[0].Username != "bob" {
		t.Fatalf("second page (%s) = %+v", next, page)
	}
	if r := lmfGet(t, accountsURL+"?limit=0", alice.Token); r.Header.Get("Link") != "" {
		t.Errorf("limit=0 answered with a Link header %q", r.Header.Get("Link"))
	}

	// Refusals leave the list as it was.
	refusals := []struct {
		name, body string
		code       int
		msg        string
	}{
		{"not followed", "account_ids[]=" + dave.Account.ID, http.StatusUnprocessableEntity, "Validation failed: Account must be a followed account"},
		{"not followed, then already on the list", "account_ids[]=" + dave.Account.ID + "&account_ids[]=" + bob.Account.ID, http.StatusUnprocessableEntity, "Validation failed: Account must be a followed account"},
		{"already on the list, then not followed", "account_ids[]=" + bob.Account.ID + "&account_ids[]=" + dave.Account.ID, http.StatusUnprocessableEntity, "Validation failed: Account is already on the list"},
		{"already on the list", "account_ids[]=" + bob.Account.ID, http.StatusUnprocessableEntity, "Validation failed: Account is already on the list"},
		{"unknown account", "account_ids[]=999999", http.StatusNotFound, "Record not found"},
	}
	for _, tc := range refusals {
		lmfForm(t, http.MethodPost, accountsURL, alice.Token, tc.body).wantError(t, tc.code, tc.msg)
		if got := members(); !slices.Equal(got, []string{"bob", "carol"}) {
			t.Fatalf("%s: members changed to %v", tc.name, got)
		}
	}

	// The owner may put themselves on their list.
	if err := client.AddToList(ctx, list.ID, gomastodon.ID(alice.Account.ID)); err != nil {
		t.Fatalf("add self: %v", err)
	}

	if err := client.RemoveFromList(ctx, list.ID, gomastodon.ID(bob.Account.ID)); err != nil {
		t.Fatalf("remove bob (form body): %v", err)
	}
	lmfDo(t, http.MethodDelete, accountsURL+"?account_ids[]="+carol.Account.ID, alice.Token, "", "").ok(t, nil)
	lmfJSON(t, http.MethodDelete, accountsURL, alice.Token, fmt.Sprintf(`{"account_ids":[%q, "404"]}`, alice.Account.ID)).ok(t, nil)
	if got := members(); len(got) != 0 {
		t.Fatalf("after removals members = %v", got)
	}
}

// lmfLink extracts one rel of a Link header.
func lmfLink(t testing.TB, header, rel string) string {
	t.Helper()
	for _, part := range strings.Split(header, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if ok && strings.Contains(params, `rel="`+rel+`"`) {
			return strings.Trim(target, "<>")
		}
	}
	t.Fatalf("no rel=%q in Link header %q", rel, header)
	return ""
}

func TestListsTimelineGetsMembersPosts(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	lmfFollow(t, inst, alice, bob)
	lmfFollow(t, inst, alice, carol)
	ctx := context.Background()
	client := lmfClient(inst, alice)
	list, err := client.CreateList(ctx, "Bob only")
	if err != nil {
		t.Fatal(err)
	}
	if err := client.AddToList(ctx, list.ID, gomastodon.ID(bob.Account.ID)); err != nil {
		t.Fatal(err)
	}
	fromBob := lmfPost(t, inst, bob, "for the list")
	lmfPost(t, inst, carol, "not for the list")

	entries, err := inst.Store.ListTimeline(ctx, string(list.ID), store.Page{})
	if err != nil || !slices.Equal(store.Members(entries), []string{fromBob}) {
		t.Fatalf("list timeline in the store = %v, %v; want [%s]", store.Members(entries), err, fromBob)
	}
	got := lmfStatusIDs(lmfTimeline(t, inst.API("/api/v1/timelines/list/%s", list.ID), alice.Token))
	if !slices.Equal(got, []string{fromBob}) {
		t.Fatalf("GET list timeline = %v, want [%s]", got, fromBob)
	}
}

func TestListsOfOthersAreNotFound(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	lmfFollow(t, inst, bob, alice)
	list, err := lmfClient(inst, alice).CreateList(context.Background(), "Private")
	if err != nil {
		t.Fatal(err)
	}
	u := inst.API("/api/v1/lists/%s", list.ID)
	requests := []struct{ method, url, body string }{
		{http.MethodGet, u, ""},
		{http.MethodPut, u, "title=Mine"},
		{http.MethodDelete, u, ""},
		{http.MethodGet, u + "/accounts", ""},
		{http.MethodPost, u + "/accounts", "account_ids[]=" + alice.Account.ID},
		{http.MethodDelete, u + "/accounts", "account_ids[]=" + alice.Account.ID},
		{http.MethodGet, inst.API("/api/v1/timelines/list/%s", list.ID), ""},
	}
	for _, rq := range requests {
		lmfForm(t, rq.method, rq.url, bob.Token, rq.body).wantError(t, http.StatusNotFound, "Record not found")
	}
	var still mastodon.List
	lmfGet(t, u, alice.Token).ok(t, &still)
	if still.Title != "Private" {
		t.Fatalf("owner's list changed: %+v", still)
	}
	if ids, _ := inst.Store.ListAccountIDs(context.Background(), string(list.ID)); len(ids) != 0 {
		t.Fatalf("another account added members %v", ids)
	}
}

func TestListsBadInput(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	readOnly := lmfReadOnlyToken(t, inst, alice)
	listsURL := inst.API("/api/v1/lists")
	cases := []struct {
		name               string
		method, url, token string
		contentType, body  string
		code               int
		msg                string
	}{
		{"no token", http.MethodGet, listsURL, "", "", "", http.StatusUnauthorized, "The access token is invalid"},
		{"no token on create", http.MethodPost, listsURL, "", "application/x-www-form-urlencoded", "title=x", http.StatusUnauthorized, "The access token is invalid"},
		{"read-only token", http.MethodPost, listsURL, readOnly, "application/x-www-form-urlencoded", "title=x", http.StatusForbidden, "This action is outside the authorized scopes"},
		{"malformed JSON", http.MethodPost, listsURL, alice.Token, "application/json", `{"title":`, http.StatusBadRequest, "Malformed request body*"},
		{"blank title", http.MethodPost, listsURL, alice.Token, "application/x-www-form-urlencoded", "title=+", http.StatusUnprocessableEntity, "Validation failed: Title can't be blank"},
		{"no title", http.MethodPost, listsURL, alice.Token, "application/json", `{"exclusive":true}`, http.StatusUnprocessableEntity, "Validation failed: Title can't be blank"},
		{"bad replies_policy", http.MethodPost, listsURL, alice.Token, "application/json", `{"title":"x","replies_policy":"sometimes"}`, http.StatusUnprocessableEntity, "'sometimes' is not a valid replies_policy"},
		{"title as an object", http.MethodPost, listsURL, alice.Token, "application/json", `{"title":{"a":1}}`, http.StatusBadRequest, "Malformed request body*"},
		{"unknown list", http.MethodGet, listsURL + "/12345", alice.Token, "", "", http.StatusNotFound, "Record not found"},
		{"unknown list update", http.MethodPut, listsURL + "/12345", alice.Token, "application/x-www-form-urlencoded", "title=x", http.StatusNotFound, "Record not found"},
		{"unknown list members", http.MethodPost, listsURL + "/12345/accounts", alice.Token, "application/x-www-form-urlencoded", "account_ids[]=1", http.StatusNotFound, "Record not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lmfDo(t, tc.method, tc.url, tc.token, tc.contentType, tc.body).wantError(t, tc.code, tc.msg)
		})
	}
	if lists, _ := inst.Store.Lists(context.Background(), alice.Account.ID); len(lists) != 0 {
		t.Fatalf("refused requests created lists: %+v", lists)
	}

	// A blank title on update is refused and leaves the list as it was.
	created, err := lmfClient(inst, alice).CreateList(context.Background(), "Keep")
	if err != nil {
		t.Fatal(err)
	}
	lmfForm(t, http.MethodPut, inst.API("/api/v1/lists/%s", created.ID), alice.Token, "title=").wantError(t, http.StatusUnprocessableEntity, "Validation failed: Title can't be blank")
	var l mastodon.List
	lmfGet(t, inst.API("/api/v1/lists/%s", created.ID), alice.Token).ok(t, &l)
	if l.Title != "Keep" {
		t.Fatalf("refused update changed the title to %q", l.Title)
	}
}

func TestListsLimitPerAccount(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	ctx := context.Background()
	for i := range 50 {
		if err := inst.Store.CreateList(ctx, &store.List{AccountID: alice.Account.ID, Title: fmt.Sprint("list ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	lmfForm(t, http.MethodPost, inst.API("/api/v1/lists"), alice.Token, "title=one+too+many").
		wantError(t, http.StatusUnprocessableEntity, "Validation failed: You have reached the maximum number of lists")
	if lists, _ := inst.Store.Lists(ctx, alice.Account.ID); len(lists) != 50 {
		t.Fatalf("%d lists, want 50", len(lists))
	}
}
