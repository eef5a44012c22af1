package push_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/hkdf"

	"watercooler/config"
	"watercooler/federation"
	"watercooler/push"
	"watercooler/store"
	"watercooler/testrig"
)

// within bounds every wait of these tests; a loaded two-core machine needs the slack.
const within = 15 * time.Second

var b64 = base64.RawURLEncoding

// pushService is a push service on 127.0.0.1 as a browser vendor runs one, for one
// subscriber: it holds the subscriber's key pair and auth secret, so it can decrypt what it
// receives (RFC 8291) as the browser would, and it checks the VAPID signature (RFC 8292)
// against the instance's public key as the vendor would.
type pushService struct {
	t         *testing.T
	srv       *httptest.Server
	key       *ecdh.PrivateKey
	auth      []byte
	serverKey string // the instance's VAPID public key, base64url

	mu        sync.Mutex
	answers   []int // statuses to answer with, in order; 201 once they run out
	requests  int
	delivered []push.Payload // decrypted payloads of the requests answered 2xx
	paths     []string
	times     []time.Time // when each request came
	encodings []string    // Content-Encoding of each request that decrypted
	failure   string      // the first thing found wrong with a request
}

func newPushService(t *testing.T, serverKey string) *pushService {
	t.Helper()
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ps := &pushService{t: t, key: key, auth: make([]byte, 16), serverKey: serverKey}
	_, _ = rand.Read(ps.auth)
	ps.srv = httptest.NewServer(http.HandlerFunc(ps.serve))
	t.Cleanup(ps.srv.Close)
	return ps
}

func (ps *pushService) p256dh() string   { return b64.EncodeToString(ps.key.PublicKey().Bytes()) }
func (ps *pushService) authKey() string  { return b64.EncodeToString(ps.auth) }
func (ps *pushService) endpoint() string { return ps.srv.URL + "/push/device-1" }

// answer queues the statuses the next requests get.
func (ps *pushService) answer(codes ...int) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.answers = append(ps.answers, codes...)
}

func (ps *pushService) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	payload, err := ps.check(r, body)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.requests++
	ps.paths = append(ps.paths, r.URL.Path)
	ps.times = append(ps.times, time.Now())
	if err != nil && ps.failure == "" {
		ps.failure = err.Error()
	}
	code := http.StatusCreated
	if len(ps.answers) > 0 {
		code, ps.answers = ps.answers[0], ps.answers[1:]
	}
	if err == nil {
		ps.encodings = append(ps.encodings, r.Header.Get("Content-Encoding"))
	}
	if err == nil && code/100 == 2 {
		ps.delivered = append(ps.delivered, payload)
	}
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(code)
}

// check verifies a request's headers and VAPID signature and decrypts its body, in either
// encoding Mastodon sends: RFC 8291's aes128gcm to standard subscriptions, the draft's aesgcm
// to the others.
func (ps *pushService) check(r *http.Request, body []byte) (push.Payload, error) {
	var p push.Payload
	switch {
	case r.Method != http.MethodPost:
		return p, fmt.Errorf("method %s", r.Method)
	case r.Header.Get("TTL") != "172800":
		return p, fmt.Errorf("TTL %q, want Mastodon's 48 hours", r.Header.Get("TTL"))
	case r.Header.Get("Urgency") != "normal":
		return p, fmt.Errorf("Urgency %q", r.Header.Get("Urgency"))
	}
	var plain []byte
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "aes128gcm":
		// Authorization: vapid t=<JWT>, k=<key> (RFC 8292).
		rest, ok := strings.CutPrefix(r.Header.Get("Authorization"), "vapid ")
		if !ok {
			return p, fmt.Errorf("Authorization %q is not vapid", r.Header.Get("Authorization"))
		}
		params := headerParams(rest, ",")
		if err := ps.checkJWT(params["t"], params["k"]); err != nil {
			return p, err
		}
		var err error
		if plain, err = decrypt(ps.key, ps.auth, body); err != nil {
			return p, err
		}
	case "aesgcm":
		// Authorization: WebPush <JWT>, the key in Crypto-Key's p256ecdsa, the sender's key in
		// its dh, the salt in Encryption (the drafts Mastodon followed before 4.4).
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "WebPush ")
		if !ok {
			return p, fmt.Errorf("Authorization %q is not WebPush", r.Header.Get("Authorization"))
		}
		cryptoKey := headerParams(r.Header.Get("Crypto-Key"), ";")
		if err := ps.checkJWT(token, cryptoKey["p256ecdsa"]); err != nil {
			return p, err
		}
		salt, err := b64.DecodeString(headerParams(r.Header.Get("Encryption"), ";")["salt"])
		if err != nil || len(salt) != 16 {
			return p, fmt.Errorf("Encryption %q", r.Header.Get("Encryption"))
		}
		dh, err := b64.DecodeString(cryptoKey["dh"])
		if err != nil {
			return p, fmt.Errorf("Crypto-Key %q", r.Header.Get("Crypto-Key"))
		}
		if plain, err = decryptLegacy(ps.key, ps.auth, salt, dh, body); err != nil {
			return p, err
		}
	default:
		return p, fmt.Errorf("Content-Encoding %q", enc)
	}
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("payload %q: %v", plain, err)
	}
	return p, nil
}

