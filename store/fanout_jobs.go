package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// What one account reads and is told (its home and list timelines, its notifications), the list
// of its own statuses, what others did with a status (its replies, boosts, favourites, quotes
// and their counts) and what others did to an account (its followers, requests, blockers) live
// in slots of their own (keys.go), so on a Redis Cluster the MULTI that writes a status, a
// follow, a favourite or a deletion cannot reach them. Such a write runs its MULTI through
// spreadMulti, and queues what it does in other slots on the spreadTx it is handed. On a single server
// every key is in reach of the MULTI, which then does it all, atomically as before. On a cluster
// the MULTI records it instead as a fan-out job in the department's slot, and right after the
// MULTI the writer applies the job: one pipeline for the other slots (which the cluster client
// splits by node), then one MULTI in the department's slot that sends the notifications' stream
// events and pushes and marks the job done, so each event goes out once, after what it
// announces is stored. A job still recorded after fanOutGrace belongs to a writer that died
// between the steps: ResumeFanOutJobs, run by every process's workers, applies it then. The
// first step may run twice (a resumed job whose writer was only slow): adding members with their
// scores, removing members, trimming, setting a record or a field, and setting a count to its
// set's size change nothing the second time.

// fanOutGrace is how long a writer has to apply its job before a worker takes the job for
// orphaned. A writer applies it right after its MULTI; the grace only has to outlast a slow
// round trip, and decides how late a killed writer's readers see what it wrote.
const fanOutGrace = 30 * time.Second

// A timelineMove is one change to a set of timelines.
type timelineMove struct {
	Homes []string `json:"h,omitempty"` // account ids whose home timelines change
	Lists []string `json:"l,omitempty"` // list ids whose timelines change
	// Authors are account ids whose own statuses change (their profile's list, kept whole, and
	// their pins, which lose the statuses leaving).
	Authors []string `json:"p,omitempty"`
	// Favouriters are account ids whose favourites lose the statuses leaving (deleted ones).
	Favouriters []string `json:"f,omitempty"`
	Add         []string `json:"a,omitempty"` // status ids entering, each scored by its id
	Remove      []string `json:"r,omitempty"` // status ids leaving
	// Boosted is, with Add, the post the added boost brings into each home (home_filters.go
	// keeps it out again while it is there), and with Remove the post a home forgets having
	// been brought by a boost.
	Boosted string `json:"b,omitempty"`
	Clear   bool   `json:"c,omitempty"` // the lists' timelines are dropped (the lists are gone)
}

func (m timelineMove) empty() bool {
	return len(m.Homes) == 0 && len(m.Lists) == 0 && len(m.Authors) == 0 && len(m.Favouriters) == 0 ||
		len(m.Add) == 0 && len(m.Remove) == 0 && !m.Clear
}

// queue puts the move's commands on p.
func (m timelineMove) queue(ctx context.Context, p redis.Pipeliner, k keys) {
	added := make([]redis.Z, len(m.Add))
	for i, id := range m.Add {
		added[i] = redis.Z{Score: idScore(id), Member: id}
	}
	removed := toAny(m.Remove)
	for _, home := range m.Homes {
		if len(added) > 0 {
			addTrimmed(ctx, p, k.homeTimeline(home), HomeTimelineLength, added...)
			if m.Boosted != "" {
				addTrimmed(ctx, p, k.homeReblogs(home), HomeTimelineLength, redis.Z{Score: added[0].Score, Member: m.Boosted})
			}
		}
		if len(removed) > 0 {
			p.ZRem(ctx, k.homeTimeline(home), removed...)
			if m.Boosted != "" {
				p.ZRem(ctx, k.homeReblogs(home), m.Boosted)
			}
		}
	}
	for _, author := range m.Authors {
		if len(m.Add) > 0 {
			queueAuthored(ctx, p, k, author, m.Add, false)
		}
		if len(m.Remove) > 0 {
			queueAuthored(ctx, p, k, author, m.Remove, true)
			p.ZRem(ctx, k.accountPins(author), removed...)
		}
	}
	if len(removed) > 0 {
		for _, fan := range m.Favouriters {
			p.ZRem(ctx, k.favourites(fan), removed...)
		}
	}
	for _, list := range m.Lists {
		switch {
		case m.Clear:
			p.Del(ctx, k.listTimeline(list))
		case len(added) > 0:
			addTrimmed(ctx, p, k.listTimeline(list), HomeTimelineLength, added...)
		}
		if len(removed) > 0 && !m.Clear {
			p.ZRem(ctx, k.listTimeline(list), removed...)
		}
	}
}

