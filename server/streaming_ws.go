package server

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
)

const (
	// localStreamConn hands the prepared connection from the upgrade request to the WebSocket.
	localStreamConn = "wc.stream"
	// streamHandshakeGrace is how long an accepted upgrade may take to start the WebSocket
	// handler; fasthttp never starts it when writing the 101 response fails.
	streamHandshakeGrace = 10 * time.Second
	// streamFrameLimit caps client frames, which are small subscribe requests.
	streamFrameLimit = 4096
	// streamCloseGrace bounds the write of the closing frame.
	streamCloseGrace = time.Second
)

// startStreaming creates the streaming hub and the WebSocket upgrader, and ends every stream
// when the app shuts down. Open streams end on their own at the start of a shutdown (they watch
// fasthttp's shutdown signal), so that Shutdown does not wait on them; the hook then closes
// the Redis subscription.
func (s *Server) startStreaming(app *fiber.App) {
	s.streams = newStreamHub(s.store, s.log, s.cfg.StreamingBuffer)
	s.streams.upgrade = websocket.New(s.serveWebSocket, websocket.Config{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   1024,
		WriteBufferSize:  4096,
	})
	app.Hooks().OnShutdown(s.streams.close)
	if s.metrics != nil {
		s.metrics.CountStreams(s.streams.count)
	}
}

// streamingWebSocket is GET /api/v1/streaming: a WebSocket multiplexing any number of streams,
// chosen with the stream (plus tag or list) query parameters and with subscribe and unsubscribe
// messages. Authentication and the initial stream are checked before the upgrade: a refused
// request gets an HTTP error (401, 403, 400, 404) and no WebSocket. A plain GET with a stream
// parameter is served as server-sent events.
func (s *Server) streamingWebSocket(c *fiber.Ctx) error {
	if !websocket.IsWebSocketUpgrade(c) {
		if name := c.Query("stream"); name != "" {
			return s.serveSSE(c, name)
		}
		return errorf(fiber.StatusBadRequest, "Unknown channel requested")
	}
	acct, tok, proto, err := s.streamAuth(c, true)
	if err != nil {
		return err
	}
	conn := s.newStreamConn(c, acct, tok)
	var subs []*streamSub
	if name := c.Query("stream"); name != "" {
		sub, err := s.streamSpec(c.UserContext(), conn, name, c.Query("tag"), c.Query("list"))
		if err != nil {
			conn.close(closeClientGone)
			return err
		}
		subs = append(subs, sub)
	}
	// Subscribing before the upgrade means that once the client sees the 101, every event
	// published afterwards reaches it.
	if err := s.streams.open(c.UserContext(), conn, subs...); err != nil {
		return err
	}
	if proto != "" {
		c.Set(fiber.HeaderSecWebSocketProtocol, proto)
	}
	c.Locals(localStreamConn, conn)
	abandon := func() {
		if conn.started.CompareAndSwap(false, true) {
			s.streams.release(conn)
		}
	}
	time.AfterFunc(streamHandshakeGrace, abandon)
	if err := s.streams.upgrade(c); err != nil {
		abandon()
		return err
	}
	return nil
}

// serveWebSocket runs an upgraded connection: a goroutine reads the client's requests while
// this one writes events until the stream ends.
func (s *Server) serveWebSocket(ws *websocket.Conn) {
	conn, _ := ws.Locals(localStreamConn).(*streamConn)
	if conn == nil || !conn.started.CompareAndSwap(false, true) {
		return
	}
	defer s.streams.release(conn)
	ws.SetReadLimit(streamFrameLimit)
	reading := make(chan struct{})
	go func() {
		defer close(reading)
		s.readWebSocket(conn, ws)
	}()
	conn.run(&wsWriter{ws: ws}, s.streamHeartbeat())
	<-reading
}

// streamRequest is a client's subscribe or unsubscribe message.
type streamRequest struct {
	Type   string     `json:"type"`
	Stream string     `json:"stream"`
	Tag    string     `json:"tag"`
	List   flexString `json:"list"`
}

