package store

import (
	"context"
	"strings"
)

// DieBeforeFanOut makes s a writer that is killed right after each write's MULTI, before it
// applies the fan-out job the MULTI recorded.
func DieBeforeFanOut(s *Store) { s.leaveFanOutJobs = true }

// FanOutGrace is how long a recorded fan-out job is left to its writer.
const FanOutGrace = fanOutGrace

// ClaimStatusID claims st's id as a writer on a cluster does before the department's MULTI;
// alone it is what a writer killed between the two leaves.
func ClaimStatusID(s *Store, st *Status) error {
	_, err := s.claimStatusID(context.Background(), st, nextCandidateID)
	return err
}

// StatusURIIndex is the key of the shard of the index of statuses by URI that holds uri.
func StatusURIIndex(s *Store, uri string) string { return s.k.statusByURI(uri) }

// DropRemoteAccountIndexes deletes the shards of the indexes of remote accounts that hold a.
func DropRemoteAccountIndexes(s *Store, a *Account) error {
	acct := strings.ToLower(a.Acct())
	for _, key := range []string{s.k.remoteAccountsByURI(uriShard(a.URI)), s.k.remoteAccountsByAcct(uriShard(acct)), s.k.remoteAccountSearch(acct)} {
		if err := s.rdb.Del(context.Background(), key).Err(); err != nil {
			return err
		}
	}
	return nil
}

// ReserveMediaAndDie reserves sch's uploads as ScheduleStatus does first, and stops there, as a
// writer killed before storing the post.
func ReserveMediaAndDie(s *Store, sch *ScheduledStatus) error {
	return s.tryReserveMedia(context.Background(), sch)
}
