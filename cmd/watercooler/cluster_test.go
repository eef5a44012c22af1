package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/config"
)

// TestServeOnRedisCluster runs one department as two serve processes on a real Redis Cluster
// (REDIS_URL=redis+cluster://...; scripts/test starts three masters): sign-in tokens, a follow,
// a post and its fan-out (MULTI and Lua), the streams and consumer groups of the workers, and
// pub/sub for streaming between the processes all work through the cluster client.
func TestServeOnRedisCluster(t *testing.T) {
	clusterURL := config.TestRedisClusterURL()
	if clusterURL == "" {
		t.Skip("WATERCOOLER_TEST_REDIS_CLUSTER is not set (scripts/test sets it)")
	}
	bin := buildWatercooler(t)
	ctx := context.Background()
	prefix := "cluster" + strconv.FormatInt(time.Now().UnixNano(), 36)
	first := newDeptProcess(t, bin, prefix, "127.0.0.1")
	first.env = append(first.env, "REDIS_URL="+clusterURL) // the last value of a name wins
	second := first.sibling(t)
	first.start(t)
	second.start(t)

	alice := first.client(t, "alice")
	bob := first.client(t, "bob")
	bobOnSecond := gomastodon.NewClient(&gomastodon.Config{Server: second.url, AccessToken: bob.Config.AccessToken})
	aliceAccount, err := alice.GetAccountCurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bobOnSecond.AccountFollow(ctx, aliceAccount.ID); err != nil {
		t.Fatal(err)
	}
	// The server subscribes before it answers with the stream's headers, so once Do returns the
	// stream receives whatever is posted next.
	req, _ := http.NewRequest(http.MethodGet, second.url+"/api/v1/streaming/user", nil)
	req.Header.Set("Authorization", "Bearer "+bob.Config.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("bob's event stream on the second process: %v %v", resp, err)
	}
	defer resp.Body.Close()
	updates := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		event := ""
		for sc.Scan() {
			switch line := sc.Text(); {
			case strings.HasPrefix(line, "event: "):
				event = line[len("event: "):]
			case strings.HasPrefix(line, "data: ") && event == "update":
				var st struct {
					ID string `json:"id"`
				}
				if json.Unmarshal([]byte(line[len("data: "):]), &st) == nil {
					updates <- st.ID
				}
			}
		}
	}()

	posted, err := alice.PostStatus(ctx, &gomastodon.Toot{Status: "hello from a cluster", Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	home, err := bobOnSecond.GetTimelineHome(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(home) == 0 || home[0].ID != posted.ID {
		t.Fatalf("bob's home through the second process starts with %v, want the post %s", statusIDsOf(home), posted.ID)
	}
	deadline := time.After(time.Minute) // a hang bound: the event is published before the post is answered
	for {
		select {
		case id := <-updates:
			if id == string(posted.ID) {
				if !strings.Contains(first.log.String(), "serving without the process-local read cache") {
					t.Error("the process does not say that its read cache is off on a cluster")
				}
				return
			}
		case <-deadline:
			t.Fatal("the post never reached bob's stream on the second process")
		}
	}
}

func statusIDsOf(sts []*gomastodon.Status) []string {
	ids := make([]string, len(sts))
	for i, s := range sts {
		ids[i] = string(s.ID)
	}
	return ids
}
