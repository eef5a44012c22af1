package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"watercooler/config"
	"watercooler/store"
)

// Imports of Mastodon's CSV exports (Settings › Import and export › Import), files from
// Mastodon, GoToSocial or another department alike: POST /settings/imports with the person's
// bearer token and a multipart form of type, mode (merge, or overwrite: what the file does not
// name is undone) and data (the file), answered 202 with the import; GET /settings/imports/:id
// tells its progress. The rows are worked through in the background by whichever serve process
// leases the import (RunImports), resuming where a killed one stopped.
const (
	// importMaxRows is Mastodon's limit of rows per import.
	importMaxRows = 20000
	// importLease is how long a worker holds an import before another may take it over; it
	// is renewed with the progress, every importSaveEvery rows at most.
	importLease     = 2 * time.Minute
	importSaveEvery = 50
	importPoll      = 2 * time.Second
	importBatch     = 4
)

// csvImport is one type of import: the scope it needs, how a row is checked, done and named,
// and the export whose rows are what the person has now (for overwrite).
type csvImport struct {
	scope string
	// columns is how many fields a row has at most; shorter rows get empty fields.
	columns int
	apply   func(s *Server, ctx context.Context, self *store.Account, row []string) error
	// export and undo are nil where overwrite is not supported.
	export func(s *Server, ctx context.Context, owner *store.Account, w *csv.Writer) error
	undo   func(s *Server, ctx context.Context, self *store.Account, row []string) error
}

// csvImports are keyed by Mastodon's names of the import types.
var csvImports = map[string]csvImport{
	"following":       {"write:follows", 4, (*Server).importFollow, (*Server).exportFollows, (*Server).undoFollow},
	"blocking":        {"write:blocks", 1, (*Server).importBlock, (*Server).exportBlocks, (*Server).undoBlock},
	"muting":          {"write:mutes", 2, (*Server).importMute, (*Server).exportMutes, (*Server).undoMute},
	"domain_blocking": {"write:blocks", 1, (*Server).importDomainBlock, (*Server).exportDomainBlocks, (*Server).undoDomainBlock},
	"bookmarks":       {"write:bookmarks", 1, (*Server).importBookmark, (*Server).exportBookmarks, (*Server).undoBookmark},
	"lists":           {"write:lists", 2, (*Server).importListMember, nil, nil},
}

// errImportRow is a row that cannot be done (an account nobody knows, a post that is gone): it
// counts as failed, and the import goes on.
var errImportRow = errors.New("row not imported")

func (s *Server) mountImports(app *fiber.App) {
	app.Post("/settings/imports", s.authenticate, s.limitAPI, requireScope("write", "write:follows", "write:blocks", "write:mutes", "write:bookmarks", "write:lists"), s.importCreate)
	app.Get("/settings/imports/:id", s.authenticate, s.limitAPI, requireScope("read", "write"), s.importGet)
}

// importCreate is POST /settings/imports.
func (s *Server) importCreate(c *fiber.Ctx) error {
	kind, mode := c.FormValue("type"), c.FormValue("mode", "merge")
	imp, ok := csvImports[kind]
	if !ok {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Type must be one of following, blocking, muting, domain_blocking, bookmarks, lists")
	}
	tok, _ := c.Locals(localToken).(*store.Token)
	if !ScopeAllows(tok.Scopes, imp.scope) {
		return errScope
	}
	switch {
	case mode != "merge" && mode != "overwrite":
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Mode must be merge or overwrite")
	case mode == "overwrite" && imp.undo == nil:
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Mode overwrite is not supported for %s", kind)
	}
	file, err := c.FormFile("data")
	if err != nil {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Data can't be blank")
	}
	f, err := file.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := parseImport(f, imp.columns)
	if err == nil && len(rows) == 0 {
		err = errors.New("has no rows")
	}
	if err != nil {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Data %s", err)
	}
	record := &store.Import{AccountID: me(c).ID, Type: kind, Mode: mode}
	if err := s.store.CreateImport(c.UserContext(), record, rows); err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(record)
}

