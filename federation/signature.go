package federation

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-fed/httpsig"
)

// The signed headers we send: GoToSocial's choice, which Mastodon requires at least of (host on
// GET, digest on POST). Mastodon adds accept or content-type; nobody requires those.
var (
	getSignedHeaders  = []string{httpsig.RequestTarget, "host", "date"}
	postSignedHeaders = []string{httpsig.RequestTarget, "host", "date", "digest"}
)

// SignRequest signs r as Mastodon does (draft-cavage, RSA-SHA256, algorithm="rsa-sha256"), with
// keyID (actor URI + "#main-key"). It sets Date and Host itself; with a body (or on POST) it
// adds "Digest: SHA-256=..." and signs "(request-target) host date digest", else
// "(request-target) host date". Calling it again on the same request (a retry) replaces the old
// signature. It is safe for concurrent use: httpsig signers are not, so each call makes its own.
func SignRequest(r *http.Request, body []byte, keyID string, key *rsa.PrivateKey) error {
	if key == nil {
		return errors.New("sign request: no private key")
	}
	if strings.ContainsAny(keyID, "\"\\") || keyID == "" {
		return fmt.Errorf("sign request: unusable keyId %q", keyID)
	}
	r.Header.Del("Signature")
	r.Header.Del("Digest")
	if isSignatureAuthorization(r.Header.Get("Authorization")) {
		r.Header.Del("Authorization")
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	r.Header.Set("Host", host)
	r.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))

	headers := getSignedHeaders
	if body != nil || hasBodyMethod(r.Method) {
		headers = postSignedHeaders
		if body == nil {
			body = []byte{}
		}
	}
	signer, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, headers, httpsig.Signature, 0)
	if err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	// httpsig writes the decoded r.URL.Path into (request-target); peers verify the path as it
	// travels, escaped. Sign a view carrying the escaped path; it shares r.Header, so the Digest
	// and Signature land on r.
	view := *r
	u := *r.URL
	u.Path, u.RawPath = requestPath(r.URL.EscapedPath()), ""
	view.URL = &u
	if err := signer.SignRequest(key, keyID, &view, body); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	// httpsig always labels the signature hs2019; some peers (PeerTube, older Takahe) accept only
	// the rsa-sha256 label that Mastodon sends, and the label is not part of what is signed.
	p, err := ParseSignatureHeader(r.Header.Get("Signature"))
	if err != nil {
		return fmt.Errorf("sign request: relabel: %w", err)
	}
	p.Algorithm = "rsa-sha256"
	r.Header.Set("Signature", p.String())
	return nil
}

func hasBodyMethod(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

func requestPath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// ParsePrivateKey parses an RSA private key in PEM, PKCS#8 or PKCS#1.
func ParsePrivateKey(pemText string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("private key: no PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("private key: %T is not RSA", k)
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("private key: neither PKCS#8 nor PKCS#1: %w", err)
	}
	return k, nil
}

// ParsePublicKey parses an RSA public key in PEM, PKIX ("PUBLIC KEY", what publicKeyPem
// carries) or PKCS#1 ("RSA PUBLIC KEY").
func ParsePublicKey(pemText string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("public key: no PEM block")
	}
	if k, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key: %T is not RSA", k)
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key: neither PKIX nor PKCS#1: %w", err)
	}
	return k, nil
}

// PublicKeyResolver finds the public key that verifies a signature.
type PublicKeyResolver interface {
	// PublicKey returns the key and its owner (actor URI) for keyID; refresh=true bypasses caches
	// (the key may have been rotated).
	PublicKey(ctx context.Context, keyID string, refresh bool) (owner string, key *rsa.PublicKey, err error)
}

// SignatureError says why a request's signature was refused. Status is the HTTP status to answer
// (401 for missing, bad or stale signatures and digest mismatches; 400 for malformed headers);
// Reason is safe to show the peer; Err, when set, is the underlying cause, for logs.
type SignatureError struct {
	Status int
	Reason string
	Err    error
}

func (e *SignatureError) Error() string {
	if e.Err != nil {
		return "http signature: " + e.Reason + ": " + e.Err.Error()
	}
	return "http signature: " + e.Reason
}

// Unwrap returns the underlying cause.
func (e *SignatureError) Unwrap() error { return e.Err }

func refuse(status int, reason string, err error) *SignatureError {
	return &SignatureError{Status: status, Reason: reason, Err: err}
}

