package codemode

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// decodeFast decodes the messages of every call — a call from the worker, a reply from the
// host — and the run message without encoding/json's reflection, which would be a good part of
// a binding call's cost, and of a cold worker's start (its first use builds type caches). It
// accepts only objects whose keys are among t, id, kind, binding, method, args, value and run
// (and the run's own), whose strings have no surrogate escapes and whose numbers are plain
// decimals; for anything else it reports false and decodeMessage decides. What it accepts,
// decodeMessage accepts and decodes the same way (FuzzDecodeFast checks).
func decodeFast(b []byte) (*message, bool) {
	p := fastParser{b: b}
	m := &message{}
	p.ws()
	if !p.byte('{') {
		return nil, false
	}
	p.ws()
	if p.byte('}') {
		return p.end(m)
	}
	for {
		p.ws()
		key, ok := p.plainString()
		if !ok {
			return nil, false
		}
		p.ws()
		if !p.byte(':') {
			return nil, false
		}
		p.ws()
		switch key {
		case "t", "kind", "binding", "method":
			s, ok := p.plainString()
			if !ok {
				return nil, false
			}
			switch key {
			case "t":
				m.T = s
			case "kind":
				m.Kind = s
			case "binding":
				m.Binding = s
			default:
				m.Method = s
			}
		case "id":
			id, ok := p.uint(64)
			if !ok {
				return nil, false
			}
			m.ID = id
		case "run":
			if m.Run, ok = p.run(); !ok {
				return nil, false
			}
		case "value":
			v, ok := p.rawValue()
			if !ok {
				return nil, false
			}
			if string(v) == "null" {
				v = json.RawMessage("null")
			}
			m.Value = v
		case "args":
			if p.literal("null") {
				m.Args = nil
				break
			}
			if !p.byte('[') {
				return nil, false
			}
			p.ws()
			args := []json.RawMessage{}
			if !p.byte(']') {
				for {
					p.ws()
					v, ok := p.rawValue()
					if !ok {
						return nil, false
					}
					args = append(args, v)
					p.ws()
					if p.byte(']') {
						break
					}
					if !p.byte(',') {
						return nil, false
					}
				}
			}
			m.Args = args
		default:
			return nil, false
		}
		p.ws()
		if p.byte('}') {
			return p.end(m)
		}
		if !p.byte(',') {
			return nil, false
		}
	}
}

// run parses a run message's object; null is a nil run.
func (p *fastParser) run() (*runMsg, bool) {
	if p.literal("null") {
		return nil, true
	}
	if !p.byte('{') {
		return nil, false
	}
	r := &runMsg{}
	p.ws()
	if p.byte('}') {
		return r, true
	}
	for {
		p.ws()
		key, ok := p.plainString()
		if !ok {
			return nil, false
		}
		p.ws()
		if !p.byte(':') {
			return nil, false
		}
		p.ws()
		switch key {
		case "name", "code":
			v, ok := p.string()
			if !ok {
				return nil, false
			}
			if key == "name" {
				r.Name = v
			} else {
				r.Code = v
			}
		case "map":
			v, ok := p.rawValue()
			if !ok {
				return nil, false
			}
			r.Map = v
		case "wall_ms", "cpu_ms", "memory", "output":
			n, ok := p.uint(63)
			if !ok {
				return nil, false
			}
			switch key {
			case "wall_ms":
				r.WallMS = int64(n)
			case "cpu_ms":
				r.CPUMS = int64(n)
			case "memory":
				r.Memory = int64(n)
			default:
				r.Output = int64(n)
			}
		case "no_monitor":
			switch {
			case p.literal("true"):
				r.NoMonitor = true
			case p.literal("false"):
				r.NoMonitor = false
			default:
				return nil, false
			}
		case "bindings":
			if r.Bindings, ok = p.bindings(); !ok {
				return nil, false
			}
		default:
			return nil, false
		}
		p.ws()
		if p.byte('}') {
			return r, true
		}
		if !p.byte(',') {
			return nil, false
		}
	}
}

