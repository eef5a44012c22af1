package server

// The streaming API (docs.joinmastodon.org/methods/streaming), over server-sent events
// (streaming_sse.go) and WebSocket (streaming_ws.go). The store's write paths publish event
// names and ids on Redis pub/sub channels, inside the transactions that make the change. Each
// process holds one subscription (store.StreamSubscriber) to the channels its connections
// listen to, and its hub (here) hands every message to those connections through bounded
// buffers; a connection that falls a buffer behind is dropped rather than slowing the others.
// Each connection renders events for its own viewer (streaming_render.go), so flags, filters
// and blocks apply as in the REST API.

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"watercooler/store"
)

const (
	// streamTokenRecheck is how often a connection checks that its token still exists, in case
	// the revocation event was published while the subscription was reconnecting.
	streamTokenRecheck = 5 * time.Minute
	// streamSubscribeTimeout bounds the wait for Redis to confirm a subscription.
	streamSubscribeTimeout = 10 * time.Second
	// streamWriteTimeout bounds one write to a client that stopped reading.
	streamWriteTimeout = 10 * time.Second
)

// errStreamUnavailable answers when the subscription cannot be made (Redis down, shutdown).
var errStreamUnavailable = &apiError{fiber.StatusServiceUnavailable, "Streaming is unavailable"}

// closeReason is why a stream ends.
type closeReason int

const (
	closeClientGone closeReason = iota // the client left, or writing to it failed
	closeShutdown
	closeRevoked
	closeSlow
)

func (r closeReason) String() string {
	return [...]string{"client gone", "server shutting down", "access token revoked", "too slow: events were dropped"}[r]
}

// streamHub fans this process's Redis subscription out to its streaming connections.
type streamHub struct {
	store   *store.Store
	log     *slog.Logger
	buffer  int
	upgrade fiber.Handler // the WebSocket upgrader
	viewers *viewerLoader

	mu       sync.RWMutex
	sub      *store.StreamSubscriber // started by the first connection
	closed   bool
	channels map[string]map[*streamSub]struct{}
	conns    map[*streamConn]struct{}

	// The status events of recent publications, so that the copies one publication sends to
	// many channels share one rendering. Only deliver touches them; two generations let an
	// entry live between one and two sharedStatusLife.
	shared, sharedOld map[string]*sharedStatus
	sharedSince       time.Time
}

// sharedStatusLife bounds how long the copies of one publication are recognised; they all
// arrive within microseconds of each other.
const sharedStatusLife = 2 * time.Second

func newStreamHub(st *store.Store, log *slog.Logger, buffer int) *streamHub {
	if buffer <= 0 {
		buffer = 256
	}
	return &streamHub{
		store: st, log: log, buffer: buffer, viewers: newViewerLoader(st),
		channels: map[string]map[*streamSub]struct{}{}, conns: map[*streamConn]struct{}{},
		shared: map[string]*sharedStatus{}, sharedOld: map[string]*sharedStatus{},
	}
}

// open registers c and subscribes it to its token's revocation and to subs, returning once
// Redis confirmed, so that the client sees every event published after the call.
func (h *streamHub) open(ctx context.Context, c *streamConn, subs ...*streamSub) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return errStreamUnavailable
	}
	h.conns[c] = struct{}{}
	h.mu.Unlock()
	all := append([]*streamSub{c.revocation}, subs...)
	for _, sub := range all {
		c.add(sub)
	}
	if err := h.subscribe(ctx, all...); err != nil {
		h.release(c)
		return err
	}
	return nil
}

// subscribe starts delivering the events of subs' channels to their connections.
func (h *streamHub) subscribe(ctx context.Context, subs ...*streamSub) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return errStreamUnavailable
	}
	if h.sub == nil {
		h.sub = h.store.SubscribeStreams(h.deliver, func(err error) {
			h.log.Warn("streaming: Redis subscription interrupted; reconnecting", "err", err)
		})
	}
	var channels []string
	for _, sub := range subs {
		for _, ch := range sub.channels {
			set := h.channels[ch]
			if set == nil {
				set = map[*streamSub]struct{}{}
				h.channels[ch] = set
			}
			set[sub] = struct{}{}
			channels = append(channels, ch)
		}
	}
	rs := h.sub
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, streamSubscribeTimeout)
	defer cancel()
	if err := rs.Subscribe(ctx, channels...); err != nil {
		h.forget(subs...)
		h.log.Error("streaming: subscribing failed", "err", err)
		return errStreamUnavailable
	}
	return nil
}

