package server

import (
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// reportCommentMax is Mastodon's limit on a report's comment.
const reportCommentMax = 1000

// reportCategories are Mastodon's report categories.
var reportCategories = []string{"spam", "legal", "violation", "other"}

// reportFederation is what reports need from the ActivityPub side beyond Federation.
type reportFederation interface {
	// ReportForwarded sends a Flag of a report about a remote account to its server, from the
	// instance actor: the reporter stays anonymous, as Mastodon forwards.
	ReportForwarded(ctx context.Context, r *store.Report, target *store.Account) error
}

type reportParams struct {
	AccountID        string     `json:"account_id"`
	StatusIDs        stringList `json:"status_ids"`
	Comment          string     `json:"comment"`
	Forward          optBool    `json:"forward"`
	ForwardToDomains stringList `json:"forward_to_domains"`
	Category         string     `json:"category"`
	RuleIDs          stringList `json:"rule_ids"`
}

// reportCreate is POST /api/v1/reports: the instance's moderators hear of it at once, and with
// forward a report about someone on another server goes there too.
func (s *Server) reportCreate(c *fiber.Ctx) error {
	ctx := c.UserContext()
	reporter := me(c)
	var p reportParams
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	target, err := s.store.Account(ctx, strings.TrimSpace(p.AccountID))
	if errors.Is(err, store.ErrNotFound) || (err == nil && target.Suspended) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	if target.ID == reporter.ID {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: You cannot report yourself")
	}
	if utf8.RuneCountInString(p.Comment) > reportCommentMax {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Comment is too long (maximum is %d characters)", reportCommentMax)
	}
	category := strings.TrimSpace(p.Category)
	if category == "" {
		category = "other"
	}
	if !slices.Contains(reportCategories, category) {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Category is not included in the list")
	}
	if ids := cleanIDs(p.RuleIDs); len(ids) > 0 {
		// The instance publishes no rules (GET /api/v1/instance/rules is empty).
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Rule ids refer to rules this server does not have")
	}
	statusIDs := cleanIDs(p.StatusIDs)
	for _, id := range statusIDs {
		st, err := s.visibleStatus(ctx, reporter, id)
		if errors.Is(err, errNotFound) || (err == nil && st.AccountID != target.ID) {
			return errNotFound // Mastodon looks the statuses up among the target's
		}
		if err != nil {
			return err
		}
	}
	forward := p.Forward.Value && !target.Local()
	r := &store.Report{
		AccountID: reporter.ID, TargetAccountID: target.ID, StatusIDs: statusIDs,
		Comment: strings.TrimSpace(p.Comment), Category: category, Forwarded: forward,
	}
	moderators, err := s.store.Moderators(ctx)
	if err != nil {
		return err
	}
	if err := s.store.CreateReport(ctx, r, moderators); err != nil {
		return err
	}
	if forward {
		s.federate("report", func(f Federation) error {
			if rf, ok := f.(reportFederation); ok {
				return rf.ReportForwarded(ctx, r, target)
			}
			return nil
		})
	}
	out, err := s.renderReports(ctx, []*store.Report{r})
	if err != nil {
		return err
	}
	return c.JSON(out[r.ID])
}

// renderReports builds Report entities keyed by report id, with their target accounts read in
// one round trip.
func (s *Server) renderReports(ctx context.Context, reports []*store.Report) (map[string]*mastodon.Report, error) {
	ids := make([]string, len(reports))
	for i, r := range reports {
		ids[i] = r.TargetAccountID
	}
	accounts, err := s.store.AccountsInOrder(ctx, ids)
	if err != nil {
		return nil, err
	}
	entities, err := s.accountEntities(ctx, accounts)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]mastodon.Account, len(accounts))
	for i, a := range accounts {
		byID[a.ID] = entities[i]
	}
	out := make(map[string]*mastodon.Report, len(reports))
	for _, r := range reports {
		target, ok := byID[r.TargetAccountID]
		if !ok {
			continue
		}
		e := &mastodon.Report{
			ID: r.ID, Category: r.Category, Comment: r.Comment, Forwarded: r.Forwarded,
			CreatedAt: mastodon.Timestamp(r.CreatedAt), StatusIDs: r.StatusIDs, RuleIDs: r.RuleIDs, TargetAccount: target,
		}
		if e.StatusIDs == nil {
			e.StatusIDs = []string{}
		}
		if e.RuleIDs == nil {
			e.RuleIDs = []string{}
		}
		if r.ResolvedAt != nil {
			at := mastodon.Timestamp(*r.ResolvedAt)
			e.ActionTaken, e.ActionTakenAt = true, &at
		}
		out[r.ID] = e
	}
	return out, nil
}

// reportsOf renders the reports of admin.report notifications.
func (s *Server) reportsOf(ctx context.Context, ids []string) (map[string]*mastodon.Report, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	byID, err := s.store.ReportsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	list := make([]*store.Report, 0, len(byID))
	for _, r := range byID {
		list = append(list, r)
	}
	return s.renderReports(ctx, list)
}
