package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"watercooler/store"
	"watercooler/testrig"
)

// TestFanOutJobsOfAKilledWriter kills writers between a write's MULTI and its fan-out, and
// checks that the readers' timelines and notifications stay as they were until the grace ends,
// and are then brought where the write takes them, once.
func TestFanOutJobsOfAKilledWriter(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		// write makes the killed writer's write; it returns the post it is about and whether
		// the write brings that post into the follower's home (or takes it out).
		write  func(t *testing.T, live, killed *store.Store, author, follower *store.Account) (post string, inHome bool)
		before bool // whether the post is in the home before the job is resumed
		// notified is the notification the follower gets from the write, if any.
		notified string
	}{
		{
			name: "a post reaches the followers' homes",
			write: func(t *testing.T, live, killed *store.Store, author, follower *store.Account) (string, bool) {
				return postStatus(t, killed, author, store.Status{Text: "hello"}).ID, true
			},
		},
		{
			name: "a mention notifies",
			write: func(t *testing.T, live, killed *store.Store, author, follower *store.Account) (string, bool) {
				return postStatus(t, killed, author, store.Status{Text: "hi @follower", Mentions: []string{follower.ID}}).ID, true
			},
			notified: store.NotifyMention,
		},
		{
			name: "a favourite notifies",
			write: func(t *testing.T, live, killed *store.Store, author, follower *store.Account) (string, bool) {
				post := postStatus(t, live, follower, store.Status{Text: "mine"})
				if err := killed.Favourite(ctx, author.ID, post, true); err != nil {
					t.Fatal(err)
				}
				return post.ID, true
			},
			before:   true,
			notified: store.NotifyFavourite,
		},
		{
			name: "a post deleted meanwhile does not come back",
			write: func(t *testing.T, live, killed *store.Store, author, follower *store.Account) (string, bool) {
				post := postStatus(t, killed, author, store.Status{Text: "oops"})
				if err := live.DeleteStatus(ctx, post); err != nil {
					t.Fatal(err)
				}
				return post.ID, false
			},
		},
		{
			name: "an unfollow takes the posts out",
			write: func(t *testing.T, live, killed *store.Store, author, follower *store.Account) (string, bool) {
				post := postStatus(t, live, author, store.Status{Text: "seen"})
				if err := killed.Unfollow(ctx, follower.ID, author.ID); err != nil {
					t.Fatal(err)
				}
				return post.ID, false
			},
			before: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			live, killed, _, _ := killedWriter(t)
			author, follower := localAccount(t, live, "author"), localAccount(t, live, "follower")
			followAccount(t, live, follower, author)

			notifiedBefore := notificationTypes(t, live, follower)
			post, want := c.write(t, live, killed, author, follower)
			if got := homeHas(t, live, follower.ID, post); got != c.before {
				t.Fatalf("before the job is resumed, post in home = %v, want %v", got, c.before)
			}
			if got := notificationTypes(t, live, follower); !slices.Equal(got, notifiedBefore) {
				t.Fatalf("before the job is resumed, notifications = %v, want %v", got, notifiedBefore)
			}
			resumeAfterGrace(t, live, 1)
			if got := homeHas(t, live, follower.ID, post); got != want {
				t.Errorf("after the job, post in home = %v, want %v", got, want)
			}
			wantNotified := notifiedBefore
			if c.notified != "" {
				wantNotified = append([]string{c.notified}, notifiedBefore...)
			}
			if got := notificationTypes(t, live, follower); !slices.Equal(got, wantNotified) {
				t.Errorf("after the job, notifications = %v, want %v", got, wantNotified)
			}
		})
	}
}

// TestFanOutBacklog counts the jobs a killed writer leaves, overdue once their grace is over,
// and none once they are resumed.
func TestFanOutBacklog(t *testing.T) {
	ctx := context.Background()
	live, killed, _, _ := killedWriter(t)
	author := localAccount(t, live, "author")
	followAccount(t, live, localAccount(t, live, "follower"), author)
	postStatus(t, killed, author, store.Status{Text: "stuck"})
	later := time.Now().Add(store.FanOutGrace + time.Second)
	for _, c := range []struct {
		at                time.Time
		recorded, overdue int64
	}{{time.Now(), 1, 0}, {later, 1, 1}} {
		recorded, overdue, err := live.FanOutBacklog(ctx, c.at)
		if err != nil || recorded != c.recorded || overdue != c.overdue {
			t.Errorf("at %s: %d recorded, %d overdue (%v), want %d and %d", c.at, recorded, overdue, err, c.recorded, c.overdue)
		}
	}
	resumeAfterGrace(t, live, 1)
	if recorded, _, err := live.FanOutBacklog(ctx, later); err != nil || recorded != 0 {
		t.Errorf("after the job: %d recorded (%v), want 0", recorded, err)
	}
}

