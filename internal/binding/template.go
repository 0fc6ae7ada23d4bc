package binding

import (
	"fmt"
	"strings"
)

// A template is text with placeholders: {{name}} stands for the parameter name, and
// {{credential.KEY}} for the value KEY of the binding's credential. Spaces inside the braces
// are ignored ({{ name }}). "}}" outside a placeholder is plain text; "{{" always opens one.

// partKind says what a template part is.
type partKind uint8

const (
	literal partKind = iota
	paramRef
	credRef
)

// part is a piece of a template: literal text, or a reference to a parameter or credential
// key.
type part struct {
	kind partKind
	text string // the literal text, the parameter name or the credential key
}

func (p part) String() string {
	switch p.kind {
	case paramRef:
		return "{{" + p.text + "}}"
	case credRef:
		return "{{credential." + p.text + "}}"
	}
	return p.text
}

// tmpl is a parsed template. Adjacent literal text is one part.
type tmpl []part

// maxTemplateLength bounds one template (a URL, a header value, a body).
const maxTemplateLength = 64 << 10

// parseTemplate splits s into literal text and placeholders. It checks the syntax only; which
// names may be used where is the caller's business.
func parseTemplate(s string) (tmpl, error) {
	if len(s) > maxTemplateLength {
		return nil, fmt.Errorf("longer than %d bytes; shorten it", maxTemplateLength)
	}
	var t tmpl
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t = t.lit(rest)
			return t, nil
		}
		t = t.lit(rest[:i])
		rest = rest[i+2:]
		j := strings.Index(rest, "}}")
		if j < 0 {
			return nil, fmt.Errorf("%q opens a placeholder with {{ that is never closed; write {{name}} or {{credential.KEY}} (a literal \"{{\" cannot be written)", s)
		}
		inner := strings.TrimSpace(rest[:j])
		rest = rest[j+2:]
		p, err := parsePlaceholder(inner)
		if err != nil {
			return nil, err
		}
		t = append(t, p)
	}
}

func parsePlaceholder(inner string) (part, error) {
	if key, ok := strings.CutPrefix(inner, "credential."); ok {
		if !credentialKey.MatchString(key) {
			return part{}, fmt.Errorf("{{%s}}: %q is not a credential key; keys are letters, digits, '_' and '-', not starting with a digit or '-' (write {{credential.apiKey}})", inner, key)
		}
		return part{kind: credRef, text: key}, nil
	}
	if inner == "credential" {
		return part{}, fmt.Errorf("{{credential}} names no key; write {{credential.KEY}}, for a value set with `airlock secret set NAME KEY=VALUE`")
	}
	if !jsIdentifier.MatchString(inner) {
		return part{}, fmt.Errorf("{{%s}} is not a placeholder; write {{name}} for a parameter or {{credential.KEY}} for a credential value", inner)
	}
	return part{kind: paramRef, text: inner}, nil
}

// lit appends literal text, merging it with a literal before it.
func (t tmpl) lit(s string) tmpl {
	if s == "" {
		return t
	}
	if n := len(t); n > 0 && t[n-1].kind == literal {
		t[n-1].text += s
		return t
	}
	return append(t, part{kind: literal, text: s})
}

// whole returns the placeholder when the template is exactly one placeholder and nothing else.
func (t tmpl) whole() (part, bool) {
	if len(t) == 1 && t[0].kind != literal {
		return t[0], true
	}
	return part{}, false
}

// literalOnly reports whether t has no placeholder.
func (t tmpl) literalOnly() bool {
	for _, p := range t {
		if p.kind != literal {
			return false
		}
	}
	return true
}

func (t tmpl) String() string {
	var b strings.Builder
	for _, p := range t {
		b.WriteString(p.String())
	}
	return b.String()
}
