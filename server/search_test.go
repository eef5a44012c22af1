package server_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/testrig"
)

// searchV2 runs GET /api/v2/search and decodes the results.
func searchV2(t testing.TB, inst *testrig.Instance, token string, q url.Values) mastodon.SearchResults {
	t.Helper()
	r := apiGet(t, inst.URL+"/api/v2/search?"+q.Encode(), token)
	if r.Code != http.StatusOK {
		t.Fatalf("search %v: %d %s", q, r.Code, r.Body)
	}
	var res mastodon.SearchResults
	r.decode(t, &res)
	if res.Accounts == nil || res.Statuses == nil || res.Hashtags == nil {
		t.Fatalf("search %v: every result list must be present: %s", q, r.Body)
	}
	return res
}

func acctsOf(res mastodon.SearchResults) []string {
	var out []string
	for _, a := range res.Accounts {
		out = append(out, a.Acct)
	}
	return out
}

func TestSearchAccounts(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	bob := inst.CreateUser(t, "bob")
	inst.CreateUser(t, "bobby")
	remoteAccount(t, inst, "bob", "sales.example")
	gone := inst.CreateUser(t, "bobsuspended")
	gone.Account.Suspended = true
	if err := inst.Store.UpdateAccount(context.Background(), gone.Account); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		q, token string
		extra    url.Values
		want     []string
	}{
		{"bob", "", nil, []string{"bob", "bob@sales.example", "bobby"}},
		{"@BOB", "", nil, []string{"bob", "bob@sales.example", "bobby"}},
		{"bob@sales.example", "", nil, []string{"bob@sales.example"}},
		{"@bob@sales", "", nil, []string{"bob@sales.example"}},
		{"bob@" + inst.Config.Domain(), "", nil, []string{"bob", "bobby"}},
		{"bob", alice.Token, url.Values{"limit": {"2"}}, []string{"bob", "bob@sales.example"}},
		{"bob", alice.Token, url.Values{"limit": {"2"}, "offset": {"2"}}, []string{"bobby"}},
		{"bob", alice.Token, url.Values{"type": {"hashtags"}}, nil},
		{"zed", "", nil, nil},
		{alice.Account.URL, "", nil, []string{"alice"}},
		{alice.Account.URI, "", nil, []string{"alice"}},
		{"https://sales.example/users/bob", "", nil, []string{"bob@sales.example"}},
	}
	for _, tc := range cases {
		t.Run(tc.q, func(t *testing.T) {
			q := url.Values{"q": {tc.q}}
			for k, v := range tc.extra {
				q[k] = v
			}
			if got := acctsOf(searchV2(t, inst, tc.token, q)); !slices.Equal(got, tc.want) {
				t.Fatalf("accounts %v, want %v", got, tc.want)
			}
		})
	}

	// following=true keeps only accounts the viewer follows.
	followUser(t, inst, alice, bob)
	if got := acctsOf(searchV2(t, inst, alice.Token, url.Values{"q": {"bob"}, "following": {"true"}})); !slices.Equal(got, []string{"bob"}) {
		t.Fatalf("following=true: %v", got)
	}
	// Blocked accounts are left out of prefix matches; the exact match stays, as in Mastodon,
	// so the block can be undone (TestExactSearchFindsBlockedAndMuted).
	if err := inst.Store.Block(context.Background(), alice.Account.ID, bob.Account.ID); err != nil {
		t.Fatal(err)
	}
	if got := acctsOf(searchV2(t, inst, alice.Token, url.Values{"q": {"bo"}, "type": {"accounts"}})); slices.Contains(got, "bob") {
		t.Fatalf("a blocked account is found by a prefix: %v", got)
	}

	// Resolving an unknown remote account finds nothing yet, but is allowed when signed in.
	if got := acctsOf(searchV2(t, inst, alice.Token, url.Values{"q": {"zoe@elsewhere.example"}, "resolve": {"true"}})); len(got) != 0 {
		t.Fatalf("resolve: %v", got)
	}

	// go-mastodon's search.
	res, err := userClient(inst, alice).Search(context.Background(), "bobb", false)
	if err != nil || len(res.Accounts) != 1 || res.Accounts[0].Username != "bobby" {
		t.Fatalf("go-mastodon search: %+v, %v", res, err)
	}
}

