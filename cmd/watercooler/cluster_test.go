package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/config"
	"watercooler/testrig"
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
	// The server subscribes before it answers with the stream's headers, so once the stream is
	// open it receives whatever is posted next.
	stream := openTestStream(t, second.url, bob.Config.AccessToken, false)
	// The second process caches bob's empty home; the post, written through the first, reaches
	// it on whichever master holds bob's home, whose tracking tells the second.
	if home, err := bobOnSecond.GetTimelineHome(ctx, nil); err != nil || len(home) != 0 {
		t.Fatalf("bob's home before the post: %v (%v), want it empty", statusIDsOf(home), err)
	}

	posted, err := alice.PostStatus(ctx, &gomastodon.Toot{Status: "hello from a cluster", Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	// A hang bound: the invalidation is sent before the post is answered, and read off the
	// second process's tracking connection at once.
	testrig.Eventually(t, time.Minute, "bob's home through the second process shows the post", func() bool {
		home, err := bobOnSecond.GetTimelineHome(ctx, nil)
		return err == nil && len(home) > 0 && home[0].ID == posted.ID
	})
	// A hang bound: the event is published before the post is answered.
	testrig.Eventually(t, time.Minute, "the post reaches bob's stream on the second process", func() bool {
		return stream.updates()[string(posted.ID)] > 0
	})
	if strings.Contains(first.log.String(), "serving without the process-local read cache") {
		t.Errorf("the read cache is off on a cluster:\n%s", first.log.String())
	}
}

func statusIDsOf(sts []*gomastodon.Status) []string {
	ids := make([]string, len(sts))
	for i, s := range sts {
		ids[i] = string(s.ID)
	}
	return ids
}
