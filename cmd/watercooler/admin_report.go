package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"watercooler/store"
)

// reportCommands let the instance's moderators read and close the reports its people make
// (POST /api/v1/reports) and those other servers forward (Flag).
func reportCommands() []adminCommand {
	return []adminCommand{
		{"report list", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			all := fs.Bool("all", false, "resolved reports too")
			limit := fs.Int("limit", 100, "at most this many, newest first")
			return func(ctx context.Context, env adminEnv) error {
				reports, err := env.store.Reports(ctx, *all, *limit)
				if err != nil {
					return err
				}
				var ids []string
				for _, r := range reports {
					ids = append(ids, r.AccountID, r.TargetAccountID)
				}
				accounts, err := env.store.AccountsInOrder(ctx, ids)
				if err != nil {
					return err
				}
				acct := map[string]string{}
				for _, a := range accounts {
					acct[a.ID] = a.Acct()
				}
				w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tCREATED\tSTATE\tREPORTER\tTARGET\tCATEGORY\tSTATUSES\tCOMMENT")
				for _, r := range reports {
					state := "open"
					if r.ResolvedAt != nil {
						state = "resolved"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.CreatedAt.Format("2006-01-02 15:04"), state,
						orDash(acct[r.AccountID]), orDash(acct[r.TargetAccountID]), r.Category, orDash(strings.Join(r.StatusIDs, ",")), orDash(firstLine(r.Comment, 60)))
				}
				return w.Flush()
			}
		}},
		{"report resolve", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			id := fs.String("id", "", "report id (required)")
			note := fs.String("note", "", "what was done, kept with the report")
			return func(ctx context.Context, env adminEnv) error {
				if *id == "" {
					return errors.New("--id is required")
				}
				_, err := env.store.ResolveReport(ctx, *id, strings.TrimSpace(*note))
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("no report %s", *id)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "resolved report %s\n", *id)
				return nil
			}
		}},
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
