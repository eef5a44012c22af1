package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Each department publishes a change log of its people for the organization's directory: a
// sorted set of local account ids scored by a counter, so a profile change moves the account to
// the end and a reader asking for "what changed since n" gets each changed person once, however
// often they changed. The log is as long as the department has people; nothing needs trimming.
// An epoch names the log, so a department whose Redis was replaced makes its readers start over
// instead of waiting for a counter that went back to zero.

// logDirectoryChange queues on p the move of a local account to the end of the change log (one
// script in the department's slot).
func (s *Store) logDirectoryChange(ctx context.Context, p redis.Pipeliner, a *Account) {
	if !a.Local() {
		return
	}
	p.Eval(ctx, `redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[1]), ARGV[1]) return 1`,
		[]string{s.k.directorySeq(), s.k.directoryChanges()}, a.ID)
}

// DirectoryPage is a piece of the change log: the accounts changed after a sequence number,
// up to Next, which the reader asks from next time.
type DirectoryPage struct {
	Epoch    string
	Accounts []*Account // in the order they changed; the reader decides what each one shows
	Next     int64
	More     bool // the log holds more changes after Next
}

// DirectoryChanges reads up to limit local accounts changed after since in the log named epoch;
// for another epoch (or none) it starts at the beginning.
func (s *Store) DirectoryChanges(ctx context.Context, epoch string, since int64, limit int) (DirectoryPage, error) {
	current, err := s.DirectoryEpoch(ctx)
	if err != nil {
		return DirectoryPage{}, err
	}
	if epoch != current {
		since = 0
	}
	res, err := s.rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
		Key: s.k.directoryChanges(), Start: "(" + strconv.FormatInt(since, 10), Stop: "+inf",
		ByScore: true, Count: int64(limit) + 1,
	}).Result()
	if err != nil {
		return DirectoryPage{}, fmt.Errorf("directory changes: %w", err)
	}
	page := DirectoryPage{Epoch: current, Next: since}
	if len(res) > limit {
		res, page.More = res[:limit], true
	}
	ids := make([]string, len(res))
	for i, z := range res {
		ids[i] = z.Member.(string)
		page.Next = int64(z.Score)
	}
	page.Accounts, err = s.AccountsInOrder(ctx, ids)
	return page, err
}

// DirectoryEpoch names this department's change log, starting one (with every local account
// in it, for people who joined before the log existed) when there is none.
func (s *Store) DirectoryEpoch(ctx context.Context) (string, error) {
	epoch, err := s.rdb.Get(ctx, s.k.directoryEpoch()).Result()
	if err == nil {
		return epoch, nil
	}
	if !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("directory epoch: %w", err)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	ids, err := s.rdb.ZRange(ctx, s.k.localAccounts(), 0, -1).Result()
	if err != nil {
		return "", fmt.Errorf("directory epoch: %w", err)
	}
	// Logging everyone before naming the epoch means a reader never sees the name of a log
	// that lacks someone; processes starting together log the same people twice, harmlessly.
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			s.logDirectoryChange(ctx, p, &Account{ID: id})
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("directory epoch: %w", err)
	}
	if err := s.rdb.SetNX(ctx, s.k.directoryEpoch(), hex.EncodeToString(b), 0).Err(); err != nil {
		return "", fmt.Errorf("directory epoch: %w", err)
	}
	return s.rdb.Get(ctx, s.k.directoryEpoch()).Result()
}

// DirectoryCursor is where this department has read another's change log up to.
func (s *Store) DirectoryCursor(ctx context.Context, host string) (epoch string, since int64, err error) {
	v, err := s.rdb.HGet(ctx, s.k.directoryCursors(), host).Result()
	if errors.Is(err, redis.Nil) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("directory cursor %s: %w", host, err)
	}
	epoch, n, _ := strings.Cut(v, " ")
	since, _ = strconv.ParseInt(n, 10, 64)
	return epoch, since, nil
}

// SetDirectoryCursor records how far another department's change log was read and applied.
func (s *Store) SetDirectoryCursor(ctx context.Context, host, epoch string, since int64) error {
	return s.rdb.HSet(ctx, s.k.directoryCursors(), host, epoch+" "+strconv.FormatInt(since, 10)).Err()
}

// ListInDirectory lists (or, listed false, unlists) another department's person in this
// department's copy of the organization's directory.
func (s *Store) ListInDirectory(ctx context.Context, accountID string, listed bool) error {
	var err error
	if listed {
		err = s.rdb.ZAdd(ctx, s.k.directoryListed(), redis.Z{Score: float64(time.Now().UnixMilli()), Member: accountID}).Err()
	} else {
		err = s.rdb.ZRem(ctx, s.k.directoryListed(), accountID).Err()
	}
	if err != nil {
		return fmt.Errorf("directory listing %s: %w", accountID, err)
	}
	return nil
}

// DirectoryAccounts lists the other departments' people this department's directory shows.
func (s *Store) DirectoryAccounts(ctx context.Context) ([]*Account, error) {
	ids, err := s.rdb.ZRange(ctx, s.k.directoryListed(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	return s.AccountsInOrder(ctx, ids)
}
