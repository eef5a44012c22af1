package federation

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// keyDocServer serves JSON-LD documents set by path and counts requests per path.
type keyDocServer struct {
	*httptest.Server
	mu   sync.Mutex
	docs map[string]any
	hits map[string]int
}

func newKeyDocServer(t testing.TB) *keyDocServer {
	t.Helper()
	s := &keyDocServer{docs: map[string]any{}, hits: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		doc, ok := s.docs[r.URL.Path]
		s.hits[r.URL.Path]++
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		if to, ok := doc.(redirectDoc); ok {
			http.Redirect(w, r, string(to), http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`)
		_ = json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(s.Close)
	return s
}

// redirectDoc, set as a document, redirects to its URL.
type redirectDoc string

func (s *keyDocServer) set(path string, doc any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs[path] = doc
}

func (s *keyDocServer) hitCount(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func (s *keyDocServer) totalHits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, h := range s.hits {
		n += h
	}
	return n
}

func testPublicPEM(key *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// testActorDoc is a Mastodon-shaped actor publishing one key.
func testActorDoc(id, keyID string, key *rsa.PublicKey) map[string]any {
	return map[string]any{
		"@context":  []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
		"id":        id,
		"type":      "Person",
		"inbox":     id + "/inbox",
		"publicKey": map[string]any{"id": keyID, "owner": id, "publicKeyPem": testPublicPEM(key)},
	}
}

// keyCacheClock is a KeyCache clock the test moves by hand.
type keyCacheClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *keyCacheClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *keyCacheClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestKeyCache(t testing.TB, local func(context.Context, string) (string, string, bool)) (*KeyCache, *keyCacheClock) {
	t.Helper()
	clock := &keyCacheClock{t: time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)}
	k := NewKeyCache(NewFetcher(FetchOptions{PeerNetworks: loopbackNets(t)}), local, time.Hour)
	k.now = clock.now
	return k, clock
}

func TestKeyCacheFetchAndCache(t *testing.T) {
	alice := sigTestKey(t, "alice.pem")
	srv := newKeyDocServer(t)
	actor := srv.URL + "/users/alice"
	keyID := actor + "#main-key"
	srv.set("/users/alice", testActorDoc(actor, keyID, &alice.PublicKey))
	k, clock := newTestKeyCache(t, nil)
	ctx := context.Background()

	for i := 0; i < 3; i++ {
		owner, key, err := k.PublicKey(ctx, keyID, false)
		if err != nil || owner != actor || !key.Equal(&alice.PublicKey) {
			t.Fatalf("PublicKey(%s) = %q, %v, want %q and alice's key", keyID, owner, err, actor)
		}
	}
	if n := srv.hitCount("/users/alice"); n != 1 {
		t.Errorf("actor fetched %d times for 3 lookups, want 1", n)
	}

	// A refresh right after a fetch is refused by the per-key limit; it returns the key it has.
	if _, key, err := k.PublicKey(ctx, keyID, true); err != nil || !key.Equal(&alice.PublicKey) {
		t.Errorf("PublicKey(refresh, within a minute) = %v, want the cached key", err)
	}
	if n := srv.hitCount("/users/alice"); n != 1 {
		t.Errorf("actor fetched %d times after an early refresh, want 1", n)
	}

	// After the limit, a refresh fetches again and picks up a rotated key.
	mallory := sigTestKey(t, "mallory.pem")
	srv.set("/users/alice", testActorDoc(actor, keyID, &mallory.PublicKey))
	clock.advance(2 * time.Minute)
	if _, key, err := k.PublicKey(ctx, keyID, true); err != nil || !key.Equal(&mallory.PublicKey) {
		t.Errorf("PublicKey(refresh) = %v, want the rotated key", err)
	}
	if _, key, _ := k.PublicKey(ctx, keyID, false); !key.Equal(&mallory.PublicKey) {
		t.Errorf("PublicKey after refresh returned the old key, want the rotated one")
	}
	if n := srv.hitCount("/users/alice"); n != 2 {
		t.Errorf("actor fetched %d times, want 2", n)
	}

	// The TTL expires: the next lookup fetches again.
	clock.advance(61 * time.Minute)
	if _, _, err := k.PublicKey(ctx, keyID, false); err != nil {
		t.Fatal(err)
	}
	if n := srv.hitCount("/users/alice"); n != 3 {
		t.Errorf("actor fetched %d times after the TTL, want 3", n)
	}
}

func TestKeyCacheHostRefreshLimit(t *testing.T) {
	alice := sigTestKey(t, "alice.pem")
	srv := newKeyDocServer(t)
	const actors = 12
	keyIDs := make([]string, actors)
	for i := range keyIDs {
		actor := fmt.Sprintf("%s/users/u%d", srv.URL, i)
		keyIDs[i] = actor + "#main-key"
		srv.set(fmt.Sprintf("/users/u%d", i), testActorDoc(actor, keyIDs[i], &alice.PublicKey))
	}
	k, clock := newTestKeyCache(t, nil)
	ctx := context.Background()
	for _, id := range keyIDs {
		if _, _, err := k.PublicKey(ctx, id, false); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.totalHits(); n != actors {
		t.Fatalf("first lookups fetched %d times, want %d (first fetches are not refreshes)", n, actors)
	}
	clock.advance(2 * time.Minute)
	for _, id := range keyIDs {
		if _, key, err := k.PublicKey(ctx, id, true); err != nil || key == nil {
			t.Errorf("PublicKey(%s, refresh) = %v, want a key (fresh or cached)", id, err)
		}
	}
	if n := srv.totalHits() - actors; n != hostRefreshLimit {
		t.Errorf("%d refreshes of one host fetched %d times, want %d", actors, n, hostRefreshLimit)
	}
	clock.advance(2 * time.Minute)
	if _, _, err := k.PublicKey(ctx, keyIDs[actors-1], true); err != nil {
		t.Fatal(err)
	}
	if n := srv.totalHits() - actors; n != hostRefreshLimit+1 {
		t.Errorf("refresh after the window fetched %d in all, want %d", n, hostRefreshLimit+1)
	}
}

func TestKeyCacheDocumentShapes(t *testing.T) {
	alice := sigTestKey(t, "alice.pem")
	mallory := sigTestKey(t, "mallory.pem")
	srv := newKeyDocServer(t)
	other := newKeyDocServer(t) // another host
	u := srv.URL

	// Mastodon: the key is a fragment of the actor.
	srv.set("/users/masto", testActorDoc(u+"/users/masto", u+"/users/masto#main-key", &alice.PublicKey))
	// Several keys, as an array.
	multi := testActorDoc(u+"/users/multi", "", &alice.PublicKey)
	multi["publicKey"] = []any{
		map[string]any{"id": u + "/users/multi#old", "owner": u + "/users/multi", "publicKeyPem": testPublicPEM(&mallory.PublicKey)},
		"https://elsewhere.example/not-an-object",
		map[string]any{"id": u + "/users/multi#main-key", "owner": u + "/users/multi", "publicKeyPem": testPublicPEM(&alice.PublicKey)},
	}
	srv.set("/users/multi", multi)
	// GoToSocial: the key URL serves an actor stub whose id is the actor's.
	srv.set("/users/gts", testActorDoc(u+"/users/gts", u+"/users/gts/main-key", &alice.PublicKey))
	srv.set("/users/gts/main-key", testActorDoc(u+"/users/gts", u+"/users/gts/main-key", &alice.PublicKey))
	// A standalone key object whose owner lists it by reference.
	srv.set("/keys/carol", map[string]any{"id": u + "/keys/carol", "type": "Key", "owner": u + "/users/carol", "publicKeyPem": testPublicPEM(&alice.PublicKey)})
	carol := testActorDoc(u+"/users/carol", "", &alice.PublicKey)
	carol["publicKey"] = u + "/keys/carol"
	srv.set("/users/carol", carol)
	// Refusals: the key names another owner; a key object whose owner doesn't list it; an
	// actor stub claiming to be someone on another host; an actor not listing the key.
	wrongOwner := testActorDoc(u+"/users/eve", u+"/users/eve#main-key", &mallory.PublicKey)
	wrongOwner["publicKey"].(map[string]any)["owner"] = u + "/users/masto"
	srv.set("/users/eve", wrongOwner)
	srv.set("/keys/orphan", map[string]any{"id": u + "/keys/orphan", "owner": u + "/users/masto", "publicKeyPem": testPublicPEM(&mallory.PublicKey)})
	other.set("/users/victim", testActorDoc(other.URL+"/users/victim", other.URL+"/users/victim#main-key", &alice.PublicKey))
	srv.set("/users/impostor/main-key", testActorDoc(other.URL+"/users/victim", u+"/users/impostor/main-key", &mallory.PublicKey))
	// The key's URL redirects to another host that serves a document claiming the first URL.
	srv.set("/users/moved", redirectDoc(other.URL+"/users/fake"))
	other.set("/users/fake", testActorDoc(u+"/users/moved", u+"/users/moved#main-key", &mallory.PublicKey))
	srv.set("/users/nokey", testActorDoc(u+"/users/nokey", u+"/users/nokey#other-key", &alice.PublicKey))

	tests := []struct {
		keyID, owner string // owner "" means refused
	}{
		{u + "/users/masto#main-key", u + "/users/masto"},
		{u + "/users/multi#main-key", u + "/users/multi"},
		{u + "/users/gts/main-key", u + "/users/gts"},
		{u + "/keys/carol", u + "/users/carol"},
		{u + "/users/eve#main-key", ""},
		{u + "/keys/orphan", ""},
		{u + "/users/impostor/main-key", ""},
		{u + "/users/nokey#main-key", ""},
		{u + "/users/moved#main-key", ""},
		{u + "/users/missing#main-key", ""},
	}
	for _, tc := range tests {
		k, _ := newTestKeyCache(t, nil)
		owner, key, err := k.PublicKey(context.Background(), tc.keyID, false)
		if tc.owner == "" {
			if err == nil {
				t.Errorf("PublicKey(%s) = %q, want refused", tc.keyID, owner)
			}
			continue
		}
		if err != nil || owner != tc.owner || !key.Equal(&alice.PublicKey) {
			t.Errorf("PublicKey(%s) = %q, %v, want %q and alice's key", tc.keyID, owner, err, tc.owner)
		}
	}
}

func TestKeyCacheLocalFirst(t *testing.T) {
	alice := sigTestKey(t, "alice.pem")
	mallory := sigTestKey(t, "mallory.pem")
	srv := newKeyDocServer(t)
	actor := srv.URL + "/users/alice"
	keyID := actor + "#main-key"
	srv.set("/users/alice", testActorDoc(actor, keyID, &alice.PublicKey))
	var localCalls atomic.Int32
	// The store still has the key alice used before she rotated it.
	local := func(_ context.Context, id string) (string, string, bool) {
		localCalls.Add(1)
		if id != keyID {
			return "", "", false
		}
		return actor, testPublicPEM(&mallory.PublicKey), true
	}
	k, _ := newTestKeyCache(t, local)
	ctx := context.Background()
	if _, key, err := k.PublicKey(ctx, keyID, false); err != nil || !key.Equal(&mallory.PublicKey) {
		t.Fatalf("PublicKey(local) = %v, want the stored key", err)
	}
	if _, _, err := k.PublicKey(ctx, keyID, false); err != nil {
		t.Fatal(err)
	}
	if n, hits := localCalls.Load(), srv.totalHits(); n != 1 || hits != 0 {
		t.Errorf("local calls, remote fetches = %d, %d, want 1, 0", n, hits)
	}

	// A request signed with the new key verifies after one refresh.
	body := []byte(`{"type":"Update"}`)
	r := httptest.NewRequest("POST", "https://local.example/inbox", bytes.NewReader(body))
	if err := SignRequest(r, body, keyID, alice); err != nil {
		t.Fatal(err)
	}
	if owner, err := VerifyRequest(ctx, r, body, k, time.Now()); err != nil || owner != actor {
		t.Errorf("VerifyRequest(rotated key) = %q, %v, want %q", owner, err, actor)
	}
	if hits := srv.totalHits(); hits != 1 {
		t.Errorf("remote fetches = %d, want 1", hits)
	}
}

func TestKeyCacheFailures(t *testing.T) {
	alice := sigTestKey(t, "alice.pem")
	srv := newKeyDocServer(t)
	actor := srv.URL + "/users/alice"
	keyID := actor + "#main-key"
	k, clock := newTestKeyCache(t, nil)
	ctx := context.Background()

	var se *StatusError
	if _, _, err := k.PublicKey(ctx, keyID, false); !errors.As(err, &se) || se.Code != 404 {
		t.Fatalf("PublicKey(missing actor) = %v, want StatusError 404", err)
	}
	// A second request with the same unknown key within the minute does not fetch again.
	if _, _, err := k.PublicKey(ctx, keyID, false); !errors.Is(err, ErrKeyRefreshLimited) {
		t.Errorf("PublicKey(again) = %v, want ErrKeyRefreshLimited", err)
	}
	if n := srv.totalHits(); n != 1 {
		t.Errorf("fetches = %d, want 1", n)
	}
	// The actor appears; concurrent first lookups share one fetch.
	srv.set("/users/alice", testActorDoc(actor, keyID, &alice.PublicKey))
	clock.advance(2 * time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := k.PublicKey(ctx, keyID, false); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent PublicKey: %v", err)
	}
	if n := srv.totalHits(); n != 2 {
		t.Errorf("fetches = %d, want 2", n)
	}
	// The server goes away after the TTL: the stale key is still served.
	srv.mu.Lock()
	delete(srv.docs, "/users/alice")
	srv.mu.Unlock()
	clock.advance(2 * time.Hour)
	if _, key, err := k.PublicKey(ctx, keyID, false); err != nil || !key.Equal(&alice.PublicKey) {
		t.Errorf("PublicKey(expired, server down) = %v, want the stale key", err)
	}
}
