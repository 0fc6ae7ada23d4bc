package schemats

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// raw makes a schema from JSON text, the form a gateway most often holds.
func raw(s string) json.RawMessage { return json.RawMessage(s) }

func readTestdata(t testing.TB, name string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestType(t *testing.T) {
	tests := []struct {
		name   string
		schema any
		want   string
	}{
		// type keywords
		{"string", raw(`{"type":"string"}`), "string"},
		{"number", raw(`{"type":"number"}`), "number"},
		{"integer", raw(`{"type":"integer"}`), "number"},
		{"boolean", raw(`{"type":"boolean"}`), "boolean"},
		{"null", raw(`{"type":"null"}`), "null"},
		{"unknown type name", raw(`{"type":"date"}`), "any"},
		{"type list", raw(`{"type":["string","null"]}`), "string | null"},
		{"type list puts null last", raw(`{"type":["null","integer","number"]}`), "number | null"},
		{"type list with repeats", raw(`{"type":["integer","number","integer"]}`), "number"},
		{"type list with unknown name", raw(`{"type":["string","date"]}`), "any"},
		{"type list of objects", raw(`{"type":["object","null"],"properties":{"a":{"type":"string"}}}`), "{ a?: string } | null"},
		{"empty schema", raw(`{}`), "any"},
		{"true", raw(`true`), "any"},
		{"false", raw(`false`), "never"},
		{"not anything", raw(`{"not":{}}`), "never"},
		{"nullable", raw(`{"type":"string","nullable":true}`), "string | null"},
		{"only annotations", raw(`{"description":"anything","title":"Any"}`), "any"},

		// arrays and tuples
		{"array", raw(`{"type":"array","items":{"type":"string"}}`), "string[]"},
		{"array without items", raw(`{"type":"array"}`), "any[]"},
		{"array of any", raw(`{"type":"array","items":{}}`), "any[]"},
		{"array of nothing", raw(`{"type":"array","items":false}`), "[]"},
		{"array of arrays", raw(`{"type":"array","items":{"type":"array","items":{"type":"number"}}}`), "number[][]"},
		{"array of union", raw(`{"type":"array","items":{"type":["string","number"]}}`), "(string | number)[]"},
		{"array of negative literal", raw(`{"type":"array","items":{"const":-1}}`), "(-1)[]"},
		{"nullable array", raw(`{"type":["null","array"],"items":{"type":"string"}}`), "string[] | null"},
		{"implied array", raw(`{"items":{"type":"boolean"}}`), "boolean[]"},
		{"tuple", raw(`{"type":"array","prefixItems":[{"type":"string"},{"type":"number"}]}`), "[string, number]"},
		{"tuple with rest", raw(`{"prefixItems":[{"type":"string"}],"items":{"type":"number"}}`), "[string, ...number[]]"},
		{"tuple with union rest", raw(`{"prefixItems":[{"type":"string"}],"items":{"type":["number","null"]}}`), "[string, ...(number | null)[]]"},
		{"tuple closed", raw(`{"prefixItems":[{"type":"string"}],"items":false}`), "[string]"},
		{"draft-07 tuple", raw(`{"type":"array","items":[{"type":"string"},{"type":"boolean"}],"additionalItems":{"type":"null"}}`), "[string, boolean, ...null[]]"},

		// enum and const
		{"enum", raw(`{"enum":["a","b",3,null,true]}`), `"a" | "b" | 3 | null | true`},
		{"enum with type", raw(`{"type":"string","enum":["open","closed"]}`), `"open" | "closed"`},
		{"enum repeats", raw(`{"enum":["a","a"]}`), `"a"`},
		{"empty enum", raw(`{"enum":[]}`), "never"},
		{"enum of structured values", raw(`{"enum":[[1,"x"],{"b":2,"a":[]},{}]}`), `[1, "x"] | { a: []; b: 2 } | {}`},
		{"const", raw(`{"const":"fixed"}`), `"fixed"`},
		{"const null", raw(`{"const":null}`), "null"},
		{"const number spelling kept", raw(`{"const":12345678901234567890}`), "12345678901234567890"},
		{"const float", raw(`{"const":1.5e-7}`), "1.5e-7"},
		{"string escaping", raw(`{"const":"a\"b\\c\nd\u2028e\u0001"}`), `"a\"b\\c\nd\u2028e\u0001"`},
		{"comment delimiters in literals", raw(`{"enum":["*/","/*"]}`), `"*\/" | "\/*"`},
		{"long literal widens", raw(`{"enum":["` + strings.Repeat("x", 201) + `","y"]}`), `string | "y"`},

		// combinators
		{"anyOf", raw(`{"anyOf":[{"type":"string"},{"type":"number"}]}`), "string | number"},
		{"oneOf", raw(`{"oneOf":[{"const":"a"},{"type":"array","items":{"type":"string"}}]}`), `"a" | string[]`},
		{"anyOf with any member", raw(`{"anyOf":[{"type":"string"},{}]}`), "any"},
		{"nested unions flatten", raw(`{"anyOf":[{"anyOf":[{"type":"string"},{"type":"null"}]},{"type":"null"}]}`), "string | null"},
		{"array of anyOf", raw(`{"type":"array","items":{"anyOf":[{"type":"string"},{"type":"number"}]}}`), "(string | number)[]"},
		{"allOf", raw(`{"allOf":[{"properties":{"a":{"type":"string"}},"required":["a"]},{"properties":{"b":{"type":"number"}}}]}`), "{ a: string } & { b?: number }"},
		{"allOf with union member", raw(`{"allOf":[{"properties":{"a":{"type":"string"}}},{"anyOf":[{"properties":{"b":{"type":"string"}}},{"type":"null"}]}]}`), "{ a?: string } & ({ b?: string } | null)"},
		{"allOf with unconstrained member", raw(`{"allOf":[{"type":"string"},{"minLength":1}]}`), "string"},
		{"array of intersection", raw(`{"items":{"allOf":[{"properties":{"a":{}}},{"properties":{"b":{}}}]}}`), "({ a?: any } & { b?: any })[]"},
		{"bare object next to anyOf", raw(`{"type":"object","anyOf":[{"properties":{"a":{"type":"string"}},"required":["a"]},{"properties":{"b":{"type":"string"}},"required":["b"]}]}`), "{ a: string } | { b: string }"},
		{"properties next to required-only anyOf", raw(`{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"anyOf":[{"required":["a"]},{"required":["b"]}]}`), "{ a?: string; b?: string }"},

		// objects
		{"object", raw(`{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"number"}},"required":["a"]}`), "{ a: string; b?: number }"},
		{"required order then optional sorted", raw(`{"properties":{"z":{},"y":{},"b":{},"a":{}},"required":["y","b","y"]}`), "{ y: any; b: any; a?: any; z?: any }"},
		{"required but not described", raw(`{"type":"object","properties":{"a":{"type":"string"}},"required":["b"]}`), "{ b: any; a?: string }"},
		{"object without properties", raw(`{"type":"object"}`), "{ [key: string]: any }"},
		{"closed empty object", raw(`{"type":"object","additionalProperties":false}`), "{}"},
		{"closed by not", raw(`{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":{"not":{}}}`), "{ a?: string }"},
		{"map", raw(`{"type":"object","additionalProperties":{"type":"integer"}}`), "{ [key: string]: number }"},
		{"properties and additionalProperties", raw(`{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":{"type":"string"}}`), "{ a?: string; [key: string]: string }"},
		{"properties and additionalProperties true", raw(`{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":true}`), "{ a?: string; [key: string]: any }"},
		{"additionalProperties true without properties", raw(`{"type":"object","additionalProperties":true}`), "{ [key: string]: any }"},
		{"patternProperties", raw(`{"type":"object","patternProperties":{"^x-":{"type":"string"},"^n-":{"type":"number"}},"additionalProperties":false}`), "{ [key: string]: number | string }"},
		{"implied object", raw(`{"properties":{"a":{"type":"boolean"}}}`), "{ a?: boolean }"},
		{"quoted names", raw(`{"properties":{"x-y":{},"1a":{},"":{},"$ok_1":{},"名前":{},"a b\"":{}}}`), `{ ""?: any; $ok_1?: any; "1a"?: any; "a b\""?: any; "x-y"?: any; 名前?: any }`},
		{"required without properties", raw(`{"type":"object","required":["a"]}`), "{ a: any; [key: string]: any }"},
		{"letter that is no identifier part", raw(`{"properties":{"aⸯ":{}}}`), `{ "aⸯ"?: any }`},
		{"property false", raw(`{"properties":{"a":false}}`), "{ a?: never }"},

		// comments on properties
		{"description", raw(`{"properties":{"q":{"type":"string","description":"The query"}}}`), "{ /** The query */ q?: string }"},
		{"description collapsed", raw(`{"properties":{"q":{"description":"  two\n\n lines\tand\u2028more  "}}}`), "{ /** two lines and more */ q?: any }"},
		{"description cannot close the comment", raw(`{"properties":{"q":{"description":"end */ here **/ /*/"}}}`), "{ /** end * / here ** / /* / */ q?: any }"},
		{"description trimmed", raw(`{"properties":{"q":{"description":"` + strings.Repeat("word ", 40) + `"}}}`), "{ /** " + strings.Repeat("word ", 23) + "word… */ q?: any }"},
		{"description with bidi controls", raw(`{"properties":{"q":{"description":"a\u202eb\u2066c"}}}`), "{ /** abc */ q?: any }"},
		{"default and range", raw(`{"properties":{"page":{"type":"integer","description":"Page number","default":1,"minimum":1,"maximum":100}}}`), "{ /** Page number (default 1, 1–100) */ page?: number }"},
		{"notes without description", raw(`{"properties":{"n":{"type":"number","exclusiveMinimum":0,"maximum":1}}}`), "{ /** > 0, max 1 */ n?: number }"},
		{"draft-04 exclusive bound", raw(`{"properties":{"n":{"type":"number","minimum":0,"exclusiveMinimum":true}}}`), "{ /** > 0 */ n?: number }"},
		{"string notes", raw(`{"properties":{"s":{"type":"string","default":"a*/b","minLength":1,"maxLength":64,"format":"uri","pattern":"^h"}}}`), `{ /** default "a*\/b", length 1–64 chars, format uri, pattern ^h */ s?: string }`},
		{"array notes", raw(`{"properties":{"s":{"type":"array","items":{"type":"string"},"minItems":1,"deprecated":true}}}`), "{ /** min items 1, deprecated */ s?: string[] }"},
		{"long default left out", raw(`{"properties":{"s":{"type":"string","default":"` + strings.Repeat("d", 50) + `"}}}`), "{ s?: string }"},
		{"description of a referenced definition", raw(`{"properties":{"s":{"$ref":"#/$defs/State"}},"$defs":{"State":{"description":"Issue state","enum":["open","closed"],"default":"open"}}}`), `{ /** Issue state (default "open") */ s?: "open" | "closed" }`},

		// $ref
		{"ref to $defs", raw(`{"$ref":"#/$defs/A","$defs":{"A":{"type":"string"}}}`), "string"},
		{"ref to definitions", raw(`{"properties":{"a":{"$ref":"#/definitions/A"}},"definitions":{"A":{"type":"number"}}}`), "{ a?: number }"},
		{"ref escaped", raw(`{"$ref":"#/$defs/a~1b%20c~0","$defs":{"a/b c~":{"type":"boolean"}}}`), "boolean"},
		{"ref into an array", raw(`{"$ref":"#/$defs/L/1","$defs":{"L":[{"type":"string"},{"type":"null"}]}}`), "null"},
		{"ref unresolvable", raw(`{"properties":{"a":{"$ref":"#/$defs/Missing"},"b":{"$ref":"https://example.com/s.json"},"c":{"$ref":"#anchor"}}}`), "{ a?: any; b?: any; c?: any }"},
		{"ref to root", raw(`{"type":"object","properties":{"next":{"$ref":"#"}}}`), "{ next?: any }"},
		{"ref with sibling keywords", raw(`{"$ref":"#/$defs/A","properties":{"b":{"type":"string"}},"$defs":{"A":{"properties":{"a":{"type":"string"}}}}}`), "{ a?: string } & { b?: string }"},
		{"ref recursion", raw(`{"$defs":{"Node":{"type":"object","properties":{"value":{"type":"number"},"next":{"$ref":"#/$defs/Node"}},"required":["value"]}},"$ref":"#/$defs/Node"}`), "{ value: number; next?: any /* Node */ }"},
		{"ref mutual recursion", raw(`{"$ref":"#/definitions/A","definitions":{"A":{"properties":{"b":{"$ref":"#/definitions/B"}}},"B":{"properties":{"a":{"$ref":"#/definitions/A"}}}}}`), "{ b?: { a?: any /* A */ } }"},
		{"ref to itself", raw(`{"$ref":"#/$defs/A","$defs":{"A":{"$ref":"#/$defs/A"}}}`), "any /* A */"},
		{"ref name unsafe for a comment", raw(`{"$ref":"#/$defs/a*~1b","$defs":{"a*/b":{"items":{"$ref":"#/$defs/a*~1b"}}}}`), "any[]"},
		{"refs used twice expand twice", raw(`{"properties":{"a":{"$ref":"#/$defs/S"},"b":{"$ref":"#/$defs/S"}},"$defs":{"S":{"type":"string"}}}`), "{ a?: string; b?: string }"},

		// unusable schemas
		{"invalid JSON", raw(`{"type":`), "any"},
		{"trailing data", raw(`{"type":"string"} {}`), "any"},
		{"nil", nil, "any"},
		{"JSON null", raw(`null`), "any"},
		{"a string is no schema", "string", "any"},
		{"a list is no schema", []any{"x"}, "any"},
		{"a number is no schema", raw(`1`), "any"},
		{"a number is no property schema", raw(`{"properties":{"a":1,"b":"x","c":null}}`), "{ a?: any; b?: any; c?: any }"},
		{"type of wrong kind", raw(`{"type":3}`), "any"},
		{"unmarshalable value", func() {}, "any"},

		// Go values
		{"decoded map", map[string]any{"type": "array", "items": map[string]any{"type": "number"}}, "number[]"},
		{"bytes", []byte(`{"type":"boolean"}`), "boolean"},
		{"bool", false, "never"},
		{"hand-built map with Go types", map[string]any{
			"type":       "object",
			"properties": map[string]map[string]any{"a": {"type": "integer", "minimum": 2}, "b": {"enum": []string{"x"}}},
			"required":   []string{"a"},
		}, `{ /** min 2 */ a: number; b?: "x" }`},
		{"struct", struct {
			Type  string `json:"type"`
			Items any    `json:"items"`
		}{"array", map[string]string{"type": "string"}}, "string[]"},
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
			if again := Type(tt.schema); again != got {
				t.Errorf("second call gave %q, first %q", again, got)
			}
		})
	}
}

