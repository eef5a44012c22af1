package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxPins is how many statuses an account may pin, as in Mastodon.
const maxPins = 5

// ErrPinLimit is returned when pinning more than maxPins statuses.
var ErrPinLimit = fmt.Errorf("you have already pinned the maximum number of posts: %w", ErrForbidden)

// Favourite records accountID's favourite of st and notifies a local author once.
func (s *Store) Favourite(ctx context.Context, accountID string, st *Status, authorIsLocal bool) error {
	now := time.Now().UTC()
	id := s.NewID(now)
	var first *redis.FloatCmd
	_, err := s.changeOnce(ctx, s.k.favourites(accountID),
		func(tx *redis.Tx) (bool, error) { return zHas(ctx, tx, s.k.favourites(accountID), st.ID) },
		func(p redis.Pipeliner) func() (int64, error) {
			added := p.ZAddNX(ctx, s.k.favourites(accountID), redis.Z{Score: idScore(id), Member: st.ID})
			first = p.ZScore(ctx, s.k.favourites(accountID), st.ID)
			return added.Result
		},
		func(p redis.Pipeliner, changed bool) {
			// A favourite made again (its first writer may have died before counting it) keeps
			// its first place among the status's favourites.
			score := idScore(id)
			if !changed {
				score = first.Val()
			}
			spreadOf(p).enterScored(st.ID, favouritesSet, accountID, score)
			if changed && authorIsLocal && st.AccountID != accountID {
				s.addNotification(ctx, p, &Notification{Type: NotifyFavourite, AccountID: st.AccountID, FromAccountID: accountID, StatusID: st.ID, CreatedAt: now})
			}
		})
	if err != nil {
		return fmt.Errorf("favourite %s: %w", st.ID, err)
	}
	return nil
}

// Unfavourite removes accountID's favourite of statusID, if any.
func (s *Store) Unfavourite(ctx context.Context, accountID, statusID string) error {
	// Leaving a status's favourites is idempotent: no check whether the favourite was there.
	err := s.spreadAfter(ctx, func(p redis.Pipeliner) func() (int64, error) {
		return p.ZRem(ctx, s.k.favourites(accountID), statusID).Result
	}, func(p redis.Pipeliner, _ bool) {
		spreadOf(p).leave(statusID, favouritesSet, accountID)
	})
	if err != nil {
		return fmt.Errorf("unfavourite %s: %w", statusID, err)
	}
	return nil
}

// MayReblog applies Mastodon's ReblogPolicy for every way a boost is made (a person's, a
// community's): never a direct status, a private one only by its author, and nothing by an
// author the booster blocks.
func (s *Store) MayReblog(ctx context.Context, booster *Account, st *Status) (bool, error) {
	if st.Visibility == VisibilityDirect || (st.Visibility == VisibilityPrivate && st.AccountID != booster.ID) {
		return false, nil
	}
	if st.AccountID == booster.ID {
		return true, nil
	}
	rels, err := s.Relationships(ctx, booster.ID, []string{st.AccountID})
	if err != nil {
		return false, err
	}
	return !rels[0].Blocking, nil
}

// Reblog boosts st for accountID with the given visibility, once; it returns the boost. A local
// author is notified.
func (s *Store) Reblog(ctx context.Context, booster *Account, st *Status, visibility, baseURL string, authorIsLocal bool) (*Status, error) {
	return s.ReblogAs(ctx, booster, st, Status{Visibility: visibility}, authorIsLocal)
}

// ReblogAs boosts st with the boost's URI, time and visibility taken from boost when set, as a
// remote Announce carries them; it is idempotent per booster and status.
func (s *Store) ReblogAs(ctx context.Context, booster *Account, st *Status, boost Status, authorIsLocal bool) (*Status, error) {
	if existing, err := s.ReblogOf(ctx, booster.ID, st.ID); err == nil {
		return existing, nil
	}
	now := time.Now().UTC()
	if boost.CreatedAt.IsZero() {
		boost.CreatedAt = now
	}
	nextID := func(string) string { return s.NewID(boost.CreatedAt) }
	boost.ID = nextID("")
	if !booster.Local() && boost.URI != "" {
		boost.ID, nextID = RemoteID(boost.CreatedAt, boost.URI), nextCandidateID
	}
	boost.AccountID, boost.Local, boost.ReblogOfID = booster.ID, booster.Local(), st.ID
	derivedURI := boost.URI == ""
	targets, err := s.fanOutTargets(ctx, &boost)
	if err != nil {
		return nil, err
	}
	withID := func(id string) string {
		if derivedURI {
			boost.URI = booster.URI + "/statuses/" + id + "/activity"
		}
		return id
	}
	withID(boost.ID)
	write := func(p redis.Pipeliner) {
		s.writeStatus(ctx, p, &boost, targets)
		if authorIsLocal && st.AccountID != booster.ID {
			s.addNotification(ctx, p, &Notification{Type: NotifyReblog, AccountID: st.AccountID, FromAccountID: booster.ID, StatusID: st.ID, CreatedAt: now})
		}
	}
	if s.cluster {
		same, err := s.claimStatusID(ctx, &boost, func(id string) string { return withID(nextID(id)) })
		if err != nil || same != nil {
			return same, err
		}
		return s.claimBoost(ctx, &boost, write)
	}
	// As in writeWithFreeID, the boost moves to the next free id when another status holds its
	// id, checked atomically with the write.
	for probe := 0; probe < maxIDProbes; probe++ {
		idTaken := false
		wrote, err := s.applyOnceWatching(ctx, []string{s.k.boosts(booster.ID), s.k.status(boost.ID)},
			func(tx *redis.Tx) (bool, error) {
				if has, err := tx.HExists(ctx, s.k.boosts(booster.ID), st.ID).Result(); err != nil || has {
					return has, err
				}
				n, err := tx.Exists(ctx, s.k.status(boost.ID)).Result()
				idTaken = n > 0
				return idTaken, err
			}, write)
		switch {
		case err != nil:
			return nil, fmt.Errorf("reblog %s: %w", st.ID, err)
		case idTaken:
			boost.ID = withID(nextID(boost.ID))
		case !wrote:
			return s.ReblogOf(ctx, booster.ID, st.ID)
		default:
			return &boost, nil
		}
	}
	return nil, fmt.Errorf("reblog %s: no free id after %d tries", st.ID, maxIDProbes)
}

