package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Stream events, named as Mastodon's streaming API names them, plus the internal EventRevoked.
const (
	EventUpdate         = "update"
	EventDelete         = "delete"
	EventStatusUpdate   = "status.update"
	EventNotification   = "notification"
	EventFiltersChanged = "filters_changed"
	// EventRevoked tells the streams authenticated by a token that it was revoked.
	EventRevoked = "revoked"
)

// StreamEvent is one message of a stream channel: an event and the id of its subject (a status
// or notification id; empty for filters_changed and revoked). Events carry ids, not rendered
// entities, because what a reader sees depends on the reader (flags, filters, blocks).
type StreamEvent struct {
	Event string
	ID    string
	// Publish identifies one publication of a status event, which reaches many channels at
	// once: a subscriber receiving the copies can tell them apart from a later edit's and
	// load the status once for all of them.
	Publish string
}

// encode is the wire form: "event", "event id" or "event id publish".
func (e StreamEvent) encode() string {
	switch {
	case e.ID == "":
		return e.Event
	case e.Publish == "":
		return e.Event + " " + e.ID
	}
	return e.Event + " " + e.ID + " " + e.Publish
}

// ParseStreamEvent decodes a channel message.
func ParseStreamEvent(payload string) StreamEvent {
	event, rest, _ := strings.Cut(payload, " ")
	id, publish, _ := strings.Cut(rest, " ")
	return StreamEvent{Event: event, ID: id, Publish: publish}
}

// Channel names for subscribers; publishers are the store's own write paths.

// HomeStream carries a local account's home timeline, notification and filter events.
func (s *Store) HomeStream(accountID string) string { return s.k.streamHome(accountID) }

// ListStream carries a list timeline's events.
func (s *Store) ListStream(listID string) string { return s.k.streamList(listID) }

// DirectStream carries the direct statuses an account sends or is mentioned in.
func (s *Store) DirectStream(accountID string) string { return s.k.streamDirect(accountID) }

// PublicStreams lists the channels of the public timeline restricted to local or remote
// statuses (both when neither is asked for), with media or not.
func (s *Store) PublicStreams(local, remote, media bool) []string {
	if !local && !remote {
		local, remote = true, true
	}
	localCh, remoteCh := s.k.streamLocal(), s.k.streamRemote()
	if media {
		localCh, remoteCh = s.k.streamLocalMedia(), s.k.streamRemoteMedia()
	}
	var out []string
	if local {
		out = append(out, localCh)
	}
	if remote {
		out = append(out, remoteCh)
	}
	return out
}

// TagStream carries the public statuses of a hashtag (lower-case, without #).
func (s *Store) TagStream(tag string) string { return s.k.streamTag(tag) }

// TokenStream carries the revocation of one token.
func (s *Store) TokenStream(t *Token) string { return s.k.streamToken(t.Hash) }

// publish queues an event on p. Queued inside a MULTI, Redis sends it at EXEC, after the
// writes and atomically with them: a subscriber that reads on receipt sees the data, and a
// transaction aborted by WATCH publishes nothing. On a cluster it is sharded (SPUBLISH): a plain
// PUBLISH goes to any node and reaches the others over the cluster bus, so two events of one
// writer, sent through different nodes, could arrive in the wrong order (a status's deletion
// before its update); a sharded one goes to the node of the channel's slot, which the
// department's hash tag makes the node of its data, in the same MULTI.
func (s *Store) publish(ctx context.Context, p redis.Cmdable, channel string, ev StreamEvent) {
	if s.cluster {
		p.SPublish(ctx, channel, ev.encode())
		return
	}
	p.Publish(ctx, channel, ev.encode())
}

// publishStatus queues event for st on p, a MULTI that writes st, on every channel statusChannels
// names.
func (s *Store) publishStatus(ctx context.Context, p redis.Pipeliner, event string, st *Status, f *fanOut) {
	ev := StreamEvent{Event: event, ID: st.ID, Publish: s.NewID(time.Now())}
	for _, channel := range s.statusChannels(st, f) {
		s.publish(ctx, p, channel, ev)
	}
}

