package federation

import (
	"errors"
	"fmt"
	"html"
	"math"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"

	"watercooler/store"
	"watercooler/text"
)

// maxAttachments is how many attachments NoteToStatus keeps from one remote post.
const maxAttachments = 16

// futureSkew is how far ahead of our clock a remote published time may be before it is taken
// as now: a post dated next year would otherwise sit on top of every timeline.
const futureSkew = 5 * time.Minute

// languageTag matches the BCP 47 tags contentMap keys carry ("en", "pt-BR", "zh-Hant").
var languageTag = regexp.MustCompile(`^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$`)

// NoteContext is what StatusToNote needs besides the status.
type NoteContext struct {
	Author    *store.Account   // local author
	Mentions  []*store.Account // mentioned accounts (local or remote), with URI and Acct()
	Media     []*store.Media
	InReplyTo string   // URI of the replied-to status, "" if none
	Tags      []string // hashtag names
	// QuoteAuthorization is the stamp of an accepted quote, "" if none (convert_quote.go).
	QuoteAuthorization string
}

// StatusToNote builds the Note of a local status, addressed as Mastodon addresses it (see
// mastodonAudience), with Mention and Hashtag tags and Document attachments.
func StatusToNote(site Site, st *store.Status, nc NoteContext) (vocab.ActivityStreamsNote, error) {
	if st == nil || nc.Author == nil {
		return nil, errors.New("status to note: nil status or author")
	}
	if st.URI == "" {
		return nil, fmt.Errorf("status to note: status %s has no URI", st.ID)
	}
	mentions := make([]string, 0, len(nc.Mentions))
	seen := make(map[string]bool, len(nc.Mentions))
	for _, m := range nc.Mentions {
		if m != nil && m.URI != "" && !seen[m.URI] {
			seen[m.URI] = true
			mentions = append(mentions, m.URI)
		}
	}
	to, cc, err := mastodonAudience(st.Visibility, nc.Author.FollowersURI, mentions)
	if err != nil {
		return nil, fmt.Errorf("status to note %s: %w", st.URI, err)
	}

	note := streams.NewActivityStreamsNote()
	setID(note, st.URI)
	unknown := note.GetUnknownProperties()
	if st.URL != "" {
		u := streams.NewActivityStreamsUrlProperty()
		u.AppendIRI(iri(st.URL))
		note.SetActivityStreamsUrl(u)
	}
	at := streams.NewActivityStreamsAttributedToProperty()
	at.AppendIRI(iri(nc.Author.URI))
	note.SetActivityStreamsAttributedTo(at)
	content := streams.NewActivityStreamsContentProperty()
	content.AppendXMLSchemaString(st.Content)
	note.SetActivityStreamsContent(content)
	if st.Language != "" {
		// go-fed's content property holds either content or contentMap, so the map goes in
		// raw beside it, as Mastodon sends both.
		unknown["contentMap"] = map[string]any{st.Language: st.Content}
	}
	if st.SpoilerText != "" {
		s := streams.NewActivityStreamsSummaryProperty()
		s.AppendXMLSchemaString(st.SpoilerText)
		note.SetActivityStreamsSummary(s)
	}
	unknown["sensitive"] = st.Sensitive
	pub := streams.NewActivityStreamsPublishedProperty()
	pub.Set(st.CreatedAt.UTC().Truncate(time.Second))
	note.SetActivityStreamsPublished(pub)
	if !st.EditedAt.IsZero() {
		up := streams.NewActivityStreamsUpdatedProperty()
		up.Set(st.EditedAt.UTC().Truncate(time.Second))
		note.SetActivityStreamsUpdated(up)
	}
	if nc.InReplyTo != "" {
		r := streams.NewActivityStreamsInReplyToProperty()
		r.AppendIRI(iri(nc.InReplyTo))
		note.SetActivityStreamsInReplyTo(r)
	}
	setAudience(note, to, cc)

	// Hashtag is missing from go-fed and an unknown tag cannot join a typed one, so every tag
	// is written raw.
	tags := make([]any, 0, len(nc.Mentions)+len(nc.Tags))
	seen = make(map[string]bool, len(nc.Mentions))
	for _, m := range nc.Mentions {
		if m == nil || m.URI == "" || seen[m.URI] {
			continue
		}
		seen[m.URI] = true
		domain := m.Domain
		if domain == "" {
			domain = site.Domain
		}
		tags = append(tags, map[string]any{"type": "Mention", "href": m.URI, "name": "@" + m.Username + "@" + domain})
	}
	base := strings.TrimSuffix(site.BaseURL, "/")
	for _, name := range nc.Tags {
		if name == "" {
			continue
		}
		tags = append(tags, map[string]any{"type": "Hashtag", "href": base + "/tags/" + url.PathEscape(name), "name": "#" + name})
	}
	unknown["tag"] = tags

	if len(nc.Media) == 0 {
		unknown["attachment"] = []any{}
	} else {
		att := streams.NewActivityStreamsAttachmentProperty()
		for _, m := range nc.Media {
			if m != nil && m.URL != "" {
				att.AppendActivityStreamsDocument(mediaToDocument(m))
			}
		}
		note.SetActivityStreamsAttachment(att)
	}
	addQuoteProperties(unknown, st, nc)
	return note, nil
}

