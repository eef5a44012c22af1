package server

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/text"
)

// searchTag is a hashtag search result; unlike mastodon.Tag its history is always present.
type searchTag struct {
	Name      string                `json:"name"`
	URL       string                `json:"url"`
	History   []mastodon.TagHistory `json:"history"`
	Following *bool                 `json:"following,omitempty"`
}

// searchResults is GET /api/v2/search's body.
type searchResults struct {
	Accounts []mastodon.Account `json:"accounts"`
	Statuses []mastodon.Status  `json:"statuses"`
	Hashtags []searchTag        `json:"hashtags"`
}

// searchQuery is a parsed search request.
type searchQuery struct {
	q, kind       string
	resolve       bool
	following     bool
	limit, offset int
}

func (q searchQuery) wants(kind string) bool { return q.kind == "" || q.kind == kind }

// searchV2 finds accounts by acct prefix, hashtags by name prefix, and statuses or accounts by
// URL. Without a full-text index, plain words never match statuses, as on a Mastodon server
// without Elasticsearch.
func (s *Server) searchV2(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v := viewer(c)
	q := searchQuery{q: strings.TrimSpace(c.Query("q")), kind: c.Query("type"), resolve: queryBool(c, "resolve"), following: queryBool(c, "following")}
	if q.q == "" {
		return errorf(fiber.StatusBadRequest, "param is missing or the value is empty: q")
	}
	q.limit, _ = strconv.Atoi(c.Query("limit"))
	if q.limit <= 0 {
		q.limit = 20
	}
	q.limit = min(q.limit, 40)
	q.offset, _ = strconv.Atoi(c.Query("offset"))
	q.offset = max(q.offset, 0)
	if v == nil {
		if q.offset > 0 {
			return errorf(fiber.StatusUnauthorized, "Search queries pagination is not supported without authentication")
		}
		if q.resolve {
			return errorf(fiber.StatusUnauthorized, "Search queries that resolve remote resources are not supported without authentication")
		}
	}
	out := searchResults{Accounts: []mastodon.Account{}, Statuses: []mastodon.Status{}, Hashtags: []searchTag{}}
	var accounts []*store.Account
	var statuses []*store.Status
	var err error
	if isURL(q.q) {
		accounts, statuses, err = s.searchURL(ctx, v, q)
	} else {
		accounts, err = s.searchAccounts(ctx, v, q)
		if err == nil && q.wants("hashtags") {
			out.Hashtags, err = s.searchHashtags(ctx, v, q)
		}
	}
	if err != nil {
		return err
	}
	if out.Accounts, err = s.renderAccounts(ctx, accounts); err != nil {
		return err
	}
	if len(statuses) > 0 {
		if out.Statuses, err = s.renderStatuses(ctx, v, statuses, ""); err != nil {
			return err
		}
	}
	return c.JSON(out)
}

func isURL(q string) bool {
	u, err := url.Parse(q)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// searchURL looks a URL up among known accounts and statuses: ActivityPub ids, and this
// instance's profile and status pages.
func (s *Server) searchURL(ctx context.Context, v *store.Account, q searchQuery) ([]*store.Account, []*store.Status, error) {
	if q.offset > 0 {
		return nil, nil, nil // a URL names one thing: there is no second page
	}
	var accounts []*store.Account
	var statuses []*store.Status
	if q.wants("accounts") {
		a, err := s.accountByURL(ctx, q.q)
		if err != nil {
			return nil, nil, err
		}
		if a != nil && !a.Suspended {
			accounts = append(accounts, a)
		}
	}
	if q.wants("statuses") {
		st, err := s.statusByURL(ctx, q.q)
		if err != nil {
			return nil, nil, err
		}
		if st != nil {
			statuses = append(statuses, st)
		}
	}
	if len(accounts) == 0 && len(statuses) == 0 && q.resolve {
		a, st, err := s.resolveRemote(ctx, q.q)
		if err != nil {
			return nil, nil, err
		}
		if a != nil && q.wants("accounts") && !a.Suspended {
			accounts = append(accounts, a)
		}
		if st != nil && q.wants("statuses") {
			statuses = append(statuses, st)
		}
	}
	// Whatever was found, known or just resolved (resolving answers with what is stored, a DM
	// among other things), is shown only as every other read would show it.
	visible := statuses[:0]
	for _, st := range statuses {
		ok, err := s.visibleTo(ctx, v, st)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			visible = append(visible, st)
		}
	}
	return accounts, visible, nil
}

// localPath returns the path of a URL on this instance, or false for other URLs.
func (s *Server) localPath(raw string) (string, bool) {
	rest, ok := strings.CutPrefix(raw, s.cfg.URL+"/")
	if !ok {
		return "", false
	}
	rest, _, _ = strings.Cut(rest, "?")
	rest, _, _ = strings.Cut(rest, "#")
	return strings.TrimSuffix(rest, "/"), true
}

