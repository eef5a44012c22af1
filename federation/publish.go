package federation

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/go-fed/activity/streams/vocab"

	"watercooler/store"
)

// The methods below turn local actions into activities for remote servers. The server calls
// them after the action is stored; each serializes its activity once and queues one delivery
// per remote inbox.

// publish serializes an activity and queues it for inboxes, signed by signer.
func (f *Federator) publish(ctx context.Context, id string, act vocab.Type, signer *store.Account, inboxes []string) error {
	if len(inboxes) == 0 {
		return nil
	}
	body, err := Serialize(act)
	if err != nil {
		return fmt.Errorf("serialize %s: %w", id, err)
	}
	return f.Deliver(ctx, id, body, signer.ID, inboxes)
}

// note builds the Note of a local status with everything it refers to.
func (f *Federator) note(ctx context.Context, st *store.Status) (vocab.ActivityStreamsNote, *store.Account, []*store.Account, error) {
	author, err := f.store.Account(ctx, st.AccountID)
	if err != nil {
		return nil, nil, nil, err
	}
	mentions, err := f.store.AccountsInOrder(ctx, st.Mentions)
	if err != nil {
		return nil, nil, nil, err
	}
	media, err := f.store.MediaByIDs(ctx, st.MediaIDs)
	if err != nil {
		return nil, nil, nil, err
	}
	nc := NoteContext{Author: author, Mentions: mentions, Tags: st.Tags, InReplyTo: st.InReplyToURI}
	for _, id := range st.MediaIDs {
		if m, ok := media[id]; ok {
			nc.Media = append(nc.Media, m)
		}
	}
	if st.InReplyToID != "" && nc.InReplyTo == "" {
		if parent, err := f.store.Status(ctx, st.InReplyToID); err == nil {
			nc.InReplyTo = parent.URI
		}
	}
	nc.QuoteAuthorization = f.noteQuoteAuthorization(ctx, st)
	n, err := StatusToNote(f.site, st, nc)
	if err == nil {
		n, err = f.withPoll(ctx, st, n) // a Question when it has a poll (poll.go)
	}
	return n, author, mentions, err
}

