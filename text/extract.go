package text

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The scanners below are hand-written equivalents of the regular
// expressions Mastodon uses (twitter-text's valid_url as patched by
// Mastodon, Account::MENTION_RE and Tag::HASHTAG_RE). Go's regexp has no
// look-behind and no backtracking, and the rules are simple enough that a
// scanner is both clearer and faster.

type entityKind int

const (
	entURL entityKind = iota + 1
	entMention
	entHashtag
)

// entity is a URL, mention or hashtag found in text[start:end].
type entity struct {
	kind       entityKind
	start, end int
	// value is the URL, the acct without '@', or the tag name as typed.
	value string
}

// extractEntities finds URLs, mentions and hashtags left to right. Scanning
// once and skipping past each match gives the same result as Mastodon's
// remove_overlapping_entities (the entity that starts first wins), which is
// what keeps "#frag" in a URL from becoming a hashtag.
func extractEntities(s string) []entity {
	var out []entity
	for i := 0; i < len(s); {
		var e entity
		var ok bool
		switch c := s[i]; {
		case c == 'h' || c == 'H':
			e, ok = scanURL(s, i)
		case c == '@':
			e, ok = scanMention(s, i)
		case c == '#':
			e, ok = scanHashtag(s, i, 1)
		case c == 0xEF && strings.HasPrefix(s[i:], "＃"):
			e, ok = scanHashtag(s, i, len("＃"))
		}
		if ok {
			out = append(out, e)
			i = e.end
			continue
		}
		// Stepping a byte at a time is safe: the triggers above are ASCII
		// or a UTF-8 lead byte, which never occur inside another rune.
		i++
	}
	return out
}

func prevRune(s string, i int) (rune, bool) {
	if i == 0 {
		return 0, false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r, true
}

func isASCIIAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// isAlpha approximates Onigmo's [[:alpha:]] (the Alphabetic property).
func isAlpha(r rune) bool {
	return unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_Alphabetic, r)
}

// isWord approximates Onigmo's [[:word:]].
func isWord(r rune) bool {
	return isAlpha(r) || unicode.IsMark(r) || unicode.IsDigit(r) || unicode.Is(unicode.Pc, r)
}

