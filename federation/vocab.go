package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"
	"time"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"

	"watercooler/text"
)

// ContentType is the media type of ActivityPub documents we send.
const ContentType = "application/activity+json"

// LDContentType is the JSON-LD form of ContentType that the ActivityPub spec names.
const LDContentType = `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`

// AcceptHeader is the Accept value for fetching ActivityPub documents: both forms, since
// some servers only answer to one of them.
const AcceptHeader = ContentType + ", " + LDContentType

// PublicAudience is the special collection that addresses everyone.
const PublicAudience = "https://www.w3.org/ns/activitystreams#Public"

// asVocabulary is the ActivityStreams context IRI.
const asVocabulary = "https://www.w3.org/ns/activitystreams"

// ldContext is the @context of everything we serialize. go-fed builds one from map iteration
// order and lists "http://joinmastodon.org/ns", which is not a context document, so strict
// JSON-LD processors (Friendica, Smithereen, Takahē) choke on it (go-fed/activity#152). This one
// declares every extension term we emit, in the shape Mastodon uses.
const ldContext = `["https://www.w3.org/ns/activitystreams","https://w3id.org/security/v1",{` +
	`"manuallyApprovesFollowers":"as:manuallyApprovesFollowers",` +
	`"sensitive":"as:sensitive",` +
	`"Hashtag":"as:Hashtag",` +
	`"movedTo":{"@id":"as:movedTo","@type":"@id"},` +
	`"alsoKnownAs":{"@id":"as:alsoKnownAs","@type":"@id"},` +
	`"toot":"http://joinmastodon.org/ns#",` +
	`"Emoji":"toot:Emoji",` +
	`"featured":{"@id":"toot:featured","@type":"@id"},` +
	`"featuredTags":{"@id":"toot:featuredTags","@type":"@id"},` +
	`"discoverable":"toot:discoverable",` +
	`"indexable":"toot:indexable",` +
	`"memorial":"toot:memorial",` +
	`"suspended":"toot:suspended",` +
	`"blurhash":"toot:blurhash",` +
	`"focalPoint":{"@container":"@list","@id":"toot:focalPoint"},` +
	`"votersCount":"toot:votersCount",` +
	`"quote":{"@id":"https://w3id.org/fep/044f#quote","@type":"@id"},` +
	`"quoteUrl":"as:quoteUrl",` +
	`"quoteUri":"http://fedibird.com/ns#quoteUri",` +
	`"_misskey_quote":"https://misskey-hub.net/ns#_misskey_quote",` +
	`"quoteAuthorization":{"@id":"https://w3id.org/fep/044f#quoteAuthorization","@type":"@id"},` +
	`"QuoteRequest":"https://w3id.org/fep/044f#QuoteRequest",` +
	`"QuoteAuthorization":"https://w3id.org/fep/044f#QuoteAuthorization",` +
	`"gts":"https://gotosocial.org/ns#",` +
	`"interactionPolicy":{"@id":"gts:interactionPolicy","@type":"@id"},` +
	`"canQuote":{"@id":"gts:canQuote","@type":"@id"},` +
	`"automaticApproval":{"@id":"gts:automaticApproval","@type":"@id"},` +
	`"manualApproval":{"@id":"gts:manualApproval","@type":"@id"},` +
	`"interactingObject":{"@id":"gts:interactingObject","@type":"@id"},` +
	`"interactionTarget":{"@id":"gts:interactionTarget","@type":"@id"},` +
	`"schema":"http://schema.org#",` +
	`"PropertyValue":"schema:PropertyValue",` +
	`"value":"schema:value"}]`

// maxDepth bounds JSON nesting. Real activities nest about eight levels (Create → Note →
// attachment → url → Link); the bound keeps a hostile body from driving the recursive decoders.
const maxDepth = 64

// maxEnvelopeBytes is the largest activity ParseEnvelope accepts.
const maxEnvelopeBytes = 1 << 20

// errTooDeep is returned for JSON nested deeper than maxDepth.
var errTooDeep = fmt.Errorf("JSON nested deeper than %d levels", maxDepth)

// IsActivityPubType reports whether a Content-Type or Accept value names ActivityPub JSON
// (activity+json, or ld+json with the AS profile or no profile). In an Accept list any entry
// counts unless its q is 0.
func IsActivityPubType(v string) bool {
	for _, part := range splitMediaList(v) {
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			// A malformed parameter ("; charset") should not hide the type itself.
			mt, _, _ = strings.Cut(part, ";")
			mt, params = strings.ToLower(strings.TrimSpace(mt)), nil
		}
		if q, ok := params["q"]; ok && strings.Trim(q, "0.") == "" {
			continue // q=0 means "not acceptable"
		}
		switch mt {
		case "application/activity+json":
			return true
		case "application/ld+json":
			profile, ok := params["profile"]
			if !ok {
				return true
			}
			// profile is a space-separated list of IRIs.
			for _, p := range strings.Fields(profile) {
				if p == asVocabulary {
					return true
				}
			}
		}
	}
	return false
}

