package server

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/text"
)

// Filter contexts, as in Mastodon.
const (
	contextHome          = "home"
	contextNotifications = "notifications"
	contextPublic        = "public"
	contextThread        = "thread"
	contextAccount       = "account"
)

// renderStatuses builds Status entities for viewer (nil when anonymous), loading everything
// they need in a fixed number of round trips whatever the page size. Statuses matching a
// "hide" filter of the viewer in filterContext are dropped; "warn" filters annotate them. The
// caller has checked that the viewer may see sts.
func (s *Server) renderStatuses(ctx context.Context, viewer *store.Account, sts []*store.Status, filterContext string) ([]mastodon.Status, error) {
	return s.renderChecking(ctx, viewer, sts, filterContext, false)
}

// renderChecking is renderStatuses; with recheck it also leaves out what mayView refuses the
// viewer, for timelines, whose entries were written when the viewer could see them (see
// timelineQuery).
func (s *Server) renderChecking(ctx context.Context, viewer *store.Account, sts []*store.Status, filterContext string, recheck bool) ([]mastodon.Status, error) {
	ds, err := s.loadStatusData(ctx, viewer, sts, filterContext, recheck)
	return s.entities(ds), err
}

// entities builds the Status entities of ds.
func (s *Server) entities(ds []*mastodon.StatusData) []mastodon.Status {
	out := make([]mastodon.Status, len(ds))
	for i, d := range ds {
		out[i] = mastodon.StatusFrom(s.site, d)
	}
	return out
}

// sendStatuses answers with the JSON of the Status entities of ds, as sendJSON would encode
// s.entities(ds) but with each status's reader-independent part cached (see mastodon.StatusJSON).
func (s *Server) sendStatuses(c *fiber.Ctx, ds []*mastodon.StatusData) error {
	return s.sendStatusJSON(c, ds, true)
}

// sendStatus answers with the JSON of the Status entity of d, as sendStatuses does a page.
func (s *Server) sendStatus(c *fiber.Ctx, d *mastodon.StatusData) error {
	return s.sendStatusJSON(c, []*mastodon.StatusData{d}, false)
}

// sendStatusJSON writes the statuses of ds, as an array or (one) alone, into a buffer reused
// across requests: a status's JSON grown from nothing was the largest allocation of a status
// read.
func (s *Server) sendStatusJSON(c *fiber.Ctx, ds []*mastodon.StatusData, array bool) error {
	pooled, _ := s.statusBuffers.Get().(*[]byte)
	if pooled == nil {
		pooled = new([]byte)
	}
	defer s.statusBuffers.Put(pooled)
	buf := (*pooled)[:0]
	if array {
		buf = append(buf, '[')
	}
	var err error
	for i, d := range ds {
		if i > 0 {
			buf = append(buf, ',')
		}
		if buf, err = s.statusJSON.Append(buf, d); err != nil {
			return err
		}
	}
	if array {
		buf = append(buf, ']')
	}
	*pooled = buf
	return sendJSONBytes(c, buf)
}