// mastodonAudience addresses a status the way Mastodon's ActivityPub::TagManager does: public goes to
// Public with followers in cc; unlisted swaps the two; private goes to followers with mentions
// in cc; direct goes to the mentioned accounts only.
func mastodonAudience(visibility, followers string, mentions []string) (to, cc []string, err error) {
	var fol []string
	if followers != "" {
		fol = []string{followers}
	}
	switch visibility {
	case store.VisibilityPublic:
		return []string{PublicAudience}, append(fol, mentions...), nil
	case store.VisibilityUnlisted:
		return fol, append([]string{PublicAudience}, mentions...), nil
	case store.VisibilityPrivate:
		return fol, append([]string(nil), mentions...), nil
	case store.VisibilityDirect:
		return append([]string(nil), mentions...), nil, nil
	}
	return nil, nil, fmt.Errorf("unknown visibility %q", visibility)
}

// audienced is what setAudience needs; every object and activity type has these.
type audienced interface {
	GetUnknownProperties() map[string]any
	SetActivityStreamsTo(vocab.ActivityStreamsToProperty)
	SetActivityStreamsCc(vocab.ActivityStreamsCcProperty)
}

// setAudience sets to and cc, writing an empty list as [] as Mastodon does rather than leaving
// the property out.
func setAudience(t audienced, to, cc []string) {
	if len(to) == 0 {
		t.GetUnknownProperties()["to"] = []any{}
	} else {
		p := streams.NewActivityStreamsToProperty()
		for _, s := range to {
			p.AppendIRI(iri(s))
		}
		t.SetActivityStreamsTo(p)
	}
	if len(cc) == 0 {
		t.GetUnknownProperties()["cc"] = []any{}
	} else {
		p := streams.NewActivityStreamsCcProperty()
		for _, s := range cc {
			p.AppendIRI(iri(s))
		}
		t.SetActivityStreamsCc(p)
	}
}

// mediaToDocument builds the Document of an attachment. width, height and focalPoint are not in
// go-fed's Document, so they go in raw.
func mediaToDocument(m *store.Media) vocab.ActivityStreamsDocument {
	doc := streams.NewActivityStreamsDocument()
	mt := m.ContentType
	if mt == "" {
		mt = guessMediaType(m.URL)
	}
	if mt != "" {
		p := streams.NewActivityStreamsMediaTypeProperty()
		p.Set(mt)
		doc.SetActivityStreamsMediaType(p)
	}
	u := streams.NewActivityStreamsUrlProperty()
	u.AppendIRI(iri(m.URL))
	doc.SetActivityStreamsUrl(u)
	if m.Description != "" {
		n := streams.NewActivityStreamsNameProperty()
		n.AppendXMLSchemaString(m.Description)
		doc.SetActivityStreamsName(n)
	}
	if m.Blurhash != "" {
		b := streams.NewTootBlurhashProperty()
		b.Set(m.Blurhash)
		doc.SetTootBlurhash(b)
	}
	unknown := doc.GetUnknownProperties()
	if m.Width > 0 && m.Height > 0 {
		unknown["width"] = m.Width
		unknown["height"] = m.Height
	}
	if m.Type == "image" || m.FocusX != 0 || m.FocusY != 0 {
		unknown["focalPoint"] = []any{m.FocusX, m.FocusY}
	}
	return doc
}

