package schemats

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addSeeds adds the testdata schemas and a few small tricky ones.
func addSeeds(f *testing.F, add func(schema []byte)) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
	for _, s := range []string{
		`{"$ref":"#"}`,
		`{"$defs":{"A":{"anyOf":[{"$ref":"#/$defs/A"},{"items":{"$ref":"#/$defs/A"}}]}},"$ref":"#/$defs/A"}`,
		`{"enum":["*/","/*","\u2028",-1,1e400,{"a":[null]}]}`,
		`{"properties":{"*/":{"description":"*/\n/**","default":"*/"}},"additionalProperties":{"type":["null","array"]}}`,
		`{"prefixItems":[{"const":-0.5}],"items":{"allOf":[{"anyOf":[{},{"type":"string"}]}]}}`,
		`{"type":"object","patternProperties":{"":false},"not":{"type":"string"}}`,
	} {
		add([]byte(s))
	}
}

// FuzzType checks, for any JSON, that Type does not panic and returns one bounded line that is a
// valid type: delimiters balance outside string literals, every comment is closed and nothing
// ends one early, and the strict grammar check and esbuild accept it.
func FuzzType(f *testing.F) {
	addSeeds(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, data []byte) {
		got := Type(json.RawMessage(data))
		if len(got) > 4100 {
			t.Fatalf("len = %d", len(got))
		}
		if strings.ContainsAny(got, "\n\r") {
			t.Fatalf("more than one line: %q", got)
		}
		if err := checkDelimiters(got); err != nil {
			t.Fatalf("%v in %q", err, got)
		}
		if err := checkType(got); err != nil {
			t.Fatal(err)
		}
		if again := Type(json.RawMessage(data)); again != got {
			t.Fatalf("not deterministic: %q then %q", got, again)
		}
	})
}

// FuzzFunction checks that no name, description or schema breaks out of the signature or its
// comment.
func FuzzFunction(f *testing.F) {
	addSeeds(f, func(b []byte) { f.Add("tool", "Does a thing.\n\nDetails */", b) })
	f.Add("x(): void; /*", "*/ evil\u2028line", []byte(`{}`))
	f.Fuzz(func(t *testing.T, name, description string, input []byte) {
		got := Function("  ", name, description, json.RawMessage(input), json.RawMessage(input))
		if err := checkFunction(got, "  "); err != nil {
			t.Fatal(err)
		}
	})
}