// announceStatus gathers event for st on p, a spreadTx that rewrites st's record: it goes out
// once the record is set, so no reader loads the version before.
func (s *Store) announceStatus(p redis.Pipeliner, event string, st *Status, f *fanOut) {
	spreadOf(p).announce(StreamEvent{Event: event, ID: st.ID, Publish: s.NewID(time.Now())}, s.statusChannels(st, f))
}

// statusChannels names every channel st's fan-out reaches: the home and list timelines of f, the
// public and local or remote timelines (media ones too) when st is public and not a reply to
// someone else, the hashtags of a public status, and the direct streams of the author and
// mentioned accounts when st is direct. These are the timelines writeStatus adds st to, except
// that replies to others stay off the public streams, as in Mastodon.
func (s *Store) statusChannels(st *Status, f *fanOut) []string {
	channels := make([]string, 0, len(f.homes)+len(f.lists)+2)
	for _, home := range f.homes {
		channels = append(channels, s.k.streamHome(home))
	}
	for _, list := range f.lists {
		channels = append(channels, s.k.streamList(list))
	}
	if st.ReblogOfID != "" {
		return channels
	}
	switch st.Visibility {
	case VisibilityPublic:
		if st.InReplyToID == "" || st.InReplyToAccountID == st.AccountID {
			channels = append(channels, s.PublicStreams(st.Local, !st.Local, false)...)
			if len(st.MediaIDs) > 0 {
				channels = append(channels, s.PublicStreams(st.Local, !st.Local, true)...)
			}
		}
		for _, tag := range st.Tags {
			channels = append(channels, s.k.streamTag(tag))
		}
	case VisibilityDirect:
		for _, id := range append([]string{st.AccountID}, st.Mentions...) {
			channels = append(channels, s.k.streamDirect(id))
		}
	}
	return channels
}

// deleteFanOut names the timelines a deletion is announced to: those that may hold st. A direct
// status never reached followers, so they are not told its id.
func deleteFanOut(st *Status, homes, lists []string) *fanOut {
	if st.Visibility == VisibilityDirect {
		homes = append([]string{st.AccountID}, st.Mentions...)
		lists = nil
	}
	homes = slices.Clone(homes)
	slices.Sort(homes)
	return &fanOut{homes: slices.Compact(homes), lists: lists}
}

// publishFiltersChanged sends the filters_changed event of accountID once its filters changed:
// they are in the account's slot, out of reach of a MULTI with the department's channels. An
// event lost with its process leaves a stream's filters stale until it reconnects.
func (s *Store) publishFiltersChanged(ctx context.Context, accountID string) {
	s.publish(ctx, s.rdb, s.k.streamHome(accountID), StreamEvent{Event: EventFiltersChanged})
}

// ErrStreamClosed is returned by a StreamSubscriber that was closed.
var ErrStreamClosed = errors.New("stream subscriber closed")

// StreamSubscriber is one process's subscription to the instance's stream channels: a single
// pub/sub connection whose channels are reference counted, so that any number of local
// listeners of a channel cost one Redis subscription, and a channel nobody here listens to
// costs nothing. It uses plain pub/sub on a single server (the embedded Redis of the demo mode
// lacks sharded pub/sub) and sharded pub/sub on a cluster (see publish).
type StreamSubscriber struct {
	ps      *redis.PubSub
	sharded bool
	deliver func(channel string, ev StreamEvent)
	onError func(error)

	mu       sync.Mutex
	channels map[string]*channelSubscription

	closeOnce sync.Once
	closed    chan struct{}
	done      chan struct{}
}

// channelSubscription counts the local listeners of a channel and matches the SUBSCRIBE
// commands sent for it with Redis's confirmations, so that Subscribe returns only once
// messages published from then on will arrive.
type channelSubscription struct {
	refs            int
	sent, confirmed uint64
	waiters         []subscriptionWaiter
}

type subscriptionWaiter struct {
	after uint64 // released when this many confirmations arrived
	ready chan struct{}
}