// TestTalliesOfAKilledWriter kills writers between a write's MULTI and its tallies, and checks
// that a status's counts and sets stay as they were until the grace ends, and then count what
// still stands, once.
func TestTalliesOfAKilledWriter(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		write func(t *testing.T, live, killed *store.Store, author, fan *store.Account, post *store.Status)
		// before and after are the post's counts before the job is resumed and after.
		before, after store.StatusCounts
	}{
		{
			name: "a favourite counts",
			write: func(t *testing.T, live, killed *store.Store, author, fan *store.Account, post *store.Status) {
				must(t, killed.Favourite(ctx, fan.ID, post, true))
			},
			after: store.StatusCounts{Favourites: 1},
		},
		{
			name: "a favourite withdrawn meanwhile does not",
			write: func(t *testing.T, live, killed *store.Store, author, fan *store.Account, post *store.Status) {
				must(t, killed.Favourite(ctx, fan.ID, post, true))
				must(t, live.Unfavourite(ctx, fan.ID, post.ID))
			},
		},
		{
			name: "a boost counts",
			write: func(t *testing.T, live, killed *store.Store, author, fan *store.Account, post *store.Status) {
				_, err := killed.Reblog(ctx, fan, post, store.VisibilityPublic, testBaseURL, true)
				must(t, err)
			},
			after: store.StatusCounts{Reblogs: 1},
		},
		{
			name: "an undone boost stops counting",
			write: func(t *testing.T, live, killed *store.Store, author, fan *store.Account, post *store.Status) {
				boost, err := live.Reblog(ctx, fan, post, store.VisibilityPublic, testBaseURL, true)
				must(t, err)
				must(t, killed.DeleteStatus(ctx, boost))
			},
			before: store.StatusCounts{Reblogs: 1},
		},
		{
			name: "a reply counts",
			write: func(t *testing.T, live, killed *store.Store, author, fan *store.Account, post *store.Status) {
				postStatus(t, killed, fan, store.Status{Text: "indeed", InReplyToID: post.ID, InReplyToAccountID: author.ID})
			},
			after: store.StatusCounts{Replies: 1},
		},
		{
			name: "a reply deleted meanwhile does not",
			write: func(t *testing.T, live, killed *store.Store, author, fan *store.Account, post *store.Status) {
				reply := postStatus(t, killed, fan, store.Status{Text: "oops", InReplyToID: post.ID, InReplyToAccountID: author.ID})
				must(t, live.DeleteStatus(ctx, reply))
			},
		},
		{
			name: "an undone favourite stops counting",
			write: func(t *testing.T, live, killed *store.Store, author, fan *store.Account, post *store.Status) {
				must(t, live.Favourite(ctx, fan.ID, post, true))
				must(t, killed.Unfavourite(ctx, fan.ID, post.ID))
			},
			before: store.StatusCounts{Favourites: 1},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			live, killed, _, _ := killedWriter(t)
			author, fan := localAccount(t, live, "author"), localAccount(t, live, "fan")
			post := postStatus(t, live, author, store.Status{Text: "worth it"})
			counts := func() store.StatusCounts {
				t.Helper()
				got, err := live.StatusCounts(ctx, []string{post.ID})
				must(t, err)
				return got[post.ID]
			}
			c.write(t, live, killed, author, fan, post)
			if got := counts(); got != c.before {
				t.Fatalf("before the job is resumed, counts = %+v, want %+v", got, c.before)
			}
			resumeAfterGrace(t, live, 1)
			if got := counts(); got != c.after {
				t.Errorf("after the job, counts = %+v, want %+v", got, c.after)
			}
			fans, err := live.FavouritedBy(ctx, post.ID, store.Page{Limit: 20})
			must(t, err)
			boosters, err := live.RebloggedBy(ctx, post.ID, store.Page{Limit: 20})
			must(t, err)
			replies, err := live.Replies(ctx, post.ID)
			must(t, err)
			if listed := (store.StatusCounts{Favourites: int64(len(fans)), Reblogs: int64(len(boosters)), Replies: int64(len(replies))}); listed != c.after {
				t.Errorf("after the job, listed %+v, want them as counted: %+v", listed, c.after)
			}
		})
	}
}

