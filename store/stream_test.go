package store_test

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"watercooler/store"
	"watercooler/testrig"
)

// streamSpy records every stream message of one instance's key prefix.
type streamSpy struct {
	t         *testing.T
	ps        *redis.PubSub
	rdb       redis.UniversalClient
	prefix    string
	publishes map[string]bool // publication ids seen since the last collect
}

func newStreamSpy(t *testing.T, rdb redis.UniversalClient, prefix string) *streamSpy {
	t.Helper()
	if _, single := rdb.(*redis.Client); !single {
		// What is published does not depend on the Redis; TestStreamSubscriberCountsListeners
		// covers the sharded pub/sub of a cluster.
		t.Skip("the spy subscribes to a pattern, which sharded pub/sub (a cluster's) has not")
	}
	ps := rdb.PSubscribe(context.Background(), "{"+prefix+"}:stream:*")
	t.Cleanup(func() { ps.Close() })
	if _, err := ps.ReceiveTimeout(context.Background(), 5*time.Second); err != nil { // the confirmation
		t.Fatalf("psubscribe: %v", err)
	}
	return &streamSpy{t: t, ps: ps, rdb: rdb, prefix: prefix, publishes: map[string]bool{}}
}

// channel shortens a channel name to what follows "{prefix}:stream:".
func (s *streamSpy) channel(full string) string {
	return full[len("{"+s.prefix+"}:stream:"):]
}

// collect returns, sorted, the "channel payload" messages published since the last call: it
// publishes a sentinel and reads up to it, so it needs no waiting for silence.
func (s *streamSpy) collect() []string {
	s.t.Helper()
	clear(s.publishes)
	sentinel := "{" + s.prefix + "}:stream:sentinel"
	if err := s.rdb.Publish(context.Background(), sentinel, "end").Err(); err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for {
		msg, err := s.ps.ReceiveTimeout(context.Background(), 5*time.Second)
		if err != nil {
			s.t.Fatalf("receive: %v (so far %v)", err, out)
		}
		m, ok := msg.(*redis.Message)
		if !ok {
			continue
		}
		if m.Channel == sentinel {
			sort.Strings(out)
			return out
		}
		// The publication id differs per publish; the tests look at it separately.
		ev := store.ParseStreamEvent(m.Payload)
		if ev.Publish != "" {
			s.publishes[ev.Publish] = true
		}
		ev.Publish = ""
		out = append(out, s.channel(m.Channel)+" "+strings.TrimSpace(ev.Event+" "+ev.ID))
	}
}

func sorted(xs ...string) []string {
	sort.Strings(xs)
	return xs
}

