package store

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// The read cache keeps decoded records of the keys almost every request reads (tokens, accounts
// and their counters, users, statuses and their counters, media, follow-request sets, pages of
// home timelines, and what a viewer's pages are read with: blocks, mutes, filters, follows of
// the authors, favourites, bookmarks and boosts of the statuses on them) in process memory, so that a hot read costs no Redis round trip. Redis stays the one owner of the data:
//
//   - Every process caching an instance's keys holds a connection to each server (each master of
//     a cluster) on which Redis tracks the cached key prefixes in broadcast mode (CLIENT
//     TRACKING ... BCAST PREFIX), so a write to one of them by anyone (another process, an admin
//     command, a Lua script, an expiry) sends that key's name to every such process, which drops
//     it. Redis queues the invalidation before it answers the writer, so another process's next
//     read finds it waiting on its socket.
//   - The process's own writes drop their keys synchronously (a go-redis hook sees every command
//     the store sends), so a process always reads its own writes.
//   - A record read before a write and stored after it would be stale forever: a fill is kept
//     only when no invalidation of any key arrived while it was being read (the epoch).
//   - Until every tracking connection is subscribed, and from the moment one fails or stops
//     answering pings until it is subscribed again, the cache is empty and off: an invalidation
//     it may have missed cannot leave a stale entry behind. On a cluster the masters are looked
//     up every cacheTopologyPoll: a new one (a promoted replica) turns the cache off until it
//     is tracked too, a gone one is no longer waited for.
//
// Cached records are shared by every reader: read them, never modify them; methods that hand
// records to callers who may modify them hand out copies.

// cacheInvalidations is the channel Redis sends tracking invalidations on (RESP2 redirect).
const cacheInvalidations = "__redis__:invalidate"

// cachePing is how long the tracking connection may stay silent before it is pinged; a ping not
// answered within the same time counts as a lost connection.
const cachePing = 15 * time.Second

// DefaultCacheEntries bounds the read cache: at about 1 KiB per status and 2 KiB per account
// decoded, some 20–30 MiB when full.
const DefaultCacheEntries = 16384

// cacheTopologyPoll is how often a cluster's masters are looked up: how long writes on a newly
// promoted master can go untracked.
const cacheTopologyPoll = time.Second

// readCache is a bounded LRU of decoded records by Redis key.
type readCache struct {
	max int

	mu sync.Mutex
	// down counts what keeps the cache off: tracking connections not subscribed, and the start
	// until the first ones are made.
	down  int
	epoch uint64
	lru   *list.List // of *cacheEntry, most recently used first
	items map[string]*list.Element
}

type cacheEntry struct {
	key string
	val any
	// derived holds what was made of val (a rendered document, say) or, for a hash, of its
	// fields; it goes when the key is invalidated.
	derived map[string]any
}

// maxDerived bounds the values derived from one key (lookups of names in an index hash, say,
// which anyone can ask for).
const maxDerived = 4096

func newReadCache(max int) *readCache {
	return &readCache{max: max, down: 1, lru: list.New(), items: make(map[string]*list.Element)}
}

// get returns the cached record of key, if any.
func (c *readCache) get(key string) (any, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	return c.hitLocked(e, ok)
}

// An idKey names the keys of one kind by id: prefix+id+suffix.
type idKey struct{ prefix, suffix string }

func (k idKey) of(id string) string { return k.prefix + id + k.suffix }

// ownSlots reports whether each id's key is in a slot of its own: its tag closes after the id.
func (k idKey) ownSlots() bool { return strings.HasPrefix(k.suffix, "}") }

// getByID returns the cached record of the key k.of(id), if any, without making the key: a
// page's reads look up some forty keys, each of which was an allocation.
func (c *readCache) getByID(k idKey, id string) (any, bool) {
	if c == nil {
		return nil, false
	}
	var scratch [96]byte
	key := append(append(append(scratch[:0], k.prefix...), id...), k.suffix...)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[string(key)] // a lookup by string(bytes) copies nothing
	return c.hitLocked(e, ok)
}

// hitLocked gives the record of a looked-up entry, marking it used.
func (c *readCache) hitLocked(e *list.Element, ok bool) (any, bool) {
	if !ok || e.Value.(*cacheEntry).val == nil { // nil: an entry holding derived values only
		return nil, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*cacheEntry).val, true
}

// begin is taken before reading records from Redis, to pass to put once they are decoded.
func (c *readCache) begin() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// put caches val for key unless the cache is off or something was invalidated since epoch was
// taken (begin): val may then be older than the invalidation.
func (c *readCache) put(epoch uint64, key string, val any) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down > 0 || c.epoch != epoch {
		return
	}
	c.putLocked(key, val)
}

