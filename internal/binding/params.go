package binding

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxSafeInteger is 2^53: integers beyond it do not survive a JavaScript number.
const maxSafeInteger = 1 << 53

// cparam is a checked parameter, ready to validate arguments.
type cparam struct {
	Param
	maxLen  int
	re      *regexp.Regexp
	enum    []any // typed values
	def     any   // typed default; nil when none
	expect  string
	require bool
}

// compileParam checks p (at path) and returns it compiled, or nil after adding problems.
func compileParam(p Param, path string, ps *problems) *cparam {
	bad := len(ps.list)
	if err := checkMemberName(p.Name, "a parameter"); err != nil {
		ps.add(join(path, "name"), "%v", err)
	} else if p.Name == "credential" {
		ps.add(join(path, "name"), `"credential" is reserved ({{credential.KEY}} names a credential value); pick another name`)
	}
	if !slices.Contains(ParamTypes, p.Type) {
		what := "missing"
		if p.Type != "" {
			what = fmt.Sprintf("%q is not a parameter type", p.Type)
		}
		ps.add(join(path, "type"), "%s; write one of %s", what, describeList(ParamTypes, "or"))
		return nil
	}
	c := &cparam{Param: p}
	numeric := p.Type == TypeNumber || p.Type == TypeInteger
	text := p.Type == TypeString || p.Type == TypePath
	compound := p.Type == TypeObject || p.Type == TypeArray
	for _, b := range []struct {
		key string
		v   *float64
	}{{"min", p.Min}, {"max", p.Max}} {
		switch {
		case b.v == nil:
		case !numeric:
			ps.add(join(path, b.key), "%s applies to number and integer parameters, and %s is %s %s; remove it", b.key, p.Name, article(p.Type), p.Type)
		case math.IsNaN(*b.v) || math.IsInf(*b.v, 0):
			ps.add(join(path, b.key), "must be a finite number")
		case p.Type == TypeInteger && (*b.v != math.Trunc(*b.v) || math.Abs(*b.v) > maxSafeInteger):
			ps.add(join(path, b.key), "%s is an integer parameter; write a whole number within ±2^53 for %s", p.Name, b.key)
		}
	}
	if p.Min != nil && p.Max != nil && *p.Min > *p.Max {
		ps.add(join(path, "min"), "min %s is above max %s; swap them", fmtNum(*p.Min), fmtNum(*p.Max))
	}
	switch {
	case p.MaxLength < 0 || p.MaxLength > MaxMaxLength:
		ps.add(join(path, "max_length"), "%d is out of range; write a length from 1 to %d, or 0 (or leave it out) for the default", p.MaxLength, MaxMaxLength)
	case p.MaxLength > 0 && !text && !compound:
		ps.add(join(path, "max_length"), "max_length applies to string, path, object and array parameters, and %s is %s %s; remove it", p.Name, article(p.Type), p.Type)
	}
	c.maxLen = p.MaxLength
	if c.maxLen <= 0 || c.maxLen > MaxMaxLength {
		c.maxLen = DefaultMaxLength
		if compound {
			c.maxLen = DefaultMaxJSONLength
		}
	}
	if p.Pattern != "" {
		if !text {
			ps.add(join(path, "pattern"), "pattern applies to string and path parameters, and %s is %s %s; remove it", p.Name, article(p.Type), p.Type)
		} else if _, err := regexp.Compile(p.Pattern); err != nil {
			ps.add(join(path, "pattern"), "%q is not an RE2 regular expression: %v; fix it (it is matched against the whole value)", p.Pattern, err)
		} else if re, err := regexp.Compile(`^(?:` + p.Pattern + `)$`); err != nil {
			ps.add(join(path, "pattern"), "%q cannot be anchored (^(?:...)$): %v; fix it", p.Pattern, err)
		} else {
			c.re = re
		}
	}
	if len(ps.list) > bad {
		return nil
	}
	c.expect = c.describe()
	if p.Enum != nil {
		if compound {
			ps.add(join(path, "enum"), "enum applies to string, path, number, integer and boolean parameters; remove it")
			return nil
		}
		if len(p.Enum) == 0 {
			ps.add(join(path, "enum"), "empty; list the values allowed, or remove enum")
			return nil
		}
		base := *c // checks the type of each value, without the enum being built
		for i, v := range p.Enum {
			raw, err := json.Marshal(v)
			if err != nil {
				ps.add(index(join(path, "enum"), i), "not a JSON value: %v", err)
				continue
			}
			tv, msg := base.value(raw)
			if msg != "" {
				ps.add(index(join(path, "enum"), i), "%s %s", p.Name, msg)
				continue
			}
			if slices.Contains(c.enum, tv) {
				ps.add(index(join(path, "enum"), i), "%s is listed twice; remove one", describeGot(raw))
				continue
			}
			c.enum = append(c.enum, tv)
		}
		if len(ps.list) > bad {
			return nil
		}
		c.expect = c.describe()
	}
	if p.Default != nil {
		raw, err := json.Marshal(p.Default)
		if err != nil {
			ps.add(join(path, "default"), "not a JSON value: %v", err)
			return nil
		}
		tv, msg := c.value(raw)
		if msg != "" {
			ps.add(join(path, "default"), "the default of %s %s; change it", p.Name, msg)
			return nil
		}
		c.def = tv
	}
	c.require = !p.Optional && p.Default == nil
	return c
}