// TestEdgesOfAKilledWriter kills writers between a relationship's MULTI and its other side
// (in the other account's slot), and checks that the other side stays as it was until the grace
// ends, and then follows what still stands, once.
func TestEdgesOfAKilledWriter(t *testing.T) {
	ctx := context.Background()
	follow := func(t *testing.T, st *store.Store, fan, author *store.Account, notify bool) {
		must(t, st.Follow(ctx, fan, author, store.FollowOptions{ShowReblogs: true, Notify: notify}))
	}
	// seen is what the author sees of the fan: followed, asked, blocked, notified of posts.
	type seen struct{ followedBy, requestedBy, blockedBy, notifies bool }
	cases := []struct {
		name          string
		write         func(t *testing.T, live, killed *store.Store, author, fan *store.Account)
		before, after seen
	}{
		{
			name: "a follow",
			write: func(t *testing.T, live, killed *store.Store, author, fan *store.Account) {
				follow(t, killed, fan, author, true)
			},
			after: seen{followedBy: true, notifies: true},
		},
		{
			name: "a follow undone meanwhile",
			write: func(t *testing.T, live, killed *store.Store, author, fan *store.Account) {
				follow(t, killed, fan, author, true)
				must(t, live.Unfollow(ctx, fan.ID, author.ID))
			},
		},
		{
			name: "a follow request",
			write: func(t *testing.T, live, killed *store.Store, author, fan *store.Account) {
				must(t, killed.RequestFollow(ctx, fan, author, store.FollowOptions{ShowReblogs: true}))
			},
			after: seen{requestedBy: true},
		},
		{
			name: "a follow request withdrawn meanwhile",
			write: func(t *testing.T, live, killed *store.Store, author, fan *store.Account) {
				must(t, killed.RequestFollow(ctx, fan, author, store.FollowOptions{ShowReblogs: true}))
				must(t, live.RejectFollowRequest(ctx, fan.ID, author.ID))
			},
		},
		{
			name: "a block",
			write: func(t *testing.T, live, killed *store.Store, author, fan *store.Account) {
				must(t, killed.Block(ctx, fan.ID, author.ID))
			},
			after: seen{blockedBy: true},
		},
		{
			name: "notifications turned off meanwhile",
			write: func(t *testing.T, live, killed *store.Store, author, fan *store.Account) {
				follow(t, live, fan, author, false)
				must(t, killed.SetFollowOptions(ctx, fan.ID, author.ID, store.FollowOptions{ShowReblogs: true, Notify: true}))
				must(t, live.SetFollowOptions(ctx, fan.ID, author.ID, store.FollowOptions{ShowReblogs: true}))
			},
			before: seen{followedBy: true},
			after:  seen{followedBy: true},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			live, killed, rdb, prefix := killedWriter(t)
			author, fan := localAccount(t, live, "author"), localAccount(t, live, "fan")
			look := func() seen {
				t.Helper()
				rels, err := live.Relationships(ctx, author.ID, []string{fan.ID})
				must(t, err)
				notifies, err := rdb.SIsMember(ctx, "{"+prefix+":acct:"+author.ID+"}:notify_subscribers", fan.ID).Result()
				must(t, err)
				return seen{rels[0].FollowedBy, rels[0].RequestedBy, rels[0].BlockedBy, notifies}
			}
			c.write(t, live, killed, author, fan)
			if got := look(); got != c.before {
				t.Fatalf("before the jobs are resumed, the author sees %+v, want %+v", got, c.before)
			}
			resumeAfterGrace(t, live, 1)
			if got := look(); got != c.after {
				t.Errorf("after the jobs, the author sees %+v, want %+v", got, c.after)
			}
		})
	}
}