// VerifyOptions tunes VerifyRequest's time window; zero values take Mastodon's.
type VerifyOptions struct {
	// MaxAge is how long after its Date (or created) a signature stays valid unless it names an
	// earlier expiry; Mastodon: 5 minutes.
	MaxAge time.Duration
	// ClockSkew is tolerated on either side; Mastodon: 1 hour. Together the defaults accept a Date
	// from now-65min to now+1h.
	ClockSkew time.Duration
}

// maxExpiry caps an expires parameter, as Mastodon does, so a signature can't live for years.
const maxExpiry = 12 * time.Hour

// VerifyRequest checks r's HTTP signature as Mastodon does, with VerifyOptions' defaults, and
// returns the key owner's actor URI; the caller must still check that owner against the
// activity's actor. See VerifyOptions.Verify.
func VerifyRequest(ctx context.Context, r *http.Request, body []byte, keys PublicKeyResolver, now time.Time) (keyOwner string, err error) {
	return VerifyOptions{}.Verify(ctx, r, body, keys, now)
}

// Verify checks r's HTTP signature (Signature header, or Authorization: Signature) and returns the
// key owner. It requires (request-target), host, and date or (created) to be signed, and digest
// when the request has a body; the Date within the window; a Digest with a SHA-256 matching body;
// algorithm rsa-sha256, hs2019 or none. The signature is checked with httpsig; on failure it is
// retried with the query left out of (request-target) (Mastodon before 4.3 signed without it),
// then once more with a refreshed key, in case the peer rotated it. Errors are *SignatureError.
func (o VerifyOptions) Verify(ctx context.Context, r *http.Request, body []byte, keys PublicKeyResolver, now time.Time) (string, error) {
	if o.MaxAge <= 0 {
		o.MaxAge = 5 * time.Minute
	}
	if o.ClockSkew <= 0 {
		o.ClockSkew = time.Hour
	}
	raw := r.Header.Get("Signature")
	if raw == "" {
		if a := r.Header.Get("Authorization"); isSignatureAuthorization(a) {
			raw = a
		}
	}
	if raw == "" {
		return "", refuse(http.StatusUnauthorized, "request not signed", nil)
	}
	p, err := ParseSignatureHeader(raw)
	if err != nil {
		return "", refuse(http.StatusBadRequest, "malformed Signature header", err)
	}
	switch p.Algorithm {
	case "", "hs2019", "rsa-sha256":
	default:
		return "", refuse(http.StatusUnauthorized, "unsupported signature algorithm "+strconv.Quote(p.Algorithm)+" (only rsa-sha256 and hs2019)", nil)
	}
	headers := p.Headers
	if len(headers) == 0 {
		headers = []string{"(created)"} // draft-cavage-12's default for hs2019
		if p.Algorithm == "rsa-sha256" {
			headers = []string{"date"}
		}
	}
	if e := checkSignedHeaders(r, p, headers, body); e != nil {
		return "", e
	}
	if e := o.checkTime(r, p, now); e != nil {
		return "", e
	}
	if slices.Contains(headers, "digest") {
		if e := checkDigest(r, body); e != nil {
			return "", e
		}
	}
	owner, key, err := keys.PublicKey(ctx, p.KeyID, false)
	if err != nil {
		return "", refuse(http.StatusUnauthorized, "public key not found for "+p.KeyID, err)
	}
	check, e := newSignatureCheck(r, p, headers)
	if e != nil {
		return "", e
	}
	if check.verify(key) {
		return owner, nil
	}
	owner, fresh, err := keys.PublicKey(ctx, p.KeyID, true)
	if err != nil {
		return "", refuse(http.StatusUnauthorized, "signature does not verify and the key could not be refreshed", err)
	}
	if fresh != nil && (key == nil || !fresh.Equal(key)) && check.verify(fresh) {
		return owner, nil
	}
	return "", refuse(http.StatusUnauthorized, "signature does not verify with the key of "+p.KeyID, nil)
}

func isSignatureAuthorization(v string) bool {
	return len(v) > len("Signature ") && strings.EqualFold(v[:len("Signature ")], "Signature ")
}

