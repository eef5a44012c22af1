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
	"watercooler/text"
)

// announcementCommands publish, list and delete the instance's announcements, which every
// Mastodon app shows its people (GET /api/v1/announcements).
func announcementCommands() []adminCommand {
	return []adminCommand{
		{"announcement create", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			body := fs.String("text", "", "the announcement; links, #hashtags and line breaks are rendered (required)")
			startsAt := fs.String("starts-at", "", "when it starts showing, RFC 3339 (default: now)")
			endsAt := fs.String("ends-at", "", "when it stops showing, RFC 3339 (default: never)")
			allDay := fs.Bool("all-day", false, "the times are whole days")
			return func(ctx context.Context, env adminEnv) error {
				if strings.TrimSpace(*body) == "" {
					return errors.New("--text is required")
				}
				a := &store.Announcement{Text: *body, AllDay: *allDay}
				var err error
				if a.StartsAt, err = optionalRFC3339("--starts-at", *startsAt); err != nil {
					return err
				}
				if a.EndsAt, err = optionalRFC3339("--ends-at", *endsAt); err != nil {
					return err
				}
				if a.StartsAt != nil && a.EndsAt != nil && !a.EndsAt.After(*a.StartsAt) {
					return errors.New("--ends-at must be after --starts-at")
				}
				noMentions := func(string) (text.Mention, bool) { return text.Mention{}, false }
				a.Content = text.NewRenderer(env.cfg.URL).Render(*body, noMentions).HTML
				if err := env.store.CreateAnnouncement(ctx, a); err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "published announcement %s\n", a.ID)
				return nil
			}
		}},
		{"announcement list", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			return func(ctx context.Context, env adminEnv) error {
				list, err := env.store.Announcements(ctx)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tSHOWN NOW\tSTARTS\tENDS\tTEXT")
				now := time.Now()
				for _, a := range list {
					fmt.Fprintf(w, "%s\t%v\t%s\t%s\t%s\n", a.ID, a.Active(now), timeOrDash(a.StartsAt), timeOrDash(a.EndsAt), firstLine(a.Text, 60))
				}
				return w.Flush()
			}
		}},
		{"announcement delete", func(fs *flag.FlagSet) func(context.Context, adminEnv) error {
			id := fs.String("id", "", "announcement id (required)")
			return func(ctx context.Context, env adminEnv) error {
				if *id == "" {
					return errors.New("--id is required")
				}
				if err := env.store.DeleteAnnouncement(ctx, *id); err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "deleted announcement %s\n", *id)
				return nil
			}
		}},
	}
}

func optionalRFC3339(flagName, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, fmt.Errorf("%s: %q is not an RFC 3339 time like 2026-12-24T09:00:00Z", flagName, v)
	}
	t = t.UTC()
	return &t, nil
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func firstLine(s string, max int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}
