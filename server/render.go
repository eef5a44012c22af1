package server

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

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
// "hide" filter of the viewer in filterContext are dropped; "warn" filters annotate them.
func (s *Server) renderStatuses(ctx context.Context, viewer *store.Account, sts []*store.Status, filterContext string) ([]mastodon.Status, error) {
	var reblogIDs []string
	for _, st := range sts {
		if st.ReblogOfID != "" {
			reblogIDs = append(reblogIDs, st.ReblogOfID)
		}
	}
	reblogs := map[string]*store.Status{}
	if len(reblogIDs) > 0 {
		list, err := s.store.Statuses(ctx, reblogIDs)
		if err != nil {
			return nil, err
		}
		for _, r := range list {
			reblogs[r.ID] = r
		}
	}
	all := make([]*store.Status, 0, len(sts)+len(reblogs))
	all = append(all, sts...)
	for _, r := range reblogs {
		all = append(all, r)
	}
	var accountIDs, statusIDs, mediaIDs []string
	for _, st := range all {
		accountIDs = append(accountIDs, st.AccountID)
		accountIDs = append(accountIDs, st.Mentions...)
		statusIDs = append(statusIDs, st.ID)
		mediaIDs = append(mediaIDs, st.MediaIDs...)
	}
	slices.Sort(accountIDs)
	accountIDs = slices.Compact(accountIDs)
	accounts, err := s.store.Accounts(ctx, accountIDs)
	if err != nil {
		return nil, err
	}
	accountCounts, err := s.store.AccountCounts(ctx, accountIDs)
	if err != nil {
		return nil, err
	}
	counts, err := s.store.StatusCounts(ctx, statusIDs)
	if err != nil {
		return nil, err
	}
	media, err := s.store.MediaByIDs(ctx, mediaIDs)
	if err != nil {
		return nil, err
	}
	var flags map[string]store.ViewerFlags
	var filters []*store.Filter
	if viewer != nil {
		if flags, err = s.store.ViewerFlags(ctx, viewer.ID, statusIDs); err != nil {
			return nil, err
		}
		if filters, err = s.store.Filters(ctx, viewer.ID); err != nil {
			return nil, err
		}
	}
	build := func(st *store.Status) *mastodon.StatusData {
		author, ok := accounts[st.AccountID]
		if !ok {
			return nil
		}
		d := &mastodon.StatusData{Status: st, Account: author, AccountCounts: accountCounts[st.AccountID], Counts: counts[st.ID]}
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
		if viewer != nil {
			f := flags[st.ID]
			d.Viewer = &mastodon.ViewerFlags{Favourited: f.Favourited, Reblogged: f.Reblogged, Bookmarked: f.Bookmarked, Pinned: f.Pinned, Muted: f.Muted}
		}
		return d
	}
	out := make([]mastodon.Status, 0, len(sts))
	for _, st := range sts {
		d := build(st)
		if d == nil {
			continue
		}
		content := st
		if st.ReblogOfID != "" {
			r, ok := reblogs[st.ReblogOfID]
			if !ok {
				continue // the boosted status is gone
			}
			if d.Reblog = build(r); d.Reblog == nil {
				continue
			}
			content = r
		}
		results, hide := matchFilters(filters, filterContext, content)
		if hide {
			continue
		}
		if d.Reblog != nil {
			d.Reblog.Filtered = results
		} else {
			d.Filtered = results
		}
		out = append(out, mastodon.StatusFrom(s.site, d))
	}
	return out, nil
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
	if len(filters) == 0 || filterContext == "" {
		return nil, false
	}
	var plain string
	now := time.Now()
	for _, f := range filters {
		if !slices.Contains(f.Context, filterContext) || (f.ExpiresAt != nil && f.ExpiresAt.Before(now)) {
			continue
		}
		if plain == "" {
			plain = strings.ToLower(st.SpoilerText + "\n" + text.PlainText(st.Content))
		}
		var matched []string
		for _, k := range f.Keywords {
			if keywordMatches(plain, k) {
				matched = append(matched, k.Keyword)
			}
		}
		if len(matched) == 0 {
			continue
		}
		if f.FilterAction == "hide" {
			return nil, true
		}
		results = append(results, mastodon.FilterResult{Filter: FilterEntity(f), KeywordMatches: matched, StatusMatches: []string{}})
	}
	return results, false
}

func keywordMatches(plain string, k store.FilterKeyword) bool {
	kw := strings.ToLower(k.Keyword)
	if !k.WholeWord {
		return strings.Contains(plain, kw)
	}
	re, err := regexp.Compile(`(?i)(^|[^\pL\pN_])` + regexp.QuoteMeta(kw) + `($|[^\pL\pN_])`)
	return err == nil && re.MatchString(plain)
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
		out[i] = mastodon.AccountFrom(s.site, a, counts[a.ID])
	}
	return out, nil
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
// the viewer blocks, mutes, or is blocked by.
func (s *Server) renderEntries(ctx context.Context, viewer *store.Account, entries []store.Entry, filterContext string) ([]mastodon.Status, error) {
	sts, err := s.store.Statuses(ctx, store.Members(entries))
	if err != nil {
		return nil, err
	}
	if viewer != nil {
		hidden, err := s.store.Hidden(ctx, viewer.ID)
		if err != nil {
			return nil, err
		}
		if len(hidden) > 0 {
			sts = slices.DeleteFunc(sts, func(st *store.Status) bool { return hidden[st.AccountID] })
		}
	}
	return s.renderStatuses(ctx, viewer, sts, filterContext)
}

// visibleTo reports whether viewer (nil when anonymous) may see st.
func (s *Server) visibleTo(ctx context.Context, viewer *store.Account, st *store.Status) (bool, error) {
	if viewer != nil {
		if viewer.ID == st.AccountID {
			return true, nil
		}
		rel, err := s.store.Relationships(ctx, viewer.ID, []string{st.AccountID})
		if err != nil {
			return false, err
		}
		if rel[0].BlockedBy {
			return false, nil
		}
		switch st.Visibility {
		case store.VisibilityPrivate:
			return rel[0].Following || slices.Contains(st.Mentions, viewer.ID), nil
		case store.VisibilityDirect:
			return slices.Contains(st.Mentions, viewer.ID), nil
		}
		return true, nil
	}
	return st.Visibility == store.VisibilityPublic || st.Visibility == store.VisibilityUnlisted, nil
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
