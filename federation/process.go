package federation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"watercooler/store"
)

// groupActivityTypes are the activities a FEP-1b12 group announces wrapped, never fetched as
// objects.
var groupActivityTypes = map[string]bool{"Create": true, "Update": true, "Delete": true, "Remove": true, "Like": true, "Dislike": true, "Undo": true, "Add": true, "Block": true}

// noteTypes are the object types stored as statuses.
var noteTypes = map[string]bool{"Note": true, "Article": true, "Question": true, "Page": true, "Video": true, "Event": true}

// process applies one inbound activity. The activity was verified as signed by signer, its
// actor; everything it says about objects on other hosts is checked against their origin.
func (f *Federator) process(ctx context.Context, body []byte, signer string) error {
	_, raw, err := Parse(ctx, body)
	if err != nil {
		// go-fed knows no FEP-044f QuoteRequest: read it from the JSON alone (quote_inbox.go).
		var qerr error
		if raw, qerr = parseQuoteRequest(body); qerr != nil {
			return reject("unparseable activity: %v", err)
		}
	}
	typ, _ := raw["type"].(string)
	id, _ := raw["id"].(string)
	if tomb, err := f.store.IsTombstoned(ctx, id); err != nil {
		return err
	} else if tomb {
		return ignore("undone or deleted before it arrived")
	}
	actor, err := f.resolveAccount(ctx, signer, false)
	if err != nil {
		return err
	}
	if actor.Suspended {
		return reject("actor %s is suspended", actor.URI)
	}
	a := &activity{id: id, typ: typ, raw: raw, actor: actor}
	switch typ {
	case "Create":
		return f.onCreate(ctx, a)
	case "Update":
		return f.onUpdate(ctx, a)
	case "Delete":
		return f.onDelete(ctx, a)
	case "Follow":
		return f.onFollow(ctx, a)
	case "Accept":
		return f.onAccept(ctx, a)
	case "Reject":
		return f.onReject(ctx, a)
	case "Undo":
		return f.onUndo(ctx, a)
	case "Announce":
		return f.onAnnounce(ctx, a)
	case "Like", "EmojiReact":
		return f.onLike(ctx, a)
	case "Block":
		return f.onBlock(ctx, a)
	case "Move":
		return f.onMove(ctx, a)
	case "QuoteRequest":
		return f.onQuoteRequest(ctx, a)
	case "Flag":
		return f.onFlag(ctx, a)
	}
	return ignore("unsupported activity type")
}

// ignored marks an activity that was applied without storing anything, and says why; the job
// is done, and the reason goes to the log, so that nothing a peer sent vanishes unexplained.
type ignored struct{ reason string }

func (i *ignored) Error() string { return i.reason }

func ignore(format string, args ...any) error { return &ignored{fmt.Sprintf(format, args...)} }

// activity is an inbound activity being applied.
type activity struct {
	id, typ string
	raw     map[string]any
	actor   *store.Account
}

// object returns the activity's object as a map, or only its id when it is a bare IRI.
func (a *activity) object() (obj map[string]any, id string) {
	switch o := a.raw["object"].(type) {
	case string:
		return nil, o
	case map[string]any:
		id, _ := o["id"].(string)
		return o, id
	case []any:
		if len(o) > 0 {
			inner := &activity{raw: map[string]any{"object": o[0]}}
			return inner.object()
		}
	}
	return nil, ""
}

func (f *Federator) onCreate(ctx context.Context, a *activity) error {
	obj, id := a.object()
	if id == "" {
		return reject("Create without object")
	}
	if HostOf(id) != HostOf(a.actor.URI) {
		return reject("Create of %s by %s: object not on the actor's host", id, a.actor.URI)
	}
	if obj == nil {
		fetched, err := f.fetchObject(ctx, id)
		if err != nil {
			return err
		}
		obj = fetched
	}
	if !noteTypes[rawID(obj["type"])] {
		return ignore("unsupported object type %q", rawID(obj["type"]))
	}
	if attributed := rawID(obj["attributedTo"]); attributed != a.actor.URI {
		return reject("Create by %s of a note attributed to %s", a.actor.URI, attributed)
	}
	if vote, err := f.onVote(ctx, a, obj); vote {
		return err
	}
	st, created, err := f.storeNewNote(ctx, obj, 0)
	if err != nil {
		return err
	}
	// A note stored before (fetched with its thread, say) may still be addressed to a group
	// that has not announced it.
	if f.communities != nil {
		if err := f.communities.StatusArrived(ctx, st, addressedActors(a.raw, obj)); err != nil {
			return err
		}
	}
	if !created {
		return ignore("%s is already stored", id)
	}
	return nil
}