func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// scanURL matches an http(s) URL at s[i:].
func scanURL(s string, i int) (entity, bool) {
	var j int
	switch {
	case hasPrefixFold(s[i:], "https://"):
		j = i + len("https://")
	case hasPrefixFold(s[i:], "http://"):
		j = i + len("http://")
	default:
		return entity{}, false
	}
	// twitter-text's valid_url_preceding_chars: a URL glued to a word,
	// cashtag, hashtag or address is not a URL.
	if r, ok := prevRune(s, i); ok {
		if isASCIIAlnum(r) || strings.ContainsRune("@＠$#＃\uFFFE\uFEFF\uFFFF", r) {
			return entity{}, false
		}
	}

	// Host. Unlike twitter-text we accept hosts without a known TLD, IP
	// addresses and ports, because test instances live on localhost.
	hostStart := j
	if j < len(s) && s[j] == '[' {
		k := j + 1
		for k < len(s) && (isHex(s[k]) || s[k] == ':' || s[k] == '.') {
			k++
		}
		if k == j+1 || k >= len(s) || s[k] != ']' {
			return entity{}, false
		}
		j = k + 1
	} else {
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if !isHostRune(r) {
				break
			}
			j += n
		}
		for j > hostStart && (s[j-1] == '.' || s[j-1] == '-') {
			j--
		}
		if j == hostStart || s[hostStart] == '.' || s[hostStart] == '-' {
			return entity{}, false
		}
	}

	if j < len(s) && s[j] == ':' {
		k := j + 1
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k > j+1 {
			j = k
		}
	}

	if j < len(s) && s[j] == '/' {
		j = scanPath(s, j)
	}

	if j < len(s) && s[j] == '?' {
		k := j + 1
		for k < len(s) {
			r, n := utf8.DecodeRuneInString(s[k:])
			if !isQueryRune(r) {
				break
			}
			k += n
		}
		for k > j+1 {
			r, n := utf8.DecodeLastRuneInString(s[j+1 : k])
			if isQueryEndRune(r) {
				break
			}
			k -= n
		}
		if k > j+1 {
			j = k
		}
	}
	return entity{kind: entURL, start: i, end: j, value: s[i:j]}, true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isHostRune(r rune) bool {
	if r < utf8.RuneSelf {
		return isASCIIAlnum(r) || r == '-' || r == '.' || r == '_'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// scanPath returns the end of the path that starts with the '/' at s[j].
// Parentheses are only part of a URL when balanced, so that
// "(see https://x.example/a)" keeps its closing parenthesis as text, and a
// path may not end in punctuation that usually ends the sentence instead.
func scanPath(s string, j int) int {
	k := j
	firstOpen, depth := -1, 0
loop:
	for k < len(s) {
		r, n := utf8.DecodeRuneInString(s[k:])
		switch {
		case r == '(':
			if depth == 0 {
				firstOpen = k
			}
			depth++
		case r == ')':
			if depth == 0 {
				break loop
			}
			depth--
		case !isPathRune(r):
			break loop
		}
		k += n
	}
	if depth > 0 {
		k = firstOpen
	}
	for k > j+1 {
		r, n := utf8.DecodeLastRuneInString(s[j:k])
		if !strings.ContainsRune(`!*"'「」;:=,.$%[]~&|@`, r) {
			break
		}
		k -= n
	}
	return k
}

func isPathRune(r rune) bool {
	return !unicode.IsSpace(r) && !unicode.IsControl(r) && !isBidiControl(r) &&
		r != '<' && r != '>' && r != '?'
}

// isUChar is twitter-text's UCHARS: non-ASCII is allowed in queries.
func isUChar(r rune) bool {
	return r >= 0xA0 && !unicode.IsSpace(r) && !isBidiControl(r) && !(r >= 0xFDD0 && r <= 0xFDEF)
}

func isQueryRune(r rune) bool {
	return isASCIIAlnum(r) || strings.ContainsRune(`!?*'();:&=+$/%#[]-_.,~|@^`, r) || isUChar(r)
}

func isQueryEndRune(r rune) bool {
	return isASCIIAlnum(r) || strings.ContainsRune(`_&=#/-`, r) || isUChar(r)
}

func isUserStart(c byte) bool {
	return isASCIIAlnum(rune(c)) || c == '_'
}

func isUserByte(c byte) bool {
	return isUserStart(c) || c == '.' || c == '-'
}

// isLatinAccent is twitter-text's latin_accents: "@jos" followed by "é" is
// a name Mastodon cannot represent, so it is no mention at all rather than
// a mention of "jos".
func isLatinAccent(r rune) bool {
	switch {
	case r >= 0xC0 && r <= 0xD6, r >= 0xD8 && r <= 0xF6, r >= 0xF8 && r <= 0x24F,
		r == 0x253, r == 0x254, r == 0x256, r == 0x257, r == 0x259, r == 0x25B,
		r == 0x263, r == 0x268, r == 0x26F, r == 0x272, r == 0x289, r == 0x28B,
		r == 0x2BB, r >= 0x300 && r <= 0x36F, r >= 0x1E00 && r <= 0x1EFF:
		return true
	}
	return false
}

// scanMention matches @user or @user@domain at s[i:], following
// Account::MENTION_RE plus an optional :port on the domain.
func scanMention(s string, i int) (entity, bool) {
	// Not after a word character (e-mail addresses), '/' (URL paths) or
	// '=' (query strings).
	if r, ok := prevRune(s, i); ok && (r == '=' || r == '/' || isWord(r)) {
		return entity{}, false
	}
	j := i + 1
	if j >= len(s) || !isUserStart(s[j]) {
		return entity{}, false
	}
	k := j
	for k < len(s) && isUserByte(s[k]) {
		k++
	}
	for s[k-1] == '.' || s[k-1] == '-' {
		k--
	}
	end := k
	if k < len(s) && s[k] == '@' {
		d := k + 1
		m := d
		for m < len(s) {
			r, n := utf8.DecodeRuneInString(s[m:])
			if !isWord(r) && r != '.' && r != '-' {
				break
			}
			m += n
		}
		for m > d && (s[m-1] == '.' || s[m-1] == '-') {
			m--
		}
		// [[:word:].-]+[[:word:]]+ needs two characters.
		if utf8.RuneCountInString(s[d:m]) >= 2 {
			end = m
			if end < len(s) && s[end] == ':' {
				p := end + 1
				for p < len(s) && p-end <= 5 && s[p] >= '0' && s[p] <= '9' {
					p++
				}
				if p > end+1 {
					if r, _ := utf8.DecodeRuneInString(s[p:]); p == len(s) || !isWord(r) {
						end = p
					}
				}
			}
		}
	}
	// twitter-text's end_mention_match.
	if end < len(s) {
		r, _ := utf8.DecodeRuneInString(s[end:])
		if r == '@' || r == '＠' || isLatinAccent(r) || strings.HasPrefix(s[end:], "://") {
			return entity{}, false
		}
	}
	return entity{kind: entMention, start: i, end: end, value: s[j:end]}, true
}

// isTagSeparator reports Mastodon's HASHTAG_SEPARATORS, which may join
// words inside a tag ("#foo·bar") but may not end it.
func isTagSeparator(r rune) bool {
	return r == '_' || r == '\u00B7' || r == '\u30FB' || r == '\u200C'
}

// scanHashtag matches a hashtag at s[i:] whose sign is signLen bytes long,
// following Tag::HASHTAG_RE.
func scanHashtag(s string, i, signLen int) (entity, bool) {
	// Not after a word character ("C#"), '/' (URL fragments) or ')'.
	if r, ok := prevRune(s, i); ok && (r == '/' || r == ')' || isWord(r)) {
		return entity{}, false
	}
	j := i + signLen
	if r, _ := utf8.DecodeRuneInString(s[j:]); j >= len(s) || !isWord(r) {
		return entity{}, false
	}
	k := j
	for k < len(s) {
		r, n := utf8.DecodeRuneInString(s[k:])
		if !isWord(r) && !isTagSeparator(r) {
			break
		}
		k += n
	}
	for k > j {
		r, n := utf8.DecodeLastRuneInString(s[j:k])
		if isWord(r) {
			break
		}
		k -= n
	}
	name := s[j:k]
	if !validTagName(name) {
		return entity{}, false
	}
	// Mastodon's fix for "#tag" glued to a URL: "#foohttps://x" is #foo.
	if strings.HasPrefix(s[k:], "://") {
		for _, scheme := range [...]string{"https", "http"} {
			if len(name) > len(scheme) && strings.HasSuffix(name, scheme) {
				name = name[:len(name)-len(scheme)]
				k -= len(scheme)
				break
			}
		}
	}
	return entity{kind: entHashtag, start: i, end: k, value: name}, true
}

// validTagName reports whether name, which starts and ends with a word
// character, is a tag: it needs a letter, or a separator strictly inside
// ("#1_2" is a tag, "#2024" is not).
func validTagName(name string) bool {
	n := utf8.RuneCountInString(name)
	idx := 0
	for _, r := range name {
		if isAlpha(r) || isTagSeparator(r) && idx > 0 && idx < n-1 {
			return true
		}
		idx++
	}
	return false
}
