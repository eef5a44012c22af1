package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"

	"watercooler/config"
	"watercooler/federation"
	"watercooler/server"
	"watercooler/signup"
	"watercooler/store"
)

const adminUsage = `Usage:
  watercooler admin user create --username NAME --email EMAIL [--password PW] [--admin] [--locked] [--bot]
  watercooler admin user reset-password --username NAME [--password PW]
  watercooler admin user list
  watercooler admin user role --username NAME --role admin|user
  watercooler admin user suspend --username NAME
  watercooler admin user unsuspend --username NAME
  watercooler admin user alias --username NAME --aliases user@host[,...]
  watercooler admin user move --username NAME --to user@host
  watercooler admin token --username NAME --scopes "read write follow push"
  watercooler admin domain list
  watercooler admin domain block|unblock|allow|disallow --host HOST
  watercooler admin federation mode --set open|allowlist
  watercooler admin deliveries dead [--limit N]
  watercooler admin deliveries stats
  watercooler admin org join --org-join URL   (or: admin org join URL)
  watercooler admin org leave
  watercooler admin org list
  watercooler admin org approve --host HOST
  watercooler admin announcement create --text TEXT [--starts-at T] [--ends-at T] [--all-day]
  watercooler admin announcement list
  watercooler admin announcement delete --id ID
  watercooler admin report list [--all]
  watercooler admin report show --id ID
  watercooler admin report resolve --id ID [--note TEXT]
  watercooler admin community create --name NAME [--display-name TEXT] [--moderator USER]...
  watercooler admin community list

Admin commands use the same configuration as serve (REDIS_URL, WATERCOOLER_URL, ...).
`

// adminCommand is one admin subcommand: its flags are added to the configuration flags.
type adminCommand struct {
	path  string
	flags func(fs *flag.FlagSet) func(ctx context.Context, env adminEnv) error
}

// adminEnv is what every admin subcommand works with.
type adminEnv struct {
	cfg    config.Config
	store  *store.Store
	stdout io.Writer
}

