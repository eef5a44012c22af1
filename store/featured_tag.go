package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxFeaturedTags bounds the hashtags one person features on their profile, as Mastodon does.
const maxFeaturedTags = 10

// featuredTagScan bounds how many of an account's newest statuses are counted for a featured
// tag's statuses_count and last_status_at: those who feature a tag post with it lately.
const featuredTagScan = 400

// ErrFeaturedTagLimit refuses featuring past maxFeaturedTags.
var ErrFeaturedTagLimit = fmt.Errorf("you have already featured the maximum number of hashtags: %w", ErrForbidden)

// FeaturedTag is a hashtag someone features on their profile, with their use of it.
type FeaturedTag struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	CreatedAt     time.Time `json:"created_at"`
	StatusesCount int64     `json:"-"`
	LastStatusAt  time.Time `json:"-"`
}

// FeatureTag adds name to accountID's featured hashtags; featuring it again returns the same one.
func (s *Store) FeatureTag(ctx context.Context, accountID, name string) (*FeaturedTag, error) {
	existing, err := s.FeaturedTags(ctx, accountID)
	if err != nil {
		return nil, err
	}
	for _, t := range existing {
		if t.Name == name {
			return t, nil
		}
	}
	if len(existing) >= maxFeaturedTags {
		return nil, ErrFeaturedTagLimit
	}
	now := time.Now().UTC()
	t := &FeaturedTag{ID: s.NewID(now), Name: name, CreatedAt: now}
	if err := s.rdb.HSet(ctx, s.k.featuredTags(accountID), t.ID, mustJSON(t)).Err(); err != nil {
		return nil, fmt.Errorf("feature tag: %w", err)
	}
	return t, nil
}

// UnfeatureTag removes a featured hashtag by id.
func (s *Store) UnfeatureTag(ctx context.Context, accountID, id string) error {
	n, err := s.rdb.HDel(ctx, s.k.featuredTags(accountID), id).Result()
	if err != nil {
		return fmt.Errorf("unfeature tag: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("featured tag %s: %w", id, ErrNotFound)
	}
	return nil
}

// FeaturedTags lists accountID's featured hashtags, oldest first, with how often and how lately
// the account used each among its newest statuses.
func (s *Store) FeaturedTags(ctx context.Context, accountID string) ([]*FeaturedTag, error) {
	raw, err := s.rdb.HGetAll(ctx, s.k.featuredTags(accountID)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("featured tags: %w", err)
	}
	out := make([]*FeaturedTag, 0, len(raw))
	for _, v := range raw {
		var t FeaturedTag
		if err := unmarshalString(v, &t); err != nil {
			return nil, err
		}
		out = append(out, &t)
	}
	slices.SortFunc(out, func(a, b *FeaturedTag) int { return compareStrings(a.ID, b.ID) })
	if len(out) == 0 {
		return out, nil
	}
	used, err := s.TagUse(ctx, accountID)
	if err != nil {
		return nil, err
	}
	for _, t := range out {
		u := used[t.Name]
		t.StatusesCount, t.LastStatusAt = u.Count, u.Last
	}
	return out, nil
}

// TagUseOf is how often and how lately an account used a hashtag.
type TagUseOf struct {
	Count int64
	Last  time.Time
}

// TagUse counts the hashtags of accountID's newest public and unlisted statuses.
func (s *Store) TagUse(ctx context.Context, accountID string) (map[string]TagUseOf, error) {
	ids, err := s.rdb.ZRevRange(ctx, s.k.accountStatuses(accountID), 0, featuredTagScan-1).Result()
	if err != nil {
		return nil, fmt.Errorf("tag use: %w", err)
	}
	sts, err := s.Statuses(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := map[string]TagUseOf{}
	for _, st := range sts {
		if st.ReblogOfID != "" || (st.Visibility != VisibilityPublic && st.Visibility != VisibilityUnlisted) {
			continue
		}
		for _, tag := range st.Tags {
			u := out[tag]
			u.Count++
			if st.CreatedAt.After(u.Last) {
				u.Last = st.CreatedAt
			}
			out[tag] = u
		}
	}
	return out, nil
}
