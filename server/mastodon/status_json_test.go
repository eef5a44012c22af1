package mastodon

import (
	"encoding/json"
	"testing"
	"time"

	"watercooler/store"
)

// TestStatusJSONIsWhatMarshalWrites checks that StatusJSON writes, for every kind of status and
// reader, the bytes json.Marshal writes of StatusFrom, on a first render and from its cache; and
// that a change to any record the status is made of shows in the next render.
func TestStatusJSONIsWhatMarshalWrites(t *testing.T) {
	site := Site{BaseURL: "https://dept.example"}
	created := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	author := &store.Account{ID: "100", Username: "alice", DisplayName: "Alice <b>&</b>", URI: site.BaseURL + "/users/alice", URL: site.BaseURL + "/@alice", CreatedAt: created}
	mentioned := &store.Account{ID: "101", Username: "bob", Domain: "sales.example", URI: "https://sales.example/users/bob", URL: "https://sales.example/@bob", CreatedAt: created}
	counts := store.AccountCounts{Statuses: 3, Followers: 2, Following: 1, LastStatusAt: created}
	post := &store.Status{
		ID: "200", URI: site.BaseURL + "/users/alice/statuses/200", URL: site.BaseURL + "/@alice/200", AccountID: author.ID, Local: true,
		Content:    `<p>"reblog":null <a href="https://dept.example/tags/go" class="mention hashtag" rel="tag">#<span>go</span></a> @bob</p>`,
		Visibility: store.VisibilityPublic, Language: "en", Tags: []string{"go"}, Mentions: []string{mentioned.ID}, MediaIDs: []string{"300"},
		ApplicationName: "Web", CreatedAt: created, EditedAt: created.Add(time.Minute),
	}
	media := &store.Media{ID: "300", Type: "image", URL: site.BaseURL + "/media/300.png", Width: 4, Height: 3, Description: "a chart"}
	boost := &store.Status{ID: "201", URI: site.BaseURL + "/users/alice/statuses/201/activity", AccountID: author.ID, Local: true, Visibility: store.VisibilityPublic, ReblogOfID: post.ID, CreatedAt: created}
	approval := func(current string) *QuoteApproval {
		return &QuoteApproval{Automatic: []string{"public"}, Manual: []string{}, CurrentUser: current}
	}
	postData := func(viewer *ViewerFlags, filtered []FilterResult, sc store.StatusCounts) *StatusData {
		return &StatusData{Status: post, Account: author, AccountCounts: counts, Counts: sc, Mentions: []*store.Account{mentioned},
			Media: []*store.Media{media}, Viewer: viewer, Filtered: filtered, QuoteApproval: approval("automatic")}
	}
	flags := &ViewerFlags{Favourited: true, Bookmarked: true}
	filtered := []FilterResult{{Filter: Filter{ID: "1", Title: "spoilers", Context: []string{"home"}, FilterAction: "warn", Keywords: []FilterKeyword{}, Statuses: []any{}}, KeywordMatches: []string{"go"}, StatusMatches: []string{}}}
	cache := NewStatusJSON(site, 16)
	for _, tc := range []struct {
		name string
		d    *StatusData
	}{
		{"anonymous", postData(nil, nil, store.StatusCounts{Favourites: 1})},
		{"a reader's flags", postData(flags, nil, store.StatusCounts{Favourites: 1})},
		{"another reader's flags and filter results", postData(&ViewerFlags{Muted: true, Pinned: true}, filtered, store.StatusCounts{Favourites: 1})},
		{"counters changed", postData(flags, nil, store.StatusCounts{Favourites: 2, Replies: 1})},
		{"quote approval for another reader", func() *StatusData {
			d := postData(flags, nil, store.StatusCounts{Favourites: 2, Replies: 1})
			d.QuoteApproval = approval("denied")
			return d
		}()},
		{"author changed", func() *StatusData {
			d := postData(flags, nil, store.StatusCounts{Favourites: 2, Replies: 1})
			renamed := *author
			renamed.DisplayName = "Alice A."
			d.Account = &renamed
			return d
		}()},
		{"boost", &StatusData{Status: boost, Account: author, AccountCounts: counts, Viewer: &ViewerFlags{Reblogged: true},
			QuoteApproval: approval("denied"), Reblog: postData(&ViewerFlags{Reblogged: true}, nil, store.StatusCounts{Reblogs: 1})}},
		{"boost read anonymously", &StatusData{Status: boost, Account: author, AccountCounts: counts,
			QuoteApproval: approval("unknown"), Reblog: postData(nil, nil, store.StatusCounts{Reblogs: 1})}},
		{"a copy of the status, unchanged", func() *StatusData {
			d := postData(flags, nil, store.StatusCounts{Favourites: 2, Replies: 1})
			cp := *post
			d.Status = &cp
			return d
		}()},
		{"a copy of the status, marked sensitive", func() *StatusData {
			d := postData(flags, nil, store.StatusCounts{Favourites: 2, Replies: 1})
			cp := *post
			cp.Sensitive = true
			d.Status = &cp
			return d
		}()},
		{"poll", func() *StatusData {
			d := postData(flags, nil, store.StatusCounts{})
			d.Poll = &PollData{Poll: &store.Poll{ID: post.ID, Options: []string{"yes", "no"}, Votes: []int64{0, 1}, Voters: 1, ExpiresAt: time.Now().Add(time.Hour)}, Voted: true, OwnVotes: []int{1}}
			return d
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(StatusFrom(site, tc.d))
			if err != nil {
				t.Fatal(err)
			}
			for _, pass := range []string{"first render", "from the cache"} {
				got, err := cache.Append([]byte("x"), tc.d)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != "x"+string(want) {
					t.Errorf("%s:\n got %s\nwant x%s", pass, got, want)
				}
			}
		})
	}
}

