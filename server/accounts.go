package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/signup"
	"watercooler/store"
	"watercooler/text"
)

// Page sizes of account lists and account timelines, Mastodon's defaults and maximums.
const (
	accountPageDefault     = 40
	accountPageMax         = 80
	accountStatusesDefault = 20
	accountStatusesMax     = 40
	// accountSearchMaxRead bounds the candidates one account search reads.
	accountSearchMaxRead = 2000
)

// signupScopes are what a registration token grants when the app registered no scopes.
var signupScopes = []string{"read", "write", "follow", "push"}

// accountParam loads the account named by the :id route parameter; unknown ids are 404.
func (s *Server) accountParam(c *fiber.Ctx) (*store.Account, error) {
	a, err := s.store.Account(c.UserContext(), c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFound
	}
	return a, err
}

// accountEntities renders accounts for anyone to see (mastodon.PublicAccount).
func (s *Server) accountEntities(ctx context.Context, accounts []*store.Account) ([]mastodon.Account, error) {
	return s.buildAccounts(ctx, accounts, mastodon.PublicAccount)
}

// sendAccountPage answers with the accounts of a page of entries and its Link header.
func (s *Server) sendAccountPage(c *fiber.Ctx, entries []store.Entry) error {
	ctx := c.UserContext()
	accounts, err := s.store.AccountsInOrder(ctx, store.Members(entries))
	if err != nil {
		return err
	}
	out, err := s.accountEntities(ctx, accounts)
	if err != nil {
		return err
	}
	s.setLinkHeader(c, entries)
	return c.JSON(out)
}

// credentialAccount is the owner's view of their own account.
func (s *Server) credentialAccount(ctx context.Context, a *store.Account) (mastodon.Account, error) {
	u, counts, requests, err := s.credentialRecords(ctx, a)
	if err != nil {
		return mastodon.Account{}, err
	}
	return mastodon.CredentialAccountFrom(s.site, a, counts, u, requests), nil
}

// credentialRecords reads what the owner's view of their account is built of besides it.
func (s *Server) credentialRecords(ctx context.Context, a *store.Account) (*store.User, store.AccountCounts, int64, error) {
	u, err := s.store.User(ctx, a.ID)
	if err != nil {
		return nil, store.AccountCounts{}, 0, err
	}
	counts, err := s.store.AccountCounts(ctx, []string{a.ID})
	if err != nil {
		return nil, store.AccountCounts{}, 0, err
	}
	requests, err := s.store.FollowRequestCount(ctx, a.ID)
	if err != nil {
		return nil, store.AccountCounts{}, 0, err
	}
	return u, counts[a.ID], requests, nil
}

// fieldError is one failed validation of a registration, in Mastodon's details shape.
type fieldError struct {
	attr, label, code, desc string
}

// validationDetail is one entry of the details of Mastodon's 422 answer to a registration.
type validationDetail struct {
	Error       string `json:"error"`
	Description string `json:"description"`
}

// sendValidationErrors answers 422 with Mastodon's registration error body: the summary line and
// the per-attribute codes clients use to mark the offending fields.
func sendValidationErrors(c *fiber.Ctx, errs []fieldError) error {
	msgs := make([]string, len(errs))
	details := map[string][]validationDetail{}
	for i, e := range errs {
		msgs[i] = e.label + " " + e.desc
		details[e.attr] = append(details[e.attr], validationDetail{Error: e.code, Description: e.desc})
	}
	return c.Status(fiber.StatusUnprocessableEntity).JSON(struct {
		Error   string                        `json:"error"`
		Details map[string][]validationDetail `json:"details"`
	}{"Validation failed: " + strings.Join(msgs, ", "), details})
}

