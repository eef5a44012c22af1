package federation

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// ErrKeyRefreshLimited is returned when a key is not cached and may not be fetched again yet:
// a peer (or someone forging its keyIds) must not make us fetch on every request.
var ErrKeyRefreshLimited = errors.New("public key fetch rate-limited")

// Refetch limits of a KeyCache.
const (
	// keyRefetchInterval: at most one remote fetch of a given keyId per interval.
	keyRefetchInterval = time.Minute
	// hostRefreshLimit: at most this many forced refreshes per host per keyRefetchInterval.
	hostRefreshLimit = 10
	// keyCacheMaxEntries bounds memory; past it, expired entries go first, then arbitrary ones.
	keyCacheMaxEntries = 10000
)

// KeyCache resolves keyIds to public keys: from memory (for ttl), then from the local store,
// then by fetching the key's document, and verifies that the key belongs to the actor that
// claims it. Remote refetches are rate-limited per keyId and per host. It is safe for concurrent use.
type KeyCache struct {
	fetcher *Fetcher
	local   func(ctx context.Context, keyID string) (owner, pemText string, ok bool)
	ttl     time.Duration
	now     func() time.Time
	group   singleflight.Group

	mu        sync.Mutex
	keys      map[string]cachedKey
	lastFetch map[string]time.Time   // keyId → last remote fetch
	refreshes map[string][]time.Time // host → forced refreshes in the last interval
}

type cachedKey struct {
	owner   string
	key     *rsa.PublicKey
	expires time.Time
}

var _ PublicKeyResolver = (*KeyCache)(nil)

// NewKeyCache builds a KeyCache that fetches with f. local returns the key of an account already
// stored (nil for none); ttl defaults to an hour.
func NewKeyCache(f *Fetcher, local func(ctx context.Context, keyID string) (owner, pemText string, ok bool), ttl time.Duration) *KeyCache {
	if ttl <= 0 {
		ttl = time.Hour
	}
	return &KeyCache{
		fetcher: f, local: local, ttl: ttl, now: time.Now,
		keys: map[string]cachedKey{}, lastFetch: map[string]time.Time{}, refreshes: map[string][]time.Time{},
	}
}

// PublicKey returns the owner and key of keyID. Without refresh it answers from memory or the
// local store when it can. With refresh it fetches the key document again, unless that keyId was
// fetched within the last minute or its host has used up its refreshes; then it returns the key
// it has (the caller's retry with it will fail as before) or ErrKeyRefreshLimited.
func (k *KeyCache) PublicKey(ctx context.Context, keyID string, refresh bool) (string, *rsa.PublicKey, error) {
	if !refresh {
		now := k.now()
		k.mu.Lock()
		cached, have := k.keys[keyID]
		k.mu.Unlock()
		if have && now.Before(cached.expires) {
			return cached.owner, cached.key, nil
		}
		if k.local != nil {
			if owner, pemText, ok := k.local(ctx, keyID); ok {
				if key, err := ParsePublicKey(pemText); err == nil {
					k.store(keyID, owner, key, now)
					return owner, key, nil
				}
			}
		}
	}
	// Concurrent requests signed with the same new key share one fetch; it runs detached from the
	// first caller's context so that caller giving up doesn't fail the others.
	v, err, _ := k.group.Do(keyID, func() (any, error) {
		now := k.now()
		k.mu.Lock()
		cached, have := k.keys[keyID]
		k.mu.Unlock()
		if have && !refresh && now.Before(cached.expires) {
			return cached, nil // a flight that just ended stored it
		}
		if !k.mayFetch(keyID, refresh, now) {
			if have {
				return cached, nil
			}
			return nil, fmt.Errorf("key %s: %w", keyID, ErrKeyRefreshLimited)
		}
		owner, key, err := k.fetch(context.WithoutCancel(ctx), keyID)
		if err != nil {
			if have && !refresh {
				return cached, nil // a stale key beats none while its server is down
			}
			return nil, err
		}
		k.store(keyID, owner, key, now)
		return cachedKey{owner: owner, key: key}, nil
	})
	if err != nil {
		return "", nil, err
	}
	got := v.(cachedKey)
	return got.owner, got.key, nil
}

// mayFetch applies the rate limits and, when the fetch may go ahead, records it.
func (k *KeyCache) mayFetch(keyID string, refresh bool, now time.Time) bool {
	host := keyHost(keyID)
	k.mu.Lock()
	defer k.mu.Unlock()
	if last, ok := k.lastFetch[keyID]; ok && now.Sub(last) < keyRefetchInterval {
		return false
	}
	if refresh {
		recent := k.refreshes[host][:0]
		for _, t := range k.refreshes[host] {
			if now.Sub(t) < keyRefetchInterval {
				recent = append(recent, t)
			}
		}
		if len(recent) >= hostRefreshLimit {
			k.refreshes[host] = recent
			return false
		}
		k.refreshes[host] = append(recent, now)
	}
	if len(k.lastFetch) >= keyCacheMaxEntries {
		for id, t := range k.lastFetch {
			if now.Sub(t) >= keyRefetchInterval {
				delete(k.lastFetch, id)
			}
		}
		for h, ts := range k.refreshes {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= keyRefetchInterval {
				delete(k.refreshes, h)
			}
		}
	}
	k.lastFetch[keyID] = now
	return true
}