// splitMediaList splits an Accept value on the commas that are outside quoted strings, since
// a profile parameter is quoted and could in principle contain one.
func splitMediaList(v string) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				parts = append(parts, strings.TrimSpace(v[start:i]))
				start = i + 1
			}
		}
	}
	return append(parts, strings.TrimSpace(v[start:]))
}

// Serialize turns a streams value into JSON with the fixed @context, arrays forced for to/cc/
// tag/attachment, and nothing else changed. Serialize ONCE per activity: the bytes are what gets
// digested and signed for every inbox.
func Serialize(t vocab.Type) ([]byte, error) {
	if t == nil {
		return nil, errors.New("serialize activity: nil value")
	}
	m, err := t.Serialize()
	if err != nil {
		return nil, fmt.Errorf("serialize %s: %w", t.GetTypeName(), err)
	}
	normalizeOutput(m)
	m["@context"] = json.RawMessage(ldContext)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Content is HTML; escaping <, > and & as \u003c... is valid JSON but bloats every post
	// and makes payloads painful to read in logs.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encode %s: %w", t.GetTypeName(), err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// normalizeOutput writes to, cc, tag and attachment as arrays and removes nested @context keys,
// which embedded objects parsed from other servers carry along as unknown properties. go-fed
// collapses one-element lists to scalars; Mastodon copes, but other servers look for arrays
// (GoToSocial forces them for the same reason). Maps held in unknown properties are shared
// with the value, so they are normalized in place.
func normalizeOutput(v any) {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "@context")
		for _, k := range [...]string{"to", "cc", "tag", "attachment"} {
			if e, ok := x[k]; ok {
				if _, isList := e.([]any); !isList && e != nil {
					x[k] = []any{e}
				}
			}
		}
		for _, e := range x {
			normalizeOutput(e)
		}
	case []any:
		for _, e := range x {
			normalizeOutput(e)
		}
	}
}

// Parse decodes JSON into a streams value (injecting @context when missing). It also returns the
// raw map so readers can reach extension fields; NoteToStatus and PersonToAccount read mostly
// from it (see rawString for why).
func Parse(ctx context.Context, body []byte) (vocab.Type, map[string]any, error) {
	if err := checkDepth(body); err != nil {
		return nil, nil, fmt.Errorf("parse activity: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, nil, fmt.Errorf("parse activity: %w", err)
	}
	if m == nil {
		return nil, nil, errors.New("parse activity: not a JSON object")
	}
	if _, ok := m["@context"]; !ok {
		m["@context"] = asVocabulary
	}
	t, err := resolveType(ctx, m)
	if err != nil {
		return nil, nil, err
	}
	return t, m, nil
}

// ParseMap is Parse for an already-decoded object (e.g. an embedded object). m is not modified.
func ParseMap(ctx context.Context, m map[string]any) (vocab.Type, error) {
	if m == nil {
		return nil, errors.New("parse object: nil map")
	}
	if _, ok := m["@context"]; !ok {
		// Embedded objects carry no @context, which go-fed refuses; add it to a shallow copy
		// so the caller's raw map stays what the sender wrote.
		c := make(map[string]any, len(m)+1)
		for k, v := range m {
			c[k] = v
		}
		c["@context"] = asVocabulary
		m = c
	}
	return resolveType(ctx, m)
}

// resolveType wraps streams.ToType. The generated resolver is third-party code frozen since 2020
// and fed attacker-controlled JSON in the inbox worker, so a panic in it becomes an error
// rather than a crashed worker.
func resolveType(ctx context.Context, m map[string]any) (t vocab.Type, err error) {
	name := rawType(m)
	if len(name) > 64 {
		name = name[:64] // it ends up in logs
	}
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("parse %q: go-fed panicked: %v", name, r)
		}
	}()
	t, err = streams.ToType(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", name, err)
	}
	return t, nil
}

// EmbeddedObject returns the object of an activity's raw map when it is embedded (or the first
// embedded one of a list), nil when it is a bare IRI or missing.
func EmbeddedObject(raw map[string]any) map[string]any {
	switch o := raw["object"].(type) {
	case map[string]any:
		return o
	case []any:
		if len(o) > 0 {
			m, _ := o[0].(map[string]any)
			return m
		}
	}
	return nil
}

// EmbeddedType returns the typed object embedded in a parsed activity (the Note of a Create,
// the Follow of an Accept), nil when the object is a bare IRI or missing. Parse already built
// it, so this saves parsing the embedded map again with ParseMap.
func EmbeddedType(t vocab.Type) vocab.Type {
	a, ok := t.(interface {
		GetActivityStreamsObject() vocab.ActivityStreamsObjectProperty
	})
	if !ok {
		return nil
	}
	p := a.GetActivityStreamsObject()
	if p == nil || p.Len() == 0 {
		return nil
	}
	return p.At(0).GetType()
}

// IsPublic reports whether an audience entry is the public collection, including the
// compacted forms Mastodon also accepts.
func IsPublic(aud string) bool {
	return aud == PublicAudience || aud == "as:Public" || aud == "Public"
}

