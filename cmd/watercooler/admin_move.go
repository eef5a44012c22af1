package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"watercooler/federation"
	"watercooler/store"
)

// moveCommands are the admin side of account migration (federation/move.go): the same steps as
// POST /api/v1/accounts/aliases and /api/v1/accounts/migration, for an admin acting for a user.
// The Move and Update they send are queued in Redis; the department's serve workers deliver them.
func moveCommands() []adminCommand {
	return []adminCommand{
		{"user alias", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			username := fs.String("username", "", "local user name (required)")
			aliases := fs.String("aliases", "", "comma-separated user@host or actor URIs the user moves from; empty removes all")
			return func(ctx context.Context, env adminEnv) error {
				acct, fed, err := moveSetup(ctx, env, *username)
				if err != nil {
					return err
				}
				var list []string
				for _, a := range strings.Split(*aliases, ",") {
					if a = strings.TrimPrefix(strings.TrimSpace(a), "@"); a != "" {
						list = append(list, a)
					}
				}
				acct, err = fed.SetAliases(ctx, acct, list)
				if err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "%s is also known as: %s\n", acct.Username, strings.Join(acct.AlsoKnownAs, ", "))
				return nil
			}
		}},
		{"user move", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			username := fs.String("username", "", "local user name (required)")
			to := fs.String("to", "", "the new account, user@host or actor URI (required); it must list this user as an alias")
			return func(ctx context.Context, env adminEnv) error {
				if *to == "" {
					return errors.New("--to is required")
				}
				acct, fed, err := moveSetup(ctx, env, *username)
				if err != nil {
					return err
				}
				target, err := fed.MoveAccount(ctx, acct, strings.TrimPrefix(*to, "@"))
				if err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "%s moved to %s; Move queued for its followers\n", acct.Username, target.URI)
				return nil
			}
		}},
	}
}

func moveSetup(ctx context.Context, env adminEnv, username string) (*store.Account, *federation.Federator, error) {
	u, err := localUser(ctx, env.store, username)
	if err != nil {
		return nil, nil, err
	}
	acct, err := env.store.Account(ctx, u.AccountID)
	if err != nil {
		return nil, nil, err
	}
	fed, err := federation.New(ctx, env.cfg, env.store, slog.New(slog.NewTextHandler(io.Discard, nil)), federation.Options{})
	return acct, fed, err
}
