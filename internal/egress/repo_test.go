package egress

import (
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// parseDir parses the non-test Go files of dir (imports and comments only).
func parseDir(t *testing.T, dir string) map[string]*ast.File {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*ast.File{}
	fset := token.NewFileSet()
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if neverBuilt(f) {
			continue
		}
		files[p] = f
	}
	if len(files) == 0 {
		t.Fatalf("no Go files in %s", dir)
	}
	return files
}

// neverBuilt reports whether f's build constraint excludes it from every build, as
// "//go:build ignore" does for generators. A file for another platform is still part of the
// package and is checked.
func neverBuilt(f *ast.File) bool {
	for _, cg := range f.Comments {
		if cg.Pos() >= f.Package {
			break
		}
		for _, c := range cg.List {
			if !constraint.IsGoBuild(c.Text) {
				continue
			}
			expr, err := constraint.Parse(c.Text)
			if err != nil {
				return false
			}
			// Never built: it names "ignore" and is false whether the other tags hold or not.
			mentions := false
			with := func(others bool) bool {
				return expr.Eval(func(tag string) bool {
					if tag == "ignore" {
						mentions = true
						return false
					}
					return others
				})
			}
			return !with(true) && !with(false) && mentions
		}
	}
	return false
}

func TestPackageDoc(t *testing.T) {
	for _, f := range parseDir(t, ".") {
		if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package egress ") {
			return
		}
	}
	t.Error(`package egress has no doc comment starting "Package egress "`)
}

// TestPurePackagesImportNoIO: the decision packages must stay pure, so that everything that
// touches the network is here, in egress, where it is guarded. They may use net/netip (values)
// but not net, the file system, I/O or logging.
func TestPurePackagesImportNoIO(t *testing.T) {
	forbidden := func(path string) bool {
		switch path {
		case "net", "os", "io", "io/ioutil", "io/fs", "log", "log/slog", "syscall", "unsafe", "plugin":
			return true
		}
		for _, prefix := range []string{"net/http", "os/", "log/", "golang.org/x/sys/", "github.com/miekg/dns"} {
			if strings.HasPrefix(path, prefix) {
				return true
			}
		}
		return false
	}
	for _, pkg := range []string{"policy", "netguard", "host"} {
		for name, f := range parseDir(t, filepath.Join("..", pkg)) {
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if forbidden(path) {
					t.Errorf("%s imports %q; internal/%s must stay pure (no network, files, I/O or logging)", name, path, pkg)
				}
			}
		}
	}
}