func adminCommands() []adminCommand {
	return []adminCommand{
		{"user create", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			username := fs.String("username", "", "user name (required)")
			email := fs.String("email", "", "e-mail address (required)")
			password := fs.String("password", "", "password; generated and printed when empty")
			isAdmin := fs.Bool("admin", false, "make the user an administrator")
			locked := fs.Bool("locked", false, "require approval of followers")
			bot := fs.Bool("bot", false, "mark the account as automated")
			return func(ctx context.Context, env adminEnv) error {
				if *username == "" || *email == "" {
					return errors.New("--username and --email are required")
				}
				pw, generated := *password, false
				if pw == "" {
					pw, generated = store.RandomToken(18), true
				}
				acct, err := signup.Create(ctx, env.store, server.Bcrypt{Cost: env.cfg.BcryptCost}, env.cfg.URL,
					signup.Params{Username: *username, Email: *email, Password: pw, Admin: *isAdmin, Locked: *locked, Bot: *bot})
				if err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "created %s (id %s) at %s\n", acct.Username, acct.ID, acct.URL)
				if generated {
					fmt.Fprintf(env.stdout, "password: %s\n", pw)
				}
				return nil
			}
		}},
		{"user reset-password", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			username := fs.String("username", "", "user name (required)")
			password := fs.String("password", "", "new password; generated and printed when empty")
			return func(ctx context.Context, env adminEnv) error {
				u, err := localUser(ctx, env.store, *username)
				if err != nil {
					return err
				}
				pw, generated := *password, false
				if pw == "" {
					pw, generated = store.RandomToken(18), true
				}
				if len(pw) < 8 || len(pw) > 72 {
					return signup.ErrPasswordLength
				}
				if u.PasswordHash, err = (server.Bcrypt{Cost: env.cfg.BcryptCost}).Hash(pw); err != nil {
					return err
				}
				if err := env.store.UpdateUser(ctx, u); err != nil {
					return err
				}
				if err := env.store.RevokeAccountTokens(ctx, u.AccountID); err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "password of %s reset; its tokens are revoked\n", *username)
				if generated {
					fmt.Fprintf(env.stdout, "password: %s\n", pw)
				}
				return nil
			}
		}},
		{"user list", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			return func(ctx context.Context, env adminEnv) error {
				accounts, err := env.store.LocalAccounts(ctx)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tUSERNAME\tE-MAIL\tROLE\tSTATE")
				for _, a := range accounts {
					email, role, state := "", "user", "active"
					if u, err := env.store.User(ctx, a.ID); err == nil {
						email = u.Email
						if u.Admin {
							role = "admin"
						}
					}
					if a.Suspended {
						state = "suspended"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.Username, email, role, state)
				}
				return w.Flush()
			}
		}},
		{"user role", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			username := fs.String("username", "", "user name (required)")
			role := fs.String("role", "", `"admin" or "user" (required)`)
			return func(ctx context.Context, env adminEnv) error {
				if *role != "admin" && *role != "user" {
					return errors.New(`--role must be "admin" or "user"`)
				}
				u, err := localUser(ctx, env.store, *username)
				if err != nil {
					return err
				}
				if u.Admin == (*role == "admin") {
					fmt.Fprintf(env.stdout, "%s already has the %s role\n", *username, *role)
					return nil
				}
				u.Admin = *role == "admin"
				if err := env.store.UpdateUser(ctx, u); err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "%s now has the %s role\n", *username, *role)
				if env.cfg.OIDC.AdminGroup != "" {
					fmt.Fprintf(env.stdout, "note: WATERCOOLER_OIDC_ADMIN_GROUP is set, so the next sign-in through the provider sets the role from the group again\n")
				}
				return nil
			}
		}},
		{"user suspend", suspendCommand(true)},
		{"user unsuspend", suspendCommand(false)},
		{"token", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			username := fs.String("username", "", "user name (required)")
			scopes := fs.String("scopes", "read", `space-separated scopes, e.g. "read write follow push"`)
			return func(ctx context.Context, env adminEnv) error {
				u, err := localUser(ctx, env.store, *username)
				if err != nil {
					return err
				}
				list, err := server.ParseScopes(*scopes)
				if err != nil {
					return err
				}
				tok, _, err := env.store.CreateToken(ctx, "", u.AccountID, list)
				if err != nil {
					return err
				}
				fmt.Fprintln(env.stdout, tok)
				return nil
			}
		}},
	}
}

// domainCommand changes one host's place in the federation policy.
func domainCommand(change func(*store.Store, context.Context, string) error, done string) func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
	return func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
		host := fs.String("host", "", "host (and port, if any) of the peer, e.g. sales.corp.example")
		return func(ctx context.Context, env adminEnv) error {
			if *host == "" {
				return errors.New("--host is required")
			}
			if err := change(env.store, ctx, *host); err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "%s %s\n", *host, done)
			return nil
		}
	}
}

