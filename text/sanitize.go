package text

import (
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
)

// Sanitizer cleans untrusted HTML down to what Mastodon's strict remote
// policy allows. It is safe for concurrent use.
//
// Differences from plain bluemonday output, each matching what Mastodon's
// sanitizer (and the HTML parser under it) produces, so clients see the
// markup they expect:
//   - classes are filtered one by one, keeping only h-card, u-url, mention,
//     hashtag, ellipsis and invisible;
//   - h1–h6 become <p><strong>, because clients do not style headings
//     inside statuses;
//   - links whose href is not http, https or relative are replaced by their
//     text, and every remaining link opens in a new tab with
//     rel="nofollow noopener noreferrer" (keeping "tag" for hashtags);
//   - unclosed elements are closed and blocks end an open paragraph, so a
//     stray <a> cannot swallow the rest of the page.
type Sanitizer struct {
	policy *bluemonday.Policy
}

// NewSanitizer builds the policy once; reuse the result.
func NewSanitizer() *Sanitizer {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "span", "del", "s", "pre", "code", "em", "strong",
		"b", "i", "u", "ul", "ol", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6")

	// bluemonday's own URL check (RequireParseableURLs) re-encodes hrefs,
	// which would percent-encode the non-ASCII URLs Render links, so the
	// scheme check is a pattern instead. Entities and character references
	// are already decoded when it runs, and control characters and spaces
	// are refused outright because browsers strip them from schemes
	// ("java\tscript:").
	const urlChar = `[^\x00-\x20\x7f]`
	p.AllowAttrs("href").Matching(regexp.MustCompile(
		`^(?:(?i:https?)://` + urlChar + `+|[^\x00-\x20\x7f:/?#]+(?:[/?#]` + urlChar + `*)?|[/?#]` + urlChar + `*)$`,
	)).OnElements("a")
	p.AllowAttrs("rel").Matching(regexp.MustCompile(`^[A-Za-z \t\n\f\r-]*$`)).OnElements("a")
	p.AllowAttrs("target").Matching(regexp.MustCompile(`^_blank$`)).OnElements("a")
	// Individual classes are filtered after bluemonday (see filterClasses);
	// this only keeps out values that could not be class lists at all.
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^[A-Za-z0-9_ \t\n\f\r-]*$`)).OnElements("a", "span", "p")
	p.AllowAttrs("translate").Matching(regexp.MustCompile(`^no$`)).OnElements("a", "span")
	p.AllowAttrs("lang").Matching(regexp.MustCompile(`^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$`)).Globally()
	p.AllowAttrs("start").Matching(regexp.MustCompile(`^-?[0-9]{1,9}$`)).OnElements("ol")
	p.AllowAttrs("reversed").Matching(regexp.MustCompile(`^(?:|reversed)$`)).OnElements("ol")
	p.AllowAttrs("value").Matching(regexp.MustCompile(`^-?[0-9]{1,9}$`)).OnElements("li")
	return &Sanitizer{policy: p}
}

// Sanitize returns html with everything outside the allow-list removed.
// Script, style and iframe elements go with their content; other unknown
// elements are dropped but their text is kept.
func (s *Sanitizer) Sanitize(html string) string {
	return s.clean(html, true)
}

// clean runs bluemonday and then Mastodon's transformations. Render passes
// forceLinks=false because Mastodon does not add rel/target to its own
// mention and hashtag links.
func (s *Sanitizer) clean(in string, forceLinks bool) string {
	if in == "" {
		return ""
	}
	return rebuild(s.policy.Sanitize(StripControls(in)), forceLinks)
}

// openElem is an element rebuild has opened; close is what ends it, which
// is empty for an <a> that was dropped but whose text was kept.
type openElem struct {
	name, close string
}

// rebuild re-serializes bluemonday's output, which contains only allowed
// elements and attributes, applying the transformations bluemonday cannot
// express.
func rebuild(in string, forceLinks bool) string {
	z := html.NewTokenizer(strings.NewReader(in))
	var b strings.Builder
	b.Grow(len(in) + 64)
	var stack []openElem
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			for i := len(stack) - 1; i >= 0; i-- {
				b.WriteString(stack[i].close)
			}
			return b.String()
		case html.TextToken:
			b.WriteString(html.EscapeString(string(z.Text())))
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			stack = openTag(&b, stack, tok, forceLinks)
			// Only <br> is void here; "<span/>" is empty rather than left
			// open to swallow what follows.
			if tt == html.SelfClosingTagToken && tok.Data != "br" && len(stack) > 0 {
				stack = closeTag(&b, stack, tok.Data)
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			stack = closeTag(&b, stack, string(name))
		}
	}
}

func openTag(b *strings.Builder, stack []openElem, tok html.Token, forceLinks bool) []openElem {
	switch tok.Data {
	case "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "pre", "blockquote":
		// A paragraph cannot contain blocks; HTML parsers end it here, so
		// do the same rather than emit <p><p>.
		stack = closeTag(b, stack, "p")
	}
	switch name := tok.Data; name {
	case "br":
		b.WriteString("<br />")
		return stack
	case "h1", "h2", "h3", "h4", "h5", "h6":
		b.WriteString("<p><strong>")
		return append(stack, openElem{name, "</strong></p>"})
	case "a":
		// Links cannot nest; browsers close the open one first.
		stack = closeTag(b, stack, "a")
		attrs, ok := linkAttrs(tok.Attr, forceLinks)
		if !ok {
			return append(stack, openElem{"a", ""})
		}
		b.WriteString("<a")
		writeAttrs(b, attrs)
		b.WriteString(">")
		return append(stack, openElem{"a", "</a>"})
	default:
		b.WriteString("<")
		b.WriteString(name)
		writeAttrs(b, tok.Attr)
		b.WriteString(">")
		return append(stack, openElem{name, "</" + name + ">"})
	}
}

// closeTag closes name and anything opened inside it; an end tag with
// nothing to close is dropped.
func closeTag(b *strings.Builder, stack []openElem, name string) []openElem {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].name != name {
			continue
		}
		for j := len(stack) - 1; j >= i; j-- {
			b.WriteString(stack[j].close)
		}
		return stack[:i]
	}
	return stack
}

// linkAttrs returns the attributes to write for an <a>, or false when it
// has no usable href and should be reduced to its text.
func linkAttrs(attrs []html.Attribute, forceLinks bool) ([]html.Attribute, bool) {
	hasHref := false
	for _, a := range attrs {
		if a.Key == "href" {
			hasHref = true
		}
	}
	if !hasHref {
		return nil, false
	}
	if !forceLinks {
		return attrs, true
	}
	out := make([]html.Attribute, 0, len(attrs)+2)
	rel := "nofollow noopener noreferrer"
	for _, a := range attrs {
		switch a.Key {
		case "rel":
			for _, f := range strings.Fields(a.Val) {
				if strings.EqualFold(f, "tag") {
					rel = "tag " + rel
					break
				}
			}
		case "target":
		default:
			out = append(out, a)
		}
	}
	out = append(out, html.Attribute{Key: "target", Val: "_blank"}, html.Attribute{Key: "rel", Val: rel})
	return out, true
}

func writeAttrs(b *strings.Builder, attrs []html.Attribute) {
	for _, a := range attrs {
		val := a.Val
		if a.Key == "class" {
			val = filterClasses(a.Val)
			// Dropping every class drops the attribute, but an empty one
			// stays: Mastodon's unshortened links carry class="".
			if val == "" && strings.TrimSpace(a.Val) != "" {
				continue
			}
		}
		b.WriteString(" ")
		b.WriteString(a.Key)
		b.WriteString(`="`)
		b.WriteString(html.EscapeString(val))
		b.WriteString(`"`)
	}
}

// filterClasses keeps the classes Mastodon's web UI gives meaning to;
// anything else could restyle the page around the status.
func filterClasses(v string) string {
	fields := strings.Fields(v)
	kept := fields[:0]
	for _, c := range fields {
		switch c {
		case "h-card", "u-url", "mention", "hashtag", "ellipsis", "invisible":
			kept = append(kept, c)
		}
	}
	return strings.Join(kept, " ")
}
