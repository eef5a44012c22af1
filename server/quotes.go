package server

import (
	"context"
	"errors"
	"html"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// Quote posts as Mastodon 4.5 has them: posting with quoted_status_id, the quote and
// quote_approval attributes of statuses, the list of a status's quotes, revoking a quote, and
// changing a status's quote policy. Remote quotes go through FEP-044f (QuoteRequest, Accept with
// a QuoteAuthorization stamp, Delete of the stamp to revoke), in federation/.

// quoteFederation is what quote posts need from the ActivityPub side beyond Federation.
type quoteFederation interface {
	// QuoteRequested asks a remote quoted author to authorize a local quote post.
	QuoteRequested(ctx context.Context, quoting *store.Status) error
	// QuoteRevoked withdraws the stamp of a quote of a local status.
	QuoteRevoked(ctx context.Context, quoted, quoting *store.Status) error
	// QuotePolicyChanged tells remote servers who may quote a local status now.
	QuotePolicyChanged(ctx context.Context, st *store.Status) error
}

// federateQuote runs notify when the ActivityPub side speaks FEP-044f.
func (s *Server) federateQuote(what string, notify func(quoteFederation) error) {
	s.federate(what, func(f Federation) error {
		if qf, ok := f.(quoteFederation); ok {
			return notify(qf)
		}
		return nil
	})
}

// quoteRequest is what a client asks of a new post about quoting.
type quoteRequest struct {
	QuotedStatusID string // "" when the post quotes nothing
	Policy         string // quote_approval_policy as sent
	Default        string // the poster's default policy, for a Policy not sent
}

// Errors of quote posting, worded as Mastodon's validations are.
var (
	errQuotePolicy = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: Quote approval policy is not included in the list"}
	errQuoteMedia  = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: Quote posts cannot have media attachments or polls"}
	errQuoteDirect = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: Private mentions quoting a post must mention its author"}
)

// quotePolicyFor is the policy a new or edited status gets: followers-only and direct statuses
// nobody else may quote, as Mastodon forces; otherwise what was asked, by default fallback
// (anybody when that is empty too).
func quotePolicyFor(asked, fallback, visibility string) (string, error) {
	asked = strings.TrimSpace(asked)
	if asked != "" && !store.ValidQuotePolicy(asked) {
		return "", errQuotePolicy
	}
	switch {
	case visibility == store.VisibilityPrivate || visibility == store.VisibilityDirect:
		return store.QuoteNobody, nil
	case asked == "" && store.ValidQuotePolicy(fallback):
		return fallback, nil
	case asked == "":
		return store.QuotePublic, nil
	}
	return asked, nil
}

// prepareQuote applies the quote rules to a post about to be created by author: the quoted status
// must be one author may see and quote (Mastodon's StatusPolicy#quote?), a post quoting a
// followers-only status is followers-only too, and a quote carries no media. It sets st.Quote
// (accepted at once for a local quoted status whose policy approves it automatically, pending
// for a remote one until its author's server answers), st.QuotePolicy and st.Visibility.
func (s *Server) prepareQuote(ctx context.Context, author *store.Account, st *store.Status, req quoteRequest, hasPoll bool) error {
	policy, err := quotePolicyFor(req.Policy, req.Default, st.Visibility)
	if err != nil {
		return err
	}
	st.QuotePolicy = policy
	if strings.TrimSpace(req.QuotedStatusID) == "" {
		return nil
	}
	if len(st.MediaIDs) > 0 || hasPoll {
		return errQuoteMedia
	}
	quoted, err := s.visibleStatus(ctx, author, strings.TrimSpace(req.QuotedStatusID))
	if err != nil {
		return err
	}
	var rel store.Relationship
	if quoted.AccountID != author.ID {
		rels, err := s.store.Relationships(ctx, author.ID, []string{quoted.AccountID})
		if err != nil {
			return err
		}
		rel = rels[0]
	}
	approval := store.QuoteApproval(quoted, author.ID, rel.Following, rel.BlockedBy)
	if approval == store.ApprovalDenied {
		return errForbidden
	}
	if quoted.Visibility == store.VisibilityPrivate && (st.Visibility == store.VisibilityPublic || st.Visibility == store.VisibilityUnlisted) {
		st.Visibility = store.VisibilityPrivate
		st.QuotePolicy = store.QuoteNobody
	}
	state := store.QuotePending
	if approval == store.ApprovalAutomatic && (quoted.Local || quoted.AccountID == author.ID) {
		state = store.QuoteAccepted
	}
	st.Quote = &store.QuoteRef{StatusID: quoted.ID, URI: quoted.URI, AccountID: quoted.AccountID, State: state}
	return nil
}

// finishQuote checks and completes a quote post once its text is rendered: a direct one must
// mention the quoted author, and one whose text does not link the quoted post gets Mastodon's
// "RE:" paragraph, which clients that show quotes hide, for those that do not.
func (s *Server) finishQuote(ctx context.Context, st *store.Status) error {
	q := st.Quote
	if q == nil {
		return nil
	}
	if st.Visibility == store.VisibilityDirect && q.AccountID != st.AccountID && !slices.Contains(st.Mentions, q.AccountID) {
		return errQuoteDirect
	}
	link := q.URI
	if quoted, err := s.store.Status(ctx, q.StatusID); err == nil && quoted.URL != "" {
		link = quoted.URL
	}
	if strings.Contains(st.Content, html.EscapeString(link)) || strings.Contains(st.Content, html.EscapeString(q.URI)) {
		return nil
	}
	st.Content = `<p class="quote-inline">RE: <a href="` + html.EscapeString(link) + `">` + html.EscapeString(link) + `</a></p>` + st.Content
	return nil
}

// quoteCreated federates what a new quote post asks of a remote quoted author.
func (s *Server) quoteCreated(ctx context.Context, st *store.Status) {
	if st.Quote != nil && st.Quote.State == store.QuotePending {
		s.federateQuote("quote request", func(f quoteFederation) error { return f.QuoteRequested(ctx, st) })
	}
}

// quoteSet is what rendering the quotes and quote approvals of a page needs beyond the page: the
// quoted statuses and the viewer's relationships to their authors and to the authors of
// statuses only followers may quote.
type quoteSet struct {
	quoted map[string]*store.Status
	rels   map[string]store.Relationship
}

// needsQuoteReads reports whether rendering st for a viewer needs reads beyond the status itself.
func needsQuoteReads(st *store.Status) bool {
	return st.Quote != nil || store.EffectiveQuotePolicy(st) == store.QuoteFollowers
}

// loadQuotes reads the statuses that sts (and the statuses they boost) quote, adding them to
// extra so that the page's batched read loads their authors, media and counters too, and the
// viewer's relationships that deciding what the viewer sees of them needs.
func (s *Server) loadQuotes(ctx context.Context, viewer *store.Account, sts []*store.Status, extra map[string]*store.Status) (*quoteSet, error) {
	qs := &quoteSet{quoted: map[string]*store.Status{}, rels: map[string]store.Relationship{}}
	var quotedIDs, authors []string
	consider := func(st *store.Status) {
		if st.Quote != nil && st.Quote.State == store.QuoteAccepted && st.Quote.StatusID != "" {
			quotedIDs = append(quotedIDs, st.Quote.StatusID)
		}
		if store.EffectiveQuotePolicy(st) == store.QuoteFollowers {
			authors = append(authors, st.AccountID)
		}
	}
	for _, st := range sts {
		consider(st)
	}
	for _, st := range extra {
		consider(st)
	}
	if len(quotedIDs) > 0 {
		list, _, err := s.store.StatusesFor(ctx, "", quotedIDs)
		if err != nil {
			return nil, err
		}
		for _, q := range list {
			qs.quoted[q.ID] = q
			extra[q.ID] = q
			authors = append(authors, q.AccountID)
		}
	}
	if viewer == nil || len(authors) == 0 {
		return qs, nil
	}
	slices.Sort(authors)
	authors = slices.DeleteFunc(slices.Compact(authors), func(id string) bool { return id == viewer.ID })
	if len(authors) == 0 {
		return qs, nil
	}
	rels, err := s.store.Relationships(ctx, viewer.ID, authors)
	if err != nil {
		return nil, err
	}
	for _, r := range rels {
		qs.rels[r.ID] = r
	}
	return qs, nil
}

// approval is the QuoteApproval entity of st for the viewer. A boost cannot be quoted.
func (qs *quoteSet) approval(viewerID string, st *store.Status) *mastodon.QuoteApproval {
	var rel store.Relationship
	if qs != nil {
		rel = qs.rels[st.AccountID]
	}
	out := &mastodon.QuoteApproval{Automatic: []string{}, Manual: []string{}, CurrentUser: store.QuoteApproval(st, viewerID, rel.Following, rel.BlockedBy)}
	if st.ReblogOfID == "" {
		out.Automatic, out.Manual = store.QuotePolicyLists(st)
	}
	return out
}

// attach fills the quote and quote_approval of d (and of the status it boosts) for the viewer.
// The quoted status is shown only when the quote is accepted and mayView lets the viewer see it;
// otherwise the viewer learns the state alone (unauthorized, deleted, pending...). A quoted
// status's own quote is shallow, so that quotes nest one level, as in Mastodon.
func (qs *quoteSet) attach(viewerID string, d *mastodon.StatusData, build func(*store.Status) *mastodon.StatusData) {
	d.QuoteApproval = qs.approval(viewerID, d.Status)
	if d.Reblog != nil {
		qs.attach(viewerID, d.Reblog, build)
	}
	q := d.Status.Quote
	if q == nil {
		return
	}
	out := &mastodon.QuoteData{State: q.State}
	d.Quote = out
	if q.State != store.QuoteAccepted {
		return
	}
	var quoted *store.Status
	if qs != nil {
		quoted = qs.quoted[q.StatusID]
	}
	if quoted == nil {
		out.State = store.QuoteDeleted
		return
	}
	rel := qs.rels[quoted.AccountID]
	if !mayView(viewerID, quoted, rel) {
		out.State = "unauthorized"
		return
	}
	inner := build(quoted)
	if inner == nil {
		out.State = store.QuoteDeleted
		return
	}
	inner.QuoteApproval = qs.approval(viewerID, quoted)
	if nested := quoted.Quote; nested != nil {
		inner.Quote = &mastodon.QuoteData{State: nested.State, Shallow: true}
		if nested.State == store.QuoteAccepted {
			inner.Quote.StatusID = nested.StatusID
		}
	}
	out.Status = inner
	switch {
	case rel.Blocking:
		out.State = "blocked_account"
	case rel.Muting:
		out.State = "muted_account"
	}
}

// statusQuotes is GET /api/v1/statuses/:id/quotes: the accepted quotes of one of the viewer's
// statuses that the viewer may see, newest first.
func (s *Server) statusQuotes(c *fiber.Ctx) error {
	ctx := c.UserContext()
	owner := me(c)
	st, err := s.visibleStatus(ctx, owner, c.Params("id"))
	if err != nil {
		return err
	}
	if st.AccountID != owner.ID {
		return errForbidden // Mastodon's StatusPolicy#list_quotes?: the author's list
	}
	entries, err := s.store.Quotes(ctx, st.ID, pageFrom(c, 20, 40))
	if err != nil {
		return err
	}
	sts, err := s.store.Statuses(ctx, store.Members(entries))
	if err != nil {
		return err
	}
	visible, err := s.visibleSubset(ctx, owner, sts)
	if err != nil {
		return err
	}
	out, err := s.renderStatuses(ctx, owner, visible, "")
	if err != nil {
		return err
	}
	s.setLinkHeader(c, entries)
	return c.JSON(out)
}

// quoteRevoke is POST /api/v1/statuses/:id/quotes/:quoting_status_id/revoke: the quoted author
// withdraws their authorization of a quote, which then shows as revoked everywhere.
func (s *Server) quoteRevoke(c *fiber.Ctx) error {
	ctx := c.UserContext()
	owner := me(c)
	quoted, err := s.visibleStatus(ctx, owner, c.Params("id"))
	if err != nil {
		return err
	}
	if quoted.AccountID != owner.ID {
		return errForbidden
	}
	quoting, err := s.store.Status(ctx, c.Params("quoting_status_id"))
	if err != nil || quoting.Quote == nil || quoting.Quote.StatusID != quoted.ID {
		return errNotFound
	}
	revoked, err := s.store.SetQuoteState(ctx, quoting.ID, store.QuoteRevoked, "")
	if errors.Is(err, store.ErrQuoteState) {
		return errNotFound // rejected: there is no authorization to revoke
	}
	if err != nil {
		return err
	}
	s.federateQuote("quote revoke", func(f quoteFederation) error { return f.QuoteRevoked(ctx, quoted, revoked) })
	out, err := s.renderStatus(ctx, owner, revoked)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// interactionPolicyParams are the parameters of PUT /api/v1/statuses/:id/interaction_policy.
type interactionPolicyParams struct {
	QuoteApprovalPolicy string `json:"quote_approval_policy" form:"quote_approval_policy"`
}

// statusInteractionPolicy is PUT /api/v1/statuses/:id/interaction_policy: the author changes who
// may quote a status from now on.
func (s *Server) statusInteractionPolicy(c *fiber.Ctx) error {
	ctx := c.UserContext()
	owner := me(c)
	st, err := s.ownStatus(ctx, owner, c.Params("id"))
	if err != nil {
		return err
	}
	if st.ReblogOfID != "" {
		return errNotFound
	}
	var p interactionPolicyParams
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	if strings.TrimSpace(p.QuoteApprovalPolicy) == "" {
		return errQuotePolicy
	}
	policy, err := quotePolicyFor(p.QuoteApprovalPolicy, "", st.Visibility)
	if err != nil {
		return err
	}
	updated, err := s.store.SetQuotePolicy(ctx, st.ID, policy)
	if err != nil {
		return err
	}
	s.federateQuote("quote policy", func(f quoteFederation) error { return f.QuotePolicyChanged(ctx, updated) })
	out, err := s.renderStatus(ctx, owner, updated)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// defaultQuotePolicy is who may quote a user's new posts unless they say otherwise: anybody,
// Mastodon's default, until they choose.
func defaultQuotePolicy(p store.Preferences) string {
	if p.PostingQuotePolicy == "" {
		return store.QuotePublic
	}
	return p.PostingQuotePolicy
}
