package server_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/testrig"
)

func TestListsCRUD(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	ctx := context.Background()
	client := userClient(inst, alice)

	created, err := client.CreateList(ctx, "Work")
	if err != nil {
		t.Fatal(err)
	}
	var raw mastodon.List
	apiGet(t, inst.API("/api/v1/lists/%s", created.ID), alice.Token).ok(t, &raw)
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
	apiJSON(t, http.MethodPut, inst.API("/api/v1/lists/%s", created.ID), alice.Token,
		`{"replies_policy":"followed","exclusive":true}`).ok(t, &raw)
	if raw.Title != "Colleagues" || raw.RepliesPolicy != "followed" || !raw.Exclusive {
		t.Fatalf("after PUT = %+v; title should be kept, policy and exclusive changed", raw)
	}
	apiForm(t, http.MethodPut, inst.API("/api/v1/lists/%s", created.ID), alice.Token, "exclusive=false&replies_policy=none").ok(t, &raw)
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

	r := apiDo(t, http.MethodDelete, inst.API("/api/v1/lists/%s", second.ID), alice.Token, "", "")
	if r.Code != http.StatusOK || strings.TrimSpace(string(r.Body)) != "{}" {
		t.Fatalf("delete = %d %s, want 200 {}", r.Code, r.Body)
	}
	apiGet(t, inst.API("/api/v1/lists/%s", second.ID), alice.Token).expectError(t, http.StatusNotFound, "Record not found")
	if lists, _ := client.GetLists(ctx); len(lists) != 1 {
		t.Fatalf("after delete %d lists, want 1", len(lists))
	}
}

