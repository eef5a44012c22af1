package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Card is a link's preview card: what the linked page says of itself in its OpenGraph and
// HTML head, as Mastodon's PreviewCard shows it. Failed records a page that could not be read,
// so that a dead link is not fetched again on every trends request.
type Card struct {
	URL          string    `json:"url"`
	Title        string    `json:"title"`
	Description  string    `json:"description,omitempty"`
	Type         string    `json:"type"`
	AuthorName   string    `json:"author_name,omitempty"`
	AuthorURL    string    `json:"author_url,omitempty"`
	ProviderName string    `json:"provider_name,omitempty"`
	ProviderURL  string    `json:"provider_url,omitempty"`
	Image        string    `json:"image,omitempty"`
	Width        int       `json:"width,omitempty"`
	Height       int       `json:"height,omitempty"`
	Language     string    `json:"language,omitempty"`
	FetchedAt    time.Time `json:"fetched_at"`
	Failed       bool      `json:"failed,omitempty"`
}

// CardFor reads the stored preview card of url; ErrNotFound when none was fetched lately.
func (s *Store) CardFor(ctx context.Context, url string) (*Card, error) {
	var c Card
	if err := s.getJSON(ctx, s.k.card(cardKey(url)), &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// SaveCard keeps a preview card for ttl: pages change, and a failed fetch is retried later.
func (s *Store) SaveCard(ctx context.Context, c *Card, ttl time.Duration) error {
	if err := s.rdb.Set(ctx, s.k.card(cardKey(c.URL)), mustJSON(c), ttl).Err(); err != nil {
		return fmt.Errorf("save card %s: %w", c.URL, err)
	}
	return nil
}

// cardKey names a URL by its digest: URLs are long and chosen by strangers.
func cardKey(url string) string {
	sum := sha256.Sum256([]byte(url))
	return hex.EncodeToString(sum[:16])
}

// RecentTags lists up to max hashtags used in public statuses since the given time, most
// recently used first: the candidates for trending.
func (s *Store) RecentTags(ctx context.Context, since time.Time, max int) ([]string, error) {
	names, err := s.rdb.ZRevRangeByScore(ctx, s.k.tags(), &redis.ZRangeBy{
		Min: strconv.FormatInt(since.UnixMilli(), 10), Max: "+inf", Count: int64(max),
	}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("recent tags: %w", err)
	}
	return names, nil
}

// RecentPublicStatuses reads up to max public statuses, local and remote, created since the
// given time, newest first: the candidates for trending statuses and links.
func (s *Store) RecentPublicStatuses(ctx context.Context, since time.Time, max int) ([]*Status, error) {
	p := s.rdb.Pipeline()
	by := &redis.ZRangeBy{Min: IDForTime(since, 0), Max: "+inf", Count: int64(max)}
	local := p.ZRevRangeByScore(ctx, s.k.localTimeline(), by)
	remote := p.ZRevRangeByScore(ctx, s.k.remoteTimeline(), by)
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("recent public statuses: %w", err)
	}
	ids := mergeNewestFirst(local.Val(), remote.Val(), max)
	return s.Statuses(ctx, ids)
}

// mergeNewestFirst merges two id lists sorted newest first into one of at most max ids.
func mergeNewestFirst(a, b []string, max int) []string {
	out := make([]string, 0, min(len(a)+len(b), max))
	for len(out) < max && (len(a) > 0 || len(b) > 0) {
		if len(b) == 0 || (len(a) > 0 && idScore(a[0]) >= idScore(b[0])) {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return out
}

// Interactor is an account that boosted or favourited a status, with its domain: "" for a
// local account, the host of its server otherwise. The domain is the interacting department,
// which organization trends count.
type Interactor struct {
	AccountID, Domain string
}

// StatusInteractors lists, for each status id, the distinct accounts that boosted or favourited
// it, as this department knows them (remote interactions arrive through the inbox). It takes
// two round trips: the reblog and favourite sets, then the accounts.
func (s *Store) StatusInteractors(ctx context.Context, ids []string) (map[string][]Interactor, error) {
	p := s.rdb.Pipeline()
	reblogs := make([]*redis.StringSliceCmd, len(ids))
	favourites := make([]*redis.StringSliceCmd, len(ids))
	for i, id := range ids {
		reblogs[i] = p.ZRange(ctx, s.k.statusReblogs(id), 0, -1)
		favourites[i] = p.ZRange(ctx, s.k.statusFavourites(id), 0, -1)
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("status interactors: %w", err)
	}
	perStatus := make([][]string, len(ids))
	seen := map[string]bool{}
	var accountIDs []string
	for i := range ids {
		// Someone who boosted and favourited counts once.
		perStatus[i] = slices.Compact(slices.Sorted(slices.Values(append(reblogs[i].Val(), favourites[i].Val()...))))
		for _, a := range perStatus[i] {
			if !seen[a] {
				seen[a] = true
				accountIDs = append(accountIDs, a)
			}
		}
	}
	accounts, err := s.Accounts(ctx, accountIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]Interactor, len(ids))
	for i, id := range ids {
		for _, a := range perStatus[i] {
			if acct, ok := accounts[a]; ok {
				out[id] = append(out[id], Interactor{AccountID: a, Domain: acct.Domain})
			}
		}
	}
	return out, nil
}
