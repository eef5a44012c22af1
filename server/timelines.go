package server

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/store"
)

// Page sizes of the timelines, as in Mastodon.
const (
	timelineDefaultLimit = 20
	timelineMaxLimit     = 40
)

// respondTimeline renders a timeline page for the viewer and links the neighbouring pages. The
// Link header follows the entries read, not the statuses shown, so that a page whose statuses
// were all hidden by mutes or filters still leads on.
func (s *Server) respondTimeline(c *fiber.Ctx, entries []store.Entry, filterContext string) error {
	ds, err := s.entriesData(c.UserContext(), viewer(c), entries, filterContext)
	if err != nil {
		return err
	}
	s.setLinkHeader(c, entries)
	return s.sendStatuses(c, ds)
}

// timelineHome is GET /api/v1/timelines/home.
func (s *Server) timelineHome(c *fiber.Ctx) error {
	entries, err := s.store.HomeTimeline(c.UserContext(), me(c).ID, pageFrom(c, timelineDefaultLimit, timelineMaxLimit))
	if err != nil {
		return err
	}
	return s.respondTimeline(c, entries, contextHome)
}

// timelinePublic is GET /api/v1/timelines/public; like Mastodon's it leaves out replies to
// other accounts.
func (s *Server) timelinePublic(c *fiber.Ctx) error {
	q := store.TimelineQuery{
		Local: queryBool(c, "local"), Remote: queryBool(c, "remote"), OnlyMedia: queryBool(c, "only_media"),
		WithoutReplies: true,
	}
	entries, err := s.store.PublicTimelineQuery(c.UserContext(), q, pageFrom(c, timelineDefaultLimit, timelineMaxLimit))
	if err != nil {
		return err
	}
	return s.respondTimeline(c, entries, contextPublic)
}

// timelineTag is GET /api/v1/timelines/tag/:hashtag, with any[], all[] and none[] for more tags.
func (s *Server) timelineTag(c *fiber.Ctx) error {
	tag := tagName(c.Params("hashtag"))
	if tag == "" {
		return errNotFound
	}
	q := store.TimelineQuery{
		Local: queryBool(c, "local"), Remote: queryBool(c, "remote"), OnlyMedia: queryBool(c, "only_media"),
		AnyTags: tagNames(queryList(c, "any")), AllTags: tagNames(queryList(c, "all")), NoneTags: tagNames(queryList(c, "none")),
	}
	entries, err := s.store.TagTimelineQuery(c.UserContext(), tag, q, pageFrom(c, timelineDefaultLimit, timelineMaxLimit))
	if err != nil {
		return err
	}
	return s.respondTimeline(c, entries, contextPublic)
}

// tagName normalizes a hashtag from a URL: unescaped, without '#', lower-case.
func tagName(raw string) string {
	if u, err := url.PathUnescape(raw); err == nil {
		raw = u
	}
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(raw), "#"))
}

func tagNames(raw []string) []string {
	var out []string
	for _, r := range raw {
		// Clients may also send one comma-separated value.
		for _, part := range strings.Split(r, ",") {
			if t := tagName(part); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// timelineList is GET /api/v1/timelines/list/:id; only the list's owner may read it.
func (s *Server) timelineList(c *fiber.Ctx) error {
	ctx := c.UserContext()
	list, err := s.store.List(ctx, me(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	entries, err := s.store.ListTimeline(ctx, list.ID, pageFrom(c, timelineDefaultLimit, timelineMaxLimit))
	if err != nil {
		return err
	}
	return s.respondTimeline(c, entries, contextHome)
}