// ParsedNote is a remote Note (or Article/Question/Page/Video treated like a Note) ready to be
// stored.
type ParsedNote struct {
	URI, URL, AttributedTo string
	Content, Summary       string // Content sanitized HTML; Summary plain (CW)
	Sensitive              bool
	To, Cc                 []string
	InReplyTo              string
	Published, Updated     time.Time
	Language               string   // from contentMap's single key when present
	Mentions               []string // hrefs of Mention tags (ONLY from `tag` entries, never from content)
	Hashtags               []string // lower-case names without '#'
	Attachments            []ParsedAttachment
	// Quotes (convert_quote.go): the quoted object, the stamp authorizing the quote, and who
	// may quote this note (canQuote), when it says.
	QuoteURI, QuoteAuthorization string
	HasQuotePolicy               bool
	QuoteAutomatic, QuoteManual  []string
	// Poll is a Question's poll (poll.go), nil for other notes.
	Poll *store.Poll
}

// ParsedAttachment is one media attachment of a remote post.
type ParsedAttachment struct {
	URL, MediaType, Name, Blurhash string
	Width, Height                  int
	FocusX, FocusY                 float64
}

// postTypes are the object types NoteToStatus reads; false marks the ones Mastodon converts
// (title and link) rather than shows as posts.
var postTypes = map[string]bool{
	"Note": true, "Question": true,
	"Article": false, "Page": false, "Video": false, "Audio": false, "Image": false, "Event": false,
}

// NoteToStatus reads a Note-like object. raw is the object's own JSON map (for a Create, the
// embedded object: see EmbeddedObject); when nil it is rebuilt from t, which loses what go-fed
// cannot represent. Misskey's _misskey_content and quote fields and Pleroma's source are
// ignored: content is what every server renders. Article and the other converted types become
// their title, content and a link to the original.
func NoteToStatus(site Site, t vocab.Type, raw map[string]any) (*ParsedNote, error) {
	if t == nil {
		return nil, errors.New("note to status: nil value")
	}
	native, ok := postTypes[t.GetTypeName()]
	if !ok {
		return nil, fmt.Errorf("note to status: %q is not a post type", t.GetTypeName())
	}
	if raw == nil {
		var err error
		if raw, err = t.Serialize(); err != nil {
			return nil, fmt.Errorf("note to status: %w", err)
		}
	}
	n := &ParsedNote{URI: rawString(raw["id"])}
	if !isHTTPURL(n.URI) {
		return nil, fmt.Errorf("note to status: object id %q is not an http(s) URL", n.URI)
	}
	n.AttributedTo = rawID(raw["attributedTo"])
	if !isHTTPURL(n.AttributedTo) {
		return nil, fmt.Errorf("note to status: %s has no attributedTo", n.URI)
	}
	n.URL, _ = linkURL(raw["url"], "text/html")
	if n.URL == "" {
		n.URL = n.URI
	}

	content := rawString(raw["content"])
	if cm, ok := raw["contentMap"].(map[string]any); ok {
		var lang string
		lang, content = contentLanguage(cm, content)
		if languageTag.MatchString(lang) && !strings.EqualFold(lang, "und") {
			n.Language = lang
		}
	}
	switch {
	case !native:
		content = convertedContent(raw, content, n.URL)
	case t.GetTypeName() == "Question":
		if n.Poll = parseQuestion(raw); n.Poll == nil {
			content += pollOptions(raw)
		}
	}
	n.Content = site.renderer().Sanitize(content)
	n.Summary = strings.TrimSpace(text.PlainText(rawText(raw, "summary")))
	// Mastodon marks every post with a content warning sensitive.
	n.Sensitive = rawBool(raw["sensitive"]) || n.Summary != ""
	n.To = audienceIDs(raw["to"])
	n.Cc = audienceIDs(raw["cc"])
	n.InReplyTo = rawID(raw["inReplyTo"])

	now := time.Now().UTC()
	n.Published = rawTime(raw["published"])
	if n.Published.IsZero() || n.Published.After(now.Add(futureSkew)) {
		n.Published = now
	}
	n.Updated = rawTime(raw["updated"])

	seen := make(map[string]bool)
	for _, e := range rawList(raw["tag"]) {
		tag, ok := e.(map[string]any)
		if !ok {
			continue
		}
		switch rawType(tag) {
		case "Mention":
			if href := httpURL(rawString(tag["href"])); href != "" && !seen[href] {
				seen[href] = true
				n.Mentions = append(n.Mentions, href)
			}
		case "Hashtag":
			name := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(rawString(tag["name"])), "#"))
			if name != "" && !strings.ContainsFunc(name, unicode.IsSpace) && !seen["#"+name] {
				seen["#"+name] = true
				n.Hashtags = append(n.Hashtags, name)
			}
		}
	}
	for _, e := range rawList(raw["attachment"]) {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		if a, ok := parseAttachment(m); ok {
			n.Attachments = append(n.Attachments, a)
			if len(n.Attachments) == maxAttachments {
				break
			}
		}
	}
	parseQuote(n, raw)
	return n, nil
}