// signupErrors checks a registration the way Mastodon's validations do, all at once so that a
// client can mark every bad field.
func (s *Server) signupErrors(ctx context.Context, username, email, password, agreement string) ([]fieldError, error) {
	var errs []fieldError
	add := func(attr, label, code, desc string) { errs = append(errs, fieldError{attr, label, code, desc}) }
	switch {
	case username == "":
		add("username", "Username", "ERR_BLANK", "can't be blank")
	case len(username) > 30:
		add("username", "Username", "ERR_TOO_LONG", "is too long (maximum is 30 characters)")
	case !text.ValidUsername(username):
		add("username", "Username", "ERR_INVALID", "must contain only letters, numbers and underscores")
	case signup.Reserved(username, s.cfg.URL):
		add("username", "Username", "ERR_RESERVED", "is reserved")
	default:
		a, err := s.store.AccountByAcct(ctx, username)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if err == nil && a.Local() {
			add("username", "Username", "ERR_TAKEN", "has already been taken")
		}
	}
	switch {
	case email == "":
		add("email", "Email", "ERR_BLANK", "can't be blank")
	case !validEmail(email):
		add("email", "Email", "ERR_INVALID", "is invalid")
	default:
		_, err := s.store.UserByLogin(ctx, email)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if err == nil {
			add("email", "Email", "ERR_TAKEN", "has already been taken")
		}
	}
	switch {
	case password == "":
		add("password", "Password", "ERR_BLANK", "can't be blank")
	case len(password) < 8:
		add("password", "Password", "ERR_TOO_SHORT", "is too short (minimum is 8 characters)")
	case len(password) > 72:
		// bcrypt ignores what follows the 72nd byte; accepting it would make a longer password
		// secretly equal to its prefix.
		add("password", "Password", "ERR_TOO_LONG", "is too long (maximum is 72 bytes)")
	}
	if agreement != "true" && agreement != "1" {
		add("agreement", "Agreement", "ERR_ACCEPTED", "must be accepted")
	}
	return errs, nil
}

// validEmail applies the same rule as signup.Create.
func validEmail(email string) bool {
	addr, err := mail.ParseAddress(email)
	return err == nil && addr.Address == email && strings.Contains(email, "@")
}

// accountsCreate is POST /api/v1/accounts: registration by an app, answered with a user token.
func (s *Server) accountsCreate(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if !s.cfg.OpenRegistrations {
		return errForbidden
	}
	tok := token(c)
	if tok.AccountID != "" {
		return errorf(fiber.StatusForbidden, "This method requires an client credentials authentication")
	}
	ps, err := flatParams(c)
	if err != nil {
		return err
	}
	username, email, password := ps.get("username"), strings.TrimSpace(ps.get("email")), ps.get("password")
	errs, err := s.signupErrors(ctx, username, email, password, ps.get("agreement"))
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return sendValidationErrors(c, errs)
	}
	acct, err := signup.Create(ctx, s.store, s.hasher, s.cfg.URL, signup.Params{Username: username, Email: email, Password: password})
	if errors.Is(err, store.ErrConflict) {
		// Another sign-up took the name or address since the check; name which one.
		if errs, err2 := s.signupErrors(ctx, username, email, password, "true"); err2 == nil && len(errs) > 0 {
			return sendValidationErrors(c, errs)
		}
	}
	if err != nil {
		return err
	}
	scopes := signupScopes
	if tok.ClientID != "" {
		if app, err := s.store.App(ctx, tok.ClientID); err == nil && len(app.Scopes) > 0 {
			scopes = app.Scopes
		}
	}
	value, t, err := s.store.CreateToken(ctx, tok.ClientID, acct.ID, scopes)
	if err != nil {
		return err
	}
	return c.JSON(mastodon.Token{AccessToken: value, TokenType: "Bearer", Scope: strings.Join(t.Scopes, " "), CreatedAt: t.CreatedAt.Unix()})
}

