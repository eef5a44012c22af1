package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"watercooler/community"
)

// communityCommands create and list the department's communities of practice (package
// community). A running instance announces posts to a new community at once: the group is an
// account like any other, read from Redis.
func communityCommands() []adminCommand {
	return []adminCommand{
		{"community create", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			name := fs.String("name", "", "the community's name, as in golang@host")
			display := fs.String("display-name", "", "the name people see, like \"Go practitioners\"")
			var moderators []string
			fs.Func("moderator", "username of a person of this department who may remove posts (repeat for more)", func(v string) error {
				for _, m := range strings.Split(v, ",") {
					if m = strings.TrimSpace(m); m != "" {
						moderators = append(moderators, m)
					}
				}
				return nil
			})
			return func(ctx context.Context, env adminEnv) error {
				if *name == "" {
					return errors.New("--name is required: admin community create --name golang --display-name \"Go practitioners\"")
				}
				_, acct, err := community.Create(ctx, env.store, env.cfg.URL, community.Params{Name: *name, DisplayName: *display, Moderators: moderators})
				if err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "created community %s@%s (%s); people join by following it, and post to it by mentioning it\n", acct.Username, env.cfg.Domain(), acct.DisplayName)
				return nil
			}
		}},
		{"community list", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			return func(ctx context.Context, env adminEnv) error {
				comms, err := env.store.Communities(ctx)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tDISPLAY NAME\tMEMBERS\tMODERATORS\tCREATED")
				for _, c := range comms {
					acct, err := env.store.Account(ctx, c.AccountID)
					if err != nil {
						return err
					}
					counts, err := env.store.AccountCounts(ctx, []string{c.AccountID})
					if err != nil {
						return err
					}
					mods, err := env.store.AccountsInOrder(ctx, c.Moderators)
					if err != nil {
						return err
					}
					var names []string
					for _, m := range mods {
						names = append(names, m.Username)
					}
					fmt.Fprintf(w, "%s@%s\t%s\t%d\t%s\t%s\n", acct.Username, env.cfg.Domain(), acct.DisplayName, counts[c.AccountID].Followers,
						strings.Join(names, ","), c.CreatedAt.Format("2006-01-02"))
				}
				return w.Flush()
			}
		}},
	}
}
