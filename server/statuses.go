package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/text"
)

// Limits of a status, Mastodon's defaults.
const (
	maxStatusChars      = 500
	maxMediaAttachments = 4
)

// Thread sizes of GET /api/v1/statuses/:id/context. Signed-in viewers get Mastodon's
// "quasi-unlimited" 4096; anonymous ones Mastodon's smaller, cheaper limits.
const (
	contextLimit                = 4096
	anonymousAncestorsLimit     = 40
	anonymousDescendantsLimit   = 60
	anonymousDescendantsDepth   = 20
	signedInDescendantsMaxDepth = 4096
)

// optBool is a boolean parameter that remembers whether it was sent, read the lenient way Rails
// reads booleans ("true", "1", "on"), from JSON or from a form.
type optBool struct {
	Set, Value bool
}

// UnmarshalText reads a form value.
func (b *optBool) UnmarshalText(t []byte) error {
	switch strings.ToLower(strings.TrimSpace(string(t))) {
	case "true", "1", "on", "yes", "t":
		*b = optBool{Set: true, Value: true}
	case "false", "0", "off", "no", "f":
		*b = optBool{Set: true, Value: false}
	case "":
		*b = optBool{}
	default:
		return fmt.Errorf("%q is not a boolean", t)
	}
	return nil
}

// UnmarshalJSON reads a JSON boolean, or a string some clients send instead.
func (b *optBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case nil:
		*b = optBool{}
	case bool:
		*b = optBool{Set: true, Value: x}
	case string:
		return b.UnmarshalText([]byte(x))
	case float64:
		*b = optBool{Set: true, Value: x != 0}
	default:
		return fmt.Errorf("%s is not a boolean", data)
	}
	return nil
}

// statusParams are the parameters of POST /api/v1/statuses and PUT /api/v1/statuses/:id.
type statusParams struct {
	Status      string     `json:"status" form:"status"`
	MediaIDs    stringList `json:"media_ids" form:"media_ids"`
	InReplyToID string     `json:"in_reply_to_id" form:"in_reply_to_id"`
	Sensitive   optBool    `json:"sensitive" form:"sensitive"`
	SpoilerText string     `json:"spoiler_text" form:"spoiler_text"`
	Visibility  string     `json:"visibility" form:"visibility"`
	Language    string     `json:"language" form:"language"`
	ScheduledAt string     `json:"scheduled_at" form:"scheduled_at"`
	Poll        any        `json:"poll" form:"-"`
	// Quote posts (quotes.go).
	QuotedStatusID      string `json:"quoted_status_id" form:"quoted_status_id"`
	QuoteApprovalPolicy string `json:"quote_approval_policy" form:"quote_approval_policy"`
	// LocalOnly keeps the post inside the department, as glitch-soc and Hometown take it.
	LocalOnly optBool `json:"local_only" form:"local_only"`
	// Idempotency is the Idempotency-Key a scheduled post was sent with, kept to show it.
	Idempotency string `json:"idempotency,omitempty" form:"-"`
	// scheduledID is set when the scheduled-post worker composes the post: the media reserved
	// for it are its own.
	scheduledID string
}

// MarshalJSON writes a boolean, or null when none was sent, as UnmarshalJSON reads it back:
// a scheduled post's parameters are kept as JSON.
func (b optBool) MarshalJSON() ([]byte, error) {
	if !b.Set {
		return []byte("null"), nil
	}
	return json.Marshal(b.Value)
}

