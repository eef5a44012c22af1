package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// EnsureSpreadKeys moves the keys that data written before they had slots of their own
// (keys.go) keeps under the department's tag to their keys now, once: the readers' timelines
// and notifications, the authors' lists of statuses, each status's record and history and what
// others did with it, what others did to each account, and each account's record, user, key,
// follows (with the ids of their Follow activities), requests, blocks, lists, boosts, access
// tokens and their push subscriptions, uploads, polls, favourites, bookmarks, pins, followed
// hashtags, mutes, filters, markers, notification policy and conversations. Without it a
// department upgraded in place would show everyone an empty home, no notifications and no
// posts. A key is merged into its new one (members added, a record set unless one is there,
// counts made the merged sets' sizes) and then deleted, so processes starting together, or one
// killed half way, only repeat work; what was written under the new keys meanwhile stays.
func (s *Store) EnsureSpreadKeys(ctx context.Context) error {
	moved, err := s.rdb.Get(ctx, s.k.spreadKeysMoved()).Result()
	if err != nil && !errors.Is(err, redis.Nil) || moved == spreadLayout {
		return err
	}
	old := s.k.p
	var mu sync.Mutex
	var found []string
	err = ForEachServer(ctx, s.rdb, func(ctx context.Context, node *redis.Client) error {
		patterns := []string{old + "notification:*", old + "status:counts:*", old + "account:counts:*", old + "oauth:app_tokens:*", old + "scheduled:*"}
		for _, set := range statusSets {
			patterns = append(patterns, old+"status:"+string(set)+":*")
		}
		for _, m := range s.k.spreadMoves() {
			patterns = append(patterns, old+m.old+"*")
		}
		for _, pattern := range patterns {
			iter := node.Scan(ctx, 0, pattern, 1000).Iterator()
			for iter.Next(ctx) {
				mu.Lock()
				found = append(found, iter.Val())
				mu.Unlock()
			}
			if err := iter.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("find keys to spread: %w", err)
	}
	statuses, accounts := map[string]bool{}, map[string]bool{}
	var scheduled, scheduledIndexes []string
	for _, key := range found {
		rest := strings.TrimPrefix(key, old)
		if id, ok := strings.CutPrefix(rest, "scheduled:"); ok {
			if isDigits(id) {
				scheduled = append(scheduled, id)
			} else if key != s.k.scheduledDue() {
				scheduledIndexes = append(scheduledIndexes, key)
			}
		} else if id, ok := oldStatusKeyID(rest); ok {
			statuses[id] = true
		} else if id, ok := strings.CutPrefix(rest, "account:counts:"); ok {
			accounts[id] = true
		} else if strings.HasPrefix(rest, "oauth:app_tokens:") {
			// Each app's tokens, which nothing read, are no longer kept.
			if err := s.rdb.Del(ctx, key).Err(); err != nil {
				return fmt.Errorf("drop %s: %w", key, err)
			}
		} else if err := s.moveToSpreadKey(ctx, key); err != nil {
			return err
		}
	}
	for id := range statuses {
		if err := s.moveStatusSets(ctx, id); err != nil {
			return err
		}
	}
	for id := range accounts {
		if err := s.moveAccountCounts(ctx, id); err != nil {
			return err
		}
	}
	for _, id := range scheduled {
		if err := s.moveScheduled(ctx, id); err != nil {
			return err
		}
	}
	for _, key := range scheduledIndexes { // each account's, of the records just moved
		if err := s.rdb.Del(ctx, key).Err(); err != nil {
			return fmt.Errorf("spread %s: %w", key, err)
		}
	}
	if err := s.moveTermIndex(ctx); err != nil {
		return err
	}
	local, err := s.rdb.ZRange(ctx, s.k.localAccounts(), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("spread the indexes of accounts: %w", err)
	}
	isLocal := map[string]bool{}
	for _, id := range local {
		isLocal[id] = true
	}
	hashes := map[string]func(string, string) (string, string){
		"idx:status:uri":        func(uri, _ string) (string, string) { return s.k.statusByURI(uri), uri },
		"idx:reblog":            byAccount(s.k.boosts),
		"follow_activity":       byAccount(s.k.followActivities),
		"follow_activity:by_id": func(id, _ string) (string, string) { return s.k.followActivityByID(id), id },
		"idx:quote_auth":        func(uri, _ string) (string, string) { return s.k.quoteAuthorization(uri), uri },
		"idx:account:uri": func(uri, id string) (string, string) {
			if isLocal[id] {
				return "", ""
			}
			return s.k.remoteAccountsByURI(uriShard(uri)), uri
		},
		"idx:acct": func(acct, _ string) (string, string) {
			if !strings.Contains(acct, "@") {
				return "", ""
			}
			return s.k.remoteAccountsByAcct(uriShard(acct)), acct
		},
	}
	for name, to := range hashes {
		if err := s.moveHash(ctx, old+name, to); err != nil {
			return err
		}
	}
	if err := s.moveRemoteSearch(ctx); err != nil {
		return err
	}
	if err := s.rememberKnownDomains(ctx); err != nil {
		return err
	}
	return s.rdb.Set(ctx, s.k.spreadKeysMoved(), spreadLayout, 0).Err()
}

// spreadLayout names the layout EnsureSpreadKeys moves keys to: "1" spread the timelines,
// notifications and authors' statuses, "2" what others do with a status as well, "3" what
// others do to an account, "4" the statuses' records and histories and each account's
// favourites, bookmarks, pins, followed hashtags, mutes, filters, markers, notification policy
// and conversations, "5" each account's follows, requests and blocks, with the follows'
// options and counts, "6" each account's boosts, access tokens and Follow activities, the
// apps, the uploads and the polls, "7" each account's count of statuses, what finds remote
// accounts, the index of quotes' authorizations, the payloads, tombstones and preview cards,
// the scheduled posts, the featured hashtags and what a community's moderators removed.
const spreadLayout = "7"

var statusSets = []statusSet{repliesSet, reblogsSet, favouritesSet, quotesSet}

// oldStatusKeyID gives the status of a key (after the department's tag) that held one of its
// sets or its counts in the old layout.
func oldStatusKeyID(rest string) (string, bool) {
	for _, name := range append([]statusSet{"counts"}, statusSets...) {
		if id, ok := strings.CutPrefix(rest, "status:"+string(name)+":"); ok && isDigits(id) {
			return id, true
		}
	}
	return "", false
}

// moveStatusSets merges a status's sets of the old layout into its slot and sets its counts to
// the merged sets' sizes, as tallies keep them.
func (s *Store) moveStatusSets(ctx context.Context, id string) error {
	old := s.k.p + "status:"
	for _, set := range statusSets {
		if err := mergeZSet(ctx, s.rdb, old+string(set)+":"+id, s.k.statusSet(id, set)); err != nil {
			return err
		}
	}
	p := s.rdb.Pipeline()
	sizes := make([]*redis.IntCmd, len(statusSets))
	for i, set := range statusSets {
		sizes[i] = p.ZCard(ctx, s.k.statusSet(id, set))
	}
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("spread the sets of status %s: %w", id, err)
	}
	counts := make([]any, 0, 2*len(statusSets))
	for i, set := range statusSets {
		counts = append(counts, string(set), sizes[i].Val())
	}
	if err := s.rdb.HSet(ctx, s.k.statusCounts(id), counts...).Err(); err != nil {
		return fmt.Errorf("spread the counts of status %s: %w", id, err)
	}
	return s.rdb.Del(ctx, old+"counts:"+id).Err()
}

// moveHash spreads a hash that the department's slot held before layout "5" (the index of
// statuses by URI), "6" (the indexes of boosts and of Follow activities) or "7" (the remote
// accounts' entries of the indexes of accounts, the index of quotes' authorizations) field by
// field over the keys and fields that to names, and deletes what it moved; an entry written
// there meanwhile wins. A field to names no key for stays where it is.
func (s *Store) moveHash(ctx context.Context, old string, to func(field, value string) (key, newField string)) error {
	err := s.spreadOut(ctx, old, func(cursor uint64) *redis.ScanCmd {
		return s.rdb.HScan(ctx, old, cursor, "*", 1000)
	}, func(p redis.Pipeliner, field, value string) bool {
		key, newField := to(field, value)
		if key != "" {
			p.HSetNX(ctx, key, newField, value)
		}
		return key != ""
	}, s.rdb.HDel)
	if err != nil {
		return fmt.Errorf("spread %s: %w", old, err)
	}
	return nil
}

// spreadOut moves the entries of an old key, read through scan, that move queues a write of
// elsewhere (it reports whether it did), and once all are written takes them out of the old key:
// the whole key when they were all it held, otherwise with del, a thousand at a time (a hash or
// sorted set goes with its last entry).
func (s *Store) spreadOut(ctx context.Context, old string, scan func(cursor uint64) *redis.ScanCmd, move func(p redis.Pipeliner, a, b string) bool, del func(ctx context.Context, key string, members ...string) *redis.IntCmd) error {
	var moved []string
	seen := 0
	err := s.spreadPairs(ctx, scan, func(p redis.Pipeliner, a, b string) {
		seen++
		if move(p, a, b) {
			moved = append(moved, a)
		}
	})
	if err != nil {
		return err
	}
	if len(moved) == seen {
		return s.rdb.Del(ctx, old).Err()
	}
	for batch := range slices.Chunk(moved, 1000) {
		if err := del(ctx, old, batch...).Err(); err != nil {
			return err
		}
	}
	return nil
}

// byAccount names, for a field "account/other" of an old index, the key in the account's slot
// (made by key) and the field there; a field of another shape is left out.
func byAccount(key func(accountID string) string) func(field, value string) (string, string) {
	return func(field, _ string) (string, string) {
		accountID, other, ok := strings.Cut(field, "/")
		if !ok {
			return "", ""
		}
		return key(accountID), other
	}
}

// moveRemoteSearch spreads the remote accounts' entries of the search of accounts by name, one
// sorted set in the department's slot before layout "7", over the sets of each first character.
func (s *Store) moveRemoteSearch(ctx context.Context) error {
	index := s.k.accountSearch()
	err := s.spreadOut(ctx, index, func(cursor uint64) *redis.ScanCmd {
		return s.rdb.ZScan(ctx, index, cursor, "*", 1000)
	}, func(p redis.Pipeliner, member, _ string) bool {
		acct, _, _ := strings.Cut(member, "\x00")
		if strings.Contains(acct, "@") {
			p.ZAdd(ctx, s.k.remoteAccountSearch(acct), redis.Z{Member: member})
		}
		return strings.Contains(acct, "@")
	}, func(ctx context.Context, key string, members ...string) *redis.IntCmd {
		return s.rdb.ZRem(ctx, key, toAny(members)...)
	})
	if err != nil {
		return fmt.Errorf("spread the search of remote accounts: %w", err)
	}
	return nil
}

// moveTermIndex spreads the index of accounts by the words of their profiles, one sorted set and
// one hash of each account's words in the department's slot before layout "5", over the sets
// of each first letter and the accounts' slots.
func (s *Store) moveTermIndex(ctx context.Context) error {
	index, words := s.k.p+"idx:account:terms", s.k.p+"idx:account:terms:words"
	err := s.spreadPairs(ctx, func(cursor uint64) *redis.ScanCmd {
		return s.rdb.ZScan(ctx, index, cursor, "*", 1000)
	}, func(p redis.Pipeliner, member, _ string) {
		word, _, _ := strings.Cut(member, "\x00")
		p.ZAdd(ctx, s.k.accountTermIndex(word), redis.Z{Member: member})
	})
	if err == nil {
		err = s.spreadPairs(ctx, func(cursor uint64) *redis.ScanCmd {
			return s.rdb.HScan(ctx, words, cursor, "*", 1000)
		}, func(p redis.Pipeliner, id, list string) {
			p.SetNX(ctx, s.k.accountTermWords(id), list, 0)
		})
	}
	if err != nil {
		return fmt.Errorf("spread the index of words: %w", err)
	}
	return s.rdb.Del(ctx, index, words).Err()
}

// spreadPairs reads what one old key holds, a thousand pairs at a time (a field and its value,
// a member and its score) through scan, and queues each pair's move on one pipeline a batch.
func (s *Store) spreadPairs(ctx context.Context, scan func(cursor uint64) *redis.ScanCmd, move func(p redis.Pipeliner, a, b string)) error {
	for cursor := uint64(0); ; {
		pairs, next, err := scan(cursor).Result()
		if err != nil {
			return err
		}
		p := s.rdb.Pipeline()
		for i := 0; i+1 < len(pairs); i += 2 {
			move(p, pairs[i], pairs[i+1])
		}
		if _, err := p.Exec(ctx); err != nil {
			return err
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// moveAccountCounts moves an account's counts, which the layouts before "7" kept in the
// department's slot: its counts of follows and followers (before "5") become the sizes of its
// moved sets, as each follow now keeps them, and its count of statuses the size of its
// statuses, beside them, as each post now keeps it (authoredLua, with no statuses moving).
func (s *Store) moveAccountCounts(ctx context.Context, id string) error {
	old := s.k.p + "account:counts:" + id
	p := s.rdb.Pipeline()
	followers, following := p.ZCard(ctx, s.k.followers(id)), p.ZCard(ctx, s.k.following(id))
	last := p.HGet(ctx, old, "last_status_at")
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("spread the counts of %s: %w", id, err)
	}
	p = s.rdb.Pipeline()
	if followers.Val() > 0 || following.Val() > 0 {
		p.HSet(ctx, s.k.followCounts(id), "followers", followers.Val(), "following", following.Val())
	}
	p.Eval(ctx, authoredLua, []string{s.k.accountStatuses(id), s.k.postCounts(id)}, cmp.Or(last.Val(), "0"))
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("spread the counts of %s: %w", id, err)
	}
	return s.rdb.Del(ctx, old).Err()
}

// moveScheduled moves a scheduled post that the department's slot held before layout "7" into
// its account's, indexed there as a new one is, and renames its time in the department's
// due posts (its id then) to its account and id, keeping the time (or a worker's lease).
func (s *Store) moveScheduled(ctx context.Context, id string) error {
	old := s.k.p + "scheduled:" + id
	p := s.rdb.Pipeline()
	raw, due := p.Get(ctx, old), p.ZScore(ctx, s.k.scheduledDue(), id)
	if _, err := p.Exec(ctx); errors.Is(raw.Err(), redis.Nil) {
		return nil // moved by another process meanwhile
	} else if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("spread %s: %w", old, err)
	}
	var sch ScheduledStatus
	if err := unmarshalString(raw.Val(), &sch); err != nil || sch.AccountID == "" {
		return nil // not a scheduled post this code wrote: left where it is
	}
	at := float64(sch.ScheduledAt.UnixMilli())
	member := dueMember(sch.AccountID, id)
	err := s.inOrder(ctx, func(p redis.Pipeliner) {
		p.ZAddNX(ctx, s.k.scheduledDue(), redis.Z{Score: cmp.Or(due.Val(), at), Member: member})
	}, func(p redis.Pipeliner) {
		p.HSetNX(ctx, s.k.scheduledStatuses(sch.AccountID), id, raw.Val())
		p.ZAdd(ctx, s.k.scheduledTimes(sch.AccountID), redis.Z{Score: at, Member: id})
		p.ZAdd(ctx, s.k.scheduledByAccount(sch.AccountID), redis.Z{Score: idScore(id), Member: id})
	}, func(p redis.Pipeliner) {
		p.ZRem(ctx, s.k.scheduledDue(), id)
		p.Del(ctx, old)
	})
	if err != nil {
		return fmt.Errorf("spread %s: %w", old, err)
	}
	return nil
}

// mergeZSet adds the members of the sorted set from to the one at to, and deletes from.
func mergeZSet(ctx context.Context, rdb redis.UniversalClient, from, to string) error {
	entries, err := rdb.ZRangeWithScores(ctx, from, 0, -1).Result()
	if err == nil && len(entries) > 0 {
		err = rdb.ZAdd(ctx, to, entries...).Err()
	}
	if err != nil {
		return fmt.Errorf("spread %s: %w", from, err)
	}
	return rdb.Del(ctx, from).Err()
}

// mergeSet adds the members of the set from to the one at to, and deletes from.
func mergeSet(ctx context.Context, rdb redis.UniversalClient, from, to string) error {
	members, err := rdb.SMembers(ctx, from).Result()
	if err == nil && len(members) > 0 {
		err = rdb.SAdd(ctx, to, toAny(members)...).Err()
	}
	if err != nil {
		return fmt.Errorf("spread %s: %w", from, err)
	}
	return rdb.Del(ctx, from).Err()
}

// mergeRecord sets the record from at to unless one is there, for as long as from had left to
// live, and deletes from.
func mergeRecord(ctx context.Context, rdb redis.UniversalClient, from, to string) error {
	p := rdb.Pipeline()
	raw, ttl := p.Get(ctx, from), p.PTTL(ctx, from)
	_, err := p.Exec(ctx)
	if errors.Is(err, redis.Nil) {
		return nil // moved by another process meanwhile
	}
	if err == nil {
		err = rdb.SetNX(ctx, to, raw.Val(), max(ttl.Val(), 0)).Err() // PTTL is negative for a key that does not expire
	}
	if err != nil {
		return fmt.Errorf("spread %s: %w", from, err)
	}
	return rdb.Del(ctx, from).Err()
}

// mergeList copies the list from to to unless to has entries (written since, which win), and
// deletes from.
func mergeList(ctx context.Context, rdb redis.UniversalClient, from, to string) error {
	entries, err := rdb.LRange(ctx, from, 0, -1).Result()
	if err == nil && len(entries) > 0 {
		var n int64
		if n, err = rdb.LLen(ctx, to).Result(); err == nil && n == 0 {
			err = rdb.RPush(ctx, to, toAny(entries)...).Err()
		}
	}
	if err != nil {
		return fmt.Errorf("spread %s: %w", from, err)
	}
	return rdb.Del(ctx, from).Err()
}

// mergeHash sets the fields of the hash from that the one at to lacks, and deletes from.
func mergeHash(ctx context.Context, rdb redis.UniversalClient, from, to string) error {
	fields, err := rdb.HGetAll(ctx, from).Result()
	if err != nil {
		return fmt.Errorf("spread %s: %w", from, err)
	}
	for field, value := range fields {
		if err := rdb.HSetNX(ctx, to, field, value).Err(); err != nil {
			return fmt.Errorf("spread %s: %w", from, err)
		}
	}
	return rdb.Del(ctx, from).Err()
}

// moveToSpreadKey merges one key of the old layouts into its key now; keys of the department
// that only look alike (the notification policy's) are left.
func (s *Store) moveToSpreadKey(ctx context.Context, key string) error {
	rest := strings.TrimPrefix(key, s.k.p)
	if id, ok := strings.CutPrefix(rest, "notification:"); ok {
		raw, err := s.rdb.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			return nil // moved by another process meanwhile
		}
		if err != nil {
			return fmt.Errorf("spread %s: %w", key, err)
		}
		var n Notification
		if err := json.Unmarshal([]byte(raw), &n); err != nil || n.AccountID == "" {
			return nil // not a notification this code wrote: left where it is
		}
		if err := s.rdb.SetNX(ctx, s.k.notification(n.AccountID, id), raw, 0).Err(); err != nil {
			return fmt.Errorf("spread %s: %w", key, err)
		}
		return s.rdb.Del(ctx, key).Err()
	}
	for _, m := range s.k.spreadMoves() {
		if id, ok := strings.CutPrefix(rest, m.old); ok && m.fits(id) {
			return m.merge(ctx, s.rdb, key, m.to(id))
		}
	}
	return nil
}