// importGet is GET /settings/imports/:id: one of the person's imports and how far it got.
func (s *Server) importGet(c *fiber.Ctx) error {
	imp, err := s.store.Import(c.UserContext(), me(c).ID, c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	return c.JSON(imp)
}

// parseImport reads the rows of a CSV file, without its header row ("Account address,...") and
// rows with an empty first field, each trimmed and padded to columns fields.
func parseImport(r io.Reader, columns int) ([][]string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord, cr.TrimLeadingSpace, cr.ReuseRecord = -1, true, false
	var rows [][]string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("is not a CSV file: %v", err)
		}
		if len(rows) == 0 && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "Account address") {
			continue
		}
		row := make([]string, columns)
		for i := range min(len(rec), columns) {
			row[i] = strings.TrimSpace(rec[i])
		}
		if row[0] == "" {
			continue
		}
		if len(rows) == importMaxRows {
			return nil, fmt.Errorf("has more than %d rows", importMaxRows)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// RunImports works the imports of every account of the instance until ctx ends; every serve
// process runs it, and each import is worked on by one of them at a time.
func RunImports(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger, options ...Option) {
	s := newServer(cfg, st, log, options...)
	for ctx.Err() == nil {
		claimed, err := s.store.ClaimDueImports(ctx, time.Now(), importLease, importBatch)
		if err != nil && ctx.Err() == nil {
			s.log.Error("imports", "err", err)
		}
		for _, imp := range claimed {
			if err := s.workImport(ctx, imp); err != nil && ctx.Err() == nil {
				// Its lease lapses and a worker resumes it from the progress saved.
				s.log.Error("import interrupted", "import", imp.ID, "err", err)
			}
		}
		if len(claimed) < importBatch {
			select {
			case <-ctx.Done():
			case <-time.After(importPoll):
			}
		}
	}
}

// workImport does the rows of imp from where it stopped, then, for overwrite, undoes what the
// person has that the file does not name.
func (s *Server) workImport(ctx context.Context, imp *store.Import) error {
	kind, ok := csvImports[imp.Type]
	self, err := s.store.Account(ctx, imp.AccountID)
	if !ok || errors.Is(err, store.ErrNotFound) {
		imp.State, imp.FinishedAt = store.ImportFinished, time.Now().UTC() // its account or type is gone
		return s.store.SaveImportProgress(ctx, imp, importLease)
	}
	if err != nil {
		return err
	}
	rows, err := s.store.ImportRows(ctx, imp.ID)
	if err != nil {
		return err
	}
	log := s.log.With("import", imp.ID, "type", imp.Type, "account", imp.AccountID)
	imp.State = store.ImportInProgress
	saved := time.Now()
	for imp.Processed < len(rows) {
		row := rows[imp.Processed]
		switch err := kind.apply(s, ctx, self, row); {
		case err == nil:
			imp.Imported++
		case errors.Is(err, errImportRow):
			imp.Failed++
			log.Info("import row failed", "row", imp.Processed+1, "reason", err)
		default:
			return err
		}
		imp.Processed++
		// Rows naming remote accounts can take seconds each (WebFinger, the actor): saving by
		// time too renews the lease long before it lapses under a worker still at it.
		if imp.Processed%importSaveEvery == 0 || time.Since(saved) > importLease/4 {
			if err := s.store.SaveImportProgress(ctx, imp, importLease); err != nil {
				return err
			}
			saved = time.Now()
		}
	}
	if imp.Mode == "overwrite" {
		if err := s.overwrite(ctx, kind, self, rows); err != nil {
			return err
		}
	}
	imp.State, imp.FinishedAt = store.ImportFinished, time.Now().UTC()
	log.Info("import finished", "imported", imp.Imported, "failed", imp.Failed)
	return s.store.SaveImportProgress(ctx, imp, importLease)
}

// overwrite undoes every entry the person has (as its export lists them) that rows do not name.
func (s *Server) overwrite(ctx context.Context, kind csvImport, self *store.Account, rows [][]string) error {
	named := make(map[string]bool, len(rows))
	for _, r := range rows {
		named[importKey(r[0])] = true
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := kind.export(s, ctx, self, w); err != nil {
		return err
	}
	w.Flush()
	current, err := parseImport(&buf, kind.columns)
	if err != nil {
		return err
	}
	for _, r := range current {
		if named[importKey(r[0])] {
			continue
		}
		if err := kind.undo(s, ctx, self, r); err != nil && !errors.Is(err, errImportRow) {
			return err
		}
	}
	return nil
}

// importKey is how rows name the same entry: accounts without a leading @, case aside.
func importKey(v string) string { return strings.ToLower(strings.TrimPrefix(v, "@")) }

// importAccount finds the account a row names (user@domain, @user@domain, or a local name),
// through federation when this department does not know it yet.
func (s *Server) importAccount(ctx context.Context, self *store.Account, acct string) (*store.Account, error) {
	acct = strings.TrimPrefix(strings.TrimSpace(acct), "@")
	a, err := s.store.AccountByAcct(ctx, acct)
	if errors.Is(err, store.ErrNotFound) {
		a, err = nil, nil
		if strings.Contains(acct, "@") {
			a, _, _ = s.resolveRemote(ctx, acct)
		}
	}
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, fmt.Errorf("%w: no account %s", errImportRow, acct)
	}
	if a.ID == self.ID || a.Suspended {
		return nil, fmt.Errorf("%w: %s cannot be imported", errImportRow, acct)
	}
	return a, nil
}

// importFollow follows the row's account: acct, show boosts, notify, languages (as exported).
func (s *Server) importFollow(ctx context.Context, self *store.Account, row []string) error {
	target, err := s.importAccount(ctx, self, row[0])
	if err != nil {
		return err
	}
	opts := store.FollowOptions{ShowReblogs: row[1] == "" || railsTrue(row[1]), Notify: railsTrue(row[2])}
	for l := range strings.SplitSeq(row[3], ",") {
		if l = strings.TrimSpace(l); l != "" && validLanguage(l) {
			opts.Languages = append(opts.Languages, l)
		}
	}
	_, err = s.followImported(ctx, self, target, &opts)
	return err
}

// followImported makes self follow target with opts (nil: a follow or request already there
// stays as it is, a new one shows boosts), and reports whether self follows target now rather
// than waiting for its server to accept.
func (s *Server) followImported(ctx context.Context, self, target *store.Account, opts *store.FollowOptions) (bool, error) {
	rels, err := s.store.Relationships(ctx, self.ID, []string{target.ID})
	if err != nil {
		return false, err
	}
	rel := rels[0]
	if rel.Blocking || rel.BlockedBy {
		return false, fmt.Errorf("%w: %s is blocked", errImportRow, target.Acct())
	}
	if opts == nil {
		if rel.Following || rel.Requested {
			return rel.Following, nil
		}
		opts = &store.FollowOptions{ShowReblogs: true}
	}
	return s.followTarget(ctx, self, target, rel, *opts)
}

func (s *Server) undoFollow(ctx context.Context, self *store.Account, row []string) error {
	target, err := s.importAccount(ctx, self, row[0])
	if err != nil {
		return err
	}
	if err := s.store.Unfollow(ctx, self.ID, target.ID); err != nil {
		return err
	}
	s.federate("unfollow", func(f Federation) error { return f.Unfollowed(ctx, self, target) })
	return nil
}

func (s *Server) importBlock(ctx context.Context, self *store.Account, row []string) error {
	target, err := s.importAccount(ctx, self, row[0])
	if err != nil {
		return err
	}
	return s.blockAccount(ctx, self, target)
}

func (s *Server) undoBlock(ctx context.Context, self *store.Account, row []string) error {
	target, err := s.importAccount(ctx, self, row[0])
	if err != nil {
		return err
	}
	if err := s.store.Unblock(ctx, self.ID, target.ID); err != nil {
		return err
	}
	s.federate("unblock", func(f Federation) error { return f.Unblocked(ctx, self, target) })
	return nil
}

// importMute mutes the row's account: acct, hide notifications (true when absent, as muting).
func (s *Server) importMute(ctx context.Context, self *store.Account, row []string) error {
	target, err := s.importAccount(ctx, self, row[0])
	if err != nil {
		return err
	}
	return s.store.Mute(ctx, self.ID, target.ID, row[1] == "" || railsTrue(row[1]))
}

func (s *Server) undoMute(ctx context.Context, self *store.Account, row []string) error {
	target, err := s.importAccount(ctx, self, row[0])
	if err != nil {
		return err
	}
	return s.store.Unmute(ctx, self.ID, target.ID)
}

func (s *Server) importDomainBlock(ctx context.Context, self *store.Account, row []string) error {
	domain := strings.ToLower(row[0])
	if strings.ContainsAny(domain, "/@ ?#") || strings.EqualFold(domain, s.cfg.Domain()) {
		return fmt.Errorf("%w: %q is not a domain to block", errImportRow, row[0])
	}
	return s.blockDomain(ctx, self, domain)
}

func (s *Server) undoDomainBlock(ctx context.Context, self *store.Account, row []string) error {
	return s.store.UnblockDomainFor(ctx, self.ID, strings.ToLower(row[0]))
}

// importStatus finds the status a row's URI names, through federation when it is not here yet,
// if self may see it.
func (s *Server) importStatus(ctx context.Context, self *store.Account, uri string) (*store.Status, error) {
	st, err := s.store.StatusByURI(ctx, uri)
	if errors.Is(err, store.ErrNotFound) {
		_, st, _ = s.resolveRemote(ctx, uri)
		err = nil
	}
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fmt.Errorf("%w: no post %s", errImportRow, uri)
	}
	ok, err := s.visibleTo(ctx, self, st)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: post %s is not visible", errImportRow, uri)
	}
	return st, nil
}

