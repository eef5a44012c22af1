package store_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"watercooler/store"
	"watercooler/testrig"
)

// Remote servers publish whole seconds, so a burst of remote posts shares one published time;
// every one of them must still be stored, once, under an id of its own.
func TestRemoteStatusesOfOneSecondAllStored(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	const posts, authors, workers = 10000, 5, 8
	var remote []*store.Account
	for i := range authors {
		remote = append(remote, remoteAccount(t, st, fmt.Sprintf("author%d", i), "peer.example"))
	}
	published := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	uri := func(i int) string {
		return fmt.Sprintf("https://peer.example/users/author%d/statuses/%d", i%authors, i)
	}
	jobs := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				u := uri(i)
				_, err := st.CreateStatus(ctx, store.NewStatus{Status: store.Status{
					ID: store.RemoteID(published, u), URI: u, AccountID: remote[i%authors].ID,
					Content: "<p>tip</p>", Visibility: store.VisibilityPublic, CreatedAt: published,
				}})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range posts {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("CreateStatus: %v", err)
	}

	ids := make(map[string]bool, posts)
	for i := range posts {
		got, err := st.StatusByURI(ctx, uri(i))
		if err != nil {
			t.Fatalf("StatusByURI(%s) = %v", uri(i), err)
		}
		if got.URI != uri(i) {
			t.Fatalf("StatusByURI(%s) found %s, whose id another post took", uri(i), got.URI)
		}
		if ids[got.ID] {
			t.Fatalf("id %s stored twice", got.ID)
		}
		ids[got.ID] = true
		if at := store.TimeOfID(got.ID); at.Before(published) || at.After(published.Add(2*time.Second)) {
			t.Fatalf("id %s is of %v, not of its published second %v", got.ID, at, published)
		}
	}
	var total int
	for _, a := range remote {
		entries, err := st.AccountStatuses(ctx, a.ID, store.Page{Limit: posts})
		if err != nil {
			t.Fatal(err)
		}
		total += len(entries)
	}
	if total != posts {
		t.Fatalf("account timelines hold %d statuses, want %d", total, posts)
	}
}

// A remote status whose preferred id another status holds moves to a free id; the same status
// stored again (a redelivery) is found, not stored twice.
func TestRemoteStatusTakenIDMovesOn(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	author := remoteAccount(t, st, "bob", "peer.example")
	published := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	first := "https://peer.example/users/bob/statuses/1"
	id := store.RemoteID(published, first)
	create := func(uri string) *store.Status {
		t.Helper()
		s, err := st.CreateStatus(ctx, store.NewStatus{Status: store.Status{
			ID: id, URI: uri, AccountID: author.ID, Content: "<p>x</p>", Visibility: store.VisibilityPublic, CreatedAt: published,
		}})
		if err != nil {
			t.Fatalf("CreateStatus(%s): %v", uri, err)
		}
		return s
	}
	a := create(first)
	b := create("https://peer.example/users/bob/statuses/2") // forced onto the same preferred id
	again := create(first)
	if a.ID != id || b.ID == id || again.ID != a.ID || again.URI != first {
		t.Fatalf("ids: first %s, second %s, first again %s (%s); want %s, another, %s", a.ID, b.ID, again.ID, again.URI, id, id)
	}
	for _, s := range []*store.Status{a, b} {
		got, err := st.StatusByURI(ctx, s.URI)
		if err != nil || got.ID != s.ID {
			t.Fatalf("StatusByURI(%s) = %v, %v; want id %s", s.URI, got, err, s.ID)
		}
	}
}

// On a cluster a status claims its id by setting its record before the department's MULTI. A
// writer killed between the two leaves only the record: the same remote status delivered again
// is then written whole under that id, once, and another status wanting the id moves on.
func TestRemoteStatusClaimedByAKilledWriter(t *testing.T) {
	ctx := context.Background()
	st, rdb, _ := rawStore(t)
	needsCluster(t, rdb, "a single server writes a status's record in its MULTI: there is no claim to leave")
	author := remoteAccount(t, st, "bob", "peer.example")
	published := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	uri := "https://peer.example/users/bob/statuses/7"
	status := func(uri string) store.Status {
		return store.Status{ID: store.RemoteID(published, "https://peer.example/users/bob/statuses/7"), URI: uri, AccountID: author.ID,
			Content: "<p>x</p>", Visibility: store.VisibilityPublic, CreatedAt: published}
	}
	claimed := status(uri)
	must(t, store.ClaimStatusID(st, &claimed))
	if _, err := st.StatusByURI(ctx, uri); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a claimed status is found by its URI before its write: %v", err)
	}
	for range 2 {
		got, err := st.CreateStatus(ctx, store.NewStatus{Status: status(uri)})
		if err != nil || got.ID != claimed.ID {
			t.Fatalf("the redelivered status is %+v (%v), want it under the claimed id %s", got, err, claimed.ID)
		}
	}
	if got, err := st.StatusByURI(ctx, uri); err != nil || got.ID != claimed.ID {
		t.Errorf("StatusByURI = %+v (%v), want %s", got, err, claimed.ID)
	}
	if own, err := st.AccountStatuses(ctx, author.ID, store.Page{Limit: 20}); err != nil || len(own) != 1 {
		t.Errorf("the author's statuses = %v (%v), want the status once", own, err)
	}
	if counts, err := st.AccountCounts(ctx, []string{author.ID}); err != nil || counts[author.ID].Statuses != 1 {
		t.Errorf("the author's count of statuses: %+v (%v), want 1", counts[author.ID], err)
	}
	other, err := st.CreateStatus(ctx, store.NewStatus{Status: status("https://peer.example/users/bob/statuses/8")})
	if err != nil || other.ID == claimed.ID {
		t.Errorf("another status wanting the claimed id got %+v (%v)", other, err)
	}
}