// loadStatusData is renderChecking before the entities are built.
func (s *Server) loadStatusData(ctx context.Context, viewer *store.Account, sts []*store.Status, filterContext string, recheck bool) ([]*mastodon.StatusData, error) {
	var reblogIDs []string
	for _, st := range sts {
		if st.ReblogOfID != "" {
			reblogIDs = append(reblogIDs, st.ReblogOfID)
		}
	}
	reblogs := map[string]*store.Status{}
	if len(reblogIDs) > 0 {
		list, _, err := s.store.StatusesFor(ctx, "", reblogIDs)
		if err != nil {
			return nil, err
		}
		for _, r := range list {
			reblogs[r.ID] = r
		}
	}
	// The quoted statuses join the boosted ones in what the batched read loads (quotes.go).
	quotes, err := s.loadQuotes(ctx, viewer, sts, reblogs)
	if err != nil {
		return nil, err
	}
	q := renderQuery(viewer, sts, reblogs, filterContext)
	if recheck {
		q = timelineQuery(q)
	}
	data, err := s.store.LoadRenderData(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.statusData(viewer, sts, reblogs, quotes, data, filterContext, recheck), nil
}

// renderQuery names what rendering sts, and the statuses they boost, needs.
func renderQuery(viewer *store.Account, sts []*store.Status, reblogs map[string]*store.Status, filterContext string) store.RenderQuery {
	var accountIDs, statusIDs, mediaIDs, pollIDs []string
	add := func(st *store.Status) {
		accountIDs = append(accountIDs, st.AccountID)
		accountIDs = append(accountIDs, st.Mentions...)
		statusIDs = append(statusIDs, st.ID)
		mediaIDs = append(mediaIDs, st.MediaIDs...)
		if st.HasPoll {
			pollIDs = append(pollIDs, st.ID)
		}
	}
	for _, st := range sts {
		add(st)
	}
	for _, r := range reblogs {
		add(r)
	}
	slices.Sort(accountIDs)
	accountIDs = slices.Compact(accountIDs)
	q := store.RenderQuery{AccountIDs: accountIDs, StatusIDs: statusIDs, MediaIDs: mediaIDs, PollIDs: pollIDs}
	if viewer != nil {
		// Filters only apply in a context; without one they would be read for nothing.
		q.ViewerID, q.Filters = viewer.ID, filterContext != ""
	}
	return q
}

// timelineQuery adds to q what checking a timeline page with mayView needs: which authors the
// viewer follows, read in the same round trip as the rest. Home and list timelines hold what
// the viewer could see when it was written; a follow ended since (unfollow, a block and its
// lifting) takes followers-only posts out of them, and this check keeps any that escaped
// hidden, rather than showing them and their later edits.
func timelineQuery(q store.RenderQuery) store.RenderQuery {
	q.Following = true
	return q
}

// statusData gathers for each of sts what its entity is built of, from what renderQuery asked
// for; with recheck (and timelineQuery's reads) it leaves out the statuses, and boosts of
// statuses, that mayView refuses the viewer. Authors who block the viewer are not read: callers dropped them already,
// as hidden accounts.
func (s *Server) statusData(viewer *store.Account, sts []*store.Status, reblogs map[string]*store.Status, quotes *quoteSet, data *store.RenderData, filterContext string, recheck bool) []*mastodon.StatusData {
	accounts, accountCounts, counts, media, flags := data.Accounts, data.AccountCounts, data.StatusCounts, data.Media, data.ViewerFlags
	viewerID := viewerIDOf(viewer)
	refused := func(st *store.Status) bool {
		return recheck && !mayView(viewerID, st, store.Relationship{ID: st.AccountID, Following: data.Following[st.AccountID]})
	}
	filters := compileFilters(data.Filters, filterContext, time.Now())
	authors := mastodon.AuthorEntities{}
	build := func(st *store.Status) *mastodon.StatusData {
		author, ok := accounts[st.AccountID]
		if !ok {
			return nil
		}
		d := &mastodon.StatusData{Status: st, Account: author, AccountCounts: accountCounts[st.AccountID], Authors: authors, Counts: counts[st.ID]}
		for _, id := range st.Mentions {
			if a, ok := accounts[id]; ok {
				d.Mentions = append(d.Mentions, a)
			}
		}
		for _, id := range st.MediaIDs {
			if m, ok := media[id]; ok {
				d.Media = append(d.Media, m)
			}
		}
		if poll, ok := data.Polls[st.ID]; ok && st.HasPoll {
			own, voted := data.PollVotes[st.ID]
			d.Poll = &mastodon.PollData{Poll: poll, ViewerID: viewerID, Voted: voted, OwnVotes: own}
		}
		if viewer != nil {
			f := flags[st.ID]
			d.Viewer = &mastodon.ViewerFlags{Favourited: f.Favourited, Reblogged: f.Reblogged, Bookmarked: f.Bookmarked, Pinned: f.Pinned, Muted: f.Muted}
		}
		return d
	}
	out := make([]*mastodon.StatusData, 0, len(sts))
	for _, st := range sts {
		if refused(st) {
			continue
		}
		d := build(st)
		if d == nil {
			continue
		}
		content := st
		if st.ReblogOfID != "" {
			r, ok := reblogs[st.ReblogOfID]
			if !ok || refused(r) {
				continue // the boosted status is gone, or no longer the viewer's to see
			}
			if d.Reblog = build(r); d.Reblog == nil {
				continue
			}
			content = r
		}
		results, hide := filters.match(content)
		if hide {
			continue
		}
		if d.Reblog != nil {
			d.Reblog.Filtered = results
		} else {
			d.Filtered = results
		}
		quotes.attach(viewerID, d, build)
		out = append(out, d)
	}
	return out
}

// renderStatus builds one Status entity.
func (s *Server) renderStatus(ctx context.Context, viewer *store.Account, st *store.Status) (mastodon.Status, error) {
	out, err := s.renderStatuses(ctx, viewer, []*store.Status{st}, "")
	if err != nil {
		return mastodon.Status{}, err
	}
	if len(out) == 0 {
		return mastodon.Status{}, errNotFound
	}
	return out[0], nil
}

// matchFilters applies the viewer's keyword filters for one context; hide reports a match of a
// filter whose action is "hide".
func matchFilters(filters []*store.Filter, filterContext string, st *store.Status) (results []mastodon.FilterResult, hide bool) {
	return compileFilters(filters, filterContext, time.Now()).match(st)
}

// filterSet is a viewer's keyword filters that apply in one context at one time, with their
// whole-word keywords compiled: compiling a regexp per keyword per status made filtered pages
// several times dearer to render than unfiltered ones, so a page compiles each keyword once.
type filterSet []activeFilter

type activeFilter struct {
	filter   *store.Filter
	keywords []compiledKeyword
}

type compiledKeyword struct {
	keyword   string         // as the user typed it, for the filter result
	lower     string         // what a keyword looks for in the lower-cased text
	wholeWord bool           // match lower only between non-word characters, with re
	re        *regexp.Regexp // nil for a whole-word keyword that did not compile: never matches
}

// compileFilters keeps the filters of filterContext that have not expired at now.
func compileFilters(filters []*store.Filter, filterContext string, now time.Time) filterSet {
	if len(filters) == 0 || filterContext == "" {
		return nil
	}
	var out filterSet
	for _, f := range filters {
		if !slices.Contains(f.Context, filterContext) || (f.ExpiresAt != nil && f.ExpiresAt.Before(now)) {
			continue
		}
		af := activeFilter{filter: f, keywords: make([]compiledKeyword, len(f.Keywords))}
		for i, k := range f.Keywords {
			ck := compiledKeyword{keyword: k.Keyword, lower: strings.ToLower(k.Keyword), wholeWord: k.WholeWord}
			if k.WholeWord {
				ck.re, _ = regexp.Compile(`(?i)(^|[^\pL\pN_])` + regexp.QuoteMeta(ck.lower) + `($|[^\pL\pN_])`)
			}
			af.keywords[i] = ck
		}
		out = append(out, af)
	}
	return out
}

// match applies the filters to one status; hide reports a match of a filter whose action is
// "hide".
func (fs filterSet) match(st *store.Status) (results []mastodon.FilterResult, hide bool) {
	if len(fs) == 0 {
		return nil, false
	}
	plain := strings.ToLower(st.SpoilerText + "\n" + text.PlainText(st.Content))
	for _, af := range fs {
		var matched []string
		for _, k := range af.keywords {
			if k.matches(plain) {
				matched = append(matched, k.keyword)
			}
		}
		if len(matched) == 0 {
			continue
		}
		if af.filter.FilterAction == "hide" {
			return nil, true
		}
		results = append(results, mastodon.FilterResult{Filter: FilterEntity(af.filter), KeywordMatches: matched, StatusMatches: []string{}})
	}
	return results, false
}

func (k compiledKeyword) matches(plain string) bool {
	if !k.wholeWord {
		return strings.Contains(plain, k.lower)
	}
	return k.re != nil && k.re.MatchString(plain)
}

// FilterEntity builds the Filter entity of a stored filter.
func FilterEntity(f *store.Filter) mastodon.Filter {
	out := mastodon.Filter{ID: f.ID, Title: f.Title, Context: f.Context, FilterAction: f.FilterAction, Keywords: []mastodon.FilterKeyword{}, Statuses: []any{}}
	if f.ExpiresAt != nil {
		ts := mastodon.Timestamp(*f.ExpiresAt)
		out.ExpiresAt = &ts
	}
	if out.Context == nil {
		out.Context = []string{}
	}
	for _, k := range f.Keywords {
		out.Keywords = append(out.Keywords, mastodon.FilterKeyword{ID: k.ID, Keyword: k.Keyword, WholeWord: k.WholeWord})
	}
	return out
}

// renderAccounts builds Account entities with their counters, in order.
func (s *Server) renderAccounts(ctx context.Context, accounts []*store.Account) ([]mastodon.Account, error) {
	return s.buildAccounts(ctx, accounts, mastodon.AccountWithMove)
}

// buildAccounts reads the counters of accounts, and the accounts they moved to, and builds the
// entities with build.
func (s *Server) buildAccounts(ctx context.Context, accounts []*store.Account, build func(mastodon.Site, *store.Account, store.AccountCounts, *store.Account, store.AccountCounts) mastodon.Account) ([]mastodon.Account, error) {
	ids := make([]string, len(accounts))
	for i, a := range accounts {
		ids[i] = a.ID
	}
	counts, err := s.store.AccountCounts(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]mastodon.Account, len(accounts))
	for i, a := range accounts {
		moved, movedCounts, err := s.movedTo(ctx, a)
		if err != nil {
			return nil, err
		}
		out[i] = build(s.site, a, counts[a.ID], moved, movedCounts)
	}
	return out, nil
}

