package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/store"
)

// exportPageSize is how many entries an export reads from Redis at a time.
const exportPageSize = 200

// Mastodon's CSV exports (Settings › Import and export), in its exact formats, so a file exported
// here imports on Mastodon, GoToSocial or another department, and theirs import here. Mastodon
// serves them to a signed-in browser session; here the web client and scripts present their
// bearer token.
type csvExport struct {
	name  string
	scope string
	write func(s *Server, ctx context.Context, owner *store.Account, w *csv.Writer) error
}

var csvExports = []csvExport{
	{"follows", "read:follows", (*Server).exportFollows},
	{"lists", "read:lists", (*Server).exportLists},
	{"blocks", "read:blocks", (*Server).exportBlocks},
	{"mutes", "read:mutes", (*Server).exportMutes},
	{"domain_blocks", "read:blocks", (*Server).exportDomainBlocks},
	{"bookmarks", "read:bookmarks", (*Server).exportBookmarks},
}

// mountExports adds GET /settings/exports/<name>.csv for every export.
func (s *Server) mountExports(app *fiber.App) {
	for _, e := range csvExports {
		app.Get("/settings/exports/"+e.name+".csv", s.authenticate, s.limitAPI, requireScope(e.scope), s.serveExport(e))
	}
}

// serveExport writes the whole file before answering, so a Redis failure half way is a 500 and
// never a truncated file that would import as if it were complete.
func (s *Server) serveExport(e csvExport) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		if err := e.write(s, c.UserContext(), me(c), w); err != nil {
			return err
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+e.name+`.csv"`)
		c.Set(fiber.HeaderCacheControl, "private, no-store")
		return c.Send(buf.Bytes())
	}
}

// exportAcct names an account as Mastodon's exports do: always user@domain, so the file means
// the same on another server.
func (s *Server) exportAcct(a *store.Account) string {
	if a.Local() {
		return a.Username + "@" + s.cfg.Domain()
	}
	return a.Acct()
}

// eachPage calls visit with every page of a collection, newest first.
func eachPage(ctx context.Context, accountID string, page func(context.Context, string, store.Page) ([]store.Entry, error), visit func([]store.Entry) error) error {
	p := store.Page{Limit: exportPageSize}
	for {
		entries, err := page(ctx, accountID, p)
		if err != nil || len(entries) == 0 {
			return err
		}
		if err := visit(entries); err != nil {
			return err
		}
		if len(entries) < exportPageSize {
			return nil
		}
		p.MaxID = entries[len(entries)-1].ID
	}
}

// eachAccountPage is eachPage for collections of accounts, with the accounts read; accounts that
// are gone are left out.
func (s *Server) eachAccountPage(ctx context.Context, owner *store.Account, page func(context.Context, string, store.Page) ([]store.Entry, error), visit func([]*store.Account) error) error {
	return eachPage(ctx, owner.ID, page, func(entries []store.Entry) error {
		ids := make([]string, len(entries))
		for i, e := range entries {
			ids[i] = e.Member
		}
		byID, err := s.store.Accounts(ctx, ids)
		if err != nil {
			return err
		}
		accounts := make([]*store.Account, 0, len(ids))
		for _, id := range ids {
			if a := byID[id]; a != nil {
				accounts = append(accounts, a)
			}
		}
		return visit(accounts)
	})
}

func accountIDs(accounts []*store.Account) []string {
	ids := make([]string, len(accounts))
	for i, a := range accounts {
		ids[i] = a.ID
	}
	return ids
}

func (s *Server) exportFollows(ctx context.Context, owner *store.Account, w *csv.Writer) error {
	if err := w.Write([]string{"Account address", "Show boosts", "Notify on new posts", "Languages"}); err != nil {
		return err
	}
	return s.eachAccountPage(ctx, owner, s.store.Following, func(accounts []*store.Account) error {
		rels, err := s.store.Relationships(ctx, owner.ID, accountIDs(accounts))
		if err != nil {
			return err
		}
		for i, a := range accounts {
			r := rels[i]
			row := []string{s.exportAcct(a), strconv.FormatBool(r.ShowingReblogs), strconv.FormatBool(r.Notifying), strings.Join(r.Languages, ", ")}
			if err := w.Write(row); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Server) exportBlocks(ctx context.Context, owner *store.Account, w *csv.Writer) error {
	return s.eachAccountPage(ctx, owner, s.store.Blocks, func(accounts []*store.Account) error {
		for _, a := range accounts {
			if err := w.Write([]string{s.exportAcct(a)}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Server) exportMutes(ctx context.Context, owner *store.Account, w *csv.Writer) error {
	if err := w.Write([]string{"Account address", "Hide notifications"}); err != nil {
		return err
	}
	return s.eachAccountPage(ctx, owner, s.store.Mutes, func(accounts []*store.Account) error {
		rels, err := s.store.Relationships(ctx, owner.ID, accountIDs(accounts))
		if err != nil {
			return err
		}
		for i, a := range accounts {
			if err := w.Write([]string{s.exportAcct(a), strconv.FormatBool(rels[i].MutingNotifications)}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Server) exportDomainBlocks(ctx context.Context, owner *store.Account, w *csv.Writer) error {
	return eachPage(ctx, owner.ID, s.store.BlockedDomains, func(entries []store.Entry) error {
		for _, e := range entries {
			if err := w.Write([]string{e.Member}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Server) exportBookmarks(ctx context.Context, owner *store.Account, w *csv.Writer) error {
	return eachPage(ctx, owner.ID, s.store.Bookmarks, func(entries []store.Entry) error {
		ids := make([]string, len(entries))
		for i, e := range entries {
			ids[i] = e.Member
		}
		statuses, err := s.store.Statuses(ctx, ids)
		if err != nil {
			return err
		}
		for _, st := range statuses {
			if err := w.Write([]string{st.URI}); err != nil {
				return err
			}
		}
		return nil
	})
}

// exportLists writes a row per list member, as Mastodon does (an empty list has no row).
func (s *Server) exportLists(ctx context.Context, owner *store.Account, w *csv.Writer) error {
	lists, err := s.store.Lists(ctx, owner.ID)
	if err != nil {
		return err
	}
	for _, l := range lists {
		ids, err := s.store.ListAccountIDs(ctx, l.ID)
		if err != nil {
			return err
		}
		byID, err := s.store.Accounts(ctx, ids)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if a := byID[id]; a != nil {
				if err := w.Write([]string{l.Title, s.exportAcct(a)}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