// headerParams splits "a=1, b=2" (or with sep ";") into a map.
func headerParams(v, sep string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(v, sep) {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		out[k] = val
	}
	return out
}

// checkJWT verifies a VAPID JWT: key is the instance's public key, and the JWT is signed with
// ES256 by it, for this push service's origin, not yet expired.
func (ps *pushService) checkJWT(token, key string) error {
	if key != ps.serverKey {
		return fmt.Errorf("vapid key %q, want the instance's key %q", key, ps.serverKey)
	}
	pubBytes, err := b64.DecodeString(ps.serverKey)
	if err != nil {
		return err
	}
	x, y := elliptic.Unmarshal(elliptic.P256(), pubBytes) //nolint:staticcheck // ecdsa needs the coordinates
	if x == nil {
		return errors.New("the instance's public key is not a P-256 point")
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return fmt.Errorf("JWT %q", token)
	}
	var header struct{ Alg, Typ string }
	var claims struct {
		Aud string
		Exp int64
		Sub string
	}
	for i, v := range []any{&header, &claims} {
		raw, err := b64.DecodeString(parts[i])
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, v); err != nil {
			return err
		}
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return fmt.Errorf("JWT signature of %d bytes", len(sig))
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("the VAPID JWT's signature does not verify with the instance's key")
	}
	switch {
	case header.Alg != "ES256":
		return fmt.Errorf("JWT alg %q", header.Alg)
	case claims.Aud != ps.srv.URL:
		return fmt.Errorf("JWT aud %q, want %q", claims.Aud, ps.srv.URL)
	case time.Unix(claims.Exp, 0).Before(time.Now()) || time.Unix(claims.Exp, 0).After(time.Now().Add(24*time.Hour)):
		return fmt.Errorf("JWT exp %d", claims.Exp)
	case !strings.HasPrefix(claims.Sub, "mailto:") && !strings.HasPrefix(claims.Sub, "https:"):
		return fmt.Errorf("JWT sub %q", claims.Sub)
	}
	return nil
}

// decryptLegacy undoes draft-ietf-webpush-encryption-04's aesgcm: the key and nonce come from
// the ECDH secret, the auth secret and a context naming both public keys; the plaintext starts
// with a two-byte padding length.
func decryptLegacy(ua *ecdh.PrivateKey, auth, salt, asPublic, ciphertext []byte) ([]byte, error) {
	as, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, fmt.Errorf("sender key: %v", err)
	}
	secret, err := ua.ECDH(as)
	if err != nil {
		return nil, err
	}
	ikm := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, auth, []byte("Content-Encoding: auth\x00")), ikm); err != nil {
		return nil, err
	}
	context := []byte("P-256\x00")
	for _, k := range [][]byte{ua.PublicKey().Bytes(), asPublic} {
		context = append(context, byte(len(k)>>8), byte(len(k)))
		context = append(context, k...)
	}
	prk := hkdf.Extract(sha256.New, ikm, salt)
	cek, nonce := make([]byte, 16), make([]byte, 12)
	if _, err := io.ReadFull(hkdf.Expand(sha256.New, prk, append([]byte("Content-Encoding: aesgcm\x00"), context...)), cek); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(hkdf.Expand(sha256.New, prk, append([]byte("Content-Encoding: nonce\x00"), context...)), nonce); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, ciphertext, nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt aesgcm: %v", err)
	}
	if len(plain) < 2 {
		return nil, errors.New("no padding length")
	}
	pad := int(binary.BigEndian.Uint16(plain))
	if 2+pad > len(plain) || !bytes.Equal(plain[2:2+pad], make([]byte, pad)) {
		return nil, errors.New("bad padding")
	}
	return plain[2+pad:], nil
}

// decrypt undoes RFC 8291's aes128gcm encryption as a user agent does: the header carries the
// salt, the record size and the sender's ephemeral key; the content key and nonce come from
// the ECDH secret and the auth secret through HKDF.
func decrypt(ua *ecdh.PrivateKey, auth, body []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("body shorter than the aes128gcm header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if len(body) < 21+idlen {
		return nil, errors.New("truncated key id")
	}
	asPublic, ciphertext := body[21:21+idlen], body[21+idlen:]
	if rs < 18 || len(ciphertext) > int(rs) {
		return nil, fmt.Errorf("one record of %d bytes with record size %d", len(ciphertext), rs)
	}
	as, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, fmt.Errorf("sender key: %v", err)
	}
	secret, err := ua.ECDH(as)
	if err != nil {
		return nil, err
	}
	keyInfo := append(append([]byte("WebPush: info\x00"), ua.PublicKey().Bytes()...), asPublic...)
	ikm := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, auth, keyInfo), ikm); err != nil {
		return nil, err
	}
	prk := hkdf.Extract(sha256.New, ikm, salt)
	cek, nonce := make([]byte, 16), make([]byte, 12)
	if _, err := io.ReadFull(hkdf.Expand(sha256.New, prk, []byte("Content-Encoding: aes128gcm\x00")), cek); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(hkdf.Expand(sha256.New, prk, []byte("Content-Encoding: nonce\x00")), nonce); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, ciphertext, nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %v", err)
	}
	// The last record ends with the delimiter 2 and zero padding.
	plain = bytes.TrimRight(plain, "\x00")
	if len(plain) == 0 || plain[len(plain)-1] != 2 {
		return nil, errors.New("no last-record delimiter")
	}
	return plain[:len(plain)-1], nil
}

