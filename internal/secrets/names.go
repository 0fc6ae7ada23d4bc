package secrets

import (
	"fmt"
	"unicode/utf8"
)

// Limits on what the store holds. They keep the file small and the messages readable; a
// credential is a handful of short strings.
const (
	maxNameLen  = 128
	maxKeyLen   = 128
	maxValueLen = 64 << 10
	maxKeys     = 256
)

// checkName reports whether s may name a credential: letters, digits, '-', '_' and '.',
// starting with a letter or digit (so that it never looks like a command-line flag).
func checkName(s string) error {
	ok := s != "" && len(s) <= maxNameLen && isAlnum(s[0])
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = isAlnum(c) || c == '-' || c == '_' || c == '.'
	}
	if !ok {
		return fmt.Errorf("%q is not a credential name: use letters, digits, '-', '_' and '.', starting with a letter or digit (at most %d characters), e.g. lg-tv or home-assistant", s, maxNameLen)
	}
	return nil
}

// checkKey reports whether s may be a key of a credential. Keys are used as
// {{credential.KEY}} in binding templates, so they are identifiers: letters, digits and '_',
// not starting with a digit.
func checkKey(s string) error {
	if !isIdent(s) || len(s) > maxKeyLen {
		return fmt.Errorf("%q is not a credential key: use letters, digits and '_', not starting with a digit (at most %d characters), e.g. apiKey or tv_ip", s, maxKeyLen)
	}
	return nil
}

// checkValue reports whether v may be stored: valid UTF-8 (the file is JSON), not too long,
// and, when it has the form of an environment reference, a valid one.
func checkValue(key, v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("the value of %s is not valid UTF-8 text", key)
	}
	if len(v) > maxValueLen {
		return fmt.Errorf("the value of %s is %d bytes; at most %d are allowed", key, len(v), maxValueLen)
	}
	if _, _, err := parseValue(v); err != nil {
		return fmt.Errorf("the value of %s: %w", key, err)
	}
	return nil
}

// kindError is an error whose message is a whole sentence and which errors.Is one of the
// package's sentinel errors, so that the sentinel's text need not be squeezed into it.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

func errorOf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// isIdent reports whether s is [A-Za-z_][A-Za-z0-9_]*.
func isIdent(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
