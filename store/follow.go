package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// homeBackfill is how many recent statuses of a newly followed account enter the home timeline.
const homeBackfill = 40

// Follow makes follower follow target at once, with the per-follow options; following twice
// only updates the options. Local targets are notified of a new follower.
func (s *Store) Follow(ctx context.Context, follower, target *Account, opts FollowOptions) error {
	now := time.Now().UTC()
	id := s.NewID(now)
	backfill, err := s.recentVisibleToFollowers(ctx, target.ID, opts)
	if err != nil {
		return err
	}
	var first *redis.FloatCmd
	wrote, err := s.changeOnce(ctx, s.k.following(follower.ID),
		func(tx *redis.Tx) (bool, error) { return zHas(ctx, tx, s.k.following(follower.ID), target.ID) },
		func(p redis.Pipeliner) func() (int64, error) {
			p.ZRem(ctx, s.k.requested(follower.ID), target.ID)
			p.HSet(ctx, s.k.followOptions(follower.ID), target.ID, mustJSON(opts))
			added := queueCountedSet(ctx, p, s.k.following(follower.ID), s.k.followCounts(follower.ID), "following", target.ID, idScore(id), false)
			first = p.ZScore(ctx, s.k.following(follower.ID), target.ID)
			return added.Int64
		},
		func(p redis.Pipeliner, changed bool) {
			// A follow made again (its first writer may have died before its other side was
			// written) keeps its first place among the target's followers.
			score := idScore(id)
			if !changed {
				score = first.Val()
			}
			spread := spreadOf(p)
			spread.link(edge{To: target.ID, Set: followersEdges, From: follower.ID, Score: score},
				edge{To: target.ID, Set: followRequestsEdges, From: follower.ID, Leave: true})
			linkFollowOptions(spread, follower.ID, target.ID, opts)
			if follower.Local() {
				spread.link(edge{To: target.ID, Set: localFollowersEdges, From: follower.ID, Score: score})
				spread.move(timelineMove{Homes: []string{follower.ID}, Add: backfill})
			}
			if changed && target.Local() {
				s.addNotification(ctx, p, &Notification{Type: NotifyFollow, AccountID: target.ID, FromAccountID: follower.ID, CreatedAt: now})
			}
		})
	if err != nil {
		return fmt.Errorf("follow %s → %s: %w", follower.ID, target.ID, err)
	}
	if wrote {
		return nil
	}
	return s.SetFollowOptions(ctx, follower.ID, target.ID, opts)
}

// recentVisibleToFollowers lists the ids of an account's latest statuses that a new follower
// sees in their home timeline: not direct messages, and only what the follow's options let in.
func (s *Store) recentVisibleToFollowers(ctx context.Context, accountID string, opts FollowOptions) ([]string, error) {
	ids, err := s.rdb.ZRevRange(ctx, s.k.accountStatuses(accountID), 0, homeBackfill-1).Result()
	if err != nil {
		return nil, fmt.Errorf("recent statuses of %s: %w", accountID, err)
	}
	sts, err := s.Statuses(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(sts))
	for _, st := range sts {
		if st.Visibility != VisibilityDirect && (st.InReplyToAccountID == "" || st.InReplyToAccountID == accountID) && homeAccepts(opts, st) {
			out = append(out, st.ID)
		}
	}
	return out, nil
}

// SetFollowOptions stores show_reblogs, notify and languages of an existing follow.
func (s *Store) SetFollowOptions(ctx context.Context, followerID, targetID string, opts FollowOptions) error {
	err := s.spreadAfter(ctx, func(p redis.Pipeliner) func() (int64, error) {
		return p.HSet(ctx, s.k.followOptions(followerID), targetID, mustJSON(opts)).Result
	}, func(p redis.Pipeliner, _ bool) {
		linkFollowOptions(spreadOf(p), followerID, targetID, opts)
	})
	if err != nil {
		return fmt.Errorf("follow options: %w", err)
	}
	return nil
}

// linkFollowOptions queues the other side of a follow's options: whether the target's posts
// notify the follower, and what of them the follower's home leaves out (home_filters.go).
func linkFollowOptions(spread *spreadTx, followerID, targetID string, opts FollowOptions) {
	filter, filtered := followFilterOf(opts)
	spread.link(edge{To: targetID, Set: followFiltersEdges, From: followerID, Value: filter, Leave: !filtered},
		edge{To: targetID, Set: notifySubscribersEdges, From: followerID, Leave: !opts.Notify})
}