// state is what the push service has seen so far.
func (ps *pushService) state() (requests int, delivered []push.Payload, paths []string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.failure != "" {
		ps.t.Fatalf("push service: %s", ps.failure)
	}
	return ps.requests, append([]push.Payload(nil), ps.delivered...), append([]string(nil), ps.paths...)
}

// waitDelivered waits until n payloads were delivered and returns them.
func (ps *pushService) waitDelivered(n int) []push.Payload {
	ps.t.Helper()
	var got []push.Payload
	testrig.Eventually(ps.t, within, fmt.Sprintf("%d pushes delivered", n), func() bool {
		_, got, _ = ps.state()
		return len(got) >= n
	})
	return got
}

// waitQueueEmpty waits until every push job was settled: nothing queued, pending or waiting
// for a retry. Only then may a test say that something was not sent.
func waitQueueEmpty(t *testing.T, inst *testrig.Instance) {
	t.Helper()
	q := inst.Store.Queue(store.PushQueue)
	testrig.Eventually(t, within, "push queue empty", func() bool {
		st, err := q.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return st.Queued == 0 && st.Pending == 0 && st.Retrying == 0
	})
}

// call sends one API request with a JSON body (or none) and decodes a JSON answer into out.
func call(t *testing.T, method, u, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, u, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// mustCall is call for requests that must answer 200.
func mustCall(t *testing.T, method, u, token string, body any, out any) {
	t.Helper()
	var raw json.RawMessage
	if code := call(t, method, u, token, body, &raw); code != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, u, code, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatal(err)
		}
	}
}

// instanceKey reads the VAPID public key from /api/v2/instance, as an app does.
func instanceKey(t *testing.T, inst *testrig.Instance) string {
	t.Helper()
	var doc struct {
		Configuration struct {
			Vapid struct {
				PublicKey string `json:"public_key"`
			} `json:"vapid"`
		} `json:"configuration"`
	}
	mustCall(t, http.MethodGet, inst.API("/api/v2/instance"), "", nil, &doc)
	key := doc.Configuration.Vapid.PublicKey
	if raw, err := b64.DecodeString(key); err != nil || len(raw) != 65 || raw[0] != 4 {
		t.Fatalf("configuration.vapid.public_key %q is not an uncompressed P-256 point", key)
	}
	return key
}

// subscription is the WebPushSubscription entity.
type subscription struct {
	ID        string          `json:"id"`
	Endpoint  string          `json:"endpoint"`
	Standard  bool            `json:"standard"`
	Alerts    map[string]bool `json:"alerts"`
	Policy    string          `json:"policy"`
	ServerKey string          `json:"server_key"`
}

// subscribe subscribes token's holder to ps with the alerts given, policy all.
func subscribe(t *testing.T, inst *testrig.Instance, token string, ps *pushService, endpoint string, alerts ...string) subscription {
	t.Helper()
	on := map[string]bool{}
	for _, a := range alerts {
		on[a] = true
	}
	var sub subscription
	mustCall(t, http.MethodPost, inst.API("/api/v1/push/subscription"), token, map[string]any{
		"subscription": map[string]any{"endpoint": endpoint, "keys": map[string]string{"p256dh": ps.p256dh(), "auth": ps.authKey()}, "standard": true},
		"data":         map[string]any{"alerts": on, "policy": "all"},
	}, &sub)
	return sub
}

func postStatus(t *testing.T, inst *testrig.Instance, token, text string) string {
	t.Helper()
	return postWith(t, inst, token, text, "public")
}

func postWith(t *testing.T, inst *testrig.Instance, token, text, visibility string) string {
	t.Helper()
	var st struct{ ID string }
	mustCall(t, http.MethodPost, inst.API("/api/v1/statuses"), token, map[string]string{"status": text, "visibility": visibility}, &st)
	return st.ID
}

// newestNotification is the id and type of the newest notification of token's holder.
func newestNotification(t *testing.T, inst *testrig.Instance, token string) (id, typ string) {
	t.Helper()
	var list []struct{ ID, Type string }
	mustCall(t, http.MethodGet, inst.API("/api/v1/notifications?limit=1"), token, nil, &list)
	if len(list) == 0 {
		t.Fatal("no notification")
	}
	return list[0].ID, list[0].Type
}

