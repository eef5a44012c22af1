package federation_test

import (
	"context"
	"strings"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/testrig"
)

// deadline bounds every cross-instance wait; deliveries on loopback take milliseconds.
const deadline = 10 * time.Second

// dept is one instance with one signed-in user and a Mastodon client for them.
type dept struct {
	inst   *testrig.Instance
	user   *testrig.User
	client *gomastodon.Client
}

func newDept(t *testing.T, username string) *dept {
	inst := testrig.StartInstance(t)
	user := inst.CreateUser(t, username)
	return &dept{inst: inst, user: user, client: gomastodon.NewClient(&gomastodon.Config{Server: inst.URL, AccessToken: user.Token})}
}

// acct is how people on other instances address d's user.
func (d *dept) acct() string { return d.user.Account.Username + "@" + d.inst.Config.Domain() }

// resolve finds another department's user through search with resolve=true (WebFinger).
func (d *dept) resolve(t *testing.T, acct string) *gomastodon.Account {
	t.Helper()
	res, err := d.client.Search(context.Background(), acct, true)
	if err != nil {
		t.Fatalf("search %s: %v", acct, err)
	}
	if len(res.Accounts) != 1 {
		t.Fatalf("search %s found %d accounts, want 1", acct, len(res.Accounts))
	}
	return res.Accounts[0]
}

// follow makes d's user follow other's user across instances and waits for the Accept.
func (d *dept) follow(t *testing.T, other *dept) *gomastodon.Account {
	t.Helper()
	ctx := context.Background()
	remote := d.resolve(t, other.acct())
	if _, err := d.client.AccountFollow(ctx, remote.ID); err != nil {
		t.Fatalf("follow %s: %v", other.acct(), err)
	}
	testrig.Eventually(t, deadline, d.acct()+" follows "+other.acct(), func() bool {
		rels, err := d.client.GetAccountRelationships(ctx, []string{string(remote.ID)})
		return err == nil && len(rels) == 1 && rels[0].Following
	})
	return remote
}

// homeHas polls d's home timeline for a status whose content contains text.
func (d *dept) waitHome(t *testing.T, what string, match func(*gomastodon.Status) bool) *gomastodon.Status {
	t.Helper()
	var found *gomastodon.Status
	testrig.Eventually(t, deadline, what, func() bool {
		sts, err := d.client.GetTimelineHome(context.Background(), nil)
		if err != nil {
			return false
		}
		for _, s := range sts {
			if match(s) {
				found = s
				return true
			}
		}
		return false
	})
	return found
}

func contains(text string) func(*gomastodon.Status) bool {
	return func(s *gomastodon.Status) bool { return strings.Contains(s.Content, text) }
}

// waitNotification polls d's notifications for one of the given type from acct.
func (d *dept) waitNotification(t *testing.T, typ, fromAcct string) *gomastodon.Notification {
	t.Helper()
	var found *gomastodon.Notification
	testrig.Eventually(t, deadline, d.acct()+" notified of "+typ+" by "+fromAcct, func() bool {
		ns, err := d.client.GetNotifications(context.Background(), nil)
		if err != nil {
			return false
		}
		for _, n := range ns {
			if n.Type == typ && n.Account.Acct == fromAcct {
				found = n
				return true
			}
		}
		return false
	})
	return found
}

func TestFederationFollowPostReplyBoostFavourite(t *testing.T) {
	ctx := context.Background()
	eng, sales := newDept(t, "alice"), newDept(t, "bob")

	bobOnEng := eng.follow(t, sales)
	if bobOnEng.Acct != sales.acct() {
		t.Fatalf("remote acct = %q, want %q", bobOnEng.Acct, sales.acct())
	}
	sales.waitNotification(t, "follow", eng.acct())

	post, err := sales.client.PostStatus(ctx, &gomastodon.Toot{Status: "Pipeline review notes are up #sales", Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	seen := eng.waitHome(t, "bob's post in alice's home", contains("Pipeline review notes"))
	if seen.Account.Acct != sales.acct() || len(seen.Tags) != 1 || seen.Tags[0].Name != "sales" {
		t.Fatalf("federated status = account %q tags %+v, want %s with #sales", seen.Account.Acct, seen.Tags, sales.acct())
	}

	// Reply with a mention: bob is notified on his own instance and sees the reply in context.
	reply, err := eng.client.PostStatus(ctx, &gomastodon.Toot{Status: "@" + sales.acct() + " thanks, very useful", InReplyToID: seen.ID, Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	if len(reply.Mentions) != 1 {
		t.Fatalf("reply mentions = %+v, want bob", reply.Mentions)
	}
	n := sales.waitNotification(t, "mention", eng.acct())
	if n.Status == nil || n.Status.InReplyToID != string(post.ID) {
		t.Fatalf("mention notification status = %+v, want a reply to %s", n.Status, post.ID)
	}

	// Boost and favourite travel back to the author.
	if _, err := eng.client.Reblog(ctx, seen.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.client.Favourite(ctx, seen.ID); err != nil {
		t.Fatal(err)
	}
	sales.waitNotification(t, "reblog", eng.acct())
	sales.waitNotification(t, "favourite", eng.acct())
	testrig.Eventually(t, deadline, "counts on the author's instance", func() bool {
		st, err := sales.client.GetStatus(ctx, post.ID)
		return err == nil && st.ReblogsCount == 1 && st.FavouritesCount == 1 && st.RepliesCount == 1
	})

	// An edit reaches the follower; a delete removes the status there.
	if _, err := sales.client.UpdateStatus(ctx, &gomastodon.Toot{Status: "Pipeline review notes are up, now with Q3 #sales"}, post.ID); err != nil {
		t.Fatal(err)
	}
	eng.waitHome(t, "edit reaches alice", contains("now with Q3"))
	if err := sales.client.DeleteStatus(ctx, post.ID); err != nil {
		t.Fatal(err)
	}
	testrig.Eventually(t, deadline, "deleted status gone from alice's instance", func() bool {
		_, err := eng.client.GetStatus(ctx, seen.ID)
		return err != nil
	})
}
