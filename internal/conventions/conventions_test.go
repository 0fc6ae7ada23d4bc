package conventions

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/airlock-sh/airlock"

// pkg is one Go package of the repository, read from its non-test files.
type pkg struct {
	dir     string // relative to the repository root, e.g. "internal/egress"
	name    string
	doc     bool
	imports map[string][]string // import path -> files importing it
	files   map[string]*ast.File
	fset    *token.FileSet
}

func loadPackages(t *testing.T) []*pkg {
	t.Helper()
	root := filepath.Join("..", "..")
	var pkgs []*pkg
	for _, top := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() || d.Name() == "testdata" {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			rel, _ := filepath.Rel(root, path)
			p := &pkg{dir: filepath.ToSlash(rel), imports: map[string][]string{}, files: map[string]*ast.File{}, fset: token.NewFileSet()}
			entries, err := os.ReadDir(path)
			if err != nil {
				return err
			}
			for _, e := range entries {
				n := e.Name()
				if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
					continue
				}
				f, err := parser.ParseFile(p.fset, filepath.Join(path, n), nil, parser.ParseComments)
				if err != nil {
					return err
				}
				if hasBuildIgnore(f) {
					continue // generators (//go:build ignore) are not part of the package
				}
				p.name = f.Name.Name
				p.files[n] = f
				if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package "+f.Name.Name+" ") ||
					f.Doc != nil && f.Name.Name == "main" && strings.HasPrefix(f.Doc.Text(), "Command ") {
					p.doc = true
				}
				for _, im := range f.Imports {
					ip, _ := strconv.Unquote(im.Path.Value)
					p.imports[ip] = append(p.imports[ip], n)
				}
			}
			if len(p.files) > 0 {
				pkgs = append(pkgs, p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(pkgs) < 5 {
		t.Fatalf("found only %d packages; is the test running from internal/conventions?", len(pkgs))
	}
	return pkgs
}

func hasBuildIgnore(f *ast.File) bool {
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if strings.HasPrefix(c.Text, "//go:build") && strings.Contains(c.Text, "ignore") {
				return true
			}
		}
	}
	return false
}

func TestEveryPackageHasADocComment(t *testing.T) {
	for _, p := range loadPackages(t) {
		if !p.doc {
			t.Errorf("%s: no package doc comment (\"// Package %s ...\" or \"// Command ...\" for main)", p.dir, p.name)
		}
	}
}

// TestDependencyDirections enforces DESIGN.md: pure packages import no I/O, nothing imports
// cli but cmd/airlock, and the pure packages never import the ones that do I/O.
func TestDependencyDirections(t *testing.T) {
	pure := map[string]bool{"internal/host": true, "internal/netguard": true, "internal/policy": true, "internal/gateway/schemats": true}
	io := []string{"os", "os/exec", "io", "io/fs", "io/ioutil", "bufio", "net", "net/http", "log", "log/slog", "syscall", "golang.org/x/sys/unix"}
	for _, p := range loadPackages(t) {
		for ip, files := range p.imports {
			if pure[p.dir] {
				for _, bad := range io {
					if ip == bad {
						t.Errorf("%s is pure but %v import %q", p.dir, files, ip)
					}
				}
				if strings.HasPrefix(ip, module+"/internal/") && !pure[strings.TrimPrefix(ip, module+"/")] {
					t.Errorf("%s is pure but %v import %q", p.dir, files, ip)
				}
			}
			if ip == module+"/internal/cli" && p.dir != "cmd/airlock" {
				t.Errorf("%s imports internal/cli (%v); only cmd/airlock may", p.dir, files)
			}
		}
	}
}

// testSupport are the packages that exist to serve tests (a real DNS server, sealed network
// namespaces). Only _test.go files may import them, and they may open connections: a test's
// client of its own loopback server, or of a host in its own test world.
var testSupport = map[string]bool{"internal/testbin": true, "internal/testdial": true, "internal/testdns": true, "internal/testnpm": true, "internal/testworld": true}

// testOnly are the packages that hold only tests: their non-test files carry nothing but the
// package doc, so nothing can import them.
var testOnly = map[string]bool{"internal/conventions": true, "internal/devicetest": true, "internal/escape": true, "internal/mcptest": true}

