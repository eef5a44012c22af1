package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Batched reads for rendering pages of statuses. Rendering a page needs its statuses, the
// accounts hidden from the viewer, the authors and mentioned accounts with their counters, the
// statuses' counters and media, the viewer's flags and filters: read one by one that was ten
// round trips, each a write, a read and a goroutine wake-up on both ends. Here the independent
// reads share one pipeline: a page costs two round trips after its entries (three when it holds
// boosts, whose originals are known only once the boosts are read), and one when its statuses
// were read before (see ReadPage). The single-purpose methods (Statuses, Hidden, ViewerFlags,
// ...) stay for other callers; the queries here mirror them and must stay in step.

// StatusesFor reads statuses in the order of ids, skipping unknown ones, and, when viewerID is
// not empty, the accounts whose statuses the viewer must not see (as Hidden does), in one round
// trip. The statuses are shared with other readers (see memo): read them, never modify them.
func (s *Store) StatusesFor(ctx context.Context, viewerID string, ids []string) ([]*Status, map[string]bool, error) {
	r, err := s.ReadPage(ctx, PageRead{ViewerID: viewerID, StatusIDs: ids})
	if err != nil {
		return nil, nil, err
	}
	return r.Statuses, r.Hidden, nil
}

// RenderQuery names what rendering a set of statuses needs besides the statuses.
type RenderQuery struct {
	AccountIDs []string // authors and mentioned accounts: records and counters
	StatusIDs  []string // counters and, with a viewer, the viewer's flags
	MediaIDs   []string
	// ViewerID is the reader, "" when anonymous: then neither flags nor filters are read.
	ViewerID string
	// Filters asks for the viewer's filters too.
	Filters bool
	// Following asks which of AccountIDs the viewer follows, for a visibility check of
	// followers-only statuses at no extra round trip.
	Following bool
	// PollIDs are the polls to read, with the viewer's votes in them.
	PollIDs []string
}

// RenderData is what LoadRenderData read. Unknown accounts and media are absent from their maps;
// every asked-for id has (possibly zero) counters and, with a viewer, flags. The accounts are
// shared with other readers (see memo): read them, never modify them.
type RenderData struct {
	Accounts      map[string]*Account
	AccountCounts map[string]AccountCounts
	StatusCounts  map[string]StatusCounts
	Media         map[string]*Media
	ViewerFlags   map[string]ViewerFlags // nil when anonymous
	Filters       []*Filter              // when asked for, oldest first, expired ones included
	Following     map[string]bool        // when asked for with a viewer: the accounts it follows
	Polls         map[string]*Poll       // by id; unknown ones absent
	PollVotes     map[string][]int       // the viewer's choices by poll id, present when it voted
}

// LoadRenderData reads, in one round trip, what Accounts, AccountCounts, StatusCounts,
// MediaByIDs, ViewerFlags and Filters would read in six.
func (s *Store) LoadRenderData(ctx context.Context, q RenderQuery) (*RenderData, error) {
	r, err := s.ReadPage(ctx, PageRead{Render: &q})
	if err != nil {
		return nil, err
	}
	return r.Render, nil
}

// PageRead asks ReadPage for any of: statuses, the accounts hidden from a viewer, the boosted
// statuses, and what rendering needs.
type PageRead struct {
	ViewerID  string   // with StatusIDs, also read the accounts hidden from this viewer
	StatusIDs []string // statuses, in order
	ReblogIDs []string // more statuses, typically the ones StatusIDs boost
	Render    *RenderQuery
}

// PageData is what ReadPage read; the records are shared with other readers (see memo): read them,
// never modify them.
type PageData struct {
	Statuses, Reblogs []*Status // in the order asked for, unknown ones left out
	Hidden            map[string]bool
	Render            *RenderData
}

