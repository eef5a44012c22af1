package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// NewStatus is a status to create; ID, URI and URL are filled in by CreateStatus when empty.
type NewStatus struct {
	Status
	// IdempotencyKey makes a retried create return the first result instead of posting twice.
	IdempotencyKey string
	// BaseURL is the instance URL that local status URIs derive from.
	BaseURL string
	// Poll, when set, is created with the status, under its id.
	Poll *Poll
}

// CreateStatus stores a status with all its indexes, fans it out to the home and list timelines
// of local readers and notifies mentioned local accounts, in one MULTI/EXEC: a crash leaves
// either all of it or nothing (on a cluster, where the record is set first and the fan-out after,
// see status_record.go and fanout_jobs.go). With an IdempotencyKey seen before, it returns the
// first status.
func (s *Store) CreateStatus(ctx context.Context, n NewStatus) (*Status, error) {
	st := n.Status
	st.HasPoll = n.Poll != nil
	if st.CreatedAt.IsZero() {
		st.CreatedAt = time.Now().UTC()
	}
	local := st.ID == ""
	if local {
		st.ID = s.NewID(st.CreatedAt)
	}
	var uriBase, urlBase string // set when the status's URI and URL derive from its id
	if st.URI == "" {
		author, err := s.Account(ctx, st.AccountID)
		if err != nil {
			return nil, err
		}
		uriBase, urlBase = author.URI+"/statuses/", n.BaseURL+"/@"+author.Username+"/"
		st.URI, st.URL = uriBase+st.ID, urlBase+st.ID
	}
	if n.IdempotencyKey != "" {
		key := s.k.idempotency(st.AccountID, n.IdempotencyKey)
		ok, err := s.rdb.SetNX(ctx, key, st.ID, time.Hour).Result()
		if err != nil {
			return nil, fmt.Errorf("idempotency key: %w", err)
		}
		if !ok {
			firstID, err := s.rdb.Get(ctx, key).Result()
			if err != nil {
				return nil, fmt.Errorf("idempotency key: %w", err)
			}
			first, err := s.Status(ctx, firstID)
			if errors.Is(err, ErrNotFound) {
				return nil, fmt.Errorf("a request with this Idempotency-Key is still being processed: %w", ErrConflict)
			}
			return first, err
		}
	}
	targets, err := s.fanOutTargets(ctx, &st)
	if err != nil {
		return nil, err
	}
	nextID := nextCandidateID
	if local {
		nextID = func(string) string {
			id := s.NewID(st.CreatedAt)
			if uriBase != "" {
				st.URI, st.URL = uriBase+id, urlBase+id
			}
			return id
		}
	}
	existing, err := s.writeWithFreeID(ctx, &st, nextID, func(p redis.Pipeliner) {
		if n.IdempotencyKey != "" {
			p.Set(ctx, s.k.idempotency(st.AccountID, n.IdempotencyKey), st.ID, time.Hour)
		}
		s.writeStatus(ctx, p, &st, targets)
		if n.Poll != nil {
			n.Poll.ID, n.Poll.AccountID, n.Poll.Local = st.ID, st.AccountID, st.Local
			s.writePoll(ctx, p, n.Poll)
		}
	})
	if err != nil {
		if n.IdempotencyKey != "" {
			s.rdb.Del(ctx, s.k.idempotency(st.AccountID, n.IdempotencyKey))
		}
		return nil, fmt.Errorf("create status: %w", err)
	}
	if existing != nil {
		return existing, nil
	}
	return &st, nil
}

// maxIDProbes bounds the search for a free id. Local ids are unique by construction and remote
// ones are spread over their second, so a status needs more than one try only when a remote id
// lands on a taken one; hundreds in a row would mean something else is wrong.
const maxIDProbes = 1000