// checkSignedHeaders enforces what must be signed and that every signed header is present.
func checkSignedHeaders(r *http.Request, p SignatureParams, headers []string, body []byte) *SignatureError {
	for _, want := range []string{httpsig.RequestTarget, "host"} {
		if !slices.Contains(headers, want) {
			return refuse(http.StatusUnauthorized, want+" must be signed", nil)
		}
	}
	if !slices.Contains(headers, "date") && !slices.Contains(headers, "(created)") {
		return refuse(http.StatusUnauthorized, "date or (created) must be signed", nil)
	}
	if (len(body) > 0 || hasBodyMethod(r.Method)) && !slices.Contains(headers, "digest") {
		return refuse(http.StatusUnauthorized, "digest must be signed on requests with a body", nil)
	}
	for _, h := range headers {
		switch h {
		case httpsig.RequestTarget:
		case "host":
			if hostOf(r) == "" {
				return refuse(http.StatusUnauthorized, "signed header host is missing", nil)
			}
		case "(created)", "(expires)":
			if p.Algorithm == "rsa-sha256" {
				return refuse(http.StatusUnauthorized, h+" is not allowed with rsa-sha256", nil)
			}
			if (h == "(created)" && p.Created == 0) || (h == "(expires)" && p.Expires == 0) {
				return refuse(http.StatusUnauthorized, h+" is signed but its parameter is missing", nil)
			}
		default:
			if strings.HasPrefix(h, "(") {
				return refuse(http.StatusUnauthorized, "unknown pseudo-header "+h, nil)
			}
			if _, ok := r.Header[textproto.CanonicalMIMEHeaderKey(h)]; !ok {
				return refuse(http.StatusUnauthorized, "signed header "+h+" is missing", nil)
			}
		}
	}
	return nil
}

func hostOf(r *http.Request) string {
	if h := r.Header.Get("Host"); h != "" {
		return h
	}
	return r.Host
}