// SubscribeStreams starts a subscriber that calls deliver, from one goroutine, for every
// message of the channels it is subscribed to; deliver must not block. OnError hears about
// failed subscription commands; a lost connection is re-established, subscribing again to
// every channel (messages published meanwhile are lost, as pub/sub does not keep them).
func (s *Store) SubscribeStreams(deliver func(channel string, ev StreamEvent), onError func(error)) *StreamSubscriber {
	// On a cluster the connection goes to the node of the first channel subscribed, or to a
	// random one when the reader asks for it first: subscribing at once to a channel of the
	// department's slot, where every stream channel is, sends it to the right node.
	var ps *redis.PubSub
	if s.cluster {
		ps = s.rdb.SSubscribe(context.Background(), s.k.streamAnchor())
	} else {
		ps = s.rdb.Subscribe(context.Background())
	}
	sub := &StreamSubscriber{
		ps:       ps,
		sharded:  s.cluster,
		deliver:  deliver,
		onError:  onError,
		channels: map[string]*channelSubscription{},
		closed:   make(chan struct{}),
		done:     make(chan struct{}),
	}
	go sub.receive()
	return sub
}

// streamBacklog is how many messages may wait between the Redis connection's reader and
// deliver; deliver never blocks, so it only absorbs scheduling hiccups.
const streamBacklog = 4096

// receive reads the subscription until Close. Go-redis's channel pings the idle connection
// and reconnects (subscribing to every channel again) when it breaks.
func (sub *StreamSubscriber) receive() {
	defer close(sub.done)
	for msg := range sub.ps.ChannelWithSubscriptions(redis.WithChannelSize(streamBacklog)) {
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" || m.Kind == "ssubscribe" {
				sub.confirm(m.Channel)
			}
		case *redis.Message:
			sub.deliver(m.Channel, ParseStreamEvent(m.Payload))
		}
	}
}

func (sub *StreamSubscriber) confirm(channel string) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	cs := sub.channels[channel]
	if cs == nil {
		return
	}
	// A reconnection confirms every channel again; never count past what was asked.
	cs.confirmed = min(cs.confirmed+1, cs.sent)
	kept := cs.waiters[:0]
	for _, w := range cs.waiters {
		if w.after <= cs.confirmed {
			close(w.ready)
		} else {
			kept = append(kept, w)
		}
	}
	cs.waiters = kept
	if cs.refs == 0 && cs.confirmed >= cs.sent {
		delete(sub.channels, channel)
	}
}

// Subscribe adds one listener to each channel and returns once Redis confirmed the
// subscriptions, so that every message published afterwards is delivered. On error (ctx
// ended first, or the subscriber closed) the listeners are not added.
func (sub *StreamSubscriber) Subscribe(ctx context.Context, channels ...string) error {
	var waits []chan struct{}
	var fresh []string
	sub.mu.Lock()
	select {
	case <-sub.closed:
		sub.mu.Unlock()
		return ErrStreamClosed
	default:
	}
	for _, ch := range channels {
		cs := sub.channels[ch]
		if cs == nil {
			cs = &channelSubscription{}
			sub.channels[ch] = cs
		}
		cs.refs++
		if cs.refs == 1 {
			cs.sent++
			fresh = append(fresh, ch)
		}
		if cs.confirmed < cs.sent {
			w := make(chan struct{})
			cs.waiters = append(cs.waiters, subscriptionWaiter{after: cs.sent, ready: w})
			waits = append(waits, w)
		}
	}
	if len(fresh) > 0 {
		// A failed write is retried by the reconnection, which subscribes to every channel
		// again; the confirmation wait below covers both cases.
		if err := sub.subscribe(ctx, fresh...); err != nil {
			sub.onError(err)
		}
	}
	sub.mu.Unlock()
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
			sub.Unsubscribe(channels...)
			return ctx.Err()
		case <-sub.closed:
			return ErrStreamClosed
		}
	}
	return nil
}

// subscribe and unsubscribe send the (sharded) pub/sub commands for channels.
func (sub *StreamSubscriber) subscribe(ctx context.Context, channels ...string) error {
	if sub.sharded {
		return sub.ps.SSubscribe(ctx, channels...)
	}
	return sub.ps.Subscribe(ctx, channels...)
}

func (sub *StreamSubscriber) unsubscribe(ctx context.Context, channels ...string) error {
	if sub.sharded {
		return sub.ps.SUnsubscribe(ctx, channels...)
	}
	return sub.ps.Unsubscribe(ctx, channels...)
}