func TestSearchHashtags(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	storeStatus(t, inst, alice.Account, store.Status{Visibility: store.VisibilityPublic, Tags: []string{"golang", "gopher"}})
	storeStatus(t, inst, alice.Account, store.Status{Visibility: store.VisibilityPublic, Tags: []string{"rust"}})

	r := apiGet(t, inst.URL+"/api/v2/search?type=hashtags&q=%23go", "")
	if r.Code != http.StatusOK {
		t.Fatalf("search: %d %s", r.Code, r.Body)
	}
	var raw struct {
		Hashtags []map[string]any `json:"hashtags"`
	}
	r.decode(t, &raw)
	var names []string
	for _, h := range raw.Hashtags {
		names = append(names, h["name"].(string))
		if h["url"] != inst.URL+"/tags/"+h["name"].(string) {
			t.Errorf("tag url %v", h["url"])
		}
		if hist, ok := h["history"].([]any); !ok || len(hist) != 0 {
			t.Errorf("tag history %#v, want []", h["history"])
		}
		if _, ok := h["following"]; ok {
			t.Error("anonymous results carry following")
		}
	}
	// "go" itself is offered first although unused, so it can be followed.
	if !slices.Equal(names, []string{"go", "golang", "gopher"}) {
		t.Fatalf("hashtags %v", names)
	}

	if err := inst.Store.FollowTag(context.Background(), alice.Account.ID, "rust"); err != nil {
		t.Fatal(err)
	}
	res := searchV2(t, inst, alice.Token, url.Values{"q": {"rust"}})
	if len(res.Hashtags) != 1 || res.Hashtags[0].Following == nil || !*res.Hashtags[0].Following {
		t.Fatalf("followed tag: %+v", res.Hashtags)
	}
	if res := searchV2(t, inst, "", url.Values{"q": {"#not a tag!"}}); len(res.Hashtags) != 0 {
		t.Fatalf("invalid tag offered: %+v", res.Hashtags)
	}
}

func TestSearchStatuses(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	public := storeStatus(t, inst, alice.Account, store.Status{Visibility: store.VisibilityPublic})
	private := storeStatus(t, inst, alice.Account, store.Status{Visibility: store.VisibilityPrivate})

	ids := func(res mastodon.SearchResults) []string {
		var out []string
		for _, s := range res.Statuses {
			out = append(out, s.ID)
		}
		return out
	}
	cases := []struct {
		name, q, token string
		want           []string
	}{
		{"by URI", public.URI, "", []string{public.ID}},
		{"by URL", public.URL, "", []string{public.ID}},
		{"by URL, statuses only", public.URL, bob.Token, []string{public.ID}},
		{"private, anonymous", private.URL, "", nil},
		{"private, not a follower", private.URI, bob.Token, nil},
		{"private, its author", private.URI, alice.Token, []string{private.ID}},
		{"another account's path", inst.URL + "/@bob/" + public.ID, "", nil},
		{"plain words", "hello", "", nil},
		{"unknown URL", "https://elsewhere.example/notes/1", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"q": {tc.q}}
			if tc.name == "by URL, statuses only" {
				q.Set("type", "statuses")
			}
			res := searchV2(t, inst, tc.token, q)
			if got := ids(res); !slices.Equal(got, tc.want) {
				t.Fatalf("statuses %v, want %v", got, tc.want)
			}
			if len(res.Statuses) > 0 && len(res.Accounts)+len(res.Hashtags) != 0 {
				t.Fatalf("a status URL also matched accounts or tags: %+v", res)
			}
		})
	}
}