func (f *Federator) onUpdate(ctx context.Context, a *activity) error {
	obj, id := a.object()
	if obj == nil {
		return reject("Update without an embedded object")
	}
	if HostOf(id) != HostOf(a.actor.URI) {
		return reject("Update of %s by %s: object not on the actor's host", id, a.actor.URI)
	}
	typ := rawID(obj["type"])
	switch {
	case id == a.actor.URI:
		t, err := ParseMap(ctx, obj)
		if err != nil {
			return reject("unparseable actor: %v", err)
		}
		acct, err := PersonToAccount(f.site, t, obj)
		if err != nil {
			return reject("bad actor: %v", err)
		}
		_, err = f.store.PutRemoteAccount(ctx, acct)
		return err
	case noteTypes[typ]:
		if rawID(obj["attributedTo"]) != a.actor.URI {
			return reject("Update by %s of a note attributed to someone else", a.actor.URI)
		}
		existing, err := f.store.StatusByURI(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			// An Update that overtook its Create: store the note as it is now.
			_, err = f.storeNote(ctx, obj, 0)
			return err
		}
		if err != nil {
			return err
		}
		t, err := ParseMap(ctx, obj)
		if err != nil {
			return reject("unparseable note: %v", err)
		}
		pn, err := NoteToStatus(f.site, t, obj)
		if err != nil {
			return reject("bad note: %v", err)
		}
		// A quote's authorization and a policy change come without an edit (quote_inbox.go).
		if existing, err = f.updateQuote(ctx, existing, pn, a.actor); err != nil {
			return err
		}
		// A poll's new counts come without an edit too (poll.go).
		pollChanged, err := f.applyRemotePoll(ctx, existing, pn)
		if err != nil {
			return err
		}
		if unchangedText(existing, pn) && !pollChanged {
			if pn.Poll != nil {
				return nil
			}
			return ignore("Update of %s changes nothing shown as an edit", id)
		}
		updated := *existing
		updated.HasPoll = pn.Poll != nil
		updated.Content, updated.SpoilerText, updated.Sensitive = pn.Content, pn.Summary, pn.Sensitive
		updated.Tags, updated.Language = pn.Hashtags, pn.Language
		updated.EditedAt = pn.Updated
		if updated.EditedAt.IsZero() {
			updated.EditedAt = time.Now().UTC()
		}
		if !updated.EditedAt.After(existing.EditedAt) {
			return ignore("an older or repeated edit of %s", id)
		}
		// As a local edit: history, and an update notification for local accounts that boosted it.
		return f.store.EditStatus(ctx, &updated, existing)
	}
	return ignore("unsupported object type %q", typ)
}

func (f *Federator) onDelete(ctx context.Context, a *activity) error {
	_, id := a.object()
	if id == "" || HostOf(id) != HostOf(a.actor.URI) {
		return reject("Delete of %q by %s: object not on the actor's host", id, a.actor.URI)
	}
	if err := f.store.AddTombstone(ctx, id); err != nil {
		return err
	}
	if id == a.actor.URI {
		return f.deleteRemoteAccount(ctx, a.actor)
	}
	if handled, err := f.onStampDeleted(ctx, a, id); handled {
		return err
	}
	st, err := f.store.StatusByURI(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		// Never seen, or a Delete that overtook its Create: the tombstone stops it.
		return ignore("Delete of %s, which is not stored here (tombstone kept)", id)
	}
	if err != nil {
		return err
	}
	if st.AccountID != a.actor.ID {
		return reject("Delete of %s by someone else than its author", id)
	}
	return f.store.DeleteStatus(ctx, st)
}

// deleteRemoteAccount removes a deleted remote actor's statuses and marks the account gone.
func (f *Federator) deleteRemoteAccount(ctx context.Context, acct *store.Account) error {
	for {
		entries, err := f.store.AccountStatuses(ctx, acct.ID, store.Page{Limit: 200})
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			break
		}
		sts, err := f.store.Statuses(ctx, store.Members(entries))
		if err != nil {
			return err
		}
		for _, st := range sts {
			if err := f.store.DeleteStatus(ctx, st); err != nil {
				return err
			}
		}
		if len(sts) == 0 {
			break
		}
	}
	acct.Suspended = true
	return f.store.UpdateAccount(ctx, acct)
}