// movedTo reads the account a moved to and its counters; nil when a has not moved, or moved to
// an account this instance does not know.
func (s *Server) movedTo(ctx context.Context, a *store.Account) (*store.Account, store.AccountCounts, error) {
	if a.MovedToURI == "" {
		return nil, store.AccountCounts{}, nil
	}
	moved, err := s.store.AccountByURI(ctx, a.MovedToURI)
	if errors.Is(err, store.ErrNotFound) {
		return nil, store.AccountCounts{}, nil
	} else if err != nil {
		return nil, store.AccountCounts{}, err
	}
	c, err := s.store.AccountCounts(ctx, []string{moved.ID})
	if err != nil {
		return nil, store.AccountCounts{}, err
	}
	return moved, c[moved.ID], nil
}

// renderAccount builds one Account entity.
func (s *Server) renderAccount(ctx context.Context, a *store.Account) (mastodon.Account, error) {
	out, err := s.renderAccounts(ctx, []*store.Account{a})
	if err != nil {
		return mastodon.Account{}, err
	}
	return out[0], nil
}

// renderEntries loads and renders the statuses of a timeline page, dropping those of accounts
// the viewer blocks, mutes, or is blocked by, and those mayView refuses (see timelineQuery).
func (s *Server) renderEntries(ctx context.Context, viewer *store.Account, entries []store.Entry, filterContext string) ([]mastodon.Status, error) {
	ds, err := s.entriesData(ctx, viewer, entries, filterContext)
	return s.entities(ds), err
}