// TestDeletedStatusLeavesNothingInItsSlot deletes a favourited, boosted and replied-to status
// and checks that its slot is empty, also when a boost of it is undone afterwards.
func TestDeletedStatusLeavesNothingInItsSlot(t *testing.T) {
	ctx := context.Background()
	st, rdb, prefix := rawStore(t)
	author, fan := localAccount(t, st, "author"), localAccount(t, st, "fan")
	post := postStatus(t, st, author, store.Status{Text: "short-lived"})
	if err := st.Favourite(ctx, fan.ID, post, true); err != nil {
		t.Fatal(err)
	}
	boost, err := st.Reblog(ctx, fan, post, store.VisibilityPublic, testBaseURL, true)
	if err != nil {
		t.Fatal(err)
	}
	reply := postStatus(t, st, fan, store.Status{Text: "and yet", InReplyToID: post.ID, InReplyToAccountID: author.ID})
	slot := "{" + prefix + ":status:" + post.ID + "}*"
	if keys, err := testrig.Keys(ctx, rdb, slot); err != nil || len(keys) != 5 {
		t.Fatalf("the post's slot holds %v (%v), want its record, counts, favourites, boosts and replies", keys, err)
	}
	for _, gone := range []*store.Status{post, boost, reply} {
		if err := st.DeleteStatus(ctx, gone); err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if keys, err := testrig.Keys(ctx, rdb, slot); err != nil || len(keys) != 0 {
		t.Errorf("after the deletions the post's slot holds %v (%v)", keys, err)
	}
}

// TestDepartmentSpreadsOverMasters checks, on a cluster, that one department's keys are on
// every master: its readers' timelines, what others did with its statuses and to its accounts
// are each in slots of their own, not in the department's.
func TestDepartmentSpreadsOverMasters(t *testing.T) {
	ctx := context.Background()
	st, rdb, prefix := rawStore(t)
	needsCluster(t, rdb, "needs a cluster of several masters; the suite's Redis is one server")
	author := localAccount(t, st, "author")
	// With n masters, 40 slots of a kind all on the same master would happen once in n^39 runs.
	for i := range 40 {
		reader := localAccount(t, st, "reader"+strconv.Itoa(i))
		followAccount(t, st, reader, author)
		followAccount(t, st, author, reader) // in the reader's slot: the author among its followers
		mine := postStatus(t, st, reader, store.Status{Text: "mine"})
		must(t, st.Favourite(ctx, author.ID, mine, true))
		_, err := st.Reblog(ctx, author, mine, store.VisibilityPublic, testBaseURL, true)
		must(t, err)
		_, _, err = st.CreateToken(ctx, "", reader.ID, []string{"read"})
		must(t, err)
		must(t, st.CreateMedia(ctx, &store.Media{AccountID: reader.ID, Type: "image", URL: "https://eng.example/media/" + strconv.Itoa(i) + ".png"}))
		visitor := remoteAccount(t, st, "visitor"+strconv.Itoa(i), "peer"+strconv.Itoa(i)+".example")
		followAccount(t, st, visitor, author)
		must(t, st.SavePayload(ctx, testBaseURL+"/activities/"+strconv.Itoa(i), []byte(`{"type":"Create"}`), time.Hour))
		must(t, st.AddTombstone(ctx, visitor.URI+"/statuses/"+strconv.Itoa(i)))
	}
	postStatus(t, st, author, store.Status{Text: "for everyone"})
	locked, blocked := localAccount(t, st, "locked"), localAccount(t, st, "blocked")
	must(t, st.RequestFollow(ctx, author, locked, store.FollowOptions{ShowReblogs: true}))
	must(t, st.Block(ctx, author.ID, blocked.ID))
	for _, kind := range []string{"status:", "favourites:", "following:", "requested:", "blocks:", "follow_opts:", "account:[0-9]", "account:key:", "account:counts:", "user:", "idx:reblog", "oauth:token", "media:", "payload:", "tombstone:"} {
		if inDepartment, err := testrig.Keys(ctx, rdb, "{"+prefix+"}:"+kind+"*"); err != nil || len(inDepartment) != 0 {
			t.Errorf("the department's slot holds %v (%v)", inDepartment, err)
		}
	}
	// What finds a local account stays in the department's slot, claimed with the sign-up.
	for _, index := range []string{"idx:acct", "idx:account:uri"} {
		if remote, _, err := rdb.HScan(ctx, "{"+prefix+"}:"+index, 0, "*peer*", 1000).Result(); err != nil || len(remote) != 0 {
			t.Errorf("the department's %s holds remote accounts: %v (%v)", index, remote, err)
		}
	}
	for kind, keys := range map[string]string{
		"home timelines":                         "tl:home:",
		"statuses and what others did with them": "status:",
		"what others did to accounts":            "acct:",
		"access tokens":                          "tok:",
		"uploads":                                "media:",
		"authors' statuses and their counts":     "statuses:",
		"remote accounts by URI":                 "idx:account:uri:",
		"remote accounts by name":                "idx:acct:",
		"outgoing activities":                    "payload:",
		"tombstones":                             "tombstone:",
	} {
		byServer, err := testrig.KeysByServer(ctx, rdb, "{"+prefix+":"+keys+"*")
		must(t, err)
		for addr, keys := range byServer {
			if len(keys) == 0 {
				t.Errorf("master %s holds none of the department's %s", addr, kind)
			}
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// killedWriter gives a store and, on the same department, one whose writes record their fan-out
// jobs and stop there, as a process killed between the two steps.
func killedWriter(t *testing.T) (live, killed *store.Store, rdb redis.UniversalClient, prefix string) {
	live, rdb, prefix = rawStore(t)
	killed = store.New(rdb, prefix, testDomain)
	store.DieBeforeFanOut(killed)
	return live, killed, rdb, prefix
}

// resumeAfterGrace checks that no job is taken up within the writers' grace, resumes the jobs
// left past it, wanting jobs of them, and checks that none is taken up again.
func resumeAfterGrace(t *testing.T, live *store.Store, jobs int) {
	t.Helper()
	ctx := context.Background()
	if n, err := live.ResumeFanOutJobs(ctx, time.Now(), time.Minute, 10); err != nil || n != 0 {
		t.Fatalf("within the writer's grace: resumed %d jobs (%v), want 0", n, err)
	}
	later := time.Now().Add(store.FanOutGrace + time.Second)
	if n, err := live.ResumeFanOutJobs(ctx, later, time.Minute, 10); err != nil || n != jobs {
		t.Fatalf("after the grace: resumed %d jobs (%v), want %d", n, err, jobs)
	}
	if n, err := live.ResumeFanOutJobs(ctx, later.Add(time.Hour), time.Minute, 10); err != nil || n != 0 {
		t.Errorf("a job applied once is taken up again: resumed %d (%v)", n, err)
	}
}

// TestRewritesOfKilledWriters edits a status through writers killed before their fan-out. The
// record stays as it was until the jobs are resumed; a rewrite that reads it meanwhile gives up
// rather than build on the version before; the jobs resumed in the reverse order leave the last
// edit; and an edit pending when the status is deleted does not bring it back.
func TestRewritesOfKilledWriters(t *testing.T) {
	ctx := context.Background()
	live, killed, rdb, prefix := killedWriter(t)
	author := localAccount(t, live, "author")
	edit := func(previous *store.Status, text string) *store.Status {
		edited := *previous
		edited.Text, edited.Content, edited.EditedAt = text, "<p>"+text+"</p>", time.Now().UTC()
		must(t, killed.UpdateStatus(ctx, &edited, previous))
		return &edited
	}
	due := "{" + prefix + "}:fanout:due"
	post := postStatus(t, live, author, store.Status{Text: "first"})
	second := edit(post, "second")
	secondJob, err := rdb.ZRange(ctx, due, 0, -1).Result()
	if err != nil || len(secondJob) != 1 {
		t.Fatalf("jobs due: %v (%v), want the edit's", secondJob, err)
	}
	edit(second, "third")
	if got, err := live.Status(ctx, post.ID); err != nil || got.Text != "first" {
		t.Errorf("before the jobs are resumed the status reads %+v (%v), want the first version", got, err)
	}
	if _, err := live.SetQuotePolicy(ctx, post.ID, store.QuoteFollowers); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a quote policy set on a record behind its version: %v, want a conflict", err)
	}
	jobs, err := rdb.ZRangeWithScores(ctx, due, 0, -1).Result()
	if err != nil || len(jobs) != 2 {
		t.Fatalf("jobs due: %v (%v), want the two edits'", jobs, err)
	}
	// The second edit's job is taken up after the third's (the two may be due in the same
	// millisecond: their order is set, not swapped).
	last := max(jobs[0].Score, jobs[1].Score)
	for i := range jobs {
		jobs[i].Score = last
		if jobs[i].Member == secondJob[0] {
			jobs[i].Score = last + 1
		}
	}
	must(t, rdb.ZAdd(ctx, due, jobs...).Err())
	resumeAfterGrace(t, live, 2)
	got, err := live.Status(ctx, post.ID)
	if err != nil || got.Text != "third" {
		t.Fatalf("after the jobs the status reads %+v (%v), want the last edit", got, err)
	}
	// The edit skipped as older leaves no snapshot: the history holds the version before the
	// last edit and the last edit.
	history, err := live.StatusHistory(ctx, got)
	if err != nil || len(history) != 2 || history[0].Content != "<p>second</p>" || history[1].Content != "<p>third</p>" {
		t.Errorf("history = %+v (%v), want the version before the last edit and the last edit", history, err)
	}
	if updated, err := live.SetQuotePolicy(ctx, post.ID, store.QuoteFollowers); err != nil || updated.Text != "third" {
		t.Errorf("the quote policy set once the record caught up: %+v (%v)", updated, err)
	}

	gone := postStatus(t, live, author, store.Status{Text: "short-lived"})
	edit(gone, "edited before its deletion")
	must(t, live.DeleteStatus(ctx, gone))
	resumeAfterGrace(t, live, 1)
	if _, err := live.Status(ctx, gone.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a deleted status came back with its pending edit: %v", err)
	}
	if keys, err := testrig.Keys(ctx, rdb, "{"+prefix+":status:"+gone.ID+"}*"); err != nil || len(keys) != 0 {
		t.Errorf("the deleted status's slot holds %v (%v)", keys, err)
	}
}

// On a cluster a favourite goes into the account's favourites, in its slot, before the
// department's MULTI records its tally. A writer killed between the two leaves the favourite
// uncounted; the favourite made again (the client retrying) counts it, once. An unfavourite
// likewise.
func TestFavouriteOfAKilledWriterCompletedByItsRetry(t *testing.T) {
	ctx := context.Background()
	st, rdb, prefix := rawStore(t)
	needsCluster(t, rdb, "a single server writes a favourite and its tally in one MULTI")
	author, fan := localAccount(t, st, "author"), localAccount(t, st, "fan")
	post := postStatus(t, st, author, store.Status{Text: "like me"})
	favourites := "{" + prefix + ":acct:" + fan.ID + "}:favourites"
	counted := func(want int64) {
		t.Helper()
		counts, err := st.StatusCounts(ctx, []string{post.ID})
		by, errBy := st.FavouritedBy(ctx, post.ID, store.Page{Limit: 20})
		if err != nil || errBy != nil || counts[post.ID].Favourites != want || int64(len(by)) != want {
			t.Errorf("favourites counted %d, listed %v (%v, %v); want %d", counts[post.ID].Favourites, by, err, errBy, want)
		}
	}
	must(t, rdb.ZAdd(ctx, favourites, redis.Z{Score: 1, Member: post.ID}).Err()) // the killed writer's first step
	counted(0)
	for range 2 {
		must(t, st.Favourite(ctx, fan.ID, post, true))
		counted(1)
	}
	// The favourite keeps the place it took first, among the fan's favourites and the post's.
	own, err := st.Favourites(ctx, fan.ID, store.Page{Limit: 20})
	by, errBy := st.FavouritedBy(ctx, post.ID, store.Page{Limit: 20})
	if err != nil || errBy != nil || len(own) != 1 || len(by) != 1 || own[0].ID != by[0].ID {
		t.Errorf("the fan's favourites %v and the post's %v (%v, %v), want one favourite in one place", own, by, err, errBy)
	}
	must(t, rdb.ZRem(ctx, favourites, post.ID).Err())
	counted(1)
	must(t, st.Unfavourite(ctx, fan.ID, post.ID))
	counted(0)
}

// TestFollowOfAKilledWriterCompletedByItsRetry: on a cluster a follow is written in the
// follower's slot first (with the follower's count of follows), then its other side through the
// department's MULTI. A writer killed between the two leaves a follow the target does not know
// of; following again (a client retrying) completes it, once. An unfollow, a block and an
// addition to a list likewise.
func TestFollowOfAKilledWriterCompletedByItsRetry(t *testing.T) {
	ctx := context.Background()
	st, rdb, prefix := rawStore(t)
	needsCluster(t, rdb, "a single server writes a follow and its other side in one MULTI")
	fan, idol := localAccount(t, st, "fan"), localAccount(t, st, "idol")
	post := postStatus(t, st, idol, store.Status{Text: "before the follow"})
	own := func(name string) string { return "{" + prefix + ":acct:" + fan.ID + "}:" + name }
	seen := func(following bool) {
		t.Helper()
		counts, err := st.AccountCounts(ctx, []string{fan.ID, idol.ID})
		must(t, err)
		rels, err := st.Relationships(ctx, idol.ID, []string{fan.ID})
		must(t, err)
		want := map[bool]int64{false: 0, true: 1}[following]
		if counts[fan.ID].Following != want || counts[idol.ID].Followers != want || rels[0].FollowedBy != following || homeHas(t, st, fan.ID, post.ID) != following {
			t.Errorf("following %v: the fan follows %d, the idol has %d followers, sees the fan as %+v, the post in the fan's home: %v",
				following, counts[fan.ID].Following, counts[idol.ID].Followers, rels[0], homeHas(t, st, fan.ID, post.ID))
		}
	}
	// The killed writer's first step: the follow, its options and the fan's count.
	must(t, rdb.ZAdd(ctx, own("following"), redis.Z{Score: 1, Member: idol.ID}).Err())
	must(t, rdb.HSet(ctx, own("follow_opts"), idol.ID, `{"show_reblogs":true}`).Err())
	must(t, rdb.HSet(ctx, own("counts"), "following", 1).Err())
	if rels, err := st.Relationships(ctx, idol.ID, []string{fan.ID}); err != nil || rels[0].FollowedBy {
		t.Fatalf("before the retry the idol sees the fan as %+v (%v)", rels, err)
	}
	for range 2 {
		must(t, st.Follow(ctx, fan, idol, store.FollowOptions{ShowReblogs: true}))
		seen(true)
	}
	// A killed addition to a list: the list's members hold the idol, the idol's lists do not.
	list := &store.List{AccountID: fan.ID, Title: "idols"}
	must(t, st.CreateList(ctx, list))
	must(t, rdb.SAdd(ctx, "{"+prefix+":list:"+list.ID+"}:members", idol.ID).Err())
	must(t, st.AddListAccounts(ctx, list, []string{idol.ID}))
	listed := postStatus(t, st, idol, store.Status{Text: "for the list"})
	if tl, err := st.ListTimeline(ctx, list.ID, store.Page{Limit: 20}); err != nil || len(tl) != 1 || tl[0].ID != listed.ID {
		t.Errorf("after the retried addition the list shows %v (%v), want the idol's new post", tl, err)
	}
	// A killed unfollow's first step.
	must(t, rdb.ZRem(ctx, own("following"), idol.ID).Err())
	must(t, rdb.HSet(ctx, own("counts"), "following", 0).Err())
	must(t, st.Unfollow(ctx, fan.ID, idol.ID))
	seen(false)
	// A killed block's first step.
	must(t, rdb.ZAdd(ctx, own("blocks"), redis.Z{Score: 1, Member: idol.ID}).Err())
	must(t, st.Block(ctx, fan.ID, idol.ID))
	if rels, err := st.Relationships(ctx, idol.ID, []string{fan.ID}); err != nil || !rels[0].BlockedBy {
		t.Errorf("after the retried block the idol sees the fan as %+v (%v), want blocked by", rels, err)
	}
}

// TestConversationsOfAKilledWriter: a direct message's thread reaches its readers' conversations
// through the fan-out job, so a writer killed before it leaves them to the worker; a message
// deleted meanwhile starts no thread.
func TestConversationsOfAKilledWriter(t *testing.T) {
	ctx := context.Background()
	for _, deleted := range []bool{false, true} {
		t.Run(map[bool]string{false: "the thread reaches the reader", true: "a message deleted meanwhile does not"}[deleted], func(t *testing.T) {
			live, killed, _, _ := killedWriter(t)
			author, reader := localAccount(t, live, "author"), localAccount(t, live, "reader")
			dm := postStatus(t, killed, author, store.Status{Text: "psst @reader", Visibility: store.VisibilityDirect, Mentions: []string{reader.ID}})
			threads := func() []*store.Conversation {
				t.Helper()
				_, list, err := live.Conversations(ctx, reader.ID, store.Page{Limit: 20})
				must(t, err)
				return list
			}
			if got := threads(); len(got) != 0 {
				t.Fatalf("before the job is resumed the reader has threads %+v", got)
			}
			if deleted {
				must(t, live.DeleteStatus(ctx, dm))
			}
			resumeAfterGrace(t, live, 1)
			got := threads()
			switch {
			case deleted && len(got) != 0:
				t.Errorf("a deleted message started threads %+v", got)
			case !deleted && (len(got) != 1 || got[0].LastStatusID != dm.ID || !got[0].Unread):
				t.Errorf("threads = %+v, want the message's, unread", got)
			}
		})
	}
}

// On a cluster a followed hashtag goes into the person's list, in their slot, before the
// department's index of the tag's followers. A writer killed between the two leaves the tag
// listed but its posts out of the home; following it again (a client retrying) completes it.
func TestFollowedTagOfAKilledWriterCompletedByItsRetry(t *testing.T) {
	ctx := context.Background()
	st, rdb, prefix := rawStore(t)
	needsCluster(t, rdb, "a single server follows a hashtag in one MULTI")
	reader, author := localAccount(t, st, "reader"), localAccount(t, st, "author")
	must(t, rdb.ZAdd(ctx, "{"+prefix+":acct:"+reader.ID+"}:followed_tags", redis.Z{Score: 1, Member: "golang"}).Err())
	if before := postStatus(t, st, author, store.Status{Text: "#golang", Tags: []string{"golang"}}); homeHas(t, st, reader.ID, before.ID) {
		t.Fatal("a half-followed tag already brings its posts")
	}
	must(t, st.FollowTag(ctx, reader.ID, "golang"))
	if after := postStatus(t, st, author, store.Status{Text: "#golang again", Tags: []string{"golang"}}); !homeHas(t, st, reader.ID, after.ID) {
		t.Error("the tag followed again does not bring its posts")
	}
}

// TestMediaAndPollsOfAKilledWriter checks that a post's uploads are attached to it and its poll
// written by its fan-out, and a deleted post's uploads and poll go with the deletion's, each
// once its job is resumed.
func TestMediaAndPollsOfAKilledWriter(t *testing.T) {
	ctx := context.Background()
	live, killed, _, _ := killedWriter(t)
	author := localAccount(t, live, "author")
	upload := &store.Media{AccountID: author.ID, Type: "image", URL: "https://eng.example/media/1.png"}
	must(t, live.CreateMedia(ctx, upload))
	// seen is the upload's status ("" when not attached, "gone" when deleted) and whether the
	// poll is there.
	type seen struct {
		attachedTo string
		poll       bool
	}
	look := func(postID string) seen {
		t.Helper()
		var got seen
		m, err := live.Media(ctx, upload.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			got.attachedTo = "gone"
		case err != nil:
			t.Fatal(err)
		default:
			got.attachedTo = m.StatusID
		}
		_, err = live.Poll(ctx, postID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		got.poll = err == nil
		return got
	}
	post, err := killed.CreateStatus(ctx, store.NewStatus{
		Status: store.Status{AccountID: author.ID, Local: true, Content: "<p>which?</p>", Visibility: store.VisibilityPublic, MediaIDs: []string{upload.ID}},
		Poll:   &store.Poll{Options: []string{"this", "that"}, ExpiresAt: time.Now().Add(time.Hour)},
	})
	must(t, err)
	if got, want := look(post.ID), (seen{}); got != want {
		t.Fatalf("before the post's job: %+v, want %+v", got, want)
	}
	resumeAfterGrace(t, live, 1)
	if got, want := look(post.ID), (seen{attachedTo: post.ID, poll: true}); got != want {
		t.Fatalf("after the post's job: %+v, want %+v", got, want)
	}
	must(t, killed.DeleteStatus(ctx, post))
	if got, want := look(post.ID), (seen{attachedTo: post.ID, poll: true}); got != want {
		t.Fatalf("before the deletion's job: %+v, want %+v", got, want)
	}
	resumeAfterGrace(t, live, 1)
	if got, want := look(post.ID), (seen{attachedTo: "gone"}); got != want {
		t.Errorf("after the deletion's job: %+v, want %+v", got, want)
	}
}

// TestScheduledPostsReserveTheirMedia checks that a scheduled post holds its uploads, all or
// none, against another scheduled post, and frees them when it is deleted.
func TestScheduledPostsReserveTheirMedia(t *testing.T) {
	ctx := context.Background()
	st := testrig.NewStore(t, testDomain)
	author := localAccount(t, st, "author")
	var uploads []string
	for i := range 2 {
		m := &store.Media{AccountID: author.ID, Type: "image", URL: "https://eng.example/media/" + strconv.Itoa(i) + ".png"}
		must(t, st.CreateMedia(ctx, m))
		uploads = append(uploads, m.ID)
	}
	reservedBy := func(id string) string {
		t.Helper()
		m, err := st.Media(ctx, id)
		must(t, err)
		return m.ScheduledStatusID
	}
	later := time.Now().Add(time.Hour)
	first := &store.ScheduledStatus{AccountID: author.ID, ScheduledAt: later, MediaIDs: uploads[:1]}
	must(t, st.ScheduleStatus(ctx, first))
	if got := reservedBy(uploads[0]); got != first.ID {
		t.Fatalf("the first upload is reserved by %q, want %s", got, first.ID)
	}
	second := &store.ScheduledStatus{AccountID: author.ID, ScheduledAt: later, MediaIDs: []string{uploads[1], uploads[0]}}
	if err := st.ScheduleStatus(ctx, second); !errors.Is(err, store.ErrMediaTaken) {
		t.Fatalf("a second post with the first's upload: %v, want ErrMediaTaken", err)
	}
	if got := reservedBy(uploads[1]); got != "" {
		t.Errorf("the refused post left the free upload reserved by %q", got)
	}
	if got := reservedBy(uploads[0]); got != first.ID {
		t.Errorf("the refused post took the first upload: reserved by %q", got)
	}
	deleted, err := st.UnscheduleStatus(ctx, author.ID, first.ID)
	if err != nil || !deleted {
		t.Fatalf("unschedule: %v %v", deleted, err)
	}
	if got := reservedBy(uploads[0]); got != "" {
		t.Errorf("the deleted post's upload is still reserved by %q", got)
	}
	must(t, st.ScheduleStatus(ctx, second))
	for _, id := range uploads {
		if got := reservedBy(id); got != second.ID {
			t.Errorf("upload %s is reserved by %q, want %s", id, got, second.ID)
		}
	}
}

// TestDueTimesLeftByKilledWriters: a scheduled post's time is set, in the department's slot,
// before the post, in its account's. What a writer that died in between leaves is mended when the
// time comes: a time whose post was never stored is dropped, and a time earlier than its post's
// (a new time half written) moves to the post's, and the post is not published early.
func TestDueTimesLeftByKilledWriters(t *testing.T) {
	ctx := context.Background()
	st, rdb, prefix := rawStore(t)
	author := localAccount(t, st, "author")
	later := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	post := &store.ScheduledStatus{AccountID: author.ID, ScheduledAt: later, Params: "{}"}
	must(t, st.ScheduleStatus(ctx, post))
	due := "{" + prefix + "}:scheduled:due"
	now := time.Now()
	never := author.ID + "/1839000000000009"
	must(t, rdb.ZAdd(ctx, due, redis.Z{Score: float64(now.Add(-time.Minute).UnixMilli()), Member: never},
		redis.Z{Score: float64(now.Add(-time.Minute).UnixMilli()), Member: author.ID + "/" + post.ID}).Err())
	claimed, next, err := st.ClaimDueScheduled(ctx, now, time.Minute, 10)
	if err != nil || len(claimed) != 0 {
		t.Fatalf("claimed %+v (%v), want nothing yet", claimed, err)
	}
	if n, err := rdb.ZScore(ctx, due, never).Result(); !errors.Is(err, redis.Nil) {
		t.Errorf("the time of a post never stored is still there: %v (%v)", n, err)
	}
	if at, err := rdb.ZScore(ctx, due, author.ID+"/"+post.ID).Result(); err != nil || int64(at) != later.UnixMilli() {
		t.Errorf("the post is due at %v (%v), want %v, its own time", at, err, later.UnixMilli())
	}
	if next.IsZero() || next.Before(now) {
		t.Errorf("the next post is due at %v, want the post's time", next)
	}
	claimed, _, err = st.ClaimDueScheduled(ctx, later, time.Minute, 10)
	if err != nil || len(claimed) != 1 || claimed[0].ID != post.ID {
		t.Errorf("at its time, claimed %+v (%v), want the post", claimed, err)
	}
}

// TestStaleReservationsAreTakenOver: uploads reserved by a writer that died before storing its
// scheduled post are taken over by another post once the reservation is older than the writers'
// grace, never before, and never from a post that is stored.
func TestStaleReservationsAreTakenOver(t *testing.T) {
	ctx := context.Background()
	st, rdb, prefix := rawStore(t)
	author := localAccount(t, st, "author")
	upload := func() *store.Media {
		m := &store.Media{AccountID: author.ID, Type: "image", URL: "https://eng.example/media/x.png"}
		must(t, st.CreateMedia(ctx, m))
		return m
	}
	age := func(m *store.Media) { // as if reserved longer ago than the grace
		key := "{" + prefix + ":media:" + m.ID + "}"
		var record map[string]any
		must(t, json.Unmarshal([]byte(rdb.Get(ctx, key).Val()), &record))
		record["reserved_at"] = time.Now().Add(-2 * store.FanOutGrace).UnixMilli()
		raw, err := json.Marshal(record)
		must(t, err)
		must(t, rdb.Set(ctx, key, raw, 0).Err())
	}
	later := time.Now().Add(time.Hour)
	orphaned, kept := upload(), upload()
	must(t, store.ReserveMediaAndDie(st, &store.ScheduledStatus{ID: "1839000000000007", AccountID: author.ID, MediaIDs: []string{orphaned.ID}}))
	stored := &store.ScheduledStatus{AccountID: author.ID, ScheduledAt: later, MediaIDs: []string{kept.ID}}
	must(t, st.ScheduleStatus(ctx, stored))
	for _, c := range []struct {
		name   string
		upload *store.Media
		aged   bool
		want   error
	}{
		{"a dead writer's upload within the grace", orphaned, false, store.ErrMediaTaken},
		{"a dead writer's upload after the grace", orphaned, true, nil},
		{"a stored post's upload after the grace", kept, true, store.ErrMediaTaken},
	} {
		if c.aged {
			age(c.upload)
		}
		post := &store.ScheduledStatus{AccountID: author.ID, ScheduledAt: later, MediaIDs: []string{c.upload.ID}}
		if err := st.ScheduleStatus(ctx, post); !errors.Is(err, c.want) {
			t.Errorf("%s: scheduling gives %v, want %v", c.name, err, c.want)
			continue
		}
		m, err := st.Media(ctx, c.upload.ID)
		must(t, err)
		if taken := m.ScheduledStatusID == post.ID; taken != (c.want == nil) {
			t.Errorf("%s: the upload is reserved by %q, the new post is %s", c.name, m.ScheduledStatusID, post.ID)
		}
	}
}
