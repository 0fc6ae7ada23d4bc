package schemats

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
)

// decode turns the forms Type accepts into a decoded JSON value. ok is false when the schema
// cannot be used at all (nil, invalid JSON, a value JSON cannot encode).
func decode(schema any) (any, bool) {
	switch s := schema.(type) {
	case nil:
		return nil, false
	case json.RawMessage:
		return decodeJSON(s)
	case []byte:
		return decodeJSON(s)
	case map[string]any, []any, bool, string, float64, json.Number:
		return s, true
	}
	raw, err := json.Marshal(schema)
	if err != nil {
		return nil, false
	}
	return decodeJSON(raw)
}

// decodeJSON decodes exactly one JSON value, keeping numbers as json.Number so literals keep
// their spelling (large integers stay exact).
func decodeJSON(raw []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if len(bytes.TrimSpace(raw[dec.InputOffset():])) != 0 {
		return nil, false // trailing data: not one JSON value
	}
	return v, true
}

// norm returns v as a decoded JSON value. Values of other Go types inside a decoded tree (a
// hand-built map holding []string, int or a *jsonschema.Schema) are converted through JSON;
// what cannot be converted becomes nil.
func norm(v any) any {
	n, _ := normOK(v)
	return n
}

// normOK is norm that also reports whether v could be converted.
func normOK(v any) (any, bool) {
	switch v.(type) {
	case nil, bool, string, float64, json.Number, map[string]any, []any:
		return v, true
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	return decodeJSON(raw)
}

// isTrivial reports whether v is a schema that accepts everything: true or {}.
func isTrivial(v any) bool {
	switch s := norm(v).(type) {
	case bool:
		return s
	case map[string]any:
		return len(s) == 0
	}
	return false
}

// isFalse reports whether v is a schema that accepts nothing: false, or {"not": {}} as
// github.com/google/jsonschema-go writes it.
func isFalse(v any) bool {
	switch s := norm(v).(type) {
	case bool:
		return !s
	case map[string]any:
		not, ok := s["not"]
		return ok && len(s) == 1 && isTrivial(not)
	}
	return false
}

// number returns the TypeScript spelling of a JSON number, or ok false when v is not one.
func number(v any) (string, bool) {
	switch n := norm(v).(type) {
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return "", false
		}
		if n == math.Trunc(n) && math.Abs(n) < 1e21 {
			return strconv.FormatFloat(n, 'f', -1, 64), true
		}
		return strconv.FormatFloat(n, 'g', -1, 64), true
	case json.Number:
		if !validNumber(string(n)) {
			return "", false
		}
		return string(n), true
	}
	return "", false
}

// validNumber reports whether s is a JSON number (which is also a JavaScript numeric literal,
// after an optional minus sign).
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}
