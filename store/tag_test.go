package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"watercooler/store"
	"watercooler/testrig"
)

func TestTagFollowsAndFanOut(t *testing.T) {
	ctx := context.Background()
	st := testrig.NewStore(t, testDomain)
	reader := localAccount(t, st, "reader")
	author := localAccount(t, st, "author")

	for _, tag := range []string{"golang", "redis", "fiber"} {
		if err := st.FollowTag(ctx, reader.ID, tag); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.FollowTag(ctx, reader.ID, "golang"); err != nil { // following twice keeps the first follow
		t.Fatal(err)
	}
	page, err := st.FollowedTags(ctx, reader.ID, store.Page{Limit: 2})
	if err != nil || !slices.Equal(store.Members(page), []string{"fiber", "redis"}) {
		t.Fatalf("first page = %v, %v", store.Members(page), err)
	}
	next, _ := st.FollowedTags(ctx, reader.ID, store.Page{Limit: 2, MaxID: page[1].ID})
	if !slices.Equal(store.Members(next), []string{"golang"}) {
		t.Fatalf("second page = %v", store.Members(next))
	}

	// A public post with a followed tag reaches the reader's home although the reader does not
	// follow its author; a private one does not.
	public := postStatus(t, st, author, store.Status{Visibility: store.VisibilityPublic, Tags: []string{"golang"}})
	postStatus(t, st, author, store.Status{Visibility: store.VisibilityPrivate, Tags: []string{"golang"}})
	home, _ := st.HomeTimeline(ctx, reader.ID, store.Page{})
	if !slices.Equal(store.Members(home), []string{public.ID}) {
		t.Fatalf("home = %v, want [%s]", store.Members(home), public.ID)
	}

	if err := st.UnfollowTag(ctx, reader.ID, "golang"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.FollowsTag(ctx, reader.ID, "golang"); ok {
		t.Fatal("still follows golang")
	}
	later := postStatus(t, st, author, store.Status{Visibility: store.VisibilityPublic, Tags: []string{"golang"}})
	home, _ = st.HomeTimeline(ctx, reader.ID, store.Page{})
	if slices.Contains(store.Members(home), later.ID) {
		t.Fatal("an unfollowed tag still feeds the home timeline")
	}
}

func TestTagsHistory(t *testing.T) {
	ctx := context.Background()
	st := testrig.NewStore(t, testDomain)
	ann, ben := localAccount(t, st, "ann"), localAccount(t, st, "ben")
	now := time.Now().UTC()
	n := uint32(0)
	post := func(a *store.Account, at time.Time, tags ...string) {
		t.Helper()
		n++ // ids of backdated statuses must be minted for their own time, as remote ones are
		_, err := st.CreateStatus(ctx, store.NewStatus{
			Status: store.Status{ID: store.IDForTime(at, n), AccountID: a.ID, Local: true, Content: "x",
				Visibility: store.VisibilityPublic, Tags: tags, CreatedAt: at},
			BaseURL: testBaseURL,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	today := now.Truncate(24 * time.Hour)
	post(ann, now, "go")
	post(ann, now, "go", "redis")
	post(ben, now, "go")
	post(ben, today.AddDate(0, 0, -2).Add(time.Hour), "go")
	post(ben, today.AddDate(0, 0, -9), "go") // outside the window

	h, err := st.TagsHistory(ctx, []string{"go", "redis", "unused"}, now, 7)
	if err != nil {
		t.Fatal(err)
	}
	got := h["go"]
	if len(got) != 7 || !got[0].Day.Equal(today) || !got[2].Day.Equal(today.AddDate(0, 0, -2)) {
		t.Fatalf("days = %+v", got)
	}
	want := []struct{ uses, accounts int64 }{{3, 2}, {0, 0}, {1, 1}, {0, 0}, {0, 0}, {0, 0}, {0, 0}}
	for i, w := range want {
		if got[i].Uses != w.uses || got[i].Accounts != w.accounts {
			t.Errorf("go day %d: uses %d accounts %d, want %d %d", i, got[i].Uses, got[i].Accounts, w.uses, w.accounts)
		}
	}
	if h["redis"][0].Uses != 1 || h["redis"][0].Accounts != 1 {
		t.Errorf("redis today = %+v", h["redis"][0])
	}
	if len(h["unused"]) != 7 || h["unused"][0].Uses != 0 {
		t.Errorf("unused = %+v", h["unused"])
	}
}
