package schemats

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// propertyKey writes a property or method name: as it is when it is a JavaScript identifier,
// otherwise as a quoted string.
func propertyKey(name string) string {
	if isIdentifier(name) {
		return name
	}
	return quote(name)
}

// isIdentifier reports whether s is an identifier by a conservative reading of the
// ECMAScript grammar (letters, digits, _ and $; not starting with a digit). Reserved words
// are fine as property names.
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '\u2e2f': // a letter (Lm) that ECMAScript excludes from identifiers
			return false
		case r == '_' || r == '$' || unicode.IsLetter(r):
		case i > 0 && unicode.IsDigit(r):
		default:
			return false
		}
	}
	return true
}

// quote writes s as a JSON string literal, which is also a valid TypeScript string literal.
// Invalid UTF-8 becomes U+FFFD, U+2028 and U+2029 are escaped, and a slash next to a star is
// written \/ so that no literal contains a comment delimiter.
func quote(s string) string {
	const hex = "0123456789abcdef"
	var sb strings.Builder
	sb.Grow(len(s) + 2)
	sb.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			sb.WriteString(`\ufffd`)
		case r == '"':
			sb.WriteString(`\"`)
		case r == '\\':
			sb.WriteString(`\\`)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			sb.WriteString(`\u00`)
			sb.WriteByte(hex[r>>4])
			sb.WriteByte(hex[r&0xf])
		case r == '\u2028':
			sb.WriteString(`\u2028`)
		case r == '\u2029':
			sb.WriteString(`\u2029`)
		case r == '/' && (i > 0 && s[i-1] == '*' || i+1 < len(s) && s[i+1] == '*'):
			sb.WriteString(`\/`)
		default:
			sb.WriteString(s[i : i+size])
		}
		i += size
	}
	sb.WriteByte('"')
	return sb.String()
}

// commentText makes s safe and short for the inside of a /** */ comment on one line: runs of
// white space and control characters become one space, bidirectional controls are dropped,
// invalid UTF-8 becomes U+FFFD, "*/" becomes "* /", and text longer than max bytes is cut,
// at a word boundary when there is one, and ends in "…". Only a prefix of a long s is read.
func commentText(s string, max int) string {
	var sb strings.Builder
	space := false
	var last rune
	for _, r := range s {
		if sb.Len() > max+8 {
			break
		}
		switch {
		case unicode.IsSpace(r) || unicode.IsControl(r):
			space = true
			continue
		case isBidiControl(r):
			continue
		}
		if space && sb.Len() > 0 {
			sb.WriteByte(' ')
			last = ' '
		}
		space = false
		if r == '/' && last == '*' {
			sb.WriteByte(' ')
		}
		sb.WriteRune(r) // utf8.RuneError for invalid input: written as U+FFFD
		last = r
	}
	out := sb.String()
	if len(out) <= max {
		return out
	}
	n := max
	for n > 0 && !utf8.RuneStart(out[n]) {
		n--
	}
	out = out[:n]
	if sp := strings.LastIndexByte(out, ' '); sp > max/2 {
		out = out[:sp]
	}
	return strings.TrimRight(out, " ") + "…"
}

// isBidiControl reports whether r changes the display order of text (the "Trojan Source"
// characters), which has no place in a tool description.
func isBidiControl(r rune) bool {
	switch {
	case r == '\u061c', r == '\u200e', r == '\u200f':
		return true
	case '\u202a' <= r && r <= '\u202e', '\u2066' <= r && r <= '\u2069':
		return true
	}
	return false
}

// summary returns the first paragraph of a tool description, prepared by commentText.
func summary(desc string) string {
	const scan = 8 * maxDescription // enough text to fill the summary
	end, text := len(desc), false
	for start := 0; start < len(desc) && start < scan; {
		lineEnd := len(desc)
		if i := strings.IndexByte(desc[start:], '\n'); i >= 0 {
			lineEnd = start + i
		}
		if strings.TrimSpace(desc[start:lineEnd]) == "" {
			if text {
				end = start
				break
			}
		} else {
			text = true
		}
		start = lineEnd + 1
	}
	return commentText(desc[:end], maxDescription)
}
