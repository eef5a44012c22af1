package federation_test

import (
	"context"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/testrig"
)

// followRequest waits until target's user has a pending follow request from acct and returns
// the requester as target's instance knows them.
func (d *dept) followRequest(t *testing.T, fromAcct string) *gomastodon.Account {
	t.Helper()
	var found *gomastodon.Account
	testrig.Eventually(t, deadline, d.acct()+" sees a follow request from "+fromAcct, func() bool {
		reqs, err := d.client.GetFollowRequests(context.Background(), nil)
		if err != nil {
			return false
		}
		for _, a := range reqs {
			if a.Acct == fromAcct {
				found = a
				return true
			}
		}
		return false
	})
	return found
}

// followersCount reads an account's followers_count on d's instance.
func (d *dept) followersCount(t *testing.T, id gomastodon.ID) int64 {
	t.Helper()
	a, err := d.client.GetAccount(context.Background(), id)
	if err != nil {
		t.Fatalf("account %s: %v", id, err)
	}
	return a.FollowersCount
}

func TestFederationLockedAccountApproval(t *testing.T) {
	ctx := context.Background()
	eng := newDept(t, "alice")
	dave := eng.addUser(t, "dave")
	sales := newDept(t, "carol", locked)

	cases := []struct {
		name      string
		follower  *dept
		authorize bool
		// wantFollowers counts carol's followers afterwards, on her own instance.
		wantFollowers int64
	}{
		{"authorized", eng, true, 1},
		{"rejected", dave, false, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			carol := c.follower.resolve(t, sales.acct())
			if !carol.Locked {
				t.Fatalf("remote %s locked = false, want true", sales.acct())
			}
			rel, err := c.follower.client.AccountFollow(ctx, carol.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !rel.Requested || rel.Following {
				t.Fatalf("after follow: requested %v following %v, want requested only", rel.Requested, rel.Following)
			}
			requester := sales.followRequest(t, c.follower.acct())
			sales.waitNotification(t, "follow_request", c.follower.acct())
			if c.authorize {
				err = sales.client.FollowRequestAuthorize(ctx, requester.ID)
			} else {
				err = sales.client.FollowRequestReject(ctx, requester.ID)
			}
			if err != nil {
				t.Fatal(err)
			}
			testrig.Eventually(t, deadline, "relationship settles on the follower's instance", func() bool {
				r := c.follower.relationship(t, carol.ID)
				return !r.Requested && r.Following == c.authorize
			})
			if got := sales.followersCount(t, sales.id()); got != c.wantFollowers {
				t.Fatalf("carol's followers_count = %d, want %d", got, c.wantFollowers)
			}
		})
	}

	// Only the approved follower receives carol's followers-only posts.
	post := sales.post(t, &gomastodon.Toot{Status: "Locked-room minutes for followers", Visibility: "private"})
	eng.waitHome(t, "carol's private post reaches alice", contains("Locked-room minutes"))
	quiesce(t, eng.inst, sales.inst)
	dave.homeHasNo(t, "carol's private post", contains("Locked-room minutes"))
	if st := dave.findStatus(t, post.URI); st != nil {
		t.Fatalf("rejected follower can see %s", post.URI)
	}
}