func (f *Federator) onFollow(ctx context.Context, a *activity) error {
	_, targetURI := a.object()
	target, err := f.store.AccountByURI(ctx, targetURI)
	if err != nil || !target.Local() {
		return reject("Follow of %s, not a local account", targetURI)
	}
	rel, err := f.store.Relationships(ctx, target.ID, []string{a.actor.ID})
	if err != nil {
		return err
	}
	if rel[0].Blocking {
		return f.sendReject(ctx, a.actor, target, a.id)
	}
	if err := f.store.SetFollowActivity(ctx, a.actor.ID, target.ID, a.id); err != nil {
		return err
	}
	if target.Locked && !rel[0].Following {
		return f.store.RequestFollow(ctx, a.actor, target, store.FollowOptions{ShowReblogs: true})
	}
	if err := f.store.Follow(ctx, a.actor, target, store.FollowOptions{ShowReblogs: true}); err != nil {
		return err
	}
	return f.sendAccept(ctx, a.actor, target, a.id)
}

// followOf finds the local follower and remote target that an Accept or Reject refers to.
func (f *Federator) followOf(ctx context.Context, a *activity) (follower, target *store.Account, err error) {
	obj, id := a.object()
	var followerID string
	if fid, tid, err := f.store.FollowByActivity(ctx, id); err == nil && tid == a.actor.ID {
		followerID = fid
	} else if obj != nil && rawID(obj["object"]) == a.actor.URI {
		local, err := f.store.AccountByURI(ctx, rawID(obj["actor"]))
		if err == nil && local.Local() {
			followerID = local.ID
		}
	}
	if followerID == "" {
		if f.answersInteraction(a) {
			return nil, nil, ignore("%s of a like, reply or boost of ours (an interaction policy's approval): nothing to record", a.typ)
		}
		return nil, nil, reject("%s of an unknown follow", a.typ)
	}
	follower, err = f.store.Account(ctx, followerID)
	return follower, a.actor, err
}

// answersInteraction reports whether an Accept or Reject that names no follow answers a like,
// reply or boost we sent instead. GoToSocial approves interactions under its interaction
// policies (docs/federation/interaction_policy.md) with an Accept whose object is the
// interaction's id, ours, often with the interacted post as target; a followers-only post's
// likes and replies are always answered so. We do not enforce those policies (nor does
// Mastodon), so the answer changes nothing here, but it is no bad data to dead-letter.
func (f *Federator) answersInteraction(a *activity) bool {
	obj, id := a.object()
	if !f.isLocalURI(id) {
		return false
	}
	if obj != nil {
		typ := rawID(obj["type"])
		return typ == "Like" || typ == "Announce" || noteTypes[typ]
	}
	return rawID(a.raw["target"]) != "" || strings.Contains(id, "#likes/") || strings.Contains(id, "/statuses/")
}

func (f *Federator) onAccept(ctx context.Context, a *activity) error {
	if handled, err := f.onQuoteAnswer(ctx, a); handled {
		return err
	}
	follower, target, err := f.followOf(ctx, a)
	if err != nil {
		return err
	}
	err = f.store.AcceptFollowRequest(ctx, follower, target)
	if errors.Is(err, store.ErrNotFound) {
		return ignore("no follow request pending: already accepted, or withdrawn meanwhile")
	}
	return err
}

func (f *Federator) onReject(ctx context.Context, a *activity) error {
	if handled, err := f.onQuoteAnswer(ctx, a); handled {
		return err
	}
	follower, target, err := f.followOf(ctx, a)
	if err != nil {
		return err
	}
	return f.store.Unfollow(ctx, follower.ID, target.ID)
}

