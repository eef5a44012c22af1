package server

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// requireAdmin admits tokens granted scope (or its parent, admin:read or admin:write) whose
// user is an administrator, as Mastodon's admin API does: the scope is checked first, then the
// role, and a person who is not an admin is refused with 403 whatever their token says.
func (s *Server) requireAdmin(scope string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		tok := token(c)
		if tok == nil || tok.AccountID == "" {
			return errUnauthorized
		}
		if !ScopeAllows(tok.Scopes, scope) {
			return errScope
		}
		u, err := s.store.User(c.UserContext(), tok.AccountID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Admin) {
			return errForbidden
		}
		if err != nil {
			return err
		}
		return c.Next()
	}
}

// adminAccountFilter is what GET /api/v1/admin/accounts (v1) and /api/v2/admin/accounts select
// by; blank fields select everything.
type adminAccountFilter struct {
	origin, status        string // "local"/"remote"; "active"/"suspended"
	username, displayName string
	email, domain         string
	staff                 bool
	maxID, sinceID, minID string
	limit                 int
}

func (f adminAccountFilter) keeps(a *store.Account, u *store.User) bool {
	switch {
	case f.origin == "local" && !a.Local(), f.origin == "remote" && a.Local():
		return false
	case f.status == "active" && a.Suspended, f.status == "suspended" && !a.Suspended:
		return false
	case f.staff && (u == nil || !u.Admin):
		return false
	case f.username != "" && !strings.Contains(strings.ToLower(a.Username), strings.ToLower(f.username)):
		return false
	case f.displayName != "" && !strings.Contains(strings.ToLower(a.DisplayName), strings.ToLower(f.displayName)):
		return false
	case f.domain != "" && !strings.EqualFold(a.Domain, f.domain):
		return false
	case f.email != "" && (u == nil || !strings.Contains(strings.ToLower(u.Email), strings.ToLower(f.email))):
		return false
	case f.maxID != "" && compareIDs(a.ID, f.maxID) >= 0:
		return false
	case f.sinceID != "" && compareIDs(a.ID, f.sinceID) <= 0, f.minID != "" && compareIDs(a.ID, f.minID) <= 0:
		return false
	}
	return true
}

// compareIDs orders decimal ids by value.
func compareIDs(a, b string) int {
	return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
}

// adminAccountsV1 is GET /api/v1/admin/accounts: local, remote, active, suspended, staff,
// username, display_name, email and by_domain select, as in Mastodon.
func (s *Server) adminAccountsV1(c *fiber.Ctx) error {
	f := adminAccountFilter{username: c.Query("username"), displayName: c.Query("display_name"),
		email: c.Query("email"), domain: c.Query("by_domain"), staff: queryBool(c, "staff")}
	switch {
	case queryBool(c, "local"):
		f.origin = "local"
	case queryBool(c, "remote"):
		f.origin = "remote"
	}
	switch {
	case queryBool(c, "suspended"):
		f.status = "suspended"
	case queryBool(c, "active"):
		f.status = "active"
	}
	return s.adminAccountsList(c, f)
}

// adminAccountsV2 is GET /api/v2/admin/accounts: origin, status and permissions select.
func (s *Server) adminAccountsV2(c *fiber.Ctx) error {
	f := adminAccountFilter{origin: c.Query("origin"), status: c.Query("status"), username: c.Query("username"),
		displayName: c.Query("display_name"), email: c.Query("email"), domain: c.Query("by_domain"),
		staff: c.Query("permissions") == "staff"}
	if f.origin != "" && f.origin != "local" && f.origin != "remote" {
		return validationFailed("Origin is not included in the list")
	}
	if f.status != "" && f.status != "active" && f.status != "suspended" {
		// pending, disabled and silenced accounts do not exist here: none match.
		f.status = "none"
	}
	return s.adminAccountsList(c, f)
}