// checkTime applies Mastodon's window: a signature is made at Date (or created, for hs2019),
// expires MaxAge later (or at expires, at most 12h on), and ClockSkew is forgiven both ways.
func (o VerifyOptions) checkTime(r *http.Request, p SignatureParams, now time.Time) *SignatureError {
	var created time.Time
	switch {
	case p.Algorithm != "rsa-sha256" && p.Created != 0:
		created = time.Unix(p.Created, 0)
	case r.Header.Get("Date") != "":
		t, err := http.ParseTime(r.Header.Get("Date"))
		if err != nil {
			return refuse(http.StatusBadRequest, "malformed Date header", err)
		}
		created = t
	default:
		return refuse(http.StatusUnauthorized, "no Date header", nil)
	}
	expires := created.Add(o.MaxAge)
	if p.Expires != 0 {
		expires = time.Unix(p.Expires, 0)
	}
	expires = minTime(expires, created.Add(maxExpiry))
	if created.After(now.Add(o.ClockSkew)) {
		return refuse(http.StatusUnauthorized, "signed request date is in the future", nil)
	}
	if now.After(expires.Add(o.ClockSkew)) {
		return refuse(http.StatusUnauthorized, "signed request date outside acceptable time window", nil)
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// checkDigest requires a SHA-256 entry in Digest matching the body; other algorithms are
// ignored, and alone they are refused, as Mastodon does.
func checkDigest(r *http.Request, body []byte) *SignatureError {
	values := r.Header.Values("Digest")
	if len(values) == 0 {
		return refuse(http.StatusUnauthorized, "Digest header missing", nil)
	}
	for _, v := range values {
		for _, entry := range strings.Split(v, ",") {
			alg, val, ok := strings.Cut(strings.TrimSpace(entry), "=")
			if !ok || !strings.EqualFold(alg, "SHA-256") {
				continue
			}
			got, err := decodeBase64(strings.TrimSpace(val))
			if err != nil || len(got) != sha256.Size {
				return refuse(http.StatusUnauthorized, "invalid SHA-256 Digest value", err)
			}
			sum := sha256.Sum256(body)
			if !bytes.Equal(got, sum[:]) {
				return refuse(http.StatusUnauthorized, "Digest does not match the body", nil)
			}
			return nil
		}
	}
	return refuse(http.StatusUnauthorized, "Digest has no SHA-256 value (only SHA-256 is supported)", nil)
}

// signatureCheck runs httpsig over a minimal copy of the request: only the signed headers, and a
// Signature header rebuilt from our own parse, so httpsig's lax comma-splitting parser can't
// read a different headers list from the one we checked.
type signatureCheck struct {
	view     *http.Request
	verifier httpsig.Verifier
	query    string
}

func newSignatureCheck(r *http.Request, p SignatureParams, headers []string) (*signatureCheck, *SignatureError) {
	h := make(http.Header, len(headers)+1)
	for _, name := range headers {
		switch {
		case name == "host":
			h["Host"] = []string{hostOf(r)}
		case strings.HasPrefix(name, "("):
		default:
			key := textproto.CanonicalMIMEHeaderKey(name)
			h[key] = r.Header[key]
		}
	}
	var b strings.Builder
	b.WriteString(`keyId="k",algorithm="rsa-sha256",`)
	if slices.Contains(headers, "(created)") {
		b.WriteString("created=" + strconv.FormatInt(p.Created, 10) + ",")
	}
	if slices.Contains(headers, "(expires)") {
		b.WriteString("expires=" + strconv.FormatInt(p.Expires, 10) + ",")
	}
	b.WriteString(`headers="` + strings.Join(headers, " ") + `",signature="`)
	b.WriteString(base64.StdEncoding.EncodeToString(p.Signature))
	b.WriteString(`"`)
	h["Signature"] = []string{b.String()}

	path, query := requestTarget(r)
	view := &http.Request{Method: r.Method, URL: &url.URL{Path: path, RawQuery: query}, Header: h}
	v, err := httpsig.NewVerifier(view)
	if err != nil {
		return nil, refuse(http.StatusUnauthorized, "signature parameters refused", err)
	}
	return &signatureCheck{view: view, verifier: v, query: query}, nil
}

// requestTarget returns the path and query as they came over the wire.
func requestTarget(r *http.Request) (path, query string) {
	if strings.HasPrefix(r.RequestURI, "/") {
		path, query, _ = strings.Cut(r.RequestURI, "?")
		return path, query
	}
	return requestPath(r.URL.EscapedPath()), r.URL.RawQuery
}

// verify tries key on the full (request-target), then without the query.
func (c *signatureCheck) verify(key *rsa.PublicKey) bool {
	if key == nil {
		return false
	}
	c.view.URL.RawQuery = c.query
	if c.verifier.Verify(key, httpsig.RSA_SHA256) == nil {
		return true
	}
	if c.query == "" {
		return false
	}
	c.view.URL.RawQuery = ""
	return c.verifier.Verify(key, httpsig.RSA_SHA256) == nil
}

// SignatureParams are the parameters of a draft-cavage Signature header. Headers are lower-cased
// and nil when the header lists none; Algorithm is lower-cased and "" when absent.
type SignatureParams struct {
	KeyID, Algorithm string
	Headers          []string
	Signature        []byte
	Created, Expires int64
}

// ParseSignatureHeader parses a Signature header value (or an Authorization value with the
// "Signature " scheme): comma-separated key=value parameters, values as RFC 7230 tokens or quoted
// strings. keyId and signature are required; a repeated known parameter is an error, since two
// readers could each believe a different one; unknown parameters are ignored.
func ParseSignatureHeader(h string) (SignatureParams, error) {
	var p SignatureParams
	s := strings.Trim(h, " \t")
	if isSignatureAuthorization(s) && !strings.HasPrefix(strings.TrimLeft(s[len("Signature "):], " \t"), "=") {
		s = strings.TrimLeft(s[len("Signature "):], " \t")
	}
	var seen uint8
	for {
		key, rest := cutToken(s)
		if key == "" {
			return p, fmt.Errorf("signature header: parameter name expected at %q", clip(s))
		}
		rest = trimSigSpace(rest)
		if !strings.HasPrefix(rest, "=") {
			return p, fmt.Errorf("signature header: '=' expected after %q", key)
		}
		rest = trimSigSpace(rest[1:])
		var val string
		var err error
		if strings.HasPrefix(rest, `"`) {
			val, rest, err = cutQuoted(rest)
			if err != nil {
				return p, err
			}
		} else {
			val, rest = cutToken(rest)
			if val == "" {
				return p, fmt.Errorf("signature header: value expected for %q", key)
			}
		}
		if err := p.set(key, val, &seen); err != nil {
			return p, err
		}
		rest = trimSigSpace(rest)
		if rest == "" {
			break
		}
		if rest[0] != ',' {
			return p, fmt.Errorf("signature header: ',' expected at %q", clip(rest))
		}
		s = trimSigSpace(rest[1:])
	}
	if p.KeyID == "" {
		return p, errors.New("signature header: keyId missing")
	}
	if len(p.Signature) == 0 {
		return p, errors.New("signature header: signature missing")
	}
	return p, nil
}

// knownParams are the parameters ParseSignatureHeader reads; their index is their bit in seen.
var knownParams = []string{"keyId", "algorithm", "headers", "signature", "created", "expires"}

func (p *SignatureParams) set(key, val string, seen *uint8) error {
	i := slices.Index(knownParams, key)
	if i < 0 {
		return nil
	}
	if *seen&(1<<i) != 0 {
		return fmt.Errorf("signature header: %s given twice", key)
	}
	*seen |= 1 << i
	switch key {
	case "keyId":
		p.KeyID = val
	case "algorithm":
		p.Algorithm = asciiLower(val)
	case "headers":
		p.Headers = strings.FieldsFunc(asciiLower(val), func(r rune) bool { return r == ' ' || r == '\t' })
		if len(p.Headers) == 0 {
			return errors.New("signature header: headers is empty")
		}
		for _, h := range p.Headers {
			if !validHeaderName(h) {
				return fmt.Errorf("signature header: bad header name %q", clip(h))
			}
		}
	case "signature":
		sig, err := decodeBase64(val)
		if err != nil {
			return fmt.Errorf("signature header: signature is not base64: %w", err)
		}
		p.Signature = sig
	case "created", "expires":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n <= 0 || val[0] == '+' {
			return fmt.Errorf("signature header: %s is not a positive integer", key)
		}
		if key == "created" {
			p.Created = n
		} else {
			p.Expires = n
		}
	}
	return nil
}

// String formats p as a Signature header value that ParseSignatureHeader reads back unchanged.
func (p SignatureParams) String() string {
	var b strings.Builder
	b.WriteString("keyId=")
	writeQuoted(&b, p.KeyID)
	if p.Algorithm != "" {
		b.WriteString(",algorithm=")
		writeQuoted(&b, p.Algorithm)
	}
	if p.Created != 0 {
		b.WriteString(",created=" + strconv.FormatInt(p.Created, 10))
	}
	if p.Expires != 0 {
		b.WriteString(",expires=" + strconv.FormatInt(p.Expires, 10))
	}
	if p.Headers != nil {
		b.WriteString(",headers=")
		writeQuoted(&b, strings.Join(p.Headers, " "))
	}
	b.WriteString(`,signature="`)
	b.WriteString(base64.StdEncoding.EncodeToString(p.Signature))
	b.WriteString(`"`)
	return b.String()
}

func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

// decodeBase64 accepts padded and unpadded standard base64, as peers send both.
func decodeBase64(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// isTokenChar reports whether c may appear in an RFC 7230 token.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func validHeaderName(h string) bool {
	for i := 0; i < len(h); i++ {
		if !isTokenChar(h[i]) && h[i] != '(' && h[i] != ')' {
			return false
		}
	}
	return h != ""
}

func cutToken(s string) (tok, rest string) {
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// cutQuoted reads an RFC 7230 quoted-string at the start of s, undoing quoted-pairs.
func cutQuoted(s string) (val, rest string, err error) {
	var b []byte
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return string(b), s[i+1:], nil
		case c == '\\':
			if i+1 >= len(s) || !isQuotedTextChar(s[i+1]) && s[i+1] != '"' && s[i+1] != '\\' {
				return "", "", errors.New("signature header: bad escape in quoted string")
			}
			i++
			b = append(b, s[i])
		case isQuotedTextChar(c):
			b = append(b, c)
		default:
			return "", "", fmt.Errorf("signature header: byte %#x not allowed in quoted string", c)
		}
	}
	return "", "", errors.New("signature header: unterminated quoted string")
}

// isQuotedTextChar is RFC 7230's qdtext: HTAB, SP, visible ASCII but '"' and '\', and obs-text.
func isQuotedTextChar(c byte) bool {
	return c == '\t' || c == ' ' || c == 0x21 || (0x23 <= c && c <= 0x7e && c != '\\') || c >= 0x80
}

func trimSigSpace(s string) string { return strings.TrimLeft(s, " \t") }

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

// signatureRefusal is the status and client-safe reason for a failed verification; the cause
// (which may name our own fetches) stays in our logs.
func signatureRefusal(err error) (status int, reason string) {
	var se *SignatureError
	if errors.As(err, &se) {
		return se.Status, se.Reason
	}
	return http.StatusUnauthorized, "signature verification failed"
}
