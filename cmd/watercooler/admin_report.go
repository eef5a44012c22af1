package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"watercooler/store"
)

// reportCommands list, show and resolve the reports people file (POST /api/v1/reports) and
// other servers forward (Flag), which admins also hear of as admin.report notifications.
func reportCommands() []adminCommand {
	return []adminCommand{
		{"report list", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			all := fs.Bool("all", false, "resolved reports too (default: open ones only)")
			return func(ctx context.Context, env adminEnv) error {
				reports, err := env.store.Reports(ctx, *all)
				if err != nil {
					return err
				}
				names, err := reportAccounts(ctx, env.store, reports)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tWHEN\tSTATE\tREPORTER\tTARGET\tCATEGORY\tSTATUSES\tCOMMENT")
				for _, r := range reports {
					statuses := strings.Join(r.StatusIDs, ",")
					if statuses == "" {
						statuses = "-"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.CreatedAt.Format(time.RFC3339), reportState(r),
						reporterName(r, names), names[r.TargetAccountID], r.Category, statuses, orDash(firstLine(r.Comment, 60)))
				}
				return w.Flush()
			}
		}},
		{"report show", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			id := fs.String("id", "", "report id (required)")
			return func(ctx context.Context, env adminEnv) error {
				r, err := reportFlag(ctx, env.store, *id)
				if err != nil {
					return err
				}
				names, err := reportAccounts(ctx, env.store, []*store.Report{r})
				if err != nil {
					return err
				}
				target, err := env.store.Account(ctx, r.TargetAccountID)
				if err != nil {
					return err
				}
				out := env.stdout
				fmt.Fprintf(out, "report %s, %s\nfiled: %s\nreporter: %s\ntarget: %s (%s)\ncategory: %s\nforwarded: %v\n",
					r.ID, reportState(r), r.CreatedAt.Format(time.RFC3339), reporterName(r, names), names[r.TargetAccountID], target.URI, r.Category, r.Forwarded)
				if r.ActionTakenAt != nil {
					fmt.Fprintf(out, "resolved: %s\nnote: %s\n", r.ActionTakenAt.Format(time.RFC3339), orDash(r.ResolutionNote))
				}
				fmt.Fprintf(out, "comment: %s\n", orDash(r.Comment))
				sts, err := env.store.Statuses(ctx, r.StatusIDs)
				if err != nil {
					return err
				}
				if len(r.StatusIDs) > 0 {
					fmt.Fprintf(out, "statuses (%d reported, %d still there):\n", len(r.StatusIDs), len(sts))
				}
				for _, st := range sts {
					body := st.Text // the source of local posts; remote ones only have HTML
					if body == "" {
						body = st.Content
					}
					fmt.Fprintf(out, "  %s %s %s\n", st.ID, st.URI, firstLine(body, 80))
				}
				return nil
			}
		}},
		{"report resolve", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			id := fs.String("id", "", "report id (required)")
			note := fs.String("note", "", "what was done, kept with the report")
			return func(ctx context.Context, env adminEnv) error {
				if _, err := reportFlag(ctx, env.store, *id); err != nil {
					return err
				}
				if _, err := env.store.ResolveReport(ctx, *id, *note); err != nil {
					if errors.Is(err, store.ErrConflict) {
						return fmt.Errorf("report %s is already resolved", *id)
					}
					return err
				}
				fmt.Fprintf(env.stdout, "resolved report %s\n", *id)
				return nil
			}
		}},
	}
}

// reportFlag reads the report --id names.
func reportFlag(ctx context.Context, st *store.Store, id string) (*store.Report, error) {
	if id == "" {
		return nil, errors.New("--id is required")
	}
	r, err := st.Report(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no report %s", id)
	}
	return r, err
}

// reportAccounts names the reporters and targets of reports by their acct, keyed by id.
func reportAccounts(ctx context.Context, st *store.Store, reports []*store.Report) (map[string]string, error) {
	var ids []string
	for _, r := range reports {
		ids = append(ids, r.AccountID, r.TargetAccountID)
	}
	accounts, err := st.Accounts(ctx, ids)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(accounts))
	for id, a := range accounts {
		names[id] = a.Acct()
	}
	return names, nil
}

// reporterName is who filed a report; a forwarded one says from which server.
func reporterName(r *store.Report, names map[string]string) string {
	if r.Origin != "" {
		return names[r.AccountID] + " (forwarded by " + r.Origin + ")"
	}
	return names[r.AccountID]
}

func reportState(r *store.Report) string {
	if r.Open() {
		return "open"
	}
	return "resolved"
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