func (s *Server) accountByURL(ctx context.Context, raw string) (*store.Account, error) {
	a, err := s.store.AccountByURI(ctx, raw)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return a, err
	}
	if path, ok := s.localPath(raw); ok {
		if name, ok := strings.CutPrefix(path, "@"); ok && !strings.Contains(name, "/") && text.ValidUsername(name) {
			a, err := s.store.AccountByAcct(ctx, name)
			if err == nil || !errors.Is(err, store.ErrNotFound) {
				return a, err
			}
		}
	}
	return nil, nil
}

func (s *Server) statusByURL(ctx context.Context, raw string) (*store.Status, error) {
	st, err := s.store.StatusByURI(ctx, raw)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return st, err
	}
	path, ok := s.localPath(raw)
	if !ok {
		return nil, nil
	}
	// Local status pages are /@user/ID (st.URL); the author must match so that a URL naming
	// someone else's status id under another profile finds nothing.
	parts := strings.Split(path, "/")
	if len(parts) != 2 || !strings.HasPrefix(parts[0], "@") || cleanID(parts[1]) == "" {
		return nil, nil
	}
	st, err = s.store.Status(ctx, parts[1])
	if errors.Is(err, store.ErrNotFound) || (err == nil && st.URL != raw && st.URL != strings.TrimSuffix(raw, "/")) {
		return nil, nil
	}
	return st, err
}

// searchAccounts finds accounts whose acct starts with the query.
func (s *Server) searchAccounts(ctx context.Context, v *store.Account, q searchQuery) ([]*store.Account, error) {
	if !q.wants("accounts") {
		return nil, nil
	}
	term := strings.TrimPrefix(q.q, "@")
	localOnly := false
	if user, domain, ok := strings.Cut(term, "@"); ok && strings.EqualFold(domain, s.cfg.Domain()) {
		term, localOnly = user, true // the index holds local accounts by username alone
	}
	found, err := s.store.SearchAccounts(ctx, term, q.offset+q.limit)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 && q.resolve && v != nil && strings.Contains(term, "@") {
		a, _, err := s.resolveRemote(ctx, term)
		if err != nil {
			return nil, err
		}
		if a != nil {
			found = append(found, a)
		}
	}
	var hidden map[string]bool
	if v != nil {
		if hidden, err = s.store.Hidden(ctx, v.ID); err != nil {
			return nil, err
		}
	}
	// The exact match stays even when blocked or muted, as in Mastodon, so that people can find
	// whom they blocked or muted to undo it (toot unblock/unmute search for user@host).
	exact := func(a *store.Account) bool {
		return strings.EqualFold(a.Acct(), term) || (localOnly && a.Local() && strings.EqualFold(a.Username, term))
	}
	found = slices.DeleteFunc(found, func(a *store.Account) bool {
		return a.Suspended || (hidden[a.ID] && !exact(a)) || (localOnly && !a.Local())
	})
	if q.following && v != nil && len(found) > 0 {
		ids := make([]string, len(found))
		for i, a := range found {
			ids[i] = a.ID
		}
		rels, err := s.store.Relationships(ctx, v.ID, ids)
		if err != nil {
			return nil, err
		}
		following := map[string]bool{}
		for _, r := range rels {
			following[r.ID] = r.Following
		}
		found = slices.DeleteFunc(found, func(a *store.Account) bool { return !following[a.ID] })
	}
	return searchWindow(found, q.offset, q.limit), nil
}

// searchHashtags finds known hashtags starting with the query. A valid hashtag nobody used yet
// is offered too, as Mastodon does, so people can follow a tag before its first post.
func (s *Server) searchHashtags(ctx context.Context, v *store.Account, q searchQuery) ([]searchTag, error) {
	name := strings.ToLower(strings.TrimPrefix(q.q, "#"))
	names, err := s.store.SearchTags(ctx, name, q.offset+q.limit)
	if err != nil {
		return nil, err
	}
	if valid := text.HashtagNames("#" + name); len(valid) == 1 && valid[0] == name && !slices.Contains(names, name) {
		names = append([]string{name}, names...)
	}
	names = searchWindow(names, q.offset, q.limit)
	out := make([]searchTag, len(names))
	for i, n := range names {
		out[i] = searchTag{Name: n, URL: s.site.TagURL(n), History: []mastodon.TagHistory{}}
		if v != nil {
			following, err := s.store.FollowsTag(ctx, v.ID, n)
			if err != nil {
				return nil, err
			}
			out[i].Following = mastodon.Bool(following)
		}
	}
	return out, nil
}

// searchWindow returns the window [offset, offset+limit) of list.
func searchWindow[T any](list []T, offset, limit int) []T {
	if offset >= len(list) {
		return nil
	}
	return list[offset:min(offset+limit, len(list))]
}

// resolveRemote looks up, through federation, a remote account (user@host or an actor URL, via
// WebFinger) or a remote status URL that this instance does not know yet, and stores it. A name
// that cannot be resolved is not an error: the search just finds nothing.
func (s *Server) resolveRemote(ctx context.Context, q string) (*store.Account, *store.Status, error) {
	if s.fed == nil {
		return nil, nil, nil
	}
	a, st, err := s.fed.Resolve(ctx, q)
	if err != nil {
		s.log.Info("search could not resolve", "q", q, "err", err)
		return nil, nil, nil
	}
	return a, st, nil
}
