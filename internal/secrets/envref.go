package secrets

import (
	"fmt"
	"strings"
)

// The reference syntax (${NAME}, $${...} for the literal text) is in the package
// documentation.

// parseValue classifies a stored value: the variable it refers to (ref true), or the literal
// text it stands for (ref false).
func parseValue(v string) (text string, ref bool, err error) {
	n := 0
	for n < len(v) && v[n] == '$' {
		n++
	}
	rest := v[n:]
	if n == 0 || !strings.HasPrefix(rest, "{") || !strings.HasSuffix(rest, "}") || len(rest) < 2 {
		return v, false, nil
	}
	if n >= 2 {
		return v[1:], false, nil
	}
	name := rest[1 : len(rest)-1]
	if !isIdent(name) {
		// The value itself is never quoted: it may be a secret that merely looks like this.
		return "", false, fmt.Errorf("it has the form ${...} of an environment reference, but what is inside the braces is not a variable name (letters, digits and '_', not starting with a digit); to store such a text literally, put one more '$' in front")
	}
	return name, true, nil
}

// EscapeLiteral returns the stored form of the literal text s: s itself, unless s has the
// form of a reference (or of an escaped one), in which case one '$' is added in front. A
// program that stores arbitrary text (not a user's typed value) uses it so that text is never
// mistaken for a reference.
func EscapeLiteral(s string) string {
	n := 0
	for n < len(s) && s[n] == '$' {
		n++
	}
	rest := s[n:]
	if n > 0 && len(rest) >= 2 && rest[0] == '{' && rest[len(rest)-1] == '}' {
		return "$" + s
	}
	return s
}
