package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// Ancestors follows a status's in-reply-to chain upwards, at most limit steps, and returns the
// statuses found oldest first. The walk ends at the first parent that is not stored here.
func (s *Store) Ancestors(ctx context.Context, st *Status, limit int) ([]*Status, error) {
	var out []*Status
	seen := map[string]bool{st.ID: true}
	for id := st.InReplyToID; id != "" && len(out) < limit && !seen[id]; {
		seen[id] = true
		parent, err := s.Status(ctx, id)
		if errors.Is(err, ErrNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(out, parent)
		id = parent.InReplyToID
	}
	slices.Reverse(out)
	return out, nil
}

// Descendants lists the ids of the replies below a status in Mastodon's thread order: depth
// first, each status's replies oldest first; at most limit ids from at most depth levels. It
// reads one level per round trip, however wide the level.
func (s *Store) Descendants(ctx context.Context, statusID string, limit, depth int) ([]string, error) {
	children := map[string][]string{}
	seen := map[string]bool{statusID: true}
	level := []string{statusID}
	// A thread wider than this is cut; the cap keeps a pathological thread from loading it all.
	budget := 4 * limit
	for d := 0; d < depth && len(level) > 0 && budget > 0; d++ {
		p := s.rdb.Pipeline()
		cmds := make([]*redis.StringSliceCmd, len(level))
		for i, id := range level {
			cmds[i] = p.ZRange(ctx, s.k.statusReplies(id), 0, -1)
		}
		if _, err := p.Exec(ctx); err != nil {
			return nil, fmt.Errorf("descendants of %s: %w", statusID, err)
		}
		var next []string
		for i, id := range level {
			for _, kid := range cmds[i].Val() {
				if seen[kid] || budget == 0 {
					continue
				}
				seen[kid] = true
				budget--
				children[id] = append(children[id], kid)
				next = append(next, kid)
			}
		}
		level = next
	}
	out := []string{}
	var walk func(id string)
	walk = func(id string) {
		for _, kid := range children[id] {
			if len(out) >= limit {
				return
			}
			out = append(out, kid)
			walk(kid)
		}
	}
	walk(statusID)
	return out, nil
}

// TimelineQuery narrows the public or a hashtag timeline the way Mastodon's parameters do.
type TimelineQuery struct {
	// Local and Remote select where statuses come from; both or neither mean everywhere.
	Local, Remote bool
	OnlyMedia     bool
	// WithoutReplies drops replies to other accounts, as Mastodon's public timeline does.
	WithoutReplies bool
	// AnyTags widens a hashtag timeline; AllTags and NoneTags narrow it.
	AnyTags, AllTags, NoneTags []string
}

func (q TimelineQuery) keeps(st *Status) bool {
	if q.Local && !q.Remote && !st.Local {
		return false
	}
	if q.Remote && !q.Local && st.Local {
		return false
	}
	if q.OnlyMedia && len(st.MediaIDs) == 0 {
		return false
	}
	if q.WithoutReplies && st.InReplyToID != "" && st.InReplyToAccountID != st.AccountID {
		return false
	}
	for _, t := range q.AllTags {
		if !slices.Contains(st.Tags, t) {
			return false
		}
	}
	for _, t := range q.NoneTags {
		if slices.Contains(st.Tags, t) {
			return false
		}
	}
	return true
}

// PublicTimelineQuery pages through the public timeline narrowed by q.
func (s *Store) PublicTimelineQuery(ctx context.Context, q TimelineQuery, p Page) ([]Entry, error) {
	local, remote := s.k.localTimeline(), s.k.remoteTimeline()
	if q.OnlyMedia {
		local, remote = s.k.localMediaTimeline(), s.k.remoteMediaTimeline()
	}
	keys := []string{local, remote}
	switch {
	case q.Local && !q.Remote:
		keys = []string{local}
	case q.Remote && !q.Local:
		keys = []string{remote}
	}
	return s.filteredPage(ctx, keys, p, q.keeps)
}

// TagTimelineQuery pages through the timeline of tag (and of q.AnyTags) narrowed by q.
func (s *Store) TagTimelineQuery(ctx context.Context, tag string, q TimelineQuery, p Page) ([]Entry, error) {
	keys := []string{s.k.tagTimeline(tag)}
	for _, t := range q.AnyTags {
		if t != tag {
			keys = append(keys, s.k.tagTimeline(t))
		}
	}
	if len(keys) == 1 && !q.Local && !q.Remote && !q.OnlyMedia && !q.WithoutReplies && len(q.AllTags) == 0 && len(q.NoneTags) == 0 {
		return pageZSet(ctx, s.rdb, keys[0], p)
	}
	return s.filteredPage(ctx, keys, p, q.keeps)
}

// filteredPage reads a page of the merged sorted sets, keeping the entries whose status passes
// keep. It reads ahead in batches so that a filter skipping many entries still fills the page.
func (s *Store) filteredPage(ctx context.Context, keys []string, p Page, keep func(*Status) bool) ([]Entry, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 20
	}
	batch := p
	batch.Limit = 2 * limit
	seen := map[string]bool{}
	// Kept entries in reading order: newest first, or oldest first when paging up from MinID.
	var kept []Entry
	for len(kept) < limit {
		es, err := pageMerged(ctx, s, keys, batch)
		if err != nil {
			return nil, err
		}
		sts, err := s.Statuses(ctx, Members(es))
		if err != nil {
			return nil, err
		}
		byID := make(map[string]*Status, len(sts))
		for _, st := range sts {
			byID[st.ID] = st
		}
		ordered := es
		if p.MinID != "" {
			ordered = slices.Clone(es)
			slices.Reverse(ordered)
		}
		for _, e := range ordered {
			st, ok := byID[e.Member]
			if !ok || seen[e.Member] || !keep(st) || len(kept) >= limit {
				continue
			}
			seen[e.Member] = true
			kept = append(kept, e)
		}
		if len(es) < batch.Limit {
			break
		}
		if p.MinID != "" {
			batch.MinID = es[0].ID
		} else {
			batch.MaxID = es[len(es)-1].ID
		}
	}
	if p.MinID != "" {
		slices.Reverse(kept)
	}
	return kept, nil
}