func (s *Server) importBookmark(ctx context.Context, self *store.Account, row []string) error {
	st, err := s.importStatus(ctx, self, row[0])
	if err != nil {
		return err
	}
	return s.store.Bookmark(ctx, self.ID, st.ID)
}

func (s *Server) undoBookmark(ctx context.Context, self *store.Account, row []string) error {
	st, err := s.store.StatusByURI(ctx, row[0])
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.store.Unbookmark(ctx, self.ID, st.ID)
}

// importListMember adds the row's account (list title, acct) to the person's list of that
// title, made when missing; as in Mastodon, the person follows the account first if need be.
func (s *Server) importListMember(ctx context.Context, self *store.Account, row []string) error {
	title, acct := row[0], row[1]
	if acct == "" {
		return fmt.Errorf("%w: no account in the row of list %q", errImportRow, title)
	}
	lists, err := s.store.Lists(ctx, self.ID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(lists, func(l *store.List) bool { return l.Title == title })
	var list *store.List
	if i >= 0 {
		list = lists[i]
	} else {
		list = &store.List{AccountID: self.ID, Title: title, RepliesPolicy: "list"}
		if err := s.store.CreateList(ctx, list); err != nil {
			return err
		}
	}
	target, err := s.importAccount(ctx, self, acct)
	if err != nil {
		return err
	}
	following, err := s.followImported(ctx, self, target, nil)
	if err != nil {
		return err
	}
	if !following {
		return fmt.Errorf("%w: %s has not accepted the follow yet, so is not in list %q", errImportRow, acct, title)
	}
	return s.store.AddListAccounts(ctx, list, []string{target.ID})
}