// forget stops local delivery to subs and returns their channels.
func (h *streamHub) forget(subs ...*streamSub) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var channels []string
	for _, sub := range subs {
		for _, ch := range sub.channels {
			if set, ok := h.channels[ch]; ok {
				if _, ok := set[sub]; ok {
					delete(set, sub)
					channels = append(channels, ch)
				}
				if len(set) == 0 {
					delete(h.channels, ch)
				}
			}
		}
	}
	return channels
}

// unsubscribe stops delivering to subs, ending the Redis subscriptions nobody else needs.
func (h *streamHub) unsubscribe(subs ...*streamSub) {
	channels := h.forget(subs...)
	h.mu.RLock()
	rs := h.sub
	h.mu.RUnlock()
	if rs != nil && len(channels) > 0 {
		rs.Unsubscribe(channels...)
	}
}

// release ends c and everything it subscribed to; it is safe to call more than once.
func (h *streamHub) release(c *streamConn) {
	c.close(closeClientGone)
	h.unsubscribe(c.drain()...)
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

// count is the number of open connections.
func (h *streamHub) count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.conns)
}

// deliver runs on the subscription's goroutine for every message; it never blocks.
func (h *streamHub) deliver(channel string, ev store.StreamEvent) {
	var shared *sharedStatus
	if ev.Event == store.EventUpdate || ev.Event == store.EventStatusUpdate {
		shared = h.sharedFor(ev)
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for sub := range h.channels[channel] {
		sub.conn.offer(streamDelivery{sub: sub, event: ev, shared: shared})
	}
}

// sharedFor finds the rendering shared by the copies of ev's publication.
func (h *streamHub) sharedFor(ev store.StreamEvent) *sharedStatus {
	if ev.Publish == "" {
		return &sharedStatus{}
	}
	if now := time.Now(); now.Sub(h.sharedSince) > sharedStatusLife {
		h.sharedOld, h.shared, h.sharedSince = h.shared, map[string]*sharedStatus{}, now
	}
	key := ev.Event + " " + ev.ID + " " + ev.Publish
	sh := h.shared[key]
	if sh == nil {
		if sh = h.sharedOld[key]; sh == nil {
			sh = &sharedStatus{}
		}
		h.shared[key] = sh
	}
	return sh
}

// close ends every stream and the Redis subscription; the server calls it on shutdown.
func (h *streamHub) close() error {
	h.mu.Lock()
	h.closed = true
	conns := make([]*streamConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	rs := h.sub
	h.mu.Unlock()
	for _, c := range conns {
		c.close(closeShutdown)
	}
	h.viewers.close()
	if rs != nil {
		return rs.Close()
	}
	return nil
}

// streamSub is one stream a connection listens to, as Mastodon names streams.
type streamSub struct {
	conn     *streamConn
	key      string   // identifies the stream within its connection
	label    []string // the "stream" field of WebSocket messages: the name, then the tag or list
	channels []string
	// filterContext selects the viewer's filters applied to statuses.
	filterContext string
	localOnly     bool // hashtag:local
	statuses      bool // update, status.update and delete events
	notifications bool
	filters       bool // filters_changed
	conversations bool // direct statuses as conversation events
	revocation    bool // the token's revocation channel
}

// streamDelivery is one event for one stream of a connection.
type streamDelivery struct {
	sub    *streamSub
	event  store.StreamEvent
	shared *sharedStatus // for status events
}

// streamConn is one client connection, over WebSocket or server-sent events.
type streamConn struct {
	s          *Server
	viewer     *store.Account
	token      *store.Token
	revocation *streamSub
	events     chan streamDelivery
	replies    chan []byte     // WebSocket error frames from the reading goroutine
	shutdown   <-chan struct{} // closed when the HTTP server shuts down

	ctx    context.Context // ends with the connection, for the store calls of rendering
	cancel context.CancelFunc

	closeOnce sync.Once
	closing   chan struct{}
	reason    closeReason // written before closing is closed
	started   atomic.Bool // a WebSocket handler or the watchdog claimed the connection

	mu   sync.Mutex
	subs map[string]*streamSub

	// last is the latest status rendering (nil payload: not shown), used only by run's goroutine.
	last struct {
		key     renderKey
		payload *streamPayload
	}
}

// renderKey tells when two deliveries render alike.
type renderKey struct {
	shared                   *sharedStatus
	filterContext            string
	localOnly, conversations bool
}

func (s *Server) newStreamConn(c *fiber.Ctx, viewer *store.Account, tok *store.Token) *streamConn {
	ctx, cancel := context.WithCancel(context.Background())
	conn := &streamConn{
		s: s, viewer: viewer, token: tok,
		events:   make(chan streamDelivery, s.streams.buffer),
		replies:  make(chan []byte, 8),
		shutdown: c.Context().Done(),
		ctx:      ctx, cancel: cancel,
		closing: make(chan struct{}),
		subs:    map[string]*streamSub{},
	}
	conn.revocation = &streamSub{conn: conn, key: "\x00revocation", channels: []string{s.store.TokenStream(tok)}, revocation: true}
	return conn
}

// add records sub unless the connection already listens to that stream.
func (c *streamConn) add(sub *streamSub) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.subs[sub.key]; ok {
		return false
	}
	c.subs[sub.key] = sub
	return true
}

// remove forgets the stream with key and returns it, or nil.
func (c *streamConn) remove(key string) *streamSub {
	c.mu.Lock()
	defer c.mu.Unlock()
	sub := c.subs[key]
	delete(c.subs, key)
	return sub
}

// drain forgets and returns every stream.
func (c *streamConn) drain() []*streamSub {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*streamSub, 0, len(c.subs))
	for _, sub := range c.subs {
		out = append(out, sub)
	}
	clear(c.subs)
	return out
}

