package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"watercooler/store"
	"watercooler/testrig"
)

func homeHas(t testing.TB, st *store.Store, accountID, statusID string) bool {
	t.Helper()
	es, err := st.HomeTimeline(context.Background(), accountID, store.Page{Limit: 40})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Member == statusID {
			return true
		}
	}
	return false
}

func TestCreateStatusFansOutToEveryFollower(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	author := localAccount(t, st, "author")
	outsider := localAccount(t, st, "outsider")
	const n = 50
	var followers []*store.Account
	for i := 0; i < n; i++ {
		f := localAccount(t, st, fmt.Sprintf("f%d", i))
		followAccount(t, st, f, author)
		followers = append(followers, f)
	}
	post := postStatus(t, st, author, store.Status{Text: "to all"})
	for _, f := range append(followers, author) {
		if !homeHas(t, st, f.ID, post.ID) {
			t.Errorf("%s's home lacks the post", f.Username)
		}
	}
	if homeHas(t, st, outsider.ID, post.ID) {
		t.Error("a non-follower got the post")
	}
	direct := postStatus(t, st, author, store.Status{Text: "@outsider", Visibility: store.VisibilityDirect, Mentions: []string{outsider.ID}})
	if !homeHas(t, st, outsider.ID, direct.ID) || homeHas(t, st, followers[0].ID, direct.ID) {
		t.Error("a direct status reached followers or missed the mentioned account")
	}
	counts, err := st.AccountCounts(ctx, []string{author.ID})
	if err != nil || counts[author.ID].Statuses != 2 {
		t.Errorf("statuses count = %+v (%v), want 2", counts[author.ID], err)
	}
}

// keysMentioning lists every key of the prefix whose name, members, fields or values mention id.
func keysMentioning(t *testing.T, rdb redis.UniversalClient, prefix, id string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	keys, err := testrig.Keys(ctx, rdb, testrig.DepartmentKeys(prefix))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range keys {
		if strings.Contains(key, id) {
			out = append(out, key)
			continue
		}
		var content []string
		switch rdb.Type(ctx, key).Val() {
		case "string":
			content = []string{rdb.Get(ctx, key).Val()}
		case "zset":
			content = rdb.ZRange(ctx, key, 0, -1).Val()
		case "set":
			content = rdb.SMembers(ctx, key).Val()
		case "list":
			content = rdb.LRange(ctx, key, 0, -1).Val()
		case "hash":
			for f, v := range rdb.HGetAll(ctx, key).Val() {
				content = append(content, f, v)
			}
		}
		for _, c := range content {
			if strings.Contains(c, id) {
				out = append(out, key)
				break
			}
		}
	}
	return out
}