// verifyCredentials is GET /api/v1/accounts/verify_credentials.
func (s *Server) verifyCredentials(c *fiber.Ctx) error {
	ctx, a := c.UserContext(), me(c)
	if shared := s.store.CachedAccount(a.ID); shared != nil {
		a = shared // the very record the memo was made of, where me(c) is a copy of it
	}
	u, counts, requests, err := s.credentialRecords(ctx, a)
	if err != nil {
		return err
	}
	body, err := s.credentialJSON.Get(a, counts, u, requests)
	if err != nil {
		return err
	}
	return sendJSONBytes(c, body)
}

// accountGet is GET /api/v1/accounts/:id.
func (s *Server) accountGet(c *fiber.Ctx) error {
	ctx := c.UserContext()
	a, err := s.accountParam(c)
	if err != nil {
		return err
	}
	if shared := s.store.CachedAccount(a.ID); shared != nil {
		a = shared // the very record the memo was made of, where a is a copy of it
	}
	counts, err := s.store.AccountCounts(ctx, []string{a.ID})
	if err != nil {
		return err
	}
	moved, movedCounts, err := s.movedTo(ctx, a)
	if err != nil {
		return err
	}
	body, err := s.accountJSON.Get(a, counts[a.ID], moved, movedCounts)
	if err != nil {
		return err
	}
	return sendJSONBytes(c, body)
}

// accountLookup is GET /api/v1/accounts/lookup: an account this instance knows, by acct.
func (s *Server) accountLookup(c *fiber.Ctx) error {
	acct := strings.TrimSpace(c.Query("acct"))
	if acct == "" {
		return errNotFound
	}
	a, err := s.store.AccountByAcct(c.UserContext(), acct)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	out, err := s.accountEntities(c.UserContext(), []*store.Account{a})
	if err != nil {
		return err
	}
	return c.JSON(out[0])
}

