package server

import (
	"net/url"
	"time"
	"unicode"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// announcement is Mastodon's Announcement entity.
type announcement struct {
	ID          string                 `json:"id"`
	Content     string                 `json:"content"`
	StartsAt    *string                `json:"starts_at"`
	EndsAt      *string                `json:"ends_at"`
	AllDay      bool                   `json:"all_day"`
	PublishedAt string                 `json:"published_at"`
	UpdatedAt   string                 `json:"updated_at"`
	Read        bool                   `json:"read"`
	Mentions    []mastodon.Mention     `json:"mentions"`
	Statuses    []any                  `json:"statuses"`
	Tags        []mastodon.Tag         `json:"tags"`
	Emojis      []any                  `json:"emojis"`
	Reactions   []announcementReaction `json:"reactions"`
}

type announcementReaction struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
	Me    bool   `json:"me"`
}

func optionalTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	ts := mastodon.Timestamp(*t)
	return &ts
}

// announcementsList is GET /api/v1/announcements: the announcements in effect, newest first,
// without those the person dismissed unless with_dismissed is true.
func (s *Server) announcementsList(c *fiber.Ctx) error {
	ctx := c.UserContext()
	all, err := s.store.Announcements(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	var active []*store.Announcement
	var ids []string
	for _, a := range all {
		if a.Active(now) {
			active = append(active, a)
			ids = append(ids, a.ID)
		}
	}
	dismissed, reactions, err := s.store.AnnouncementState(ctx, me(c).ID, ids)
	if err != nil {
		return err
	}
	withDismissed := queryBool(c, "with_dismissed")
	out := []announcement{}
	for _, a := range active {
		if dismissed[a.ID] && !withDismissed {
			continue
		}
		e := announcement{
			ID: a.ID, Content: a.Content, StartsAt: optionalTime(a.StartsAt), EndsAt: optionalTime(a.EndsAt), AllDay: a.AllDay,
			PublishedAt: mastodon.Timestamp(a.PublishedAt), UpdatedAt: mastodon.Timestamp(a.UpdatedAt), Read: dismissed[a.ID],
			Mentions: []mastodon.Mention{}, Statuses: []any{}, Tags: []mastodon.Tag{}, Emojis: []any{}, Reactions: []announcementReaction{},
		}
		for _, r := range reactions[a.ID] {
			e.Reactions = append(e.Reactions, announcementReaction{Name: r.Name, Count: r.Count, Me: r.Me})
		}
		out = append(out, e)
	}
	return c.JSON(out)
}

// announcementDismiss is POST /api/v1/announcements/:id/dismiss.
func (s *Server) announcementDismiss(c *fiber.Ctx) error {
	if err := s.store.DismissAnnouncement(c.UserContext(), me(c).ID, c.Params("id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

// announcementReact is PUT (on) and DELETE (off) /api/v1/announcements/:id/reactions/:name.
func (s *Server) announcementReact(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		name, err := url.PathUnescape(c.Params("name"))
		if err != nil || !isEmoji(name) {
			return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Name is not a recognized emoji")
		}
		if err := s.store.ReactToAnnouncement(c.UserContext(), me(c).ID, c.Params("id"), name, on); err != nil {
			return err
		}
		return c.JSON(fiber.Map{})
	}
}

// isEmoji accepts a short run of emoji code points (with their joiners and modifiers); this
// instance has no custom emojis, so shortcodes are refused.
func isEmoji(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if r < 0x2000 || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}