// TestCredentialJSONIsWhatMarshalWrites checks CredentialJSON against json.Marshal of
// CredentialAccountFrom as the account, its counters, its user record and its follow requests
// change, on copies of the records as the store hands them out.
func TestCredentialJSONIsWhatMarshalWrites(t *testing.T) {
	site := Site{BaseURL: "https://dept.example"}
	created := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	account := store.Account{ID: "100", Username: "alice", URI: site.BaseURL + "/users/alice", CreatedAt: created,
		Fields: []store.Field{{Name: "team", Value: `<a href="https://x.example">x</a>`}}}
	user := store.User{AccountID: "100", Email: "alice@dept.example"}
	counts := store.AccountCounts{Statuses: 1}
	cache := NewCredentialJSON(site, 4)
	for _, tc := range []struct {
		name     string
		change   func()
		requests int64
	}{
		{"first", func() {}, 0},
		{"unchanged copies", func() {}, 0},
		{"a follow request", func() {}, 1},
		{"counters", func() { counts.Followers++ }, 1},
		{"profile", func() { account.DisplayName = "Alice A."; account.Fields = []store.Field{{Name: "team", Value: "y"}} }, 1},
		{"posting preference", func() { user.Preferences.PostingVisibility = store.VisibilityPrivate }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.change()
			a, u := account, user // copies, as the store hands records out
			want, err := json.Marshal(CredentialAccountFrom(site, &a, counts, &u, tc.requests))
			if err != nil {
				t.Fatal(err)
			}
			got, err := cache.Get(&a, counts, &u, tc.requests)
			if err != nil || string(got) != string(want) {
				t.Errorf("got %s (%v)\nwant %s", got, err, want)
			}
		})
	}
}

// TestAccountJSONIsWhatMarshalWrites checks AccountJSON against json.Marshal of PublicAccount
// as the account, its counters and the account it moved to change, on copies of the records.
func TestAccountJSONIsWhatMarshalWrites(t *testing.T) {
	site := Site{BaseURL: "https://dept.example"}
	created := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	account := store.Account{ID: "100", Username: "alice", URI: site.BaseURL + "/users/alice", CreatedAt: created, Note: "<p>hi</p>"}
	target := store.Account{ID: "200", Username: "alice", Domain: "sales.example", URI: "https://sales.example/users/alice", CreatedAt: created}
	counts, targetCounts := store.AccountCounts{Statuses: 1}, store.AccountCounts{}
	var moved *store.Account
	cache := NewAccountJSON(site, 4)
	for _, tc := range []struct {
		name   string
		change func()
	}{
		{"first", func() {}},
		{"unchanged copies", func() {}},
		{"counters", func() { counts.Followers++ }},
		{"profile", func() { account.DisplayName = "Alice A." }},
		{"moved", func() { account.MovedToURI = target.URI; moved = &target }},
		{"counters of the account moved to", func() { targetCounts.Followers = 3 }},
		{"suspended", func() { account.Suspended = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.change()
			a := account // a copy, as the store hands records out
			var m *store.Account
			if moved != nil {
				copied := *moved
				m = &copied
			}
			want, err := json.Marshal(PublicAccount(site, &a, counts, m, targetCounts))
			if err != nil {
				t.Fatal(err)
			}
			got, err := cache.Get(&a, counts, m, targetCounts)
			if err != nil || string(got) != string(want) {
				t.Errorf("got %s (%v)\nwant %s", got, err, want)
			}
		})
	}
}