// accountSearch is GET /api/v1/accounts/search: accounts whose acct starts with q. Suspended
// accounts and those blocking or blocked by the viewer are left out, as Mastodon does.
func (s *Server) accountSearch(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v := me(c)
	page := pageFrom(c, accountPageDefault, accountPageMax)
	offset := min(max(c.QueryInt("offset"), 0), accountSearchMaxRead)
	q := strings.TrimPrefix(strings.TrimSpace(c.Query("q")), "@")
	if user, domain, ok := strings.Cut(q, "@"); ok && strings.EqualFold(domain, s.store.Domain()) {
		q = user
	}
	if q == "" {
		return c.JSON([]mastodon.Account{})
	}
	onlyFollowing := queryBool(c, "following")
	// Read ahead: some candidates are dropped below, and following=true may drop most.
	want := offset + page.Limit
	candidates, err := s.store.SearchAccounts(ctx, q, min(max(want*4, 200), accountSearchMaxRead))
	if err != nil {
		return err
	}
	ids := make([]string, len(candidates))
	for i, a := range candidates {
		ids[i] = a.ID
	}
	rels, err := s.store.Relationships(ctx, v.ID, ids)
	if err != nil {
		return err
	}
	var found []*store.Account
	for i, a := range candidates {
		r := rels[i]
		if a.Suspended || r.Blocking || r.BlockedBy || (onlyFollowing && !r.Following) {
			continue
		}
		found = append(found, a)
	}
	found = found[min(offset, len(found)):]
	found = found[:min(page.Limit, len(found))]
	out, err := s.accountEntities(ctx, found)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// accountStatuses is GET /api/v1/accounts/:id/statuses.
func (s *Server) accountStatuses(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v := viewer(c)
	a, err := s.accountParam(c)
	if err != nil {
		return err
	}
	var rel store.Relationship
	if v != nil && v.ID != a.ID {
		rels, err := s.store.Relationships(ctx, v.ID, []string{a.ID})
		if err != nil {
			return err
		}
		rel = rels[0]
	}
	if a.Suspended || rel.BlockedBy {
		return c.JSON([]mastodon.Status{})
	}
	keep, err := s.accountStatusFilter(ctx, c, v, a, rel)
	if err != nil {
		return err
	}
	page := pageFrom(c, accountStatusesDefault, accountStatusesMax)
	var sts []*store.Status
	if queryBool(c, "pinned") {
		ids, err := s.store.Pinned(ctx, a.ID)
		if err != nil {
			return err
		}
		if sts, err = s.store.Statuses(ctx, ids); err != nil {
			return err
		}
		if sts, err = keep(ctx, sts); err != nil {
			return err
		}
		sts = sts[:min(len(sts), page.Limit)]
	} else {
		if sts, err = s.store.AccountStatusesFiltered(ctx, a.ID, page, keep); err != nil {
			return err
		}
		entries := make([]store.Entry, len(sts))
		for i, st := range sts {
			entries[i] = store.Entry{ID: st.ID, Member: st.ID}
		}
		s.setLinkHeader(c, entries)
	}
	out, err := s.renderStatuses(ctx, v, sts, contextAccount)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// accountStatusFilter builds the filter of an account's statuses for one viewer from the request's
// parameters: exclude_replies (replies to oneself stay, as threads do in Mastodon),
// exclude_reblogs, only_media, tagged, and what the viewer may see. rel is the viewer's
// relationship to the author.
func (s *Server) accountStatusFilter(ctx context.Context, c *fiber.Ctx, v, author *store.Account, rel store.Relationship) (store.StatusBatchFilter, error) {
	excludeReplies, excludeReblogs, onlyMedia := queryBool(c, "exclude_replies"), queryBool(c, "exclude_reblogs"), queryBool(c, "only_media")
	tagged := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(c.Query("tagged")), "#"))
	var hidden map[string]bool
	if v != nil {
		var err error
		if hidden, err = s.store.Hidden(ctx, v.ID); err != nil {
			return nil, err
		}
	}
	viewerID := viewerIDOf(v)
	visible := func(st *store.Status) bool { return mayView(viewerID, st, rel) }
	return func(ctx context.Context, batch []*store.Status) ([]*store.Status, error) {
		out := make([]*store.Status, 0, len(batch))
		var reblogged []string
		for _, st := range batch {
			switch {
			case excludeReplies && st.InReplyToID != "" && st.InReplyToAccountID != author.ID,
				excludeReblogs && st.ReblogOfID != "",
				onlyMedia && len(st.MediaIDs) == 0,
				tagged != "" && !slices.Contains(st.Tags, tagged),
				!visible(st):
				continue
			}
			out = append(out, st)
			if st.ReblogOfID != "" {
				reblogged = append(reblogged, st.ReblogOfID)
			}
		}
		if len(hidden) == 0 || len(reblogged) == 0 {
			return out, nil
		}
		// Boosts of accounts the viewer blocks or mutes stay hidden on the booster's profile too.
		originals, err := s.store.Statuses(ctx, reblogged)
		if err != nil {
			return nil, err
		}
		hiddenOriginal := map[string]bool{}
		for _, o := range originals {
			hiddenOriginal[o.ID] = store.StatusHidden(hidden, o)
		}
		return slices.DeleteFunc(out, func(st *store.Status) bool { return hiddenOriginal[st.ReblogOfID] }), nil
	}, nil
}

// accountLists is GET /api/v1/accounts/:id/lists: the viewer's lists that include the account.
func (s *Server) accountLists(c *fiber.Ctx) error {
	a, err := s.accountParam(c)
	if err != nil {
		return err
	}
	lists, err := s.store.ListsContaining(c.UserContext(), me(c).ID, a.ID)
	if err != nil {
		return err
	}
	out := make([]mastodon.List, len(lists))
	for i, l := range lists {
		out[i] = mastodon.List{ID: l.ID, Title: l.Title, RepliesPolicy: l.RepliesPolicy, Exclusive: l.Exclusive}
	}
	return c.JSON(out)
}