// writeWithFreeID runs writes in one MULTI/EXEC under the id st has, or, when another status
// already holds that id, under the next id nextID proposes: the check and the write are one
// atomic step (WATCH on the status key; on a cluster the record's claim, claimStatusID), so two
// statuses never share an id, whichever process writes them. A status already stored under the
// id with the same URI is the same record written twice: it is returned and nothing is written.
func (s *Store) writeWithFreeID(ctx context.Context, st *Status, nextID func(string) string, writes func(p redis.Pipeliner)) (*Status, error) {
	if s.cluster {
		same, err := s.claimStatusID(ctx, st, nextID)
		if err != nil || same != nil {
			return same, err
		}
		return nil, s.spreadMulti(ctx, s.rdb, func(p redis.Pipeliner) error {
			writes(p)
			return nil
		})
	}
	for probe := 0; probe < maxIDProbes; probe++ {
		var same *Status
		taken := false
		key := s.k.status(st.ID)
		err := s.watch(ctx, func(tx *watchedTx) error {
			b, err := tx.Get(ctx, key).Bytes()
			switch {
			case err == nil:
				taken = true
				var holder Status
				if decodeStatus(st.ID, string(b), &holder) == nil && holder.URI == st.URI && st.URI != "" {
					same = &holder
				}
				return nil
			case !errors.Is(err, redis.Nil):
				return err
			}
			return s.spreadMulti(ctx, tx, func(p redis.Pipeliner) error {
				writes(p)
				return nil
			})
		}, key)
		switch {
		case errors.Is(err, redis.TxFailedErr):
			continue // someone wrote this id meanwhile: look again
		case err != nil:
			return nil, err
		case same != nil:
			return same, nil
		case !taken:
			return nil, nil
		}
		st.ID = nextID(st.ID)
	}
	return nil, fmt.Errorf("no free id near %s after %d tries", st.ID, maxIDProbes)
}

// fanOut names the timelines and notifications a new status reaches.
type fanOut struct {
	homes         []string // account ids whose home timeline gets the status
	lists         []string // list ids
	notifyMention []string // local account ids
	notifyStatus  []string // local followers who asked to be notified of new posts
	notifyQuote   string   // the local author of the status an accepted quote quotes
	conversation  string   // thread root of a direct status (conversation.go)
	parentAuthor  string
}

func (s *Store) fanOutTargets(ctx context.Context, st *Status) (*fanOut, error) {
	author, err := s.Account(ctx, st.AccountID)
	if err != nil {
		return nil, err
	}
	out := &fanOut{}
	isReply := st.InReplyToAccountID != "" && st.InReplyToAccountID != st.AccountID
	if author.Local() {
		out.homes = append(out.homes, st.AccountID)
	}
	if st.Visibility != VisibilityDirect {
		followers, err := s.rdb.ZRange(ctx, s.k.localFollowers(st.AccountID), 0, -1).Result()
		if err != nil {
			return nil, fmt.Errorf("fan-out followers: %w", err)
		}
		if isReply {
			// As in Mastodon, a reply reaches only followers who also follow the replied-to account.
			parentFollowers, err := s.rdb.ZRange(ctx, s.k.localFollowers(st.InReplyToAccountID), 0, -1).Result()
			if err != nil {
				return nil, fmt.Errorf("fan-out reply followers: %w", err)
			}
			followers = intersect(followers, parentFollowers)
		}
		out.homes = append(out.homes, followers...)
		if st.Visibility == VisibilityPublic || st.Visibility == VisibilityUnlisted {
			for _, tag := range st.Tags {
				tagFollowers, err := s.rdb.SMembers(ctx, s.k.tagFollowers(tag)).Result()
				if err != nil {
					return nil, fmt.Errorf("fan-out tag followers: %w", err)
				}
				out.homes = append(out.homes, tagFollowers...)
			}
		}
		lists, err := s.rdb.SMembers(ctx, s.k.memberOfLists(st.AccountID)).Result()
		if err != nil {
			return nil, fmt.Errorf("fan-out lists: %w", err)
		}
		out.lists = lists
		if st.ReblogOfID == "" && !isReply {
			out.notifyStatus, err = s.rdb.SMembers(ctx, s.k.notifySubscribers(st.AccountID)).Result()
			if err != nil {
				return nil, fmt.Errorf("fan-out notify: %w", err)
			}
		}
	}
	if len(st.Mentions) > 0 {
		mentioned, err := s.Accounts(ctx, st.Mentions)
		if err != nil {
			return nil, err
		}
		for _, id := range st.Mentions {
			if a, ok := mentioned[id]; ok && a.Local() && id != st.AccountID {
				out.notifyMention = append(out.notifyMention, id)
				if st.Visibility == VisibilityDirect {
					out.homes = append(out.homes, id)
				}
			}
		}
	}
	if err := s.quoteTargets(ctx, st, out); err != nil {
		return nil, err
	}
	if err := s.conversationTargets(ctx, st, out); err != nil {
		return nil, err
	}
	if err := s.filterHomes(ctx, st, out); err != nil {
		return nil, err
	}
	slices.Sort(out.homes)
	out.homes = slices.Compact(out.homes)
	return out, nil
}

