// Package loadtest_test runs a realistic mix of client requests against three federating
// departments for a bounded time and reports throughput, latency percentiles and errors:
//
//	WATERCOOLER_TEST_REDIS=redis://127.0.0.1:6379/0 go test -run '^$' -bench Load -benchtime 1x ./loadtest/ -load.duration 30s
package loadtest_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"watercooler/federation"
	"watercooler/store"
	"watercooler/testrig"
)

var (
	loadDuration = flag.Duration("load.duration", 20*time.Second, "how long the mix runs")
	loadWorkers  = flag.Int("load.workers", 16, "concurrent clients")
	loadPeople   = flag.Int("load.people", 100, "people per department")
	loadAuthors  = flag.Int("load.authors", 2, "people per department whom everyone in every department follows")
)

// kinds of request in the mix, with their weights out of 100: nine in ten are reads.
var mix = []struct {
	kind   string
	weight int
}{
	{"home", 40}, {"status", 20}, {"account", 15}, {"notifications", 15},
	{"post", 8}, {"favourite", 2},
}

type dept struct {
	inst     *testrig.Instance
	people   []*testrig.User
	authors  []*testrig.User
	mu       sync.Mutex
	statuses []string // ids of this department's statuses, local or delivered
}

func (d *dept) randomStatus() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.statuses) == 0 {
		return ""
	}
	return d.statuses[rand.IntN(len(d.statuses))]
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: time.Minute}