// A spreadMove is one kind of key the old layouts kept under the department's tag: the key's
// start after the tag (before an id, or two joined by a colon when pair is set), its key now,
// and how the two are merged.
type spreadMove struct {
	old   string
	to    func(id string) string
	merge func(ctx context.Context, rdb redis.UniversalClient, from, to string) error
	pair  bool
	// named tells the names of keys named otherwise than by an id (a token's hash, an app's
	// client id).
	named func(name string) bool
}

func (m spreadMove) fits(id string) bool {
	if m.named != nil {
		return m.named(id)
	}
	if !m.pair {
		return isDigits(id)
	}
	a, b, ok := strings.Cut(id, ":")
	return ok && isDigits(a) && isDigits(b)
}

// pairKey makes a key of two ids (an account's, and another within its slot) take them joined.
func pairKey(key func(a, b string) string) func(string) string {
	return func(id string) string {
		a, b, _ := strings.Cut(id, ":")
		return key(a, b)
	}
}

func (k keys) spreadMoves() []spreadMove {
	return []spreadMove{
		{old: "tl:home:reblogs:", to: k.homeReblogs, merge: mergeZSet},
		{old: "tl:home:", to: k.homeTimeline, merge: mergeZSet},
		{old: "tl:list:", to: k.listTimeline, merge: mergeZSet},
		{old: "account:statuses:", to: k.accountStatuses, merge: mergeZSet},
		{old: "account:key:", to: k.privateKey, merge: mergeRecord},
		{old: "account:", to: k.account, merge: mergeRecord},
		{old: "user:", to: k.user, merge: mergeRecord},
		{old: "account:pins:", to: k.accountPins, merge: mergeZSet},
		{old: "followed_tags:", to: k.followedTags, merge: mergeZSet},
		{old: "notifications:", to: k.notifications, merge: mergeZSet},
		{old: "followers:local:", to: k.localFollowers, merge: mergeZSet},
		{old: "followers:", to: k.followers, merge: mergeZSet},
		{old: "follow_requests:", to: k.followRequests, merge: mergeZSet},
		{old: "blocked_by:", to: k.blockedBy, merge: mergeZSet},
		{old: "notify_subscribers:", to: k.notifySubscribers, merge: mergeSet},
		{old: "follow_filters:", to: k.followFilters, merge: mergeHash},
		{old: "favourites:", to: k.favourites, merge: mergeZSet},
		{old: "following:", to: k.following, merge: mergeZSet},
		{old: "requested:", to: k.requested, merge: mergeZSet},
		{old: "blocks:", to: k.blocks, merge: mergeZSet},
		{old: "follow_opts:", to: k.followOptions, merge: mergeHash},
		{old: "endorsements:", to: k.endorsements, merge: mergeZSet},
		{old: "account_notes:", to: k.accountNotes, merge: mergeHash},
		{old: "domain_blocks:user:", to: k.userDomainBlocks, merge: mergeZSet},
		{old: "suggestions:dismissed:", to: k.dismissedSuggestions, merge: mergeSet},
		{old: "announcements:read:", to: k.announcementsRead, merge: mergeSet},
		{old: "list:members:", to: k.listMembers, merge: mergeSet},
		{old: "list:", to: k.list, merge: mergeRecord},
		{old: "lists:containing:", to: k.memberOfLists, merge: mergeSet},
		{old: "lists:", to: k.accountLists, merge: mergeSet},
		{old: "bookmarks:", to: k.bookmarks, merge: mergeZSet},
		{old: "mutes:notifications:", to: k.mutedNotifications, merge: mergeSet},
		{old: "mutes:", to: k.mutes, merge: mergeZSet},
		{old: "notifications:policy:", to: k.notificationPolicy, merge: mergeHash},
		{old: "notifications:permits:", to: k.notificationPermits, merge: mergeSet},
		{old: "filters:", to: k.filters, merge: mergeHash},
		{old: "markers:", to: k.markers, merge: mergeHash},
		{old: "conversations:", to: k.conversations, merge: mergeZSet},
		{old: "conversation:accounts:", to: pairKey(k.conversationAccounts), merge: mergeSet, pair: true},
		{old: "conversation:", to: pairKey(k.conversation), merge: mergeHash, pair: true},
		{old: "status:history:", to: k.statusHistory, merge: mergeList},
		{old: "status:", to: k.status, merge: mergeRecord},
		{old: "oauth:token:", to: k.token, merge: mergeRecord, named: isTokenHash},
		{old: "oauth:tokens:", to: k.accountTokens, merge: mergeSet},
		{old: "push:sub:", to: k.pushSubscription, merge: mergeRecord, named: isTokenHash},
		{old: "oauth:app:", to: k.app, merge: mergeRecord, named: isRandomToken},
		{old: "media:", to: k.media, merge: mergeRecord},
		{old: "poll:counts:", to: k.pollCounts, merge: mergeHash},
		{old: "poll:voters:", to: k.pollVoters, merge: mergeHash},
		{old: "poll:", to: k.poll, merge: mergeRecord},
		{old: "featured_tags:", to: k.featuredTags, merge: mergeHash},
		{old: "community:removed:", to: k.communityRemoved, merge: mergeSet},
		{old: "payload:", to: k.payload, merge: mergeRecord, named: isAnything},
		{old: "tombstone:", to: k.tombstone, merge: mergeRecord, named: isAnything},
		{old: "card:", to: k.card, merge: mergeRecord, named: isAnything},
	}
}

// isTokenHash tells a token's hash (hashToken) from other names.
// isAnything takes keys named by what they keep (an activity's or an object's URI, a digest).
func isAnything(string) bool { return true }

func isTokenHash(s string) bool { return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == "" }

// isRandomToken tells a value of RandomToken(32), as an app's client id is.
func isRandomToken(s string) bool {
	return len(s) == 43 && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == ""
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// ForEachServer runs f on the single server, or on every master of a cluster: SCAN, KEYS and
// PUBSUB NUMSUB answer for the node they are sent to only.
func ForEachServer(ctx context.Context, rdb redis.UniversalClient, f func(context.Context, *redis.Client) error) error {
	if cluster, ok := rdb.(*redis.ClusterClient); ok {
		return cluster.ForEachMaster(ctx, f)
	}
	single, ok := rdb.(*redis.Client)
	if !ok {
		return fmt.Errorf("a %T cannot be scanned server by server", rdb)
	}
	return f(ctx, single)
}