// TestTypeRealSchemas renders tool schemas as real servers publish them.
func TestTypeRealSchemas(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"search_issues.json", `{ /** Search query, in GitHub's issue search syntax (e.g. "is:open label:bug") */ query: string; /** Page number (default 1, min 1) */ page?: number; state?: "open" | "closed" | "all" }`},
		{"gostruct.json", goStructType},
		{"everything_annotated_message.json", `{ /** Type of message to demonstrate different annotation patterns */ messageType: "error" | "success" | "debug"; /** Whether to include an example image (default false) */ includeImage?: boolean }`},
		{"recursive_defs.json", `{ /** A condition, or a combination of conditions */ filter: { and: any /* Filter */[] } | { field: string; equals: string | number | boolean }; tree?: { name: string; children?: any /* Node */[] } }`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			schema := readTestdata(t, tt.file)
			got := Type(schema)
			if got != tt.want {
				t.Errorf("Type() =\n%s\nwant\n%s", got, tt.want)
			}
			if err := checkType(got); err != nil {
				t.Error(err)
			}
			var decoded any
			if err := json.Unmarshal(schema, &decoded); err != nil {
				t.Fatal(err)
			}
			if fromMap := Type(decoded); fromMap != got {
				t.Errorf("from the decoded map: %s\nfrom JSON: %s", fromMap, got)
			}
		})
	}
}
