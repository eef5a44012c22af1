package store

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Status records are most of what a status costs in Redis (see BenchmarkStatusMemory), so they
// are stored in a compact form: short field names, no HTML escaping of the content (encoding/json
// turns every < and > into six bytes), times as Unix nanoseconds, no id (the key holds it) and
// URI and URL without the id they end with. The form starts with statusCodecV1, a byte no JSON
// text starts with; records written before it (plain JSON, starting with '{') are still read,
// and are rewritten compactly the next time the status is written.
const statusCodecV1 = '\x01'

// statusCodecV2 starts the form written now: the V1 JSON (without its leading byte), compressed
// with DEFLATE against statusDictionary. A status is mostly its HTML, and the HTML of a post is
// mostly its source text again plus the markup of its links, hashtags and mentions, which the
// dictionary holds: a post with a link and a hashtag goes from some 620 bytes to some 230.
const statusCodecV2 = '\x02'

// statusDictionary is the preset DEFLATE dictionary of statusCodecV2: what our renderer writes
// around links, hashtags and mentions, and the field names of statusRecordV1, the most frequent
// last (DEFLATE reaches near matches more cheaply). Records written with it can only be read with
// it: never change it; a better one needs a new codec byte.
const statusDictionary = `"u":"","ri":"","ra":"","ru":"","sp":"","se":true,"v":"unlisted","v":"private","v":"direct",` +
	`"m":["","md":["","q":{"qp":"","cv":"","et":1,"an":"Web","aw":"https://` +
	`<span class="h-card" translate="no"><a href="https://" class="u-url mention">@<span></span></a></span> ` +
	`<a href="https://" target="_blank" rel="nofollow noopener noreferrer"><span class="invisible">https://www.</span>` +
	`<span class="ellipsis"></span><span class="">` +
	`</span><span class="invisible"></span></a> <br /><p></p><p>` +
	`<a href="https:///tags/" class="mention hashtag" rel="tag">#<span></span></a> ` +
	`{"ub":"https:///users//statuses/","lm":true,"a":"1","lo":true,"t":"","c":"<p>","v":"public","la":"en","g":["` +
	`"],"an":"Web","cd":`

// statusCompressors and statusDecompressors keep DEFLATE's state (hundreds of KiB for a writer)
// from being allocated for every record.
var (
	statusCompressors = sync.Pool{New: func() any {
		w, err := flate.NewWriterDict(nil, flate.DefaultCompression, []byte(statusDictionary))
		if err != nil {
			panic(err) // only for an invalid level
		}
		return w
	}}
	statusDecompressors = sync.Pool{New: func() any {
		return flate.NewReaderDict(nil, []byte(statusDictionary))
	}}
)

// statusRecordV1 is the stored form of a Status after statusCodecV1.
type statusRecordV1 struct {
	URI                string    `json:"u,omitempty"`  // whole URI, when it does not end with the id
	URIBase            string    `json:"ub,omitempty"` // URI = URIBase + id
	URL                string    `json:"l,omitempty"`
	URLBase            string    `json:"lb,omitempty"`
	URLFromURI         bool      `json:"lm,omitempty"` // URL = profileStatusURL(URI)
	AccountID          string    `json:"a"`
	Local              bool      `json:"lo,omitempty"`
	Text               string    `json:"t,omitempty"`
	Content            string    `json:"c,omitempty"`
	SpoilerText        string    `json:"sp,omitempty"`
	Sensitive          bool      `json:"se,omitempty"`
	Visibility         string    `json:"v,omitempty"`
	Language           string    `json:"la,omitempty"`
	InReplyToID        string    `json:"ri,omitempty"`
	InReplyToAccountID string    `json:"ra,omitempty"`
	InReplyToURI       string    `json:"ru,omitempty"`
	ReblogOfID         string    `json:"b,omitempty"`
	Mentions           []string  `json:"m,omitempty"`
	Tags               []string  `json:"g,omitempty"`
	MediaIDs           []string  `json:"md,omitempty"`
	ApplicationName    string    `json:"an,omitempty"`
	ApplicationWebsite string    `json:"aw,omitempty"`
	CreatedAt          int64     `json:"ct,omitempty"`
	CreatedAfterID     *int64    `json:"cd,omitempty"` // CreatedAt = TimeOfID(id) + this many ns
	EditedAt           int64     `json:"et,omitempty"`
	ConversationID     string    `json:"cv,omitempty"`
	Quote              *QuoteRef `json:"q,omitempty"`
	QuotePolicy        string    `json:"qp,omitempty"`
	QuoteManual        string    `json:"qm,omitempty"`
	HasPoll            bool      `json:"p,omitempty"`
	LocalOnly          bool      `json:"lc,omitempty"`
}