func (c *readCache) putLocked(key string, val any) *list.Element {
	if e, ok := c.items[key]; ok {
		entry := e.Value.(*cacheEntry)
		entry.val, entry.derived = val, nil // what was derived from the record it replaces
		c.lru.MoveToFront(e)
		return e
	}
	e := c.lru.PushFront(&cacheEntry{key: key, val: val})
	c.items[key] = e
	for c.lru.Len() > c.max {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.items, old.Value.(*cacheEntry).key)
	}
	return e
}

// derived returns the value named name derived from key's record.
func (c *readCache) derived(key, name string) (any, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return nil, false
	}
	v, ok := e.Value.(*cacheEntry).derived[name]
	if ok {
		c.lru.MoveToFront(e)
	}
	return v, ok
}

// putDerived caches val as the value named name derived from key's record, as put caches a
// record: unless something was invalidated since epoch. A key not cached yet gets an entry of
// its own with no record.
func (c *readCache) putDerived(epoch uint64, key, name string, val any) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down > 0 || c.epoch != epoch {
		return
	}
	e, ok := c.items[key]
	if !ok {
		e = c.putLocked(key, nil)
	}
	entry := e.Value.(*cacheEntry)
	if entry.derived == nil || len(entry.derived) >= maxDerived {
		entry.derived = map[string]any{}
	}
	entry.derived[name] = val
}

// invalidate drops keys.
func (c *readCache) invalidate(keys ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for _, k := range keys {
		if e, ok := c.items[k]; ok {
			c.lru.Remove(e)
			delete(c.items, k)
		}
	}
}

// reset empties the cache and adds change to what keeps it off.
func (c *readCache) reset(change int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.down += change
	c.lru.Init()
	clear(c.items)
}

// len is the number of cached records.
func (c *readCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// cachedPrefixes are the key prefixes the cache may hold keys of. Redis refuses overlapping
// broadcast prefixes, so none may start another.
func (k keys) cachedPrefixes() []string {
	return []string{k.postCountsByID().prefix, k.statusSlots(), k.tokenSlots(), k.mediaByID().prefix, k.accountSlots(), k.accountByAcct(), k.homeTimelines()}
}

// StartCache turns on the process-local read cache of at most maxEntries records and keeps it
// correct until ctx ends (see the top of cache.go). It needs Redis servers that support CLIENT
// TRACKING; otherwise it returns an error and the store goes on reading everything from Redis.
// Call it once, before serving.
func (s *Store) StartCache(ctx context.Context, maxEntries int) error {
	c := newReadCache(maxEntries)
	prefixes := s.k.cachedPrefixes()
	servers, err := serverOptions(ctx, s.rdb)
	if err != nil {
		return fmt.Errorf("read cache: %w", err)
	}
	trackers := map[string]context.CancelFunc{}
	for _, opt := range servers {
		t := s.newTracker(c, opt, prefixes)
		// Check each server once, so one that does not track is reported instead of retried
		// forever.
		ps := t.client.Subscribe(ctx, cacheInvalidations)
		if _, err := ps.Receive(ctx); err != nil {
			ps.Close()
			t.client.Close()
			for _, stop := range trackers {
				stop()
			}
			return fmt.Errorf("read cache: %s: %w", opt.Addr, err)
		}
		tctx, stop := context.WithCancel(ctx)
		trackers[opt.Addr] = stop
		go t.run(tctx, ps)
	}
	s.cache = c
	s.rdb.AddHook(cacheHook{s: s, prefixes: prefixes})
	c.reset(-1) // started: on once the trackers are
	if cluster, ok := s.rdb.(*redis.ClusterClient); ok {
		go s.followMasters(ctx, cluster, c, prefixes, trackers)
	}
	return nil
}

// A tracker holds one server's tracking connection, keeping the cache off while it is not
// subscribed.
type tracker struct {
	c      *readCache
	client *redis.Client
	up     bool
}

// newTracker makes the tracking connection to the server of opt; the cache is off until it is
// subscribed (run).
func (s *Store) newTracker(c *readCache, opt *redis.Options, prefixes []string) *tracker {
	o := *opt
	o.Protocol = 2 // invalidations then arrive as pub/sub messages, which PubSub reads
	o.PoolSize, o.MinIdleConns, o.MaxIdleConns = 1, 0, 0
	o.OnConnect = func(ctx context.Context, cn *redis.Conn) error {
		id, err := cn.ClientID(ctx).Result()
		if err != nil {
			return err
		}
		args := []any{"client", "tracking", "on", "redirect", id, "bcast"}
		for _, p := range prefixes {
			args = append(args, "prefix", p)
		}
		return cn.Do(ctx, args...).Err()
	}
	// The name lets an operator (and a test) tell the tracking connection apart in CLIENT LIST.
	o.ClientName = "watercooler-cache:" + s.k.p[1:len(s.k.p)-2]
	c.reset(1)
	return &tracker{c: c, client: redis.NewClient(&o)}
}

// run applies the invalidations the tracker receives, subscribing again whenever the
// connection fails, until ctx ends; ps is its first subscription, already confirmed, or nil.
func (t *tracker) run(ctx context.Context, ps *redis.PubSub) {
	defer t.client.Close()
	if ps != nil {
		t.subscribed()
	}
	for {
		if ps == nil {
			ps = t.client.Subscribe(ctx, cacheInvalidations)
		}
		t.track(ctx, ps)
		ps.Close()
		ps = nil
		if t.up {
			t.up = false
			t.c.reset(1)
		}
		select {
		case <-ctx.Done():
			t.c.reset(-1) // a tracker stopped no longer holds the cache off
			return
		case <-time.After(100 * time.Millisecond): // the connection failed: do not spin
		}
	}
}

// subscribed records a confirmed subscription: what the cache holds may have missed
// invalidations before it, so it is emptied either way.
func (t *tracker) subscribed() {
	if t.up {
		t.c.reset(0)
		return
	}
	t.up = true
	t.c.reset(-1)
}

// track applies the invalidations ps receives until it fails or stops answering.
func (t *tracker) track(ctx context.Context, ps *redis.PubSub) {
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, cachePing)
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() && !pinged && ctx.Err() == nil {
			if ps.Ping(ctx) != nil {
				return
			}
			pinged = true
			continue
		}
		if err != nil {
			return
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			t.subscribed()
		case *redis.Message:
			switch {
			case m.PayloadSlice != nil:
				t.c.invalidate(m.PayloadSlice...)
			case m.Payload != "":
				t.c.invalidate(m.Payload)
			default: // FLUSHDB, FLUSHALL
				t.c.reset(0)
			}
		}
	}
}

