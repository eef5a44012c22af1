package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// Rendering streamed events. A status publication reaches many connections at once (a
// thousand followers' user streams), so the work is split as Mastodon splits it: the status is
// rendered once without a viewer (sharedStatus), each viewer's flags, filters and blocks are
// read in batches (viewerLoader), and viewers who see the same bytes share them
// (streamPayload).

const (
	// viewerBatch caps the viewers read in one pipeline.
	viewerBatch = 512
	// viewerLoaders is how many pipelines of viewer reads may run at once.
	viewerLoaders = 2
)

// streamPayload is an event's payload, shared by the connections that see the same: the
// entity's JSON (the id of a deleted status; nil for filters_changed), and the WebSocket frames
// wrapping it, built once per stream.
type streamPayload struct {
	data []byte

	mu     sync.Mutex
	frames map[string][]byte
}

// wsFrame is the WebSocket message of the payload for one stream and event.
func (p *streamPayload) wsFrame(stream []string, event string) ([]byte, error) {
	key := event + "\x00" + strings.Join(stream, "\x00")
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.frames[key]; ok {
		return f, nil
	}
	m := wsMessage{Stream: stream, Event: event}
	if p.data != nil {
		s := string(p.data)
		m.Payload = &s
	}
	f, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if p.frames == nil {
		p.frames = map[string][]byte{}
	}
	p.frames[key] = f
	return f, nil
}

// sharedStatus is the part of a status event every reader sees alike: the status rendered
// without a viewer. The first connection that needs it loads it; the others wait for it.
type sharedStatus struct {
	once    sync.Once
	st      *store.Status
	content *store.Status    // what filters match: the boosted status of a boost
	base    *mastodon.Status // nil when the status is gone
	err     error

	mu       sync.Mutex
	variants map[variantKey]*streamPayload
}

// variantKey is what sets one viewer's rendering apart when no filter matched: their flags on
// the status and on the boosted one.
type variantKey struct{ status, reblog store.ViewerFlags }

// load reads and renders the status once; it outlives any one connection, so it has its own
// deadline.
func (sh *sharedStatus) load(s *Server, id string) {
	sh.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), streamSubscribeTimeout)
		defer cancel()
		st, err := s.store.Status(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return // deleted meanwhile
		}
		if err != nil {
			sh.err = err
			return
		}
		content := st
		if st.ReblogOfID != "" {
			if content, err = s.store.Status(ctx, st.ReblogOfID); err != nil {
				if !errors.Is(err, store.ErrNotFound) {
					sh.err = err
				}
				return
			}
		}
		out, err := s.renderStatuses(ctx, nil, []*store.Status{st}, "")
		if err != nil || len(out) == 0 {
			sh.err = err
			return
		}
		sh.st, sh.content, sh.base = st, content, &out[0]
	})
}

// forViewer builds the Status entity as one viewer sees it.
func (sh *sharedStatus) forViewer(key variantKey, filtered []mastodon.FilterResult) mastodon.Status {
	out := *sh.base
	withViewerFlags(&out, key.status)
	if out.Reblog != nil {
		r := *out.Reblog
		withViewerFlags(&r, key.reblog)
		r.Filtered = filtered
		out.Reblog = &r
	} else {
		out.Filtered = filtered
	}
	return out
}

// variant returns the payload shared by the viewers whose rendering key describes.
func (sh *sharedStatus) variant(key variantKey) (*streamPayload, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if p, ok := sh.variants[key]; ok {
		return p, nil
	}
	b, err := json.Marshal(sh.forViewer(key, nil))
	if err != nil {
		return nil, err
	}
	if sh.variants == nil {
		sh.variants = map[variantKey]*streamPayload{}
	}
	p := &streamPayload{data: b}
	sh.variants[key] = p
	return p, nil
}

func withViewerFlags(st *mastodon.Status, f store.ViewerFlags) {
	st.Favourited, st.Reblogged, st.Muted = mastodon.Bool(f.Favourited), mastodon.Bool(f.Reblogged), mastodon.Bool(f.Muted)
	st.Bookmarked, st.Pinned = mastodon.Bool(f.Bookmarked), mastodon.Bool(f.Pinned)
}

// viewerLoader batches the per-viewer reads of streamed statuses: the requests of the
// connections rendering one publication queue up while a pipeline runs and go together in
// the next one.
type viewerLoader struct {
	store     *store.Store
	reqs      chan *viewerRequest
	stop      chan struct{}
	startOnce sync.Once
	stopOnce  sync.Once
}

type viewerRequest struct {
	query store.StreamViewerQuery
	out   *store.StreamViewer
	err   error
	done  chan struct{}
}

func newViewerLoader(st *store.Store) *viewerLoader {
	return &viewerLoader{store: st, reqs: make(chan *viewerRequest, 2*viewerBatch), stop: make(chan struct{})}
}