// preferences is GET /api/v1/preferences.
func (s *Server) preferences(c *fiber.Ctx) error {
	u, err := s.store.User(c.UserContext(), me(c).ID)
	if err != nil {
		return err
	}
	p := u.Preferences
	visibility, expandMedia := p.PostingVisibility, p.ExpandMedia
	if visibility == "" {
		visibility = store.VisibilityPublic
	}
	if expandMedia == "" {
		expandMedia = "default"
	}
	prefs := map[string]any{
		"posting:default:visibility": visibility,
		"posting:default:sensitive":  p.PostingSensitive,
		"posting:default:language":   mastodon.OptionalString(p.PostingLanguage),
		"reading:expand:media":       expandMedia,
		"reading:expand:spoilers":    p.ExpandSpoilers,
	}
	prefs["posting:default:quote_policy"] = defaultQuotePolicy(p)
	return c.JSON(prefs)
}

// Profile limits, Mastodon's defaults.
const (
	displayNameMaxChars = 30
	noteMaxChars        = 500
	profileFieldsMax    = 4
	profileFieldMax     = 255
	profileImageMax     = 8 << 20
)

// profileImage is a validated avatar or header upload.
type profileImage struct {
	data []byte
	ext  string
}

// updateCredentials is PATCH /api/v1/accounts/update_credentials. Everything is validated before
// anything is written, so a refused request changes nothing.
func (s *Server) updateCredentials(c *fiber.Ctx) error {
	ctx := c.UserContext()
	ps, err := flatParams(c)
	if err != nil {
		return err
	}
	a := *me(c)
	u, err := s.store.User(ctx, a.ID)
	if err != nil {
		return err
	}
	wasLocked := a.Locked
	if v, ok := ps.lookup("display_name"); ok {
		if utf8.RuneCountInString(v) > displayNameMaxChars {
			return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Display name is too long (maximum is %d characters)", displayNameMaxChars)
		}
		a.DisplayName = strings.TrimSpace(v)
	}
	if v, ok := ps.lookup("note"); ok {
		if utf8.RuneCountInString(v) > noteMaxChars {
			return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Note is too long (maximum is %d characters)", noteMaxChars)
		}
		a.NoteSource = v
		a.Note = s.text.Render(v, s.mentionResolver(ctx)).HTML
	}
	for name, dst := range map[string]*bool{"locked": &a.Locked, "bot": &a.Bot, "discoverable": &a.Discoverable, "source[sensitive]": &u.Preferences.PostingSensitive} {
		if v, ok := ps.lookup(name); ok {
			*dst = railsTrue(v)
		}
	}
	if v, ok := ps.lookup("source[privacy]"); ok {
		if v != store.VisibilityPublic && v != store.VisibilityUnlisted && v != store.VisibilityPrivate {
			return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Setting default privacy is not included in the list")
		}
		u.Preferences.PostingVisibility = v
	}
	if v, ok := ps.lookup("source[language]"); ok {
		if !validLanguage(v) {
			return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Setting default language is not included in the list")
		}
		u.Preferences.PostingLanguage = v
	}
	if v, ok := ps.lookup("source[quote_policy]"); ok {
		if !store.ValidQuotePolicy(v) {
			return errQuotePolicy
		}
		u.Preferences.PostingQuotePolicy = v
	}
	if fields, ok, err := s.profileFields(ps); err != nil {
		return err
	} else if ok {
		a.Fields = fields
	}
	avatar, err := s.profileImageParam(c, ps, "avatar", "Avatar")
	if err != nil {
		return err
	}
	header, err := s.profileImageParam(c, ps, "header", "Header")
	if err != nil {
		return err
	}
	var written, replaced []string
	for _, img := range []struct {
		p    *profileImage
		kind string
		url  *string
	}{{avatar, "avatar", &a.AvatarURL}, {header, "header", &a.HeaderURL}} {
		if img.p == nil {
			continue
		}
		url, err := s.saveProfileImage(img.kind, img.p)
		if err != nil {
			s.removeProfileImages(written)
			return err
		}
		written = append(written, url)
		replaced = append(replaced, *img.url)
		*img.url = url
	}
	if err := s.store.UpdateProfile(ctx, &a, u); err != nil {
		s.removeProfileImages(written)
		return err
	}
	s.removeProfileImages(replaced)
	s.federate("profile update", func(f Federation) error { return f.ProfileUpdated(ctx, &a) })
	if wasLocked && !a.Locked {
		// Unlocking admits everyone who asked, as Mastodon does.
		if err := s.acceptAllFollowRequests(ctx, &a); err != nil {
			return err
		}
	}
	out, err := s.credentialAccount(ctx, &a)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// railsTrue reads a boolean the way Rails casts one: only the usual spellings of false are false.
func railsTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "f", "false", "off", "no":
		return false
	}
	return true
}