// authoredLua adds statuses to an author's (KEYS[1]) or removes them, and sets the author's count
// of statuses (KEYS[2]) to the set's size, so a move applied twice counts once: ARGV the
// statuses' ids, after a first argument that is "-" when they leave and otherwise the time (ms)
// of the latest, which last_status_at keeps when no later one is there. A count whose set is
// empty and whose hash is gone is not made again.
const authoredLua = `if ARGV[1] == '-' then
  redis.call('ZREM', KEYS[1], unpack(ARGV, 2))
else
  for i = 2, #ARGV do redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i]) end
  if (tonumber(redis.call('HGET', KEYS[2], 'last_status_at')) or 0) < tonumber(ARGV[1]) then
    redis.call('HSET', KEYS[2], 'last_status_at', ARGV[1])
  end
end
local n = redis.call('ZCARD', KEYS[1])
if n > 0 or redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HSET', KEYS[2], 'statuses', n) end
return n`

// queueAuthored queues authoredLua on p for ids entering author's statuses, or leaving them.
func queueAuthored(ctx context.Context, p redis.Pipeliner, k keys, author string, ids []string, leave bool) {
	args := make([]any, 0, 1+len(ids))
	if leave {
		args = append(args, "-")
	} else {
		latest := ""
		for _, id := range ids {
			latest = max(latest, id) // ids of one length: their string order is their order
		}
		args = append(args, TimeOfID(latest).UnixMilli())
	}
	for _, id := range ids {
		args = append(args, id)
	}
	p.Eval(ctx, authoredLua, []string{k.accountStatuses(author), k.postCounts(author)}, args...)
}

// A statusSet is one of the sets of what others did with a status, each counted in the status's
// counts under its own name.
type statusSet string

const (
	repliesSet    statusSet = "replies"
	reblogsSet    statusSet = "reblogs"
	favouritesSet statusSet = "favourites"
	quotesSet     statusSet = "quotes"
)

// A tally is one member entering or leaving one of a status's sets. The set's count is set to
// the set's size, not incremented, so a tally applied twice counts once (countedSetLua).
type tally struct {
	Status string    `json:"s"`
	Set    statusSet `json:"t"`
	Member string    `json:"m"`
	Score  float64   `json:"o,omitempty"`
	Leave  bool      `json:"l,omitempty"`
}

// countedSetLua adds a member to a sorted set (keeping the score of one already there) or
// removes it, and sets a count to the set's size: KEYS the set and the hash of counts, ARGV the
// count's field, the member and its score ("" when it leaves). A count whose set is empty and
// whose hash is gone (a deleted status's) is not made again. It returns how many members it
// added or removed. Applied twice, it changes nothing the second time.
const countedSetLua = `local changed
if ARGV[3] == '' then changed = redis.call('ZREM', KEYS[1], ARGV[2]) else changed = redis.call('ZADD', KEYS[1], 'NX', ARGV[3], ARGV[2]) end
local n = redis.call('ZCARD', KEYS[1])
if n > 0 or redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HSET', KEYS[2], ARGV[1], n) end
return changed`

// queueCountedSet queues countedSetLua on p for member entering key with score, or leaving it.
func queueCountedSet(ctx context.Context, p redis.Cmdable, key, counts, field, member string, score float64, leave bool) *redis.Cmd {
	arg := ""
	if !leave {
		arg = strconv.FormatFloat(score, 'f', -1, 64)
	}
	return p.Eval(ctx, countedSetLua, []string{key, counts}, field, member, arg)
}

func (t tally) queue(ctx context.Context, p redis.Pipeliner, k keys) {
	queueCountedSet(ctx, p, k.statusSet(t.Status, t.Set), k.statusCounts(t.Status), string(t.Set), t.Member, t.Score, t.Leave)
}

// An edgeSet is one of the sets of what others do to an account, kept in the account's slot.
type edgeSet string