func (f *Federator) onUndo(ctx context.Context, a *activity) error {
	inner, innerID := a.object()
	if innerID != "" {
		if err := f.store.AddTombstone(ctx, innerID); err != nil {
			return err
		}
	}
	innerType := ""
	if inner != nil {
		innerType = rawID(inner["type"])
		if actor := rawID(inner["actor"]); actor != a.actor.URI {
			return reject("Undo by %s of an activity by %s", a.actor.URI, actor)
		}
	}
	switch innerType {
	case "Follow":
		target, err := f.store.AccountByURI(ctx, rawID(inner["object"]))
		if err != nil {
			return ignore("Undo of a Follow of an unknown account")
		}
		return f.store.Unfollow(ctx, a.actor.ID, target.ID)
	case "Like", "EmojiReact":
		st, err := f.store.StatusByURI(ctx, rawID(inner["object"]))
		if err != nil {
			return ignore("Undo of a %s of an unknown status", innerType)
		}
		return f.store.Unfavourite(ctx, a.actor.ID, st.ID)
	case "Block":
		target, err := f.store.AccountByURI(ctx, rawID(inner["object"]))
		if err != nil {
			return ignore("Undo of a Block of an unknown account")
		}
		return f.store.Unblock(ctx, a.actor.ID, target.ID)
	}
	// A bare id (or an Announce): find what it created.
	if boost, err := f.store.StatusByURI(ctx, innerID); err == nil {
		if boost.AccountID != a.actor.ID || boost.ReblogOfID == "" {
			return reject("Undo of %s by someone else than its author", innerID)
		}
		return f.store.DeleteStatus(ctx, boost)
	}
	if followerID, targetID, err := f.store.FollowByActivity(ctx, innerID); err == nil && followerID == a.actor.ID {
		return f.store.Unfollow(ctx, followerID, targetID)
	}
	return ignore("nothing stored here for %s to undo", innerID)
}

func (f *Federator) onAnnounce(ctx context.Context, a *activity) error {
	obj, objectID := a.object()
	if objectID == "" {
		return reject("Announce without object")
	}
	if obj != nil && groupActivityTypes[rawID(obj["type"])] {
		// A FEP-1b12 group relays its members' activities wrapped so (Lemmy's Announce{Create},
		// a moderator's Announce{Delete}); the group also sends what Mastodon understands,
		// Announce of the object and Undo{Announce}, which is what is applied here.
		return ignore("Announce of a %s activity from group %s", rawID(obj["type"]), a.actor.URI)
	}
	// Never trust an embedded copy: the object comes from our store or its origin.
	st, err := f.store.StatusByURI(ctx, objectID)
	if errors.Is(err, store.ErrNotFound) {
		obj, ferr := f.fetchObject(ctx, objectID)
		if ferr != nil {
			return ferr
		}
		if !noteTypes[rawID(obj["type"])] {
			return ignore("Announce of an unsupported object type %q", rawID(obj["type"]))
		}
		if HostOf(rawID(obj["attributedTo"])) != HostOf(objectID) {
			return reject("announced %s attributed to another host", objectID)
		}
		st, err = f.storeNote(ctx, obj, 0)
	}
	if err != nil {
		return err
	}
	if st.Visibility != store.VisibilityPublic && st.Visibility != store.VisibilityUnlisted {
		return reject("Announce of a non-public status")
	}
	author, err := f.store.Account(ctx, st.AccountID)
	if err != nil {
		return err
	}
	published, _ := time.Parse(time.RFC3339, rawID(a.raw["published"]))
	if published.IsZero() || published.After(time.Now()) {
		published = time.Now().UTC()
	}
	vis := VisibilityOf(rawIDs(a.raw["to"]), rawIDs(a.raw["cc"]), a.actor.FollowersURI)
	if vis == store.VisibilityDirect || vis == store.VisibilityPrivate {
		vis = store.VisibilityUnlisted
	}
	_, err = f.store.ReblogAs(ctx, a.actor, st, store.Status{URI: a.id, CreatedAt: published, Visibility: vis}, author.Local())
	return err
}

func (f *Federator) onLike(ctx context.Context, a *activity) error {
	_, objectID := a.object()
	st, err := f.store.StatusByURI(ctx, objectID)
	if err != nil {
		return ignore("%s of a status not stored here", a.typ) // it changes nothing here
	}
	if !st.Local {
		// A member department relays its people's favourites of public posts (orgrelay.go);
		// they count in this department's trends, and only the author's department notifies.
		// From anyone else they would only let strangers push posts up the trends.
		if st.Visibility != store.VisibilityPublic {
			return ignore("%s of a non-public status hosted elsewhere", a.typ)
		}
		if member, err := f.isOrgMember(ctx, HostOf(a.actor.URI)); err != nil || !member {
			if err == nil {
				err = ignore("%s of a status hosted elsewhere, from outside the organization", a.typ)
			}
			return err
		}
	}
	return f.store.Favourite(ctx, a.actor.ID, st, st.Local)
}

func (f *Federator) onBlock(ctx context.Context, a *activity) error {
	_, objectID := a.object()
	target, err := f.store.AccountByURI(ctx, objectID)
	if err != nil || !target.Local() {
		return ignore("Block of %s, not a local account", objectID)
	}
	return f.store.Block(ctx, a.actor.ID, target.ID)
}
