package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// NewLocalAccount is what CreateLocalAccount needs; URIs are derived from BaseURL.
type NewLocalAccount struct {
	Username      string
	Email         string
	PasswordHash  string
	DisplayName   string
	BaseURL       string
	PublicKeyPEM  string
	PrivateKeyPEM string
	Locked        bool
	Bot           bool
	Group         bool
	Admin         bool
	CreatedAt     time.Time
}

// claimAccountScript claims the username and e-mail of a new local account and writes its
// indexes in one step, so two sign-ups racing for one name cannot both win.
var claimAccountScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'username' end
if ARGV[2] ~= '' and redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 'email' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) end
redis.call('HSET', KEYS[3], ARGV[4], ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[3])
redis.call('ZADD', KEYS[5], 0, ARGV[1] .. '\0' .. ARGV[3])
return 'ok'
`)

// CreateLocalAccount creates a local account and its sign-in record. A taken username or e-mail
// is ErrConflict.
func (s *Store) CreateLocalAccount(ctx context.Context, n NewLocalAccount) (*Account, error) {
	if n.CreatedAt.IsZero() {
		n.CreatedAt = time.Now().UTC()
	}
	id := s.NewID(n.CreatedAt)
	base := strings.TrimSuffix(n.BaseURL, "/")
	uri := base + "/users/" + n.Username
	a := &Account{
		ID: id, Username: n.Username, DisplayName: n.DisplayName, CreatedAt: n.CreatedAt,
		Locked: n.Locked, Bot: n.Bot, Group: n.Group, Discoverable: true,
		URI: uri, URL: base + "/@" + n.Username,
		InboxURI: uri + "/inbox", SharedInboxURI: base + "/inbox", OutboxURI: uri + "/outbox",
		FollowersURI: uri + "/followers", FollowingURI: uri + "/following", FeaturedURI: uri + "/collections/featured",
		PublicKeyPEM: n.PublicKeyPEM, PublicKeyID: uri + "#main-key",
	}
	u := &User{AccountID: id, Email: n.Email, PasswordHash: n.PasswordHash, CreatedAt: n.CreatedAt, Admin: n.Admin,
		Preferences: Preferences{PostingVisibility: VisibilityPublic, ExpandMedia: "default"}}
	// The records go first, into the account's slot. Their id is new, so nothing reads them
	// before the indexes name it: a sign-up that loses the name drops them, and one whose
	// process dies between the steps leaves them where nothing reaches them.
	records := []string{s.k.account(id), s.k.user(id), s.k.privateKey(id)}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, records[0], mustJSON(a), 0)
		p.Set(ctx, records[1], mustJSON(u), 0)
		if n.PrivateKeyPEM != "" {
			p.Set(ctx, records[2], n.PrivateKeyPEM, 0)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create account %s: %w", n.Username, err)
	}
	res, err := claimAccountScript.Run(ctx, s.rdb,
		[]string{s.k.accountByAcct(), s.k.userByEmail(), s.k.accountByURI(), s.k.localAccounts(), s.k.accountSearch()},
		strings.ToLower(n.Username), strings.ToLower(n.Email), id, uri, idScore(id)).Text()
	if err != nil {
		return nil, fmt.Errorf("create account %s: %w", n.Username, err)
	}
	if res != "ok" {
		if err := s.rdb.Del(ctx, records...).Err(); err != nil {
			return nil, fmt.Errorf("create account %s: %w", n.Username, err)
		}
	}
	switch res {
	case "username":
		return nil, fmt.Errorf("username %q is taken: %w", n.Username, ErrConflict)
	case "email":
		return nil, fmt.Errorf("e-mail %q is taken: %w", n.Email, ErrConflict)
	}
	if err := s.indexAccountTerms(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// PutRemoteAccount inserts or refreshes a remote account, keyed by its actor URI, and returns it
// with its local id.
func (s *Store) PutRemoteAccount(ctx context.Context, a *Account) (*Account, error) {
	if a.Domain == "" || a.URI == "" {
		return nil, errors.New("remote account needs a domain and a URI")
	}
	existing, err := s.AccountByURI(ctx, a.URI)
	switch {
	case err == nil:
		a.ID, a.CreatedAt = existing.ID, existing.CreatedAt
	case errors.Is(err, ErrNotFound):
		if a.CreatedAt.IsZero() {
			a.CreatedAt = time.Now().UTC()
		}
		a.ID = s.NewID(a.CreatedAt)
	default:
		return nil, err
	}
	acct := strings.ToLower(a.Acct())
	// The record goes first, into the account's slot, so the indexes never name an account
	// that cannot be read.
	if err := s.rdb.Set(ctx, s.k.account(a.ID), mustJSON(a), 0).Err(); err != nil {
		return nil, fmt.Errorf("put remote account %s: %w", a.URI, err)
	}
	// The URI's entry goes first: an account found by its URI is put again whole at its next
	// refresh, where one found only by name would be made again under a new id.
	err = s.inOrder(ctx, func(p redis.Pipeliner) {
		p.HSet(ctx, s.k.remoteAccountsByURI(uriShard(a.URI)), a.URI, a.ID)
	}, func(p redis.Pipeliner) {
		p.HSet(ctx, s.k.remoteAccountsByAcct(uriShard(acct)), acct, a.ID)
		p.ZAdd(ctx, s.k.remoteAccountSearch(acct), redis.Z{Member: acct + "\x00" + a.ID})
		p.SAdd(ctx, s.k.knownDomains(), strings.ToLower(a.Domain))
	})
	if err != nil {
		return nil, fmt.Errorf("put remote account %s: %w", a.URI, err)
	}
	if err := s.indexAccountTerms(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// Account reads one account.
func (s *Store) Account(ctx context.Context, id string) (*Account, error) {
	a, err := cachedOr(s, s.k.account(id), func() (*Account, error) {
		var a Account
		return &a, s.getJSON(ctx, s.k.account(id), &a)
	})
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", id, err)
	}
	return a.clone(), nil
}

// Accounts reads many accounts in one round trip, keyed by id; unknown ids are absent.
func (s *Store) Accounts(ctx context.Context, ids []string) (map[string]*Account, error) {
	p := &lazyPipeline{rdb: s.rdb}
	accounts := queueCached(ctx, s, p, s.accountMemo.decode, ids, s.k.accountByID())
	if err := p.exec(ctx); err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	shared, err := accounts()
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	out := make(map[string]*Account, len(shared))
	for id, a := range shared {
		out[id] = a.clone()
	}
	return out, nil
}

// AccountsInOrder reads accounts and returns them in the order of ids, skipping unknown ones.
func (s *Store) AccountsInOrder(ctx context.Context, ids []string) ([]*Account, error) {
	m, err := s.Accounts(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*Account, 0, len(ids))
	for _, id := range ids {
		if a, ok := m[id]; ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// AccountByAcct finds an account by "user" (local) or "user@domain"; the local domain is
// accepted as an alias for local accounts.
func (s *Store) AccountByAcct(ctx context.Context, acct string) (*Account, error) {
	acct = strings.ToLower(strings.TrimPrefix(acct, "@"))
	if user, domain, ok := strings.Cut(acct, "@"); ok && strings.EqualFold(domain, s.domain) {
		acct = user
	}
	index := s.k.accountByAcct()
	if strings.Contains(acct, "@") {
		index = s.k.remoteAccountsByAcct(uriShard(acct))
	}
	id, err := s.rdb.HGet(ctx, index, acct).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("account %s: %w", acct, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", acct, err)
	}
	return s.Account(ctx, id)
}

// AccountByURI finds an account by its ActivityPub actor id. It asks the local and the remote
// index at once: which one holds a URI is not told by its host alone (a department renamed, an
// address the operator proxies).
func (s *Store) AccountByURI(ctx context.Context, uri string) (*Account, error) {
	p := s.rdb.Pipeline()
	remote, local := p.HGet(ctx, s.k.remoteAccountsByURI(uriShard(uri)), uri), p.HGet(ctx, s.k.accountByURI(), uri)
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("account %s: %w", uri, err)
	}
	id := cmp.Or(remote.Val(), local.Val())
	if id == "" {
		return nil, fmt.Errorf("account %s: %w", uri, ErrNotFound)
	}
	return s.Account(ctx, id)
}

// UpdateAccount saves a changed account record.
func (s *Store) UpdateAccount(ctx context.Context, a *Account) error {
	if err := s.rdb.SetXX(ctx, s.k.account(a.ID), mustJSON(a), 0).Err(); err != nil {
		return fmt.Errorf("update account %s: %w", a.ID, err)
	}
	return s.indexAccountTerms(ctx, a)
}

// SearchAccounts finds accounts whose acct starts with query (case-insensitive), then, for a
// query that names no host, accounts found by the words of their names, bios and fields
// (SearchAccountTerms).
func (s *Store) SearchAccounts(ctx context.Context, query string, limit int) ([]*Account, error) {
	prefix := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(query, "@")))
	if prefix == "" {
		return nil, nil
	}
	var members []string
	if !strings.ContainsAny(prefix, " \t\n") {
		// Local and remote accounts merged in the order of their names, as one sorted set
		// gave them when both were in it.
		p := s.rdb.Pipeline()
		by := &redis.ZRangeBy{Min: "[" + prefix, Max: "[" + prefix + "\xff", Count: int64(limit)}
		local, remote := p.ZRangeByLex(ctx, s.k.accountSearch(), by), p.ZRangeByLex(ctx, s.k.remoteAccountSearch(prefix), by)
		if _, err := p.Exec(ctx); err != nil {
			return nil, fmt.Errorf("search accounts: %w", err)
		}
		members = append(local.Val(), remote.Val()...)
		slices.Sort(members)
		members = members[:min(len(members), limit)]
	}
	ids := make([]string, 0, len(members))
	for _, m := range members {
		if _, id, ok := strings.Cut(m, "\x00"); ok {
			ids = append(ids, id)
		}
	}
	found, err := s.AccountsInOrder(ctx, ids)
	if err != nil || len(found) >= limit || strings.Contains(prefix, "@") {
		return found, err
	}
	byWords, err := s.SearchAccountTerms(ctx, prefix, limit)
	if err != nil {
		return nil, err
	}
	for _, a := range byWords {
		if len(found) < limit && !slices.ContainsFunc(found, func(f *Account) bool { return f.ID == a.ID }) {
			found = append(found, a)
		}
	}
	return found, nil
}

// LocalAccounts lists local accounts, oldest first.
func (s *Store) LocalAccounts(ctx context.Context) ([]*Account, error) {
	ids, err := s.rdb.ZRange(ctx, s.k.localAccounts(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("local accounts: %w", err)
	}
	return s.AccountsInOrder(ctx, ids)
}

// User reads a local account's sign-in record.
func (s *Store) User(ctx context.Context, accountID string) (*User, error) {
	u, err := cachedOr(s, s.k.user(accountID), func() (User, error) {
		var u User
		return u, s.getJSON(ctx, s.k.user(accountID), &u)
	})
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", accountID, err)
	}
	return &u, nil
}

// UserByLogin finds a local user by e-mail or username.
func (s *Store) UserByLogin(ctx context.Context, login string) (*User, error) {
	login = strings.ToLower(strings.TrimSpace(login))
	id, err := s.rdb.HGet(ctx, s.k.userByEmail(), login).Result()
	if errors.Is(err, redis.Nil) {
		a, aerr := s.AccountByAcct(ctx, login)
		if aerr != nil || !a.Local() {
			return nil, fmt.Errorf("user %s: %w", login, ErrNotFound)
		}
		id = a.ID
	} else if err != nil {
		return nil, fmt.Errorf("user %s: %w", login, err)
	}
	return s.User(ctx, id)
}

// UpdateUser saves a changed sign-in record.
func (s *Store) UpdateUser(ctx context.Context, u *User) error {
	if err := s.rdb.SetXX(ctx, s.k.user(u.AccountID), mustJSON(u), 0).Err(); err != nil {
		return fmt.Errorf("update user %s: %w", u.AccountID, err)
	}
	return nil
}

// PrivateKey returns a local account's PEM-encoded signing key.
func (s *Store) PrivateKey(ctx context.Context, accountID string) (string, error) {
	pem, err := s.rdb.Get(ctx, s.k.privateKey(accountID)).Result()
	if errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("key of %s: %w", accountID, ErrNotFound)
	}
	return pem, err
}

// AccountCounts reads the counters of many accounts in one round trip.
func (s *Store) AccountCounts(ctx context.Context, ids []string) (map[string]AccountCounts, error) {
	p := &lazyPipeline{rdb: s.rdb}
	counts := s.queueAccountCounts(ctx, p, ids)
	if err := p.exec(ctx); err != nil {
		return nil, fmt.Errorf("account counts: %w", err)
	}
	return counts(), nil
}

// LocalUsage counts local accounts and their statuses, for NodeInfo and the instance entity.
func (s *Store) LocalUsage(ctx context.Context) (users, statuses int64, err error) {
	ids, err := s.rdb.ZRange(ctx, s.k.localAccounts(), 0, -1).Result()
	if err != nil {
		return 0, 0, fmt.Errorf("local usage: %w", err)
	}
	counts, err := s.AccountCounts(ctx, ids)
	if err != nil {
		return 0, 0, err
	}
	for _, c := range counts {
		statuses += c.Statuses
	}
	return int64(len(ids)), statuses, nil
}