const (
	followersEdges         edgeSet = "followers"
	localFollowersEdges    edgeSet = "followers:local"
	followRequestsEdges    edgeSet = "follow_requests"
	blockedByEdges         edgeSet = "blocked_by"
	notifySubscribersEdges edgeSet = "notify_subscribers" // a set
	followFiltersEdges     edgeSet = "follow_filters"     // a hash of each follower's filter
	listedInEdges          edgeSet = "lists:containing"   // a set of the lists (From) the account is in
)

// An edge is account From entering or leaving a set of account To's, the other side of what
// From did (a follow, a request, a block) or of the follow's options; or list From entering or
// leaving the lists To is in, the other side of To's place among its members. Adding a member
// with its score, removing one and setting a field change nothing the second time.
type edge struct {
	To    string  `json:"a"`
	Set   edgeSet `json:"t"`
	From  string  `json:"m"`
	Score float64 `json:"o,omitempty"` // in the sorted sets
	Value string  `json:"v,omitempty"` // the filter, in followFiltersEdges
	Leave bool    `json:"l,omitempty"`
}

func (e edge) queue(ctx context.Context, p redis.Pipeliner, k keys) {
	key := k.edges(e.To, e.Set)
	setOfIDs := e.Set == notifySubscribersEdges || e.Set == listedInEdges
	switch {
	case setOfIDs && e.Leave:
		p.SRem(ctx, key, e.From)
	case setOfIDs:
		p.SAdd(ctx, key, e.From)
	case e.Set == followFiltersEdges && e.Leave:
		p.HDel(ctx, key, e.From)
	case e.Set == followFiltersEdges:
		p.HSet(ctx, key, e.From, e.Value)
	case e.Set == followersEdges:
		queueCountedSet(ctx, p, key, k.followCounts(e.To), "followers", e.From, e.Score, e.Leave)
	case e.Leave:
		p.ZRem(ctx, key, e.From)
	default:
		p.ZAdd(ctx, key, redis.Z{Score: e.Score, Member: e.From})
	}
}

// fanOutWrites is what one write does in other accounts' and statuses' slots.
type fanOutWrites struct {
	Moves   []timelineMove  `json:"m,omitempty"`
	Notify  []*Notification `json:"n,omitempty"`
	Tallies []tally         `json:"t,omitempty"`
	// Dropped are deleted statuses whose records, sets and counts go, after the tallies.
	Dropped  []string        `json:"d,omitempty"`
	Edges    []edge          `json:"e,omitempty"`
	Rewrites []statusRewrite `json:"w,omitempty"`
	// Events are stream events that announce rewritten records, sent once they are set.
	Events  []channelEvent `json:"v,omitempty"`
	Threads []threadWrite  `json:"c,omitempty"`
	Indexed []uriEntry     `json:"u,omitempty"`
	// Unboosted are deleted boosts leaving their boosters' hashes of boosts.
	Unboosted []boostLeave `json:"b,omitempty"`
	Media     []mediaLink  `json:"a,omitempty"` // uploads attached, detached or dropped
	Polls     []pollWrite  `json:"p,omitempty"` // polls written or dropped
}

// A uriEntry is a status entering or leaving the index of statuses by URI or, with Quote, a
// quote post entering or leaving the index of the remote stamps that authorized quotes.
type uriEntry struct {
	URI   string `json:"u"`
	ID    string `json:"i"`
	Leave bool   `json:"l,omitempty"`
	Quote bool   `json:"q,omitempty"`
}

// leaveLua drops a field of an index (KEYS[1], a hash) only while it names the status leaving:
// ARGV the field and the status's id. What was written there since, by a later status of the
// same URI or a later boost of the same post, stays.
const leaveLua = `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0`

func (e uriEntry) queue(ctx context.Context, p redis.Pipeliner, k keys) {
	index := k.statusByURI(e.URI)
	if e.Quote {
		index = k.quoteAuthorization(e.URI)
	}
	if e.Leave {
		p.Eval(ctx, leaveLua, []string{index}, e.URI, e.ID)
		return
	}
	p.HSet(ctx, index, e.URI, e.ID)
}

// A mediaLink is an upload attached to a status, detached from it (Status "") or deleted with
// it. Attaching an upload deleted meanwhile, or detaching one again, changes nothing.
type mediaLink struct {
	Media  string `json:"m"`
	Status string `json:"s,omitempty"`
	Drop   bool   `json:"d,omitempty"`
}