// entriesData is renderEntries before the entities are built.
func (s *Server) entriesData(ctx context.Context, viewer *store.Account, entries []store.Entry, filterContext string) ([]*mastodon.StatusData, error) {
	ids := store.Members(entries)
	if out, ok, err := s.renderRemembered(ctx, viewer, ids, filterContext); ok || err != nil {
		return out, err
	}
	var viewerID string
	if viewer != nil {
		viewerID = viewer.ID
	}
	sts, hidden, err := s.store.StatusesFor(ctx, viewerID, ids)
	if err != nil {
		return nil, err
	}
	if len(hidden) > 0 {
		sts = slices.DeleteFunc(sts, func(st *store.Status) bool { return store.StatusHidden(hidden, st) })
	}
	return s.loadStatusData(ctx, viewer, sts, filterContext, true)
}

// renderRemembered reads a timeline page as entriesData does, in one round trip instead of
// two or three, when every status on it, and every status they boost, was read before: what
// rendering needs is then known from those statuses and read together with them. Statuses
// rarely change, and one that did (or a status never read) makes it report !ok, leaving the page
// to renderEntries.
func (s *Server) renderRemembered(ctx context.Context, viewer *store.Account, ids []string, filterContext string) (out []*mastodon.StatusData, ok bool, err error) {
	remembered := func(ids []string) (map[string]*store.Status, bool) {
		m := make(map[string]*store.Status, len(ids))
		for _, id := range ids {
			st := s.store.RememberedStatus(id)
			if st == nil {
				return nil, false
			}
			m[id] = st
		}
		return m, true
	}
	guess, ok := remembered(ids)
	if !ok {
		return nil, false, nil
	}
	guessed := make([]*store.Status, 0, len(ids))
	var reblogIDs []string
	for _, id := range ids {
		st := guess[id]
		guessed = append(guessed, st)
		if st.ReblogOfID != "" {
			reblogIDs = append(reblogIDs, st.ReblogOfID)
		}
	}
	guessedReblogs, ok := remembered(reblogIDs)
	if !ok {
		return nil, false, nil
	}
	for _, st := range guess {
		if needsQuoteReads(st) {
			return nil, false, nil // quotes need reads of their own (quotes.go)
		}
	}
	for _, st := range guessedReblogs {
		if needsQuoteReads(st) {
			return nil, false, nil
		}
	}
	q := timelineQuery(renderQuery(viewer, guessed, guessedReblogs, filterContext))
	read := store.PageRead{StatusIDs: ids, ReblogIDs: reblogIDs, Render: &q}
	if viewer != nil {
		read.ViewerID = viewer.ID
	}
	page, err := s.store.ReadPage(ctx, read)
	if err != nil {
		return nil, false, err
	}
	// A status whose JSON is unchanged decodes to the very record remembered (see store's memo),
	// so comparing pointers tells whether the guess held; a status deleted meanwhile is only
	// left out.
	for _, st := range page.Statuses {
		if guess[st.ID] != st {
			return nil, false, nil
		}
	}
	reblogs := make(map[string]*store.Status, len(page.Reblogs))
	for _, r := range page.Reblogs {
		if guessedReblogs[r.ID] != r {
			return nil, false, nil
		}
		reblogs[r.ID] = r
	}
	sts := page.Statuses
	if len(page.Hidden) > 0 {
		sts = slices.DeleteFunc(sts, func(st *store.Status) bool { return store.StatusHidden(page.Hidden, st) })
	}
	return s.statusData(viewer, sts, reblogs, nil, page.Render, filterContext, true), true, nil
}