func TestDeleteStatusLeavesNoTrace(t *testing.T) {
	st, rdb, prefix := rawStore(t)
	ctx := context.Background()
	author := localAccount(t, st, "author")
	follower := localAccount(t, st, "follower")
	booster := localAccount(t, st, "booster")
	fan := localAccount(t, st, "fan")
	tagFan := localAccount(t, st, "tagfan")
	for _, f := range []*store.Account{follower, booster} {
		followAccount(t, st, f, author)
	}
	followAccount(t, st, fan, booster)
	if err := st.FollowTag(ctx, tagFan.ID, "gone"); err != nil {
		t.Fatal(err)
	}
	list := &store.List{AccountID: follower.ID, Title: "l"}
	if err := st.CreateList(ctx, list); err != nil {
		t.Fatal(err)
	}
	if err := st.AddListAccounts(ctx, list, []string{author.ID}); err != nil {
		t.Fatal(err)
	}
	media := &store.Media{AccountID: author.ID, Type: "image", URL: testBaseURL + "/media/a.png"}
	if err := st.CreateMedia(ctx, media); err != nil {
		t.Fatal(err)
	}
	parent := postStatus(t, st, follower, store.Status{Text: "parent"})
	doomed := postStatus(t, st, author, store.Status{
		Text: "#gone", Tags: []string{"gone"}, MediaIDs: []string{media.ID},
		InReplyToID: parent.ID, InReplyToAccountID: follower.ID, Mentions: []string{follower.ID},
	})
	if _, err := st.Reblog(ctx, booster, doomed, store.VisibilityPublic, testBaseURL, true); err != nil {
		t.Fatal(err)
	}
	if err := st.Favourite(ctx, fan.ID, doomed, true); err != nil {
		t.Fatal(err)
	}
	if err := st.Pin(ctx, author.ID, doomed.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateStatus(ctx, &store.Status{ID: doomed.ID, URI: doomed.URI, AccountID: author.ID, Content: "<p>edited</p>", Visibility: store.VisibilityPublic, Tags: doomed.Tags, CreatedAt: doomed.CreatedAt}, doomed); err != nil {
		t.Fatal(err)
	}
	if !homeHas(t, st, tagFan.ID, doomed.ID) || !homeHas(t, st, fan.ID, mustReblogID(t, st, booster, doomed)) {
		t.Fatal("setup: fan-out did not reach the tag follower or the booster's follower")
	}

	if err := st.DeleteStatus(ctx, doomed); err != nil {
		t.Fatal(err)
	}
	// Notifications keep the id of what they were about (Mastodon deletes them with the status);
	// everything else must be gone.
	var leftovers []string
	for _, key := range keysMentioning(t, rdb, prefix, doomed.ID) {
		notificationRecord := strings.Contains(key, ":notifications:") && strings.Contains(key, "}:")
		if !notificationRecord {
			leftovers = append(leftovers, key)
		}
	}
	if len(leftovers) > 0 {
		t.Errorf("keys still mention the deleted status: %v", leftovers)
	}
	counts, err := st.StatusCounts(ctx, []string{parent.ID})
	if err != nil || counts[parent.ID].Replies != 0 {
		t.Errorf("parent's replies count = %+v (%v), want 0", counts[parent.ID], err)
	}
	if _, err := st.ReblogOf(ctx, booster.ID, doomed.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the boost of a deleted status remains: %v", err)
	}
	ac, err := st.AccountCounts(ctx, []string{author.ID, booster.ID})
	if err != nil || ac[author.ID].Statuses != 0 || ac[booster.ID].Statuses != 0 {
		t.Errorf("statuses counts after delete = %+v (%v)", ac, err)
	}
}

func mustReblogID(t testing.TB, st *store.Store, booster *store.Account, of *store.Status) string {
	t.Helper()
	r, err := st.ReblogOf(context.Background(), booster.ID, of.ID)
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func TestReblogAndFavouriteAreIdempotent(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	author := localAccount(t, st, "author")
	booster := localAccount(t, st, "booster")
	post := postStatus(t, st, author, store.Status{Text: "once"})

	var ids []string
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := st.Reblog(ctx, booster, post, store.VisibilityPublic, testBaseURL, true)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ids = append(ids, b.ID)
			mu.Unlock()
		}()
	}
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := st.Favourite(ctx, booster.ID, post, true); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Errorf("concurrent boosts returned different statuses: %v", ids)
			break
		}
	}
	counts, err := st.StatusCounts(ctx, []string{post.ID})
	if err != nil || counts[post.ID].Reblogs != 1 || counts[post.ID].Favourites != 1 {
		t.Errorf("counts = %+v (%v), want one boost and one favourite", counts[post.ID], err)
	}
	ns, err := st.Notifications(ctx, author.ID, store.NotificationQuery{Page: store.Page{Limit: 40}})
	if err != nil || len(ns) != 2 {
		t.Errorf("author has %d notifications (%v), want one reblog and one favourite", len(ns), err)
	}

	for i := 0; i < 3; i++ {
		if err := st.Unfavourite(ctx, booster.ID, post.ID); err != nil {
			t.Fatal(err)
		}
	}
	counts, _ = st.StatusCounts(ctx, []string{post.ID})
	if counts[post.ID].Favourites != 0 {
		t.Errorf("favourites count after repeated unfavourite = %d, want 0", counts[post.ID].Favourites)
	}
	favs, err := st.Favourites(ctx, booster.ID, store.Page{})
	if err != nil || len(favs) != 0 {
		t.Errorf("favourites after unfavourite = %v (%v)", favs, err)
	}
}

