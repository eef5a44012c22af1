package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// Announcement is an instance-wide notice an admin publishes (Mastodon's announcements): shown
// to every local user between its start and end, dismissable per person, with emoji reactions.
type Announcement struct {
	ID          string     `json:"id"`
	Text        string     `json:"text"`
	Content     string     `json:"content"` // sanitized HTML
	StartsAt    *time.Time `json:"starts_at,omitempty"`
	EndsAt      *time.Time `json:"ends_at,omitempty"`
	AllDay      bool       `json:"all_day,omitempty"`
	PublishedAt time.Time  `json:"published_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Active reports whether the announcement is shown at now.
func (a *Announcement) Active(now time.Time) bool {
	return (a.StartsAt == nil || !now.Before(*a.StartsAt)) && (a.EndsAt == nil || now.Before(*a.EndsAt))
}

// AnnouncementReaction is one emoji's count on an announcement and whether the viewer used it.
type AnnouncementReaction struct {
	Name  string
	Count int64
	Me    bool
}

// CreateAnnouncement publishes an announcement, assigning its id and times.
func (s *Store) CreateAnnouncement(ctx context.Context, a *Announcement) error {
	now := time.Now().UTC()
	a.ID, a.PublishedAt, a.UpdatedAt = s.NewID(now), now, now
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.k.announcement(a.ID), mustJSON(a), 0)
		p.ZAdd(ctx, s.k.announcements(), redis.Z{Score: idScore(a.ID), Member: a.ID})
		return nil
	})
	if err != nil {
		return fmt.Errorf("create announcement: %w", err)
	}
	return nil
}

// Announcements lists every announcement, newest first.
func (s *Store) Announcements(ctx context.Context) ([]*Announcement, error) {
	ids, err := s.rdb.ZRevRange(ctx, s.k.announcements(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("announcements: %w", err)
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.k.announcement(id)
	}
	list, err := mgetJSON[Announcement](ctx, s.rdb, keys)
	if err != nil {
		return nil, err
	}
	out := make([]*Announcement, len(list))
	for i := range list {
		out[i] = &list[i]
	}
	return out, nil
}

// DeleteAnnouncement removes an announcement with its reactions.
func (s *Store) DeleteAnnouncement(ctx context.Context, id string) error {
	names, err := s.rdb.HKeys(ctx, s.k.announcementReactions(id)).Result()
	if err != nil {
		return fmt.Errorf("delete announcement: %w", err)
	}
	var removed *redis.IntCmd
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		removed = p.ZRem(ctx, s.k.announcements(), id)
		p.Del(ctx, s.k.announcement(id), s.k.announcementReactions(id))
		for _, name := range names {
			p.Del(ctx, s.k.announcementReactors(id, name))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete announcement: %w", err)
	}
	if removed.Val() == 0 {
		return fmt.Errorf("announcement %s: %w", id, ErrNotFound)
	}
	return nil
}

// AnnouncementState reads, for accountID, which announcements it dismissed and the reactions
// on each of ids.
func (s *Store) AnnouncementState(ctx context.Context, accountID string, ids []string) (map[string]bool, map[string][]AnnouncementReaction, error) {
	read, err := s.rdb.SMembers(ctx, s.k.announcementsRead(accountID)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("announcements read: %w", err)
	}
	dismissed := map[string]bool{}
	for _, id := range read {
		dismissed[id] = true
	}
	reactions := map[string][]AnnouncementReaction{}
	for _, id := range ids {
		counts, err := s.rdb.HGetAll(ctx, s.k.announcementReactions(id)).Result()
		if err != nil {
			return nil, nil, fmt.Errorf("announcement reactions: %w", err)
		}
		for name, n := range counts {
			count := toInt(n)
			if count <= 0 {
				continue
			}
			me, err := s.rdb.SIsMember(ctx, s.k.announcementReactors(id, name), accountID).Result()
			if err != nil {
				return nil, nil, fmt.Errorf("announcement reactions: %w", err)
			}
			reactions[id] = append(reactions[id], AnnouncementReaction{Name: name, Count: count, Me: me})
		}
		slices.SortFunc(reactions[id], func(a, b AnnouncementReaction) int {
			if a.Count != b.Count {
				return int(b.Count - a.Count)
			}
			return compareStrings(a.Name, b.Name)
		})
	}
	return dismissed, reactions, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// DismissAnnouncement marks an announcement read for accountID.
func (s *Store) DismissAnnouncement(ctx context.Context, accountID, id string) error {
	if err := s.announcementExists(ctx, id); err != nil {
		return err
	}
	return s.rdb.SAdd(ctx, s.k.announcementsRead(accountID), id).Err()
}

// ReactToAnnouncement adds (on) or removes accountID's reaction name; reacting twice counts once.
func (s *Store) ReactToAnnouncement(ctx context.Context, accountID, id, name string, on bool) error {
	if err := s.announcementExists(ctx, id); err != nil {
		return err
	}
	script := `
local changed
if ARGV[2] == "1" then changed = redis.call('SADD', KEYS[1], ARGV[1]) else changed = redis.call('SREM', KEYS[1], ARGV[1]) end
if changed == 1 then
  local delta = -1
  if ARGV[2] == "1" then delta = 1 end
  if redis.call('HINCRBY', KEYS[2], ARGV[3], delta) <= 0 then redis.call('HDEL', KEYS[2], ARGV[3]) end
end
return changed`
	flag := "0"
	if on {
		flag = "1"
	}
	err := s.rdb.Eval(ctx, script, []string{s.k.announcementReactors(id, name), s.k.announcementReactions(id)}, accountID, flag, name).Err()
	if err != nil {
		return fmt.Errorf("announcement reaction: %w", err)
	}
	return nil
}

func (s *Store) announcementExists(ctx context.Context, id string) error {
	n, err := s.rdb.Exists(ctx, s.k.announcement(id)).Result()
	if err != nil {
		return fmt.Errorf("announcement %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("announcement %s: %w", id, ErrNotFound)
	}
	return nil
}