// DeleteStatusForRedraft deletes a status like DeleteStatus but keeps its media, detached, so
// that "delete & redraft" can attach them to the new status.
func (s *Store) DeleteStatusForRedraft(ctx context.Context, st *Status) error {
	keep := *st
	keep.MediaIDs = nil
	if err := s.DeleteStatus(ctx, &keep); err != nil {
		return err
	}
	if len(st.MediaIDs) == 0 {
		return nil
	}
	err := s.inOrder(ctx, func(p redis.Pipeliner) {
		for _, id := range st.MediaIDs {
			mediaLink{Media: id}.queue(ctx, p, s.k)
		}
	})
	if err != nil {
		return fmt.Errorf("detach media of %s: %w", st.ID, err)
	}
	return nil
}

// EditStatus saves an edit (see UpdateStatus), then attaches newly added media, detaches removed
// ones, and tells local accounts that boosted the status that it changed, as Mastodon does.
func (s *Store) EditStatus(ctx context.Context, updated, previous *Status) error {
	if err := s.UpdateStatus(ctx, updated, previous); err != nil {
		return err
	}
	boosters, err := s.rdb.ZRange(ctx, s.k.statusReblogs(updated.ID), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("edit status %s: %w", updated.ID, err)
	}
	accounts, err := s.Accounts(ctx, boosters)
	if err != nil {
		return err
	}
	added, removed := without(updated.MediaIDs, previous.MediaIDs), without(previous.MediaIDs, updated.MediaIDs)
	now := time.Now().UTC()
	err = s.spreadMulti(ctx, s.rdb, func(p redis.Pipeliner) error {
		for _, id := range added {
			spreadOf(p).linkMedia(mediaLink{Media: id, Status: updated.ID})
		}
		for _, id := range removed {
			spreadOf(p).linkMedia(mediaLink{Media: id})
		}
		for _, id := range boosters {
			if a, ok := accounts[id]; ok && a.Local() && id != updated.AccountID {
				s.addNotification(ctx, p, &Notification{Type: NotifyUpdate, AccountID: id, FromAccountID: updated.AccountID, StatusID: updated.ID, CreatedAt: now})
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("edit status %s: %w", updated.ID, err)
	}
	return nil
}
