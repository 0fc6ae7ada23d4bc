package schemats

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPure keeps the package free of I/O: its non-test files import only these packages.
func TestPure(t *testing.T) {
	allowed := map[string]bool{
		"bytes": true, "encoding/json": true, "maps": true, "math": true, "slices": true,
		"strconv": true, "strings": true, "unicode": true, "unicode/utf8": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range f.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			if !allowed[path] {
				t.Errorf("%s imports %s; schemats is pure and imports no I/O packages", name, path)
			}
		}
	}
}
