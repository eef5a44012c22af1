package text

import (
	"strings"
	"unicode/utf8"
)

// StripControls removes C0 control characters other than tab, newline and carriage return, and
// replaces invalid UTF-8, so text from a client or another server can be stored and federated as it is: other servers
// cannot store NUL.
func StripControls(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if ch := s[i]; ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r' || ch >= utf8.RuneSelf {
			clean = false
			break
		}
	}
	if clean || (utf8.ValidString(s) && !strings.ContainsFunc(s, isStrippedControl)) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isStrippedControl(r) {
			return -1
		}
		return r // strings.Map turns invalid bytes into U+FFFD
	}, s)
}

func isStrippedControl(r rune) bool {
	return r < 0x20 && r != '\t' && r != '\n' && r != '\r'
}