// describe says what a valid value is: "an integer from 0 to 100".
func (c *cparam) describe() string {
	if len(c.enum) > 0 {
		vals := make([]string, 0, len(c.enum))
		for i, v := range c.enum {
			if i == 12 {
				vals = append(vals, fmt.Sprintf("… (%d in all)", len(c.enum)))
				break
			}
			raw, _ := json.Marshal(v)
			vals = append(vals, string(raw))
		}
		return "one of " + strings.Join(vals, ", ")
	}
	var s string
	switch c.Type {
	case TypeString:
		s = "a string"
		if c.maxLen != DefaultMaxLength {
			s += fmt.Sprintf(" of at most %d characters", c.maxLen)
		}
	case TypePath:
		s = "a relative path (a/b/c: no leading, trailing or double /, no . or .. segments, no \\ ? # % or control characters)"
		if c.maxLen != DefaultMaxLength {
			s += fmt.Sprintf(" of at most %d characters", c.maxLen)
		}
	case TypeNumber, TypeInteger:
		s = "a number"
		if c.Type == TypeInteger {
			s = "an integer"
		}
		switch {
		case c.Min != nil && c.Max != nil:
			s += " from " + fmtNum(*c.Min) + " to " + fmtNum(*c.Max)
		case c.Min != nil:
			s += " of at least " + fmtNum(*c.Min)
		case c.Max != nil:
			s += " of at most " + fmtNum(*c.Max)
		}
	case TypeBoolean:
		s = "true or false"
	case TypeObject:
		s = "an object"
	case TypeArray:
		s = "a list"
	}
	if c.re != nil {
		s += " matching " + c.Pattern
	}
	return s
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// value checks one argument (JSON, not null) and returns it typed — string, float64, int64,
// bool, or json.RawMessage (compact) for objects and lists — or, on failure, the end of a
// message: "must be an integer from 0 to 100, got \"loud\"".
func (c *cparam) value(raw json.RawMessage) (any, string) {
	raw = bytes.TrimSpace(raw)
	fail := func() (any, string) {
		got := describeGot(raw)
		if c.Secret {
			got = "a value that is not shown (the parameter is secret)"
		}
		return nil, "must be " + c.expect + ", got " + got
	}
	if len(raw) == 0 || !json.Valid(raw) {
		return fail()
	}
	var v any
	switch c.Type {
	case TypeString, TypePath:
		var s string
		if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return fail()
		}
		if utf8.RuneCountInString(s) > c.maxLen {
			return fail()
		}
		if c.Type == TypePath && checkPath(s) != "" {
			return fail()
		}
		if c.re != nil && !c.re.MatchString(s) {
			return fail()
		}
		v = s
	case TypeNumber:
		f, ok := number(raw)
		if !ok || !c.inRange(f) {
			return fail()
		}
		v = f
	case TypeInteger:
		i, ok := integer(raw)
		if !ok || !c.inRange(float64(i)) {
			return fail()
		}
		v = i
	case TypeBoolean:
		switch string(raw) {
		case "true":
			v = true
		case "false":
			v = false
		default:
			return fail()
		}
	case TypeObject, TypeArray:
		open := byte('{')
		if c.Type == TypeArray {
			open = '['
		}
		if raw[0] != open {
			return fail()
		}
		var buf bytes.Buffer
		if json.Compact(&buf, raw) != nil || buf.Len() > c.maxLen {
			return fail()
		}
		v = json.RawMessage(buf.Bytes())
	}
	if len(c.enum) > 0 && !slices.Contains(c.enum, v) {
		return fail()
	}
	return v, ""
}

func (c *cparam) inRange(f float64) bool {
	return (c.Min == nil || f >= *c.Min) && (c.Max == nil || f <= *c.Max)
}

// number reads a JSON number.
func number(raw []byte) (float64, bool) {
	if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// integer reads a JSON number that has no fraction and is within ±2^53 (20, 20.0 and 2e1 are
// all 20).
func integer(raw []byte) (int64, bool) {
	if i, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return i, i >= -maxSafeInteger && i <= maxSafeInteger
	}
	f, ok := number(raw)
	if !ok || f != math.Trunc(f) || math.Abs(f) > maxSafeInteger {
		return 0, false
	}
	return int64(f), true
}

// checkPath says what is wrong with a TypePath value, or "".
func checkPath(s string) string {
	if s == "" {
		return "empty"
	}
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return "a control character"
		case r == '\\', r == '?', r == '#', r == '%':
			return fmt.Sprintf("%q", r)
		case r == utf8.RuneError:
			return "invalid UTF-8"
		}
	}
	for seg := range strings.SplitSeq(s, "/") {
		switch seg {
		case "":
			return "an empty segment"
		case ".", "..":
			return "a " + seg + " segment"
		}
	}
	return ""
}

// describeGot describes an argument for a message: a string quoted and cut at 64
// characters, a number or boolean as written, "an object", "a list".
func describeGot(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "invalid JSON"
		}
		if n := utf8.RuneCountInString(s); n > 64 {
			r := []rune(s)
			return strconv.Quote(string(r[:64])+"…") + fmt.Sprintf(" (%d characters)", n)
		}
		return strconv.Quote(s)
	}
	if !json.Valid(raw) {
		return "invalid JSON"
	}
	if len(raw) > 64 {
		return string(raw[:64]) + "…"
	}
	return string(raw)
}
