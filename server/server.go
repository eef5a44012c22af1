// Package server is the Fiber application: the Mastodon client API, OAuth, and the web client.
// Handlers are thin: they parse, authorize, make one call into the store, and render entities.
package server

import (
	"bytes"
	"cmp"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"sync"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"watercooler/config"
	"watercooler/media"
	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/text"
	"watercooler/trends"
)

// Server holds what handlers share; it has no mutable state of its own besides reusable
// scratch buffers.
type Server struct {
	cfg    config.Config
	store  *store.Store
	log    *slog.Logger
	site   mastodon.Site
	text   *text.Renderer
	hasher PasswordHasher
	// dummyHash stands in for the password hash of logins that do not exist (see signIn).
	dummyHash string
	// budgets holds the slices of rate-limit windows this process reserved (see ratelimit.go).
	budgets rateBudgets
	fed     Federation   // nil when the instance does not federate (some tests)
	sso     SSO          // nil when no OpenID provider is configured
	org     Organization // nil when the instance keeps no member list (some tests)
	push    Push         // nil when the instance sends no Web Push (some tests)
	metrics Metrics      // nil when nothing collects metrics
	comm    Communities  // nil when the instance hosts no communities (some tests)
	// ready are /readyz's conditions besides Redis answering (WithReadyCheck).
	ready []readyCheck
	// requestLogLevel is the level of request lines (WithRequestLogLevel); zero is info.
	requestLogLevel slog.Level
	// trends ranks this department's hashtags, statuses and links (trends.go).
	trends *trends.Ranker
	// decodes bounds how many uploaded images decode at once.
	decodes *media.Gate
	// streams delivers the streaming API's events; see streaming.go.
	streams *streamHub
	// jsonBuffers are sendJSON's encoding buffers, reused across requests.
	jsonBuffers sync.Pool
	// statusJSON caches statuses' JSON for sendStatuses, statusBuffers (of *[]byte) its buffers.
	statusJSON    *mastodon.StatusJSON
	statusBuffers sync.Pool
	// credentialJSON caches verify_credentials' answers, accountJSON those of an account.
	credentialJSON *mastodon.CredentialJSON
	accountJSON    *mastodon.AccountJSON
}

// PasswordHasher hashes and checks passwords; production uses bcrypt at the configured cost.
type PasswordHasher interface {
	Hash(password string) (string, error)
	Check(hash, password string) bool
}

// New builds the Fiber app of one instance; main and tests both use it.
func New(cfg config.Config, st *store.Store, log *slog.Logger, options ...Option) *fiber.App {
	s := newServer(cfg, st, log, options...)
	app := fiber.New(fiber.Config{
		AppName:               "watercooler",
		BodyLimit:             cfg.BodyLimit,
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		IdleTimeout:           cfg.IdleTimeout,
		ErrorHandler:          errorHandler(log),
		Immutable:             true, // values from *fiber.Ctx outlive handlers in the store layer
		DisableStartupMessage: true,
		ProxyHeader:           "",
	})
	s.bodyLimits(app.Server())
	app.Use(s.observe)
	s.mountHealth(app)
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		log.Error("panic in handler", "path", c.Path(), "panic", e)
	}}))
	app.Use(limitParams)
	app.Use(cors.New(cors.Config{
		AllowOrigins:  "*",
		AllowMethods:  "GET,POST,PUT,PATCH,DELETE,OPTIONS",
		AllowHeaders:  "Authorization,Content-Type,Idempotency-Key,Accept",
		ExposeHeaders: "Link,X-RateLimit-Reset,X-RateLimit-Limit,X-RateLimit-Remaining,X-Request-Id,Idempotency-Key",
	}))
	s.startStreaming(app)
	s.routes(app)
	return app
}

// newServer builds what the handlers and the scheduled-post worker share.
func newServer(cfg config.Config, st *store.Store, log *slog.Logger, options ...Option) *Server {
	s := &Server{
		cfg: cfg, store: st, log: log,
		site:           mastodon.Site{BaseURL: cfg.URL},
		statusJSON:     mastodon.NewStatusJSON(mastodon.Site{BaseURL: cfg.URL}, mastodon.StatusJSONEntries),
		credentialJSON: mastodon.NewCredentialJSON(mastodon.Site{BaseURL: cfg.URL}, mastodon.CredentialJSONEntries),
		accountJSON:    mastodon.NewAccountJSON(mastodon.Site{BaseURL: cfg.URL}, mastodon.AccountJSONEntries),
		text:           text.NewRenderer(cfg.URL),
		hasher:         Bcrypt{Cost: cfg.BcryptCost},
		// The configured number, or 2 for configs built by hand.
		decodes: media.NewGate(cmp.Or(cfg.MediaDecodes, 2)),
	}
	for _, o := range options {
		o(s)
	}
	var cards trends.Cards
	if s.fed != nil {
		cards = s.fed
	}
	s.trends = trends.New(st, cards)
	if h, err := dummyHash(s.hasher); err == nil {
		s.dummyHash = h
	} else {
		// Unreachable with bcrypt and a random password; an empty hash still fails every check.
		log.Error("sign-in", "err", err)
	}
	return s
}

// placeholderPNG draws the default avatar and header: a flat square in the house colour.
func placeholderPNG(c color.RGBA, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // encoding to memory cannot fail
	return buf.Bytes()
}

func servePNG(b []byte) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, "image/png")
		c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
		return c.Send(b)
	}
}

// sendJSONBytes answers with JSON encoded already; the bytes are copied, so they may be shared
// (a memo's) or pooled.
func sendJSONBytes(c *fiber.Ctx, body []byte) error {
	c.Response().SetBody(body)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return nil
}

// sendJSON answers v as JSON, as c.JSON does, but encodes into a buffer reused across requests
// and copies the result into the response's own pooled buffer: c.JSON keeps a fresh copy of the
// encoding, and for a timeline page of some 30 KB that was a quarter of the bytes the request
// allocated.
func (s *Server) sendJSON(c *fiber.Ctx, v any) error {
	buf, _ := s.jsonBuffers.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		buf.Reset()
		s.jsonBuffers.Put(buf)
	}()
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		return err
	}
	// Encode ends the value with a newline, which json.Marshal (and so c.JSON) does not add.
	return sendJSONBytes(c, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}