func TestStreamEventsOfAStatusLifecycle(t *testing.T) {
	st, rdb, prefix := rawStore(t)
	ctx := context.Background()
	author := localAccount(t, st, "author")
	follower := localAccount(t, st, "follower")
	listOwner := localAccount(t, st, "listowner")
	for _, a := range []*store.Account{follower, listOwner} {
		followAccount(t, st, a, author)
	}
	list := &store.List{AccountID: listOwner.ID, Title: "people"}
	if err := st.CreateList(ctx, list); err != nil {
		t.Fatal(err)
	}
	if err := st.AddListAccounts(ctx, list, []string{author.ID}); err != nil {
		t.Fatal(err)
	}
	spy := newStreamSpy(t, rdb, prefix)

	post := postStatus(t, st, author, store.Status{Text: "#Go news", Tags: []string{"go"}, MediaIDs: []string{"m1"}})
	up := "update " + post.ID
	want := sorted(
		"home:"+author.ID+" "+up, "home:"+follower.ID+" "+up, "home:"+listOwner.ID+" "+up, "list:"+list.ID+" "+up,
		"public:local "+up, "public:local:media "+up, "tag:go "+up,
	)
	if got := spy.collect(); !slices.Equal(got, want) {
		t.Fatalf("create published\n%q\nwant\n%q", got, want)
	}
	if len(spy.publishes) != 1 {
		t.Fatalf("the copies of one publication carry %d publication ids, want 1", len(spy.publishes))
	}
	created := slices.Collect(maps.Keys(spy.publishes))

	edited := *post
	edited.Content, edited.EditedAt = "<p>#Go news, edited</p>", time.Now()
	if err := st.EditStatus(ctx, &edited, post); err != nil {
		t.Fatal(err)
	}
	su := "status.update " + post.ID
	want = sorted(
		"home:"+author.ID+" "+su, "home:"+follower.ID+" "+su, "home:"+listOwner.ID+" "+su, "list:"+list.ID+" "+su,
		"public:local "+su, "public:local:media "+su, "tag:go "+su,
	)
	if got := spy.collect(); !slices.Equal(got, want) {
		t.Fatalf("edit published\n%q\nwant\n%q", got, want)
	}
	for _, id := range created {
		if len(spy.publishes) != 1 || spy.publishes[id] {
			t.Fatalf("the edit's publication ids %v should be one, new one (the creation's was %s)", spy.publishes, id)
		}
	}

	if err := st.DeleteStatus(ctx, &edited); err != nil {
		t.Fatal(err)
	}
	del := "delete " + post.ID
	want = sorted(
		"home:"+author.ID+" "+del, "home:"+follower.ID+" "+del, "home:"+listOwner.ID+" "+del, "list:"+list.ID+" "+del,
		"public:local "+del, "public:local:media "+del, "tag:go "+del,
	)
	if got := spy.collect(); !slices.Equal(got, want) {
		t.Fatalf("delete published\n%q\nwant\n%q", got, want)
	}
}

func TestStreamEventsRespectVisibility(t *testing.T) {
	st, rdb, prefix := rawStore(t)
	ctx := context.Background()
	author := localAccount(t, st, "author")
	follower := localAccount(t, st, "follower")
	friend := localAccount(t, st, "friend")
	if err := st.Follow(ctx, follower, author, store.FollowOptions{}); err != nil {
		t.Fatal(err)
	}
	spy := newStreamSpy(t, rdb, prefix)

	private := postStatus(t, st, author, store.Status{Text: "#secret", Tags: []string{"secret"}, Visibility: store.VisibilityPrivate})
	up := "update " + private.ID
	if got, want := spy.collect(), sorted("home:"+author.ID+" "+up, "home:"+follower.ID+" "+up); !slices.Equal(got, want) {
		t.Fatalf("private status published\n%q\nwant\n%q", got, want)
	}

	direct := postStatus(t, st, author, store.Status{Text: "@friend hi", Visibility: store.VisibilityDirect, Mentions: []string{friend.ID}})
	up = "update " + direct.ID
	got := spy.collect()
	var notification string
	for _, m := range got {
		if strings.HasPrefix(m, "home:"+friend.ID+" notification ") {
			notification = m
		}
	}
	if notification == "" {
		t.Fatalf("no mention notification for the friend in %q", got)
	}
	want := sorted("home:"+author.ID+" "+up, "home:"+friend.ID+" "+up, "direct:"+author.ID+" "+up, "direct:"+friend.ID+" "+up, notification)
	if !slices.Equal(got, want) {
		t.Fatalf("direct status published\n%q\nwant\n%q", got, want)
	}

	// The follower never saw the direct status, so its deletion is not announced to them.
	if err := st.DeleteStatus(ctx, direct); err != nil {
		t.Fatal(err)
	}
	del := "delete " + direct.ID
	if got, want := spy.collect(), sorted("home:"+author.ID+" "+del, "home:"+friend.ID+" "+del, "direct:"+author.ID+" "+del, "direct:"+friend.ID+" "+del); !slices.Equal(got, want) {
		t.Fatalf("direct deletion published\n%q\nwant\n%q", got, want)
	}

	// A reply to someone else stays off the public streams but reaches its hashtag.
	reply := postStatus(t, st, author, store.Status{Text: "#go @friend", Tags: []string{"go"}, InReplyToID: private.ID, InReplyToAccountID: friend.ID, Mentions: []string{friend.ID}})
	for _, m := range spy.collect() {
		if m == "public:local update "+reply.ID {
			t.Fatalf("a reply to someone else reached the public stream")
		}
	}
}

