package server

import (
	"context"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"watercooler/requestid"
	"watercooler/store"
)

// Federation is what the client API needs from the ActivityPub side: its routes, resolving
// remote names, and telling remote servers about local actions. Each notification runs after
// the action is stored and only queues deliveries.
type Federation interface {
	Handler() http.Handler
	Resolve(ctx context.Context, q string) (*store.Account, *store.Status, error)
	StatusCreated(ctx context.Context, st *store.Status) error
	StatusUpdated(ctx context.Context, st *store.Status) error
	StatusDeleted(ctx context.Context, st *store.Status) error
	Reblogged(ctx context.Context, boost, original *store.Status) error
	Favourited(ctx context.Context, liker *store.Account, st *store.Status) error
	Unfavourited(ctx context.Context, liker *store.Account, st *store.Status) error
	FollowRequested(ctx context.Context, follower, target *store.Account) error
	Unfollowed(ctx context.Context, follower, target *store.Account) error
	FollowAccepted(ctx context.Context, follower, target *store.Account) error
	FollowRejected(ctx context.Context, follower, target *store.Account) error
	Blocked(ctx context.Context, blocker, target *store.Account) error
	Unblocked(ctx context.Context, blocker, target *store.Account) error
	ProfileUpdated(ctx context.Context, acct *store.Account) error
	// ReportFiled forwards a report its reporter asked to forward: a Flag from the instance
	// actor to the target's server, and to those of forwardToDomains whose people the reported
	// statuses reply to.
	ReportFiled(ctx context.Context, r *store.Report, forwardToDomains []string) error
	// PreviewCard reads a linked page's preview card through the guarded fetcher.
	PreviewCard(ctx context.Context, url string) (*store.Card, error)
	// ResolveAccountQuery finds an account by user@host or actor URI (migration.go).
	ResolveAccountQuery(ctx context.Context, q string) (*store.Account, error)
	// SetAliases replaces a local account's alsoKnownAs, each alias given as user@host or URI.
	SetAliases(ctx context.Context, acct *store.Account, aliases []string) (*store.Account, error)
	// MoveAccount moves a local account to target (user@host or URI), which must name it as an
	// alias (store.ErrMoveNotConfirmed otherwise), and moves its followers along.
	MoveAccount(ctx context.Context, old *store.Account, target string) (*store.Account, error)
	// ArchiveItems renders a person's statuses as their outbox does, for their archive.
	ArchiveItems(ctx context.Context, acct *store.Account, sts []*store.Status) ([]map[string]any, error)
	// ActorDocument is a local account's actor document, without its @context.
	ActorDocument(acct *store.Account) (map[string]any, error)
}

// Option adjusts a Server built by New.
type Option func(*Server)

// WithFederation connects the server to an instance's ActivityPub side.
func WithFederation(f Federation) Option { return func(s *Server) { s.fed = f } }

// federate tells the ActivityPub side about a stored local action. A failure is logged: the
// local action already succeeded and stays, as Mastodon keeps a post whose delivery failed.
func (s *Server) federate(what string, notify func(Federation) error) {
	if s.fed == nil {
		return
	}
	if err := notify(s.fed); err != nil {
		s.log.Error("queueing federation failed", "action", what, "err", err)
	}
}

// mountFederation routes ActivityPub and discovery paths to the federation handler.
func (s *Server) mountFederation(app *fiber.App) {
	if s.fed == nil {
		return
	}
	h := adaptor.HTTPHandler(detached(s.fed.Handler()))
	get := h
	if docs, ok := s.fed.(publicDocuments); ok {
		get = func(c *fiber.Ctx) error {
			contentType, body, ok := docs.PublicDocument(c.UserContext(), c.Path(), c.Query("resource"), c.Get(fiber.HeaderAccept))
			if !ok {
				return h(c)
			}
			c.Set(fiber.HeaderContentType, contentType)
			c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
			return c.Send(body)
		}
	}
	for _, path := range []string{"/.well-known/webfinger", "/actor", "/users/*"} {
		app.Get(path, get)
	}
	for _, path := range []string{"/.well-known/host-meta", "/.well-known/nodeinfo", "/nodeinfo/:version", "/actor/outbox", "/actor/collections/featured"} {
		app.Get(path, h)
	}
	app.Post("/actor/inbox", h)
	app.Post("/inbox", h)
	app.Post("/users/:name/inbox", h)
}

// publicDocuments is a Federation that answers its hot public documents (WebFinger, actors)
// without the net/http adaptor, which costs as much as the rest of such a request. It reports
// !ok for anything it leaves to Handler.
type publicDocuments interface {
	PublicDocument(ctx context.Context, path, resource, accept string) (contentType string, body []byte, ok bool)
}

// detached serves h with a context of its own, ended when h returns. The adaptor hands net/http
// the fasthttp RequestCtx as the request's context, and fasthttp reuses that once the handler
// returns, while a dial net/http started for an outgoing fetch (a signer's key) may still read it
// from a goroutine of its own: a data race the organization's gossip tests caught.
func detached(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The request id travels in the header (observe put it there), not in the context.
		ctx, cancel := context.WithCancel(requestid.With(context.Background(), r.Header.Get(requestid.Header)))
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}