// attachMediaLua sets or clears the status of an upload's record: KEYS the record, ARGV the
// status's id or "".
const attachMediaLua = `local m = redis.call('GET', KEYS[1])
if not m then return 0 end
local r = cjson.decode(m)
if ARGV[1] == '' then r['status_id'] = nil else r['status_id'] = ARGV[1] end
redis.call('SET', KEYS[1], cjson.encode(r))
return 1`

func (e mediaLink) queue(ctx context.Context, p redis.Pipeliner, k keys) {
	if e.Drop {
		p.Del(ctx, k.media(e.Media))
		return
	}
	// EVAL rather than EVALSHA: inside MULTI a missing script would fail at EXEC.
	p.Eval(ctx, attachMediaLua, []string{k.media(e.Media)}, e.Status)
}

// A boostLeave is a deleted boost, ID, of post Status by Booster, leaving the booster's boosts.
type boostLeave struct {
	Booster string `json:"a"`
	Status  string `json:"s"`
	ID      string `json:"i"`
}

func (e boostLeave) queue(ctx context.Context, p redis.Pipeliner, k keys) {
	p.Eval(ctx, leaveLua, []string{k.boosts(e.Booster)}, e.Status, e.ID)
}

// A channelEvent is a stream event and the channels it goes to.
type channelEvent struct {
	Event    StreamEvent `json:"e"`
	Channels []string    `json:"c"`
}

func (w *fanOutWrites) empty() bool {
	return len(w.Moves) == 0 && len(w.Notify) == 0 && len(w.Tallies) == 0 && len(w.Dropped) == 0 && len(w.Edges) == 0 &&
		len(w.Rewrites) == 0 && len(w.Events) == 0 && len(w.Threads) == 0 && len(w.Indexed) == 0 && len(w.Unboosted) == 0 &&
		len(w.Media) == 0 && len(w.Polls) == 0
}

// announces reports whether w sends anything once its writes are applied.
func (w *fanOutWrites) announces() bool { return len(w.Notify) > 0 || len(w.Events) > 0 }

// A spreadTx is a write's MULTI in the department's slot, with what the write does in other
// slots gathered beside it (move, addNotification, enter, leave, drop, link, rewrite) and what
// announces it (announce) for spreadMulti.
type spreadTx struct {
	redis.Pipeliner
	writes fanOutWrites
}

// move gathers changes to timelines.
func (t *spreadTx) move(moves ...timelineMove) {
	for _, m := range moves {
		if !m.empty() {
			t.writes.Moves = append(t.writes.Moves, m)
		}
	}
}

// enter gathers member entering a status's set, scored by id.
func (t *spreadTx) enter(statusID string, set statusSet, member, id string) {
	t.enterScored(statusID, set, member, idScore(id))
}

// enterScored is enter with the score the member already has elsewhere.
func (t *spreadTx) enterScored(statusID string, set statusSet, member string, score float64) {
	t.writes.Tallies = append(t.writes.Tallies, tally{Status: statusID, Set: set, Member: member, Score: score})
}

// leave gathers member leaving a status's set.
func (t *spreadTx) leave(statusID string, set statusSet, member string) {
	t.writes.Tallies = append(t.writes.Tallies, tally{Status: statusID, Set: set, Member: member, Leave: true})
}

// link gathers edges.
func (t *spreadTx) link(edges ...edge) { t.writes.Edges = append(t.writes.Edges, edges...) }

// drop gathers a deleted status whose record, sets and counts go.
func (t *spreadTx) drop(statusID string) { t.writes.Dropped = append(t.writes.Dropped, statusID) }

// thread gathers a direct status entering its thread in its readers' conversations.
func (t *spreadTx) thread(w threadWrite) { t.writes.Threads = append(t.writes.Threads, w) }

// rewrite gathers a status's record written again.
func (t *spreadTx) rewrite(r statusRewrite) { t.writes.Rewrites = append(t.writes.Rewrites, r) }

// index gathers a status entering or leaving the index of statuses by URI.
func (t *spreadTx) index(e uriEntry) { t.writes.Indexed = append(t.writes.Indexed, e) }

// linkMedia gathers uploads attached to a status, detached or dropped.
func (t *spreadTx) linkMedia(links ...mediaLink) { t.writes.Media = append(t.writes.Media, links...) }