func TestListsMembers(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol, dave := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol"), inst.CreateUser(t, "dave")
	followUser(t, inst, alice, bob)
	followUser(t, inst, alice, carol)
	ctx := context.Background()
	client := userClient(inst, alice)
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
	apiJSON(t, http.MethodPost, accountsURL, alice.Token, fmt.Sprintf(`{"account_ids":[%q]}`, carol.Account.ID)).ok(t, nil)
	if got := members(); !slices.Equal(got, []string{"bob", "carol"}) {
		t.Fatalf("members = %v", got)
	}

	// Paging: newest account first, with Link headers.
	var page []mastodon.Account
	r := apiGet(t, accountsURL+"?limit=1", alice.Token)
	r.ok(t, &page)
	if len(page) != 1 || page[0].Username != "carol" {
		t.Fatalf("first page = %+v", page)
	}
	next := mustLinkRel(t, r.Header.Get("Link"), "next")
	apiGet(t, next, alice.Token).ok(t, &page)
	if len(page) != 1 || page[0].Username != "bob" {
		t.Fatalf("second page (%s) = %+v", next, page)
	}
	if r := apiGet(t, accountsURL+"?limit=0", alice.Token); r.Header.Get("Link") != "" {
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
		apiForm(t, http.MethodPost, accountsURL, alice.Token, tc.body).expectError(t, tc.code, tc.msg)
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
	apiDo(t, http.MethodDelete, accountsURL+"?account_ids[]="+carol.Account.ID, alice.Token, "", "").ok(t, nil)
	apiJSON(t, http.MethodDelete, accountsURL, alice.Token, fmt.Sprintf(`{"account_ids":[%q, "404"]}`, alice.Account.ID)).ok(t, nil)
	if got := members(); len(got) != 0 {
		t.Fatalf("after removals members = %v", got)
	}
}

func TestListsTimelineGetsMembersPosts(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	followUser(t, inst, alice, bob)
	followUser(t, inst, alice, carol)
	ctx := context.Background()
	client := userClient(inst, alice)
	list, err := client.CreateList(ctx, "Bob only")
	if err != nil {
		t.Fatal(err)
	}
	if err := client.AddToList(ctx, list.ID, gomastodon.ID(bob.Account.ID)); err != nil {
		t.Fatal(err)
	}
	fromBob := string(postStatus(t, inst, bob, gomastodon.Toot{Status: "for the list"}).ID)
	postStatus(t, inst, carol, gomastodon.Toot{Status: "not for the list"})

	entries, err := inst.Store.ListTimeline(ctx, string(list.ID), store.Page{})
	if err != nil || !slices.Equal(store.Members(entries), []string{fromBob}) {
		t.Fatalf("list timeline in the store = %v, %v; want [%s]", store.Members(entries), err, fromBob)
	}
	got := statusIDs(timeline(t, inst.API("/api/v1/timelines/list/%s", list.ID), alice.Token))
	if !slices.Equal(got, []string{fromBob}) {
		t.Fatalf("GET list timeline = %v, want [%s]", got, fromBob)
	}
}

func TestListsOfOthersAreNotFound(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	followUser(t, inst, bob, alice)
	list, err := userClient(inst, alice).CreateList(context.Background(), "Private")
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
		apiForm(t, rq.method, rq.url, bob.Token, rq.body).expectError(t, http.StatusNotFound, "Record not found")
	}
	var still mastodon.List
	apiGet(t, u, alice.Token).ok(t, &still)
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
	readOnly := userToken(t, inst, alice, "read")
	listsURL := inst.API("/api/v1/lists")
	expectRefusals(t, []refusal{
		{"no token", http.MethodGet, listsURL, "", "", "", http.StatusUnauthorized, "The access token is invalid"},
		{"no token on create", http.MethodPost, listsURL, "", formType, "title=x", http.StatusUnauthorized, "The access token is invalid"},
		{"read-only token", http.MethodPost, listsURL, readOnly, formType, "title=x", http.StatusForbidden, "This action is outside the authorized scopes"},
		{"malformed JSON", http.MethodPost, listsURL, alice.Token, jsonType, `{"title":`, http.StatusBadRequest, "Malformed request body*"},
		{"blank title", http.MethodPost, listsURL, alice.Token, formType, "title=+", http.StatusUnprocessableEntity, "Validation failed: Title can't be blank"},
		{"no title", http.MethodPost, listsURL, alice.Token, jsonType, `{"exclusive":true}`, http.StatusUnprocessableEntity, "Validation failed: Title can't be blank"},
		{"bad replies_policy", http.MethodPost, listsURL, alice.Token, jsonType, `{"title":"x","replies_policy":"sometimes"}`, http.StatusUnprocessableEntity, "'sometimes' is not a valid replies_policy"},
		{"title as an object", http.MethodPost, listsURL, alice.Token, jsonType, `{"title":{"a":1}}`, http.StatusBadRequest, "Malformed request body*"},
		{"unknown list", http.MethodGet, listsURL + "/12345", alice.Token, "", "", http.StatusNotFound, "Record not found"},
		{"unknown list update", http.MethodPut, listsURL + "/12345", alice.Token, formType, "title=x", http.StatusNotFound, "Record not found"},
		{"unknown list members", http.MethodPost, listsURL + "/12345/accounts", alice.Token, formType, "account_ids[]=1", http.StatusNotFound, "Record not found"},
	})
	if lists, _ := inst.Store.Lists(context.Background(), alice.Account.ID); len(lists) != 0 {
		t.Fatalf("refused requests created lists: %+v", lists)
	}

	// A blank title on update is refused and leaves the list as it was.
	created, err := userClient(inst, alice).CreateList(context.Background(), "Keep")
	if err != nil {
		t.Fatal(err)
	}
	apiForm(t, http.MethodPut, inst.API("/api/v1/lists/%s", created.ID), alice.Token, "title=").expectError(t, http.StatusUnprocessableEntity, "Validation failed: Title can't be blank")
	var l mastodon.List
	apiGet(t, inst.API("/api/v1/lists/%s", created.ID), alice.Token).ok(t, &l)
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
	apiForm(t, http.MethodPost, inst.API("/api/v1/lists"), alice.Token, "title=one+too+many").
		expectError(t, http.StatusUnprocessableEntity, "Validation failed: You have reached the maximum number of lists")
	if lists, _ := inst.Store.Lists(ctx, alice.Account.ID); len(lists) != 50 {
		t.Fatalf("%d lists, want 50", len(lists))
	}
}