// TestPushFavourite follows a favourite from the API to the push service: the payload is
// decrypted with the subscriber's keys and carries Mastodon's fields.
func TestPushFavourite(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	ps := newPushService(t, instanceKey(t, inst))

	// A second subscription with the same token replaces the first: only the new endpoint
	// hears of the favourite.
	subscribe(t, inst, alice.Token, ps, ps.srv.URL+"/push/old-device", "favourite")
	sub := subscribe(t, inst, alice.Token, ps, ps.endpoint(), "favourite")
	if sub.ServerKey != ps.serverKey || sub.Endpoint != ps.endpoint() || sub.Policy != "all" || !sub.Standard {
		t.Fatalf("subscription %+v", sub)
	}
	for _, a := range store.PushAlerts {
		if on, ok := sub.Alerts[a]; !ok || on != (a == "favourite") {
			t.Errorf("alerts[%s] = %v (present %v), want %v", a, on, ok, a == "favourite")
		}
	}
	var got subscription
	mustCall(t, http.MethodGet, inst.API("/api/v1/push/subscription"), alice.Token, nil, &got)
	if got.ID != sub.ID || !got.Alerts["favourite"] {
		t.Fatalf("GET subscription %+v, want %+v", got, sub)
	}

	id := postStatus(t, inst, alice.Token, "Coffee machine on the third floor is fixed")
	mustCall(t, http.MethodPost, inst.API("/api/v1/statuses/%s/favourite", id), bob.Token, nil, nil)

	p := ps.waitDelivered(1)[0]
	nid, _ := newestNotification(t, inst, alice.Token)
	want := push.Payload{
		AccessToken: alice.Token, PreferredLocale: "en", NotificationID: nid, NotificationType: "favourite",
		Icon: inst.URL + "/avatars/original/missing.png", Title: "bob favorited your post",
		Body: "Coffee machine on the third floor is fixed",
	}
	if p != want {
		t.Fatalf("payload\n %+v, want\n %+v", p, want)
	}
	waitQueueEmpty(t, inst)
	if _, delivered, paths := ps.state(); len(delivered) != 1 || paths[0] != "/push/device-1" {
		t.Fatalf("delivered %d to %v, want one to the new endpoint", len(delivered), paths)
	}
}

// TestPushAlertsAndPolicy: a notification the subscription's alerts or policy do not want is
// not sent. Each unwanted one is followed by a wanted one, and the queue must be empty, so a
// lost unwanted push cannot pass for a filtered one.
func TestPushAlertsAndPolicy(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	ps := newPushService(t, instanceKey(t, inst))
	subscribe(t, inst, alice.Token, ps, ps.endpoint(), "mention", "follow")

	id := postStatus(t, inst, alice.Token, "Lunch at noon?")
	mustCall(t, http.MethodPost, inst.API("/api/v1/statuses/%s/favourite", id), bob.Token, nil, nil) // alerts off
	postWith(t, inst, bob.Token, "@alice psst", "direct")                                            // a stranger's private mention: filtered
	postStatus(t, inst, bob.Token, "@alice yes, noon")                                               // wanted
	got := ps.waitDelivered(1)
	waitQueueEmpty(t, inst)
	if _, delivered, _ := ps.state(); len(delivered) != 1 || got[0].NotificationType != "mention" || got[0].Title != "bob mentioned you" || got[0].Body != "@alice yes, noon" {
		t.Fatalf("delivered %+v, want only bob's mention", delivered)
	}

	// PUT changes the data only: policy "followed" pushes what people alice follows do.
	var sub subscription
	mustCall(t, http.MethodPut, inst.API("/api/v1/push/subscription"), alice.Token,
		map[string]any{"data": map[string]any{"alerts": map[string]any{"mention": "true", "follow": true}, "policy": "followed"}}, &sub)
	if sub.Policy != "followed" || !sub.Alerts["mention"] || !sub.Alerts["follow"] || sub.Alerts["favourite"] || sub.Endpoint != ps.endpoint() {
		t.Fatalf("updated subscription %+v", sub)
	}
	carol := inst.CreateUser(t, "carol")
	postStatus(t, inst, carol.Token, "@alice hello from carol") // alice does not follow carol
	mustCall(t, http.MethodPost, inst.API("/api/v1/accounts/%s/follow", bob.Account.ID), alice.Token, nil, nil)
	postStatus(t, inst, bob.Token, "@alice see you there") // alice follows bob
	got = ps.waitDelivered(2)
	waitQueueEmpty(t, inst)
	if _, delivered, _ := ps.state(); len(delivered) != 2 || got[1].Body != "@alice see you there" {
		t.Fatalf("delivered %+v, want bob's second mention only after the first", delivered)
	}
}