func intersect(a, b []string) []string {
	set := make(map[string]struct{}, len(b))
	for _, x := range b {
		set[x] = struct{}{}
	}
	var out []string
	for _, x := range a {
		if _, ok := set[x]; ok {
			out = append(out, x)
		}
	}
	return out
}

// writeStatus queues every write of a new status on p, a spreadTx.
func (s *Store) writeStatus(ctx context.Context, p redis.Pipeliner, st *Status, f *fanOut) {
	score := idScore(st.ID)
	z := redis.Z{Score: score, Member: st.ID}
	if !s.cluster { // on a cluster the record is in place already (claimStatusID)
		p.Set(ctx, s.k.status(st.ID), encodeStatus(st), 0)
	}
	if !(st.Local && idInStatusURI(st.URI) == st.ID) {
		// A local status's URI ends with its id, which StatusByURI reads it under: indexing it
		// too would cost a tenth of what the status costs.
		spreadOf(p).index(uriEntry{URI: st.URI, ID: st.ID})
		if s.cluster {
			p.Set(ctx, s.k.statusIndexing(st.ID), "1", 0)
		}
	}
	if st.InReplyToID != "" {
		spreadOf(p).enter(st.InReplyToID, repliesSet, st.ID, st.ID)
	}
	if st.ReblogOfID != "" {
		spreadOf(p).enter(st.ReblogOfID, reblogsSet, st.AccountID, st.ID)
		if !s.cluster { // on a cluster the boost is claimed there already (claimBoost)
			p.HSet(ctx, s.k.boosts(st.AccountID), st.ReblogOfID, st.ID)
		}
	}
	if st.Visibility == VisibilityPublic && st.ReblogOfID == "" {
		tl, media := s.k.localTimeline(), s.k.localMediaTimeline()
		if !st.Local {
			tl, media = s.k.remoteTimeline(), s.k.remoteMediaTimeline()
		}
		addTrimmed(ctx, p, tl, publicTimelineLength, z)
		if len(st.MediaIDs) > 0 {
			addTrimmed(ctx, p, media, publicTimelineLength, z)
		}
		for _, tag := range st.Tags {
			addTrimmed(ctx, p, s.k.tagTimeline(tag), publicTimelineLength, z)
			p.ZAdd(ctx, s.k.tags(), redis.Z{Score: float64(st.CreatedAt.UnixMilli()), Member: tag})
			p.ZAdd(ctx, s.k.tagSearch(), redis.Z{Member: tag})
		}
	}
	for _, mediaID := range st.MediaIDs {
		spreadOf(p).linkMedia(mediaLink{Media: mediaID, Status: st.ID})
	}
	for _, id := range f.notifyMention {
		s.addNotification(ctx, p, &Notification{Type: NotifyMention, AccountID: id, FromAccountID: st.AccountID, StatusID: st.ID, CreatedAt: st.CreatedAt})
	}
	for _, id := range f.notifyStatus {
		s.addNotification(ctx, p, &Notification{Type: NotifyStatus, AccountID: id, FromAccountID: st.AccountID, StatusID: st.ID, CreatedAt: st.CreatedAt})
	}
	s.writeQuote(ctx, p, st, f)
	s.writeConversation(ctx, p, st, f)
	s.publishStatus(ctx, p, EventUpdate, st, f)
	// A boost's note in each home (home_filters.go) keeps later boosts of its post out.
	spreadOf(p).move(timelineMove{Homes: f.homes, Lists: f.lists, Authors: []string{st.AccountID}, Add: []string{st.ID}, Boosted: st.ReblogOfID})
}