// ReadPage reads, in one round trip, what StatusesFor, Statuses and LoadRenderData read in three.
// Rendering needs what the statuses name, so it can ask for both at once only by guessing the
// statuses from RememberedStatus; it then checks that the statuses read are the ones it guessed.
func (s *Store) ReadPage(ctx context.Context, q PageRead) (*PageData, error) {
	p := &lazyPipeline{rdb: s.rdb}
	statuses := s.queueStatuses(ctx, p, q.StatusIDs)
	reblogs := s.queueStatuses(ctx, p, q.ReblogIDs)
	var hidden func() map[string]bool
	if q.ViewerID != "" && len(q.StatusIDs) > 0 {
		hidden = s.queueHidden(ctx, p, q.ViewerID)
	}
	var render func() (*RenderData, error)
	if q.Render != nil {
		render = s.queueRenderData(ctx, p, *q.Render)
	}
	if err := p.exec(ctx); err != nil {
		return nil, fmt.Errorf("read page: %w", err)
	}
	out := &PageData{}
	var err error
	if out.Statuses, err = statuses(); err != nil {
		return nil, err
	}
	if out.Reblogs, err = reblogs(); err != nil {
		return nil, err
	}
	if hidden != nil {
		out.Hidden = hidden()
	}
	if render != nil {
		if out.Render, err = render(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// lazyPipeline is a pipeline made when the first command is queued on it: a page read entirely
// from the read cache makes none (a pipeline was a tenth of the allocations of a cached status
// read).
type lazyPipeline struct {
	rdb redis.UniversalClient
	p   redis.Pipeliner
}

// get is the pipeline to queue a command on.
func (lp *lazyPipeline) get() redis.Pipeliner {
	if lp.p == nil {
		lp.p = lp.rdb.Pipeline()
	}
	return lp.p
}

// exec runs the commands queued, if any; a key not found is no error.
func (lp *lazyPipeline) exec(ctx context.Context) error {
	if lp.p == nil || lp.p.Len() == 0 {
		return nil
	}
	if _, err := lp.p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	return nil
}

// RememberedStatus returns the status as StatusesFor or ReadPage last read it, or nil; it reads
// nothing from Redis, so the status may have changed or gone since. The status is shared (see
// memo): read it, never modify it.
func (s *Store) RememberedStatus(id string) *Status {
	if e, ok := s.statusMemo.entries.get(id); ok {
		return e.rec
	}
	return nil
}

// queueStatuses queues the read of statuses on p; the returned function, called after p runs,
// decodes them (through the memo) in the order of ids, leaving out unknown ones.
func (s *Store) queueStatuses(ctx context.Context, p *lazyPipeline, ids []string) func() ([]*Status, error) {
	if len(ids) == 0 {
		return func() ([]*Status, error) { return nil, nil }
	}
	got := queueCached(ctx, s, p, s.statusMemo.decode, ids, s.k.statusByID())
	return func() ([]*Status, error) {
		m, err := got()
		if err != nil {
			return nil, err
		}
		out := make([]*Status, 0, len(ids))
		for _, id := range ids {
			if st, ok := m[id]; ok {
				out = append(out, st)
			}
		}
		return out, nil
	}
}

// queueCached takes the records of ids (under key.of(id)) from the cache and queues the read
// of the others on p; the returned function, called after p runs, decodes them with decode (of
// an id and its record) and gives every record found by id.
func queueCached[T any](ctx context.Context, s *Store, p *lazyPipeline, decode func(id, raw string) (*T, error), ids []string, key idKey) func() (map[string]*T, error) {
	out, miss := cachedByID[*T](s, key, ids)
	if len(miss) == 0 {
		return func() (map[string]*T, error) { return out, nil }
	}
	epoch := s.cache.begin()
	missKeys := make([]string, len(miss))
	for j, i := range miss {
		missKeys[j] = key.of(ids[i])
	}
	vals := s.queueMGet(ctx, p.get(), missKeys, key.ownSlots())
	return func() (map[string]*T, error) {
		for j, v := range vals() {
			str, ok := v.(string)
			if !ok {
				continue
			}
			id := ids[miss[j]]
			rec, err := decode(id, str)
			if err != nil {
				return nil, err
			}
			s.cache.put(epoch, missKeys[j], rec)
			out[id] = rec
		}
		return out, nil
	}
}

// queueRenderData queues LoadRenderData's reads on p; the returned function, called after p
// runs, decodes them.
func (s *Store) queueRenderData(ctx context.Context, p *lazyPipeline, q RenderQuery) func() (*RenderData, error) {
	accounts := queueCached(ctx, s, p, s.accountMemo.decode, q.AccountIDs, s.k.accountByID())
	media := queueCached(ctx, s, p, decodeMedia, q.MediaIDs, s.k.mediaByID())
	accountCounts := s.queueAccountCounts(ctx, p, q.AccountIDs)
	statusCounts := queueCounts(ctx, s, p, q.StatusIDs, s.k.statusCountsByID(), statusCountFields, statusCountsOf)
	var flags func() map[string]ViewerFlags
	var filters func() ([]*Filter, error)
	var following func() ([]bool, error)
	if q.ViewerID != "" {
		flags = s.queueViewerFlags(ctx, p, q.ViewerID, q.StatusIDs)
		if q.Filters {
			filters = queueKeyRead(s, s.k.filters(q.ViewerID), "", func() redis.Cmder {
				return p.get().HGetAll(ctx, s.k.filters(q.ViewerID))
			}, func(c redis.Cmder) ([]*Filter, error) {
				return decodeFilters(c.(*redis.MapStringStringCmd).Val())
			}, nil)
		}
		if q.Following && len(q.AccountIDs) > 0 {
			following = queueScored(ctx, s, p, s.k.following(q.ViewerID), q.AccountIDs, strings.Join(q.AccountIDs, ","))
		}
	}
	polls := s.queuePolls(ctx, p, q.PollIDs, q.ViewerID)
	return func() (*RenderData, error) {
		out := &RenderData{AccountCounts: accountCounts(), StatusCounts: statusCounts()}
		var err error
		if out.Accounts, err = accounts(); err != nil {
			return nil, err
		}
		if out.Media, err = media(); err != nil {
			return nil, err
		}
		if flags != nil {
			out.ViewerFlags = flags()
		}
		if filters != nil {
			if out.Filters, err = filters(); err != nil {
				return nil, err
			}
		}
		out.Polls, out.PollVotes = polls()
		if q.Following && q.ViewerID != "" {
			out.Following = make(map[string]bool, len(q.AccountIDs))
			if following != nil {
				follows, _ := following()
				for i, id := range q.AccountIDs {
					out.Following[id] = i < len(follows) && follows[i]
				}
			}
		}
		return out, nil
	}
}

// queueHidden queues Hidden's reads on p, of the lists the cache does not hold; the returned
// function, called after p runs, gives its answer.
func (s *Store) queueHidden(ctx context.Context, p *lazyPipeline, accountID string) func() map[string]bool {
	lists := []func() ([]string, error){
		queueMembers(ctx, s, p, s.k.blocks(accountID)),
		queueMembers(ctx, s, p, s.k.blockedBy(accountID)),
		queueMembers(ctx, s, p, s.k.mutes(accountID)),
	}
	domains := queueMembers(ctx, s, p, s.k.userDomainBlocks(accountID))
	return func() map[string]bool {
		out := map[string]bool{}
		for _, list := range lists {
			ids, _ := list()
			for _, id := range ids {
				out[id] = true
			}
		}
		blocked, _ := domains()
		for _, d := range blocked {
			out[HiddenDomainKey(d)] = true
		}
		return out
	}
}

// maxCachedMembers bounds the lists queueMembers caches: a list longer than that (an account
// blocking a whole server's worth of people) is read from Redis each time rather than held.
const maxCachedMembers = 4096

// queueMembers gives the members of the sorted set key, from the cache or by queueing a read on
// p.
func queueMembers(ctx context.Context, s *Store, p *lazyPipeline, key string) func() ([]string, error) {
	return queueKeyRead(s, key, "", func() redis.Cmder { return p.get().ZRange(ctx, key, 0, -1) },
		func(c redis.Cmder) ([]string, error) { return c.(*redis.StringSliceCmd).Result() },
		func(members []string) bool { return len(members) <= maxCachedMembers })
}

// queueKeyRead gives what decode makes of a read of key: from the read cache when it holds it
// (as key's record, or as the value derived from key named name when name is not empty), else
// by queueing the read on p with queue and caching what decode makes of its answer after p
// runs, unless keep (when not nil) refuses it. The cache drops it with key, so it holds only
// for values that depend on key alone.
func queueKeyRead[T any](s *Store, key, name string, queue func() redis.Cmder, decode func(redis.Cmder) (T, error), keep func(T) bool) func() (T, error) {
	var v any
	var ok bool
	if name == "" {
		v, ok = s.cache.get(key)
	} else {
		v, ok = s.cache.derived(key, name)
	}
	if ok {
		return func() (T, error) { return v.(T), nil }
	}
	epoch := s.cache.begin()
	cmd := queue()
	return func() (T, error) {
		val, err := decode(cmd)
		if err != nil || cmd.Err() != nil || (keep != nil && !keep(val)) {
			return val, err
		}
		if name == "" {
			s.cache.put(epoch, key, val)
		} else {
			s.cache.putDerived(epoch, key, name, val)
		}
		return val, nil
	}
}

// HiddenDomainKey is how a domain the viewer blocks appears among the hidden accounts: a key no
// account id can take. StatusHidden checks it.
func HiddenDomainKey(domain string) string { return "@" + domain }

// StatusHidden reports whether hidden (from Hidden or StatusesFor) hides st: its author is
// blocked, blocking or muted, or its author's domain is blocked.
func StatusHidden(hidden map[string]bool, st *Status) bool {
	if hidden[st.AccountID] {
		return true
	}
	if st.Local || len(hidden) == 0 {
		return false
	}
	u, err := url.Parse(st.URI)
	return err == nil && hidden[HiddenDomainKey(strings.ToLower(u.Host))]
}

// queueViewerFlags queues ViewerFlags' reads on p as four commands whatever the number of
// statuses (ZMSCORE and HMGET take many members), where ViewerFlags sends four per status: on a
// 20-status page that is 4 commands for Redis to parse and answer instead of 80. What it read
// for the same statuses before is kept in the read cache (derived from each key, so a change to
// the viewer's favourites or boosts, say, drops it): a page polled again reads nothing.
// The returned function, called after p runs, gives the flags.
func (s *Store) queueViewerFlags(ctx context.Context, p *lazyPipeline, viewerID string, statusIDs []string) func() map[string]ViewerFlags {
	if len(statusIDs) == 0 {
		return func() map[string]ViewerFlags { return map[string]ViewerFlags{} }
	}
	page := strings.Join(statusIDs, ",")
	fav := queueScored(ctx, s, p, s.k.favourites(viewerID), statusIDs, page)
	book := queueScored(ctx, s, p, s.k.bookmarks(viewerID), statusIDs, page)
	pin := queueScored(ctx, s, p, s.k.accountPins(viewerID), statusIDs, page)
	reblog := queueKeyRead(s, s.k.boosts(viewerID), page, func() redis.Cmder {
		return p.get().HMGet(ctx, s.k.boosts(viewerID), statusIDs...)
	}, presence, nil)
	return func() map[string]ViewerFlags {
		isFav, _ := fav()
		isBook, _ := book()
		isPin, _ := pin()
		isReblog, _ := reblog()
		at := func(flags []bool, i int) bool { return i < len(flags) && flags[i] }
		out := make(map[string]ViewerFlags, len(statusIDs))
		for i, id := range statusIDs {
			out[id] = ViewerFlags{
				Favourited: at(isFav, i), Bookmarked: at(isBook, i), Pinned: at(isPin, i), Reblogged: at(isReblog, i),
			}
		}
		return out
	}
}

// queueScored gives which of members are in the sorted set key (a ZMSCORE): from the read cache
// when the same members, joined into name, were asked for since key last changed, else by
// queueing the command on p.
func queueScored(ctx context.Context, s *Store, p *lazyPipeline, key string, members []string, name string) func() ([]bool, error) {
	return queueKeyRead(s, key, name, func() redis.Cmder {
		args := make([]any, 0, 2+len(members))
		args = append(args, "zmscore", key)
		for _, m := range members {
			args = append(args, m)
		}
		return p.get().Do(ctx, args...)
	}, presence, nil)
}

// presence reads a ZMSCORE or HMGET answer as which of the members asked for are there: nil
// stands for one that is absent.
func presence(c redis.Cmder) ([]bool, error) {
	var vals []any
	var err error
	switch c := c.(type) {
	case *redis.Cmd:
		vals, err = c.Slice()
	case *redis.SliceCmd:
		vals, err = c.Result()
	}
	out := make([]bool, len(vals))
	for i, v := range vals {
		out[i] = v != nil
	}
	return out, err
}

// decodeMedia decodes a media record (for queueCached).
func decodeMedia(_, raw string) (*Media, error) {
	var m Media
	if err := unmarshalString(raw, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// The counter fields ReadPage reads, boxed once (see hmget).
var (
	postCountFields   = []any{"statuses", "last_status_at"}
	followCountFields = []any{"followers", "following"}
	statusCountFields = []any{"replies", "reblogs", "favourites", "quotes"}
)

// queueAccountCounts queues the reads of the counters of ids: their posts', kept with their
// statuses, and their follows', kept in each account's slot (keys.go).
func (s *Store) queueAccountCounts(ctx context.Context, p *lazyPipeline, ids []string) func() map[string]AccountCounts {
	posts := queueCounts(ctx, s, p, ids, s.k.postCountsByID(), postCountFields, postCountsOf)
	follows := queueCounts(ctx, s, p, ids, s.k.followCountsByID(), followCountFields, followCountsOf)
	return func() map[string]AccountCounts {
		out := posts()
		for id, f := range follows() {
			c := out[id]
			c.Followers, c.Following = f.Followers, f.Following
			out[id] = c
		}
		return out
	}
}

// queueCounts takes the counters of ids (hashes under k.of(id)) from the cache and queues an
// HMGET of fields of the others on p; the returned function, called after p runs, gives every
// id's counters (zero when absent), as decode makes them of the HMGET reply.
func queueCounts[C any](ctx context.Context, s *Store, p *lazyPipeline, ids []string, k idKey, fields []any, decode func([]any) C) func() map[string]C {
	out, miss := cachedByID[C](s, k, ids)
	if len(miss) == 0 {
		return func() map[string]C { return out }
	}
	epoch := s.cache.begin()
	keys := make([]string, len(miss))
	cmds := make([]*redis.Cmd, len(miss))
	for j, i := range miss {
		keys[j] = k.of(ids[i])
		cmds[j] = hmget(ctx, p.get(), keys[j], fields)
	}
	return func() map[string]C {
		for j, i := range miss {
			v, _ := cmds[j].Slice()
			c := decode(v)
			if cmds[j].Err() == nil {
				s.cache.put(epoch, keys[j], c)
			}
			out[ids[i]] = c
		}
		return out
	}
}

// hmget queues an HMGET of fields. Unlike go-redis's HMGet, which boxes every field name of
// every command, it takes them boxed once for the thirty-odd counter reads of a page.
func hmget(ctx context.Context, p redis.Pipeliner, key string, fields []any) *redis.Cmd {
	args := make([]any, 0, 2+len(fields))
	args = append(args, "hmget", key)
	return p.Do(ctx, append(args, fields...)...)
}

// postCountsOf decodes an HMGET of statuses and last_status_at.
func postCountsOf(v []any) AccountCounts {
	if len(v) < 2 {
		return AccountCounts{}
	}
	c := AccountCounts{Statuses: toInt(v[0])}
	if ms := toInt(v[1]); ms > 0 {
		c.LastStatusAt = time.UnixMilli(ms).UTC()
	}
	return c
}

// followCountsOf decodes an HMGET of followers and following.
func followCountsOf(v []any) AccountCounts {
	if len(v) < 2 {
		return AccountCounts{}
	}
	return AccountCounts{Followers: toInt(v[0]), Following: toInt(v[1])}
}

// statusCountsOf decodes an HMGET of replies, reblogs, favourites and quotes, as StatusCounts
// reads them.
func statusCountsOf(v []any) StatusCounts {
	if len(v) < 4 {
		return StatusCounts{}
	}
	return StatusCounts{Replies: toInt(v[0]), Reblogs: toInt(v[1]), Favourites: toInt(v[2]), Quotes: toInt(v[3])}
}