// departmentOnly reports whether st stays inside this department: a local-only post, or a
// boost of one.
func (f *Federator) departmentOnly(ctx context.Context, st *store.Status) (bool, error) {
	if st.LocalOnly || st.ReblogOfID == "" {
		return st.LocalOnly, nil
	}
	original, err := f.store.Status(ctx, st.ReblogOfID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return original.LocalOnly, nil
}

// audienceInboxes lists where a status goes: remote followers unless it is direct, plus every
// mentioned remote account; nowhere for a department-only status, whatever sends it (create,
// edit, delete, poll counts, quote policy).
func (f *Federator) audienceInboxes(ctx context.Context, st *store.Status, mentions []*store.Account) ([]string, error) {
	if only, err := f.departmentOnly(ctx, st); only || err != nil {
		return nil, err
	}
	var inboxes []string
	if st.Visibility != store.VisibilityDirect {
		followers, err := f.store.RemoteFollowerInboxes(ctx, st.AccountID)
		if err != nil {
			return nil, err
		}
		inboxes = followers
	}
	groups, err := f.threadGroupInboxes(ctx, st)
	if err != nil {
		return nil, err
	}
	inboxes = append(inboxes, groups...)
	return append(inboxes, store.InboxesOf(mentions)...), nil
}

// relayedAudience is audienceInboxes plus, for a public status, the organization's other
// departments (orgrelay.go).
func (f *Federator) relayedAudience(ctx context.Context, st *store.Status, mentions []*store.Account) ([]string, error) {
	inboxes, err := f.audienceInboxes(ctx, st, mentions)
	if err != nil {
		return nil, err
	}
	return f.withOrganization(ctx, st, inboxes)
}

// StatusCreated sends Create{Note} for a new local status.
func (f *Federator) StatusCreated(ctx context.Context, st *store.Status) error {
	n, author, mentions, err := f.note(ctx, st)
	if err != nil {
		return err
	}
	inboxes, err := f.relayedAudience(ctx, st, mentions)
	if err != nil {
		return err
	}
	id := st.URI + "/activity"
	return f.publish(ctx, id, CreateActivity(id, author.URI, n), author, inboxes)
}

// StatusUpdated sends Update{Note} for an edited local status.
func (f *Federator) StatusUpdated(ctx context.Context, st *store.Status) error {
	n, author, mentions, err := f.note(ctx, st)
	if err != nil {
		return err
	}
	inboxes, err := f.relayedAudience(ctx, st, mentions)
	if err != nil {
		return err
	}
	id := st.URI + "#updates/" + strconv.FormatInt(st.EditedAt.Unix(), 10)
	to, cc := noteAudience(n)
	return f.publish(ctx, id, UpdateActivity(id, author.URI, n, to, cc), author, inboxes)
}

// StatusDeleted sends Delete{Tombstone} for a deleted local status, or Undo{Announce} when the
// status was a boost.
func (f *Federator) StatusDeleted(ctx context.Context, st *store.Status) error {
	if err := f.store.AddTombstone(ctx, st.URI); err != nil {
		return err
	}
	author, err := f.store.Account(ctx, st.AccountID)
	if err != nil {
		return err
	}
	mentions, err := f.store.AccountsInOrder(ctx, st.Mentions)
	if err != nil {
		return err
	}
	inboxes, err := f.relayedAudience(ctx, st, mentions)
	if err != nil {
		return err
	}
	if st.ReblogOfID != "" {
		if announce, origAuthor, err := f.boostAnnounce(ctx, st, author, nil); err == nil {
			inboxes = append(inboxes, store.InboxesOf([]*store.Account{origAuthor})...)
			id := st.URI + "#undo"
			return f.publish(ctx, id, UndoActivity(id, author.URI, announce), author, inboxes)
		}
	}
	id := st.URI + "#delete"
	return f.publish(ctx, id, DeleteActivity(id, author.URI, st.URI, []string{PublicAudience}, []string{author.FollowersURI}), author, inboxes)
}

// Reblogged sends Announce for a local boost, to the booster's followers and the original author.
func (f *Federator) Reblogged(ctx context.Context, boost, original *store.Status) error {
	if original.LocalOnly {
		return nil
	}
	booster, err := f.store.Account(ctx, boost.AccountID)
	if err != nil {
		return err
	}
	announce, origAuthor, err := f.boostAnnounce(ctx, boost, booster, original)
	if err != nil {
		return err
	}
	inboxes, err := f.store.RemoteFollowerInboxes(ctx, booster.ID)
	if err != nil {
		return err
	}
	inboxes = append(inboxes, store.InboxesOf([]*store.Account{origAuthor})...)
	if inboxes, err = f.withOrganization(ctx, boost, inboxes); err != nil {
		return err
	}
	return f.publish(ctx, boost.URI, announce, booster, inboxes)
}

// boostAnnounce builds the Announce of a local boost the way Reblogged sent it, so the outbox
// and a later Undo show the same activity; it also returns the boosted status's author. A nil
// original is loaded.
func (f *Federator) boostAnnounce(ctx context.Context, boost *store.Status, booster *store.Account, original *store.Status) (vocab.ActivityStreamsAnnounce, *store.Account, error) {
	if original == nil {
		var err error
		if original, err = f.store.Status(ctx, boost.ReblogOfID); err != nil {
			return nil, nil, err
		}
	}
	origAuthor, err := f.store.Account(ctx, original.AccountID)
	if err != nil {
		return nil, nil, err
	}
	announce := AnnounceActivity(boost.URI, booster.URI, original.URI, boost.CreatedAt,
		[]string{PublicAudience}, []string{origAuthor.URI, booster.FollowersURI})
	return announce, origAuthor, nil
}

// Favourited sends Like to the author of a remote status.
func (f *Federator) Favourited(ctx context.Context, liker *store.Account, st *store.Status) error {
	return f.like(ctx, liker, st, false)
}

// Unfavourited sends Undo{Like} to the author of a remote status.
func (f *Federator) Unfavourited(ctx context.Context, liker *store.Account, st *store.Status) error {
	return f.like(ctx, liker, st, true)
}

// like sends Like or Undo{Like} to a remote author and, for a public status, to the other
// departments, whose trends count favourites from across the organization.
func (f *Federator) like(ctx context.Context, liker *store.Account, st *store.Status, undo bool) error {
	var inboxes []string
	if !st.Local {
		author, err := f.store.Account(ctx, st.AccountID)
		if err != nil {
			return err
		}
		inboxes = store.InboxesOf([]*store.Account{author})
	}
	inboxes, err := f.withOrganization(ctx, st, inboxes)
	if err != nil {
		return err
	}
	likeID := liker.URI + "#likes/" + st.ID
	var act vocab.Type = LikeActivity(likeID, liker.URI, st.URI)
	id := likeID
	if undo {
		id = likeID + "/undo/" + strconv.FormatInt(time.Now().UnixMilli(), 10)
		act = UndoActivity(id, liker.URI, act)
	}
	return f.publish(ctx, id, act, liker, inboxes)
}

// FollowRequested sends Follow to a remote account; the follow completes when it accepts.
func (f *Federator) FollowRequested(ctx context.Context, follower, target *store.Account) error {
	if target.Local() {
		return nil
	}
	id := follower.URI + "#follows/" + target.ID + "/" + store.RandomToken(6)
	if err := f.store.SetFollowActivity(ctx, follower.ID, target.ID, id); err != nil {
		return err
	}
	return f.publish(ctx, id, FollowActivity(id, follower.URI, target.URI), follower, []string{target.InboxURI})
}

// Unfollowed sends Undo{Follow} to a remote account.
func (f *Federator) Unfollowed(ctx context.Context, follower, target *store.Account) error {
	if target.Local() {
		return nil
	}
	followID, err := f.store.FollowActivity(ctx, follower.ID, target.ID)
	if err != nil {
		return err
	}
	if followID == "" {
		followID = follower.URI + "#follows/" + target.ID
	}
	id := followID + "/undo"
	undo := UndoActivity(id, follower.URI, FollowActivity(followID, follower.URI, target.URI))
	return f.publish(ctx, id, undo, follower, []string{target.InboxURI})
}

// FollowAccepted sends Accept{Follow} to a remote follower of a local account.
func (f *Federator) FollowAccepted(ctx context.Context, follower, target *store.Account) error {
	if follower.Local() {
		return nil
	}
	followID, err := f.store.FollowActivity(ctx, follower.ID, target.ID)
	if err != nil {
		return err
	}
	return f.sendAccept(ctx, follower, target, followID)
}

// FollowRejected sends Reject{Follow} to a remote account whose request a local account declined.
func (f *Federator) FollowRejected(ctx context.Context, follower, target *store.Account) error {
	if follower.Local() {
		return nil
	}
	followID, err := f.store.FollowActivity(ctx, follower.ID, target.ID)
	if err != nil {
		return err
	}
	return f.sendReject(ctx, follower, target, followID)
}

func (f *Federator) sendAccept(ctx context.Context, follower, target *store.Account, followID string) error {
	id := target.URI + "#accepts/follows/" + follower.ID + "/" + store.RandomToken(4)
	accept := AcceptActivity(id, target.URI, FollowActivity(followID, follower.URI, target.URI))
	return f.publish(ctx, id, accept, target, []string{follower.InboxURI})
}

func (f *Federator) sendReject(ctx context.Context, follower, target *store.Account, followID string) error {
	id := target.URI + "#rejects/follows/" + follower.ID + "/" + store.RandomToken(4)
	rej := RejectActivity(id, target.URI, FollowActivity(followID, follower.URI, target.URI))
	return f.publish(ctx, id, rej, target, []string{follower.InboxURI})
}

// Blocked sends Block to a remote account; Unblocked sends Undo{Block}.
func (f *Federator) Blocked(ctx context.Context, blocker, target *store.Account) error {
	return f.block(ctx, blocker, target, false)
}

// Unblocked sends Undo{Block} to a remote account.
func (f *Federator) Unblocked(ctx context.Context, blocker, target *store.Account) error {
	return f.block(ctx, blocker, target, true)
}

func (f *Federator) block(ctx context.Context, blocker, target *store.Account, undo bool) error {
	if target.Local() {
		return nil
	}
	blockID := blocker.URI + "#blocks/" + target.ID
	var act vocab.Type = BlockActivity(blockID, blocker.URI, target.URI)
	id := blockID
	if undo {
		id = blockID + "/undo/" + strconv.FormatInt(time.Now().UnixMilli(), 10)
		act = UndoActivity(id, blocker.URI, act)
	}
	return f.publish(ctx, id, act, blocker, []string{target.InboxURI})
}

// ProfileUpdated sends Update{Person} to the servers of an account's followers.
func (f *Federator) ProfileUpdated(ctx context.Context, acct *store.Account) error {
	person, err := AccountToPerson(f.site, acct)
	if err != nil {
		return err
	}
	inboxes, err := f.store.RemoteFollowerInboxes(ctx, acct.ID)
	if err != nil {
		return err
	}
	id := acct.URI + "#updates/" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	return f.publish(ctx, id, UpdatePersonActivity(id, person), acct, inboxes)
}