// TestPushGone: a push service that answers 410 has forgotten the subscription, which is
// dropped; later notifications are not sent.
func TestPushGone(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	ps := newPushService(t, instanceKey(t, inst))
	subscribe(t, inst, alice.Token, ps, ps.endpoint(), "follow", "mention")
	ps.answer(http.StatusGone)

	mustCall(t, http.MethodPost, inst.API("/api/v1/accounts/%s/follow", alice.Account.ID), bob.Token, nil, nil)
	testrig.Eventually(t, within, "subscription dropped", func() bool {
		return call(t, http.MethodGet, inst.API("/api/v1/push/subscription"), alice.Token, nil, nil) == http.StatusNotFound
	})
	postStatus(t, inst, bob.Token, "@alice are you there?")
	waitQueueEmpty(t, inst)
	if requests, delivered, _ := ps.state(); requests != 1 || len(delivered) != 0 {
		t.Fatalf("%d requests, %d delivered; want the one answered 410", requests, len(delivered))
	}
}

// TestPushRetry: a push service that fails for a while gets the push once it answers 201:
// once, not once per attempt, and not before a Retry-After it asked for.
func TestPushRetry(t *testing.T) {
	cases := []struct {
		name     string
		answers  []int
		minDelay time.Duration // between the first request and the delivery
	}{
		{"500 twice", []int{http.StatusInternalServerError, http.StatusInternalServerError}, 0},
		{"502 then 503", []int{http.StatusBadGateway, http.StatusServiceUnavailable}, 0},
		{"429 with Retry-After", []int{http.StatusTooManyRequests}, time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inst := testrig.StartInstance(t)
			alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
			ps := newPushService(t, instanceKey(t, inst))
			subscribe(t, inst, alice.Token, ps, ps.endpoint(), "follow")
			ps.answer(tc.answers...)

			mustCall(t, http.MethodPost, inst.API("/api/v1/accounts/%s/follow", alice.Account.ID), bob.Token, nil, nil)
			got := ps.waitDelivered(1)
			waitQueueEmpty(t, inst)
			nid, typ := newestNotification(t, inst, alice.Token)
			requests, delivered, _ := ps.state()
			if requests != len(tc.answers)+1 || len(delivered) != 1 || got[0].NotificationID != nid || typ != "follow" || got[0].Title != "bob is now following you" {
				t.Fatalf("%d requests, delivered %+v; want %d requests and notification %s delivered once", requests, delivered, len(tc.answers)+1, nid)
			}
			ps.mu.Lock()
			waited := ps.times[len(ps.times)-1].Sub(ps.times[0])
			ps.mu.Unlock()
			if waited < tc.minDelay {
				t.Fatalf("delivered %s after the first attempt, want at least %s", waited, tc.minDelay)
			}
			if dead, _ := inst.Store.Queue(store.PushQueue).DeadLetters(context.Background(), 10); len(dead) != 0 {
				t.Fatalf("dead letters %+v", dead)
			}
		})
	}
}