// encodeStatus is the stored form of st.
func encodeStatus(st *Status) string {
	r := statusRecordV1{
		AccountID: st.AccountID, Local: st.Local, Text: st.Text, Content: st.Content,
		SpoilerText: st.SpoilerText, Sensitive: st.Sensitive, Visibility: st.Visibility,
		Language: st.Language, InReplyToID: st.InReplyToID, InReplyToAccountID: st.InReplyToAccountID,
		InReplyToURI: st.InReplyToURI, ReblogOfID: st.ReblogOfID, Mentions: st.Mentions, Tags: st.Tags,
		MediaIDs: st.MediaIDs, ApplicationName: st.ApplicationName, ApplicationWebsite: st.ApplicationWebsite,
		CreatedAt: unixNanos(st.CreatedAt), EditedAt: unixNanos(st.EditedAt), ConversationID: st.ConversationID,
		Quote: st.Quote, QuotePolicy: st.QuotePolicy, QuoteManual: st.QuoteManual, HasPoll: st.HasPoll,
		LocalOnly: st.LocalOnly,
	}
	r.URI, r.URIBase = splitIDSuffix(st.URI, st.ID)
	if st.URL != "" && st.URL == profileStatusURL(st.URI) {
		r.URLFromURI = true
	} else {
		r.URL, r.URLBase = splitIDSuffix(st.URL, st.ID)
	}
	if idTime := TimeOfID(st.ID); !idTime.IsZero() && !st.CreatedAt.IsZero() {
		if d := st.CreatedAt.Sub(idTime); d >= 0 && d < time.Second {
			ns := int64(d)
			r.CreatedAt, r.CreatedAfterID = 0, &ns
		}
	}
	var plain bytes.Buffer
	enc := json.NewEncoder(&plain)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&r); err != nil {
		panic(fmt.Sprintf("store: encoding status %s: %v", st.ID, err)) // only plain fields
	}
	var b bytes.Buffer
	b.Grow(plain.Len()/2 + 16)
	b.WriteByte(statusCodecV2)
	w := statusCompressors.Get().(*flate.Writer)
	defer statusCompressors.Put(w)
	w.Reset(&b)
	// Writes to a bytes.Buffer do not fail.
	_, _ = w.Write(bytes.TrimSuffix(plain.Bytes(), []byte("\n")))
	_ = w.Close()
	return b.String()
}

// decodeStatus decodes the stored form of status id, compact or the plain JSON of before.
func decodeStatus(id, raw string, st *Status) error {
	var r statusRecordV1
	switch {
	case strings.HasPrefix(raw, string(statusCodecV2)):
		plain, err := inflateStatus(raw[1:])
		if err != nil {
			return fmt.Errorf("status %s record: %w", id, err)
		}
		if err := json.Unmarshal(plain, &r); err != nil {
			return err
		}
	case strings.HasPrefix(raw, string(statusCodecV1)):
		if err := unmarshalString(raw[1:], &r); err != nil {
			return err
		}
	default:
		return unmarshalString(raw, st)
	}
	*st = Status{
		ID: id, URI: r.URI, URL: r.URL, AccountID: r.AccountID, Local: r.Local, Text: r.Text,
		Content: r.Content, SpoilerText: r.SpoilerText, Sensitive: r.Sensitive, Visibility: r.Visibility,
		Language: r.Language, InReplyToID: r.InReplyToID, InReplyToAccountID: r.InReplyToAccountID,
		InReplyToURI: r.InReplyToURI, ReblogOfID: r.ReblogOfID, Mentions: r.Mentions, Tags: r.Tags,
		MediaIDs: r.MediaIDs, ApplicationName: r.ApplicationName, ApplicationWebsite: r.ApplicationWebsite,
		CreatedAt: fromUnixNanos(r.CreatedAt), EditedAt: fromUnixNanos(r.EditedAt),
		ConversationID: r.ConversationID, Quote: r.Quote, QuotePolicy: r.QuotePolicy,
		QuoteManual: r.QuoteManual, HasPoll: r.HasPoll, LocalOnly: r.LocalOnly,
	}
	if r.URIBase != "" {
		st.URI = r.URIBase + id
	}
	if r.URLBase != "" {
		st.URL = r.URLBase + id
	}
	if r.URLFromURI {
		st.URL = profileStatusURL(st.URI)
	}
	if r.CreatedAfterID != nil {
		st.CreatedAt = TimeOfID(id).Add(time.Duration(*r.CreatedAfterID))
	}
	return nil
}

// inflateStatus undoes the compression of statusCodecV2.
func inflateStatus(compressed string) ([]byte, error) {
	r := statusDecompressors.Get().(io.ReadCloser)
	defer statusDecompressors.Put(r)
	if err := r.(flate.Resetter).Reset(strings.NewReader(compressed), []byte(statusDictionary)); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(3 * len(compressed))
	if _, err := out.ReadFrom(r); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// profileStatusURL is the web URL a status with a URI of the form <origin>/users/<name>/statuses/<id>
// has on its author's profile, <origin>/@<name>/<id>, as local statuses have; "" for other URIs.
func profileStatusURL(uri string) string {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return ""
	}
	host, path, ok := strings.Cut(rest, "/")
	if !ok {
		return ""
	}
	name, id, ok := strings.Cut(strings.TrimPrefix(path, "users/"), "/statuses/")
	if !ok || len(path) == len(name)+len(id)+len("/statuses/") || name == "" || id == "" || strings.Contains(name, "/") || strings.Contains(id, "/") {
		return ""
	}
	return scheme + "://" + host + "/@" + name + "/" + id
}

// splitIDSuffix returns ("", base) when s is base+id, else (s, "").
func splitIDSuffix(s, id string) (whole, base string) {
	if id != "" && len(s) > len(id) && strings.HasSuffix(s, id) {
		return "", s[:len(s)-len(id)]
	}
	return s, ""
}

func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
