package federation

import (
	"context"
	"errors"
	"strings"

	"watercooler/store"
)

// Public posts reach the whole organization as a relay would carry them, with no relay: each
// department adds the shared inbox of every other member department to the inboxes of its public
// activities (create, edit, delete, boost, favourite), so that tag timelines, followed hashtags
// and trends everywhere see every department. The deliveries go through the same durable queue
// as the rest; a department already reached through a follower gets no second copy.

// orgInboxes lists the shared inboxes of the organization's other member departments, read from
// the member list in the store (package org keeps it). A department that left, or that is in
// no organization, relays nowhere; domain blocks are applied by Deliver, as for every inbox.
func (f *Federator) orgInboxes(ctx context.Context) ([]string, error) {
	members, err := f.store.OrgMembers(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	in := false
	for _, m := range members {
		if m.Host == f.site.Domain {
			in = !m.Left
			continue
		}
		if m.Left || m.URL == "" {
			continue
		}
		out = append(out, strings.TrimSuffix(m.URL, "/")+"/inbox")
	}
	if !in {
		return nil, nil
	}
	return out, nil
}

// withOrganization adds the member departments' shared inboxes to inboxes when st travels
// organization-wide: public (Mastodon relays carry public posts only; unlisted, followers-only
// and direct posts keep to their audience) and not department-only. A department some inbox
// already targets is skipped, whichever inbox of it that is: one copy reaches the whole
// department, since a received post is filed for everyone there.
func (f *Federator) withOrganization(ctx context.Context, st *store.Status, inboxes []string) ([]string, error) {
	if st.Visibility != store.VisibilityPublic {
		return inboxes, nil
	}
	if st.ReblogOfID != "" { // a boost travels with a public original only
		original, err := f.store.Status(ctx, st.ReblogOfID)
		if errors.Is(err, store.ErrNotFound) {
			return inboxes, nil
		}
		if err != nil {
			return nil, err
		}
		if original.Visibility != store.VisibilityPublic || original.LocalOnly {
			return inboxes, nil
		}
	} else if st.LocalOnly {
		return inboxes, nil
	}
	org, err := f.orgInboxes(ctx)
	if err != nil || len(org) == 0 {
		return inboxes, err
	}
	reached := make(map[string]bool, len(inboxes))
	for _, inbox := range inboxes {
		reached[HostOf(inbox)] = true
	}
	for _, inbox := range org {
		if host := HostOf(inbox); !reached[host] {
			reached[host] = true
			inboxes = append(inboxes, inbox)
		}
	}
	return inboxes, nil
}

// isOrgMember reports whether host is a current member department of the organization.
func (f *Federator) isOrgMember(ctx context.Context, host string) (bool, error) {
	inboxes, err := f.orgInboxes(ctx)
	if err != nil {
		return false, err
	}
	for _, inbox := range inboxes {
		if HostOf(inbox) == host {
			return true, nil
		}
	}
	return false, nil
}