// poll gathers a poll written or deleted.
func (t *spreadTx) poll(w pollWrite) { t.writes.Polls = append(t.writes.Polls, w) }

// unboost gathers a deleted boost leaving its booster's boosts.
func (t *spreadTx) unboost(e boostLeave) { t.writes.Unboosted = append(t.writes.Unboosted, e) }

// announce gathers ev for each channel, sent once the write's fan-out is applied.
func (t *spreadTx) announce(ev StreamEvent, channels []string) {
	t.writes.Events = append(t.writes.Events, channelEvent{Event: ev, Channels: channels})
}

// spreadOf is the spreadTx a write was handed. Every MULTI whose writes reach other accounts'
// slots runs through spreadMulti (applyOnce and writeWithFreeID do), inside watch when it
// WATCHes, so anything else is a mistake in this package that a test meets at once.
func spreadOf(p redis.Pipeliner) *spreadTx {
	t, ok := p.(*spreadTx)
	if !ok {
		panic("store: a write that reaches other accounts' slots must run through spreadMulti")
	}
	return t
}

// spreadMulti runs writes in one MULTI on c (the client, or a transaction that WATCHes) with
// what they gathered for the readers' slots: in the MULTI on a single server; on a cluster as a
// fan-out job, applied once the MULTI has run.
func (s *Store) spreadMulti(ctx context.Context, c redis.Cmdable, writes func(p redis.Pipeliner) error) error {
	var job *fanOutJob
	_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		t := &spreadTx{Pipeliner: p}
		if err := writes(t); err != nil {
			return err
		}
		if s.cluster || s.leaveFanOutJobs {
			job = s.queueFanOutJob(ctx, p, t.writes)
			return nil
		}
		s.queueFanOut(ctx, p, &t.writes)
		s.queueAnnouncements(ctx, p, &t.writes)
		return nil
	})
	if err == nil {
		if w, ok := c.(*watchedTx); ok {
			w.jobs = append(w.jobs, job)
		} else {
			s.finishFanOutJob(ctx, job)
		}
	}
	return err
}

// A watchedTx is a WATCH transaction (watch) whose fan-out jobs are applied once the WATCH is
// over: applying one inside would take a second connection while the WATCH holds its own, and
// enough concurrent writers would then wait on each other for the pool.
type watchedTx struct {
	*redis.Tx
	jobs []*fanOutJob
}

// watch is the client's Watch for writes that go through spreadMulti.
func (s *Store) watch(ctx context.Context, fn func(tx *watchedTx) error, keys ...string) error {
	var jobs []*fanOutJob
	err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		w := &watchedTx{Tx: tx}
		err := fn(w)
		jobs = w.jobs
		return err
	}, keys...)
	if err == nil {
		for _, j := range jobs {
			s.finishFanOutJob(ctx, j)
		}
	}
	return err
}

// A fanOutJob is recorded fan-out, waiting to be applied.
type fanOutJob struct {
	id     string
	writes fanOutWrites
}

// queueFanOutJob records w as a job on p, the write's MULTI; nil when there is nothing to do.
func (s *Store) queueFanOutJob(ctx context.Context, p redis.Pipeliner, w fanOutWrites) *fanOutJob {
	if w.empty() {
		return nil
	}
	j := &fanOutJob{id: RandomToken(12), writes: w}
	p.Set(ctx, s.k.fanOutJob(j.id), mustJSON(w), 0)
	p.ZAdd(ctx, s.k.fanOutJobsDue(), redis.Z{Score: float64(time.Now().Add(fanOutGrace).UnixMilli()), Member: j.id})
	return j
}

// finishFanOutJob applies the job a write's MULTI recorded. When that fails the job stays
// recorded and a worker applies it after its grace, logging what failed: the write itself has
// happened, so the caller reports it made.
func (s *Store) finishFanOutJob(ctx context.Context, j *fanOutJob) {
	if j != nil && !s.leaveFanOutJobs {
		_ = s.applyFanOutJob(ctx, j)
	}
}

