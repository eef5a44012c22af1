package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"watercooler/store"
	"watercooler/testrig"
)

// benchClient keeps connections alive across requests, as a real client app does.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 16, MaxIdleConnsPerHost: 16}}
}

func benchDo(b *testing.B, c *http.Client, req *http.Request) {
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("%s %s: %d %s %v", req.Method, req.URL, resp.StatusCode, body, err)
	}
}

// benchAccounts creates local accounts straight in the store: sign-up's RSA key generation
// would dominate the set-up time.
func benchAccounts(b *testing.B, inst *testrig.Instance, prefix string, n int) []*store.Account {
	out := make([]*store.Account, n)
	for i := range out {
		a, err := inst.Store.CreateLocalAccount(context.Background(), store.NewLocalAccount{Username: fmt.Sprintf("%s%d", prefix, i), BaseURL: inst.URL})
		if err != nil {
			b.Fatal(err)
		}
		out[i] = a
	}
	return out
}

// BenchmarkHomeTimeline reads the first page of a home timeline that holds 200 statuses of ten
// followed authors, over HTTP.
func BenchmarkHomeTimeline(b *testing.B) {
	inst := testrig.StartInstance(b)
	ctx := context.Background()
	reader := inst.CreateUser(b, "reader")
	authors := benchAccounts(b, inst, "author", 10)
	for _, a := range authors {
		if err := inst.Store.Follow(ctx, reader.Account, a, store.FollowOptions{ShowReblogs: true}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 200; i++ {
		a := authors[i%len(authors)]
		text := fmt.Sprintf("status %d of @%s with #bench", i, a.Username)
		_, err := inst.Store.CreateStatus(ctx, store.NewStatus{BaseURL: inst.URL, Status: store.Status{
			AccountID: a.ID, Local: true, Text: text, Content: "<p>" + text + "</p>", Visibility: store.VisibilityPublic,
			Tags: []string{"bench"}, Mentions: []string{reader.Account.ID},
		}})
		if err != nil {
			b.Fatal(err)
		}
	}
	if es, err := inst.Store.HomeTimeline(ctx, reader.Account.ID, store.Page{Limit: 40}); err != nil || len(es) != 40 {
		b.Fatalf("home timeline holds %d entries (%v)", len(es), err)
	}
	client := benchClient()
	req, err := http.NewRequest(http.MethodGet, inst.API("/api/v1/timelines/home?limit=20"), nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+reader.Token)
	n := 0
	for b.Loop() {
		benchDo(b, client, req)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkPostFanOut1000 posts, over HTTP, statuses of an author with 1,000 local followers,
// each post reaching every follower's home timeline in the same transaction.
func BenchmarkPostFanOut1000(b *testing.B) {
	inst := testrig.StartInstance(b)
	ctx := context.Background()
	author := inst.CreateUser(b, "author")
	followers := benchAccounts(b, inst, "follower", 1000)
	for _, f := range followers {
		if err := inst.Store.Follow(ctx, f, author.Account, store.FollowOptions{ShowReblogs: true}); err != nil {
			b.Fatal(err)
		}
	}
	client := benchClient()
	n := 0
	for b.Loop() {
		body := url.Values{"status": {fmt.Sprintf("post number %d for everyone #fanout", n)}}.Encode()
		req, err := http.NewRequest(http.MethodPost, inst.API("/api/v1/statuses"), strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+author.Token)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		benchDo(b, client, req)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "posts/s")

	latest, err := inst.Store.AccountStatuses(ctx, author.Account.ID, store.Page{Limit: 1})
	if err != nil || len(latest) != 1 {
		b.Fatalf("author's latest status: %v %v", latest, err)
	}
	reached := 0
	for _, f := range followers {
		es, err := inst.Store.HomeTimeline(ctx, f.ID, store.Page{Limit: 1})
		if err != nil {
			b.Fatal(err)
		}
		if len(es) == 1 && es[0].Member == latest[0].Member {
			reached++
		}
	}
	if reached != len(followers) {
		b.Fatalf("the last post reached %d of %d home timelines", reached, len(followers))
	}
}