func (s *Server) adminAccountsList(c *fiber.Ctx, f adminAccountFilter) error {
	ctx := c.UserContext()
	page := pageFrom(c, 100, 200)
	f.maxID, f.sinceID, f.minID, f.limit = page.MaxID, page.SinceID, page.MinID, page.Limit
	accounts, err := s.store.KnownAccounts(ctx)
	if err != nil {
		return err
	}
	if f.status == "none" {
		accounts = nil
	}
	users := map[string]*store.User{}
	if f.staff || f.email != "" {
		// Only these filters read sign-in records; otherwise just the page's are read.
		if users, err = s.usersOf(ctx, accounts); err != nil {
			return err
		}
	}
	accounts = slices.DeleteFunc(accounts, func(a *store.Account) bool { return !f.keeps(a, users[a.ID]) })
	slices.SortFunc(accounts, func(a, b *store.Account) int { return compareIDs(b.ID, a.ID) })
	if f.minID != "" && len(accounts) > f.limit {
		accounts = accounts[len(accounts)-f.limit:] // the page just above min_id
	}
	accounts = accounts[:min(len(accounts), f.limit)]
	if users, err = s.usersOf(ctx, accounts); err != nil {
		return err
	}
	out, err := s.adminAccounts(ctx, accounts, users)
	if err != nil {
		return err
	}
	entries := make([]store.Entry, len(accounts))
	for i, a := range accounts {
		entries[i] = store.Entry{ID: a.ID}
	}
	s.setLinkHeader(c, entries)
	return c.JSON(out)
}

// usersOf reads the sign-in records of the local accounts among accounts, by account id.
func (s *Server) usersOf(ctx context.Context, accounts []*store.Account) (map[string]*store.User, error) {
	var ids []string
	for _, a := range accounts {
		if a.Local() {
			ids = append(ids, a.ID)
		}
	}
	return s.store.Users(ctx, ids)
}

// adminAccounts renders accounts as moderators see them: whole profiles, suspended or not.
func (s *Server) adminAccounts(ctx context.Context, accounts []*store.Account, users map[string]*store.User) ([]mastodon.AdminAccount, error) {
	entities, err := s.renderAccounts(ctx, accounts)
	if err != nil {
		return nil, err
	}
	out := make([]mastodon.AdminAccount, len(accounts))
	for i, a := range accounts {
		out[i] = mastodon.AdminAccountFrom(a, users[a.ID], entities[i])
	}
	return out, nil
}

// adminAccount renders one account for moderators.
func (s *Server) adminAccount(ctx context.Context, a *store.Account) (mastodon.AdminAccount, error) {
	users, err := s.usersOf(ctx, []*store.Account{a})
	if err != nil {
		return mastodon.AdminAccount{}, err
	}
	out, err := s.adminAccounts(ctx, []*store.Account{a}, users)
	if err != nil {
		return mastodon.AdminAccount{}, err
	}
	return out[0], nil
}