// bindings parses an object of arrays of strings; null is nil.
func (p *fastParser) bindings() (map[string][]string, bool) {
	if p.literal("null") {
		return nil, true
	}
	if !p.byte('{') {
		return nil, false
	}
	out := map[string][]string{}
	p.ws()
	if p.byte('}') {
		return out, true
	}
	for {
		p.ws()
		key, ok := p.plainString()
		if !ok {
			return nil, false
		}
		if _, dup := out[key]; dup {
			return nil, false // encoding/json merges duplicates its own way
		}
		p.ws()
		if !p.byte(':') {
			return nil, false
		}
		p.ws()
		var list []string
		if !p.literal("null") {
			if !p.byte('[') {
				return nil, false
			}
			list = []string{}
			p.ws()
			if !p.byte(']') {
				for {
					p.ws()
					v, ok := p.string()
					if !ok {
						return nil, false
					}
					list = append(list, v)
					p.ws()
					if p.byte(']') {
						break
					}
					if !p.byte(',') {
						return nil, false
					}
				}
			}
		}
		out[key] = list
		p.ws()
		if p.byte('}') {
			return out, true
		}
		if !p.byte(',') {
			return nil, false
		}
	}
}

// uint parses a plain decimal (no sign, no leading zero, no fraction) of at most bits bits.
func (p *fastParser) uint(bits int) (uint64, bool) {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	digits := string(p.b[start:p.i])
	if digits == "" || (len(digits) > 1 && digits[0] == '0') {
		return 0, false
	}
	if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, bits)
	return n, err == nil
}

// string reads a JSON string: escapes decoded, valid UTF-8. A \u escape of a surrogate, which
// encoding/json pairs up or replaces its own way, and invalid UTF-8 are left to it.
func (p *fastParser) string() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := p.b[start:p.i]
			p.i++
			if !utf8.Valid(s) {
				return "", false
			}
			return string(s), true
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.i++
	}
	buf := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			if !utf8.Valid(buf) {
				return "", false
			}
			return string(buf), true
		case c < 0x20:
			return "", false
		case c == '\\':
			p.i++
			if p.i >= len(p.b) {
				return "", false
			}
			switch e := p.b[p.i]; e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				if len(p.b)-p.i < 5 {
					return "", false
				}
				r, err := strconv.ParseUint(string(p.b[p.i+1:p.i+5]), 16, 32)
				if err != nil || (r >= 0xd800 && r < 0xe000) {
					return "", false
				}
				for _, h := range p.b[p.i+1 : p.i+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return "", false // ParseUint takes a sign or an underscore; JSON does not
					}
				}
				buf = utf8.AppendRune(buf, rune(r))
				p.i += 4
			default:
				return "", false
			}
			p.i++
		default:
			buf = append(buf, c)
			p.i++
		}
	}
	return "", false
}

type fastParser struct {
	b []byte
	i int
}

func (p *fastParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *fastParser) byte(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *fastParser) literal(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

// end accepts the message if only white space follows it.
func (p *fastParser) end(m *message) (*message, bool) {
	p.ws()
	return m, p.i == len(p.b)
}

// plainString reads a JSON string without escapes or control characters, in valid UTF-8.
func (p *fastParser) plainString() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			if !utf8.Valid(s) {
				return "", false
			}
			return string(s), true
		case c == '\\' || c < 0x20:
			return "", false
		}
		p.i++
	}
	return "", false
}

// rawValue returns the next JSON value, validated, as raw bytes (a copy). It finds the end of
// the value (the end of its string or container, or the next ',', '}' or ']' after a scalar)
// and lets json.Valid judge what lies between.
func (p *fastParser) rawValue() (json.RawMessage, bool) {
	start := p.i
	depth := 0
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case '"':
			p.i++
			for p.i < len(p.b) && p.b[p.i] != '"' {
				if p.b[p.i] == '\\' {
					p.i++
				}
				p.i++
			}
			if p.i >= len(p.b) {
				return nil, false
			}
			p.i++
			if depth == 0 {
				return p.valid(start)
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return p.valid(start)
			}
			depth--
			p.i++
			if depth == 0 {
				return p.valid(start)
			}
			continue
		case ',':
			if depth == 0 {
				return p.valid(start)
			}
		}
		p.i++
	}
	return p.valid(start)
}

// valid returns b[start:i], without trailing white space, if it is one valid JSON value.
func (p *fastParser) valid(start int) (json.RawMessage, bool) {
	v := p.b[start:p.i]
	for len(v) > 0 {
		switch v[len(v)-1] {
		case ' ', '\t', '\n', '\r':
			v = v[:len(v)-1]
			continue
		}
		break
	}
	if len(v) == 0 || !json.Valid(v) {
		return nil, false
	}
	return append(json.RawMessage(nil), v...), true
}