// applyFanOutJob applies a recorded job and marks it done.
func (s *Store) applyFanOutJob(ctx context.Context, j *fanOutJob) error {
	if !j.writes.empty() {
		p := s.rdb.Pipeline()
		s.queueFanOut(ctx, p, &j.writes)
		if _, err := p.Exec(ctx); err != nil {
			return fmt.Errorf("fan-out job %s: %w", j.id, err)
		}
	}
	// Only once every node has answered: a job marked done before its writes landed would be
	// lost with the process, and an event sent before would announce what is not there yet.
	// Watching the job makes the announcements go out with the first mark only, when a worker
	// resumed the job of a writer that was slow rather than dead; a job that announces nothing
	// needs no watch.
	key := s.k.fanOutJob(j.id)
	if !j.writes.announces() {
		_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			s.queueJobDone(ctx, p, j)
			return nil
		})
		if err != nil {
			return fmt.Errorf("fan-out job %s done: %w", j.id, err)
		}
		return nil
	}
	err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		if n, err := tx.Exists(ctx, key).Result(); err != nil || n == 0 {
			if err == nil { // marked by another applier; only a claim of it can be left
				err = tx.ZRem(ctx, s.k.fanOutJobsDue(), j.id).Err()
			}
			return err
		}
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			s.queueAnnouncements(ctx, p, &j.writes)
			s.queueJobDone(ctx, p, j)
			return nil
		})
		return err
	}, key)
	if err != nil && !errors.Is(err, redis.TxFailedErr) {
		return fmt.Errorf("fan-out job %s done: %w", j.id, err)
	}
	return nil
}

// queueJobDone queues on p, a MULTI in the department's slot, the mark that j is done, and drops
// the marks of the statuses it indexed by URI (claimStatusID).
func (s *Store) queueJobDone(ctx context.Context, p redis.Pipeliner, j *fanOutJob) {
	p.Del(ctx, s.k.fanOutJob(j.id))
	p.ZRem(ctx, s.k.fanOutJobsDue(), j.id)
	for _, e := range j.writes.Indexed {
		if !e.Leave {
			p.Del(ctx, s.k.statusIndexing(e.ID))
		}
	}
}

// queueFanOut queues w's writes to the readers' slots on p.
func (s *Store) queueFanOut(ctx context.Context, p redis.Pipeliner, w *fanOutWrites) {
	queueEach(ctx, p, s.k, w.Moves)
	for _, n := range w.Notify {
		p.Set(ctx, s.k.notification(n.AccountID, n.ID), mustJSON(n), 0)
		addTrimmed(ctx, p, s.k.notifications(n.AccountID), notificationsKept, redis.Z{Score: idScore(n.ID), Member: n.ID})
	}
	queueEach(ctx, p, s.k, w.Tallies)
	queueEach(ctx, p, s.k, w.Rewrites)
	queueEach(ctx, p, s.k, w.Threads)
	for _, id := range w.Dropped {
		keys := []string{s.k.status(id), s.k.statusHistory(id), s.k.statusRecordVersion(id), s.k.statusCounts(id)}
		for _, set := range statusSets {
			keys = append(keys, s.k.statusSet(id, set))
		}
		p.Del(ctx, keys...)
	}
	queueEach(ctx, p, s.k, w.Edges)
	queueEach(ctx, p, s.k, w.Indexed)
	queueEach(ctx, p, s.k, w.Unboosted)
	queueEach(ctx, p, s.k, w.Media)
	queueEach(ctx, p, s.k, w.Polls)
}

// A jobEntry is one kind of a fan-out job's writes, which queues its own commands.
type jobEntry interface {
	queue(ctx context.Context, p redis.Pipeliner, k keys)
}

func queueEach[E jobEntry](ctx context.Context, p redis.Pipeliner, k keys, entries []E) {
	for _, e := range entries {
		e.queue(ctx, p, k)
	}
}

// queueAnnouncements queues on p, a MULTI in the department's slot, w's stream events and the
// stream events and Web Push jobs of its notifications.
func (s *Store) queueAnnouncements(ctx context.Context, p redis.Pipeliner, w *fanOutWrites) {
	for _, e := range w.Events {
		for _, c := range e.Channels {
			s.publish(ctx, p, c, e.Event)
		}
	}
	for _, n := range w.Notify {
		s.publish(ctx, p, s.k.streamHome(n.AccountID), StreamEvent{Event: EventNotification, ID: n.ID})
		s.queuePush(ctx, p, n)
	}
}