func addTrimmed(ctx context.Context, p redis.Pipeliner, key string, keep int64, zs ...redis.Z) {
	p.ZAdd(ctx, key, zs...)
	p.ZRemRangeByRank(ctx, key, 0, -keep-1)
}

// Status reads one status.
func (s *Store) Status(ctx context.Context, id string) (*Status, error) {
	st, err := cachedOr(s, s.k.status(id), func() (*Status, error) {
		raw, err := s.rdb.Get(ctx, s.k.status(id)).Result()
		if errors.Is(err, redis.Nil) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		var st Status
		return &st, decodeStatus(id, raw, &st)
	})
	if err != nil {
		return nil, fmt.Errorf("status %s: %w", id, err)
	}
	return st.clone(), nil
}

// StatusByURI finds a status by its ActivityPub id.
// Local statuses are not in the URI index (see writeStatus) but under the id their URI ends with;
// the index still holds remote statuses and local ones written before.
func (s *Store) StatusByURI(ctx context.Context, uri string) (*Status, error) {
	p := s.rdb.Pipeline()
	indexed := p.HGet(ctx, s.k.statusByURI(uri), uri)
	var byID *redis.StringCmd
	suffix := idInStatusURI(uri)
	if suffix != "" {
		byID = p.Get(ctx, s.k.status(suffix))
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("status %s: %w", uri, err)
	}
	if id, err := indexed.Result(); err == nil && id != suffix {
		return s.Status(ctx, id)
	}
	if byID != nil {
		if raw, err := byID.Result(); err == nil {
			var st Status
			if err := decodeStatus(suffix, raw, &st); err != nil {
				return nil, fmt.Errorf("status %s: %w", uri, err)
			}
			if st.URI == uri {
				return &st, nil
			}
		}
	}
	return nil, fmt.Errorf("status %s: %w", uri, ErrNotFound)
}

// idInStatusURI is the id a URI of the form .../statuses/<digits> ends with, or "".
func idInStatusURI(uri string) string {
	i := strings.LastIndex(uri, "/statuses/")
	if i < 0 {
		return ""
	}
	id := uri[i+len("/statuses/"):]
	if id == "" || len(id) > 19 || strings.Trim(id, "0123456789") != "" {
		return ""
	}
	return id
}

