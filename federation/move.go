package federation

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"

	"watercooler/store"
)

// MoveActivity builds Move{object: old, target: new} addressed to the old account's followers,
// as Mastodon sends it.
func MoveActivity(id, oldURI, followersURI, targetURI string) vocab.ActivityStreamsMove {
	m := streams.NewActivityStreamsMove()
	setID(m, id)
	setActor(m, oldURI)
	m.SetActivityStreamsObject(objectIRI(oldURI))
	target := streams.NewActivityStreamsTargetProperty()
	target.AppendIRI(iri(targetURI))
	m.SetActivityStreamsTarget(target)
	setAudience(m, []string{followersURI}, nil)
	return m
}

// SetAliases records the accounts a local account was known as (user@host or actor URIs, each
// resolved through WebFinger and the guarded fetcher) and tells its followers' servers, so the
// old accounts may then move here. An empty list removes every alias.
func (f *Federator) SetAliases(ctx context.Context, acct *store.Account, aliases []string) (*store.Account, error) {
	uris := make([]string, 0, len(aliases))
	for _, q := range aliases {
		other, err := f.ResolveAccountQuery(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("alias %s: %w", q, err)
		}
		if other.ID == acct.ID {
			return nil, fmt.Errorf("alias %s: an account cannot be its own alias", q)
		}
		if !slices.Contains(uris, other.URI) {
			uris = append(uris, other.URI)
		}
	}
	acct.AlsoKnownAs = uris
	if err := f.store.UpdateAccount(ctx, acct); err != nil {
		return nil, err
	}
	return acct, f.ProfileUpdated(ctx, acct)
}

// ResolveAccountQuery finds an account by user@host (WebFinger) or by actor URI, fetching it
// through the guarded fetcher when it is not known.
func (f *Federator) ResolveAccountQuery(ctx context.Context, q string) (*store.Account, error) {
	if isHTTPURL(q) {
		return f.resolveAccount(ctx, q, false)
	}
	return f.ResolveAcct(ctx, q)
}

// MoveAccount moves a local account to target (user@host or actor URI), as Mastodon's account
// migration: target must already list old in alsoKnownAs (read fresh from its server), old gets
// movedTo, old's remote followers' servers receive Move, and old's local followers follow target.
func (f *Federator) MoveAccount(ctx context.Context, old *store.Account, targetQuery string) (*store.Account, error) {
	if !old.Local() {
		return nil, fmt.Errorf("move %s: not a local account", old.URI)
	}
	target, err := f.ResolveAccountQuery(ctx, targetQuery)
	if err != nil {
		return nil, fmt.Errorf("move to %s: %w", targetQuery, err)
	}
	if target.ID == old.ID {
		return nil, fmt.Errorf("move to %s: %w", targetQuery, store.ErrMoveNotConfirmed)
	}
	if !target.Local() {
		if target, err = f.resolveAccount(ctx, target.URI, true); err != nil {
			return nil, fmt.Errorf("move to %s: %w", targetQuery, err)
		}
	}
	if !slices.Contains(target.AlsoKnownAs, old.URI) {
		return nil, fmt.Errorf("move to %s: %w", target.URI, store.ErrMoveNotConfirmed)
	}
	old.MovedToURI = target.URI
	if err := f.store.UpdateAccount(ctx, old); err != nil {
		return nil, err
	}
	// Mastodon sends the Update carrying movedTo before the Move, so a server that reads the
	// actor again while processing the Move sees the move.
	if err := f.ProfileUpdated(ctx, old); err != nil {
		return nil, err
	}
	inboxes, err := f.store.RemoteFollowerInboxes(ctx, old.ID)
	if err != nil {
		return nil, err
	}
	id := old.URI + "#moves/" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	if err := f.publish(ctx, id, MoveActivity(id, old.URI, old.FollowersURI, target.URI), old, inboxes); err != nil {
		return nil, err
	}
	return target, f.moveFollowers(ctx, old, target)
}

// onMove accepts an account migration: the old account's local followers follow the new one,
// as Mastodon does, once the new account confirms the move with alsoKnownAs. The Move must be
// signed by the old account itself (process resolved a.actor from the signer).
func (f *Federator) onMove(ctx context.Context, a *activity) error {
	_, objectID := a.object()
	if objectID != a.actor.URI {
		return reject("Move of %s by %s", objectID, a.actor.URI)
	}
	targetURI := rawID(a.raw["target"])
	if !isHTTPURL(targetURI) || targetURI == a.actor.URI {
		return reject("Move of %s to %q", a.actor.URI, targetURI)
	}
	// Read the target fresh: a cached copy may predate (or outlive) its alias.
	raw, err := f.fetchObject(ctx, targetURI)
	if err != nil {
		return err
	}
	target, err := f.storeActor(ctx, raw, targetURI)
	if err != nil {
		return err
	}
	if !slices.Contains(target.AlsoKnownAs, a.actor.URI) {
		return reject("Move of %s to %s not confirmed by the target's alsoKnownAs", a.actor.URI, targetURI)
	}
	old := a.actor
	if old.MovedToURI != target.URI {
		old.MovedToURI = target.URI
		if err := f.store.UpdateAccount(ctx, old); err != nil {
			return err
		}
	}
	return f.moveFollowers(ctx, old, target)
}

// moveFollowers makes every local follower of old follow target instead and tells them with a
// move notification. It is idempotent, so a redelivered Move or a retried job does no harm.
func (f *Federator) moveFollowers(ctx context.Context, old, target *store.Account) error {
	ids, err := f.store.LocalFollowerIDs(ctx, old.ID)
	if err != nil {
		return err
	}
	followers, err := f.store.AccountsInOrder(ctx, ids)
	if err != nil {
		return err
	}
	for _, follower := range followers {
		if follower.ID == target.ID {
			continue
		}
		if err := f.moveFollower(ctx, follower, old, target); err != nil {
			return fmt.Errorf("move follower %s to %s: %w", follower.Acct(), target.URI, err)
		}
	}
	return nil
}

func (f *Federator) moveFollower(ctx context.Context, follower, old, target *store.Account) error {
	rel, err := f.store.Relationships(ctx, follower.ID, []string{target.ID})
	if err != nil {
		return err
	}
	// Mastodon does not make a follower follow an account they block (or that blocks them).
	if !rel[0].Blocking && !rel[0].BlockedBy && !rel[0].Following && !rel[0].Requested {
		opts := store.FollowOptions{ShowReblogs: true}
		switch {
		case !target.Local():
			if err := f.store.RequestFollow(ctx, follower, target, opts); err != nil {
				return err
			}
			if err := f.FollowRequested(ctx, follower, target); err != nil {
				return err
			}
		case target.Locked:
			if err := f.store.RequestFollow(ctx, follower, target, opts); err != nil {
				return err
			}
		default:
			if err := f.store.Follow(ctx, follower, target, opts); err != nil {
				return err
			}
		}
	}
	if err := f.store.Unfollow(ctx, follower.ID, old.ID); err != nil {
		return err
	}
	if err := f.Unfollowed(ctx, follower, old); err != nil {
		return err
	}
	return f.store.Notify(ctx, &store.Notification{
		Type: store.NotifyMove, AccountID: follower.ID,
		FromAccountID: old.ID, CreatedAt: time.Now().UTC(),
	})
}
