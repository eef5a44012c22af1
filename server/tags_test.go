package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/store"
	"watercooler/testrig"
)

// tagEntity is the Tag entity as a client sees it, with following absent when not sent.
type tagEntity struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	Following *bool  `json:"following"`
	History   []struct {
		Day      string `json:"day"`
		Uses     string `json:"uses"`
		Accounts string `json:"accounts"`
	} `json:"history"`
}

func TestTagsInfoFollowUnfollow(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	ctx := context.Background()
	client := userClient(inst, alice)

	info, err := client.TagInfo(ctx, "GoLang")
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "golang" || info.URL != inst.URL+"/tags/golang" || info.Following || len(info.History) != 7 {
		t.Fatalf("TagInfo = %+v", info)
	}

	// Anonymous readers get no following field, and history is an array even when unused.
	var anon tagEntity
	r := apiGet(t, inst.API("/api/v1/tags/golang"), "")
	r.ok(t, &anon)
	var fields map[string]json.RawMessage
	r.decode(t, &fields)
	if _, ok := fields["following"]; ok || anon.History == nil || len(anon.History) != 7 {
		t.Fatalf("anonymous tag = %s", r.Body)
	}

	followed, err := client.TagFollow(ctx, "golang")
	if err != nil || !followed.Following || followed.Name != "golang" {
		t.Fatalf("TagFollow = %+v, %v", followed, err)
	}
	if _, err := client.TagFollow(ctx, "golang"); err != nil {
		t.Fatalf("following twice: %v", err)
	}
	var mine tagEntity
	apiGet(t, inst.API("/api/v1/tags/golang"), alice.Token).ok(t, &mine)
	if mine.Following == nil || !*mine.Following {
		t.Fatalf("tag after follow = %+v", mine)
	}
	var bobs tagEntity
	apiGet(t, inst.API("/api/v1/tags/golang"), bob.Token).ok(t, &bobs)
	if bobs.Following == nil || *bobs.Following {
		t.Fatalf("bob's view = %+v, want following false", bobs)
	}

	list, err := client.TagsFollowed(ctx, nil)
	if err != nil || len(list) != 1 || list[0].Name != "golang" || !list[0].Following {
		t.Fatalf("TagsFollowed = %+v, %v", list, err)
	}
	unfollowed, err := client.TagUnfollow(ctx, "golang")
	if err != nil || unfollowed.Following {
		t.Fatalf("TagUnfollow = %+v, %v", unfollowed, err)
	}
	if list, _ := client.TagsFollowed(ctx, nil); len(list) != 0 {
		t.Fatalf("after unfollow TagsFollowed = %+v", list)
	}

	// Non-ASCII names, percent-encoded in the path.
	cafe, err := client.TagFollow(ctx, "Café")
	if err != nil || cafe.Name != "café" {
		t.Fatalf("TagFollow(Café) = %+v, %v", cafe, err)
	}
}

func TestTagsFollowedPagination(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	for _, tag := range []string{"one", "two", "three"} {
		apiForm(t, http.MethodPost, inst.API("/api/v1/tags/%s/follow", tag), alice.Token, "").ok(t, nil)
	}
	var page []tagEntity
	r := apiGet(t, inst.API("/api/v1/followed_tags?limit=2"), alice.Token)
	r.ok(t, &page)
	if len(page) != 2 || page[0].Name != "three" || page[1].Name != "two" {
		t.Fatalf("first page = %+v", page)
	}
	apiGet(t, mustLinkRel(t, r.Header.Get("Link"), "next"), alice.Token).ok(t, &page)
	if len(page) != 1 || page[0].Name != "one" || page[0].Following == nil || !*page[0].Following {
		t.Fatalf("second page = %+v", page)
	}
}

// TestTagsFollowedTagFeedsHome: a public post with a followed hashtag reaches the follower's
// home timeline although the follower does not follow its author, and counts in the history.
func TestTagsFollowedTagFeedsHome(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	ctx := context.Background()
	if _, err := userClient(inst, alice).TagFollow(ctx, "golang"); err != nil {
		t.Fatal(err)
	}
	tagged := string(postStatus(t, inst, bob, gomastodon.Toot{Status: "#GoLang rocks"}).ID)
	other := string(postStatus(t, inst, bob, gomastodon.Toot{Status: "#rust rocks too"}).ID)

	entries, err := inst.Store.HomeTimeline(ctx, alice.Account.ID, store.Page{})
	if err != nil || !slices.Equal(store.Members(entries), []string{tagged}) {
		t.Fatalf("alice's home in the store = %v, %v; want [%s] (not %s)", store.Members(entries), err, tagged, other)
	}
	if got := statusIDs(timeline(t, inst.API("/api/v1/timelines/home"), alice.Token)); !slices.Equal(got, []string{tagged}) {
		t.Fatalf("GET home = %v, want [%s]", got, tagged)
	}

	var tag tagEntity
	apiGet(t, inst.API("/api/v1/tags/golang"), "").ok(t, &tag)
	if tag.History[0].Uses != "1" || tag.History[0].Accounts != "1" || tag.History[1].Uses != "0" {
		t.Fatalf("history = %+v, want one use by one account today", tag.History)
	}
}

func TestTagsBadInput(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	readOnly := userToken(t, inst, alice, "read")
	cases := []struct {
		name, method, path, token string
		code                      int
		msg                       string
	}{
		{"not a hashtag", http.MethodGet, "/api/v1/tags/foo-bar", alice.Token, http.StatusNotFound, "Record not found"},
		{"only digits", http.MethodGet, "/api/v1/tags/2024", "", http.StatusNotFound, "Record not found"},
		{"follow not a hashtag", http.MethodPost, "/api/v1/tags/foo%20bar/follow", alice.Token, http.StatusNotFound, "Record not found"},
		{"unfollow not a hashtag", http.MethodPost, "/api/v1/tags/%23foo/unfollow", alice.Token, http.StatusNotFound, "Record not found"},
		{"follow without token", http.MethodPost, "/api/v1/tags/golang/follow", "", http.StatusUnauthorized, "The access token is invalid"},
		{"follow with read-only token", http.MethodPost, "/api/v1/tags/golang/follow", readOnly, http.StatusForbidden, "This action is outside the authorized scopes"},
		{"followed tags without token", http.MethodGet, "/api/v1/followed_tags", "", http.StatusUnauthorized, "The access token is invalid"},
		{"bad token on a public endpoint", http.MethodGet, "/api/v1/tags/golang", "nonsense", http.StatusUnauthorized, "The access token is invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			apiDo(t, tc.method, inst.URL+tc.path, tc.token, "", "").expectError(t, tc.code, tc.msg)
		})
	}
	entries, err := inst.Store.FollowedTags(context.Background(), alice.Account.ID, store.Page{})
	if err != nil || len(entries) != 0 {
		t.Fatalf("refused requests followed tags: %v, %v", store.Members(entries), err)
	}
	if strings.Contains(string(apiGet(t, inst.API("/api/v1/followed_tags"), alice.Token).Body), "foo") {
		t.Fatal("an invalid tag was followed")
	}
}