// offer queues an event without blocking; a connection whose buffer is full is dropped.
func (c *streamConn) offer(d streamDelivery) {
	select {
	case c.events <- d:
	default:
		if c.close(closeSlow) {
			c.s.log.Warn("streaming: dropping a connection that fell behind", "account", c.viewer.ID, "buffer", cap(c.events))
		}
	}
}

// close ends the connection for reason; only the first call counts, and it reports whether it
// was that one.
func (c *streamConn) close(reason closeReason) bool {
	first := false
	c.closeOnce.Do(func() {
		first = true
		c.reason = reason
		close(c.closing)
		c.cancel()
	})
	return first
}

// reply queues a WebSocket error frame; when the client floods errors, some are lost.
func (c *streamConn) reply(status int, msg string) {
	b, _ := json.Marshal(map[string]any{"error": msg, "status": status})
	select {
	case c.replies <- b:
	default:
	}
}

// streamWriter is a transport: server-sent events or WebSocket.
type streamWriter interface {
	send(stream []string, event string, payload *streamPayload) error
	raw(frame []byte) error
	heartbeat() error
	close(reason closeReason)
}

// run writes the connection's events until it closes, then says goodbye on w.
func (c *streamConn) run(w streamWriter, heartbeat time.Duration) {
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	recheck := time.NewTicker(streamTokenRecheck)
	defer recheck.Stop()
	for {
		select {
		case <-c.closing:
			w.close(c.reason)
			return
		default:
		}
		var err error
		select {
		case <-c.closing:
		case <-c.shutdown:
			c.close(closeShutdown)
		case d := <-c.events:
			err = c.handle(w, d)
		case frame := <-c.replies:
			err = w.raw(frame)
		case <-beat.C:
			err = w.heartbeat()
		case <-recheck.C:
			if ok, err := c.s.store.TokenActive(c.ctx, c.token); err == nil && !ok {
				c.close(closeRevoked)
			}
		}
		if err != nil {
			c.close(closeClientGone)
		}
	}
}

// handle renders one delivery and writes it; an error means the client is gone.
func (c *streamConn) handle(w streamWriter, d streamDelivery) error {
	if d.sub.revocation {
		if d.event.Event == store.EventRevoked {
			c.close(closeRevoked)
		}
		return nil
	}
	event, payload, ok, err := c.render(d)
	if err != nil {
		if c.ctx.Err() == nil {
			c.s.log.Error("streaming: rendering an event failed", "event", d.event.Event, "id", d.event.ID, "err", err)
		}
		return nil
	}
	if !ok {
		return nil
	}
	return w.send(d.sub.label, event, payload)
}

