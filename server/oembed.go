package server

import (
	"html"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/store"
)

// oembed is GET /api/oembed?url=: the oEmbed document of a local public or unlisted status, for
// pages and chat tools that unfurl links to it. Anything else is 404.
func (s *Server) oembed(c *fiber.Ctx) error {
	ctx := c.UserContext()
	raw := strings.TrimSpace(c.Query("url"))
	st, err := s.statusByURL(ctx, raw)
	if err != nil {
		return err
	}
	if st == nil || !st.Local || (st.Visibility != store.VisibilityPublic && st.Visibility != store.VisibilityUnlisted) {
		return errNotFound
	}
	author, err := s.store.Account(ctx, st.AccountID)
	if err != nil {
		return err
	}
	name := author.DisplayName
	if name == "" {
		name = author.Username
	}
	link := html.EscapeString(st.URL)
	embed := `<blockquote class="mastodon-embed" data-embed-url="` + link + `/embed" style="max-width: 540px;">` + st.Content +
		`<p>— ` + html.EscapeString(name) + ` (@` + html.EscapeString(author.Username+"@"+s.cfg.Domain()) + `) <a href="` + link + `">` +
		html.EscapeString(st.CreatedAt.UTC().Format("Jan 2, 2006")) + `</a></p></blockquote>`
	return c.JSON(fiber.Map{
		"type": "rich", "version": "1.0", "title": "New status by " + author.Username,
		"author_name": name, "author_url": author.URL, "provider_name": s.cfg.Domain(), "provider_url": s.cfg.URL + "/",
		"cache_age": 86400, "html": embed, "width": 400, "height": nil,
	})
}
