package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// ListAccountsPage pages through a list's members the way Mastodon pages them: by account id,
// newest first. Members are a plain set (a list holds at most the owner's follows), so the page
// is cut here rather than by Redis. A Limit of zero or less returns every member.
func (s *Store) ListAccountsPage(ctx context.Context, listID string, p Page) ([]Entry, error) {
	ids, err := s.rdb.SMembers(ctx, s.k.listMembers(listID)).Result()
	if err != nil {
		return nil, fmt.Errorf("list %s members: %w", listID, err)
	}
	slices.SortFunc(ids, func(a, b string) int { return cmp.Compare(idScore(b), idScore(a)) })
	above := func(id, bound string) bool { return bound == "" || idScore(id) > idScore(bound) }
	below := func(id, bound string) bool { return bound == "" || idScore(id) < idScore(bound) }
	var out []Entry
	if p.MinID != "" {
		// The oldest members just above MinID, returned newest first like every other page.
		for i := len(ids) - 1; i >= 0 && (p.Limit <= 0 || len(out) < p.Limit); i-- {
			if above(ids[i], p.MinID) && below(ids[i], p.MaxID) {
				out = append(out, Entry{ID: ids[i], Member: ids[i]})
			}
		}
		slices.Reverse(out)
		return out, nil
	}
	for _, id := range ids {
		if p.Limit > 0 && len(out) == p.Limit {
			break
		}
		if below(id, p.MaxID) && above(id, p.SinceID) {
			out = append(out, Entry{ID: id, Member: id})
		}
	}
	return out, nil
}

// ListHasAccounts reports which of accountIDs are already members of a list.
func (s *Store) ListHasAccounts(ctx context.Context, listID string, accountIDs []string) (map[string]bool, error) {
	out := make(map[string]bool, len(accountIDs))
	if len(accountIDs) == 0 {
		return out, nil
	}
	members := make([]any, len(accountIDs))
	for i, id := range accountIDs {
		members[i] = id
	}
	found, err := s.rdb.SMIsMember(ctx, s.k.listMembers(listID), members...).Result()
	if err != nil {
		return nil, fmt.Errorf("list %s members: %w", listID, err)
	}
	for i, id := range accountIDs {
		out[id] = found[i]
	}
	return out, nil
}
