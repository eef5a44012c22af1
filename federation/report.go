package federation

import (
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"

	"watercooler/store"
)

// maxFlagComment bounds the comment kept from a remote report; Mastodon's own limit on what
// its people write is 1000 characters, so this only stops a peer from filling Redis.
const maxFlagComment = 5000

// FlagActivity builds a Flag as Mastodon sends one: from the instance actor, so the reporter
// stays anonymous to the other server, with the comment as content and the reported account
// followed by the reported statuses as its object. The object is always an array, as
// Mastodon's is (go-fed would collapse a one-element list into a bare IRI).
func FlagActivity(id, actorURI, comment string, objects []string) vocab.ActivityStreamsFlag {
	f := streams.NewActivityStreamsFlag()
	setID(f, id)
	setActor(f, actorURI)
	c := streams.NewActivityStreamsContentProperty()
	c.AppendXMLSchemaString(comment)
	f.SetActivityStreamsContent(c)
	list := make([]any, len(objects))
	for i, o := range objects {
		list[i] = o
	}
	f.GetUnknownProperties()["object"] = list
	return f
}

// ReportFiled forwards a local report whose reporter asked for it: a Flag from the instance
// actor to the reported account's server when that is remote, and, as Mastodon does, to each
// server in forwardToDomains whose account one of the reported statuses replies to. It goes
// through the delivery queue like every other activity.
func (f *Federator) ReportFiled(ctx context.Context, r *store.Report, forwardToDomains []string) error {
	target, err := f.store.Account(ctx, r.TargetAccountID)
	if err != nil {
		return err
	}
	sts, err := f.store.Statuses(ctx, r.StatusIDs)
	if err != nil {
		return err
	}
	objects := []string{target.URI}
	var inboxes []string
	if !target.Local() {
		inboxes = append(inboxes, store.InboxesOf([]*store.Account{target})...)
	}
	var repliedTo []string
	for _, st := range sts {
		objects = append(objects, st.URI)
		if st.InReplyToAccountID != "" {
			repliedTo = append(repliedTo, st.InReplyToAccountID)
		}
	}
	others, err := f.store.AccountsInOrder(ctx, repliedTo)
	if err != nil {
		return err
	}
	for _, a := range others {
		if !a.Local() && !strings.EqualFold(a.Domain, target.Domain) && slices.ContainsFunc(forwardToDomains, func(d string) bool {
			return strings.EqualFold(strings.TrimSpace(d), a.Domain)
		}) {
			inboxes = append(inboxes, store.InboxesOf([]*store.Account{a})...)
		}
	}
	if len(inboxes) == 0 {
		return nil
	}
	id := f.cfg.URL + "/reports/" + r.ID
	body, err := Serialize(FlagActivity(id, f.InstanceActorURI(), r.Comment, objects))
	if err != nil {
		return err
	}
	return f.Deliver(ctx, id, body, "", inboxes)
}

// onFlag files a report a remote server forwarded: for each local account among the Flag's
// objects, with those of the listed statuses that are its own, reported by the Flag's actor
// (for Mastodon, its instance actor). Objects that are not ours, or unknown, are passed over;
// a Flag naming no local account stores nothing.
func (f *Federator) onFlag(ctx context.Context, a *activity) error {
	uris := rawIDs(a.raw["object"])
	var targets []*store.Account
	statuses := map[string][]string{} // account id → its reported status ids
	for _, uri := range uris {
		if HostOf(uri) != f.site.Domain {
			continue
		}
		if acct, err := f.store.AccountByURI(ctx, uri); err == nil {
			if acct.Local() && !acct.Suspended && !slices.ContainsFunc(targets, func(t *store.Account) bool { return t.ID == acct.ID }) {
				targets = append(targets, acct)
			}
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		st, err := f.store.StatusByURI(ctx, uri)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if st.Local && !slices.Contains(statuses[st.AccountID], st.ID) {
			statuses[st.AccountID] = append(statuses[st.AccountID], st.ID)
		}
	}
	if len(targets) == 0 {
		return ignore("Flag names no local account among %d objects", len(uris))
	}
	comment := rawString(a.raw["content"])
	if utf8.RuneCountInString(comment) > maxFlagComment {
		comment = string([]rune(comment)[:maxFlagComment])
	}
	filed := 0
	for _, t := range targets {
		r := &store.Report{
			URI: a.id, AccountID: a.actor.ID, TargetAccountID: t.ID, StatusIDs: statuses[t.ID],
			Comment: comment, Category: store.ReportOther, Origin: HostOf(a.actor.URI),
		}
		created, err := f.store.FileReport(ctx, r)
		if err != nil {
			return err
		}
		if created {
			filed++
		}
	}
	if filed == 0 {
		return ignore("Flag %s was already filed", a.id)
	}
	return nil
}