// validLanguage accepts an empty language or an ISO 639 code, optionally with a region or
// script subtag as in Mastodon's regional locales (pt-BR, zh-TW, sr-Latn).
func validLanguage(v string) bool {
	if v == "" {
		return true
	}
	code, sub, hasSub := strings.Cut(v, "-")
	if len(code) < 2 || len(code) > 3 || !allIn(code, 'a', 'z') {
		return false
	}
	switch {
	case !hasSub:
		return true
	case len(sub) == 2:
		return allIn(sub, 'A', 'Z')
	case len(sub) == 4:
		return allIn(sub[:1], 'A', 'Z') && allIn(sub[1:], 'a', 'z')
	}
	return false
}

func allIn(s string, lo, hi byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < lo || s[i] > hi {
			return false
		}
	}
	return true
}

// profileFields reads fields_attributes[N][name] and [value]; ok is false when none were sent.
// Rows with neither a name nor a value are dropped, as Mastodon drops them.
func (s *Server) profileFields(ps flatForm) ([]store.Field, bool, error) {
	type row struct {
		index       int
		name, value string
	}
	rows := map[int]*row{}
	sent := false
	for k, vs := range ps {
		rest, ok := strings.CutPrefix(k, "fields_attributes[")
		if !ok {
			continue
		}
		sent = true
		idx, sub, ok := strings.Cut(rest, "][")
		n, err := strconv.Atoi(idx)
		if !ok || err != nil || n < 0 {
			continue
		}
		r := rows[n]
		if r == nil {
			r = &row{index: n}
			rows[n] = r
		}
		switch strings.TrimSuffix(sub, "]") {
		case "name":
			r.name = strings.TrimSpace(vs[len(vs)-1])
		case "value":
			r.value = strings.TrimSpace(vs[len(vs)-1])
		}
	}
	if !sent {
		return nil, false, nil
	}
	ordered := make([]*row, 0, len(rows))
	for _, r := range rows {
		if r.name != "" || r.value != "" {
			ordered = append(ordered, r)
		}
	}
	slices.SortFunc(ordered, func(a, b *row) int { return a.index - b.index })
	if len(ordered) > profileFieldsMax {
		return nil, false, errorf(fiber.StatusUnprocessableEntity, "Validation failed: Fields is too long (maximum is %d)", profileFieldsMax)
	}
	fields := make([]store.Field, 0, len(ordered))
	for _, r := range ordered {
		if utf8.RuneCountInString(r.name) > profileFieldMax || utf8.RuneCountInString(r.value) > profileFieldMax {
			return nil, false, errorf(fiber.StatusUnprocessableEntity, "Validation failed: Fields are too long (maximum is %d characters each)", profileFieldMax)
		}
		fields = append(fields, store.Field{Name: r.name, Value: fieldHTML(s.text.Render(r.value, nil).HTML)})
	}
	return fields, true, nil
}

