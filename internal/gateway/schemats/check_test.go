package schemats

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/evanw/esbuild/pkg/api"
)

// checkDelimiters checks what must hold for any text Type or Function returns, whatever the
// schema: brackets, braces and parentheses balance outside string literals and comments,
// every comment is closed, and "*/" appears only where a comment ends.
func checkDelimiters(s string) error {
	var stack []byte
	pairs := map[byte]byte{')': '(', ']': '[', '}': '{', '>': '<'}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return fmt.Errorf("comment at %d is not closed", i)
			}
			i += 2 + end + 1
		case strings.HasPrefix(s[i:], "*/"):
			return fmt.Errorf(`"*/" at %d ends no comment`, i)
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			if j >= len(s) {
				return fmt.Errorf("string at %d is not closed", i)
			}
			i = j
		case c == '(' || c == '[' || c == '{' || c == '<':
			stack = append(stack, c)
		case c == ')' || c == ']' || c == '}' || c == '>':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				return fmt.Errorf("%q at %d closes nothing open", c, i)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("%q is never closed", stack)
	}
	return nil
}

// checkType checks that s is one line holding exactly one TypeScript type in the grammar Type
// writes (stricter than TypeScript), and that esbuild, a real TypeScript parser, accepts it.
func checkType(s string) error {
	if strings.ContainsAny(s, "\n\r\u2028\u2029") {
		return errors.New("more than one line")
	}
	if err := checkDelimiters(s); err != nil {
		return err
	}
	p := &tsParser{s: s}
	if err := p.typ(); err != nil {
		return err
	}
	if p.space(); p.i != len(s) {
		return p.errorf("trailing text")
	}
	return esbuildAccepts("type T = " + s + ";\n")
}

