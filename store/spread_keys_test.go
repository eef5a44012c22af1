package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"watercooler/store"
	"watercooler/testrig"
)

// TestEnsureSpreadKeys upgrades a department written with the old layouts (timelines,
// notifications, authors' statuses and what others did with a status under the department's
// tag) and checks that they read as before, merged with what was written under the new keys
// meanwhile, that keys which only look alike stay, and that a second run changes nothing.
func TestEnsureSpreadKeys(t *testing.T) {
	ctx := context.Background()
	st, rdb, prefix := rawStore(t)
	reader, author := localAccount(t, st, "reader"), localAccount(t, st, "author")
	visitor := remoteAccount(t, st, "Visitor", "peer.example")
	stamp := visitor.URI + "/quote_authorizations/1"
	scheduledID, scheduledAt := "1839000000000004", time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	oldPost := postStatus(t, st, author, store.Status{Text: "before the upgrade"})
	newPost := postStatus(t, st, author, store.Status{Text: "after the upgrade"}) // reader does not follow: not in any home
	old := "{" + prefix + "}:"
	listID := "1839000000000000"
	notificationID := "1839000000000001"
	raw, err := json.Marshal(store.Notification{ID: notificationID, Type: store.NotifyFavourite, AccountID: reader.ID, FromAccountID: author.ID, StatusID: oldPost.ID, CreatedAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	z := func(id string) redis.Z { // scored by the id, as the store scores timelines
		n, _ := strconv.ParseInt(id, 10, 64)
		return redis.Z{Score: float64(n), Member: id}
	}
	tokenValue, token, err := st.CreateToken(ctx, "", reader.ID, []string{"read"})
	must(t, err)
	must(t, st.SavePushSubscription(ctx, &store.PushSubscription{TokenHash: token.Hash, AccountID: reader.ID, Endpoint: "https://push.example/1"}))
	tokenSlot := "{" + prefix + ":tok:" + token.Hash + "}"
	app := &store.App{Name: "an app of before", RedirectURIs: []string{"urn:ietf:wg:oauth:2.0:oob"}, Scopes: []string{"read"}}
	must(t, st.CreateApp(ctx, app))
	upload := &store.Media{AccountID: reader.ID, Type: "image", URL: "https://eng.example/media/1.png"}
	must(t, st.CreateMedia(ctx, upload))
	for _, err := range []error{
		backToOldKey(ctx, rdb, "{"+prefix+":media:"+upload.ID+"}", old+"media:"+upload.ID),
		rdb.Set(ctx, old+"poll:"+oldPost.ID, `{"id":"`+oldPost.ID+`","account_id":"`+author.ID+`","local":true,"options":["yes","no"]}`, 0).Err(),
		rdb.HSet(ctx, old+"poll:counts:"+oldPost.ID, "0", 3, "1", 1, "voters", 4).Err(),
		rdb.HSet(ctx, old+"poll:voters:"+oldPost.ID, reader.ID, "0").Err(),
		backToOldKey(ctx, rdb, "{"+prefix+":app:"+app.ClientID+"}", old+"oauth:app:"+app.ClientID),
		backToOldKey(ctx, rdb, tokenSlot, old+"oauth:token:"+token.Hash),
		backToOldKey(ctx, rdb, tokenSlot+":push", old+"push:sub:"+token.Hash),
		rdb.Del(ctx, "{"+prefix+":acct:"+reader.ID+"}:tokens").Err(),
		rdb.SAdd(ctx, old+"oauth:tokens:"+reader.ID, token.Hash).Err(),
		rdb.SAdd(ctx, old+"oauth:app_tokens:someclient", token.Hash).Err(), // no longer kept
		// Remote accounts were found through the indexes local ones still are.
		store.DropRemoteAccountIndexes(st, visitor),
		rdb.Del(ctx, old+"domains").Err(), // nor were their domains listed
		rdb.HSet(ctx, old+"idx:account:uri", visitor.URI, visitor.ID).Err(),
		rdb.HSet(ctx, old+"idx:acct", "visitor@peer.example", visitor.ID).Err(),
		rdb.ZAdd(ctx, old+"idx:account:search", redis.Z{Member: "visitor@peer.example\x00" + visitor.ID}).Err(),
		rdb.HSet(ctx, old+"idx:quote_auth", stamp, newPost.ID).Err(), // as if newPost quoted the visitor
		// Scheduled posts and what limits them were in the department's slot.
		rdb.Set(ctx, old+"scheduled:"+scheduledID, `{"id":"`+scheduledID+`","account_id":"`+reader.ID+`","scheduled_at":"`+scheduledAt.Format(time.RFC3339Nano)+`","params":"{}"}`, 0).Err(),
		rdb.ZAdd(ctx, old+"scheduled:account:"+reader.ID, z(scheduledID)).Err(),
		rdb.ZAdd(ctx, old+"scheduled:times:"+reader.ID, redis.Z{Score: float64(scheduledAt.UnixMilli()), Member: scheduledID}).Err(),
		rdb.ZAdd(ctx, old+"scheduled:due", redis.Z{Score: float64(scheduledAt.UnixMilli()), Member: scheduledID}).Err(),
		rdb.HSet(ctx, old+"featured_tags:"+reader.ID, "1839000000000005", `{"id":"1839000000000005","name":"golang","created_at":"2026-12-01T00:00:00Z"}`).Err(),
		rdb.SAdd(ctx, old+"community:removed:"+author.ID, oldPost.ID).Err(), // as if the author were a group
		// What federation keeps for days kept its time to live in the department's slot.
		rdb.Set(ctx, old+"payload:"+newPost.URI+"/activity", `{"type":"Create"}`, time.Hour).Err(),
		rdb.Set(ctx, old+"tombstone:"+visitor.URI+"/statuses/1", "1", time.Hour).Err(),
		rdb.HSet(ctx, old+"follow_activity", reader.ID+"/"+author.ID, "https://eng.example/follows/1").Err(),
		rdb.HSet(ctx, old+"follow_activity:by_id", "https://eng.example/follows/1", reader.ID+"/"+author.ID).Err(),
		rdb.ZAdd(ctx, old+"tl:home:"+reader.ID, z(oldPost.ID)).Err(),
		rdb.ZAdd(ctx, old+"tl:home:reblogs:"+reader.ID, z(oldPost.ID)).Err(),
		rdb.ZAdd(ctx, old+"tl:list:"+listID, z(oldPost.ID)).Err(),
		rdb.ZAdd(ctx, old+"account:statuses:"+reader.ID, z(oldPost.ID)).Err(), // as if the reader had written it
		rdb.ZAdd(ctx, old+"notifications:"+reader.ID, z(notificationID)).Err(),
		rdb.Set(ctx, old+"notification:"+notificationID, raw, 0).Err(),
		rdb.HSet(ctx, old+"notifications:policy:"+reader.ID, "for_not_following", "accept").Err(),
		rdb.ZAdd(ctx, old+"status:favourites:"+oldPost.ID, redis.Z{Score: 1, Member: reader.ID}).Err(),
		rdb.ZAdd(ctx, old+"status:replies:"+oldPost.ID, z(newPost.ID)).Err(),
		rdb.HSet(ctx, old+"status:counts:"+oldPost.ID, "favourites", 1, "replies", 1).Err(),
		rdb.RPush(ctx, old+"status:history:"+oldPost.ID, `{"content":"first"}`, `{"content":"edited"}`).Err(),
		oldRecord(ctx, rdb, prefix, oldPost.ID),
		backToOldKey(ctx, rdb, "{"+prefix+":acct:"+reader.ID+"}", old+"account:"+reader.ID),
		backToOldKey(ctx, rdb, "{"+prefix+":acct:"+reader.ID+"}:user", old+"user:"+reader.ID),
		rdb.ZAdd(ctx, old+"favourites:"+reader.ID, redis.Z{Score: 1, Member: oldPost.ID}).Err(),
		rdb.ZAdd(ctx, old+"bookmarks:"+reader.ID, redis.Z{Score: 1, Member: oldPost.ID}).Err(),
		rdb.ZAdd(ctx, old+"mutes:"+reader.ID, redis.Z{Score: 1, Member: newPost.AccountID}).Err(),
		rdb.ZAdd(ctx, old+"account:pins:"+author.ID, z(oldPost.ID)).Err(),
		rdb.ZAdd(ctx, old+"followed_tags:"+reader.ID, redis.Z{Score: 1, Member: "golang"}).Err(),
		rdb.SAdd(ctx, old+"mutes:notifications:"+reader.ID, newPost.AccountID).Err(),
		rdb.HSet(ctx, old+"filters:"+reader.ID, "1839000000000002", `{"id":"1839000000000002","title":"spoilers"}`).Err(),
		rdb.HSet(ctx, old+"markers:"+reader.ID, "home", `{"last_read_id":"1"}`).Err(),
		rdb.ZAdd(ctx, old+"conversations:"+reader.ID, z(oldPost.ID)).Err(), // a thread with the author
		rdb.HSet(ctx, old+"conversation:"+reader.ID+":"+oldPost.ID, "last_status_id", oldPost.ID, "unread", "1").Err(),
		rdb.SAdd(ctx, old+"conversation:accounts:"+reader.ID+":"+oldPost.ID, reader.ID, author.ID).Err(),
		rdb.ZAdd(ctx, old+"followers:"+author.ID, redis.Z{Score: 1, Member: reader.ID}).Err(), // the reader follows the author
		rdb.ZAdd(ctx, old+"following:"+reader.ID, redis.Z{Score: 1, Member: author.ID}).Err(),
		rdb.ZAdd(ctx, old+"followers:local:"+author.ID, redis.Z{Score: 1, Member: reader.ID}).Err(),
		rdb.SAdd(ctx, old+"notify_subscribers:"+author.ID, reader.ID).Err(),
		rdb.HSet(ctx, old+"follow_filters:"+author.ID, reader.ID, `{"show_reblogs":false}`).Err(),
		rdb.ZAdd(ctx, old+"blocked_by:"+reader.ID, redis.Z{Score: 1, Member: author.ID}).Err(),
		rdb.ZAdd(ctx, old+"blocks:"+author.ID, redis.Z{Score: 1, Member: reader.ID}).Err(),
		rdb.HSet(ctx, old+"follow_opts:"+reader.ID, author.ID, `{"show_reblogs":false,"notify":true}`).Err(),
		rdb.ZAdd(ctx, old+"requested:"+author.ID, redis.Z{Score: 1, Member: reader.ID}).Err(),
		rdb.ZAdd(ctx, old+"endorsements:"+reader.ID, redis.Z{Score: 1, Member: author.ID}).Err(),
		rdb.HSet(ctx, old+"account_notes:"+reader.ID, author.ID, "met at the offsite").Err(),
		rdb.ZAdd(ctx, old+"domain_blocks:user:"+reader.ID, redis.Z{Score: 1, Member: "spam.example"}).Err(),
		rdb.SAdd(ctx, old+"suggestions:dismissed:"+reader.ID, author.ID).Err(),
		rdb.SAdd(ctx, old+"announcements:read:"+reader.ID, "1839000000000003").Err(),
		rdb.Set(ctx, old+"list:"+listID, `{"id":"`+listID+`","account_id":"`+reader.ID+`","title":"colleagues"}`, 0).Err(),
		rdb.SAdd(ctx, old+"list:members:"+listID, author.ID).Err(),
		rdb.SAdd(ctx, old+"lists:"+reader.ID, listID).Err(),
		rdb.SAdd(ctx, old+"lists:containing:"+author.ID, listID).Err(),
		rdb.HSet(ctx, old+"idx:status:uri", "https://peer.example/statuses/1", oldPost.ID).Err(), // as if it were remote
		rdb.HSet(ctx, old+"idx:reblog", reader.ID+"/"+oldPost.ID, newPost.ID).Err(),              // as if newPost were the reader's boost
		// The reader's words as the index kept them (one more than the profile has, to tell).
		rdb.Del(ctx, "{"+prefix+":acct:"+reader.ID+"}:words").Err(),
		rdb.ZAdd(ctx, old+"idx:account:terms", redis.Z{Member: "colleague\x00" + reader.ID}).Err(),
		rdb.HSet(ctx, old+"idx:account:terms:words", reader.ID, "reader colleague").Err(),
		// The counts of follows were kept beside the count of statuses (off by some, here), and
		// that was in the department's slot until layout "7".
		rdb.Del(ctx, "{"+prefix+":statuses:"+author.ID+"}:counts").Err(),
		rdb.HSet(ctx, old+"account:counts:"+author.ID, "followers", 7, "statuses", 5, "last_status_at", store.TimeOfID(newPost.ID).UnixMilli()).Err(),
		rdb.HSet(ctx, old+"account:counts:"+reader.ID, "following", 1, "statuses", 1).Err(),
		// A process of the new version recorded a favourite before the move ran.
		st.Favourite(ctx, author.ID, oldPost, true),
		// A process of the new version wrote to the reader's home before the move ran.
		rdb.ZAdd(ctx, "{"+prefix+":tl:home:"+reader.ID+"}", z(newPost.ID)).Err(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for run := range 2 {
		if err := st.EnsureSpreadKeys(ctx); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if !homeHas(t, st, reader.ID, oldPost.ID) || !homeHas(t, st, reader.ID, newPost.ID) {
			t.Errorf("run %d: the home lacks the post from before the upgrade or the one after", run)
		}
		list, err := st.ListTimeline(ctx, listID, store.Page{Limit: 20})
		if err != nil || len(list) != 1 || list[0].ID != oldPost.ID {
			t.Errorf("run %d: list = %v (%v), want %s", run, list, err, oldPost.ID)
		}
		own, err := st.AccountStatuses(ctx, reader.ID, store.Page{Limit: 20})
		if err != nil || len(own) != 1 || own[0].ID != oldPost.ID {
			t.Errorf("run %d: the reader's own statuses = %v (%v), want %s", run, own, err, oldPost.ID)
		}
		ns, err := st.Notifications(ctx, reader.ID, store.NotificationQuery{Page: store.Page{Limit: 20}})
		if err != nil || len(ns) != 1 || ns[0].ID != notificationID || ns[0].StatusID != oldPost.ID {
			t.Errorf("run %d: notifications = %+v (%v), want the favourite", run, ns, err)
		}
		statusCounts, err := st.StatusCounts(ctx, []string{oldPost.ID})
		if want := (store.StatusCounts{Favourites: 2, Replies: 1}); err != nil || statusCounts[oldPost.ID] != want {
			t.Errorf("run %d: counts = %+v (%v), want %+v", run, statusCounts[oldPost.ID], err, want)
		}
		fans, err := st.FavouritedBy(ctx, oldPost.ID, store.Page{Limit: 20})
		if err != nil || len(fans) != 2 {
			t.Errorf("run %d: favourited by %v (%v), want the reader and the author", run, fans, err)
		}
		if replies, err := st.Replies(ctx, oldPost.ID); err != nil || !slices.Equal(replies, []string{newPost.ID}) {
			t.Errorf("run %d: replies = %v (%v), want %s", run, replies, err, newPost.ID)
		}
		rels, err := st.Relationships(ctx, author.ID, []string{reader.ID})
		if err != nil || !rels[0].FollowedBy || !rels[0].Blocking || !rels[0].Requested {
			t.Errorf("run %d: the author sees the reader as %+v (%v), want followed by, blocking and requested", run, rels, err)
		}
		rels, err = st.Relationships(ctx, reader.ID, []string{author.ID})
		if err != nil || !rels[0].BlockedBy || !rels[0].Following || rels[0].ShowingReblogs || !rels[0].Notifying || !rels[0].Endorsed || rels[0].Note != "met at the offsite" {
			t.Errorf("run %d: the reader sees the author as %+v (%v), want blocked by, following with its options, endorsed, with a note", run, rels, err)
		}
		if lists, err := st.ListsContaining(ctx, reader.ID, author.ID); err != nil || len(lists) != 1 || lists[0].Title != "colleagues" {
			t.Errorf("run %d: the reader's lists with the author are %+v (%v), want the one from before the upgrade", run, lists, err)
		}
		if members, err := st.ListAccountIDs(ctx, listID); err != nil || !slices.Equal(members, []string{author.ID}) {
			t.Errorf("run %d: the list's members are %v (%v), want the author", run, members, err)
		}
		if got, err := st.StatusByURI(ctx, "https://peer.example/statuses/1"); err != nil || got.ID != oldPost.ID {
			t.Errorf("run %d: the status indexed by URI before the upgrade is %+v (%v)", run, got, err)
		}
		if got, err := st.TokenByValue(ctx, tokenValue); err != nil || got.AccountID != reader.ID {
			t.Errorf("run %d: the reader's token reads %+v (%v)", run, got, err)
		}
		if got, err := st.Media(ctx, upload.ID); err != nil || got.URL != upload.URL {
			t.Errorf("run %d: the upload reads %+v (%v)", run, got, err)
		}
		if poll, err := st.Poll(ctx, oldPost.ID); err != nil || !slices.Equal(poll.Votes, []int64{3, 1}) || poll.Voters != 4 {
			t.Errorf("run %d: the poll reads %+v (%v), want 3 and 1 votes of 4 voters", run, poll, err)
		}
		if choices, voted, err := st.PollVotes(ctx, oldPost.ID, reader.ID); err != nil || !voted || !slices.Equal(choices, []int{0}) {
			t.Errorf("run %d: the reader's vote is %v %v (%v), want the first option", run, choices, voted, err)
		}
		if got, err := st.App(ctx, app.ClientID); err != nil || got.Name != app.Name {
			t.Errorf("run %d: the app reads %+v (%v)", run, got, err)
		}
		if sub, err := st.PushSubscription(ctx, token.Hash); err != nil || sub.Endpoint != "https://push.example/1" {
			t.Errorf("run %d: the token's push subscription reads %+v (%v)", run, sub, err)
		}
		if id, err := st.FollowActivity(ctx, reader.ID, author.ID); err != nil || id != "https://eng.example/follows/1" {
			t.Errorf("run %d: the reader's Follow activity is %q (%v)", run, id, err)
		}
		if follower, target, err := st.FollowByActivity(ctx, "https://eng.example/follows/1"); err != nil || follower != reader.ID || target != author.ID {
			t.Errorf("run %d: the Follow activity names %s following %s (%v)", run, follower, target, err)
		}
		if boost, err := st.ReblogOf(ctx, reader.ID, oldPost.ID); err != nil || boost.ID != newPost.ID {
			t.Errorf("run %d: the reader's boost indexed before the upgrade is %+v (%v), want %s", run, boost, err, newPost.ID)
		}
		if found, err := st.SearchAccountTerms(ctx, "collea", 5); err != nil || len(found) != 1 || found[0].ID != reader.ID {
			t.Errorf("run %d: the word indexed before the upgrade finds %v (%v), want the reader", run, found, err)
		}
		if domains, err := st.BlockedDomainSet(ctx, reader.ID); err != nil || !domains["spam.example"] {
			t.Errorf("run %d: the reader blocks the domains %v (%v), want spam.example", run, domains, err)
		}
		counts, err := st.AccountCounts(ctx, []string{author.ID, reader.ID})
		if err != nil || counts[author.ID].Followers != 1 || counts[author.ID].Statuses != 2 || !counts[author.ID].LastStatusAt.Equal(store.TimeOfID(newPost.ID)) ||
			counts[reader.ID].Following != 1 || counts[reader.ID].Statuses != 1 {
			t.Errorf("run %d: the author's counts are %+v and the reader's %+v (%v), want one follow each way and statuses 2 and 1", run, counts[author.ID], counts[reader.ID], err)
		}
		for _, find := range []struct {
			by   string
			want *store.Account
			find func(context.Context, string) (*store.Account, error)
		}{
			{visitor.URI, visitor, st.AccountByURI}, {"visitor@peer.example", visitor, st.AccountByAcct},
			{reader.URI, reader, st.AccountByURI}, {"reader", reader, st.AccountByAcct},
		} {
			if got, err := find.find(ctx, find.by); err != nil || got.ID != find.want.ID {
				t.Errorf("run %d: %s finds %+v (%v), want %s", run, find.by, got, err, find.want.ID)
			}
		}
		if quote, err := st.QuoteByAuthorization(ctx, stamp); err != nil || quote.ID != newPost.ID {
			t.Errorf("run %d: the stamp authorized %+v (%v), want %s", run, quote, err, newPost.ID)
		}
		if payload, err := st.Payload(ctx, newPost.URI+"/activity"); err != nil || string(payload) != `{"type":"Create"}` {
			t.Errorf("run %d: the outgoing activity reads %q (%v)", run, payload, err)
		}
		if gone, err := st.IsTombstoned(ctx, visitor.URI+"/statuses/1"); err != nil || !gone {
			t.Errorf("run %d: the deleted status is tombstoned %v (%v), want true", run, gone, err)
		}
		if ttl, err := rdb.PTTL(ctx, "{"+prefix+":payload:"+newPost.URI+"/activity}").Result(); err != nil || ttl <= 0 || ttl > time.Hour {
			t.Errorf("run %d: the outgoing activity has %v to live (%v), want what it had left of an hour", run, ttl, err)
		}
		if _, list, err := st.ScheduledStatuses(ctx, reader.ID, store.Page{Limit: 20}); err != nil || len(list) != 1 || !list[0].ScheduledAt.Equal(scheduledAt) {
			t.Errorf("run %d: the reader's scheduled posts are %+v (%v), want the one from before", run, list, err)
		}
		if at, err := rdb.ZScore(ctx, old+"scheduled:due", reader.ID+"/"+scheduledID).Result(); err != nil || int64(at) != scheduledAt.UnixMilli() {
			t.Errorf("run %d: the scheduled post is due at %v (%v), want %v", run, at, err, scheduledAt.UnixMilli())
		}
		if tags, err := st.FeaturedTags(ctx, reader.ID); err != nil || len(tags) != 1 || tags[0].Name != "golang" {
			t.Errorf("run %d: the reader features %+v (%v), want golang", run, tags, err)
		}
		if removed, err := st.RemovedFromCommunity(ctx, author.ID, oldPost.ID); err != nil || !removed {
			t.Errorf("run %d: the post removed from the community is removed %v (%v)", run, removed, err)
		}
		found, err := st.SearchAccounts(ctx, "vis", 5)
		if err != nil || len(found) != 1 || found[0].ID != visitor.ID {
			t.Errorf("run %d: a search for vis finds %v (%v), want the visitor", run, found, err)
		}
		if domains, err := st.KnownDomains(ctx); err != nil || !slices.Equal(domains, []string{"peer.example"}) {
			t.Errorf("run %d: the known domains are %v (%v)", run, domains, err)
		}
		for _, index := range []struct {
			key  string
			read func(context.Context, string) *redis.StringSliceCmd
			want []string
		}{
			{old + "idx:acct", rdb.HKeys, []string{"author", "reader"}},
			{old + "idx:account:uri", rdb.HKeys, []string{author.URI, reader.URI}},
			{old + "idx:account:search", func(ctx context.Context, key string) *redis.StringSliceCmd { return rdb.ZRange(ctx, key, 0, -1) },
				[]string{"author\x00" + author.ID, "reader\x00" + reader.ID}},
		} {
			left, err := index.read(ctx, index.key).Result()
			if slices.Sort(left); err != nil || !slices.Equal(left, index.want) {
				t.Errorf("run %d: %s holds %q (%v), want the local accounts' entries", run, index.key, left, err)
			}
		}
		newSlot := "{" + prefix + ":acct:" + author.ID + "}:"
		notifies, err := rdb.SIsMember(ctx, newSlot+"notify_subscribers", reader.ID).Result()
		filter, _ := rdb.HGet(ctx, newSlot+"follow_filters", reader.ID).Result()
		if err != nil || !notifies || filter == "" {
			t.Errorf("run %d: the reader is notified %v (%v) and filters %q", run, notifies, err, filter)
		}
		left, err := testrig.Keys(ctx, rdb, old+"*")
		if err != nil {
			t.Fatal(err)
		}
		if n, err := rdb.Exists(ctx, old+"account:counts:"+author.ID, old+"account:counts:"+reader.ID).Result(); err != nil || n > 0 {
			t.Errorf("run %d: %d old hashes of counts are still there (%v)", run, n, err)
		}
		for _, key := range left {
			for _, moved := range []string{"tl:home:", "tl:list:", "notification:", "notifications:" + reader.ID, "account:statuses:", "status:",
				"favourites:", "bookmarks:", "mutes:", "filters:", "markers:", "conversation", "account:pins:", "followed_tags:", "followers:", "follow_requests:", "blocked_by:", "notify_subscribers:", "follow_filters:",
				"following:", "requested:", "blocks:", "follow_opts:", "account:1", "user:",
				"endorsements:", "account_notes:", "domain_blocks:user:", "suggestions:dismissed:", "announcements:read:", "list:", "lists:", "idx:status:uri", "idx:account:terms", "idx:reblog",
				"idx:quote_auth", "payload:", "tombstone:", "scheduled:1", "scheduled:account:", "scheduled:times:", "featured_tags:", "community:removed:", "oauth:token", "oauth:app_tokens:", "oauth:app:", "push:sub:", "follow_activity", "media:", "poll:" + oldPost.ID, "poll:counts:", "poll:voters:"} {
				if strings.HasPrefix(key, old+moved) {
					t.Errorf("run %d: %s is still there", run, key)
				}
			}
		}
		if got, err := st.Status(ctx, oldPost.ID); err != nil || got.Text != oldPost.Text {
			t.Errorf("run %d: the status from before the upgrade reads %+v (%v)", run, got, err)
		}
		for name, list := range map[string]func(context.Context, string, store.Page) ([]store.Entry, error){"favourites": st.Favourites, "bookmarks": st.Bookmarks} {
			if got, err := list(ctx, reader.ID, store.Page{Limit: 20}); err != nil || len(got) != 1 {
				t.Errorf("run %d: the reader's %s = %v (%v), want the post from before the upgrade", run, name, got, err)
			}
		}
		history, err := st.StatusHistory(ctx, oldPost)
		if err != nil || len(history) != 2 || history[1].Content != "edited" {
			t.Errorf("run %d: its history = %+v (%v), want both versions", run, history, err)
		}
		if policy, err := st.NotificationPolicyOf(ctx, reader.ID); err != nil || policy.ForNotFollowing != "accept" {
			t.Errorf("run %d: the notification policy is %+v (%v), want the one from before the upgrade", run, policy, err)
		}
		if rels, err := st.Relationships(ctx, reader.ID, []string{author.ID}); err != nil || !rels[0].Muting || !rels[0].MutingNotifications {
			t.Errorf("run %d: the reader's mute of the author is %+v (%v), want kept", run, rels, err)
		}
		if filters, err := st.Filters(ctx, reader.ID); err != nil || len(filters) != 1 || filters[0].Title != "spoilers" {
			t.Errorf("run %d: the reader's filters = %+v (%v), want the one from before the upgrade", run, filters, err)
		}
		if _, threads, err := st.Conversations(ctx, reader.ID, store.Page{Limit: 20}); err != nil || len(threads) != 1 || !threads[0].Unread ||
			!slices.Equal(threads[0].AccountIDs, []string{author.ID}) {
			t.Errorf("run %d: the reader's conversations = %+v (%v), want the unread thread with the author", run, threads, err)
		}
		if pins, err := st.Pinned(ctx, author.ID); err != nil || !slices.Equal(pins, []string{oldPost.ID}) {
			t.Errorf("run %d: the author's pins = %v (%v), want the post from before the upgrade", run, pins, err)
		}
		if follows, err := st.FollowsTag(ctx, reader.ID, "golang"); err != nil || !follows {
			t.Errorf("run %d: the reader follows #golang: %v (%v), want true", run, follows, err)
		}
		if a, err := st.AccountByAcct(ctx, "reader"); err != nil || a.ID != reader.ID {
			t.Errorf("run %d: the reader's account reads %+v (%v)", run, a, err)
		}
		if u, err := st.User(ctx, reader.ID); err != nil || u.Email != "reader@mail.example" {
			t.Errorf("run %d: the reader's user reads %+v (%v)", run, u, err)
		}
		if markers, err := st.Markers(ctx, reader.ID, []string{"home"}); err != nil || markers["home"].LastReadID != "1" {
			t.Errorf("run %d: the reader's markers = %+v (%v), want the one from before the upgrade", run, markers, err)
		}
	}
	// The moved set of the reader's tokens revokes the moved token.
	must(t, st.RevokeAccountTokens(ctx, reader.ID))
	if _, err := st.TokenByValue(ctx, tokenValue); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after revoking the reader's tokens, the token reads (%v), want not found", err)
	}
	// The moved followers are the new post's readers, and the moved subscription notifies.
	fresh := postStatus(t, st, author, store.Status{Text: "to the followers"})
	if !homeHas(t, st, reader.ID, fresh.ID) {
		t.Error("a new post of the author misses the reader's home")
	}
	if list, err := st.ListTimeline(ctx, listID, store.Page{Limit: 20}); err != nil || len(list) == 0 || list[0].ID != fresh.ID {
		t.Errorf("the reader's list shows %v (%v), want the author's new post first", list, err)
	}
	if got := notificationTypes(t, st, reader); !slices.Contains(got, store.NotifyStatus) {
		t.Errorf("the reader's notifications are %v, want one of the new post", got)
	}
}

// TestEnsureSpreadKeysFromAnEarlierLayout upgrades a department that an earlier version already
// spread in part (its marker names layout 1): what later layouts spread moves, and once the
// department is at the current layout nothing is scanned again.
func TestEnsureSpreadKeysFromAnEarlierLayout(t *testing.T) {
	ctx := context.Background()
	st, rdb, prefix := rawStore(t)
	reader, author := localAccount(t, st, "reader"), localAccount(t, st, "author")
	post := postStatus(t, st, author, store.Status{Text: "favourited long ago"})
	old := "{" + prefix + "}:"
	must(t, rdb.Set(ctx, old+"spread_keys_moved", "1", 0).Err())
	must(t, rdb.ZAdd(ctx, old+"followers:"+author.ID, redis.Z{Score: 1, Member: reader.ID}).Err())
	must(t, rdb.ZAdd(ctx, old+"status:favourites:"+post.ID, redis.Z{Score: 1, Member: reader.ID}).Err())
	must(t, oldRecord(ctx, rdb, prefix, post.ID))
	must(t, st.EnsureSpreadKeys(ctx))
	if got, err := st.Status(ctx, post.ID); err != nil || got.Text != post.Text {
		t.Errorf("the status reads %+v (%v) after the upgrade", got, err)
	}
	rels, err := st.Relationships(ctx, author.ID, []string{reader.ID})
	if err != nil || !rels[0].FollowedBy {
		t.Errorf("the author sees the reader as %+v (%v), want followed by", rels, err)
	}
	if fans, err := st.FavouritedBy(ctx, post.ID, store.Page{Limit: 20}); err != nil || len(fans) != 1 {
		t.Errorf("favourited by %v (%v), want the reader", fans, err)
	}
	// At the current layout a start looks for nothing: a key of the old layout stays put.
	must(t, rdb.ZAdd(ctx, old+"blocked_by:"+author.ID, redis.Z{Score: 1, Member: reader.ID}).Err())
	must(t, st.EnsureSpreadKeys(ctx))
	if n, err := rdb.Exists(ctx, old+"blocked_by:"+author.ID).Result(); err != nil || n != 1 {
		t.Errorf("a department at the current layout was scanned again: the old key exists %d (%v)", n, err)
	}
}

// oldRecord moves status id's record to where layouts before 4 kept it, in the department's slot.
func oldRecord(ctx context.Context, rdb redis.UniversalClient, prefix, id string) error {
	return backToOldKey(ctx, rdb, "{"+prefix+":status:"+id+"}", "{"+prefix+"}:status:"+id)
}

// backToOldKey moves a record the store wrote to the key it had in an old layout.
func backToOldKey(ctx context.Context, rdb redis.UniversalClient, now, old string) error {
	raw, err := rdb.Get(ctx, now).Result()
	if err != nil {
		return err
	}
	if err := rdb.Set(ctx, old, raw, 0).Err(); err != nil {
		return err
	}
	return rdb.Del(ctx, now).Err()
}
