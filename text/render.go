// Package text turns what a user typed into the HTML a Mastodon client
// expects, and sanitizes HTML that arrives from elsewhere.
//
// The output deliberately mirrors Mastodon's TextFormatter and sanitizer
// so that clients written against Mastodon (which style mentions, hashtags
// and shortened links by their classes) render our statuses the same way.
package text

import (
	"html"
	"net/url"
	"strings"
)

// MentionResolver looks up an account by "user" or "user@domain" (without
// the leading @). ok is false when the account is unknown.
type MentionResolver func(acct string) (m Mention, ok bool)

// Mention is a resolved mention.
type Mention struct {
	AccountID string // opaque id
	Username  string // "bob"
	Acct      string // "bob" for local, "bob@sales.example" for remote
	URL       string // profile URL, e.g. https://sales.example/@bob
}

// Rendered is the result of rendering a status text.
type Rendered struct {
	// HTML is the sanitized HTML, or "" for blank text.
	HTML string
	// Mentions holds resolved mentions in order of first appearance,
	// deduplicated by AccountID. It is never nil, so that it encodes as
	// [] in API JSON.
	Mentions []Mention
	// Tags holds hashtag names lower-cased, without '#', deduplicated, in
	// order of first appearance. It is never nil, so that it encodes as [].
	Tags []string
}

// Renderer renders status text for one instance. It is safe for
// concurrent use.
type Renderer struct {
	baseURL string
	san     *Sanitizer
}

// NewRenderer returns a Renderer whose hashtag links point at
// baseURL+"/tags/"+name; baseURL is like "https://eng.example".
func NewRenderer(baseURL string) *Renderer {
	return &Renderer{
		baseURL: strings.TrimRight(baseURL, "/"),
		san:     NewSanitizer(),
	}
}

// Sanitize cleans HTML from remote servers or profile notes; see
// Sanitizer.Sanitize.
func (r *Renderer) Sanitize(html string) string {
	return r.san.Sanitize(html)
}

// Render turns a status as typed into HTML, linking URLs, hashtags and the
// mentions that resolve resolves. A nil resolve leaves every mention as
// text.
//
// Entities are found in the raw text and every piece is escaped on its own
// way out: escaping first would turn "&" in URLs into "&amp;" and make
// entities such as "&#39;" look like hashtags.
func (r *Renderer) Render(text string, resolve MentionResolver) Rendered {
	out := Rendered{Mentions: []Mention{}, Tags: []string{}}
	text = normalizeText(text)
	if strings.TrimSpace(text) == "" {
		return out
	}
	ents := extractEntities(text)

	// Resolve everything before writing: the display name of a mention
	// depends on whether another mentioned account shares its username.
	type lookup struct {
		m  Mention
		ok bool
	}
	cache := make(map[string]lookup)
	resolved := make([]int, len(ents)) // index into out.Mentions, or -1
	seenTag := make(map[string]bool)
	for i, e := range ents {
		resolved[i] = -1
		switch e.kind {
		case entHashtag:
			name := strings.ToLower(e.value)
			if !seenTag[name] {
				seenTag[name] = true
				out.Tags = append(out.Tags, name)
			}
		case entMention:
			if resolve == nil {
				continue
			}
			l, cached := cache[e.value]
			if !cached {
				l.m, l.ok = resolve(e.value)
				cache[e.value] = l
			}
			if !l.ok {
				continue
			}
			idx := -1
			for j, m := range out.Mentions {
				if m.AccountID == l.m.AccountID {
					idx = j
					break
				}
			}
			if idx < 0 {
				idx = len(out.Mentions)
				out.Mentions = append(out.Mentions, l.m)
			}
			resolved[i] = idx
		}
	}
	display := make([]string, len(out.Mentions))
	for i, m := range out.Mentions {
		display[i] = m.Username
		for j, o := range out.Mentions {
			if i != j && strings.EqualFold(m.Username, o.Username) {
				// Mastodon shows the full acct only when the bare
				// username would be ambiguous within this status.
				display[i] = m.Acct
				break
			}
		}
		if display[i] == "" {
			display[i] = m.Acct
		}
	}

	var b strings.Builder
	b.Grow(len(text) * 2)
	b.WriteString("<p>")
	last := 0
	for i, e := range ents {
		writeText(&b, text[last:e.start])
		last = e.end
		switch e.kind {
		case entURL:
			writeURL(&b, e.value)
		case entHashtag:
			b.WriteString(`<a href="`)
			b.WriteString(html.EscapeString(r.baseURL + "/tags/" + url.PathEscape(strings.ToLower(e.value))))
			b.WriteString(`" class="mention hashtag" rel="tag">#<span>`)
			b.WriteString(html.EscapeString(e.value))
			b.WriteString(`</span></a>`)
		case entMention:
			if resolved[i] < 0 {
				writeText(&b, text[e.start:e.end])
				continue
			}
			m := out.Mentions[resolved[i]]
			b.WriteString(`<span class="h-card" translate="no"><a href="`)
			b.WriteString(html.EscapeString(m.URL))
			b.WriteString(`" class="u-url mention">@<span>`)
			b.WriteString(html.EscapeString(display[resolved[i]]))
			b.WriteString(`</span></a></span>`)
		}
	}
	writeText(&b, text[last:])
	b.WriteString("</p>")

	// Our own markup is trusted, but the pass is cheap insurance against a
	// scanner bug turning user text into live markup.
	out.HTML = r.san.clean(b.String(), false)
	return out
}

// normalizeText does what Mastodon does before formatting: statuses are
// stripped when saved, and simple_format folds \r\n and lone \r into \n.
func normalizeText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	return strings.Trim(s, " \t\n\v\f\r\x00")
}

// writeText escapes s and applies Rails' simple_format rules: runs of two
// or more newlines end a paragraph, a single newline is a line break.
// Entities never contain newlines, so a run is never split across calls.
func writeText(b *strings.Builder, s string) {
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			b.WriteString(html.EscapeString(s))
			return
		}
		b.WriteString(html.EscapeString(s[:i]))
		j := i
		for j < len(s) && s[j] == '\n' {
			j++
		}
		if j-i == 1 {
			b.WriteString("<br />")
		} else {
			b.WriteString("</p><p>")
		}
		s = s[j:]
	}
}

// writeURL writes Mastodon's shortened link: clients hide the "invisible"
// spans and add an ellipsis after an "ellipsis" span, so only the first 30
// characters after the scheme (and "www.") show while copying the link
// text still yields the whole URL.
func writeURL(b *strings.Builder, u string) {
	prefix := ""
	for _, p := range [...]string{"https://www.", "http://www.", "https://", "http://"} {
		if strings.HasPrefix(u, p) {
			prefix = p
			break
		}
	}
	rest := u[len(prefix):]
	cut := len(rest)
	n := 0
	for i := range rest {
		if n == 30 {
			cut = i
			break
		}
		n++
	}
	class := ""
	if cut < len(rest) {
		class = "ellipsis"
	}
	b.WriteString(`<a href="`)
	b.WriteString(html.EscapeString(u))
	b.WriteString(`" target="_blank" rel="nofollow noopener noreferrer"><span class="invisible">`)
	b.WriteString(html.EscapeString(prefix))
	b.WriteString(`</span><span class="`)
	b.WriteString(class)
	b.WriteString(`">`)
	b.WriteString(html.EscapeString(rest[:cut]))
	b.WriteString(`</span><span class="invisible">`)
	b.WriteString(html.EscapeString(rest[cut:]))
	b.WriteString(`</span></a>`)
}