// TestRemoteStatusIndexedByItsFanOut: on a cluster a status's entry in the index by URI is
// written by its fan-out. A status whose writer died after the department's MULTI, before its
// fan-out, is not written again when it is delivered again: the MULTI's mark says it is
// written. The resumed fan-out indexes it and drops the mark.
func TestRemoteStatusIndexedByItsFanOut(t *testing.T) {
	ctx := context.Background()
	live, killed, rdb, prefix := killedWriter(t)
	needsCluster(t, rdb, "a single server indexes a status in its MULTI")
	author := remoteAccount(t, live, "bob", "peer.example")
	published := time.Date(2026, 12, 4, 11, 0, 0, 0, time.UTC)
	uri := "https://peer.example/users/bob/statuses/9"
	status := store.Status{ID: store.RemoteID(published, uri), URI: uri, AccountID: author.ID,
		Content: "<p>x</p>", Visibility: store.VisibilityPublic, CreatedAt: published}
	first, err := killed.CreateStatus(ctx, store.NewStatus{Status: status})
	must(t, err)
	again, err := live.CreateStatus(ctx, store.NewStatus{Status: status})
	if err != nil || again.ID != first.ID {
		t.Fatalf("the redelivered status is %+v (%v), want %s", again, err, first.ID)
	}
	// The count of the author's statuses is their list's size, which the fan-out fills.
	if counts, err := live.AccountCounts(ctx, []string{author.ID}); err != nil || counts[author.ID].Statuses != 0 {
		t.Errorf("before the fan-out, the author's count of statuses: %+v (%v), want 0", counts[author.ID], err)
	}
	resumeAfterGrace(t, live, 1) // the first write's fan-out; the redelivery recorded none
	if counts, err := live.AccountCounts(ctx, []string{author.ID}); err != nil || counts[author.ID].Statuses != 1 {
		t.Errorf("the author's count of statuses: %+v (%v), want 1", counts[author.ID], err)
	}
	if got, err := live.StatusByURI(ctx, uri); err != nil || got.ID != first.ID {
		t.Errorf("StatusByURI = %+v (%v), want %s", got, err, first.ID)
	}
	if n, err := rdb.Exists(ctx, "{"+prefix+"}:status:indexing:"+first.ID).Result(); err != nil || n != 0 {
		t.Errorf("the mark of the status being indexed is left (%v)", err)
	}
}

// Several processes posting through one Redis: each is a Store of its own, as each serve process
// has, so their ids come from different node leases.
func TestLocalIDsUniqueAcrossProcesses(t *testing.T) {
	for _, processes := range []int{2, 3} {
		t.Run(strconv.Itoa(processes)+" processes", func(t *testing.T) {
			rdb := testrig.Redis(t)
			prefix := testrig.Prefix(t, rdb)
			var stores []*store.Store
			for range processes {
				stores = append(stores, store.New(rdb, prefix, testDomain))
			}
			author := localAccount(t, stores[0], "alice")
			follower := localAccount(t, stores[0], "bob")
			followAccount(t, stores[0], follower, author)
			const perProcess, concurrent = 300, 4
			var wg sync.WaitGroup
			errs := make(chan error, processes*concurrent)
			for _, s := range stores {
				for w := range concurrent {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; i < perProcess/concurrent; i++ {
							_, err := s.CreateStatus(context.Background(), store.NewStatus{BaseURL: testBaseURL, Status: store.Status{
								AccountID: author.ID, Local: true, Content: fmt.Sprintf("<p>%d/%d</p>", w, i), Visibility: store.VisibilityPublic,
							}})
							if err != nil {
								errs <- err
								return
							}
						}
					}()
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("CreateStatus: %v", err)
			}
			want := processes * perProcess
			ctx := context.Background()
			allCounts, err := stores[0].AccountCounts(ctx, []string{author.ID})
			if err != nil {
				t.Fatal(err)
			}
			counts := allCounts[author.ID]
			posted, err := stores[0].AccountStatuses(ctx, author.ID, store.Page{Limit: want + 1})
			if err != nil {
				t.Fatal(err)
			}
			statuses, err := stores[0].Statuses(ctx, store.Members(posted))
			if err != nil {
				t.Fatal(err)
			}
			texts := map[string]bool{}
			for _, s := range statuses {
				texts[s.ID+s.Content] = true
			}
			if counts.Statuses != int64(want) || len(posted) != want || len(texts) != want {
				t.Fatalf("statuses_count %d, timeline %d, distinct stored %d; want %d of each", counts.Statuses, len(posted), len(texts), want)
			}
		})
	}
}

// Ids of one process keep the order they were minted in, within a millisecond too, and their
// low bits cannot be told from the time: a post's id (and URI) is not guessable from when it
// was written.
func TestLocalIDsOrderedAndUnpredictable(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	start := time.Now().Add(-time.Hour)
	const n = 1000
	lows := map[int64]bool{}
	prev := int64(-1)
	for i := range n {
		at := start.Add(time.Duration(i/2) * time.Millisecond) // two ids in each millisecond
		id, err := strconv.ParseInt(st.NewID(at), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if id <= prev {
			t.Fatalf("id %d minted after %d", id, prev)
		}
		prev = id
		if i%2 == 0 {
			lows[id&1023] = true
		}
	}
	// One first id per millisecond: a counter in the low bits would give the same value each
	// time; the generator's 512 equally likely first values give about 330 distinct ones in 500.
	if len(lows) < 200 {
		t.Fatalf("%d distinct low parts among %d first ids of a millisecond; want them unpredictable", len(lows), n/2)
	}
}