// streamSpec resolves a stream name and its parameter for the connection's viewer, checking
// scopes as Mastodon does: every stream needs read:statuses, except user:notification, which
// needs read:notifications. The user stream carries notifications only for tokens that may
// read them.
func (s *Server) streamSpec(ctx context.Context, c *streamConn, name, tag, list string) (*streamSub, error) {
	sub := &streamSub{conn: c, label: []string{name}, filterContext: contextPublic, statuses: true}
	needs := "read:statuses"
	switch name {
	case "user":
		sub.channels = []string{s.store.HomeStream(c.viewer.ID)}
		sub.filterContext, sub.filters = contextHome, true
		sub.notifications = ScopeAllows(c.token.Scopes, "read:notifications")
	case "user:notification":
		needs = "read:notifications"
		sub.channels = []string{s.store.HomeStream(c.viewer.ID)}
		sub.statuses, sub.notifications = false, true
	case "public", "public:media", "public:local", "public:local:media", "public:remote", "public:remote:media":
		local, remote := strings.Contains(name, ":local"), strings.Contains(name, ":remote")
		sub.channels = s.store.PublicStreams(local, remote, strings.HasSuffix(name, ":media"))
	case "hashtag", "hashtag:local":
		tag = tagName(tag)
		if tag == "" {
			return nil, errorf(fiber.StatusBadRequest, "No tag for stream provided")
		}
		sub.label = []string{name, tag}
		sub.channels = []string{s.store.TagStream(tag)}
		sub.localOnly = name == "hashtag:local"
	case "list":
		if list == "" {
			return nil, errorf(fiber.StatusBadRequest, "No list for stream provided")
		}
		if !ScopeAllows(c.token.Scopes, needs) {
			return nil, errScope
		}
		if _, err := s.store.List(ctx, c.viewer.ID, list); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, errNotFound
			}
			return nil, err
		}
		sub.label = []string{name, list}
		sub.channels = []string{s.store.ListStream(list)}
		sub.filterContext = contextHome
	case "direct":
		sub.channels = []string{s.store.DirectStream(c.viewer.ID)}
		sub.statuses, sub.conversations, sub.filterContext = false, true, ""
	default:
		return nil, errorf(fiber.StatusBadRequest, "Unknown stream type")
	}
	if !ScopeAllows(c.token.Scopes, needs) {
		return nil, errScope
	}
	sub.key = streamKey(name, tag, list)
	return sub, nil
}

// streamAuth finds the user token of a streaming request: the authenticate middleware read the
// Authorization header or access_token; WebSocket clients may also send the token as
// Sec-WebSocket-Protocol, which is then echoed back (proto), as Mastodon does. App-only tokens
// are refused, as Mastodon refuses them since 4.2.
func (s *Server) streamAuth(c *fiber.Ctx, websocket bool) (acct *store.Account, tok *store.Token, proto string, err error) {
	tok, acct = token(c), viewer(c)
	if websocket {
		proto, _, _ = strings.Cut(c.Get(fiber.HeaderSecWebSocketProtocol), ",")
		proto = strings.TrimSpace(proto)
	}
	switch {
	case tok != nil:
		if proto != bearerToken(c) {
			proto = "" // some other subprotocol, which this server does not speak
		}
	case proto != "":
		ctx := c.UserContext()
		if tok, err = s.store.TokenByValue(ctx, proto); errors.Is(err, store.ErrNotFound) {
			return nil, nil, "", errUnauthorized
		} else if err != nil {
			return nil, nil, "", err
		}
		if tok.AccountID != "" {
			if acct, err = s.store.Account(ctx, tok.AccountID); err != nil {
				return nil, nil, "", errUnauthorized
			}
			if acct.Suspended {
				return nil, nil, "", errorf(fiber.StatusForbidden, "Your login is currently disabled")
			}
		}
	}
	if tok == nil || acct == nil {
		return nil, nil, "", errUnauthorized
	}
	return acct, tok, proto, nil
}