// RequestFollow records a follow request to a locked (or remote) account, notifying a local
// target. Requesting twice changes nothing.
func (s *Store) RequestFollow(ctx context.Context, follower, target *Account, opts FollowOptions) error {
	now := time.Now().UTC()
	id := s.NewID(now)
	_, err := s.changeOnce(ctx, s.k.requested(follower.ID),
		func(tx *redis.Tx) (bool, error) { return zHas(ctx, tx, s.k.requested(follower.ID), target.ID) },
		func(p redis.Pipeliner) func() (int64, error) {
			p.HSet(ctx, s.k.followOptions(follower.ID), target.ID, mustJSON(opts))
			return p.ZAddNX(ctx, s.k.requested(follower.ID), redis.Z{Score: idScore(id), Member: target.ID}).Result
		},
		func(p redis.Pipeliner, changed bool) {
			spreadOf(p).link(edge{To: target.ID, Set: followRequestsEdges, From: follower.ID, Score: idScore(id)})
			if changed && target.Local() {
				s.addNotification(ctx, p, &Notification{Type: NotifyFollowRequest, AccountID: target.ID, FromAccountID: follower.ID, CreatedAt: now})
			}
		})
	if err != nil {
		return fmt.Errorf("follow request %s → %s: %w", follower.ID, target.ID, err)
	}
	return nil
}

// AcceptFollowRequest turns a pending request into a follow; without a request it is
// ErrNotFound.
func (s *Store) AcceptFollowRequest(ctx context.Context, follower, target *Account) error {
	pending, err := zHas(ctx, s.rdb, s.k.followRequests(target.ID), follower.ID)
	if err != nil {
		return err
	}
	if !pending {
		return fmt.Errorf("follow request from %s: %w", follower.ID, ErrNotFound)
	}
	opts := FollowOptions{ShowReblogs: true}
	if raw, err := s.rdb.HGet(ctx, s.k.followOptions(follower.ID), target.ID).Result(); err == nil {
		_ = unmarshalString(raw, &opts)
	}
	return s.Follow(ctx, follower, target, opts)
}

// RejectFollowRequest drops a pending request (or withdraws it, from the follower's side).
func (s *Store) RejectFollowRequest(ctx context.Context, followerID, targetID string) error {
	err := s.spreadAfter(ctx, func(p redis.Pipeliner) func() (int64, error) {
		return p.ZRem(ctx, s.k.requested(followerID), targetID).Result
	}, func(p redis.Pipeliner, _ bool) {
		spreadOf(p).link(edge{To: targetID, Set: followRequestsEdges, From: followerID, Leave: true})
	})
	if err != nil {
		return fmt.Errorf("reject follow request: %w", err)
	}
	return nil
}

// Unfollow ends a follow (or withdraws a request), takes the target's statuses out of the
// follower's home and list timelines and the target out of the follower's lists: a list shows
// what the follow let in, and a followers-only post must not outlive the follow there either.
func (s *Store) Unfollow(ctx context.Context, followerID, targetID string) error {
	if s.cluster {
		// changeOnce always writes on a cluster. Without a follow, nor one half undone by a
		// writer that died (its follower still among the target's followers), there is nothing
		// to write: Block unfollows both ways, mostly people who do not follow.
		p := s.rdb.Pipeline()
		follows := p.ZScore(ctx, s.k.following(followerID), targetID)
		followed := p.ZScore(ctx, s.k.followers(targetID), followerID)
		if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("unfollow: %w", err)
		}
		if follows.Err() != nil && followed.Err() != nil {
			return s.withdrawRequest(ctx, followerID, targetID)
		}
	}
	recent, err := s.rdb.ZRevRange(ctx, s.k.accountStatuses(targetID), 0, HomeTimelineLength-1).Result()
	if err != nil {
		return fmt.Errorf("unfollow: %w", err)
	}
	lists, err := s.rdb.SMembers(ctx, s.k.accountLists(followerID)).Result()
	if err != nil {
		return fmt.Errorf("unfollow: %w", err)
	}
	// The target leaves the follower's lists before the follow ends, so unfollowing again
	// completes an unfollow whose writer died between the two.
	if err := s.leaveLists(ctx, lists, targetID); err != nil {
		return fmt.Errorf("unfollow: %w", err)
	}
	_, err = s.changeOnce(ctx, s.k.following(followerID),
		func(tx *redis.Tx) (bool, error) {
			has, err := zHas(ctx, tx, s.k.following(followerID), targetID)
			return !has, err
		},
		func(p redis.Pipeliner) func() (int64, error) {
			return queueCountedSet(ctx, p, s.k.following(followerID), s.k.followCounts(followerID), "following", targetID, 0, true).Int64
		},
		func(p redis.Pipeliner, _ bool) {
			spread := spreadOf(p)
			for _, set := range []edgeSet{followersEdges, localFollowersEdges, notifySubscribersEdges, followFiltersEdges} {
				spread.link(edge{To: targetID, Set: set, From: followerID, Leave: true})
			}
			spread.move(timelineMove{Homes: []string{followerID}, Lists: lists, Remove: recent})
		})
	if err != nil {
		return fmt.Errorf("unfollow %s → %s: %w", followerID, targetID, err)
	}
	return s.withdrawRequest(ctx, followerID, targetID)
}