func TestIdempotencyKeyUnderConcurrency(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	author := localAccount(t, st, "author")
	const n = 10
	results := make([]*store.Status, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i], errs[i] = st.CreateStatus(ctx, store.NewStatus{
				Status:         store.Status{AccountID: author.ID, Local: true, Text: "hi", Content: "<p>hi</p>", Visibility: store.VisibilityPublic},
				IdempotencyKey: "same", BaseURL: testBaseURL,
			})
		}(i)
	}
	wg.Wait()
	var first string
	for i := 0; i < n; i++ {
		switch {
		case errs[i] == nil:
			if first == "" {
				first = results[i].ID
			}
			if results[i].ID != first {
				t.Errorf("request %d got status %s, another got %s", i, results[i].ID, first)
			}
		case !errors.Is(errs[i], store.ErrConflict):
			t.Errorf("request %d: %v, want success or ErrConflict while the first is in flight", i, errs[i])
		}
	}
	entries, err := st.AccountStatuses(ctx, author.ID, store.Page{Limit: 40})
	if err != nil || len(entries) != 1 {
		t.Fatalf("%d statuses stored (%v), want exactly 1", len(entries), err)
	}
	// Once the first is stored, a retry returns it.
	again, err := st.CreateStatus(ctx, store.NewStatus{Status: store.Status{AccountID: author.ID, Text: "hi", Visibility: store.VisibilityPublic}, IdempotencyKey: "same", BaseURL: testBaseURL})
	if err != nil || again.ID != entries[0].Member {
		t.Errorf("retry returned %v (%v), want %s", again, err, entries[0].Member)
	}
}

func TestDescendantsAndAncestorsOrder(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	a := localAccount(t, st, "a")
	reply := func(parent *store.Status, text string) *store.Status {
		return postStatus(t, st, a, store.Status{Text: text, InReplyToID: parent.ID, InReplyToAccountID: a.ID})
	}
	root := postStatus(t, st, a, store.Status{Text: "root"})
	r1 := reply(root, "1")
	r2 := reply(root, "2")
	r11 := reply(r1, "1.1")
	r111 := reply(r11, "1.1.1")
	r21 := reply(r2, "2.1")
	r12 := reply(r1, "1.2")

	got, err := st.Descendants(ctx, root.ID, 100, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{r1.ID, r11.ID, r111.ID, r12.ID, r2.ID, r21.ID}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("descendants = %v, want depth first %v", got, want)
	}
	if got, _ := st.Descendants(ctx, root.ID, 3, 100); fmt.Sprint(got) != fmt.Sprint(want[:3]) {
		t.Errorf("limited descendants = %v, want %v", got, want[:3])
	}
	if got, _ := st.Descendants(ctx, root.ID, 100, 2); fmt.Sprint(got) != fmt.Sprint([]string{r1.ID, r11.ID, r12.ID, r2.ID, r21.ID}) {
		t.Errorf("depth-limited descendants = %v", got)
	}
	anc, err := st.Ancestors(ctx, r111, 40)
	if err != nil || len(anc) != 3 || anc[0].ID != root.ID || anc[2].ID != r11.ID {
		t.Errorf("ancestors = %v (%v), want root, 1, 1.1", anc, err)
	}
	if anc, _ := st.Ancestors(ctx, r111, 2); len(anc) != 2 || anc[0].ID != r1.ID {
		t.Errorf("limited ancestors = %v, want the two nearest", anc)
	}
}