func TestFederationUnfollowStopsDelivery(t *testing.T) {
	ctx := context.Background()
	eng, sales := newDept(t, "alice"), newDept(t, "bob")
	bob := eng.follow(t, sales)
	self := sales.id()
	testrig.Eventually(t, deadline, "bob has one follower", func() bool { return sales.followersCount(t, self) == 1 })
	sales.post(t, &gomastodon.Toot{Status: "Before the unfollow", Visibility: "public"})
	eng.waitHome(t, "post before unfollowing arrives", contains("Before the unfollow"))

	rel, err := eng.client.AccountUnfollow(ctx, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rel.Following {
		t.Fatal("following after unfollow")
	}
	testrig.Eventually(t, deadline, "bob's followers_count drops to 0", func() bool { return sales.followersCount(t, self) == 0 })
	sales.post(t, &gomastodon.Toot{Status: "After the unfollow", Visibility: "public"})
	quiesce(t, eng.inst, sales.inst)
	eng.homeHasNo(t, "the post after the unfollow", contains("After the unfollow"))
	eng.homeHasNo(t, "the post before the unfollow", contains("Before the unfollow")) // unfollowing takes the account out of the home timeline
}

func TestFederationBlockAcrossInstances(t *testing.T) {
	ctx := context.Background()
	eng, sales := newDept(t, "alice"), newDept(t, "bob")
	bob := eng.follow(t, sales)
	alice := sales.resolve(t, eng.acct())
	self := sales.id()
	testrig.Eventually(t, deadline, "bob has one follower", func() bool { return sales.followersCount(t, self) == 1 })

	if _, err := sales.client.AccountBlock(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	// The blocker's side drops the follower at once; the Block tells the other side, which
	// ends the follow there and reports blocked_by.
	if got := sales.followersCount(t, self); got != 0 {
		t.Fatalf("bob's followers_count after blocking = %d, want 0", got)
	}
	testrig.Eventually(t, deadline, "alice's instance learns of the block", func() bool {
		r := eng.relationship(t, bob.ID)
		return r.BlockedBy && !r.Following
	})
	sales.post(t, &gomastodon.Toot{Status: "Posted after blocking alice", Visibility: "public"})
	quiesce(t, eng.inst, sales.inst)
	eng.homeHasNo(t, "the post after the block", contains("Posted after blocking alice"))
}

func TestFederationProfileUpdate(t *testing.T) {
	ctx := context.Background()
	eng, sales := newDept(t, "alice"), newDept(t, "bob")
	bob := eng.follow(t, sales)
	name := "Bob from Sales (Q3 lead)"
	if _, err := sales.client.AccountUpdate(ctx, &gomastodon.Profile{DisplayName: &name}); err != nil {
		t.Fatal(err)
	}
	testrig.Eventually(t, deadline, "display name reaches the follower's instance", func() bool {
		a, err := eng.client.GetAccount(ctx, bob.ID)
		return err == nil && a.DisplayName == name
	})
}

func TestFederationAudience(t *testing.T) {
	eng, sales := newDept(t, "alice"), newDept(t, "bob")
	dave := eng.addUser(t, "dave")
	erin := eng.addUser(t, "erin") // follows nobody
	eng.follow(t, sales)
	dave.follow(t, sales)
	sales.resolve(t, eng.acct()) // bob's instance must know alice to address her

	cases := []struct {
		name, text, visibility string
		see, miss              []*dept
	}{
		{"direct message reaches only the mentioned user", "@" + eng.acct() + " quiet word about the offsite", "direct", []*dept{eng}, []*dept{dave, erin}},
		{"followers-only post reaches followers only", "Pipeline numbers for followers", "private", []*dept{eng, dave}, []*dept{erin}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			post := sales.post(t, &gomastodon.Toot{Status: c.text, Visibility: c.visibility})
			for _, d := range c.see {
				got := d.waitHome(t, c.name+": "+d.acct(), withURI(post.URI))
				if got.Visibility != c.visibility {
					t.Fatalf("%s sees visibility %q, want %q", d.acct(), got.Visibility, c.visibility)
				}
			}
			if c.visibility == "direct" {
				eng.waitNotification(t, "mention", sales.acct())
			}
			quiesce(t, eng.inst, sales.inst)
			for _, d := range c.miss {
				d.homeHasNo(t, "the "+c.visibility+" post", withURI(post.URI))
				if st := d.findStatus(t, post.URI); st != nil {
					t.Fatalf("%s can see %s status %s", d.acct(), c.visibility, post.URI)
				}
				for _, uri := range d.mentionsOf(t) {
					if uri == post.URI {
						t.Fatalf("%s was notified of %s", d.acct(), post.URI)
					}
				}
			}
		})
	}
}

func TestFederationHashtagTimeline(t *testing.T) {
	ctx := context.Background()
	eng, sales := newDept(t, "alice"), newDept(t, "bob")
	eng.follow(t, sales)
	post := sales.post(t, &gomastodon.Toot{Status: "Forecast is out #QuarterlyForecast", Visibility: "public"})
	testrig.Eventually(t, deadline, "federated post in the receiving side's hashtag timeline", func() bool {
		sts, err := eng.client.GetTimelineHashtag(ctx, "quarterlyforecast", false, nil)
		if err != nil {
			return false
		}
		for _, s := range sts {
			if s.URI == post.URI {
				return true
			}
		}
		return false
	})
}

func TestFederationBoostOfThirdInstancePost(t *testing.T) {
	ctx := context.Background()
	a, b, c := newDept(t, "alice"), newDept(t, "bob"), newDept(t, "carol")
	a.follow(t, c)
	original := b.post(t, &gomastodon.Toot{Status: "Launch checklist v2", Visibility: "public"})

	// carol finds bob's post by its URL (carol's instance fetches it) and boosts it.
	res, err := c.client.Search(ctx, original.URI, true)
	if err != nil || len(res.Statuses) != 1 {
		t.Fatalf("carol resolves %s: %d statuses, %v", original.URI, len(res.Statuses), err)
	}
	if _, err := c.client.Reblog(ctx, res.Statuses[0].ID); err != nil {
		t.Fatal(err)
	}

	boost := a.waitHome(t, "carol's boost in alice's home", func(s *gomastodon.Status) bool { return s.Reblog != nil })
	if boost.Account.Acct != c.acct() {
		t.Fatalf("boost by %q, want %q", boost.Account.Acct, c.acct())
	}
	if boost.Reblog.URI != original.URI || boost.Reblog.Account.Acct != b.acct() || !contains("Launch checklist v2")(boost.Reblog) {
		t.Fatalf("reblog = %s by %s %q, want %s by %s", boost.Reblog.URI, boost.Reblog.Account.Acct, boost.Reblog.Content, original.URI, b.acct())
	}
	b.waitNotification(t, "reblog", c.acct())
	testrig.Eventually(t, deadline, "reblogs_count on the author's instance", func() bool {
		st, err := b.client.GetStatus(ctx, original.ID)
		return err == nil && st.ReblogsCount == 1
	})
}

func TestFederationReplyFetchesMissingAncestor(t *testing.T) {
	ctx := context.Background()
	a, b, c := newDept(t, "alice"), newDept(t, "bob"), newDept(t, "carol")
	a.follow(t, c)
	root := b.post(t, &gomastodon.Toot{Status: "Who owns the build cache?", Visibility: "public"})

	res, err := c.client.Search(ctx, root.URI, true)
	if err != nil || len(res.Statuses) != 1 {
		t.Fatalf("carol resolves %s: %d statuses, %v", root.URI, len(res.Statuses), err)
	}
	middle := c.post(t, &gomastodon.Toot{Status: "@" + b.acct() + " platform team does", InReplyToID: res.Statuses[0].ID, Visibility: "public"})

	// alice's instance receives carol's reply (alice follows carol) but has never seen bob's
	// post; it fetches the ancestor from bob's instance.
	var middleOnA *gomastodon.Status
	testrig.Eventually(t, deadline, "carol's reply on alice's instance", func() bool {
		middleOnA = a.findStatus(t, middle.URI)
		return middleOnA != nil
	})
	reply := a.post(t, &gomastodon.Toot{Status: "@" + c.acct() + " thanks, filing a ticket", InReplyToID: middleOnA.ID, Visibility: "public"})
	thread, err := a.client.GetStatusContext(ctx, reply.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range thread.Ancestors {
		got = append(got, s.URI)
	}
	if len(got) != 2 || got[0] != root.URI || got[1] != middle.URI {
		t.Fatalf("ancestors on alice's instance = %v, want [%s %s]", got, root.URI, middle.URI)
	}
	if thread.Ancestors[0].Account.Acct != b.acct() {
		t.Fatalf("root author = %q, want %q", thread.Ancestors[0].Account.Acct, b.acct())
	}
	// carol is told of the reply; bob's post gains a reply count on his own instance only
	// through carol's reply.
	c.waitNotification(t, "mention", a.acct())
}
