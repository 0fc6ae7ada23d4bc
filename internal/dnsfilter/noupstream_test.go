package dnsfilter

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestNothingIsForwarded checks the package's structure: its production code can send a DNS
// message nowhere but back to the client that asked. It uses no dialer, no resolver and no
// DNS client, and imports nothing that would (internal/egress, x/net/proxy, net/http); the
// Options have no upstream. internal/conventions checks dialers repository-wide; this test
// adds the DNS-specific ones.
func TestNothingIsForwarded(t *testing.T) {
	forbidden := map[string][]string{
		"net": {"Dial", "DialTimeout", "DialTCP", "DialUDP", "DialIP", "DialUnix", "Dialer",
			"Resolver", "DefaultResolver", "LookupHost", "LookupIP", "LookupAddr", "LookupTXT",
			"LookupMX", "LookupNS", "LookupSRV", "LookupCNAME", "LookupPort"},
		"github.com/miekg/dns": {"Client", "Exchange", "ExchangeContext", "ExchangeConn", "Dial",
			"DialTimeout", "DialWithTLS", "DialTimeoutWithTLS", "Transfer", "Server", "ListenAndServe",
			"ClientConfigFromFile", "ClientConfigFromReader", "Conn"},
	}
	badImports := []string{"net/http", "crypto/tls", "os/exec", "golang.org/x/net/proxy",
		"github.com/airlock-sh/airlock/internal/egress"}

	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		files++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, n, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		local := map[string]string{}
		for _, im := range f.Imports {
			ip, _ := strconv.Unquote(im.Path.Value)
			for _, bad := range badImports {
				if ip == bad {
					t.Errorf("%s imports %s", n, ip)
				}
			}
			name := ip[strings.LastIndex(ip, "/")+1:]
			if im.Name != nil {
				name = im.Name.Name
			}
			local[name] = ip
		}
		ast.Inspect(f, func(node ast.Node) bool {
			sel, ok := node.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			x, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			for _, id := range forbidden[local[x.Name]] {
				if sel.Sel.Name == id {
					t.Errorf("%s:%d: %s.%s could send a query upstream", n, fset.Position(sel.Pos()).Line, local[x.Name], id)
				}
			}
			return true
		})
	}
	if files < 3 {
		t.Fatalf("read %d files; is the test running in the package directory?", files)
	}

	// No field of Options could name an upstream server.
	for _, field := range []string{"Upstream", "Forward", "Resolver", "Dial", "Nameserver"} {
		if strings.Contains(optionsFields(t), field) {
			t.Errorf("Options has a field like %q", field)
		}
	}
}

func optionsFields(t *testing.T) string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "dnsfilter.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "Options" {
			return true
		}
		for _, fl := range ts.Type.(*ast.StructType).Fields.List {
			for _, id := range fl.Names {
				names = append(names, id.Name)
			}
		}
		return false
	})
	if len(names) == 0 {
		t.Fatal("no Options struct in dnsfilter.go")
	}
	return strings.Join(names, " ")
}