// adminAccountGet is GET /api/v1/admin/accounts/:id.
func (s *Server) adminAccountGet(c *fiber.Ctx) error {
	a, err := s.accountParam(c)
	if err != nil {
		return err
	}
	out, err := s.adminAccount(c.UserContext(), a)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// adminActionParams are POST /api/v1/admin/accounts/:id/action's parameters.
type adminActionParams struct {
	Type     optString `json:"type"`
	ReportID optString `json:"report_id"`
	Text     optString `json:"text"`
}

// adminAccountAction is POST /api/v1/admin/accounts/:id/action: type "suspend" suspends the
// account (store.SetSuspended, as `watercooler admin user suspend` does) and "none" does nothing
// to it (Mastodon's warning; there are no e-mails to send here); with report_id, that report on
// the account is resolved as well, with text as its note, as Mastodon does. Administrators
// cannot be suspended, so that no admin locks another out.
func (s *Server) adminAccountAction(c *fiber.Ctx) error {
	var p adminActionParams
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	ctx := c.UserContext()
	a, err := s.accountParam(c)
	if err != nil {
		return err
	}
	switch p.Type.val {
	case "none", "suspend":
	case "disable", "silence", "sensitive":
		return validationFailed("Type " + p.Type.val + " is not supported by this server")
	default:
		return validationFailed("Type is not included in the list")
	}
	var report *store.Report
	if id := strings.TrimSpace(p.ReportID.val); id != "" {
		if report, err = s.store.Report(ctx, id); errors.Is(err, store.ErrNotFound) || (err == nil && report.TargetAccountID != a.ID) {
			return errNotFound
		} else if err != nil {
			return err
		}
	}
	if p.Type.val == "suspend" {
		if a.Local() {
			if u, err := s.store.User(ctx, a.ID); err == nil && u.Admin {
				return errForbidden
			}
		}
		if _, err := s.store.SetSuspended(ctx, a.ID, true); err != nil {
			return err
		}
	}
	if report != nil && report.Open() {
		if _, err := s.store.ResolveReport(ctx, report.ID, p.Text.val); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return c.JSON(fiber.Map{})
}

// adminAccountUnsuspend is POST /api/v1/admin/accounts/:id/unsuspend.
func (s *Server) adminAccountUnsuspend(c *fiber.Ctx) error {
	a, err := s.accountParam(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	if a, err = s.store.SetSuspended(ctx, a.ID, false); err != nil {
		return err
	}
	out, err := s.adminAccount(ctx, a)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// adminReportsList is GET /api/v1/admin/reports: the open reports, or with resolved=true the
// resolved ones, newest first, narrowed by account_id (reporter) and target_account_id.
func (s *Server) adminReportsList(c *fiber.Ctx) error {
	ctx := c.UserContext()
	resolved := queryBool(c, "resolved")
	reports, err := s.store.Reports(ctx, resolved)
	if err != nil {
		return err
	}
	page := pageFrom(c, 100, 200)
	reporter, target := c.Query("account_id"), c.Query("target_account_id")
	reports = slices.DeleteFunc(reports, func(r *store.Report) bool {
		return r.Open() == resolved || (reporter != "" && r.AccountID != reporter) || (target != "" && r.TargetAccountID != target) ||
			(page.MaxID != "" && compareIDs(r.ID, page.MaxID) >= 0) || (page.SinceID != "" && compareIDs(r.ID, page.SinceID) <= 0)
	})
	reports = reports[:min(len(reports), page.Limit)]
	out, err := s.adminReports(ctx, reports)
	if err != nil {
		return err
	}
	entries := make([]store.Entry, len(reports))
	for i, r := range reports {
		entries[i] = store.Entry{ID: r.ID}
	}
	s.setLinkHeader(c, entries)
	return c.JSON(out)
}

// adminReports renders reports with their reporters, targets and reported statuses, as the
// signed-in admin sees them.
func (s *Server) adminReports(ctx context.Context, reports []*store.Report) ([]mastodon.AdminReport, error) {
	var ids []string
	for _, r := range reports {
		ids = append(ids, r.AccountID, r.TargetAccountID)
	}
	slices.Sort(ids)
	accounts, err := s.store.AccountsInOrder(ctx, slices.Compact(ids))
	if err != nil {
		return nil, err
	}
	users, err := s.usersOf(ctx, accounts)
	if err != nil {
		return nil, err
	}
	rendered, err := s.adminAccounts(ctx, accounts, users)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]mastodon.AdminAccount, len(accounts))
	for i, a := range accounts {
		byID[a.ID] = rendered[i]
	}
	out := make([]mastodon.AdminReport, 0, len(reports))
	for _, r := range reports {
		sts, err := s.store.Statuses(ctx, r.StatusIDs)
		if err != nil {
			return nil, err
		}
		statuses, err := s.renderStatuses(ctx, nil, sts, "")
		if err != nil {
			return nil, err
		}
		out = append(out, mastodon.AdminReportFrom(r, byID[r.AccountID], byID[r.TargetAccountID], statuses))
	}
	return out, nil
}

// adminReport renders one report named by the :id parameter after change, if any, ran on it.
func (s *Server) adminReport(c *fiber.Ctx, change func(ctx context.Context, id string) error) error {
	ctx, id := c.UserContext(), c.Params("id")
	if _, err := strconv.ParseUint(id, 10, 63); err != nil {
		return errNotFound
	}
	if change != nil {
		if err := change(ctx, id); err != nil && !errors.Is(err, store.ErrConflict) {
			return err // resolving a resolved report changes nothing, as in Mastodon
		}
	}
	r, err := s.store.Report(ctx, id)
	if err != nil {
		return err
	}
	out, err := s.adminReports(ctx, []*store.Report{r})
	if err != nil {
		return err
	}
	return c.JSON(out[0])
}

// adminReportGet is GET /api/v1/admin/reports/:id.
func (s *Server) adminReportGet(c *fiber.Ctx) error { return s.adminReport(c, nil) }

// adminReportResolve is POST /api/v1/admin/reports/:id/resolve, what `watercooler admin report
// resolve` does.
func (s *Server) adminReportResolve(c *fiber.Ctx) error {
	return s.adminReport(c, func(ctx context.Context, id string) error {
		_, err := s.store.ResolveReport(ctx, id, "")
		return err
	})
}

// adminReportReopen is POST /api/v1/admin/reports/:id/reopen.
func (s *Server) adminReportReopen(c *fiber.Ctx) error {
	return s.adminReport(c, func(ctx context.Context, id string) error {
		_, err := s.store.ReopenReport(ctx, id)
		return err
	})
}
