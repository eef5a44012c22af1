package server

import (
	"bufio"
	"net"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// streamingHealth is GET /api/v1/streaming/health.
func (s *Server) streamingHealth(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.SendString("OK")
}

// streamingSSE serves one stream as server-sent events: GET /api/v1/streaming/<name>, with tag
// or list when the stream needs one, and only_media for the public streams.
func (s *Server) streamingSSE(name string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return s.serveSSE(c, name)
	}
}

func (s *Server) serveSSE(c *fiber.Ctx, name string) error {
	acct, tok, _, err := s.streamAuth(c, false)
	if err != nil {
		return err
	}
	if strings.HasPrefix(name, "public") && queryBool(c, "only_media") && !strings.HasSuffix(name, ":media") {
		name += ":media"
	}
	conn := s.newStreamConn(c, acct, tok)
	sub, err := s.streamSpec(c.UserContext(), conn, name, c.Query("tag"), c.Query("list"))
	if err != nil {
		conn.close(closeClientGone)
		return err
	}
	if err := s.streams.open(c.UserContext(), conn, sub); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no") // a proxy must pass events on as they come
	netConn := c.Context().Conn()
	heartbeat := s.streamHeartbeat()
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer s.streams.release(conn)
		sse := &sseWriter{w: w, conn: netConn}
		// The first bytes flush the headers: the client knows the stream is live.
		if err := sse.comment(")"); err != nil {
			return
		}
		conn.run(sse, heartbeat)
	})
	return nil
}

func (s *Server) streamHeartbeat() time.Duration {
	if s.cfg.StreamingHeartbeat > 0 {
		return s.cfg.StreamingHeartbeat
	}
	return 15 * time.Second
}

// sseWriter writes server-sent events. Fasthttp set a write deadline for the whole response
// (WriteTimeout); each write moves it, so that only a stuck client times out.
type sseWriter struct {
	w    *bufio.Writer
	conn net.Conn
}

func (e *sseWriter) flush() error {
	if err := e.conn.SetWriteDeadline(time.Now().Add(streamWriteTimeout)); err != nil {
		return err
	}
	return e.w.Flush()
}

func (e *sseWriter) comment(text string) error {
	e.w.WriteString(":" + text + "\n\n")
	return e.flush()
}

func (e *sseWriter) send(_ []string, event string, p *streamPayload) error {
	e.w.WriteString("event: " + event + "\ndata: ")
	data := p.data
	if data == nil {
		// An event without data is never dispatched by EventSource; Mastodon sends this.
		data = []byte("undefined")
	}
	e.w.Write(data)
	e.w.WriteString("\n\n")
	return e.flush()
}

func (e *sseWriter) raw([]byte) error { return nil }

func (e *sseWriter) heartbeat() error { return e.comment("thump") }

func (e *sseWriter) close(closeReason) {}
