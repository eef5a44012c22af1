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

// reportCommentMaxLen is Mastodon's limit on a report's comment.
const reportCommentMaxLen = 1000

// reportCategories are the categories a person may pick; violation needs rule_ids citing
// server rules, and this instance has none (GET /api/v1/instance/rules is empty).
var reportCategories = []string{store.ReportSpam, store.ReportLegal, store.ReportViolation, store.ReportOther}

// reportParams are POST /api/v1/reports' parameters.
type reportParams struct {
	AccountID        optString  `json:"account_id"`
	StatusIDs        stringList `json:"status_ids"`
	Comment          optString  `json:"comment"`
	Forward          optString  `json:"forward"`
	ForwardToDomains stringList `json:"forward_to_domains"`
	Category         optString  `json:"category"`
	RuleIDs          stringList `json:"rule_ids"`
}

// reportCreate is POST /api/v1/reports: the viewer reports an account, and possibly some of
// its statuses the viewer can see, to this instance's moderators, who get an admin.report
// notification; with forward=true a remote account's server gets an anonymous Flag too. Every
// check runs before anything is stored.
func (s *Server) reportCreate(c *fiber.Ctx) error {
	var p reportParams
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	ctx, self := c.UserContext(), me(c)
	target, err := s.store.Account(ctx, strings.TrimSpace(p.AccountID.val))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	if target.ID == self.ID {
		return validationFailed("You cannot report yourself")
	}
	r := &store.Report{AccountID: self.ID, TargetAccountID: target.ID, Comment: p.Comment.val}
	if r.Category, err = reportCategory(p.Category.val, p.RuleIDs); err != nil {
		return err
	}
	if utf8.RuneCountInString(r.Comment) > reportCommentMaxLen {
		return validationFailed("Comment is too long (maximum is 1000 characters)")
	}
	if r.StatusIDs, err = s.reportedStatuses(ctx, self, target, compactIDs(p.StatusIDs)); err != nil {
		return err
	}
	forward, _ := railsBool(p.Forward.val)
	r.Forwarded = forward && !target.Local()
	if _, err := s.store.FileReport(ctx, r); err != nil {
		return err
	}
	if forward {
		domains := slices.Clone(p.ForwardToDomains)
		s.federate("report", func(f Federation) error { return f.ReportFiled(ctx, r, domains) })
	}
	out, err := s.reportEntities(ctx, []string{r.ID})
	if err != nil {
		return err
	}
	return c.JSON(out[r.ID])
}

// reportCategory is the category a report gets, as Mastodon's validations decide it: rule_ids
// make it a violation, blank is other, and a violation must cite existing rules, of which
// there are none here.
func reportCategory(category string, ruleIDs []string) (string, error) {
	category = strings.TrimSpace(category)
	switch {
	case len(ruleIDs) > 0:
		category = store.ReportViolation
	case category == "":
		category = store.ReportOther
	case !slices.Contains(reportCategories, category):
		// Mastodon reports a bad enum value with Rails' ArgumentError message.
		return "", errorf(fiber.StatusUnprocessableEntity, "'%s' is not a valid category", category)
	}
	if category == store.ReportViolation {
		return "", validationFailed("Rule ids does not reference valid rules")
	}
	return category, nil
}

// reportedStatuses checks that each id names a status of the target the reporter can see.
func (s *Server) reportedStatuses(ctx context.Context, reporter, target *store.Account, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	sts, err := s.store.Statuses(ctx, ids)
	if err != nil {
		return nil, err
	}
	if len(sts) != len(ids) {
		return nil, errNotFound
	}
	for _, st := range sts {
		if st.AccountID != target.ID {
			return nil, errNotFound
		}
		ok, err := s.visibleTo(ctx, reporter, st)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errNotFound
		}
	}
	return ids, nil
}

// reportEntities renders reports with their targets, keyed by report id; unknown ids are absent.
func (s *Server) reportEntities(ctx context.Context, ids []string) (map[string]*mastodon.Report, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	reports, err := s.store.ReportsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	var targetIDs []string
	for _, r := range reports {
		targetIDs = append(targetIDs, r.TargetAccountID)
	}
	slices.Sort(targetIDs)
	targets, err := s.store.AccountsInOrder(ctx, slices.Compact(targetIDs))
	if err != nil {
		return nil, err
	}
	entities, err := s.accountEntities(ctx, targets)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]mastodon.Account, len(targets))
	for i, a := range targets {
		byID[a.ID] = entities[i]
	}
	out := make(map[string]*mastodon.Report, len(reports))
	for id, r := range reports {
		if target, ok := byID[r.TargetAccountID]; ok {
			e := mastodon.ReportFrom(r, target)
			out[id] = &e
		}
	}
	return out, nil
}
