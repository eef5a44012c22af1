package store

import "sync"

// memo remembers, per record id, the JSON a record was last decoded from and the result, so that
// a record read again unchanged is not decoded again. Decoding statuses and accounts with
// encoding/json was a third of the home timeline's CPU, and a page repeats the same records for
// every reader who loads it. Redis stays the source of truth: every read still fetches the JSON,
// and a record that changed in any way is a miss. The decoded records are shared by every
// caller that gets them from a memo, so those callers must treat them as read-only.
type memo[T any] struct {
	entries *bounded[memoEntry[T]]
	// dec decodes the stored form of record id; nil means plain JSON.
	dec func(id, raw string, rec *T) error
}

type memoEntry[T any] struct {
	raw string
	rec *T
}

func newMemo[T any](max int, dec func(id, raw string, rec *T) error) memo[T] {
	return memo[T]{entries: newBounded[memoEntry[T]](max), dec: dec}
}

// decode returns the record raw encodes, decoding it only when id was last seen with other JSON.
func (m memo[T]) decode(id, raw string) (*T, error) {
	if e, ok := m.entries.get(id); ok && e.raw == raw {
		return e.rec, nil
	}
	rec := new(T)
	decode := m.dec
	if decode == nil {
		decode = func(_, raw string, rec *T) error { return unmarshalString(raw, rec) }
	}
	if err := decode(id, raw, rec); err != nil {
		return nil, err
	}
	m.entries.put(id, memoEntry[T]{raw: raw, rec: rec})
	return rec, nil
}

// bounded is a map safe for concurrent use that holds at most max entries.
type bounded[V any] struct {
	max int

	mu sync.Mutex
	m  map[string]V
}

func newBounded[V any](max int) *bounded[V] { return &bounded[V]{max: max, m: make(map[string]V)} }

func (b *bounded[V]) get(k string) (V, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[k]
	return v, ok
}

func (b *bounded[V]) put(k string, v V) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.m[k]; !ok && len(b.m) >= b.max {
		// Full: drop about a tenth, arbitrary entries (map order is random); what is still in
		// use comes back on its next read.
		drop := b.max/10 + 1
		for old := range b.m {
			delete(b.m, old)
			if drop--; drop == 0 {
				break
			}
		}
	}
	b.m[k] = v
}

func (b *bounded[V]) remove(k string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, k)
}