// load reads one viewer's side of statusIDs.
func (l *viewerLoader) load(ctx context.Context, viewerID string, statusIDs []string) (*store.StreamViewer, error) {
	l.startOnce.Do(func() {
		for range viewerLoaders {
			go l.work()
		}
	})
	r := &viewerRequest{query: store.StreamViewerQuery{ViewerID: viewerID, StatusIDs: statusIDs}, done: make(chan struct{})}
	select {
	case l.reqs <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-l.stop:
		return nil, errStreamUnavailable
	}
	select {
	case <-r.done:
		return r.out, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *viewerLoader) work() {
	for {
		var batch []*viewerRequest
		select {
		case r := <-l.reqs:
			batch = append(batch, r)
		case <-l.stop:
			return
		}
	fill:
		for len(batch) < viewerBatch {
			select {
			case r := <-l.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		queries := make([]store.StreamViewerQuery, len(batch))
		for i, r := range batch {
			queries[i] = r.query
		}
		ctx, cancel := context.WithTimeout(context.Background(), streamSubscribeTimeout)
		out, err := l.store.StreamViewers(ctx, queries)
		cancel()
		for i, r := range batch {
			if err != nil {
				r.err = err
			} else {
				r.out = out[i]
			}
			close(r.done)
		}
	}
}

// close stops the workers.
func (l *viewerLoader) close() { l.stopOnce.Do(func() { close(l.stop) }) }

// render builds what the viewer sees of an event: the event name to send and its payload, or
// ok=false when the viewer should not see it.
func (c *streamConn) render(d streamDelivery) (event string, p *streamPayload, ok bool, err error) {
	sub, ev := d.sub, d.event
	switch ev.Event {
	case store.EventDelete:
		if !sub.statuses && !sub.conversations {
			return "", nil, false, nil
		}
		return ev.Event, &streamPayload{data: []byte(ev.ID)}, true, nil
	case store.EventFiltersChanged:
		return ev.Event, &streamPayload{}, sub.filters, nil
	case store.EventNotification:
		if !sub.notifications {
			return "", nil, false, nil
		}
		p, ok, err = c.renderNotification(ev.ID)
		return ev.Event, p, ok, err
	case store.EventUpdate, store.EventStatusUpdate:
		if !sub.statuses && !sub.conversations {
			return "", nil, false, nil
		}
		event = ev.Event
		if sub.conversations {
			event = "conversation"
		}
		// One publication often reaches a connection on several streams (public and
		// public:local, say); streams that render alike share the last rendering.
		how := renderKey{shared: d.shared, filterContext: sub.filterContext, localOnly: sub.localOnly, conversations: sub.conversations}
		if c.last.key == how {
			return event, c.last.payload, c.last.payload != nil, nil
		}
		p, ok, err = c.renderStatus(d)
		if err != nil {
			return "", nil, false, err
		}
		if !ok {
			p = nil
		}
		c.last.key, c.last.payload = how, p
		return event, p, ok, nil
	}
	return "", nil, false, nil
}

func (c *streamConn) renderNotification(id string) (*streamPayload, bool, error) {
	n, err := c.s.store.Notification(c.ctx, c.viewer.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil // dismissed meanwhile
	}
	if err != nil {
		return nil, false, err
	}
	out, err := c.s.renderNotifications(c.ctx, c.viewer, []*store.Notification{n})
	if err != nil || len(out) == 0 {
		return nil, false, err
	}
	b, err := json.Marshal(out[0])
	return &streamPayload{data: b}, err == nil, err
}

// renderStatus renders a status event for the viewer, leaving out statuses the viewer's "hide"
// filters match and those by, boosting or mentioning accounts the viewer blocks, mutes or is
// blocked by, as Mastodon's streaming server does.
func (c *streamConn) renderStatus(d streamDelivery) (*streamPayload, bool, error) {
	sh, sub := d.shared, d.sub
	sh.load(c.s, d.event.ID)
	if sh.err != nil || sh.base == nil {
		return nil, false, sh.err
	}
	if sub.localOnly && !sh.st.Local {
		return nil, false, nil
	}
	ids := []string{sh.st.ID}
	if sh.content != sh.st {
		ids = append(ids, sh.content.ID)
	}
	v, err := c.s.streams.viewers.load(c.ctx, c.viewer.ID, ids)
	if err != nil {
		return nil, false, err
	}
	if hidesStatus(v.Hidden, sh.base) {
		return nil, false, nil
	}
	results, hide := matchFilters(v.Filters, sub.filterContext, sh.content)
	if hide {
		return nil, false, nil
	}
	key := variantKey{status: v.Flags[sh.st.ID], reblog: v.Flags[sh.content.ID]}
	if !sub.conversations && results == nil {
		p, err := sh.variant(key)
		return p, err == nil, err
	}
	out := sh.forViewer(key, results)
	var b []byte
	if sub.conversations {
		conv, err := c.s.conversationOf(c.ctx, c.viewer, sh.st, &out)
		if err != nil || conv == nil {
			return nil, false, err
		}
		b, err = json.Marshal(conv)
	} else {
		b, err = json.Marshal(out)
	}
	return &streamPayload{data: b}, err == nil, err
}

func hidesStatus(hidden map[string]bool, st *mastodon.Status) bool {
	if len(hidden) == 0 {
		return false
	}
	for ; st != nil; st = st.Reblog {
		if hidden[st.Account.ID] {
			return true
		}
		if _, domain, remote := strings.Cut(st.Account.Acct, "@"); remote && hidden[store.HiddenDomainKey(strings.ToLower(domain))] {
			return true
		}
		for _, m := range st.Mentions {
			if hidden[m.ID] {
				return true
			}
		}
	}
	return false
}

// conversationOf is the viewer's conversation a direct status belongs to, as stored with the
// status (so it has the same id, unread state and participants as GET /api/v1/conversations).
// A conversation the viewer removed is not streamed until a new status brings it back.
func (s *Server) conversationOf(ctx context.Context, viewer *store.Account, st *store.Status, rendered *mastodon.Status) (*conversation, error) {
	c, err := s.store.ConversationOf(ctx, viewer.ID, cmp.Or(st.ConversationID, st.ID))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	accounts, err := s.store.AccountsInOrder(ctx, c.AccountIDs)
	if err != nil {
		return nil, err
	}
	entities, err := s.accountEntities(ctx, accounts)
	if err != nil {
		return nil, err
	}
	return &conversation{ID: c.ID, Unread: c.Unread, Accounts: entities, LastStatus: rendered}, nil
}