// claimBoostLua claims a boost of a post for its booster unless they boosted it already, and
// gives the id of the boost that holds the claim: KEYS the booster's boosts, ARGV the post's id
// and the boost's.
const claimBoostLua = `redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HGET', KEYS[1], ARGV[1])`

// claimBoost writes boost, whose record claimStatusID has set, on a cluster: its claim in the
// booster's slot first, which keeps a post to one boost by each account as the department's
// MULTI cannot see that slot, then write through spreadMulti. A boost of the same post claimed
// meanwhile wins, and this one's record goes; a remote boost delivered again, whose first
// writer died before its MULTI (claimStatusID tells), finds its own claim and is written.
func (s *Store) claimBoost(ctx context.Context, boost *Status, write func(p redis.Pipeliner)) (*Status, error) {
	holder, err := s.rdb.Eval(ctx, claimBoostLua, []string{s.k.boosts(boost.AccountID)}, boost.ReblogOfID, boost.ID).Text()
	if err != nil {
		return nil, fmt.Errorf("reblog %s: %w", boost.ReblogOfID, err)
	}
	if holder != boost.ID {
		if err := s.rdb.Del(ctx, s.k.status(boost.ID)).Err(); err != nil {
			return nil, fmt.Errorf("reblog %s: %w", boost.ReblogOfID, err)
		}
		return s.Status(ctx, holder)
	}
	err = s.spreadMulti(ctx, s.rdb, func(p redis.Pipeliner) error {
		write(p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reblog %s: %w", boost.ReblogOfID, err)
	}
	return boost, nil
}

// Bookmark adds a status to accountID's bookmarks.
func (s *Store) Bookmark(ctx context.Context, accountID, statusID string) error {
	id := s.NewID(time.Now())
	return s.rdb.ZAddNX(ctx, s.k.bookmarks(accountID), redis.Z{Score: idScore(id), Member: statusID}).Err()
}

// Unbookmark removes a status from accountID's bookmarks.
func (s *Store) Unbookmark(ctx context.Context, accountID, statusID string) error {
	return s.rdb.ZRem(ctx, s.k.bookmarks(accountID), statusID).Err()
}

// Pin features one of accountID's statuses on their profile.
func (s *Store) Pin(ctx context.Context, accountID, statusID string) error {
	id := s.NewID(time.Now())
	full := false
	_, err := s.applyOnce(ctx, s.k.accountPins(accountID),
		func(tx *redis.Tx) (bool, error) {
			if has, err := zHas(ctx, tx, s.k.accountPins(accountID), statusID); has || err != nil {
				return has, err
			}
			n, err := tx.ZCard(ctx, s.k.accountPins(accountID)).Result()
			full = n >= maxPins
			return full, err
		},
		func(p redis.Pipeliner) {
			p.ZAdd(ctx, s.k.accountPins(accountID), redis.Z{Score: idScore(id), Member: statusID})
		})
	if err != nil {
		return fmt.Errorf("pin %s: %w", statusID, err)
	}
	if full {
		return ErrPinLimit
	}
	return nil
}

// Unpin removes a status from accountID's pinned statuses.
func (s *Store) Unpin(ctx context.Context, accountID, statusID string) error {
	return s.rdb.ZRem(ctx, s.k.accountPins(accountID), statusID).Err()
}

// Pinned lists an account's pinned status ids, most recently pinned first.
func (s *Store) Pinned(ctx context.Context, accountID string) ([]string, error) {
	return s.rdb.ZRevRange(ctx, s.k.accountPins(accountID), 0, -1).Result()
}

// Favourites pages through the statuses accountID favourited; entry ids are favourite ids.
func (s *Store) Favourites(ctx context.Context, accountID string, p Page) ([]Entry, error) {
	return pageZSet(ctx, s.rdb, s.k.favourites(accountID), p)
}

// Bookmarks pages through accountID's bookmarks; entry ids are bookmark ids.
func (s *Store) Bookmarks(ctx context.Context, accountID string, p Page) ([]Entry, error) {
	return pageZSet(ctx, s.rdb, s.k.bookmarks(accountID), p)
}

// FavouritedBy pages through the accounts that favourited a status.
func (s *Store) FavouritedBy(ctx context.Context, statusID string, p Page) ([]Entry, error) {
	return pageZSet(ctx, s.rdb, s.k.statusFavourites(statusID), p)
}

// RebloggedBy pages through the accounts that boosted a status.
func (s *Store) RebloggedBy(ctx context.Context, statusID string, p Page) ([]Entry, error) {
	return pageZSet(ctx, s.rdb, s.k.statusReblogs(statusID), p)
}
