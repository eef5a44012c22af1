package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"watercooler/store"
)

// pollStatus creates a local status of author with a poll of options.
func pollStatus(t *testing.T, st *store.Store, author *store.Account, multiple bool, options ...string) *store.Status {
	t.Helper()
	s, err := st.CreateStatus(context.Background(), store.NewStatus{
		Status: store.Status{AccountID: author.ID, Local: true, Content: "<p>poll</p>", Visibility: store.VisibilityPublic},
		Poll:   &store.Poll{Options: options, Multiple: multiple, ExpiresAt: time.Now().Add(time.Hour)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPollConcurrentVotes(t *testing.T) {
	st, _, _ := rawStore(t)
	ctx := context.Background()
	author := localAccount(t, st, "author")
	s := pollStatus(t, st, author, true, "a", "b", "c")
	voters := make([]*store.Account, 8)
	for i := range voters {
		voters[i] = localAccount(t, st, fmt.Sprintf("voter%d", i))
	}

	// Eight voters at once, each voting a and, every other one, c too.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i, v := range voters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			choices := []int{0}
			if i%2 == 0 {
				choices = append(choices, 2)
			}
			_, err := st.Vote(ctx, s.ID, v.ID, choices)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("vote: %v", err)
		}
	}
	p, err := st.Poll(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Votes, []int64{8, 0, 4}) || p.Voters != 8 || p.VotesCount() != 12 {
		t.Errorf("after 8 concurrent voters: votes %v voters %d, want [8 0 4] and 8", p.Votes, p.Voters)
	}

	// One account racing itself eight times gets one vote set in.
	late := localAccount(t, st, "late")
	results := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.Vote(ctx, s.ID, late.ID, []int{1})
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	ok, refused := 0, 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrPollVoted):
			refused++
		default:
			t.Fatalf("vote: %v", err)
		}
	}
	if ok != 1 || refused != 7 {
		t.Errorf("racing votes of one account: %d accepted, %d refused, want 1 and 7", ok, refused)
	}
	if p, _ := st.Poll(ctx, s.ID); p.Votes[1] != 1 || p.Voters != 9 {
		t.Errorf("after the race: votes %v voters %d", p.Votes, p.Voters)
	}
}