// TestPushServiceDown: while nothing listens at the endpoint the job waits for a retry; when
// the push service comes back on the same address it gets the push.
func TestPushServiceDown(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	ps := newPushService(t, instanceKey(t, inst))
	subscribe(t, inst, alice.Token, ps, ps.endpoint(), "follow")
	addr := ps.srv.Listener.Addr().String()
	ps.srv.Close()

	mustCall(t, http.MethodPost, inst.API("/api/v1/accounts/%s/follow", alice.Account.ID), bob.Token, nil, nil)
	q := inst.Store.Queue(store.PushQueue)
	testrig.Eventually(t, within, "a failed attempt waiting for its retry", func() bool {
		st, err := q.Stats(context.Background())
		return err == nil && st.Retrying > 0
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	ps.srv = httptest.NewUnstartedServer(http.HandlerFunc(ps.serve))
	ps.srv.Listener.Close()
	ps.srv.Listener = ln
	ps.srv.Start()
	t.Cleanup(ps.srv.Close)

	got := ps.waitDelivered(1)
	waitQueueEmpty(t, inst)
	if requests, _, _ := ps.state(); requests != 1 || got[0].NotificationType != "follow" {
		t.Fatalf("%d requests, delivered %+v; want the follow once", requests, got)
	}
}

// TestVAPIDKeyMadeOnce: processes that start together on one Redis agree on one key pair,
// and a restart keeps it, so push services keep accepting the instance's signatures.
func TestVAPIDKeyMadeOnce(t *testing.T) {
	st := testrig.NewStore(t, "push.example")
	ctx := context.Background()
	fetcher := federation.NewFetcher(federation.FetchOptions{})
	cfg := config.Defaults()
	services := make([]*push.Service, 6)
	var wg sync.WaitGroup
	for i := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := push.New(ctx, cfg, st, fetcher, testrig.Logger(t), push.Options{})
			if err != nil {
				t.Error(err)
				return
			}
			services[i] = s
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	first := services[0].PublicKey()
	for i, s := range services {
		if s.PublicKey() != first || first == "" {
			t.Fatalf("process %d has key %q, process 0 %q", i, s.PublicKey(), first)
		}
	}
	again, err := st.VAPIDKeys(ctx, func() (store.VAPIDKeys, error) { return store.VAPIDKeys{Public: "other", Private: "other"}, nil })
	if err != nil || again.Public != first {
		t.Fatalf("key after a restart %q (%v), want %q", again.Public, err, first)
	}
}

// TestPushSubscriptionAPI covers what the API refuses, and the subscription's life with its
// token.
func TestPushSubscriptionAPI(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	ps := newPushService(t, instanceKey(t, inst))
	url := inst.API("/api/v1/push/subscription")

	if code := call(t, http.MethodGet, url, alice.Token, nil, nil); code != http.StatusNotFound {
		t.Fatalf("GET without a subscription: %d, want 404", code)
	}
	if code := call(t, http.MethodPut, url, alice.Token, map[string]any{"data": map[string]any{"policy": "all"}}, nil); code != http.StatusNotFound {
		t.Fatalf("PUT without a subscription: %d, want 404", code)
	}

	offCurve := append([]byte{4}, make([]byte, 64)...)
	short := make([]byte, 32)
	cases := []struct {
		name                   string
		endpoint, p256dh, auth string
		policy                 string
		msg                    string
	}{
		{"no endpoint", "", ps.p256dh(), ps.authKey(), "", "Validation failed: Endpoint can't be blank"},
		{"not a URL", "push service", ps.p256dh(), ps.authKey(), "", "Validation failed: Endpoint is not a valid https URL"},
		{"not http", "ftp://127.0.0.1/push", ps.p256dh(), ps.authKey(), "", "Validation failed: Endpoint is not a valid https URL"},
		{"user info", "https://me:secret@127.0.0.1/push", ps.p256dh(), ps.authKey(), "", "Validation failed: Endpoint is not a valid https URL"},
		{"http outside the peer networks", "http://10.1.2.3/push", ps.p256dh(), ps.authKey(), "", "Validation failed: Endpoint must use https"},
		{"private address", "https://192.168.1.20/push", ps.p256dh(), ps.authKey(), "", "Validation failed: Endpoint is not a reachable public address"},
		{"private IPv6", "https://[fd00::1]/push", ps.p256dh(), ps.authKey(), "", "Validation failed: Endpoint is not a reachable public address"},
		{"cloud metadata", "https://169.254.169.254/latest", ps.p256dh(), ps.authKey(), "", "Validation failed: Endpoint is not a reachable public address"},
		{"private address in IPv6 disguise", "https://[::ffff:10.0.0.1]/push", ps.p256dh(), ps.authKey(), "", "Validation failed: Endpoint is not a reachable public address"},
		{"no p256dh", ps.endpoint(), "", ps.authKey(), "", "Validation failed: Key p256dh can't be blank"},
		{"p256dh not base64", ps.endpoint(), "not*base64!", ps.authKey(), "", "Validation failed: Key p256dh is not valid base64"},
		{"p256dh off the curve", ps.endpoint(), b64.EncodeToString(offCurve), ps.authKey(), "", "Validation failed: Key p256dh is not a P-256 public key"},
		{"p256dh too short", ps.endpoint(), b64.EncodeToString(short), ps.authKey(), "", "Validation failed: Key p256dh is not a P-256 public key"},
		{"no auth", ps.endpoint(), ps.p256dh(), "", "", "Validation failed: Key auth can't be blank"},
		{"auth of 8 bytes", ps.endpoint(), ps.p256dh(), b64.EncodeToString(make([]byte, 8)), "", "Validation failed: Key auth must be 16 bytes"},
		{"auth not base64", ps.endpoint(), ps.p256dh(), "%%%", "", "Validation failed: Key auth is not valid base64"},
		{"unknown policy", ps.endpoint(), ps.p256dh(), ps.authKey(), "sometimes", "Validation failed: Policy is not included in the list"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e struct{ Error string }
			code := call(t, http.MethodPost, url, alice.Token, map[string]any{
				"subscription": map[string]any{"endpoint": tc.endpoint, "keys": map[string]string{"p256dh": tc.p256dh, "auth": tc.auth}},
				"data":         map[string]any{"policy": tc.policy},
			}, &e)
			if code != http.StatusUnprocessableEntity || e.Error != tc.msg {
				t.Fatalf("%d %q, want 422 %q", code, e.Error, tc.msg)
			}
		})
	}
	// Nothing refused was stored.
	if code := call(t, http.MethodGet, url, alice.Token, nil, nil); code != http.StatusNotFound {
		t.Fatalf("GET after refusals: %d, want 404", code)
	}

	// Keys in standard base64 with padding, as some apps send them, are accepted; so is a form.
	std := base64.StdEncoding
	form := url + "?" + (urlValues{
		"subscription[endpoint]": ps.endpoint(), "subscription[keys][p256dh]": std.EncodeToString(ps.key.PublicKey().Bytes()),
		"subscription[keys][auth]": std.EncodeToString(ps.auth), "data[alerts][mention]": "true", "data[policy]": "follower",
		"data[alerts][admin.sign_up]": "1", "data[alerts][reblog]": "false", "data[alerts][nonsense]": "true",
	}).encode()
	var sub subscription
	mustCall(t, http.MethodPost, form, alice.Token, nil, &sub)
	if !sub.Alerts["mention"] || !sub.Alerts["admin.sign_up"] || sub.Alerts["reblog"] || len(sub.Alerts) != len(store.PushAlerts) || sub.Policy != "follower" || sub.Standard {
		t.Fatalf("form subscription %+v", sub)
	}

	// A token without the push scope may not touch the subscription.
	readOnly, _, err := inst.Store.CreateToken(context.Background(), "", alice.Account.ID, []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	if code := call(t, http.MethodGet, url, readOnly, nil, nil); code != http.StatusForbidden {
		t.Fatalf("GET with a read token: %d, want 403", code)
	}

	// DELETE ends it; deleting again is fine.
	for range 2 {
		var empty map[string]any
		mustCall(t, http.MethodDelete, url, alice.Token, nil, &empty)
		if len(empty) != 0 {
			t.Fatalf("DELETE answered %v", empty)
		}
	}
	if code := call(t, http.MethodGet, url, alice.Token, nil, nil); code != http.StatusNotFound {
		t.Fatalf("GET after DELETE: %d, want 404", code)
	}
}

// urlValues keeps the test's forms readable.
type urlValues map[string]string

func (v urlValues) encode() string {
	q := url.Values{}
	for k, val := range v {
		q.Set(k, val)
	}
	return q.Encode()
}

// TestPushRevokedToken: revoking the token through OAuth ends its subscription, and the apps
// API hands out the VAPID key as Mastodon does.
func TestPushRevokedToken(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	key := instanceKey(t, inst)
	ps := newPushService(t, key)

	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		VapidKey     string `json:"vapid_key"`
	}
	mustCall(t, http.MethodPost, inst.API("/api/v1/apps"), "", map[string]any{
		"client_name": "Pocket", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read push",
	}, &app)
	if app.VapidKey != key {
		t.Fatalf("apps vapid_key %q, want %q", app.VapidKey, key)
	}
	ctx := context.Background()
	tok, rec, err := inst.Store.CreateToken(ctx, app.ClientID, alice.Account.ID, []string{"read", "push"})
	if err != nil {
		t.Fatal(err)
	}
	var verified struct {
		VapidKey string `json:"vapid_key"`
	}
	mustCall(t, http.MethodGet, inst.API("/api/v1/apps/verify_credentials"), tok, nil, &verified)
	if verified.VapidKey != key {
		t.Fatalf("verify_credentials vapid_key %q, want %q", verified.VapidKey, key)
	}
	subscribe(t, inst, tok, ps, ps.endpoint(), "mention")
	if _, err := inst.Store.PushSubscription(ctx, rec.Hash); err != nil {
		t.Fatal(err)
	}

	form := fmt.Sprintf("client_id=%s&client_secret=%s&token=%s", app.ClientID, app.ClientSecret, tok)
	resp, err := http.Post(inst.API("/oauth/revoke"), "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if _, err := inst.Store.PushSubscription(ctx, rec.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("subscription after revocation: %v, want ErrNotFound", err)
	}
	// With the subscription gone from the account's set, a mention queues no push at all.
	bob := inst.CreateUser(t, "bob")
	postStatus(t, inst, bob.Token, "@alice ping")
	waitQueueEmpty(t, inst)
	if requests, _, _ := ps.state(); requests != 0 {
		t.Fatalf("%d pushes after the token was revoked", requests)
	}
}

// TestPushPeerNetworks: an instance whose peer networks do not include loopback refuses a
// push endpoint there, over https as over http, as it refuses any fetch there.
func TestPushPeerNetworks(t *testing.T) {
	inst := testrig.StartInstance(t, func(c *config.Config) { c.PeerNetworks = nil })
	alice := inst.CreateUser(t, "alice")
	ps := newPushService(t, instanceKey(t, inst))
	for _, endpoint := range []string{ps.endpoint(), strings.Replace(ps.endpoint(), "http:", "https:", 1), "https://localhost/push"} {
		var e struct{ Error string }
		code := call(t, http.MethodPost, inst.API("/api/v1/push/subscription"), alice.Token, map[string]any{
			"subscription": map[string]any{"endpoint": endpoint, "keys": map[string]string{"p256dh": ps.p256dh(), "auth": ps.authKey()}},
		}, &e)
		if code != http.StatusUnprocessableEntity || !strings.HasPrefix(e.Error, "Validation failed: Endpoint") {
			t.Errorf("%s: %d %q, want 422", endpoint, code, e.Error)
		}
	}
}

// TestPushNotToRedis: even where loopback is a peer network, an endpoint at the instance's
// own Redis is refused, as every fetch there is.
func TestPushNotToRedis(t *testing.T) {
	u, err := url.Parse(config.TestRedisURL())
	if err != nil {
		t.Fatal(err)
	}
	inst := testrig.StartInstance(t, func(c *config.Config) { c.RedisURL = "redis://" + u.Host + "/0" })
	alice := inst.CreateUser(t, "alice")
	ps := newPushService(t, instanceKey(t, inst))
	for _, endpoint := range []string{"http://" + u.Host + "/push", "https://" + u.Host + "/push", "http://localhost:" + u.Port() + "/push"} {
		var e struct{ Error string }
		code := call(t, http.MethodPost, inst.API("/api/v1/push/subscription"), alice.Token, map[string]any{
			"subscription": map[string]any{"endpoint": endpoint, "keys": map[string]string{"p256dh": ps.p256dh(), "auth": ps.authKey()}},
		}, &e)
		if code != http.StatusUnprocessableEntity || !strings.HasPrefix(e.Error, "Validation failed: Endpoint") {
			t.Errorf("%s: %d %q, want 422", endpoint, code, e.Error)
		}
	}
	// The push service beside it on loopback is still fine.
	subscribe(t, inst, alice.Token, ps, ps.endpoint(), "mention")
}

// TestPushSurvivesRestart: a job a process had taken when it died (read, never settled) and a
// job queued while no process ran are both sent after the restart, signed with the same key.
func TestPushSurvivesRestart(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	ps := newPushService(t, instanceKey(t, inst))
	subscribe(t, inst, alice.Token, ps, ps.endpoint(), "follow", "mention")
	inst.Stop()

	ctx := context.Background()
	notify := func(typ string) string {
		n := &store.Notification{Type: typ, AccountID: alice.Account.ID, FromAccountID: bob.Account.ID}
		if err := inst.Store.Notify(ctx, n); err != nil {
			t.Fatal(err)
		}
		return n.ID
	}
	held := notify("follow")
	// The dead process had read this job and died before sending it.
	q := inst.Store.Queue(store.PushQueue)
	if jobs, err := q.Read(ctx, inst.Federator.Consumer()+"/push", 1, 0); err != nil || len(jobs) != 1 {
		t.Fatalf("taking the job as the dead process: %v, %d jobs", err, len(jobs))
	}
	queued := notify("mention")

	inst.Restart(t)
	got := ps.waitDelivered(2)
	waitQueueEmpty(t, inst)
	ids := map[string]bool{got[0].NotificationID: true, got[1].NotificationID: true}
	if !ids[held] || !ids[queued] {
		t.Fatalf("delivered %+v, want notifications %s and %s", got, held, queued)
	}
	if key := instanceKey(t, inst); key != ps.serverKey {
		t.Fatalf("VAPID key changed across the restart: %q, was %q", key, ps.serverKey)
	}
}

// TestPushEncodings: a subscription that says standard gets RFC 8291's aes128gcm with RFC
// 8292's VAPID header; one that does not (every app written before Mastodon 4.4) gets the
// drafts' aesgcm with the WebPush authorization and Crypto-Key headers, as from Mastodon.
func TestPushEncodings(t *testing.T) {
	cases := []struct {
		name     string
		standard any // the parameter as sent; nil leaves it out
		want     string
	}{
		{"standard", true, "aes128gcm"},
		{"standard as a form string", "1", "aes128gcm"},
		{"not standard", false, "aesgcm"},
		{"standard left out", nil, "aesgcm"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inst := testrig.StartInstance(t)
			alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
			ps := newPushService(t, instanceKey(t, inst))
			params := map[string]any{"endpoint": ps.endpoint(), "keys": map[string]string{"p256dh": ps.p256dh(), "auth": ps.authKey()}}
			if tc.standard != nil {
				params["standard"] = tc.standard
			}
			var sub subscription
			mustCall(t, http.MethodPost, inst.API("/api/v1/push/subscription"), alice.Token, map[string]any{
				"subscription": params, "data": map[string]any{"alerts": map[string]bool{"follow": true}},
			}, &sub)
			if sub.Standard != (tc.want == "aes128gcm") {
				t.Fatalf("standard = %v", sub.Standard)
			}
			mustCall(t, http.MethodPost, inst.API("/api/v1/accounts/%s/follow", alice.Account.ID), bob.Token, nil, nil)
			got := ps.waitDelivered(1)
			ps.mu.Lock()
			encodings := append([]string(nil), ps.encodings...)
			ps.mu.Unlock()
			if got[0].NotificationType != "follow" || got[0].Title != "bob is now following you" || len(encodings) != 1 || encodings[0] != tc.want {
				t.Fatalf("delivered %+v as %v, want the follow as %s", got, encodings, tc.want)
			}
		})
	}
}