// FanOutBacklog counts the fan-out jobs recorded and not yet done at now, and of them those
// overdue: past their writer's grace (or a resuming worker's lease), left by a process that
// died. On a single server there are none: the write's MULTI does its fan-out.
func (s *Store) FanOutBacklog(ctx context.Context, now time.Time) (recorded, overdue int64, err error) {
	p := s.rdb.Pipeline()
	all := p.ZCard(ctx, s.k.fanOutJobsDue())
	late := p.ZCount(ctx, s.k.fanOutJobsDue(), "-inf", strconv.FormatInt(now.UnixMilli(), 10))
	if _, err := p.Exec(ctx); err != nil {
		return 0, 0, fmt.Errorf("fan-out backlog: %w", err)
	}
	return all.Val(), late.Val(), nil
}

// ResumeFanOutJobs applies up to limit jobs that their writers left recorded past the grace,
// leasing each one for lease so that one process at a time takes it up, and returns how many
// it applied.
func (s *Store) ResumeFanOutJobs(ctx context.Context, now time.Time, lease time.Duration, limit int) (int, error) {
	ids, err := claimDueScript.Run(ctx, s.rdb, []string{s.k.fanOutJobsDue()},
		now.UnixMilli(), now.Add(lease).UnixMilli(), limit).StringSlice()
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.k.fanOutJob(id)
	}
	raws, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return 0, fmt.Errorf("read fan-out jobs: %w", err)
	}
	applied := 0
	var unreadable error
	for i, id := range ids {
		j := &fanOutJob{id: id}
		// A job gone between the claim and the read was done by its writer: marking it done
		// again only drops its claim. One that does not decode was not written by this code,
		// and would come back every lease: it is dropped, and reported.
		if raw, ok := raws[i].(string); ok {
			if err := json.Unmarshal([]byte(raw), &j.writes); err != nil {
				unreadable = errors.Join(unreadable, fmt.Errorf("fan-out job %s dropped: %w", id, err))
				j.writes = fanOutWrites{}
			}
			if err := s.withoutStale(ctx, &j.writes); err != nil {
				return applied, err
			}
		}
		if err := s.applyFanOutJob(ctx, j); err != nil {
			return applied, err
		}
		applied++
	}
	return applied, unreadable
}

// withoutStale drops from w what has changed since its job was recorded: a post deleted while
// its fan-out was pending must not come back into the timelines its deletion already swept (nor
// start a thread in anyone's conversations, nor hold uploads its redraft reuses, nor leave a
// poll), and a tally counts only what still stands (a
// favourite since withdrawn, a boost since undone, a status since deleted) or, leaving, what has
// not been done again.
func (s *Store) withoutStale(ctx context.Context, w *fanOutWrites) error {
	var ids []string
	for _, m := range w.Moves {
		ids = append(ids, m.Add...)
	}
	for _, t := range w.Threads {
		ids = append(ids, t.Status)
	}
	for _, e := range w.Indexed {
		ids = append(ids, e.ID)
	}
	for _, e := range w.Media {
		if e.Status != "" {
			ids = append(ids, e.Status)
		}
	}
	for _, e := range w.Polls {
		if !e.Drop {
			ids = append(ids, e.ID)
		}
	}
	if len(ids) == 0 && len(w.Tallies) == 0 && len(w.Edges) == 0 {
		return nil
	}
	p := s.rdb.Pipeline()
	exists := make(map[string]*redis.IntCmd, len(ids))
	for _, id := range ids {
		exists[id] = p.Exists(ctx, s.k.status(id))
	}
	facts := make([]func() bool, len(w.Tallies))
	for i, t := range w.Tallies {
		facts[i] = s.tallyStands(ctx, p, t, w.Unboosted)
	}
	edgeFacts, options := make([]func() bool, len(w.Edges)), make([]*redis.StringCmd, len(w.Edges))
	for i, e := range w.Edges {
		edgeFacts[i] = s.edgeStands(ctx, p, e)
		if e.Set == notifySubscribersEdges || e.Set == followFiltersEdges {
			options[i] = p.HGet(ctx, s.k.followOptions(e.From), e.To)
		}
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("fan-out job statuses: %w", err)
	}
	for i := range w.Moves {
		w.Moves[i].Add = slices.DeleteFunc(w.Moves[i].Add, func(id string) bool { return exists[id].Val() == 0 })
	}
	w.Moves = slices.DeleteFunc(w.Moves, timelineMove.empty)
	w.Threads = slices.DeleteFunc(w.Threads, func(t threadWrite) bool { return exists[t.Status].Val() == 0 })
	w.Indexed = slices.DeleteFunc(w.Indexed, func(e uriEntry) bool { return !e.Leave && exists[e.ID].Val() == 0 })
	w.Media = slices.DeleteFunc(w.Media, func(e mediaLink) bool { return e.Status != "" && exists[e.Status].Val() == 0 })
	w.Polls = slices.DeleteFunc(w.Polls, func(e pollWrite) bool { return !e.Drop && exists[e.ID].Val() == 0 })
	kept := w.Tallies[:0]
	for i, t := range w.Tallies {
		stands := facts[i] != nil && facts[i]()
		if stands != t.Leave {
			kept = append(kept, t)
		}
	}
	w.Tallies = kept
	edges := w.Edges[:0]
	for i, e := range w.Edges {
		stands := edgeFacts[i]()
		switch {
		case stands && options[i] != nil && options[i].Err() == nil:
			edges = append(edges, currentOption(e, options[i].Val()))
		case stands != e.Leave:
			edges = append(edges, e)
		}
	}
	w.Edges = edges
	return nil
}