// contentLanguage picks the language of a post from contentMap: its only key, or the key whose
// text is content. When content is empty the map's text is used.
func contentLanguage(cm map[string]any, content string) (lang, body string) {
	if len(cm) == 1 {
		for k, v := range cm {
			if content == "" {
				content = rawString(v)
			}
			return k, content
		}
	}
	for k, v := range cm {
		if s := rawString(v); s != "" && s == content {
			if lang != "" {
				return "", content // several languages with the same text: no way to tell
			}
			lang = k
		}
	}
	if content == "" {
		content = langMapText(cm)
	}
	return lang, content
}

// convertedContent renders an Article, Page, Video... as a post: its title, its content and a
// link to the original, since those types are written to be read on their own site.
func convertedContent(raw map[string]any, content, link string) string {
	var b strings.Builder
	if name := strings.TrimSpace(rawText(raw, "name")); name != "" {
		b.WriteString("<p><strong>" + html.EscapeString(name) + "</strong></p>")
	}
	b.WriteString(content)
	b.WriteString(`<p><a href="` + html.EscapeString(link) + `">` + html.EscapeString(link) + `</a></p>`)
	return b.String()
}

// pollOptions lists a Question's choices after its text when they make no poll (parseQuestion
// found no option it could keep): a reader still sees what was asked.
func pollOptions(raw map[string]any) string {
	var b strings.Builder
	for _, key := range []string{"oneOf", "anyOf"} {
		for _, e := range rawList(raw[key]) {
			if o, ok := e.(map[string]any); ok {
				if name := strings.TrimSpace(rawText(o, "name")); name != "" {
					b.WriteString("<li>" + html.EscapeString(name) + "</li>")
				}
			}
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "<ul>" + b.String() + "</ul>"
}

// audienceIDs reads to or cc, writing the public collection's shorthands in full so that
// callers compare with PublicAudience only.
func audienceIDs(v any) []string {
	ids := rawIDs(v)
	for i, id := range ids {
		if IsPublic(id) {
			ids[i] = PublicAudience
		}
	}
	return ids
}

// parseAttachment reads a Document-like attachment. url may be a string, a Link or a list of
// Links (Pleroma), whose mediaType stands in when the attachment has none.
func parseAttachment(m map[string]any) (ParsedAttachment, bool) {
	switch rawType(m) {
	case "Document", "Image", "Video", "Audio", "":
	default:
		return ParsedAttachment{}, false // PropertyValue, Link, Note...: not media
	}
	u, mt := linkURL(m["url"], "")
	if u == "" {
		return ParsedAttachment{}, false
	}
	a := ParsedAttachment{
		URL:       u,
		MediaType: rawString(m["mediaType"]),
		Name:      strings.TrimSpace(rawText(m, "name")),
		Blurhash:  rawString(m["blurhash"]),
		Width:     rawDimension(m["width"]),
		Height:    rawDimension(m["height"]),
	}
	if a.MediaType == "" {
		a.MediaType = mt
	}
	if fp, ok := m["focalPoint"].([]any); ok && len(fp) == 2 {
		a.FocusX, a.FocusY = rawFocus(fp[0]), rawFocus(fp[1])
	}
	return a, true
}

// rawDimension reads a pixel size; anything negative, fractional or absurd is 0 (unknown).
func rawDimension(v any) int {
	f, ok := v.(float64)
	if !ok || f < 0 || f > 1<<20 || f != math.Trunc(f) {
		return 0
	}
	return int(f)
}

// rawFocus reads one focal point coordinate, which Mastodon defines on [-1, 1].
func rawFocus(v any) float64 {
	f, ok := v.(float64)
	if !ok || f < -1 || f > 1 {
		return 0
	}
	return f
}

// VisibilityOf maps audiences to Mastodon visibility: Public in to → public; Public in cc →
// unlisted; followersURI in to/cc → private; else direct.
func VisibilityOf(to, cc []string, followersURI string) string {
	for _, a := range to {
		if IsPublic(a) {
			return store.VisibilityPublic
		}
	}
	for _, a := range cc {
		if IsPublic(a) {
			return store.VisibilityUnlisted
		}
	}
	if followersURI != "" {
		for _, l := range [][]string{to, cc} {
			for _, a := range l {
				if a == followersURI {
					return store.VisibilityPrivate
				}
			}
		}
	}
	return store.VisibilityDirect
}