// mayView is the one rule of who may see a status, as Mastodon's StatusPolicy#show? has it:
// its author always; anyone not blocked by the author a public or unlisted one (anonymous
// readers included); followers and mentioned accounts a followers-only one; mentioned accounts
// a direct one. viewerID is "" when anonymous; rel is the viewer's relationship to the author,
// of which only Following and BlockedBy count. Every read that shows statuses (single reads,
// threads, profiles, search, timelines) decides through it, so that no path shows what
// another hides.
func mayView(viewerID string, st *store.Status, rel store.Relationship) bool {
	switch {
	case viewerID == "":
		return st.Visibility == store.VisibilityPublic || st.Visibility == store.VisibilityUnlisted
	case viewerID == st.AccountID:
		return true
	case rel.BlockedBy:
		return false
	}
	switch st.Visibility {
	case store.VisibilityPublic, store.VisibilityUnlisted:
		return true
	case store.VisibilityPrivate:
		return rel.Following || slices.Contains(st.Mentions, viewerID)
	}
	// Direct, and any visibility this version does not know: only those it names.
	return slices.Contains(st.Mentions, viewerID)
}

// visibleTo reports whether viewer (nil when anonymous) may see st, reading what mayView looks
// at of the viewer's relationship to its author: whether the author blocks the viewer (from the
// read cache, usually) and, for a followers-only status, whether the viewer follows the author.
// The whole relationship was eleven reads in a round trip on every status a client opened.
func (s *Server) visibleTo(ctx context.Context, viewer *store.Account, st *store.Status) (bool, error) {
	if viewer == nil || viewer.ID == st.AccountID {
		return mayView(viewerIDOf(viewer), st, store.Relationship{}), nil
	}
	var rel store.Relationship
	var err error
	if rel.BlockedBy, err = s.store.IsBlockedBy(ctx, viewer.ID, st.AccountID); err != nil {
		return false, err
	}
	if !rel.BlockedBy && st.Visibility == store.VisibilityPrivate {
		if rel.Following, err = s.store.Follows(ctx, viewer.ID, st.AccountID); err != nil {
			return false, err
		}
	}
	return mayView(viewer.ID, st, rel), nil
}

// viewerIDOf is the id of viewer, or "" when anonymous.
func viewerIDOf(viewer *store.Account) string {
	if viewer == nil {
		return ""
	}
	return viewer.ID
}

// visibleStatus loads a status the viewer may see; others are 404, as Mastodon hides them.
func (s *Server) visibleStatus(ctx context.Context, viewer *store.Account, id string) (*store.Status, error) {
	st, err := s.store.Status(ctx, id)
	if err != nil {
		return nil, errNotFound
	}
	ok, err := s.visibleTo(ctx, viewer, st)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errNotFound
	}
	return st, nil
}
