package netguard

import (
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestPackageIsPure checks that the package has a doc comment and imports no I/O package: it
// classifies, the callers do the I/O.
func TestPackageIsPure(t *testing.T) {
	forbidden := map[string]bool{
		"os": true, "os/exec": true, "io": true, "io/fs": true, "io/ioutil": true, "bufio": true,
		"log": true, "log/slog": true, "net": true, "net/http": true, "syscall": true,
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files int
	var doc bool
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		if ok, err := build.Default.MatchFile(".", name); err != nil || !ok {
			continue // gen.go and other files outside the build
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files++
		if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package netguard ") {
			doc = true
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if forbidden[path] {
				t.Errorf("%s imports %q; netguard does no I/O", name, path)
			}
		}
	}
	if files == 0 {
		t.Fatal("no package files found")
	}
	if !doc {
		t.Error("no file has a package doc comment starting \"Package netguard \"")
	}
}