// TestTestSupportOnlyInTests: no production package imports a test-support package, so that
// nothing test-only (a DNS server that answers what a test says, a dialer exempt from the rule
// below) ever reaches the binary.
func TestTestSupportOnlyInTests(t *testing.T) {
	found := map[string]bool{}
	for _, p := range loadPackages(t) {
		found[p.dir] = true
		if testOnly[p.dir] {
			for name, f := range p.files {
				if len(f.Decls) != 0 {
					t.Errorf("%s/%s declares code, but %s is listed as holding only tests", p.dir, name, p.dir)
				}
			}
			continue
		}
		if testSupport[p.dir] {
			continue
		}
		for ip, files := range p.imports {
			if dir := strings.TrimPrefix(ip, module+"/"); testSupport[dir] {
				t.Errorf("%s imports %s in %v; test-support packages are for _test.go files only", p.dir, dir, files)
			}
		}
	}
	for dir := range testSupport {
		if !found[dir] {
			t.Errorf("test-support package %s not found; update testSupport", dir)
		}
	}
	for dir := range testOnly {
		if !found[dir] {
			t.Errorf("test-only package %s not found; update testOnly", dir)
		}
	}
}

// The identifiers that open a connection or carry a default client that does. Outside
// internal/egress no production code may use them: the guarded dialer is the one way out.
// (The test-support packages may: TestTestSupportOnlyInTests keeps them out of production.)
var dialers = map[string][]string{
	"net":                    {"Dial", "DialTimeout", "DialTCP", "DialUDP", "DialIP", "DialUnix", "Dialer"},
	"net/http":               {"DefaultClient", "DefaultTransport", "Get", "Head", "Post", "PostForm", "Transport"},
	"crypto/tls":             {"Dial", "DialWithDialer", "Dialer"},
	"syscall":                {"Connect"},
	"golang.org/x/sys/unix":  {"Connect"},
	"golang.org/x/net/proxy": {"Dial", "FromEnvironment", "SOCKS5"},
}

func TestOneWayToTheNetwork(t *testing.T) {
	for _, p := range loadPackages(t) {
		if p.dir == "internal/egress" || testSupport[p.dir] {
			continue
		}
		for name, f := range p.files {
			local := map[string]string{} // the name a file gives an import -> its path
			for _, im := range f.Imports {
				ip, _ := strconv.Unquote(im.Path.Value)
				n := ip[strings.LastIndex(ip, "/")+1:]
				if im.Name != nil {
					n = im.Name.Name
				}
				local[n] = ip
			}
			ast.Inspect(f, func(n ast.Node) bool {
				// *http.Client may be named as a type (a binding's factory receives SafeFetch as
				// one), but only egress builds one: a client built elsewhere would default to
				// http.DefaultTransport, a dialer that checks nothing.
				var built ast.Expr // the type of a composite literal or of new(T)
				switch e := n.(type) {
				case *ast.CompositeLit:
					built = e.Type
				case *ast.CallExpr:
					if id, ok := e.Fun.(*ast.Ident); ok && id.Name == "new" && len(e.Args) == 1 {
						built = e.Args[0]
					}
				}
				if sel, ok := built.(*ast.SelectorExpr); ok {
					if x, ok := sel.X.(*ast.Ident); ok && local[x.Name] == "net/http" && sel.Sel.Name == "Client" {
						t.Errorf("%s/%s:%d: an http.Client built outside internal/egress uses an unchecked dialer; use egress.NewClient",
							p.dir, name, p.fset.Position(sel.Pos()).Line)
					}
				}
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				x, ok := sel.X.(*ast.Ident)
				if !ok {
					return true
				}
				for _, id := range dialers[local[x.Name]] {
					if sel.Sel.Name == id {
						t.Errorf("%s/%s:%d: %s.%s opens a connection outside internal/egress; use egress.Guard.DialContext or egress.NewClient",
							p.dir, name, p.fset.Position(sel.Pos()).Line, local[x.Name], id)
					}
				}
				return true
			})
		}
	}
}