func TestPollRefusalsAndRemoteVotes(t *testing.T) {
	st, _, _ := rawStore(t)
	ctx := context.Background()
	author, voter := localAccount(t, st, "author"), localAccount(t, st, "voter")
	remote := remoteAccount(t, st, "far", "remote.example")
	single := pollStatus(t, st, author, false, "a", "b")
	multi := pollStatus(t, st, author, true, "a", "b", "c")
	cases := []struct {
		name    string
		poll    string
		voter   string
		choices []int
		want    error
	}{
		{"own poll", single.ID, author.ID, []int{0}, store.ErrPollOwn},
		{"no such option", single.ID, voter.ID, []int{2}, store.ErrPollChoice},
		{"negative option", single.ID, voter.ID, []int{-1}, store.ErrPollChoice},
		{"two in single choice", single.ID, voter.ID, []int{0, 1}, store.ErrPollVoted},
		{"same option twice", multi.ID, voter.ID, []int{1, 1}, store.ErrPollVoted},
		{"unknown poll", "404", voter.ID, []int{0}, store.ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := st.Vote(ctx, tc.poll, tc.voter, tc.choices); !errors.Is(err, tc.want) {
				t.Errorf("Vote(%v) = %v, want %v", tc.choices, err, tc.want)
			}
		})
	}
	for _, id := range []string{single.ID, multi.ID} {
		if p, _ := st.Poll(ctx, id); p.VotesCount() != 0 || p.Voters != 0 {
			t.Errorf("refused votes were counted in %s: %v", id, p.Votes)
		}
	}

	// Mastodon sends a multiple-choice vote as one activity per choice.
	for _, c := range []int{0, 2, 2} {
		_, _ = st.AddRemoteVote(ctx, multi.ID, remote.ID, c)
	}
	if p, _ := st.Poll(ctx, multi.ID); !slices.Equal(p.Votes, []int64{1, 0, 1}) || p.Voters != 1 {
		t.Errorf("remote choices: votes %v voters %d, want [1 0 1] and 1", p.Votes, p.Voters)
	}
	if _, err := st.AddRemoteVote(ctx, single.ID, remote.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddRemoteVote(ctx, single.ID, remote.ID, 1); !errors.Is(err, store.ErrPollVoted) {
		t.Errorf("a second remote choice in a single-choice poll: %v", err)
	}

	// Ended: refused. The end is due to the expiry worker, which claims it once.
	if err := st.SetPollEnd(ctx, single.ID, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Vote(ctx, single.ID, voter.ID, []int{0}); !errors.Is(err, store.ErrPollExpired) {
		t.Errorf("vote in an ended poll: %v", err)
	}
	claims, err := st.ClaimDuePolls(ctx, time.Now(), time.Minute, 10)
	if err != nil || len(claims) != 1 || claims[0].PollID != single.ID {
		t.Fatalf("claims = %v, %v; want the ended poll", claims, err)
	}
	if again, _ := st.ClaimDuePolls(ctx, time.Now(), time.Minute, 10); len(again) != 0 {
		t.Errorf("a leased poll end was claimed again: %v", again)
	}
	// Once the lease lapses another process may claim it; the first claim then finishes nothing.
	later, _ := st.ClaimDuePolls(ctx, time.Now().Add(2*time.Minute), time.Minute, 10)
	if len(later) != 1 {
		t.Fatalf("lapsed lease not claimed again: %v", later)
	}
	if done, err := st.FinishPoll(ctx, claims[0], []string{author.ID}, author.ID); err != nil || done {
		t.Errorf("FinishPoll of a claim taken over = %v, %v; want false", done, err)
	}
	if done, err := st.FinishPoll(ctx, later[0], []string{author.ID}, author.ID); err != nil || !done {
		t.Errorf("FinishPoll = %v, %v; want true", done, err)
	}
	ns, err := st.Notifications(ctx, author.ID, store.NotificationQuery{Page: store.Page{Limit: 10}, Types: []string{store.NotifyPoll}})
	if err != nil || len(ns) != 1 || ns[0].StatusID != single.ID {
		t.Errorf("poll notifications = %v, %v; want one", ns, err)
	}
}

func TestPollEndsClaimedOnceAcrossProcesses(t *testing.T) {
	st, rdb, prefix := rawStore(t)
	ctx := context.Background()
	author := localAccount(t, st, "author")
	want := map[string]bool{}
	for range 20 {
		s := pollStatus(t, st, author, false, "a", "b")
		if err := st.SetPollEnd(ctx, s.ID, time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		want[s.ID] = true
	}
	// Four processes, each with its own store on the same Redis, claim at once.
	var mu sync.Mutex
	claimed := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		proc := store.New(rdb, prefix, testDomain)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				claims, err := proc.ClaimDuePolls(ctx, time.Now(), time.Minute, 3)
				if err != nil {
					t.Error(err)
					return
				}
				for _, c := range claims {
					if done, err := proc.FinishPoll(ctx, c, []string{author.ID}, author.ID); err != nil || !done {
						t.Errorf("FinishPoll(%s) = %v, %v", c.PollID, done, err)
					}
					mu.Lock()
					claimed[c.PollID]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	for id := range want {
		if claimed[id] != 1 {
			t.Errorf("poll %s claimed %d times, want once", id, claimed[id])
		}
	}
	ns, err := st.Notifications(ctx, author.ID, store.NotificationQuery{Page: store.Page{Limit: 40}, Types: []string{store.NotifyPoll}})
	if err != nil || len(ns) != len(want) {
		t.Errorf("%d poll notifications (%v), want %d", len(ns), err, len(want))
	}
}

func TestPollUpdateDebounce(t *testing.T) {
	st, _, _ := rawStore(t)
	ctx := context.Background()
	author := localAccount(t, st, "author")
	s := pollStatus(t, st, author, false, "a", "b")
	window := 300 * time.Millisecond
	var sends []bool
	for range 3 {
		now, err := st.DebouncePollUpdate(ctx, s.ID, window)
		if err != nil {
			t.Fatal(err)
		}
		sends = append(sends, now)
	}
	// The first goes out at once; the next two wait for the window's end, together.
	if !slices.Equal(sends, []bool{true, false, false}) {
		t.Errorf("sends = %v, want [true false false]", sends)
	}
	if due, _ := st.TakeDuePollUpdates(ctx, time.Now(), window, 10); len(due) != 0 {
		t.Errorf("due before the window ended: %v", due)
	}
	due, err := st.TakeDuePollUpdates(ctx, time.Now().Add(window), window, 10)
	if err != nil || !slices.Equal(due, []string{s.ID}) {
		t.Errorf("due after the window = %v, %v; want the poll once", due, err)
	}
	if again, _ := st.TakeDuePollUpdates(ctx, time.Now().Add(window), window, 10); len(again) != 0 {
		t.Errorf("taken twice: %v", again)
	}
	// Sending the held counts started a new window.
	if now, _ := st.DebouncePollUpdate(ctx, s.ID, window); now {
		t.Error("a vote right after the held counts went out was sent at once")
	}
}