// fieldHTML unwraps the paragraph that rendering adds: field values are inline HTML.
func fieldHTML(h string) string {
	inner, ok := strings.CutPrefix(h, "<p>")
	if !ok || !strings.HasSuffix(inner, "</p>") {
		return h
	}
	inner = strings.TrimSuffix(inner, "</p>")
	if strings.Contains(inner, "<p>") {
		return h
	}
	return inner
}

// profileImageParam reads an avatar or header sent as a multipart file or, as some clients send
// it, a base64 data: URI; it is nil when not sent. Only PNG, JPEG, GIF and WebP of at most 8 MiB
// pass, judged by content rather than by the declared type, and are stored re-encoded.
func (s *Server) profileImageParam(c *fiber.Ctx, ps flatForm, name, label string) (*profileImage, error) {
	tooBig := errorf(fiber.StatusUnprocessableEntity, "Validation failed: %s file size must be less than 8 MB", label)
	invalid := errorf(fiber.StatusUnprocessableEntity, "Validation failed: %s content type is invalid", label)
	var data []byte
	if fh, err := c.FormFile(name); err == nil {
		if fh.Size > profileImageMax {
			return nil, tooBig
		}
		f, err := fh.Open()
		if err != nil {
			return nil, fmt.Errorf("open %s upload: %w", name, err)
		}
		defer f.Close()
		if data, err = io.ReadAll(io.LimitReader(f, profileImageMax+1)); err != nil {
			return nil, fmt.Errorf("read %s upload: %w", name, err)
		}
	} else if v, ok := ps.lookup(name); ok && v != "" {
		meta, payload, ok := strings.Cut(strings.TrimPrefix(v, "data:"), ",")
		if !strings.HasPrefix(v, "data:") || !ok || !strings.HasSuffix(meta, ";base64") {
			return nil, invalid
		}
		if base64.StdEncoding.DecodedLen(len(payload)) > profileImageMax+3 {
			return nil, tooBig
		}
		if data, err = base64.StdEncoding.DecodeString(payload); err != nil {
			return nil, invalid
		}
	} else {
		return nil, nil
	}
	if len(data) > profileImageMax {
		return nil, tooBig
	}
	return s.processProfileImage(c.UserContext(), data, name, label, tooBig)
}

// profileImageName is the shape of the files saveProfileImage writes, relative to MediaDir: the
// layout of media attachments, which the /media/ route serves.
var profileImageName = regexp.MustCompile(`^[0-9]{4}/[0-9]{4,20}\.(png|jpg|gif|webp)$`)

// saveProfileImage writes an image under a fresh id, so caches never serve a replaced picture,
// and returns its URL. The rename makes the file appear complete or not at all.
func (s *Server) saveProfileImage(kind string, img *profileImage) (string, error) {
	id := s.store.NewID(time.Now())
	rel := id[:4] + "/" + id + "." + img.ext
	dir := filepath.Join(s.cfg.MediaDir, id[:4])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("media directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return "", fmt.Errorf("save %s: %w", kind, err)
	}
	_, werr := tmp.Write(img.data)
	err = errors.Join(werr, tmp.Close(), os.Chmod(tmp.Name(), 0o644))
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(s.cfg.MediaDir, filepath.FromSlash(rel)))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("save %s: %w", kind, err)
	}
	return s.cfg.URL + "/media/" + rel, nil
}

// removeProfileImages deletes image files by URL; URLs that saveProfileImage did not make
// (defaults, remote pictures) are left alone.
func (s *Server) removeProfileImages(urls []string) {
	for _, u := range urls {
		rel, ok := strings.CutPrefix(u, s.cfg.URL+"/media/")
		if !ok || !profileImageName.MatchString(rel) {
			continue
		}
		path := filepath.Join(s.cfg.MediaDir, filepath.FromSlash(rel))
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("removing replaced profile image", "path", path, "err", err)
		}
	}
}