func TestStreamEventsOfABoost(t *testing.T) {
	st, rdb, prefix := rawStore(t)
	ctx := context.Background()
	author := localAccount(t, st, "author")
	booster := localAccount(t, st, "booster")
	follower := localAccount(t, st, "follower")
	followAccount(t, st, follower, booster)
	post := postStatus(t, st, author, store.Status{Text: "#news", Tags: []string{"news"}})
	spy := newStreamSpy(t, rdb, prefix)

	boost, err := st.Reblog(ctx, booster, post, store.VisibilityPublic, testBaseURL, true)
	if err != nil {
		t.Fatal(err)
	}
	got := spy.collect()
	up := "update " + boost.ID
	var notification string
	for _, m := range got {
		if strings.HasPrefix(m, "home:"+author.ID+" notification ") {
			notification = m
		}
	}
	// A boost reaches the homes of the booster's followers, never the public or hashtag streams.
	if want := sorted("home:"+booster.ID+" "+up, "home:"+follower.ID+" "+up, notification); notification == "" || !slices.Equal(got, want) {
		t.Fatalf("boost published\n%q\nwant\n%q", got, want)
	}
}

func TestStreamEventsOfNotificationsFiltersAndRevocation(t *testing.T) {
	st, rdb, prefix := rawStore(t)
	ctx := context.Background()
	author := localAccount(t, st, "author")
	fan := localAccount(t, st, "fan")
	post := postStatus(t, st, author, store.Status{Text: "like me", Visibility: store.VisibilityUnlisted})
	spy := newStreamSpy(t, rdb, prefix)

	if err := st.Favourite(ctx, fan.ID, post, true); err != nil {
		t.Fatal(err)
	}
	got := spy.collect()
	if len(got) != 1 || !strings.HasPrefix(got[0], "home:"+author.ID+" ") {
		t.Fatalf("favourite published %q, want one notification on the author's home", got)
	}
	ev := store.ParseStreamEvent(strings.TrimPrefix(got[0], "home:"+author.ID+" "))
	n, err := st.Notification(ctx, author.ID, ev.ID)
	if ev.Event != store.EventNotification || err != nil || n.Type != store.NotifyFavourite {
		t.Fatalf("favourite event %+v names notification %+v (%v)", ev, n, err)
	}

	f := &store.Filter{Title: "spoilers", Context: []string{"home"}, FilterAction: "warn", Keywords: []store.FilterKeyword{{Keyword: "finale"}}}
	if err := st.SaveFilter(ctx, fan.ID, f); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateFilter(ctx, fan.ID, f.ID, func(f *store.Filter) error { f.Title = "no spoilers"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteFilter(ctx, fan.ID, f.ID); err != nil {
		t.Fatal(err)
	}
	fc := "home:" + fan.ID + " filters_changed"
	if got, want := spy.collect(), []string{fc, fc, fc}; !slices.Equal(got, want) {
		t.Fatalf("filter changes published %q, want %q", got, want)
	}

	value, tok, err := st.CreateToken(ctx, "", fan.ID, []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeToken(ctx, value); err != nil {
		t.Fatal(err)
	}
	if got, want := spy.collect(), []string{"token:" + tok.Hash + " revoked"}; !slices.Equal(got, want) {
		t.Fatalf("revocation published %q, want %q", got, want)
	}
	_, tok2, err := st.CreateToken(ctx, "", fan.ID, []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeAccountTokens(ctx, fan.ID); err != nil {
		t.Fatal(err)
	}
	if got, want := spy.collect(), []string{"token:" + tok2.Hash + " revoked"}; !slices.Equal(got, want) {
		t.Fatalf("account revocation published %q, want %q", got, want)
	}
	if active, err := st.TokenActive(ctx, tok2); err != nil || active {
		t.Fatalf("revoked token active = %v, %v", active, err)
	}
}

func TestStreamSubscriberCountsListeners(t *testing.T) {
	st, rdb, _ := rawStore(t)
	ctx := context.Background()
	got := make(chan string, 16)
	sub := st.SubscribeStreams(func(channel string, ev store.StreamEvent) { got <- ev.Event + " " + ev.ID }, func(err error) { t.Logf("subscription: %v", err) })
	t.Cleanup(func() { sub.Close() })
	home := st.HomeStream("42")
	publish := func(message string) { // as the store publishes: sharded on a cluster
		if _, single := rdb.(*redis.Client); single {
			rdb.Publish(ctx, home, message)
		} else {
			rdb.SPublish(ctx, home, message)
		}
	}
	numsub := func() int64 {
		n, err := testrig.Subscribers(ctx, rdb, home)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Subscribe returns once Redis confirmed, so a publish right after is delivered.
	for i := 0; i < 2; i++ {
		if err := sub.Subscribe(ctx, home); err != nil {
			t.Fatal(err)
		}
	}
	if n := numsub(); n != 1 {
		t.Fatalf("two listeners made %d Redis subscriptions, want 1", n)
	}
	publish("update 1")
	sub.Unsubscribe(home)
	publish("update 2")
	for _, want := range []string{"update 1", "update 2"} {
		select {
		case m := <-got:
			if m != want {
				t.Fatalf("got %q, want %q", m, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%q never delivered", want)
		}
	}
	sub.Unsubscribe(home)
	testrig.Eventually(t, 5*time.Second, "the last listener ends the Redis subscription", func() bool { return numsub() == 0 })

	// Resubscribing after the channel was dropped works again.
	if err := sub.Subscribe(ctx, home); err != nil {
		t.Fatal(err)
	}
	publish("delete 3")
	select {
	case m := <-got:
		if m != "delete 3" {
			t.Fatalf("got %q after resubscribing", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing delivered after resubscribing")
	}

	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sub.Subscribe(ctx, home); err != store.ErrStreamClosed {
		t.Fatalf("subscribe after close: %v, want ErrStreamClosed", err)
	}
}

func TestStreamSubscriberReconnects(t *testing.T) {
	ctx := context.Background()
	base := testrig.SingleRedis(t) // kills its connection by CLIENT KILL on one server
	name := "streamtest" + strings.ToLower(store.RandomToken(6))
	opts := *base.Options()
	opts.ClientName = name
	rdb := redis.NewClient(&opts)
	t.Cleanup(func() { rdb.Close() })
	st := store.New(rdb, testrig.Prefix(t, base), testDomain)
	got := make(chan string, 64)
	sub := st.SubscribeStreams(func(_ string, ev store.StreamEvent) { got <- ev.ID }, func(err error) { t.Logf("subscription: %v", err) })
	t.Cleanup(func() { sub.Close() })
	home := st.HomeStream("7")
	if err := sub.Subscribe(ctx, home); err != nil {
		t.Fatal(err)
	}

	// Kill the subscription's connection (found by its client name), as a Redis restart or a
	// network failure would.
	clients, err := base.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(clients, "\n") {
		if strings.Contains(line, " name="+name+" ") && strings.Contains(line, " sub=1 ") {
			id := strings.Fields(line)[0] // id=N
			if err := base.Do(ctx, "CLIENT", "KILL", "ID", strings.TrimPrefix(id, "id=")).Err(); err != nil {
				t.Fatal(err)
			}
			killed++
		}
	}
	if killed != 1 {
		t.Fatalf("found %d subscription connections named %s, want 1", killed, name)
	}
	n := 0
	testrig.Eventually(t, 10*time.Second, "delivery after the connection was killed", func() bool {
		n++
		base.Publish(ctx, home, "update "+strconv.Itoa(n))
		select {
		case <-got:
			return true
		case <-time.After(50 * time.Millisecond):
			return false
		}
	})
}

func TestParseStreamEvent(t *testing.T) {
	for payload, want := range map[string]store.StreamEvent{
		"update 123":      {Event: "update", ID: "123"},
		"filters_changed": {Event: "filters_changed"},
		"revoked":         {Event: "revoked"},
	} {
		if got := store.ParseStreamEvent(payload); got != want {
			t.Errorf("ParseStreamEvent(%q) = %+v, want %+v", payload, got, want)
		}
	}
}
