package schemats

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// nestObjects returns levels object schemas, each the property "a" of the one before, around
// inner.
func nestObjects(levels int, inner any) map[string]any {
	s := inner
	for range levels {
		s = map[string]any{"type": "object", "properties": map[string]any{"a": s}}
	}
	m, _ := s.(map[string]any)
	return m
}

func TestTypeDepth(t *testing.T) {
	str := map[string]any{"type": "string"}
	tests := []struct {
		name   string
		schema any
		want   string
	}{
		{"string at level 8", nestObjects(7, str), strings.Repeat("{ a?: ", 7) + "string" + strings.Repeat(" }", 7)},
		{"string at level 9", nestObjects(8, str), strings.Repeat("{ a?: ", 8) + "any" + strings.Repeat(" }", 8)},
		{"arrays count as levels", raw(`{"items":{"items":{"items":{"items":{"items":{"items":{"items":{"items":{"type":"string"}}}}}}}}}`), "any[][][][][][][][]"},
		{"literals count as levels", raw(`{"const":[[[[[[[[[1]]]]]]]]]}`), "[[[[[[[[any]]]]]]]]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Type(tt.schema)
			if got != tt.want {
				t.Errorf("Type() =\n%s\nwant\n%s", got, tt.want)
			}
			if err := checkType(got); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestTypeCut checks renderings longer than the limit: cut at a member, the rest as any.
func TestTypeCut(t *testing.T) {
	manyProps := map[string]any{}
	var required []any
	for i := range 1000 {
		name := fmt.Sprintf("p%04d", i)
		manyProps[name] = map[string]any{"type": "string", "description": "a property with a description"}
		if i%2 == 0 {
			required = append(required, name)
		}
	}
	var consts, elems []any
	for i := range 2000 {
		consts = append(consts, map[string]any{"const": fmt.Sprintf("value-%d", i)})
		elems = append(elems, map[string]any{"type": "number"})
	}
	enum := make([]any, 100_000)
	for i := range enum {
		enum[i] = i
	}
	tests := []struct {
		name       string
		schema     any
		wantPrefix string
		wantSuffix string
	}{
		{"properties", map[string]any{"type": "object", "properties": manyProps, "required": required},
			"{ /** a property with a description */ p0000: string; /** a property with a description */ p0002: string; ", "; [key: string]: any }"},
		{"anyOf", map[string]any{"anyOf": consts}, `"value-0" | "value-1" | `, " | any"},
		{"enum", map[string]any{"enum": enum}, "0 | 1 | 2 | ", " | any"},
		{"tuple", map[string]any{"prefixItems": elems}, "[number, number, ", ", ...any[]]"},
		{"nested", nestObjects(3, map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": manyProps}}),
			"{ a?: { a?: { a?: { /** a property", "; [key: string]: any }[] } } }"},
		{"object keys in a literal", map[string]any{"const": manyProps}, `{ p0000: { description: "a property with a description"; type: "string" }; `, "; [key: string]: any }"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Type(tt.schema)
			if len(got) > maxLen || len(got) < maxLen-200 {
				t.Errorf("len = %d, want a little under %d", len(got), maxLen)
			}
			if !strings.HasPrefix(got, tt.wantPrefix) || !strings.HasSuffix(got, tt.wantSuffix) {
				t.Errorf("Type() = %s\nwant it to start with %q and end with %q", got, tt.wantPrefix, tt.wantSuffix)
			}
			if err := checkType(got); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestTypeCutEverywhere renders a schema whose full rendering grows past the limit in small
// steps, so that the cut falls at every kind of position once.
func TestTypeCutEverywhere(t *testing.T) {
	member := raw(`{"type":"object","properties":{"id":{"type":"integer","description":"The id"},
		"tags":{"type":"array","items":{"anyOf":[{"type":"string"},{"type":"array","items":{"const":-1}}]}},
		"pair":{"prefixItems":[{"type":"string"},{"enum":["x","y"]}],"items":{"type":["number","null"]}},
		"both":{"allOf":[{"properties":{"a":{}}},{"anyOf":[{"type":"null"},{"properties":{"b":{}}}]}]},
		"map":{"additionalProperties":{"type":"boolean"}}},"required":["id"]}`)
	var m any
	if err := json.Unmarshal(member, &m); err != nil {
		t.Fatal(err)
	}
	for n := 1; n < 40; n++ {
		props := map[string]any{}
		for i := range n {
			props[fmt.Sprintf("k%02d", i)] = m
		}
		for _, schema := range []any{
			map[string]any{"properties": props},
			map[string]any{"type": "array", "items": map[string]any{"properties": props}},
			map[string]any{"anyOf": []any{map[string]any{"properties": props}, map[string]any{"type": "string"}}},
		} {
			got := Type(schema)
			if len(got) > maxLen {
				t.Fatalf("%d members: len = %d", n, len(got))
			}
			if err := checkType(got); err != nil {
				t.Fatalf("%d members: %v", n, err)
			}
		}
	}
}

// hostile returns makers of schemas built to be expensive: each must render with bounded
// work into a bounded, valid type.
func hostile() map[string]func() any {
	return map[string]func() any{
		// Billion laughs: each definition uses the next one four times, 40 levels deep.
		"laughs": func() any {
			defs := map[string]any{"d40": map[string]any{"type": "string"}}
			for i := 39; i >= 0; i-- {
				next := map[string]any{"$ref": fmt.Sprintf("#/$defs/d%d", i+1)}
				defs[fmt.Sprintf("d%d", i)] = map[string]any{"allOf": []any{next, next}, "anyOf": []any{next, next}}
			}
			return map[string]any{"$defs": defs, "$ref": "#/$defs/d0"}
		},
		// A chain of 10000 definitions, each only a $ref to the next.
		"ref chain": func() any {
			defs := map[string]any{}
			for i := range 10_000 {
				defs[fmt.Sprintf("c%d", i)] = map[string]any{"$ref": fmt.Sprintf("#/$defs/c%d", i+1)}
			}
			return map[string]any{"$defs": defs, "$ref": "#/$defs/c0"}
		},
		// Wide fan-out: 1000 properties, each a definition with the same 1000 properties.
		"wide fan-out": func() any {
			props := map[string]any{}
			for i := range 1000 {
				props[fmt.Sprintf("p%d", i)] = map[string]any{"$ref": "#/$defs/W"}
			}
			return map[string]any{"properties": props, "$defs": map[string]any{"W": map[string]any{"properties": props}}}
		},
		// 100000 levels of anyOf, each level's two members the same map.
		"deep": func() any {
			deep := map[string]any{"type": "string"}
			for range 100_000 {
				deep = map[string]any{"anyOf": []any{deep, deep}}
			}
			return deep
		},
		"cyclic Go map": func() any {
			self := map[string]any{"type": "object"}
			self["properties"] = map[string]any{"self": self}
			return self
		},
		"huge enum": func() any {
			values := make([]any, 300)
			for i := range values {
				values[i] = strings.Repeat("e", i)
			}
			enum := make([]any, 1_000_000)
			for i := range enum {
				enum[i] = values[i%len(values)]
			}
			return map[string]any{"enum": enum}
		},
		"10k properties": func() any {
			props := map[string]any{}
			var required []any
			desc := strings.Repeat("d */ ", 100)
			for i := range 10_000 {
				props[fmt.Sprintf("p%d", i)] = map[string]any{"description": desc, "default": i}
				required = append(required, fmt.Sprintf("p%d", i))
			}
			return map[string]any{"properties": props, "required": required}
		},
		"long pointer": func() any {
			return map[string]any{"$ref": "#" + strings.Repeat("/x", 100_000)}
		},
		"long name": func() any {
			return map[string]any{"properties": map[string]any{strings.Repeat("n", 100_000): map[string]any{}}}
		},
	}
}

func TestTypeHostile(t *testing.T) {
	for name, make := range hostile() {
		t.Run(name, func(t *testing.T) {
			got := Type(make())
			if len(got) > maxLen {
				t.Errorf("len = %d", len(got))
			}
			if err := checkType(got); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestTypeWorkBounded checks that the work for a schema built to explode (each definition
// using the next one four times, 4^40 expansions in full) stays bounded: counted in
// allocations, which unlike time are the same on every machine.
func TestTypeWorkBounded(t *testing.T) {
	laughs := hostile()["laughs"]()
	allocs := testing.AllocsPerRun(3, func() { Type(laughs) })
	if allocs > 100_000 {
		t.Errorf("%.0f allocations for one Type call; the step budget should keep it far lower", allocs)
	}
}
