package push

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
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/hkdf"

	"watercooler/store"
)

// sendLegacy sends a message as Mastodon did before 4.4, and still does to subscriptions that
// do not say standard: the "aesgcm" content encoding of draft-ietf-webpush-encryption-04 and
// the draft VAPID headers (Authorization: WebPush <JWT>, Crypto-Key: p256ecdsa=<key>). Apps
// written before Mastodon 4.4 decrypt nothing else; webpush-go speaks only the RFCs.
func (s *Service) sendLegacy(ctx context.Context, sub *store.PushSubscription, payload []byte) (*http.Response, error) {
	uaPublic, err := decodeKey(sub.P256dh)
	if err != nil {
		return nil, fmt.Errorf("p256dh: %w", err)
	}
	auth, err := decodeKey(sub.Auth)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	ua, err := ecdh.P256().NewPublicKey(uaPublic)
	if err != nil {
		return nil, fmt.Errorf("p256dh: %w", err)
	}
	local, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	secret, err := local.ECDH(ua)
	if err != nil {
		return nil, err
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	asPublic := local.PublicKey().Bytes()
	body, err := encryptAESGCM(secret, auth, salt, uaPublic, asPublic, payload)
	if err != nil {
		return nil, err
	}
	jwt, err := s.vapidJWT(sub.Endpoint)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	b64 := base64.RawURLEncoding
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Encoding", "aesgcm")
	req.Header.Set("Encryption", "salt="+b64.EncodeToString(salt))
	req.Header.Set("Crypto-Key", "dh="+b64.EncodeToString(asPublic)+";p256ecdsa="+s.keys.Public)
	req.Header.Set("Authorization", "WebPush "+jwt)
	req.Header.Set("TTL", strconv.Itoa(int(s.opts.TTL/time.Second)))
	req.Header.Set("Urgency", "normal")
	return s.fetcher.Do(req)
}

// encryptAESGCM encrypts one record the draft way: the key and nonce are derived from the
// ECDH secret, the auth secret and a context naming both public keys, and the plaintext starts
// with a two-byte padding length (no padding here).
func encryptAESGCM(secret, auth, salt, uaPublic, asPublic, payload []byte) ([]byte, error) {
	ikm := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, auth, []byte("Content-Encoding: auth\x00")), ikm); err != nil {
		return nil, err
	}
	context := []byte("P-256\x00")
	for _, k := range [][]byte{uaPublic, asPublic} {
		context = binary.BigEndian.AppendUint16(context, uint16(len(k)))
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
	return gcm.Seal(nil, nonce, append([]byte{0, 0}, payload...), nil), nil
}

// vapidJWT is the VAPID token for endpoint's push service: ES256 over {aud, exp, sub}, signed
// with the instance's VAPID private key.
func (s *Service) vapidJWT(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", err
	}
	raw, err := decodeKey(s.keys.Private)
	if err != nil {
		return "", fmt.Errorf("vapid private key: %w", err)
	}
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
	if err != nil {
		return "", fmt.Errorf("vapid private key: %w", err)
	}
	sub := s.subscriber()
	if !strings.HasPrefix(sub, "https:") {
		sub = "mailto:" + sub
	}
	claims, err := json.Marshal(map[string]any{"aud": u.Scheme + "://" + u.Host, "exp": time.Now().Add(12 * time.Hour).Unix(), "sub": sub})
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding
	signed := b64.EncodeToString([]byte(`{"typ":"JWT","alg":"ES256"}`)) + "." + b64.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signed))
	r, sv, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	return signed + "." + b64.EncodeToString(sig), nil
}