// cleanIDs drops empty ids (what an empty form array leaves) and duplicates, keeping the order
// and keeping nil apart from empty: nil means "not sent".
func cleanIDs(ids []string) []string {
	if ids == nil {
		return nil
	}
	out := []string{}
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// validateText applies Mastodon's text rules; withMedia allows an empty text.
func validateText(status, spoiler string, withMedia bool) error {
	if strings.TrimSpace(status) == "" && !withMedia {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Text can't be blank")
	}
	if utf8.RuneCountInString(status)+utf8.RuneCountInString(spoiler) > maxStatusChars {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Text character limit of %d exceeded", maxStatusChars)
	}
	return nil
}

// attachableMedia checks that ids name at most four uploads of ownerID that are not attached to
// a status other than statusID nor reserved for a scheduled post other than scheduledID.
func (s *Server) attachableMedia(ctx context.Context, ownerID, statusID, scheduledID string, ids []string) error {
	if len(ids) > maxMediaAttachments {
		return errorf(fiber.StatusUnprocessableEntity, "Cannot attach more than %d files", maxMediaAttachments)
	}
	if len(ids) == 0 {
		return nil
	}
	media, err := s.store.MediaByIDs(ctx, ids)
	if err != nil {
		return err
	}
	var reserved []*store.Media
	for _, m := range media {
		if m.ScheduledStatusID != "" && m.ScheduledStatusID != scheduledID {
			reserved = append(reserved, m)
		}
	}
	freed, err := s.store.FreeStaleReservations(ctx, ownerID, reserved, time.Now())
	if err != nil {
		return err
	}
	var missing []string
	for _, id := range ids {
		m, ok := media[id]
		reservedElsewhere := ok && m.ScheduledStatusID != "" && m.ScheduledStatusID != scheduledID && !slices.Contains(freed, id)
		if !ok || m.AccountID != ownerID || (m.StatusID != "" && m.StatusID != statusID) || reservedElsewhere {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return errorf(fiber.StatusUnprocessableEntity, "Media %s not found or already attached to another post", strings.Join(missing, ", "))
	}
	return nil
}

// mentionResolver finds mentioned accounts among those this instance knows, and, as Mastodon
// does, looks up a remote one it does not know yet through WebFinger, so that the first post to
// a community on another department (@golang@eng.example) reaches it.
func (s *Server) mentionResolver(ctx context.Context) text.MentionResolver {
	return func(acct string) (text.Mention, bool) {
		a, err := s.store.AccountByAcct(ctx, acct)
		if errors.Is(err, store.ErrNotFound) && s.fed != nil && strings.Contains(acct, "@") {
			a, _, err = s.fed.Resolve(ctx, acct)
		}
		if err != nil || a == nil || a.Suspended {
			return text.Mention{}, false
		}
		url := a.URL
		if url == "" {
			url = a.URI
		}
		return text.Mention{AccountID: a.ID, Username: a.Username, Acct: a.Acct(), URL: url}, true
	}
}

// renderText renders a status's source and fills Content, Mentions and Tags. The replied-to
// author counts as mentioned, as in Mastodon, so a reply reaches them whatever its visibility.
func (s *Server) renderText(ctx context.Context, st *store.Status) {
	r := s.text.Render(st.Text, s.mentionResolver(ctx))
	st.Content = r.HTML
	st.Mentions = make([]string, 0, len(r.Mentions)+1)
	for _, m := range r.Mentions {
		st.Mentions = append(st.Mentions, m.AccountID)
	}
	if st.InReplyToAccountID != "" && st.InReplyToAccountID != st.AccountID && !slices.Contains(st.Mentions, st.InReplyToAccountID) {
		st.Mentions = append(st.Mentions, st.InReplyToAccountID)
	}
	st.Tags = r.Tags
}

func validVisibility(v string) bool {
	switch v {
	case store.VisibilityPublic, store.VisibilityUnlisted, store.VisibilityPrivate, store.VisibilityDirect:
		return true
	}
	return false
}

// errVisibility is Mastodon's answer to an unknown visibility.
var errVisibility = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: Visibility is not included in the list"}

// errLanguage refuses a language that is not an ISO 639 code, which would otherwise be
// stored and federated as it came.
var errLanguage = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: Language is not a valid ISO 639 code"}

// statusCreate is POST /api/v1/statuses.
func (s *Server) statusCreate(c *fiber.Ctx) error {
	ctx := c.UserContext()
	author := me(c)
	var p statusParams
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	clientID := ""
	if tok := token(c); tok != nil {
		clientID = tok.ClientID
	}
	scheduledAt, err := parseScheduledAt(p.ScheduledAt, time.Now())
	if err != nil {
		return err
	}
	st, err := s.composeStatus(ctx, author, &p, clientID)
	if err != nil {
		return err
	}
	if !scheduledAt.IsZero() {
		return s.scheduleStatus(c, &p, st, clientID, scheduledAt)
	}
	created, err := s.publishStatus(ctx, st, c.Get("Idempotency-Key"))
	if err != nil {
		return err
	}
	out, err := s.renderStatus(ctx, author, created)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// composeStatus turns what a poster sent into the status to create, refusing whatever a post can
// be refused for. It writes nothing, so a scheduled post can be checked when it is scheduled and
// composed again when it is due.
func (s *Server) composeStatus(ctx context.Context, author *store.Account, p *statusParams, clientID string) (*store.Status, error) {
	p.MediaIDs = cleanIDs(p.MediaIDs)
	user, err := s.store.User(ctx, author.ID)
	if err != nil {
		return nil, fmt.Errorf("poster's preferences: %w", err)
	}
	visibility := strings.TrimSpace(p.Visibility)
	if visibility == "" {
		visibility = user.Preferences.PostingVisibility
	}
	if visibility == "" {
		visibility = store.VisibilityPublic
	}
	if !validVisibility(visibility) {
		return nil, errVisibility
	}
	if !validLanguage(p.Language) {
		return nil, errLanguage
	}
	st := store.Status{
		AccountID: author.ID, Local: true, Text: p.Status, SpoilerText: strings.TrimSpace(p.SpoilerText),
		Visibility: visibility, Language: p.Language, MediaIDs: p.MediaIDs,
		Sensitive: user.Preferences.PostingSensitive,
	}
	if p.Sensitive.Set {
		st.Sensitive = p.Sensitive.Value
	}
	st.Sensitive = st.Sensitive || st.SpoilerText != ""
	st.LocalOnly = p.LocalOnly.Value
	if st.Language == "" {
		st.Language = cmp.Or(user.Preferences.PostingLanguage, s.cfg.DefaultLanguage)
	}
	if p.InReplyToID != "" {
		parent, err := s.visibleStatus(ctx, author, p.InReplyToID)
		if errors.Is(err, errNotFound) || (err == nil && parent.ReblogOfID != "") {
			return nil, errorf(fiber.StatusNotFound, "The post you are trying to reply to does not appear to exist.")
		}
		if err != nil {
			return nil, err
		}
		st.InReplyToID, st.InReplyToAccountID, st.InReplyToURI = parent.ID, parent.AccountID, parent.URI
		// A reply in a department-only thread stays in the department with it.
		st.LocalOnly = st.LocalOnly || parent.LocalOnly
	}
	if err := composePoll(&st, p); err != nil {
		return nil, err
	}
	quote := quoteRequest{QuotedStatusID: p.QuotedStatusID, Policy: p.QuoteApprovalPolicy, Default: user.Preferences.PostingQuotePolicy}
	if err := s.prepareQuote(ctx, author, &st, quote, p.Poll != nil); err != nil {
		return nil, err
	}
	if st.LocalOnly && st.Quote != nil && st.Quote.State == store.QuotePending {
		// The quoted author's server would have to approve a post it may never see.
		return nil, errorf(fiber.StatusUnprocessableEntity, "Validation failed: A post that stays in this department cannot quote a post from another server")
	}
	if err := s.attachableMedia(ctx, author.ID, "", p.scheduledID, st.MediaIDs); err != nil {
		return nil, err
	}
	if err := validateText(st.Text, st.SpoilerText, len(st.MediaIDs) > 0); err != nil {
		return nil, err
	}
	if clientID != "" {
		if app, err := s.store.App(ctx, clientID); err == nil {
			st.ApplicationName, st.ApplicationWebsite = app.Name, app.Website
		}
	}
	s.renderText(ctx, &st)
	if err := s.finishQuote(ctx, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// publishStatus creates a composed status and sends it to other servers.
func (s *Server) publishStatus(ctx context.Context, st *store.Status, idempotencyKey string) (*store.Status, error) {
	created, err := s.store.CreateStatus(ctx, store.NewStatus{Status: *st, IdempotencyKey: idempotencyKey, BaseURL: s.cfg.URL, Poll: st.NewPoll})
	if errors.Is(err, store.ErrConflict) {
		return nil, errorf(fiber.StatusUnprocessableEntity, "A request with this Idempotency-Key is still being processed")
	}
	if err != nil {
		return nil, err
	}
	s.federate("post", func(f Federation) error { return f.StatusCreated(ctx, created) })
	s.quoteCreated(ctx, created)
	s.communityPosted(ctx, created)
	return created, nil
}

// statusGet is GET /api/v1/statuses/:id.
func (s *Server) statusGet(c *fiber.Ctx) error {
	ctx := c.UserContext()
	// The shared record, not a copy (as visibleStatus reads): the JSON memo then recognizes it
	// by its pointer.
	sts, _, err := s.store.StatusesFor(ctx, "", []string{c.Params("id")})
	if err != nil {
		return err
	}
	if len(sts) == 0 {
		return errNotFound
	}
	if ok, err := s.visibleTo(ctx, viewer(c), sts[0]); err != nil {
		return err
	} else if !ok {
		return errNotFound
	}
	ds, err := s.loadStatusData(ctx, viewer(c), sts, "", false)
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		return errNotFound
	}
	return s.sendStatus(c, ds[0])
}

// ownStatus loads one of the viewer's own statuses; others' are 404, as Mastodon answers for
// delete, edit and source.
func (s *Server) ownStatus(ctx context.Context, owner *store.Account, id string) (*store.Status, error) {
	st, err := s.store.Status(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && st.AccountID != owner.ID) {
		return nil, errNotFound
	}
	return st, err
}

// statusDelete is DELETE /api/v1/statuses/:id. It answers the deleted status with its source
// text, and unless delete_media is set keeps its media, so a client can "delete & redraft".
func (s *Server) statusDelete(c *fiber.Ctx) error {
	ctx := c.UserContext()
	owner := me(c)
	st, err := s.ownStatus(ctx, owner, c.Params("id"))
	if err != nil {
		return err
	}
	out, err := s.renderStatus(ctx, owner, st)
	if err != nil {
		return err
	}
	out.Text = &st.Text
	if queryBool(c, "delete_media") {
		err = s.deleteStatusWithMedia(ctx, st)
	} else {
		err = s.store.DeleteStatusForRedraft(ctx, st)
	}
	if err != nil {
		return err
	}
	s.federate("delete", func(f Federation) error { return f.StatusDeleted(ctx, st) })
	return c.JSON(out)
}

// statusEdit is PUT /api/v1/statuses/:id. As in Mastodon, visibility and the reply cannot
// change; media stay unless media_ids is sent.
func (s *Server) statusEdit(c *fiber.Ctx) error {
	ctx := c.UserContext()
	owner := me(c)
	previous, err := s.ownStatus(ctx, owner, c.Params("id"))
	if err != nil {
		return err
	}
	if previous.ReblogOfID != "" {
		return errNotFound // a boost has nothing to edit
	}
	var p statusParams
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	if !validLanguage(p.Language) {
		return errLanguage
	}
	updated := *previous
	updated.Text, updated.SpoilerText = p.Status, strings.TrimSpace(p.SpoilerText)
	if p.Sensitive.Set {
		updated.Sensitive = p.Sensitive.Value
	}
	updated.Sensitive = updated.Sensitive || updated.SpoilerText != ""
	if p.Language != "" {
		updated.Language = p.Language
	}
	if ids := cleanIDs(p.MediaIDs); ids != nil {
		updated.MediaIDs = ids
		if err := s.attachableMedia(ctx, owner.ID, previous.ID, "", ids); err != nil {
			return err
		}
	}
	writePoll, err := s.editPoll(ctx, &updated, previous, &p)
	if err != nil {
		return err
	}
	if err := validateText(updated.Text, updated.SpoilerText, len(updated.MediaIDs) > 0); err != nil {
		return err
	}
	if p.QuoteApprovalPolicy != "" {
		if updated.QuotePolicy, err = quotePolicyFor(p.QuoteApprovalPolicy, "", updated.Visibility); err != nil {
			return err
		}
	}
	s.renderText(ctx, &updated)
	updated.EditedAt = time.Now().UTC()
	if err := writePoll(); err != nil {
		return err
	}
	if err := s.store.EditStatus(ctx, &updated, previous); err != nil {
		return err
	}
	s.federate("edit", func(f Federation) error { return f.StatusUpdated(ctx, &updated) })
	out, err := s.renderStatus(ctx, owner, &updated)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// statusHistory is GET /api/v1/statuses/:id/history: every version, oldest first.
func (s *Server) statusHistory(c *fiber.Ctx) error {
	ctx := c.UserContext()
	st, err := s.visibleStatus(ctx, viewer(c), c.Params("id"))
	if err != nil {
		return err
	}
	edits, err := s.store.StatusHistory(ctx, st)
	if err != nil {
		return err
	}
	author, err := s.store.Account(ctx, st.AccountID)
	if err != nil {
		return err
	}
	account, err := s.renderAccount(ctx, author)
	if err != nil {
		return err
	}
	var mediaIDs []string
	for _, e := range edits {
		mediaIDs = append(mediaIDs, e.MediaIDs...)
	}
	media, err := s.store.MediaByIDs(ctx, mediaIDs)
	if err != nil {
		return err
	}
	out := make([]mastodon.StatusEdit, len(edits))
	for i, e := range edits {
		out[i] = mastodon.StatusEdit{
			Content: e.Content, SpoilerText: e.SpoilerText, Sensitive: e.Sensitive, CreatedAt: mastodon.Timestamp(e.CreatedAt),
			Account: account, MediaAttachments: []mastodon.MediaAttachment{}, Emojis: []mastodon.CustomEmoji{},
		}
		for _, id := range e.MediaIDs {
			if m, ok := media[id]; ok {
				out[i].MediaAttachments = append(out[i].MediaAttachments, mastodon.MediaFrom(m))
			}
		}
	}
	return c.JSON(out)
}

// statusSource is GET /api/v1/statuses/:id/source, for the author's edit form.
func (s *Server) statusSource(c *fiber.Ctx) error {
	st, err := s.ownStatus(c.UserContext(), me(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(mastodon.StatusSource{ID: st.ID, Text: st.Text, SpoilerText: st.SpoilerText})
}

// statusContext is GET /api/v1/statuses/:id/context: the visible ancestors, root first, and the
// visible descendants in thread order.
func (s *Server) statusContext(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v := viewer(c)
	st, err := s.visibleStatus(ctx, v, c.Params("id"))
	if err != nil {
		return err
	}
	ancestorsLimit, descendantsLimit, depth := contextLimit, contextLimit, signedInDescendantsMaxDepth
	if v == nil {
		ancestorsLimit, descendantsLimit, depth = anonymousAncestorsLimit, anonymousDescendantsLimit, anonymousDescendantsDepth
	}
	ancestors, err := s.store.Ancestors(ctx, st, ancestorsLimit)
	if err != nil {
		return err
	}
	ids, err := s.store.Descendants(ctx, st.ID, descendantsLimit, depth)
	if err != nil {
		return err
	}
	descendants, err := s.store.Statuses(ctx, ids)
	if err != nil {
		return err
	}
	out := mastodon.Context{}
	for _, part := range []struct {
		sts []*store.Status
		dst *[]mastodon.Status
	}{{ancestors, &out.Ancestors}, {descendants, &out.Descendants}} {
		visible, err := s.visibleSubset(ctx, v, part.sts)
		if err != nil {
			return err
		}
		if *part.dst, err = s.renderStatuses(ctx, v, visible, contextThread); err != nil {
			return err
		}
	}
	return c.JSON(out)
}

// visibleSubset keeps the statuses viewer may see (mayView), in order, dropping also those of
// accounts the viewer blocks or mutes, as Mastodon does in threads; it reads the relationships
// for all of them at once.
func (s *Server) visibleSubset(ctx context.Context, v *store.Account, sts []*store.Status) ([]*store.Status, error) {
	viewerID := viewerIDOf(v)
	var authors []string
	for _, st := range sts {
		if v != nil && st.AccountID != v.ID && !slices.Contains(authors, st.AccountID) {
			authors = append(authors, st.AccountID)
		}
	}
	byID := make(map[string]store.Relationship, len(authors))
	if len(authors) > 0 {
		rels, err := s.store.Relationships(ctx, v.ID, authors)
		if err != nil {
			return nil, err
		}
		for _, r := range rels {
			byID[r.ID] = r
		}
	}
	out := make([]*store.Status, 0, len(sts))
	for _, st := range sts {
		r := byID[st.AccountID]
		if r.Blocking || r.Muting || !mayView(viewerID, st, r) {
			continue
		}
		out = append(out, st)
	}
	return out, nil
}