func (k *KeyCache) store(keyID, owner string, key *rsa.PublicKey, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.keys[keyID]; !ok && len(k.keys) >= keyCacheMaxEntries {
		for id, c := range k.keys {
			if !now.Before(c.expires) {
				delete(k.keys, id)
			}
		}
		for id := range k.keys {
			if len(k.keys) < keyCacheMaxEntries {
				break
			}
			delete(k.keys, id)
		}
	}
	k.keys[keyID] = cachedKey{owner: owner, key: key, expires: now.Add(k.ttl)}
}

func keyHost(keyID string) string {
	u, err := url.Parse(keyID)
	if err != nil {
		return ""
	}
	return canonicalHost(u)
}

// fetch dereferences keyID (fragment stripped) and proves the key's ownership. Three shapes:
// the actor itself (Mastodon: actor#main-key); an actor stub served at the key's own URL, whose
// id is the actor's (GoToSocial: actor/main-key), so the real actor is fetched by its id; and a
// standalone key object with an owner, whose owner must list the key.
func (k *KeyCache) fetch(ctx context.Context, keyID string) (string, *rsa.PublicKey, error) {
	keyURL, err := parseRemoteURL(keyID)
	if err != nil {
		return "", nil, err
	}
	doc, _, final, err := k.fetcher.getActivity(ctx, keyID, false)
	if err != nil {
		return "", nil, fmt.Errorf("fetch key %s: %w", keyID, err)
	}
	id, _ := doc["id"].(string)
	// A document speaks for itself only when its id is both the key's URL and the URL that
	// actually answered (not a redirect's target).
	selfDescribing := SameDocument(id, keyURL) && SameDocument(id, final)
	if _, isActor := doc["publicKey"]; isActor {
		if !selfDescribing {
			// An actor stub: fetch the actor it names from its own origin.
			if doc, _, err = k.fetcher.GetActivity(ctx, id); err != nil {
				return "", nil, fmt.Errorf("fetch owner of key %s: %w", keyID, err)
			}
		}
		return actorKey(doc, keyID)
	}
	owner, _ := doc["owner"].(string)
	pemText, _ := doc["publicKeyPem"].(string)
	if owner == "" || pemText == "" {
		return "", nil, fmt.Errorf("key %s: document is neither an actor nor a key", keyID)
	}
	if !selfDescribing {
		return "", nil, fmt.Errorf("key %s: document id %q: %w", keyID, id, ErrIDMismatch)
	}
	actor, _, err := k.fetcher.GetActivity(ctx, owner)
	if err != nil {
		return "", nil, fmt.Errorf("fetch owner of key %s: %w", keyID, err)
	}
	actorID, _ := actor["id"].(string)
	if !listsKey(actor["publicKey"], keyID) {
		return "", nil, fmt.Errorf("key %s: owner %s does not list it", keyID, owner)
	}
	key, err := ParsePublicKey(pemText)
	if err != nil {
		return "", nil, fmt.Errorf("key %s: %w", keyID, err)
	}
	return actorID, key, nil
}

// actorKey finds keyID among an actor's publicKey entries (an object or an array of them) and
// checks that its owner is that actor.
func actorKey(actor map[string]any, keyID string) (string, *rsa.PublicKey, error) {
	actorID, _ := actor["id"].(string)
	for _, entry := range asList(actor["publicKey"]) {
		obj, ok := entry.(map[string]any)
		if !ok || obj["id"] != keyID {
			continue
		}
		if owner, _ := obj["owner"].(string); owner != actorID || actorID == "" {
			return "", nil, fmt.Errorf("key %s: owner %q is not the actor %q", keyID, owner, actorID)
		}
		pemText, _ := obj["publicKeyPem"].(string)
		key, err := ParsePublicKey(pemText)
		if err != nil {
			return "", nil, fmt.Errorf("key %s: %w", keyID, err)
		}
		return actorID, key, nil
	}
	return "", nil, fmt.Errorf("key %s: actor %q does not list it", keyID, actorID)
}

// listsKey reports whether a publicKey value names keyID, inline or by reference.
func listsKey(v any, keyID string) bool {
	for _, entry := range asList(v) {
		switch e := entry.(type) {
		case string:
			if e == keyID {
				return true
			}
		case map[string]any:
			if e["id"] == keyID {
				return true
			}
		}
	}
	return false
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}
