package federation

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"watercooler/store"
)

// flagCommentMax bounds the comment kept of a Flag; Mastodon allows 1,000 characters in its own
// reports, other servers may send more.
const flagCommentMax = 5000

// ReportForwarded sends a report about a remote account to that account's server as Mastodon
// does: a Flag from the instance actor (the reporter stays anonymous) whose object is the
// account and the reported statuses, and whose content is the comment.
func (f *Federator) ReportForwarded(ctx context.Context, r *store.Report, target *store.Account) error {
	objects := []string{target.URI}
	sts, err := f.store.Statuses(ctx, r.StatusIDs)
	if err != nil {
		return err
	}
	for _, st := range sts {
		if st.URI != "" {
			objects = append(objects, st.URI)
		}
	}
	id := f.cfg.URL + "/reports/" + r.ID
	body, err := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Flag",
		"actor": f.InstanceActorURI(), "content": r.Comment, "object": objects,
	})
	if err != nil {
		return err
	}
	return f.Deliver(ctx, id, body, "", store.InboxesOf([]*store.Account{target}))
}

// onFlag stores a report another server forwarded about an account here: its objects must
// name a local account, or local statuses of one; the rest of what it names is left out.
func (f *Federator) onFlag(ctx context.Context, a *activity) error {
	var ids []string
	switch o := a.raw["object"].(type) {
	case string:
		ids = []string{o}
	case []any:
		for _, v := range o {
			switch x := v.(type) {
			case string:
				ids = append(ids, x)
			case map[string]any:
				if id, ok := x["id"].(string); ok {
					ids = append(ids, id)
				}
			}
		}
	}
	var target *store.Account
	var statuses []*store.Status
	for _, id := range ids {
		if acct, err := f.store.AccountByURI(ctx, id); err == nil {
			if acct.Local() && target == nil {
				target = acct
			}
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		st, err := f.store.StatusByURI(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if st.Local {
			statuses = append(statuses, st)
		}
	}
	if target == nil && len(statuses) > 0 {
		var err error
		if target, err = f.store.Account(ctx, statuses[0].AccountID); err != nil {
			return err
		}
	}
	if target == nil {
		return ignore("Flag of nothing hosted here")
	}
	var statusIDs []string
	for _, st := range statuses {
		if st.AccountID == target.ID {
			statusIDs = append(statusIDs, st.ID)
		}
	}
	comment, _ := a.raw["content"].(string)
	comment = strings.TrimSpace(comment)
	if utf8.RuneCountInString(comment) > flagCommentMax {
		comment = string([]rune(comment)[:flagCommentMax])
	}
	moderators, err := f.store.Moderators(ctx)
	if err != nil {
		return err
	}
	r := &store.Report{
		AccountID: a.actor.ID, TargetAccountID: target.ID, StatusIDs: statusIDs,
		Comment: comment, Category: "other", Origin: a.actor.Domain,
	}
	return f.store.CreateReport(ctx, r, moderators)
}
