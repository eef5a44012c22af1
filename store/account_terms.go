package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/redis/go-redis/v9"

	"watercooler/text"
)

// People are found by the words of their names and, when they chose to be discoverable, of their
// bio and profile fields ("Ask me about: Kubernetes"). Each word is a member "word NUL id" of a
// lexicographic sorted set, one for the words of each first letter, each in a slot of its own so
// that on a cluster the index spreads over the masters: a word prefix is one ZRANGEBYLEX in its
// letter's set, never a scan. The account's slot keeps its words, so a profile change removes
// the words it no longer has.
const (
	termMinLen      = 2
	termMaxLen      = 40
	termsPerAccount = 200
	// termMatchesPerWord bounds what one word of a query reads before the words are intersected.
	termMatchesPerWord = 1000
)

// searchWords splits text into lower-case words of letters and digits.
func searchWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// accountTerms are the words a person is found by.
func accountTerms(a *Account) []string {
	sources := []string{a.DisplayName, a.Username}
	if a.Discoverable {
		sources = append(sources, text.PlainText(a.Note))
		for _, f := range a.Fields {
			sources = append(sources, f.Name, text.PlainText(f.Value))
		}
	}
	var out []string
	for _, s := range sources {
		for _, w := range searchWords(s) {
			if n := len([]rune(w)); n >= termMinLen && n <= termMaxLen && !slices.Contains(out, w) {
				out = append(out, w)
			}
		}
	}
	if len(out) > termsPerAccount {
		out = out[:termsPerAccount]
	}
	return out
}

// termShard names the set of the word index that holds the words starting as word does.
func termShard(word string) string {
	for _, r := range word {
		return string(r)
	}
	return ""
}

// oldTerms reads the words an account is indexed under now.
func (s *Store) oldTerms(ctx context.Context, id string) ([]string, error) {
	old, err := s.rdb.Get(ctx, s.k.accountTermWords(id)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("account terms %s: %w", id, err)
	}
	return strings.Fields(old), nil
}

// writeTerms queues on p the replacement of an account's words, old as read by oldTerms. Each
// write is idempotent, and they are in several slots: p is a pipeline, not a transaction.
func (s *Store) writeTerms(ctx context.Context, p redis.Pipeliner, a *Account, old []string) {
	terms := accountTerms(a)
	if a.Suspended {
		terms = nil
	}
	for _, t := range old {
		if !slices.Contains(terms, t) {
			p.ZRem(ctx, s.k.accountTermIndex(t), t+"\x00"+a.ID)
		}
	}
	if len(terms) == 0 {
		p.Del(ctx, s.k.accountTermWords(a.ID))
		return
	}
	byShard := map[string][]redis.Z{}
	for _, t := range terms {
		key := s.k.accountTermIndex(t)
		byShard[key] = append(byShard[key], redis.Z{Member: t + "\x00" + a.ID})
	}
	for key, members := range byShard {
		p.ZAdd(ctx, key, members...)
	}
	p.Set(ctx, s.k.accountTermWords(a.ID), strings.Join(terms, " "), 0)
}

// indexAccountTerms writes, after an account's record (in the account's slot), its words and,
// for a local account, its change in the log other departments' directories read (one script
// in the department's slot). A process killed between the record and these leaves the words
// and the log as they were until the account is written again.
func (s *Store) indexAccountTerms(ctx context.Context, a *Account) error {
	old, err := s.oldTerms(ctx, a.ID)
	if err != nil {
		return err
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		s.writeTerms(ctx, p, a, old)
		s.logDirectoryChange(ctx, p, a)
		return nil
	})
	if err != nil {
		return fmt.Errorf("index account %s: %w", a.ID, err)
	}
	return nil
}

// SearchAccountTerms finds accounts having, for every word of query, a word that starts with it:
// "berg" finds Bob Berglund, "ask kube" someone whose field says "Ask me about: Kubernetes".
// Accounts matching the first word come in the index's order.
func (s *Store) SearchAccountTerms(ctx context.Context, query string, limit int) ([]*Account, error) {
	words := searchWords(query)
	if len(words) == 0 || limit <= 0 {
		return nil, nil
	}
	if len(words) > 8 {
		words = words[:8]
	}
	p := s.rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(words))
	for i, w := range words {
		cmds[i] = p.ZRangeByLex(ctx, s.k.accountTermIndex(w), &redis.ZRangeBy{Min: "[" + w, Max: "[" + w + "\xff", Count: termMatchesPerWord})
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("search account terms: %w", err)
	}
	var ids []string
	for i, cmd := range cmds {
		matched := map[string]bool{}
		for _, m := range cmd.Val() {
			if _, id, ok := strings.Cut(m, "\x00"); ok {
				matched[id] = true
				if i == 0 && !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
		}
		if i > 0 {
			ids = slices.DeleteFunc(ids, func(id string) bool { return !matched[id] })
		}
	}
	if len(ids) > limit {
		ids = ids[:limit]
	}
	return s.AccountsInOrder(ctx, ids)
}

// EnsureAccountTermsIndexed indexes the words of every account once, for data written before
// the word index existed; later writes keep it. Processes starting together may both index,
// which writes the same words.
func (s *Store) EnsureAccountTermsIndexed(ctx context.Context) error {
	done, err := s.rdb.Exists(ctx, s.k.accountTermsIndexed()).Result()
	if err != nil || done == 1 {
		return err
	}
	ids, err := s.knownAccountIDs(ctx)
	if err != nil {
		return fmt.Errorf("index account terms: %w", err)
	}
	for batch := range slices.Chunk(ids, 500) {
		accounts, err := s.AccountsInOrder(ctx, batch)
		if err != nil {
			return err
		}
		for _, a := range accounts {
			if err := s.indexAccountTerms(ctx, a); err != nil {
				return err
			}
		}
	}
	return s.rdb.Set(ctx, s.k.accountTermsIndexed(), "1", 0).Err()
}
