package server

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"watercooler/requestid"
)

// readyTimeout bounds the checks of one /readyz: a load balancer asks again soon.
const readyTimeout = 2 * time.Second

// Metrics is what the server reports to the instance's metrics, and the handler that serves
// them on /metrics when a token unlocks them on the main listener (WATERCOOLER_METRICS_TOKEN).
type Metrics interface {
	Handler() http.Handler
	// RequestServed counts one answered request under its route pattern.
	RequestServed(method, route string, status int, took time.Duration)
	// CountStreams sets the function that counts open streaming connections when scraped.
	CountStreams(count func() int)
	// MediaProcessed records the processing of one uploaded image of kind (attachment,
	// avatar, header).
	MediaProcessed(kind string, took time.Duration)
}

// WithMetrics reports requests, streaming connections and media processing to m.
func WithMetrics(m Metrics) Option { return func(s *Server) { s.metrics = m } }

// WithRequestLogLevel sets the level of the line logged for each answered request (default
// info; the health endpoints' are at debug whatever this says).
func WithRequestLogLevel(level slog.Level) Option {
	return func(s *Server) { s.requestLogLevel = level }
}

// readyCheck is one condition of /readyz besides Redis answering.
type readyCheck struct {
	name  string
	check func(context.Context) error
}

// WithReadyCheck adds a condition to /readyz: while check fails, /readyz answers 503 with
// the error under name. The composition root uses it for its background workers.
func WithReadyCheck(name string, check func(context.Context) error) Option {
	return func(s *Server) { s.ready = append(s.ready, readyCheck{name, check}) }
}

// observe names the request (X-Request-Id, taken from the client or a proxy when it is a
// plausible id, else made up), answers it with the id, logs the request line and counts it.
// It runs first, so the error handler has run when it reads the status: a refused request is
// counted and logged with its final status, under the route pattern that refused it.
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	id := c.Get(requestid.Header)
	if !requestid.Valid(id) {
		id = requestid.New()
		// Set on the request too: the ActivityPub handlers behind the adaptor read it there.
		c.Request().Header.Set(requestid.Header, id)
	}
	c.Set(requestid.Header, id)
	c.SetUserContext(requestid.With(c.UserContext(), id))
	if err := c.Next(); err != nil {
		if err := c.App().ErrorHandler(c, err); err != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	end := time.Now()
	took := end.Sub(start)
	status := c.Response().StatusCode()
	route := routeLabel(c)
	if s.metrics != nil {
		s.metrics.RequestServed(c.Method(), route, status, took)
	}
	level := s.requestLogLevel
	if route == "/livez" || route == "/readyz" || route == "/metrics" {
		level = slog.LevelDebug // probes every few seconds would drown the requests people make
	}
	// The record goes to the handler directly: Logger.LogAttrs would also walk the stack for
	// the caller's address, which no handler of ours prints, and that walk was a fifth of the
	// cost of a line that is a tenth of a cached read's CPU.
	handler := s.log.Handler()
	ctx := c.UserContext()
	if !handler.Enabled(ctx, level) {
		return nil
	}
	line := slog.NewRecord(end, level, "request", 0)
	line.AddAttrs(slog.String("method", c.Method()), slog.String("route", route), slog.String("path", c.Path()),
		slog.Int("status", status), slog.Float64("took_ms", float64(took.Microseconds())/1000), slog.String("request_id", id))
	_ = handler.Handle(ctx, line) // a log line that cannot be written must not fail the request
	return nil
}

// localUnmatched marks a request that no route answered (see unmatched).
const localUnmatched = "wc.unmatched"

// unmatched marks c as answered by the catch-all that refuses unknown paths, and returns err.
func unmatched(c *fiber.Ctx, err error) error {
	c.Locals(localUnmatched, true)
	return err
}

// routeLabel is the pattern of the route that answered ("/api/v1/statuses/:id"), never the
// URL, so that metrics have as many series as there are routes: "unmatched" for a path no
// route knows, and the prefix of the middleware that answered otherwise ("/" for the web
// client's files).
func routeLabel(c *fiber.Ctx) string {
	if c.Locals(localUnmatched) != nil {
		return "unmatched"
	}
	return c.Route().Path
}

// livez is GET /livez: the process is up and serving HTTP.
func (s *Server) livez(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyz is GET /readyz: 200 when Redis answers and every readiness check passes, else 503
// with what is wrong, so that a load balancer sends no requests to a process that would fail
// them.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), readyTimeout)
	defer cancel()
	problems := map[string]string{}
	if err := s.store.Ping(ctx); err != nil {
		// The client sees no address or error text of the Redis; the log has them.
		problems["redis"] = "Redis does not answer"
		s.log.Warn("not ready: Redis does not answer", "err", err)
	}
	for _, rc := range s.ready {
		if err := rc.check(ctx); err != nil {
			problems[rc.name] = err.Error()
		}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	if len(problems) > 0 {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "problems": problems})
	}
	return c.JSON(fiber.Map{"status": "ok"})
}

// mountHealth routes the health endpoints and, when a token unlocks them, the metrics. They
// come before every other route and middleware, so neither authentication nor rate limits
// stand between a probe and its answer.
func (s *Server) mountHealth(app *fiber.App) {
	app.Get("/livez", s.livez)
	app.Get("/readyz", s.readyz)
	if s.metrics == nil || s.cfg.MetricsToken == "" {
		return
	}
	want := []byte("Bearer " + s.cfg.MetricsToken)
	metrics := adaptor.HTTPHandler(s.metrics.Handler())
	app.Get("/metrics", func(c *fiber.Ctx) error {
		if subtle.ConstantTimeCompare([]byte(c.Get(fiber.HeaderAuthorization)), want) != 1 {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="metrics"`)
			return errorf(fiber.StatusUnauthorized, "The metrics token is missing or wrong")
		}
		return metrics(c)
	})
}