// checkFunction checks Function's output: an optional one-line doc comment and a method
// signature name(args?: T): Promise<T>, each line starting with indent.
func checkFunction(s, indent string) error {
	if err := checkDelimiters(s); err != nil {
		return err
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 2 {
		return fmt.Errorf("%d lines", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, indent) {
			return fmt.Errorf("line %q does not start with the indent", l)
		}
	}
	if len(lines) == 2 {
		c := strings.TrimPrefix(lines[0], indent)
		if !strings.HasPrefix(c, "/** ") || !strings.HasSuffix(c, " */") || strings.Contains(c[3:len(c)-2], "*/") {
			return fmt.Errorf("bad comment line %q", c)
		}
	}
	p := &tsParser{s: strings.TrimPrefix(lines[len(lines)-1], indent)}
	if err := p.key(); err != nil {
		return err
	}
	for _, want := range []string{"(", "args"} {
		if err := p.expect(want); err != nil {
			return err
		}
	}
	p.accept("?")
	if err := p.expect(":"); err != nil {
		return err
	}
	if err := p.typ(); err != nil {
		return err
	}
	for _, want := range []string{")", ":", "Promise", "<"} {
		if err := p.expect(want); err != nil {
			return err
		}
	}
	if err := p.typ(); err != nil {
		return err
	}
	if err := p.expect(">"); err != nil {
		return err
	}
	if p.space(); p.i != len(p.s) {
		return p.errorf("trailing text")
	}
	return esbuildAccepts("declare const tools: {\n" + s + "\n};\n")
}

func esbuildAccepts(src string) error {
	r := api.Transform(src, api.TransformOptions{Loader: api.LoaderTS})
	if len(r.Errors) > 0 {
		return fmt.Errorf("esbuild: %s in %q", r.Errors[0].Text, src)
	}
	return nil
}

// tsParser is a recursive-descent parser for the TypeScript type grammar Type writes:
//
//	type    = inter { "|" inter }
//	inter   = postfix { "&" postfix }
//	postfix = primary { "[" "]" }
//	primary = keyword | string | number | "(" type ")" | "[" [ elem { "," elem } ] "]"
//	        | "{" [ member { ";" member } ] "}"
//	elem    = type | "..." type
//	member  = key [ "?" ] ":" type | "[" "key" ":" "string" "]" ":" type
//
// Comments count as white space.
type tsParser struct {
	s     string
	i     int
	depth int
}

var keywords = map[string]bool{
	"any": true, "never": true, "string": true, "number": true, "boolean": true,
	"null": true, "true": true, "false": true,
}

func (p *tsParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at %d of %q: %s", p.i, p.s, fmt.Sprintf(format, args...))
}

func (p *tsParser) space() {
	for p.i < len(p.s) {
		switch {
		case p.s[p.i] == ' ':
			p.i++
		case strings.HasPrefix(p.s[p.i:], "/*"):
			end := strings.Index(p.s[p.i+2:], "*/")
			if end < 0 {
				return // checkDelimiters reports it
			}
			p.i += 2 + end + 2
		default:
			return
		}
	}
}

func (p *tsParser) accept(tok string) bool {
	p.space()
	if strings.HasPrefix(p.s[p.i:], tok) {
		p.i += len(tok)
		return true
	}
	return false
}

func (p *tsParser) expect(tok string) error {
	if !p.accept(tok) {
		return p.errorf("want %q", tok)
	}
	return nil
}

func (p *tsParser) typ() error {
	if p.depth++; p.depth > 200 {
		return p.errorf("nested too deeply")
	}
	defer func() { p.depth-- }()
	for {
		for {
			if err := p.postfix(); err != nil {
				return err
			}
			if !p.accept("&") {
				break
			}
		}
		if !p.accept("|") {
			return nil
		}
	}
}

func (p *tsParser) postfix() error {
	if err := p.primary(); err != nil {
		return err
	}
	for {
		p.space()
		if !strings.HasPrefix(p.s[p.i:], "[]") {
			return nil
		}
		p.i += 2
	}
}

func (p *tsParser) primary() error {
	p.space()
	if p.i >= len(p.s) {
		return p.errorf("want a type")
	}
	switch c := p.s[p.i]; {
	case c == '(':
		p.i++
		if err := p.typ(); err != nil {
			return err
		}
		return p.expect(")")
	case c == '[':
		p.i++
		return p.tuple()
	case c == '{':
		p.i++
		return p.members()
	case c == '"':
		return p.str()
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	}
	w := p.word()
	if !keywords[w] {
		return p.errorf("want a type, have %q", w)
	}
	return nil
}

func (p *tsParser) word() string {
	start := p.i
	for p.i < len(p.s) {
		r, size := utf8.DecodeRuneInString(p.s[p.i:])
		if !(r == '_' || r == '$' || unicode.IsLetter(r) || p.i > start && unicode.IsDigit(r)) {
			break
		}
		p.i += size
	}
	return p.s[start:p.i]
}

func (p *tsParser) str() error {
	p.i++ // the opening quote
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return nil
		case c < 0x20:
			return p.errorf("control character in a string")
		case c == '\\':
			p.i++
			if p.i >= len(p.s) {
				return p.errorf("unfinished escape")
			}
			switch p.s[p.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i++
			case 'u':
				if p.i+5 > len(p.s) {
					return p.errorf("short \\u escape")
				}
				for _, h := range []byte(p.s[p.i+1 : p.i+5]) {
					if !isHex(h) {
						return p.errorf("bad \\u escape")
					}
				}
				p.i += 5
			default:
				return p.errorf("bad escape")
			}
		default:
			p.i++
		}
	}
	return p.errorf("unterminated string")
}

func (p *tsParser) number() error {
	start := p.i
	for p.i < len(p.s) && strings.IndexByte("-+.eE0123456789", p.s[p.i]) >= 0 {
		p.i++
	}
	if !validNumber(p.s[start:p.i]) {
		return p.errorf("bad number %q", p.s[start:p.i])
	}
	return nil
}

func (p *tsParser) tuple() error {
	if p.accept("]") {
		return nil
	}
	for {
		rest := p.accept("...")
		if err := p.typ(); err != nil {
			return err
		}
		if p.accept("]") {
			return nil
		}
		if rest {
			return p.errorf("a rest element must be last")
		}
		if err := p.expect(","); err != nil {
			return err
		}
	}
}

func (p *tsParser) members() error {
	if p.accept("}") {
		return nil
	}
	index := false
	for {
		if index {
			return p.errorf("the index signature must be last")
		}
		if p.accept("[") {
			index = true
			for _, want := range []string{"key", ":", "string", "]"} {
				if err := p.expect(want); err != nil {
					return err
				}
			}
		} else {
			if err := p.key(); err != nil {
				return err
			}
			p.accept("?")
		}
		if err := p.expect(":"); err != nil {
			return err
		}
		if err := p.typ(); err != nil {
			return err
		}
		if p.accept("}") {
			return nil
		}
		if err := p.expect(";"); err != nil {
			return err
		}
	}
}

func (p *tsParser) key() error {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '"' {
		return p.str()
	}
	if p.word() == "" {
		return p.errorf("want a property name")
	}
	return nil
}