// serverOptions gives, by address, the options of the single server or of every master of a
// cluster, as the cluster client knows them now.
func serverOptions(ctx context.Context, rdb redis.UniversalClient) (map[string]*redis.Options, error) {
	var mu sync.Mutex
	out := map[string]*redis.Options{}
	err := ForEachServer(ctx, rdb, func(ctx context.Context, server *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		out[server.Options().Addr] = server.Options()
		return nil
	})
	return out, err
}

// followMasters keeps one tracker on each master of the cluster until ctx ends: trackers holds
// the running ones by address.
func (s *Store) followMasters(ctx context.Context, cluster *redis.ClusterClient, c *readCache, prefixes []string, trackers map[string]context.CancelFunc) {
	poll := time.NewTicker(cacheTopologyPoll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		}
		masters, err := serverOptions(ctx, cluster)
		if err != nil {
			continue // the trackers of unreachable masters keep the cache off meanwhile
		}
		for addr, opt := range masters {
			if _, ok := trackers[addr]; !ok {
				tctx, stop := context.WithCancel(ctx)
				trackers[addr] = stop
				go s.newTracker(c, opt, prefixes).run(tctx, nil)
			}
		}
		for addr, stop := range trackers {
			if _, ok := masters[addr]; !ok {
				stop()
				delete(trackers, addr)
			}
		}
	}
}

// cacheHook drops the keys of the store's own writes from its cache as they are sent, so that
// a process reads its own writes without waiting for Redis's invalidation to come back.
type cacheHook struct {
	s        *Store
	prefixes []string // cachedPrefixes: other keys (rate limits, queues) leave the cache alone
}

func (h cacheHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h cacheHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !h.writes(cmd) {
			return next(ctx, cmd)
		}
		h.drop(cmd) // before: a fill racing the write is refused (epoch)
		err := next(ctx, cmd)
		h.drop(cmd) // after: a fill between the first drop and the write is gone
		return err
	}
}

func (h cacheHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		dropAll := func() {
			for _, cmd := range cmds {
				if h.writes(cmd) {
					h.drop(cmd)
				}
			}
		}
		dropAll()
		err := next(ctx, cmds)
		dropAll()
		return err
	}
}

// readOnly are the commands the store sends that change nothing.
var readOnly = map[string]bool{
	"get": true, "mget": true, "hget": true, "hmget": true, "hgetall": true, "hexists": true,
	"hlen": true, "hkeys": true, "hvals": true, "zcard": true, "zscore": true, "zmscore": true,
	"zrange": true, "zrevrange": true, "zrangebyscore": true, "zrevrangebyscore": true,
	"zrangebylex": true, "zrevrangebylex": true, "zrank": true, "zrevrank": true, "zcount": true,
	"zlexcount": true, "scard": true, "smembers": true, "sismember": true, "smismember": true,
	"exists": true, "ttl": true, "pttl": true, "type": true, "lrange": true, "llen": true,
	"lindex": true, "strlen": true, "scan": true, "hscan": true, "zscan": true, "sscan": true,
	"ping": true, "publish": true, "multi": true, "exec": true, "watch": true, "unwatch": true,
	"xrange": true, "xrevrange": true, "xlen": true, "xinfo": true, "xpending": true,
	"memory": true, "info": true, "client": true, "hello": true, "auth": true, "select": true,
}

