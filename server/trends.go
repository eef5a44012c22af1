package server

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/trends"
)

// Page sizes of the trends endpoints, as in Mastodon.
const (
	trendTagsDefault, trendTagsMax         = 10, 20
	trendStatusesDefault, trendStatusesMax = 20, 40
	trendLinksDefault, trendLinksMax       = 10, 20
)

// trendWindow reads limit and offset of a trends request.
func trendWindow(c *fiber.Ctx, def, most int) (limit, offset int) {
	limit, err := strconv.Atoi(c.Query("limit"))
	if err != nil || limit <= 0 {
		limit = def
	}
	offset, _ = strconv.Atoi(c.Query("offset"))
	return min(limit, most), max(offset, 0)
}

// setOffsetLink writes the Link header of an offset-paged list, as Mastodon does for trends:
// a next page while this one is full, a previous one after the first.
func (s *Server) setOffsetLink(c *fiber.Ctx, offset, limit, got int) {
	q, _ := url.ParseQuery(string(c.Request().URI().QueryString()))
	q.Del("access_token")
	base := s.cfg.URL + c.Path() + "?"
	var links []string
	if got == limit {
		next := cloneValues(q)
		next.Set("offset", strconv.Itoa(offset+limit))
		links = append(links, `<`+base+next.Encode()+`>; rel="next"`)
	}
	if offset > 0 {
		prev := cloneValues(q)
		prev.Set("offset", strconv.Itoa(max(offset-limit, 0)))
		links = append(links, `<`+base+prev.Encode()+`>; rel="prev"`)
	}
	if len(links) > 0 {
		c.Set(fiber.HeaderLink, strings.Join(links, ", "))
	}
}

// trendTags is GET /api/v1/trends/tags (and the older /api/v1/trends): Tag entities with history.
func (s *Server) trendTags(c *fiber.Ctx) error {
	ctx := c.UserContext()
	limit, offset := trendWindow(c, trendTagsDefault, trendTagsMax)
	ranked, err := s.trends.Tags(ctx)
	if err != nil {
		return err
	}
	names := searchWindow(ranked, offset, limit)
	out, err := s.tagEntities(ctx, viewer(c), names, nil)
	if err != nil {
		return err
	}
	s.setOffsetLink(c, offset, limit, len(out))
	return c.JSON(out)
}

// trendStatuses is GET /api/v1/trends/statuses: what the viewer may see of the ranked statuses,
// read as a timeline page is, through the one visibility rule and the viewer's filters, blocks
// and mutes.
func (s *Server) trendStatuses(c *fiber.Ctx) error {
	ctx := c.UserContext()
	limit, offset := trendWindow(c, trendStatusesDefault, trendStatusesMax)
	ranked, err := s.trends.Statuses(ctx)
	if err != nil {
		return err
	}
	page := searchWindow(ranked, offset, limit)
	entries := make([]store.Entry, len(page))
	for i, st := range page {
		entries[i] = store.Entry{ID: st.ID, Member: st.ID}
	}
	// As a timeline page: accounts the viewer blocks, mutes or is blocked by drop out too.
	out, err := s.renderEntries(ctx, viewer(c), entries, contextPublic)
	if err != nil {
		return err
	}
	if out == nil {
		out = []mastodon.Status{}
	}
	s.setOffsetLink(c, offset, limit, len(page))
	return c.JSON(out)
}

// trendLinks is GET /api/v1/trends/links: preview cards of the links shared most, with history.
func (s *Server) trendLinks(c *fiber.Ctx) error {
	limit, offset := trendWindow(c, trendLinksDefault, trendLinksMax)
	links, err := s.trends.Links(c.UserContext(), offset+limit)
	if err != nil {
		return err
	}
	page := searchWindow(links, offset, limit)
	out := make([]mastodon.TrendsLink, len(page))
	for i, l := range page {
		out[i] = mastodon.TrendsLink{PreviewCard: previewCard(&l.Card), History: trendHistory(l.History)}
	}
	s.setOffsetLink(c, offset, limit, len(out))
	return c.JSON(out)
}

// previewCard is a stored card as Mastodon's PreviewCard.
func previewCard(c *store.Card) mastodon.PreviewCard {
	out := mastodon.PreviewCard{
		URL: c.URL, Title: c.Title, Description: c.Description, Type: c.Type,
		AuthorName: c.AuthorName, AuthorURL: c.AuthorURL, ProviderName: c.ProviderName, ProviderURL: c.ProviderURL,
		Width: c.Width, Height: c.Height, Authors: []mastodon.CardAuthor{},
	}
	if c.AuthorName != "" {
		out.Authors = append(out.Authors, mastodon.CardAuthor{Name: c.AuthorName, URL: c.AuthorURL})
	}
	if c.Image != "" {
		out.Image = &c.Image
	}
	if c.Language != "" {
		out.Language = &c.Language
	}
	return out
}

func trendHistory(days []trends.Day) []mastodon.TagHistory {
	out := make([]mastodon.TagHistory, len(days))
	for i, d := range days {
		out[i] = mastodon.TagHistory{
			Day:      strconv.FormatInt(d.Day.Unix(), 10),
			Uses:     strconv.FormatInt(d.Uses, 10),
			Accounts: strconv.FormatInt(d.Accounts, 10),
		}
	}
	return out
}