// Statuses reads many statuses in one round trip, in the order of ids, skipping unknown ones.
func (s *Store) Statuses(ctx context.Context, ids []string) ([]*Status, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.k.status(id)
	}
	p := s.rdb.Pipeline()
	vals := s.queueMGet(ctx, p, keys, true)
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read statuses: %w", err)
	}
	out := make([]*Status, 0, len(ids))
	for i, v := range vals() {
		raw, ok := v.(string)
		if !ok {
			continue
		}
		st := new(Status)
		if err := decodeStatus(ids[i], raw, st); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// queueMGet queues the read of string keys on p; the returned function, called after p runs,
// gives their values (nil for a key not there). Keys spread over slots (each status's record in
// its own) are read with a GET each on a cluster, where one MGET must stay in one slot; the
// cluster client splits the pipeline by node.
func (s *Store) queueMGet(ctx context.Context, p redis.Pipeliner, keys []string, spread bool) func() []any {
	if !spread || !s.cluster {
		return p.MGet(ctx, keys...).Val
	}
	cmds := make([]*redis.StringCmd, len(keys))
	for i, key := range keys {
		cmds[i] = p.Get(ctx, key)
	}
	return func() []any {
		out := make([]any, len(cmds))
		for i, c := range cmds {
			if c.Err() == nil {
				out[i] = c.Val()
			}
		}
		return out
	}
}

// StatusCounts reads the counters of many statuses in one round trip.
func (s *Store) StatusCounts(ctx context.Context, ids []string) (map[string]StatusCounts, error) {
	p := &lazyPipeline{rdb: s.rdb}
	counts := queueCounts(ctx, s, p, ids, s.k.statusCountsByID(), statusCountFields, statusCountsOf)
	if err := p.exec(ctx); err != nil {
		return nil, fmt.Errorf("status counts: %w", err)
	}
	return counts(), nil
}

// UpdateStatus replaces a status's editable parts, keeping the previous version in its history.
func (s *Store) UpdateStatus(ctx context.Context, updated *Status, previous *Status) error {
	newTags := without(updated.Tags, previous.Tags)
	targets, err := s.fanOutTargets(ctx, updated)
	if err != nil {
		return fmt.Errorf("update status %s: %w", updated.ID, err)
	}
	first, edit := editOf(previous), editOf(updated)
	err = s.rewriteStatus(ctx, updated.ID, func(tx *watchedTx, version int64) error {
		return s.spreadMulti(ctx, tx, func(p redis.Pipeliner) error {
			s.queueRewrite(ctx, p, updated, version, &first, &edit)
			if updated.Visibility == VisibilityPublic {
				z := redis.Z{Score: idScore(updated.ID), Member: updated.ID}
				for _, tag := range newTags {
					addTrimmed(ctx, p, s.k.tagTimeline(tag), publicTimelineLength, z)
				}
			}
			s.announceStatus(p, EventStatusUpdate, updated, targets)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("update status %s: %w", updated.ID, err)
	}
	return s.NotifyQuotedUpdate(ctx, updated)
}

func editOf(st *Status) StatusEdit {
	at := st.EditedAt
	if at.IsZero() {
		at = st.CreatedAt
	}
	return StatusEdit{Content: st.Content, SpoilerText: st.SpoilerText, Sensitive: st.Sensitive, MediaIDs: st.MediaIDs, CreatedAt: at}
}

func without(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// StatusHistory lists a status's versions, oldest first; a never-edited status has one.
func (s *Store) StatusHistory(ctx context.Context, st *Status) ([]StatusEdit, error) {
	raw, err := s.rdb.LRange(ctx, s.k.statusHistory(st.ID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("status history %s: %w", st.ID, err)
	}
	if len(raw) == 0 {
		return []StatusEdit{editOf(st)}, nil
	}
	out := make([]StatusEdit, 0, len(raw))
	for _, r := range raw {
		var e StatusEdit
		if err := unmarshalString(r, &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// DeleteStatus removes a status, its boosts, and every index and timeline entry pointing at it.
func (s *Store) DeleteStatus(ctx context.Context, st *Status) error {
	boosters, err := s.rdb.ZRange(ctx, s.k.statusReblogs(st.ID), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("delete status %s: %w", st.ID, err)
	}
	var reblogs []*Status
	for _, accountID := range boosters {
		if r, err := s.ReblogOf(ctx, accountID, st.ID); err == nil {
			reblogs = append(reblogs, r)
		}
	}
	// The boosts and the status go in one write; its fan-out tallies the boosts leaving before
	// it drops the status's sets and counts (queueFanOut).
	all := append(reblogs, st)
	homes := map[string][]string{}
	for _, x := range all {
		readers, err := s.rdb.ZRange(ctx, s.k.localFollowers(x.AccountID), 0, -1).Result()
		if err != nil {
			return fmt.Errorf("delete status %s: %w", st.ID, err)
		}
		homes[x.ID] = append(readers, x.AccountID)
		homes[x.ID] = append(homes[x.ID], x.Mentions...)
		for _, tag := range x.Tags {
			tagFollowers, err := s.rdb.SMembers(ctx, s.k.tagFollowers(tag)).Result()
			if err != nil {
				return fmt.Errorf("delete status %s: %w", st.ID, err)
			}
			homes[x.ID] = append(homes[x.ID], tagFollowers...)
		}
	}
	lists := map[string][]string{}
	favouriters := map[string][]string{}
	for _, x := range all {
		lists[x.ID], _ = s.rdb.SMembers(ctx, s.k.memberOfLists(x.AccountID)).Result()
		if favouriters[x.ID], err = s.rdb.ZRange(ctx, s.k.statusFavourites(x.ID), 0, -1).Result(); err != nil {
			return fmt.Errorf("delete status %s: %w", st.ID, err)
		}
	}
	err = s.spreadMulti(ctx, s.rdb, func(p redis.Pipeliner) error {
		for _, x := range all {
			s.unwriteStatus(ctx, p, x)
			// A boost gone lets a later boost of its post in again (home_filters.go).
			spreadOf(p).move(timelineMove{Homes: homes[x.ID], Lists: lists[x.ID], Authors: []string{x.AccountID}, Favouriters: favouriters[x.ID],
				Remove: []string{x.ID}, Boosted: cmp.Or(x.ReblogOfID, x.ID)})
			s.publishStatus(ctx, p, EventDelete, x, deleteFanOut(x, homes[x.ID], lists[x.ID]))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete status %s: %w", st.ID, err)
	}
	return nil
}

func (s *Store) unwriteStatus(ctx context.Context, p redis.Pipeliner, st *Status) {
	p.Del(ctx, s.k.statusVersion(st.ID))
	spreadOf(p).drop(st.ID)
	spreadOf(p).index(uriEntry{URI: st.URI, ID: st.ID, Leave: true})
	if s.cluster { // the mark writeStatus leaves there
		p.Del(ctx, s.k.statusIndexing(st.ID))
	}
	if st.InReplyToID != "" {
		spreadOf(p).leave(st.InReplyToID, repliesSet, st.ID)
	}
	if st.ReblogOfID != "" {
		spreadOf(p).unboost(boostLeave{Booster: st.AccountID, Status: st.ReblogOfID, ID: st.ID})
		spreadOf(p).leave(st.ReblogOfID, reblogsSet, st.AccountID)
	}
	for _, key := range []string{s.k.localTimeline(), s.k.remoteTimeline(), s.k.localMediaTimeline(), s.k.remoteMediaTimeline()} {
		p.ZRem(ctx, key, st.ID)
	}
	for _, tag := range st.Tags {
		p.ZRem(ctx, s.k.tagTimeline(tag), st.ID)
	}
	for _, mediaID := range st.MediaIDs {
		spreadOf(p).linkMedia(mediaLink{Media: mediaID, Drop: true})
	}
	s.unwriteQuote(ctx, p, st)
	s.unwritePoll(ctx, p, st)
}

// ReblogOf finds accountID's boost of statusID.
func (s *Store) ReblogOf(ctx context.Context, accountID, statusID string) (*Status, error) {
	id, err := s.rdb.HGet(ctx, s.k.boosts(accountID), statusID).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("reblog of %s by %s: %w", statusID, accountID, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return s.Status(ctx, id)
}

// Replies lists the ids of direct replies to a status, oldest first.
func (s *Store) Replies(ctx context.Context, statusID string) ([]string, error) {
	ids, err := s.rdb.ZRange(ctx, s.k.statusReplies(statusID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("replies of %s: %w", statusID, err)
	}
	return ids, nil
}

// AccountStatuses pages through an account's statuses, newest first.
func (s *Store) AccountStatuses(ctx context.Context, accountID string, p Page) ([]Entry, error) {
	return pageZSet(ctx, s.rdb, s.k.accountStatuses(accountID), p)
}
