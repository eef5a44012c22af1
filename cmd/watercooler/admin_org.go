package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"watercooler/config"
	"watercooler/org"
	"watercooler/store"
)

// orgCommands join and leave the organization of departments, list its members and the
// departments asking to join, and approve those. The running instance's gossip carries out a
// join or a leave within one round (10 s).
func orgCommands() []adminCommand {
	return []adminCommand{
		{"org join", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			// --url is this department's own URL (WATERCOOLER_URL), so the department to join
			// is --org-join, as at start, or the argument.
			return func(ctx context.Context, env adminEnv) error {
				target := env.cfg.OrgJoin
				if fs.NArg() == 1 {
					target = strings.TrimSuffix(fs.Arg(0), "/")
				}
				if target == "" || fs.NArg() > 1 {
					return errors.New("name one department of the organization: admin org join --org-join https://eng.corp.example (or as the argument)")
				}
				if err := config.CheckBaseURL(target); err != nil {
					return err
				}
				if target == env.cfg.URL {
					return errors.New("that is this department's own URL; name another department")
				}
				if err := org.Join(ctx, env.cfg, env.store, target); err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "asked %s to let %s join; admin org list shows the members once it answers\n", target, env.cfg.Domain())
				return nil
			}
		}},
		{"org leave", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			return func(ctx context.Context, env adminEnv) error {
				if err := org.Leave(ctx, env.cfg, env.store); err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "%s left the organization; the other departments drop it as the news spreads\n", env.cfg.Domain())
				return nil
			}
		}},
		{"org list", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			return func(ctx context.Context, env adminEnv) error {
				members, err := env.store.OrgMembers(ctx)
				if err != nil {
					return err
				}
				pending, err := env.store.OrgPending(ctx)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "HOST\tSTATE\tTITLE\tURL\tSINCE")
				row := func(m store.OrgMember, state string) {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", m.Host, state, m.Title, m.URL, time.UnixMilli(m.Version).UTC().Format(time.RFC3339))
				}
				for _, m := range members {
					state := "member"
					if m.Left {
						state = "left"
					}
					row(m, state)
				}
				for _, m := range pending {
					row(m, "pending (admin org approve --host "+m.Host+")")
				}
				return w.Flush()
			}
		}},
		{"org approve", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			host := fs.String("host", "", "host of a pending department, as admin org list shows it (required)")
			return func(ctx context.Context, env adminEnv) error {
				if *host == "" {
					return errors.New("--host is required")
				}
				m, err := org.Approve(ctx, env.store, *host)
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("%s has not asked to join (admin org list shows who has)", *host)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "approved %s (%s); the other departments learn of it as the news spreads\n", m.Host, m.URL)
				return nil
			}
		}},
	}
}
