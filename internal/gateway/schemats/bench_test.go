package schemats

import (
	"encoding/json"
	"testing"
)

// BenchmarkType renders the real schemas (1) and (2) from testdata in the forms a gateway
// holds them: a decoded map (what the Go SDK client gives), raw JSON, and for (2) the
// *jsonschema.Schema a Go server makes.
func BenchmarkType(b *testing.B) {
	for _, file := range []string{"search_issues.json", "gostruct.json"} {
		rawSchema := readTestdata(b, file)
		var decoded any
		if err := json.Unmarshal(rawSchema, &decoded); err != nil {
			b.Fatal(err)
		}
		b.Run(file+"/map", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Type(decoded)
			}
		})
		b.Run(file+"/raw", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Type(rawSchema)
			}
		})
	}
	s := goStructSchema(b)
	b.Run("gostruct.json/jsonschema.Schema", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Type(s)
		}
	})
}

// BenchmarkTypeHostile measures the schemas made to be expensive, to show the bounds hold.
func BenchmarkTypeHostile(b *testing.B) {
	for name, make := range hostile() {
		schema := make()
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Type(schema)
			}
		})
	}
}
