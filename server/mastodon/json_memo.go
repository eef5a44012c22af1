package mastodon

import (
	"encoding/json"
	"reflect"
	"sync"

	"watercooler/store"
)

// jsonMemo keeps the JSON of entities by key together with what each was built of (In), and
// encodes again only when what it is asked for was built of something else: nothing is ever
// invalidated, and a reader never gets JSON older than the records it read. Safe for concurrent
// use; at most max entries.
type jsonMemo[In any] struct {
	max  int
	same func(a, b *In) bool

	mu      sync.Mutex
	entries map[string]*memoized[In]
}

type memoized[In any] struct {
	in   In
	json []byte
}

func newJSONMemo[In any](max int, same func(a, b *In) bool) *jsonMemo[In] {
	return &jsonMemo[In]{max: max, same: same, entries: make(map[string]*memoized[In])}
}

// get returns the JSON of key built of in, from the memo or from encode. The JSON is shared:
// never modify it.
func (m *jsonMemo[In]) get(key string, in In, encode func() ([]byte, error)) ([]byte, error) {
	m.mu.Lock()
	e := m.entries[key]
	m.mu.Unlock()
	if e != nil && m.same(&e.in, &in) {
		return e.json, nil
	}
	b, err := encode()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.entries) >= m.max {
		// Full: drop about a tenth, arbitrary entries (map order is random); what is still
		// asked for comes back on its next request.
		drop := m.max/10 + 1
		for k := range m.entries {
			delete(m.entries, k)
			if drop--; drop == 0 {
				break
			}
		}
	}
	m.entries[key] = &memoized[In]{in: in, json: b}
	return b, nil
}

// sameRecord reports whether a and b are the same record, or equal copies of one.
func sameRecord[T any](a, b *T) bool {
	return a == b || (a != nil && b != nil && reflect.DeepEqual(*a, *b))
}

// sameValue is sameRecord for records Go can compare with ==, far cheaper than
// reflect.DeepEqual: comparing a user record that way was 5% of verify_credentials' CPU.
func sameValue[T comparable](a, b *T) bool {
	return a == b || (a != nil && b != nil && *a == *b)
}

// CredentialJSON keeps the JSON of CredentialAccountFrom, which clients ask for at every start
// (verify_credentials), by what it is built of; safe for concurrent use.
type CredentialJSON struct {
	site Site
	memo *jsonMemo[credentialInputs]
}

type credentialInputs struct {
	account        *store.Account
	counts         store.AccountCounts
	user           *store.User
	followRequests int64
}

// CredentialJSONEntries bounds a CredentialJSON: entries are some 1.5 KiB.
const CredentialJSONEntries = 1024

// NewCredentialJSON makes a cache of at most max accounts.
func NewCredentialJSON(site Site, max int) *CredentialJSON {
	return &CredentialJSON{site: site, memo: newJSONMemo(max, func(a, b *credentialInputs) bool {
		return sameRecord(a.account, b.account) && a.counts == b.counts && sameValue(a.user, b.user) && a.followRequests == b.followRequests
	})}
}

// Get returns json.Marshal(CredentialAccountFrom(site, a, counts, u, followRequests)); the JSON
// is shared: never modify it.
func (c *CredentialJSON) Get(a *store.Account, counts store.AccountCounts, u *store.User, followRequests int64) ([]byte, error) {
	in := credentialInputs{account: a, counts: counts, user: u, followRequests: followRequests}
	return c.memo.get(a.ID, in, func() ([]byte, error) {
		return json.Marshal(CredentialAccountFrom(c.site, a, counts, u, followRequests))
	})
}

// AccountJSON keeps the JSON of PublicAccount, which every profile view asks for, by what it
// is built of; safe for concurrent use.
type AccountJSON struct {
	site Site
	memo *jsonMemo[accountInputs]
}

type accountInputs struct {
	account, moved      *store.Account
	counts, movedCounts store.AccountCounts
}

// AccountJSONEntries bounds an AccountJSON: entries are some 1.5 KiB.
const AccountJSONEntries = 4096

// NewAccountJSON makes a cache of at most max accounts.
func NewAccountJSON(site Site, max int) *AccountJSON {
	return &AccountJSON{site: site, memo: newJSONMemo(max, func(a, b *accountInputs) bool {
		return sameRecord(a.account, b.account) && a.counts == b.counts && sameRecord(a.moved, b.moved) && a.movedCounts == b.movedCounts
	})}
}

// Get returns json.Marshal(PublicAccount(site, a, counts, moved, movedCounts)); the JSON is
// shared: never modify it.
func (c *AccountJSON) Get(a *store.Account, counts store.AccountCounts, moved *store.Account, movedCounts store.AccountCounts) ([]byte, error) {
	in := accountInputs{account: a, counts: counts, moved: moved, movedCounts: movedCounts}
	return c.memo.get(a.ID, in, func() ([]byte, error) {
		return json.Marshal(PublicAccount(c.site, a, counts, moved, movedCounts))
	})
}