// HostOf returns the host[:port] of a URI ("" if not absolute http(s)). The host is lower-cased
// and a default port dropped, so results compare equal when the URIs name the same origin.
func HostOf(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	host := strings.ToLower(u.Host)
	if p := u.Port(); (p == "443" && u.Scheme == "https") || (p == "80" && u.Scheme == "http") {
		host = strings.TrimSuffix(host, ":"+p)
	}
	host = strings.TrimSuffix(host, ":") // "https://eng.example:/" has an empty port
	if host == "" || strings.HasPrefix(host, ":") {
		return ""
	}
	return host
}

// iri wraps s for streams so that it is serialized byte for byte. url.URL.String re-escapes
// some parsed URLs (non-ASCII paths, for one), which would change ids that other servers compare
// literally; those are kept as an Opaque-only URL, whose String is exactly s.
func iri(s string) *url.URL {
	if u, err := url.Parse(s); err == nil && u.String() == s {
		return u
	}
	return &url.URL{Opaque: s}
}

// Site is what conversions need to know about the local instance.
type Site struct {
	BaseURL string // https://eng.example
	Domain  string // eng.example (host[:port])
	// Renderer sanitizes remote HTML. Building one compiles the sanitizer's policy, so
	// long-lived callers should set it; when nil each conversion builds its own.
	Renderer *text.Renderer
}

// renderer returns the site's shared renderer, or builds one when the caller left it unset.
func (s Site) renderer() *text.Renderer {
	if s.Renderer != nil {
		return s.Renderer
	}
	return text.NewRenderer(s.BaseURL)
}

// checkDepth rejects JSON nested deeper than maxDepth without decoding it: a byte scan that
// skips strings is exact for valid JSON and allocates nothing, unlike a json.Decoder token walk.
// Invalid JSON may be miscounted, but the decoder that runs next refuses it anyway.
func checkDepth(b []byte) error {
	depth := 0
	inString, escaped := false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > maxDepth {
				return errTooDeep
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// The readers below work on the raw JSON map rather than go-fed's typed values. go-fed tries
// every string as an IRI first, so a summary such as "CW: spoilers" comes back as the IRI
// "cw: spoilers" and is lost as text; it also re-escapes ids through url.URL and drops
// contentMap when content is present. The raw map keeps what the sender wrote, which is what
// other servers compare and display.

// rawString returns v when it is a string.
func rawString(v any) string {
	s, _ := v.(string)
	return text.StripControls(s)
}

// rawList returns v as a list: an array as it is, one value as a one-element list, nil for
// null or missing.
func rawList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// rawID returns the id of an IRI or embedded object, or of the first one of a list.
func rawID(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		return rawString(x["id"])
	case []any:
		for _, e := range x {
			if id := rawID(e); id != "" {
				return id
			}
		}
	}
	return ""
}

// rawIDs returns the ids of one IRI/object or a list of them, skipping what has none.
func rawIDs(v any) []string {
	var ids []string
	for _, e := range rawList(v) {
		switch x := e.(type) {
		case string:
			if x != "" {
				ids = append(ids, x)
			}
		case map[string]any:
			if id := rawString(x["id"]); id != "" {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// rawText returns a natural-language property: key as a string, else one value of key+"Map".
func rawText(m map[string]any, key string) string {
	if s, ok := m[key].(string); ok {
		return text.StripControls(s)
	}
	lm, _ := m[key+"Map"].(map[string]any)
	return text.StripControls(langMapText(lm))
}

// langMapText returns one text of a language map: the "und" one, else the alphabetically first
// language's, so the choice is stable.
func langMapText(lm map[string]any) string {
	if s, ok := lm["und"].(string); ok {
		return s
	}
	best, bestLang := "", ""
	for lang, v := range lm {
		if s, ok := v.(string); ok && (bestLang == "" || lang < bestLang) {
			best, bestLang = s, lang
		}
	}
	return best
}

// rawTime parses an xsd:dateTime; zero when missing or malformed. Fractional seconds
// (Misskey, Pleroma) are accepted.
func rawTime(v any) time.Time {
	s, ok := v.(string)
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// rawBool reads a boolean; null, missing and non-booleans are false.
func rawBool(v any) bool {
	b, _ := v.(bool)
	return b
}

// rawType returns the type of an embedded object, or the first string of a type list.
func rawType(m map[string]any) string {
	switch t := m["type"].(type) {
	case string:
		return t
	case []any:
		for _, e := range t {
			if s, ok := e.(string); ok {
				return s
			}
		}
	}
	return ""
}

// isHTTPURL reports whether s is an absolute http(s) URL.
func isHTTPURL(s string) bool {
	return HostOf(s) != ""
}

// httpURL returns s when it is an absolute http(s) URL, "" otherwise, so that an odd value
// from a remote server never becomes a link or a delivery target.
func httpURL(s string) string {
	if isHTTPURL(s) {
		return s
	}
	return ""
}