func federationCommands() []adminCommand {
	return []adminCommand{
		{"domain list", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			return func(ctx context.Context, env adminEnv) error {
				p, err := env.store.FederationPolicy(ctx)
				if err != nil {
					return err
				}
				mode := "open"
				if p.Allowlist {
					mode = "allowlist"
				}
				fmt.Fprintf(env.stdout, "mode: %s\nblocked: %s\nallowed: %s\n", mode, strings.Join(p.Blocked, " "), strings.Join(p.Allowed, " "))
				return nil
			}
		}},
		{"domain block", domainCommand((*store.Store).BlockDomain, "is blocked")},
		{"domain unblock", domainCommand((*store.Store).UnblockDomain, "is no longer blocked")},
		{"domain allow", domainCommand((*store.Store).AllowDomain, "is on the allowlist")},
		{"domain disallow", domainCommand((*store.Store).DisallowDomain, "is off the allowlist")},
		{"federation mode", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			mode := fs.String("set", "", "open or allowlist")
			return func(ctx context.Context, env adminEnv) error {
				if *mode != "open" && *mode != "allowlist" {
					return errors.New(`--set must be "open" or "allowlist"`)
				}
				if err := env.store.SetAllowlistMode(ctx, *mode == "allowlist"); err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "federation mode: %s\n", *mode)
				return nil
			}
		}},
		{"deliveries dead", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			limit := fs.Int64("limit", 50, "how many dead letters to show, oldest first")
			return func(ctx context.Context, env adminEnv) error {
				jobs, err := env.store.Queue(federation.DeliveryQueue).DeadLetters(ctx, *limit)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "FAILED AT\tINBOX\tACTIVITY\tREASON")
				for _, j := range jobs {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", j.Fields["failed_at"], j.Fields["inbox"], j.Fields["payload"], j.Fields["reason"])
				}
				return w.Flush()
			}
		}},
		{"deliveries stats", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			return func(ctx context.Context, env adminEnv) error {
				for _, name := range []string{federation.DeliveryQueue, federation.InboxQueue, store.PushQueue} {
					st, err := env.store.Queue(name).Stats(ctx)
					if err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "%s: queued %d, in progress %d, waiting to retry %d, dead %d\n", name, st.Queued, st.Pending, st.Retrying, st.Dead)
				}
				return nil
			}
		}},
	}
}

func suspendCommand(suspend bool) func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
	return func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
		username := fs.String("username", "", "user name (required)")
		return func(ctx context.Context, env adminEnv) error {
			u, err := localUser(ctx, env.store, *username)
			if err != nil {
				return err
			}
			acct, err := env.store.SetSuspended(ctx, u.AccountID, suspend)
			if err != nil {
				return err
			}
			if suspend {
				fmt.Fprintf(env.stdout, "%s is suspended; its tokens are revoked\n", acct.Username)
			} else {
				fmt.Fprintf(env.stdout, "%s is active again\n", acct.Username)
			}
			return nil
		}
	}
}

func localUser(ctx context.Context, st *store.Store, username string) (*store.User, error) {
	if username == "" {
		return nil, errors.New("--username is required")
	}
	acct, err := st.AccountByAcct(ctx, username)
	if err != nil || !acct.Local() {
		return nil, fmt.Errorf("no local user named %q", username)
	}
	return st.User(ctx, acct.ID)
}

func admin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	for _, cmd := range slices.Concat(adminCommands(), federationCommands(), announcementCommands(), reportCommands(), orgCommands(), communityCommands(), moveCommands()) {
		words := strings.Fields(cmd.path)
		if len(args) < len(words) || strings.Join(args[:len(words)], " ") != cmd.path {
			continue
		}
		fs := flag.NewFlagSet("admin "+cmd.path, flag.ContinueOnError)
		fs.SetOutput(stderr)
		resolve := config.Bind(fs)
		runCmd := cmd.flags(fs)
		if err := fs.Parse(args[len(words):]); err != nil {
			return err
		}
		cfg, err := resolve(getenv)
		if err != nil {
			return err
		}
		if cfg.RedisURL == "" {
			return errors.New("REDIS_URL (--redis) is not set: admin commands need the Redis that serve uses; an embedded Redis lives only inside its serve process")
		}
		rdb, closeRedis, err := openRedis(ctx, cfg.RedisURL, slog.New(slog.NewTextHandler(stderr, nil)))
		if err != nil {
			return err
		}
		defer closeRedis()
		return runCmd(ctx, adminEnv{cfg: cfg, store: store.New(rdb, cfg.RedisPrefix, cfg.Domain()), stdout: stdout})
	}
	fmt.Fprint(stderr, adminUsage)
	return errors.New("unknown admin command")
}