// Unsubscribe removes one listener from each channel, ending the Redis subscription of the
// channels left without listeners.
func (sub *StreamSubscriber) Unsubscribe(channels ...string) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	var gone []string
	for _, ch := range channels {
		cs := sub.channels[ch]
		if cs == nil || cs.refs == 0 {
			continue
		}
		cs.refs--
		if cs.refs > 0 {
			continue
		}
		gone = append(gone, ch)
		if cs.confirmed >= cs.sent {
			delete(sub.channels, ch)
		}
	}
	if len(gone) > 0 {
		select {
		case <-sub.closed:
		default:
			if err := sub.unsubscribe(context.Background(), gone...); err != nil {
				sub.onError(err)
			}
		}
	}
}

// Close ends the subscription and waits for the receiving goroutine to stop.
func (sub *StreamSubscriber) Close() error {
	var err error
	sub.closeOnce.Do(func() {
		close(sub.closed)
		err = sub.ps.Close()
	})
	<-sub.done
	return err
}

// TokenActive reports whether a token still exists; long-lived connections that authenticated
// with it check it now and then, in case its revocation event was missed.
func (s *Store) TokenActive(ctx context.Context, t *Token) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.k.token(t.Hash)).Result()
	if err != nil {
		return false, fmt.Errorf("token: %w", err)
	}
	return n == 1, nil
}

// StreamViewer is one viewer's side of rendering streamed statuses: how they relate to the
// statuses, their filters, and the accounts they block, mute or are blocked by.
type StreamViewer struct {
	Flags   map[string]ViewerFlags
	Filters []*Filter
	Hidden  map[string]bool
}

// StreamViewerQuery asks for one viewer's side of some statuses.
type StreamViewerQuery struct {
	ViewerID  string
	StatusIDs []string
}

// StreamViewers reads, for many viewers in one round trip, what ViewerFlags, Filters and
// Hidden read for one in three: a streamed status is rendered once for everyone, and this is
// all that differs per reader; a publication reaching a thousand readers costs one pipeline.
func (s *Store) StreamViewers(ctx context.Context, queries []StreamViewerQuery) ([]*StreamViewer, error) {
	type flagCmds struct {
		fav, book, pin *redis.FloatCmd
		reblog         *redis.BoolCmd
	}
	type viewerCmds struct {
		flags   []flagCmds
		filters *redis.MapStringStringCmd
		hidden  [3]*redis.StringSliceCmd
	}
	p := s.rdb.Pipeline()
	cmds := make([]viewerCmds, len(queries))
	for i, q := range queries {
		c := &cmds[i]
		c.flags = make([]flagCmds, len(q.StatusIDs))
		for j, id := range q.StatusIDs {
			c.flags[j] = flagCmds{
				fav:    p.ZScore(ctx, s.k.favourites(q.ViewerID), id),
				book:   p.ZScore(ctx, s.k.bookmarks(q.ViewerID), id),
				pin:    p.ZScore(ctx, s.k.accountPins(q.ViewerID), id),
				reblog: p.HExists(ctx, s.k.boosts(q.ViewerID), id),
			}
		}
		c.filters = p.HGetAll(ctx, s.k.filters(q.ViewerID))
		c.hidden = [3]*redis.StringSliceCmd{
			p.ZRange(ctx, s.k.blocks(q.ViewerID), 0, -1),
			p.ZRange(ctx, s.k.blockedBy(q.ViewerID), 0, -1),
			p.ZRange(ctx, s.k.mutes(q.ViewerID), 0, -1),
		}
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("stream viewers: %w", err)
	}
	out := make([]*StreamViewer, len(queries))
	for i, q := range queries {
		c := &cmds[i]
		v := &StreamViewer{Flags: make(map[string]ViewerFlags, len(q.StatusIDs)), Hidden: map[string]bool{}}
		for j, id := range q.StatusIDs {
			f := c.flags[j]
			v.Flags[id] = ViewerFlags{
				Favourited: f.fav.Err() == nil, Bookmarked: f.book.Err() == nil, Pinned: f.pin.Err() == nil,
				Reblogged: f.reblog.Val(),
			}
		}
		for _, h := range c.hidden {
			for _, id := range h.Val() {
				v.Hidden[id] = true
			}
		}
		var err error
		if v.Filters, err = decodeFilters(c.filters.Val()); err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}