// call sends one API request and decodes a JSON object answer into out (when not nil).
func call(method, u, token string, form url.Values, out any) error {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// BenchmarkLoad seeds three departments of load.people people each, where everyone follows
// load.authors people of every department (so each post fans out to a few hundred home
// timelines and is delivered to the two other departments), then runs load.workers clients
// through the mix for load.duration and prints, per kind, requests, errors, p50 and p99.
func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	depts := make([]*dept, 3)
	for i := range depts {
		d := &dept{inst: testrig.StartInstance(b)}
		for j := range *loadPeople {
			u := d.inst.CreateUser(b, fmt.Sprintf("p%d", j))
			d.people = append(d.people, u)
			if j < *loadAuthors {
				d.authors = append(d.authors, u)
			}
		}
		depts[i] = d
	}
	seed(b, depts)

	type sample struct {
		kind string
		took time.Duration
		err  error
	}
	samples := make(chan sample, 4096)
	var all []sample
	collected := make(chan struct{})
	go func() {
		for s := range samples {
			all = append(all, s)
		}
		close(collected)
	}()

	b.ResetTimer()
	start := time.Now()
	deadline := start.Add(*loadDuration)
	var wg sync.WaitGroup
	for w := range *loadWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			for time.Now().Before(deadline) {
				d := depts[r.IntN(len(depts))]
				kind := pick(r)
				t0 := time.Now()
				err := request(d, kind, r)
				samples <- sample{kind, time.Since(t0), err}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(samples)
	<-collected
	b.StopTimer()

	// Deliveries the mix queued: how long until every department's queues are empty.
	drainStart := time.Now()
	testrig.Eventually(b, 5*time.Minute, "delivery and inbox queues drained", func() bool {
		for _, d := range depts {
			for _, q := range []*store.Queue{d.inst.Store.Queue(federation.DeliveryQueue), d.inst.Store.Queue(federation.InboxQueue)} {
				if s, err := q.Stats(ctx); err != nil || s.Queued+s.Pending+s.Retrying > 0 {
					return false
				}
			}
		}
		return true
	})
	drained := time.Since(drainStart)

	byKind := map[string][]time.Duration{}
	errs := map[string]int{}
	var firstErr error
	for _, s := range all {
		byKind[s.kind] = append(byKind[s.kind], s.took)
		if s.err != nil {
			errs[s.kind]++
			if firstErr == nil {
				firstErr = s.err
			}
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "kind\trequests\terrors\treq/s\tp50 ms\tp99 ms\t\n")
	var all50 []time.Duration
	for _, m := range mix {
		lat := byKind[m.kind]
		all50 = append(all50, lat...)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%.1f\t\n", m.kind, len(lat), errs[m.kind], float64(len(lat))/elapsed.Seconds(), ms(pct(lat, 50)), ms(pct(lat, 99)))
	}
	totalErrs := 0
	for _, n := range errs {
		totalErrs += n
	}
	fmt.Fprintf(tw, "all\t%d\t%d\t%.1f\t%.1f\t%.1f\t\n", len(all), totalErrs, float64(len(all))/elapsed.Seconds(), ms(pct(all50, 50)), ms(pct(all50, 99)))
	tw.Flush()
	fmt.Printf("3 departments x %d people, %d followed by everyone; %d clients for %s; queues drained %s after the load\n",
		*loadPeople, *loadAuthors*3, *loadWorkers, elapsed.Round(time.Millisecond), drained.Round(time.Millisecond))
	if firstErr != nil {
		fmt.Printf("first error: %v\n", firstErr)
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
	b.ReportMetric(ms(pct(all50, 50)), "p50-ms")
	b.ReportMetric(ms(pct(all50, 99)), "p99-ms")
	b.ReportMetric(float64(totalErrs), "errors")
}

// seed makes everyone follow every department's authors (resolving remote authors once per
// department), waits until the follows are accepted, and has each author post once so reads
// find statuses.
func seed(b *testing.B, depts []*dept) {
	type follow struct {
		d        *dept
		targetID string
	}
	var follows []follow
	for _, d := range depts {
		for _, other := range depts {
			for _, a := range other.authors {
				id := a.Account.ID
				if other != d {
					var res struct {
						Accounts []struct {
							ID string `json:"id"`
						} `json:"accounts"`
					}
					q := url.Values{"q": {a.Account.Username + "@" + other.inst.Config.Domain()}, "resolve": {"true"}, "type": {"accounts"}}
					if err := call(http.MethodGet, d.inst.URL+"/api/v2/search?"+q.Encode(), d.people[0].Token, nil, &res); err != nil || len(res.Accounts) != 1 {
						b.Fatalf("resolve %s: %v %v", q.Get("q"), res, err)
					}
					id = res.Accounts[0].ID
				}
				follows = append(follows, follow{d, id})
			}
		}
	}
	jobs := make(chan func() error)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := j(); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		}()
	}
	for _, f := range follows {
		for _, p := range f.d.people {
			if p.Account.ID == f.targetID {
				continue
			}
			jobs <- func() error {
				return call(http.MethodPost, f.d.inst.URL+"/api/v1/accounts/"+f.targetID+"/follow", p.Token, url.Values{}, nil)
			}
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		b.Fatalf("follow: %v", firstErr)
	}
	want := len(depts)**loadPeople - 1
	for _, d := range depts {
		for _, a := range d.authors {
			// Two federated hops per remote follow on loopback, thousands in a queue.
			testrig.Eventually(b, 5*time.Minute, a.Account.Username+"'s followers all accepted", func() bool {
				var acct struct {
					FollowersCount int `json:"followers_count"`
				}
				return call(http.MethodGet, d.inst.URL+"/api/v1/accounts/"+a.Account.ID, a.Token, nil, &acct) == nil && acct.FollowersCount >= want
			})
			if err := post(d, a); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func pick(r *rand.Rand) string {
	n := r.IntN(100)
	for _, m := range mix {
		if n < m.weight {
			return m.kind
		}
		n -= m.weight
	}
	return mix[0].kind
}

func post(d *dept, author *testrig.User) error {
	var st struct {
		ID string `json:"id"`
	}
	err := call(http.MethodPost, d.inst.URL+"/api/v1/statuses", author.Token, url.Values{"status": {"Load test post " + store.RandomToken(6)}, "visibility": {"public"}}, &st)
	if err == nil {
		d.mu.Lock()
		d.statuses = append(d.statuses, st.ID)
		d.mu.Unlock()
	}
	return err
}

// request sends one request of kind as a random person of d.
func request(d *dept, kind string, r *rand.Rand) error {
	me := d.people[r.IntN(len(d.people))]
	base := d.inst.URL + "/api/v1/"
	switch kind {
	case "home":
		var page []struct {
			ID string `json:"id"`
		}
		err := call(http.MethodGet, base+"timelines/home?limit=20", me.Token, nil, &page)
		if err == nil && len(page) > 0 {
			// Delivered posts become readable statuses of this department too.
			d.mu.Lock()
			if len(d.statuses) < 10000 {
				d.statuses = append(d.statuses, page[r.IntN(len(page))].ID)
			}
			d.mu.Unlock()
		}
		return err
	case "status":
		return call(http.MethodGet, base+"statuses/"+d.randomStatus(), me.Token, nil, nil)
	case "account":
		return call(http.MethodGet, base+"accounts/"+d.people[r.IntN(len(d.people))].Account.ID, me.Token, nil, nil)
	case "notifications":
		return call(http.MethodGet, base+"notifications?limit=20", me.Token, nil, nil)
	case "post":
		return post(d, d.authors[r.IntN(len(d.authors))])
	case "favourite":
		return call(http.MethodPost, base+"statuses/"+d.randomStatus()+"/favourite", me.Token, url.Values{}, nil)
	}
	return fmt.Errorf("unknown kind %q", kind)
}

func pct(lat []time.Duration, p int) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