// edgeStands queues the check of whether what e is the other side of stands: To among From's
// follows (for followers, and for the follow's notifications and filter), requests or blocks, in
// From's slot, or among list From's members. The answer is read once p has run.
func (s *Store) edgeStands(ctx context.Context, p redis.Pipeliner, e edge) func() bool {
	switch e.Set {
	case listedInEdges:
		return p.SIsMember(ctx, s.k.listMembers(e.From), e.To).Val
	case followRequestsEdges:
		return found(p.ZScore(ctx, s.k.requested(e.From), e.To))
	case blockedByEdges:
		return found(p.ZScore(ctx, s.k.blocks(e.From), e.To))
	default:
		return found(p.ZScore(ctx, s.k.following(e.From), e.To))
	}
}

// currentOption makes e, one side of a follow's options, what the follow's options are now
// (raw, as stored): options changed since e was recorded win over it.
func currentOption(e edge, raw string) edge {
	var opts FollowOptions
	_ = unmarshalString(raw, &opts)
	if e.Set == notifySubscribersEdges {
		e.Leave = !opts.Notify
		return e
	}
	filter, ok := followFilterOf(opts)
	e.Value, e.Leave = filter, !ok
	return e
}

// tallyStands queues the check of whether t's fact stands: the favourite in the member's
// favourites, the boost in the member's boosts (other than one its job's unboosted take out),
// a reply or quote in the replying or quoting status being there; and, for a member entering,
// the status being there. Nothing undoes a reply or quote leaving (it was deleted or
// withdrawn), so that is not checked (nil). The answer is read once p has run.
func (s *Store) tallyStands(ctx context.Context, p redis.Pipeliner, t tally, unboosted []boostLeave) func() bool {
	var fact func() bool
	switch {
	case t.Set == favouritesSet:
		fact = found(p.ZScore(ctx, s.k.favourites(t.Member), t.Status))
	case t.Set == reblogsSet:
		// A deleted boost leaves its booster's boosts in the same job as its tally, after
		// this check: until then the boost found there may be the one leaving.
		boost := p.HGet(ctx, s.k.boosts(t.Member), t.Status)
		fact = func() bool {
			return boost.Err() == nil && !slices.Contains(unboosted, boostLeave{Booster: t.Member, Status: t.Status, ID: boost.Val()})
		}
	case t.Leave:
		return nil
	default:
		fact = positive(p.Exists(ctx, s.k.status(t.Member)))
	}
	if t.Leave {
		return fact
	}
	there := positive(p.Exists(ctx, s.k.status(t.Status)))
	return func() bool { return there() && fact() }
}

// found reads a reply as whether what it looked up was there.
func found(c redis.Cmder) func() bool { return func() bool { return c.Err() == nil } }

// positive reads a count as whether it is above zero.
func positive(c *redis.IntCmd) func() bool { return func() bool { return c.Val() > 0 } }