func TestSearchRefusals(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	writeOnly := userToken(t, inst, alice, "write")
	cases := []struct {
		name, query, token string
		status             int
		msg                string
	}{
		{"missing q", "", "", 400, "param is missing or the value is empty: q"},
		{"anonymous offset", "q=bob&offset=5", "", 401, "Search queries pagination is not supported without authentication"},
		{"anonymous resolve", "q=bob@elsewhere.example&resolve=true", "", 401, "Search queries that resolve remote resources are not supported without authentication"},
		{"token without read", "q=bob", writeOnly, 403, "This action is outside the authorized scopes"},
		{"invalid token", "q=bob", "bogus", 401, "The access token is invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			apiGet(t, inst.URL+"/api/v2/search?"+tc.query, tc.token).expectError(t, tc.status, tc.msg)
		})
	}
}

// TestSearchVisibility pins that a status found by search, by its URI or by resolving it, is one
// GET /api/v1/statuses/:id would show the same viewer: resolving answers with stored statuses,
// direct messages among them, so search must apply the same check as every other read.
func TestSearchVisibility(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol, frank := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol"), inst.CreateUser(t, "frank")
	followUser(t, inst, frank, bob)
	dave := remoteAccount(t, inst, "dave", "sales.example")
	dm := storeStatus(t, inst, bob.Account, store.Status{Visibility: store.VisibilityDirect, Mentions: []string{carol.Account.ID}})
	private := storeStatus(t, inst, bob.Account, store.Status{Visibility: store.VisibilityPrivate})
	remoteDM := storeStatus(t, inst, dave, store.Status{Visibility: store.VisibilityDirect, Mentions: []string{carol.Account.ID}})
	public := storeStatus(t, inst, bob.Account, store.Status{Visibility: store.VisibilityPublic})

	cases := []struct {
		name   string
		st     *store.Status
		viewer *testrig.User // nil: anonymous
		want   bool
	}{
		{"direct, author", dm, bob, true},
		{"direct, mentioned", dm, carol, true},
		{"direct, stranger", dm, alice, false},
		{"direct, anonymous", dm, nil, false},
		{"followers-only, author", private, bob, true},
		{"followers-only, follower", private, frank, true},
		{"followers-only, not a follower", private, alice, false},
		{"followers-only, anonymous", private, nil, false},
		{"remote direct, mentioned", remoteDM, carol, true},
		{"remote direct, stranger", remoteDM, alice, false},
		{"remote direct, anonymous", remoteDM, nil, false},
		{"public, author", public, bob, true},
		{"public, stranger", public, alice, true},
		{"public, anonymous", public, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token := ""
			if tc.viewer != nil {
				token = tc.viewer.Token
			}
			// Anonymous searches may not resolve (401, see TestSearchRefusals).
			resolves := []string{"false"}
			if tc.viewer != nil {
				resolves = append(resolves, "true")
			}
			for _, resolve := range resolves {
				for _, kind := range []string{"", "statuses"} {
					q := url.Values{"q": {tc.st.URI}, "resolve": {resolve}}
					if kind != "" {
						q.Set("type", kind)
					}
					res := searchV2(t, inst, token, q)
					found := len(res.Statuses) == 1 && res.Statuses[0].ID == tc.st.ID
					if found != tc.want || (!tc.want && len(res.Statuses) != 0) {
						t.Errorf("search %v: statuses %v, want found=%v", q, res.Statuses, tc.want)
					}
				}
			}
			wantCode := http.StatusNotFound
			if tc.want {
				wantCode = http.StatusOK
			}
			if r := apiGet(t, inst.API("/api/v1/statuses/%s", tc.st.ID), token); r.Code != wantCode {
				t.Errorf("GET the status: %d, want %d (search must agree)", r.Code, wantCode)
			}
		})
	}
}