// flexString accepts a JSON string or number, as clients send list ids both ways.
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*f = flexString(n.String())
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	*f = flexString(str)
	return nil
}

// readWebSocket handles the client's messages until it leaves or the stream ends; errors are
// answered with {"error": ..., "status": ...} frames, as Mastodon's streaming server does.
func (s *Server) readWebSocket(c *streamConn, ws *websocket.Conn) {
	for {
		kind, data, err := ws.ReadMessage()
		if err != nil {
			c.close(closeClientGone)
			return
		}
		if kind != websocket.TextMessage {
			continue
		}
		var req streamRequest
		if err := json.Unmarshal(data, &req); err != nil {
			c.reply(fiber.StatusBadRequest, "Could not parse the message as JSON")
			continue
		}
		switch req.Type {
		case "subscribe":
			s.wsSubscribe(c, req)
		case "unsubscribe":
			if sub := c.remove(streamKey(req.Stream, tagName(req.Tag), string(req.List))); sub != nil {
				s.streams.unsubscribe(sub)
			}
		default:
			c.reply(fiber.StatusBadRequest, "Unknown message type")
		}
	}
}

func (s *Server) wsSubscribe(c *streamConn, req streamRequest) {
	sub, err := s.streamSpec(c.ctx, c, req.Stream, req.Tag, string(req.List))
	if err != nil {
		var api *apiError
		if !errors.As(err, &api) {
			s.log.Error("streaming: subscribe failed", "stream", req.Stream, "err", err)
			api = &apiError{fiber.StatusInternalServerError, "Internal server error"}
		}
		c.reply(api.status, api.msg)
		return
	}
	if !c.add(sub) {
		return // already subscribed, as Mastodon ignores a repeated subscription
	}
	if err := s.streams.subscribe(c.ctx, sub); err != nil {
		c.remove(sub.key)
		c.reply(errStreamUnavailable.status, errStreamUnavailable.msg)
	}
}

// streamKey identifies a stream within a connection: its name, then its tag or list id.
func streamKey(name, tag, list string) string {
	switch name {
	case "hashtag", "hashtag:local":
		return name + "\x00" + tag
	case "list":
		return name + "\x00" + list
	}
	return name
}

// wsMessage is one event as Mastodon's streaming server sends it over WebSocket: the payload is
// the entity's JSON as a string (or a deleted status's id), absent for filters_changed.
type wsMessage struct {
	Stream  []string `json:"stream"`
	Event   string   `json:"event"`
	Payload *string  `json:"payload,omitempty"`
}

// wsWriter writes events to a WebSocket; only the connection's run loop uses it.
type wsWriter struct {
	ws *websocket.Conn
}

func (w *wsWriter) send(stream []string, event string, p *streamPayload) error {
	frame, err := p.wsFrame(stream, event)
	if err != nil {
		return err
	}
	return w.raw(frame)
}

func (w *wsWriter) raw(frame []byte) error {
	if err := w.ws.SetWriteDeadline(time.Now().Add(streamWriteTimeout)); err != nil {
		return err
	}
	return w.ws.WriteMessage(websocket.TextMessage, frame)
}

func (w *wsWriter) heartbeat() error {
	return w.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(streamWriteTimeout))
}

// close sends the closing frame and stops the reading goroutine. Closing the socket itself is
// left to fasthttp, which does it when the handler returns.
func (w *wsWriter) close(reason closeReason) {
	code := websocket.CloseNormalClosure
	switch reason {
	case closeShutdown:
		code = websocket.CloseGoingAway
	case closeRevoked:
		code = websocket.ClosePolicyViolation
	case closeSlow:
		code = websocket.CloseTryAgainLater
	}
	msg := websocket.FormatCloseMessage(code, reason.String())
	_ = w.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(streamCloseGrace))
	_ = w.ws.SetReadDeadline(time.Now())
}
