package federation

import (
	"context"

	"watercooler/store"
)

// Communities is what the inbox needs of the local communities (package community): a local
// Group actor announces the statuses addressed to it (FEP-1b12). It is declared here, where it is
// consumed, because the community package builds on this one.
type Communities interface {
	// StatusArrived is told about a status a Create brought, with the actors the activity and
	// its object address (to, cc, audience); it announces the status from each local group it
	// concerns. It is idempotent: a redelivered Create announces nothing twice.
	StatusArrived(ctx context.Context, st *store.Status, addressed []string) error
}

// SetCommunities connects the inbox to the local communities; call it before Run.
func (f *Federator) SetCommunities(c Communities) { f.communities = c }

// addressedActors lists every actor a Create and its object name in to, cc and audience, where
// FEP-1b12 looks for the group a post is meant for.
func addressedActors(raw, obj map[string]any) []string {
	var out []string
	for _, m := range []map[string]any{raw, obj} {
		for _, field := range []string{"to", "cc", "audience"} {
			out = append(out, rawIDs(m[field])...)
		}
	}
	return out
}

// threadGroupInboxes lists the inboxes of the groups that announced the status st replies to,
// so that a reply in a community's thread reaches the group, which announces it in turn, as
// FEP-1b12 wants replies addressed to the group (Lemmy's audience). Only replies the group
// could announce go there: a followers-only or direct reply stays with its audience.
func (f *Federator) threadGroupInboxes(ctx context.Context, st *store.Status) ([]string, error) {
	if st.InReplyToID == "" || st.ReblogOfID != "" || (st.Visibility != store.VisibilityPublic && st.Visibility != store.VisibilityUnlisted) {
		return nil, nil
	}
	groups, err := f.store.GroupsThatBoosted(ctx, st.InReplyToID)
	if err != nil {
		return nil, err
	}
	return store.InboxesOf(groups), nil
}