// leaveLists takes accountID out of those of lists it is in.
func (s *Store) leaveLists(ctx context.Context, lists []string, accountID string) error {
	if len(lists) == 0 {
		return nil
	}
	p := s.rdb.Pipeline()
	in := make([]*redis.BoolCmd, len(lists))
	for i, list := range lists {
		in[i] = p.SIsMember(ctx, s.k.listMembers(list), accountID)
	}
	if _, err := p.Exec(ctx); err != nil {
		return err
	}
	for i, list := range lists {
		if in[i].Val() {
			if err := s.changeListings(ctx, list, []string{accountID}, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// withdrawRequest drops followerID's request to follow targetID, if there is one: a request is
// rare beside a follow, and withdrawing one that is not there would cost a write.
func (s *Store) withdrawRequest(ctx context.Context, followerID, targetID string) error {
	if requested, err := zHas(ctx, s.rdb, s.k.requested(followerID), targetID); err != nil || !requested {
		return err
	}
	return s.RejectFollowRequest(ctx, followerID, targetID)
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Block makes blocker block target, ending follows and requests both ways.
func (s *Store) Block(ctx context.Context, blockerID, targetID string) error {
	for _, pair := range [][2]string{{blockerID, targetID}, {targetID, blockerID}} {
		if err := s.Unfollow(ctx, pair[0], pair[1]); err != nil {
			return err
		}
	}
	id := s.NewID(time.Now())
	err := s.spreadAfter(ctx, func(p redis.Pipeliner) func() (int64, error) {
		return p.ZAddNX(ctx, s.k.blocks(blockerID), redis.Z{Score: idScore(id), Member: targetID}).Result
	}, func(p redis.Pipeliner, _ bool) {
		spreadOf(p).link(edge{To: targetID, Set: blockedByEdges, From: blockerID, Score: idScore(id)})
	})
	if err != nil {
		return fmt.Errorf("block: %w", err)
	}
	return nil
}

// Unblock lifts a block.
func (s *Store) Unblock(ctx context.Context, blockerID, targetID string) error {
	err := s.spreadAfter(ctx, func(p redis.Pipeliner) func() (int64, error) {
		return p.ZRem(ctx, s.k.blocks(blockerID), targetID).Result
	}, func(p redis.Pipeliner, _ bool) {
		spreadOf(p).link(edge{To: targetID, Set: blockedByEdges, From: blockerID, Leave: true})
	})
	if err != nil {
		return fmt.Errorf("unblock: %w", err)
	}
	return nil
}

// Mute hides target's statuses (and, with notifications, their notifications) from muter.
func (s *Store) Mute(ctx context.Context, muterID, targetID string, notifications bool) error {
	id := s.NewID(time.Now())
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAddNX(ctx, s.k.mutes(muterID), redis.Z{Score: idScore(id), Member: targetID})
		if notifications {
			p.SAdd(ctx, s.k.mutedNotifications(muterID), targetID)
		} else {
			p.SRem(ctx, s.k.mutedNotifications(muterID), targetID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mute: %w", err)
	}
	return nil
}

// Unmute lifts a mute.
func (s *Store) Unmute(ctx context.Context, muterID, targetID string) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, s.k.mutes(muterID), targetID)
		p.SRem(ctx, s.k.mutedNotifications(muterID), targetID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("unmute: %w", err)
	}
	return nil
}

// Relationships reads, in one round trip, how accountID relates to each of targetIDs.
func (s *Store) Relationships(ctx context.Context, accountID string, targetIDs []string) ([]Relationship, error) {
	type cmds struct {
		following, followedBy, blocking, blockedBy, muting, requested, requestedBy *redis.FloatCmd
		mutingNotifications                                                        *redis.BoolCmd
		opts, note                                                                 *redis.StringCmd
		endorsed                                                                   *redis.FloatCmd
	}
	p := s.rdb.Pipeline()
	all := make([]cmds, len(targetIDs))
	for i, t := range targetIDs {
		all[i] = cmds{
			following:           p.ZScore(ctx, s.k.following(accountID), t),
			followedBy:          p.ZScore(ctx, s.k.followers(accountID), t),
			blocking:            p.ZScore(ctx, s.k.blocks(accountID), t),
			blockedBy:           p.ZScore(ctx, s.k.blockedBy(accountID), t),
			muting:              p.ZScore(ctx, s.k.mutes(accountID), t),
			requested:           p.ZScore(ctx, s.k.requested(accountID), t),
			requestedBy:         p.ZScore(ctx, s.k.followRequests(accountID), t),
			mutingNotifications: p.SIsMember(ctx, s.k.mutedNotifications(accountID), t),
			opts:                p.HGet(ctx, s.k.followOptions(accountID), t),
			note:                p.HGet(ctx, s.k.accountNotes(accountID), t),
			endorsed:            p.ZScore(ctx, s.k.endorsements(accountID), t),
		}
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("relationships: %w", err)
	}
	out := make([]Relationship, len(targetIDs))
	for i, t := range targetIDs {
		c := all[i]
		r := Relationship{
			ID: t, Following: c.following.Err() == nil, FollowedBy: c.followedBy.Err() == nil,
			Blocking: c.blocking.Err() == nil, BlockedBy: c.blockedBy.Err() == nil, Muting: c.muting.Err() == nil,
			MutingNotifications: c.mutingNotifications.Val(), Requested: c.requested.Err() == nil,
			RequestedBy: c.requestedBy.Err() == nil, Endorsed: c.endorsed.Err() == nil, Note: c.note.Val(),
		}
		if r.Following || r.Requested {
			opts := FollowOptions{ShowReblogs: true}
			if raw := c.opts.Val(); raw != "" {
				_ = unmarshalString(raw, &opts)
			}
			r.ShowingReblogs, r.Notifying, r.Languages = opts.ShowReblogs, opts.Notify, opts.Languages
		}
		out[i] = r
	}
	return out, nil
}

// IsBlockedBy reports whether targetID blocks accountID; the blockers of an account are kept
// in the read cache (see queueHidden), so that every status an account is shown, which must
// not be one of an author who blocks it, costs no round trip for it.
func (s *Store) IsBlockedBy(ctx context.Context, accountID, targetID string) (bool, error) {
	if s.cache == nil { // no list to keep (a cluster, the demo's Redis): ask for the one member
		blocked, err := zHas(ctx, s.rdb, s.k.blockedBy(accountID), targetID)
		if err != nil {
			return false, fmt.Errorf("blocked by: %w", err)
		}
		return blocked, nil
	}
	p := &lazyPipeline{rdb: s.rdb}
	blockers := queueMembers(ctx, s, p, s.k.blockedBy(accountID))
	if err := p.exec(ctx); err != nil {
		return false, fmt.Errorf("blocked by: %w", err)
	}
	ids, err := blockers()
	return slices.Contains(ids, targetID), err
}

// Follows reports whether followerID follows targetID.
func (s *Store) Follows(ctx context.Context, followerID, targetID string) (bool, error) {
	return zHas(ctx, s.rdb, s.k.following(followerID), targetID)
}

// Followers pages through an account's followers.
func (s *Store) Followers(ctx context.Context, accountID string, p Page) ([]Entry, error) {
	return pageZSet(ctx, s.rdb, s.k.followers(accountID), p)
}

// Following pages through the accounts an account follows.
func (s *Store) Following(ctx context.Context, accountID string, p Page) ([]Entry, error) {
	return pageZSet(ctx, s.rdb, s.k.following(accountID), p)
}

// FollowRequests pages through the requests waiting for an account's approval.
func (s *Store) FollowRequests(ctx context.Context, accountID string, p Page) ([]Entry, error) {
	return pageZSet(ctx, s.rdb, s.k.followRequests(accountID), p)
}

// FollowRequestCount counts the requests waiting for an account's approval.
func (s *Store) FollowRequestCount(ctx context.Context, accountID string) (int64, error) {
	return cachedOr(s, s.k.followRequests(accountID), func() (int64, error) {
		return s.rdb.ZCard(ctx, s.k.followRequests(accountID)).Result()
	})
}

// Blocks pages through the accounts an account blocks.
func (s *Store) Blocks(ctx context.Context, accountID string, p Page) ([]Entry, error) {
	return pageZSet(ctx, s.rdb, s.k.blocks(accountID), p)
}

// Mutes pages through the accounts an account mutes.
func (s *Store) Mutes(ctx context.Context, accountID string, p Page) ([]Entry, error) {
	return pageZSet(ctx, s.rdb, s.k.mutes(accountID), p)
}

// Hidden lists the accounts whose statuses accountID must not see: blocked, blocking, or muted;
// and, under HiddenDomainKey, the domains accountID blocks (see StatusHidden).
func (s *Store) Hidden(ctx context.Context, accountID string) (map[string]bool, error) {
	p := &lazyPipeline{rdb: s.rdb}
	hidden := s.queueHidden(ctx, p, accountID)
	if err := p.exec(ctx); err != nil {
		return nil, fmt.Errorf("hidden accounts: %w", err)
	}
	return hidden(), nil
}

// MutedNotificationsFrom lists the accounts whose notifications accountID muted.
func (s *Store) MutedNotificationsFrom(ctx context.Context, accountID string) (map[string]bool, error) {
	ids, err := s.rdb.SMembers(ctx, s.k.mutedNotifications(accountID)).Result()
	if err != nil {
		return nil, fmt.Errorf("muted notifications: %w", err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}