// writes reports whether cmd may change keys of this store.
func (h cacheHook) writes(cmd redis.Cmder) bool {
	return h.s.cache != nil && !readOnly[cmd.Name()]
}

// drop invalidates every argument of cmd that names a cached key of this store: the key of a
// single-key write, the keys of DEL or MSET, the keys a script declares. A value that happens
// to look like such a key costs a needless miss, nothing more.
func (h cacheHook) drop(cmd redis.Cmder) {
	var keys []string
	for _, a := range cmd.Args()[1:] {
		k, ok := a.(string)
		if !ok {
			continue
		}
		for _, p := range h.prefixes {
			if strings.HasPrefix(k, p) {
				keys = append(keys, k)
				break
			}
		}
	}
	if len(keys) > 0 {
		h.s.cache.invalidate(keys...)
	}
}

// cachedOr returns the cached record of key, or reads it with read and caches it. Records are
// cached as read returns them and shared: callers copy what they hand out to be modified.
func cachedOr[T any](s *Store, key string, read func() (T, error)) (T, error) {
	if v, ok := s.cache.get(key); ok {
		return v.(T), nil
	}
	epoch := s.cache.begin()
	v, err := read()
	if err == nil {
		s.cache.put(epoch, key, v)
	}
	return v, err
}

// CachedAccount returns the account's record as the read cache holds it, or nil when it is not
// cached; it reads nothing from Redis. The record is shared (read it, never modify it): a memo
// of what is made of records recognizes it by its pointer, where a copy costs a deep comparison.
func (s *Store) CachedAccount(id string) *Account {
	if v, ok := s.cache.get(s.k.account(id)); ok {
		return v.(*Account)
	}
	return nil
}

// cachedByID returns, by id, the cached records of the keys k.of(id) and, in miss, the indexes
// of the ids not cached.
func cachedByID[T any](s *Store, k idKey, ids []string) (found map[string]T, miss []int) {
	found = make(map[string]T, len(ids))
	for i, id := range ids {
		if v, ok := s.cache.getByID(k, id); ok {
			found[id] = v.(T)
		} else {
			miss = append(miss, i)
		}
	}
	return found, miss
}

// clone copies a status deeply enough that changing the copy leaves a shared original as it was.
func (st *Status) clone() *Status {
	c := *st
	c.Mentions, c.Tags, c.MediaIDs = slices.Clone(st.Mentions), slices.Clone(st.Tags), slices.Clone(st.MediaIDs)
	if st.Quote != nil {
		q := *st.Quote
		c.Quote = &q
	}
	return &c
}

// CachedRecords is how many records the read cache holds (0 when it is off), for tests and
// diagnostics.
func (s *Store) CachedRecords() int {
	if s.cache == nil {
		return 0
	}
	return s.cache.len()
}

// LocalAccountDocument returns what render makes of the local account named name (a WebFinger
// answer, an actor document), rendering it only once per version of the account's record while
// the read cache is on. The name is looked up as AccountByAcct does; render's errors (such as
// ErrNotFound for an account it must not show) come back as they are, and nothing is cached.
func (s *Store) LocalAccountDocument(ctx context.Context, name, kind string, render func(*Account) ([]byte, error)) ([]byte, error) {
	name = strings.ToLower(name)
	id, err := s.localAccountID(ctx, name)
	if err != nil {
		return nil, err
	}
	key := s.k.account(id)
	if v, ok := s.cache.derived(key, kind); ok {
		return v.([]byte), nil
	}
	epoch := s.cache.begin()
	a, err := s.Account(ctx, id)
	if err != nil {
		return nil, err
	}
	b, err := render(a)
	if err != nil {
		return nil, err
	}
	s.cache.putDerived(epoch, key, kind, b)
	return b, nil
}

// localAccountID finds the id of the account a lower-case local user name names, through the
// cache.
func (s *Store) localAccountID(ctx context.Context, name string) (string, error) {
	index := s.k.accountByAcct()
	if v, ok := s.cache.derived(index, name); ok {
		return v.(string), nil
	}
	epoch := s.cache.begin()
	id, err := s.rdb.HGet(ctx, index, name).Result()
	if errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("account %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("account %s: %w", name, err)
	}
	s.cache.putDerived(epoch, index, strings.Clone(name), id)
	return id, nil
}
