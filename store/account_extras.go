package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// What one person keeps about other accounts besides follows, blocks and mutes: endorsements
// (accounts featured on their profile), private notes, and the domains they block.

// maxEndorsements bounds how many accounts one person features, as Mastodon does.
const maxEndorsements = 50

// ErrEndorseLimit refuses endorsing past maxEndorsements.
var ErrEndorseLimit = fmt.Errorf("you have already endorsed the maximum number of accounts: %w", ErrForbidden)

// Endorse features targetID on accountID's profile; endorsing twice changes nothing.
func (s *Store) Endorse(ctx context.Context, accountID, targetID string) error {
	n, err := s.rdb.ZCard(ctx, s.k.endorsements(accountID)).Result()
	if err != nil {
		return fmt.Errorf("endorse: %w", err)
	}
	if n >= maxEndorsements {
		return ErrEndorseLimit
	}
	z := redis.Z{Score: idScore(s.NewID(time.Now())), Member: targetID}
	if err := s.rdb.ZAddNX(ctx, s.k.endorsements(accountID), z).Err(); err != nil {
		return fmt.Errorf("endorse: %w", err)
	}
	return nil
}

// Unendorse takes targetID off accountID's profile.
func (s *Store) Unendorse(ctx context.Context, accountID, targetID string) error {
	return s.rdb.ZRem(ctx, s.k.endorsements(accountID), targetID).Err()
}

// Endorsements pages through the accounts accountID features, newest endorsement first.
func (s *Store) Endorsements(ctx context.Context, accountID string, p Page) ([]Entry, error) {
	return pageZSet(ctx, s.rdb, s.k.endorsements(accountID), p)
}

// SetAccountNote keeps accountID's private note about targetID; an empty note deletes it.
func (s *Store) SetAccountNote(ctx context.Context, accountID, targetID, note string) error {
	var err error
	if strings.TrimSpace(note) == "" {
		err = s.rdb.HDel(ctx, s.k.accountNotes(accountID), targetID).Err()
	} else {
		err = s.rdb.HSet(ctx, s.k.accountNotes(accountID), targetID, note).Err()
	}
	if err != nil {
		return fmt.Errorf("account note: %w", err)
	}
	return nil
}

// BlockDomainFor hides a whole domain from accountID; see the server's domain block for what
// else it undoes. It reports whether the domain was newly blocked.
func (s *Store) BlockDomainFor(ctx context.Context, accountID, domain string) (bool, error) {
	z := redis.Z{Score: idScore(s.NewID(time.Now())), Member: strings.ToLower(domain)}
	n, err := s.rdb.ZAddNX(ctx, s.k.userDomainBlocks(accountID), z).Result()
	if err != nil {
		return false, fmt.Errorf("block domain: %w", err)
	}
	return n == 1, nil
}

// UnblockDomainFor lifts accountID's block of domain.
func (s *Store) UnblockDomainFor(ctx context.Context, accountID, domain string) error {
	return s.rdb.ZRem(ctx, s.k.userDomainBlocks(accountID), strings.ToLower(domain)).Err()
}

// BlockedDomains pages through the domains accountID blocks, newest first.
func (s *Store) BlockedDomains(ctx context.Context, accountID string, p Page) ([]Entry, error) {
	return pageZSet(ctx, s.rdb, s.k.userDomainBlocks(accountID), p)
}

// BlockedDomainSet reads every domain accountID blocks.
func (s *Store) BlockedDomainSet(ctx context.Context, accountID string) (map[string]bool, error) {
	domains, err := s.rdb.ZRange(ctx, s.k.userDomainBlocks(accountID), 0, -1).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("blocked domains: %w", err)
	}
	out := make(map[string]bool, len(domains))
	for _, d := range domains {
		out[d] = true
	}
	return out, nil
}
