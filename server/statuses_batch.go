package server

import (
	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// statusesBatchMax is how many ids GET /api/v1/statuses takes, as in Mastodon.
const statusesBatchMax = 20

// statusesByID is GET /api/v1/statuses?id[]=: the statuses the viewer may see, in the order
// asked, unknown and invisible ones left out (Phanpy refreshes its cache with it).
func (s *Server) statusesByID(c *fiber.Ctx) error {
	ids := cleanIDs(queryList(c, "id"))
	if len(ids) > statusesBatchMax {
		return errorf(fiber.StatusUnprocessableEntity, "Too many ids requested (at most %d)", statusesBatchMax)
	}
	entries := make([]store.Entry, 0, len(ids))
	for _, id := range ids {
		if id = cleanID(id); id != "" {
			entries = append(entries, store.Entry{ID: id, Member: id})
		}
	}
	out, err := s.renderEntries(c.UserContext(), viewer(c), entries, contextThread)
	if err != nil {
		return err
	}
	if out == nil {
		out = []mastodon.Status{}
	}
	return s.sendJSON(c, out)
}
