package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"watercooler/store"
	"watercooler/testrig"
)

func TestListMembership(t *testing.T) {
	ctx := context.Background()
	st := testrig.NewStore(t, testDomain)
	owner := localAccount(t, st, "owner")
	var followed []*store.Account
	for _, name := range []string{"ann", "ben", "cat"} {
		a := localAccount(t, st, name)
		followAccount(t, st, owner, a)
		followed = append(followed, a)
	}
	stranger := localAccount(t, st, "stranger")
	l := &store.List{AccountID: owner.ID, Title: "friends", RepliesPolicy: "list"}
	if err := st.CreateList(ctx, l); err != nil {
		t.Fatal(err)
	}

	// All or nothing: one account not followed refuses the whole batch.
	err := st.AddListAccounts(ctx, l, []string{followed[0].ID, stranger.ID})
	if !errors.Is(err, store.ErrNotFollowed) {
		t.Fatalf("adding an account not followed: %v, want ErrNotFollowed", err)
	}
	if ids, _ := st.ListAccountIDs(ctx, l.ID); len(ids) != 0 {
		t.Fatalf("refused batch wrote members %v", ids)
	}

	// The owner may add themselves, as in Mastodon.
	all := []string{followed[0].ID, followed[1].ID, followed[2].ID, owner.ID}
	if err := st.AddListAccounts(ctx, l, all); err != nil {
		t.Fatalf("add: %v", err)
	}
	has, err := st.ListHasAccounts(ctx, l.ID, []string{followed[1].ID, stranger.ID})
	if err != nil || !has[followed[1].ID] || has[stranger.ID] {
		t.Fatalf("ListHasAccounts = %v, %v", has, err)
	}

	newestFirst := slices.Clone(all)
	slices.Sort(newestFirst) // equal-length decimal ids: string order is id order
	slices.Reverse(newestFirst)
	ids := func(es []store.Entry) []string { return store.Members(es) }
	pages := []struct {
		name string
		page store.Page
		want []string
	}{
		{"all", store.Page{}, newestFirst},
		{"first page", store.Page{Limit: 2}, newestFirst[:2]},
		{"below max_id", store.Page{MaxID: newestFirst[1], Limit: 2}, newestFirst[2:4]},
		{"above since_id", store.Page{SinceID: newestFirst[2], Limit: 1}, newestFirst[:1]},
		{"just above min_id", store.Page{MinID: newestFirst[3], Limit: 2}, newestFirst[1:3]},
	}
	for _, tc := range pages {
		es, err := st.ListAccountsPage(ctx, l.ID, tc.page)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(es); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}

	// A member's new post reaches the list timeline; a stranger's does not.
	post := postStatus(t, st, followed[0], store.Status{Visibility: store.VisibilityPublic})
	postStatus(t, st, stranger, store.Status{Visibility: store.VisibilityPublic})
	tl, err := st.ListTimeline(ctx, l.ID, store.Page{})
	if err != nil || !slices.Equal(store.Members(tl), []string{post.ID}) {
		t.Fatalf("list timeline = %v, %v; want [%s]", store.Members(tl), err, post.ID)
	}

	if err := st.RemoveListAccounts(ctx, l, []string{followed[0].ID, stranger.ID}); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.ListsContaining(ctx, owner.ID, followed[0].ID); len(got) != 0 {
		t.Fatalf("removed member still listed in %v", got)
	}
	if _, err := st.List(ctx, stranger.ID, l.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another owner reading the list: %v, want ErrNotFound", err)
	}

	if err := st.DeleteList(ctx, l); err != nil {
		t.Fatal(err)
	}
	if _, err := st.List(ctx, owner.ID, l.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted list: %v", err)
	}
	if got, _ := st.ListsContaining(ctx, owner.ID, followed[1].ID); len(got) != 0 {
		t.Fatalf("deleted list still contains members: %v", got)
	}
	if es, _ := st.ListAccountsPage(ctx, l.ID, store.Page{}); len(es) != 0 {
		t.Fatalf("deleted list still has members %v", es)
	}
}

// TestListTimelineForgetsEndedFollows checks that ending a follow, by unfollowing or by a block
// either way, takes the author's statuses out of the follower's list timelines as it takes them
// out of home: a followers-only post must not stay readable in a list after the follow is gone
// (nor come back when the block is lifted).
func TestListTimelineForgetsEndedFollows(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		end  func(st *store.Store, owner, author *store.Account) error
	}{
		{"owner unfollows", func(st *store.Store, owner, author *store.Account) error {
			return st.Unfollow(ctx, owner.ID, author.ID)
		}},
		{"author blocks owner, then unblocks", func(st *store.Store, owner, author *store.Account) error {
			if err := st.Block(ctx, author.ID, owner.ID); err != nil {
				return err
			}
			return st.Unblock(ctx, author.ID, owner.ID)
		}},
		{"owner blocks author", func(st *store.Store, owner, author *store.Account) error { return st.Block(ctx, owner.ID, author.ID) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := testrig.NewStore(t, testDomain)
			owner, author, other := localAccount(t, st, "owner"), localAccount(t, st, "author"), localAccount(t, st, "other")
			followAccount(t, st, owner, author)
			followAccount(t, st, owner, other)
			l := &store.List{AccountID: owner.ID, Title: "work"}
			if err := st.CreateList(ctx, l); err != nil {
				t.Fatal(err)
			}
			if err := st.AddListAccounts(ctx, l, []string{author.ID, other.ID}); err != nil {
				t.Fatal(err)
			}
			private := postStatus(t, st, author, store.Status{Visibility: store.VisibilityPrivate})
			kept := postStatus(t, st, other, store.Status{Visibility: store.VisibilityPrivate})
			timelines := func() (home, list []string) {
				h, err := st.HomeTimeline(ctx, owner.ID, store.Page{})
				if err != nil {
					t.Fatal(err)
				}
				li, err := st.ListTimeline(ctx, l.ID, store.Page{})
				if err != nil {
					t.Fatal(err)
				}
				return store.Members(h), store.Members(li)
			}
			if home, list := timelines(); !slices.Contains(home, private.ID) || !slices.Contains(list, private.ID) {
				t.Fatalf("before: home %v, list %v; want both to hold %s", home, list, private.ID)
			}
			if err := tc.end(st, owner, author); err != nil {
				t.Fatal(err)
			}
			home, list := timelines()
			if slices.Contains(home, private.ID) || slices.Contains(list, private.ID) {
				t.Errorf("after: home %v, list %v; want neither to hold %s", home, list, private.ID)
			}
			if !slices.Contains(list, kept.ID) {
				t.Errorf("after: list %v lost %s, another member's post", list, kept.ID)
			}
			if has, _ := st.ListHasAccounts(ctx, l.ID, []string{author.ID}); has[author.ID] {
				t.Error("the author is still a member of the list")
			}
		})
	}
}
