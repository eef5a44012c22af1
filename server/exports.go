package server

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// mountExports adds GET /settings/exports/<name>.csv for every export, and the archive.
func (s *Server) mountExports(app *fiber.App) {
	for _, e := range csvExports {
		app.Get("/settings/exports/"+e.name+".csv", s.authenticate, s.limitAPI, requireScope(e.scope), s.serveExport(e))
	}
	app.Get("/settings/exports/archive.zip", s.authenticate, s.limitAPI, requireScope("read"), s.exportArchive)
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

// eachAccountPage is eachPage for collections of accounts, with the accounts read in order;
// accounts that are gone are left out.
func (s *Server) eachAccountPage(ctx context.Context, owner *store.Account, page func(context.Context, string, store.Page) ([]store.Entry, error), visit func([]*store.Account) error) error {
	return eachPage(ctx, owner.ID, page, func(entries []store.Entry) error {
		accounts, err := s.store.AccountsInOrder(ctx, store.Members(entries))
		if err != nil {
			return err
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
		statuses, err := s.store.Statuses(ctx, store.Members(entries))
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
		members, err := s.store.AccountsInOrder(ctx, ids)
		if err != nil {
			return err
		}
		for _, a := range members {
			if err := w.Write([]string{l.Title, s.exportAcct(a)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// archiveContext is the @context of the archive's ActivityPub documents.
var archiveContext = []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1",
	map[string]any{"sensitive": "as:sensitive", "Hashtag": "as:Hashtag", "toot": "http://joinmastodon.org/ns#", "blurhash": "toot:blurhash"}}

// exportArchive is GET /settings/exports/archive.zip: the person's data as Mastodon's archive
// lays it out: actor.json, outbox.json (every status they posted, as Create or Announce
// activities, private and direct ones too), likes.json and bookmarks.json (status URIs), and the
// files of their attachments under media_attachments/. The zip is written to a temporary file
// first, so a failure half way is an error, not a truncated download, and memory stays flat
// however much was posted.
func (s *Server) exportArchive(c *fiber.Ctx) error {
	if s.fed == nil {
		return errorf(fiber.StatusServiceUnavailable, "Archives need the ActivityPub side of the instance")
	}
	ctx := c.UserContext()
	owner := me(c)
	f, err := os.CreateTemp("", "watercooler-archive-*.zip")
	if err != nil {
		return err
	}
	// Unlinked at once: the open file is all the response needs, and nothing is left behind.
	_ = os.Remove(f.Name())
	if err := s.writeArchive(ctx, owner, f); err != nil {
		_ = f.Close()
		return err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		_ = f.Close()
		return err
	}
	c.Set(fiber.HeaderContentType, "application/zip")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="archive-`+owner.Username+`.zip"`)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.SendStream(f, int(size)) // fasthttp closes f once it is sent
}

func (s *Server) writeArchive(ctx context.Context, owner *store.Account, out io.Writer) error {
	z := zip.NewWriter(out)
	actor, err := s.fed.ActorDocument(owner)
	if err != nil {
		return err
	}
	actor["@context"] = archiveContext
	if err := writeZipJSON(z, "actor.json", actor); err != nil {
		return err
	}
	media, err := s.writeArchiveOutbox(ctx, owner, z)
	if err != nil {
		return err
	}
	for _, c := range []struct {
		name string
		page func(context.Context, string, store.Page) ([]store.Entry, error)
	}{{"likes.json", s.store.Favourites}, {"bookmarks.json", s.store.Bookmarks}} {
		var uris []string
		err := eachPage(ctx, owner.ID, c.page, func(entries []store.Entry) error {
			sts, err := s.store.Statuses(ctx, store.Members(entries))
			for _, st := range sts {
				uris = append(uris, st.URI)
			}
			return err
		})
		if err != nil {
			return err
		}
		doc := map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": c.name, "type": "OrderedCollection", "totalItems": len(uris), "orderedItems": uris}
		if uris == nil {
			doc["orderedItems"] = []string{}
		}
		if err := writeZipJSON(z, c.name, doc); err != nil {
			return err
		}
	}
	for _, m := range media {
		if err := s.writeArchiveMedia(z, m); err != nil {
			return err
		}
	}
	return z.Close()
}

// writeArchiveOutbox writes outbox.json a page at a time and returns the attachments it names.
func (s *Server) writeArchiveOutbox(ctx context.Context, owner *store.Account, z *zip.Writer) ([]*store.Media, error) {
	w, err := z.Create("outbox.json")
	if err != nil {
		return nil, err
	}
	head, err := json.Marshal(map[string]any{"@context": archiveContext, "id": "outbox.json", "type": "OrderedCollection"})
	if err != nil {
		return nil, err
	}
	// The collection is written as a stream: its opening fields, the items, then totalItems.
	if _, err := w.Write(append(head[:len(head)-1], `,"orderedItems":[`...)); err != nil {
		return nil, err
	}
	var media []*store.Media
	total := 0
	err = eachPage(ctx, owner.ID, s.store.AccountStatuses, func(entries []store.Entry) error {
		sts, err := s.store.Statuses(ctx, store.Members(entries))
		if err != nil {
			return err
		}
		items, err := s.fed.ArchiveItems(ctx, owner, sts)
		if err != nil {
			return err
		}
		for _, item := range items {
			b, err := json.Marshal(item)
			if err != nil {
				return err
			}
			if total > 0 {
				b = append([]byte{','}, b...)
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
			total++
		}
		var ids []string
		for _, st := range sts {
			ids = append(ids, st.MediaIDs...)
		}
		if len(ids) == 0 {
			return nil
		}
		byID, err := s.store.MediaByIDs(ctx, ids)
		for _, id := range ids {
			if m := byID[id]; m != nil {
				media = append(media, m)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	_, err = fmt.Fprintf(w, `],"totalItems":%d}`, total)
	return media, err
}

// writeArchiveMedia adds an attachment's original file under the path of its URL, as the Note
// in outbox.json names it. Files of other servers are not copied.
func (s *Server) writeArchiveMedia(z *zip.Writer, m *store.Media) error {
	rel, ok := strings.CutPrefix(m.URL, s.cfg.URL+"/media/")
	if !ok || !mediaFileName.MatchString(rel) {
		return nil
	}
	f, err := os.Open(filepath.Join(s.cfg.MediaDir, filepath.FromSlash(rel)))
	if errors.Is(err, os.ErrNotExist) {
		s.log.Warn("archive: attachment file missing", "media", m.ID, "path", rel)
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := z.Create("media_attachments/" + rel)
	if err == nil {
		_, err = io.Copy(w, f)
	}
	return err
}

func writeZipJSON(z *zip.Writer, name string, doc any) error {
	w, err := z.Create(name)
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(doc)
}
