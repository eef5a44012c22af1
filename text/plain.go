package text

import (
	"strings"

	"golang.org/x/net/html"
)

// PlainText reduces HTML to text for filters and search: tags are
// stripped, entities decoded, <br> becomes "\n" and the boundary between
// paragraphs (or other blocks) "\n\n", so that PlainText undoes Render's
// paragraph and line-break markup. Script and style content is dropped.
// Hidden link parts (Mastodon's "invisible" spans) are kept, so shortened
// URLs come back whole.
func PlainText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	owed := 0 // newlines to write before the next text
	skip := ""
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return strings.TrimSpace(b.String())
		case html.TextToken:
			if skip != "" {
				continue
			}
			t := string(z.Text())
			if (b.Len() == 0 || owed > 0) && strings.TrimSpace(t) == "" {
				// Source formatting between blocks, not content.
				continue
			}
			if b.Len() > 0 {
				b.WriteString(strings.Repeat("\n", owed))
			}
			owed = 0
			b.WriteString(t)
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if skip != "" {
				if tt == html.EndTagToken && tag == skip {
					skip = ""
				}
				continue
			}
			switch tag {
			case "script", "style", "iframe", "noembed", "noframes", "noscript", "title", "template":
				if tt == html.StartTagToken {
					skip = tag
				}
			case "br":
				owed++
			case "li", "tr":
				owed = max(owed, 1)
			case "p", "div", "blockquote", "pre", "ul", "ol", "table",
				"h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header", "footer":
				owed = max(owed, 2)
			}
		}
	}
}

// HashtagNames returns the hashtag names in plain text, lower-cased,
// without '#' and deduplicated in order of first appearance, using the
// same rules as Render (so "#frag" inside a URL does not count). It is
// never nil.
func HashtagNames(text string) []string {
	names := []string{}
	seen := make(map[string]bool)
	for _, e := range extractEntities(normalizeText(text)) {
		if e.kind != entHashtag {
			continue
		}
		name := strings.ToLower(e.value)
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	return names
}

// InstanceActorName is the instance actor's preferredUsername, which WebFinger also answers
// for. Mastodon names it after the domain, and so do we while the domain fits Mastodon's
// username rule (letters, digits and '_', with '.' and '-' only inside): peers WebFinger
// preferredUsername@domain to check an actor, and GoToSocial cannot parse a name with a colon,
// so a domain with a port (127.0.0.3:8133) becomes 127.0.0.3_8133. Every other character that
// does not fit, and a '.' or '-' at either end, becomes '_'. No local user may take the name.
func InstanceActorName(domain string) string {
	if domain == "" {
		return "instance_actor"
	}
	b := []byte(domain)
	for i, c := range b {
		inside := c == '.' || c == '-'
		if !isUserStart(c) && !(inside && i > 0 && i < len(b)-1) {
			b[i] = '_'
		}
	}
	return string(b)
}

// ValidUsername reports whether name is acceptable as a local username
// under Mastodon's rule, ^[a-zA-Z0-9_]+([a-zA-Z0-9_.-]+[a-zA-Z0-9_]+)?$
// and at most 30 characters: letters, digits, '_', '.' and '-', starting
// and ending with a letter, digit or '_'.
func ValidUsername(name string) bool {
	if len(name) == 0 || len(name) > 30 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isUserByte(name[i]) {
			return false
		}
	}
	return isUserStart(name[0]) && isUserStart(name[len(name)-1])
}
