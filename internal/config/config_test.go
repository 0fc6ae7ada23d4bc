package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/airlock-sh/airlock/internal/policy"
)

var update = flag.Bool("update", false, "rewrite testdata/errors/*.err from the current output")

func TestParseFull(t *testing.T) {
	f, err := Load("testdata/valid/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if f.Path != "testdata/valid/full.yaml" || f.Version != 1 {
		t.Errorf("Path, Version = %q, %d", f.Path, f.Version)
	}
	if got := f.ServerNames(); !slices.Equal(got, []string{"github", "homeassistant", "plain"}) {
		t.Errorf("ServerNames() = %q", got)
	}

	gh := f.Servers["github"]
	if gh.Name != "github" || gh.Command != "npx" {
		t.Errorf("github: Name, Command = %q, %q", gh.Name, gh.Command)
	}
	if want := []string{"-y", "@modelcontextprotocol/server-github", "8080"}; !slices.Equal(gh.Args, want) {
		t.Errorf("github.Args = %q, want %q", gh.Args, want)
	}
	if len(gh.Env) != 2 || gh.Env["GITHUB_PERSONAL_ACCESS_TOKEN"] != "ghp_example" || gh.Env["DEBUG"] != "true" {
		t.Errorf("github.Env = %q", gh.Env)
	}
	if want := filepath.Join("testdata", "valid", "profiles", "github.json"); gh.ToolHiveProfile != want {
		t.Errorf("github.ToolHiveProfile = %q, want %q", gh.ToolHiveProfile, want)
	}
	want := policy.Spec{
		Allow: []string{
			"api.github.com", "raw.githubusercontent.com:443", "*.example.org", "10.0.0.0/8",
			"192.168.1.20", "[2001:db8::1]:443", "dev.example.com:8000-8100", "ws.example.com:*",
			"both.example.com:80,443",
			// from the profile; raw.githubusercontent.com:443 is there already
			".github.com:443",
		},
		Deny:            []string{"evil.example.com", "*.com"},
		AllowPrivateIPs: true,
		AllowLocalhost:  true,
		Limits: policy.Limits{
			MaxRequestSize:  1 << 20,
			MaxResponseSize: 10_000_000,
			Timeout:         90 * time.Second,
			MaxConnections:  64,
		},
	}
	checkSpec(t, "github", gh.Spec, want)
	if gh.Policy == nil {
		t.Error("github.Policy is nil")
	}

	ha := f.Servers["homeassistant"]
	checkSpec(t, "homeassistant", ha.Spec, policy.Spec{Allow: []string{"192.168.1.20:8123"}})
	if ha.ToolHiveProfile != "" {
		t.Errorf("homeassistant.ToolHiveProfile = %q", ha.ToolHiveProfile)
	}

	plain := f.Servers["plain"]
	checkSpec(t, "plain", plain.Spec, policy.Spec{})
	if plain.Args != nil || len(plain.Env) != 0 || plain.Env == nil || plain.Policy == nil {
		t.Errorf("plain = %+v", plain)
	}

	checkSpec(t, "codemode", f.Codemode.Spec, policy.Spec{
		Allow:  []string{"api.openai.com"},
		Limits: policy.Limits{MaxResponseSize: 5_000_000, Timeout: 10 * time.Second},
	})
	if f.Codemode.Policy == nil {
		t.Error("Codemode.Policy is nil")
	}
}

func checkSpec(t *testing.T, name string, got, want policy.Spec) {
	t.Helper()
	if !slices.Equal(got.Allow, want.Allow) {
		t.Errorf("%s: Allow = %q\nwant %q", name, got.Allow, want.Allow)
	}
	if !slices.Equal(got.Deny, want.Deny) {
		t.Errorf("%s: Deny = %q, want %q", name, got.Deny, want.Deny)
	}
	if got.AllowPrivateIPs != want.AllowPrivateIPs || got.AllowLocalhost != want.AllowLocalhost ||
		got.AllowPublicInternet != want.AllowPublicInternet || got.Limits != want.Limits {
		t.Errorf("%s: Spec = %+v\nwant %+v", name, got, want)
	}
}

func TestParseMinimal(t *testing.T) {
	f, err := Parse("min.yaml", []byte("version: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Servers == nil || len(f.Servers) != 0 {
		t.Errorf("Servers = %v, want empty", f.Servers)
	}
	checkSpec(t, "codemode", f.Codemode.Spec, DefaultCodemodeSpec())
	if f.Codemode.Policy == nil {
		t.Error("Codemode.Policy is nil")
	}
	if !DefaultCodemodeSpec().AllowPublicInternet {
		t.Error("DefaultCodemodeSpec does not allow the public internet")
	}
}

func TestCodemodeDefault(t *testing.T) {
	for _, src := range []string{
		"version: 1\n",
		"version: 1\ncodemode:\n",
		"version: 1\ncodemode: {}\n",
		"version: 1\ncodemode: {network: null}\n",
		"version: 1\nbindings:\n",
	} {
		f, err := Parse("c.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		checkSpec(t, src, f.Codemode.Spec, DefaultCodemodeSpec())
	}
	// A codemode.network section is the whole policy: its switches default to false there too.
	f, err := Parse("c.yaml", []byte("version: 1\ncodemode: {network: {timeout: 5s}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	checkSpec(t, "codemode", f.Codemode.Spec, policy.Spec{Limits: policy.Limits{Timeout: 5 * time.Second}})
}

func TestParseJSON(t *testing.T) {
	f, err := Load("testdata/valid/config.json")
	if err != nil {
		t.Fatal(err)
	}
	n := f.Servers["notion"]
	if n == nil || n.Command != "npx" || !slices.Equal(n.Args, []string{"-y", "@notionhq/notion-mcp-server"}) {
		t.Fatalf("notion = %+v", n)
	}
	checkSpec(t, "notion", n.Spec, policy.Spec{
		Allow:  []string{"api.notion.com:443"},
		Limits: policy.Limits{Timeout: 5 * time.Second, MaxRequestSize: 2048},
	})
}

func TestTemplates(t *testing.T) {
	f, err := Load("testdata/valid/templates.yaml")
	if err != nil {
		t.Fatal(err)
	}
	checkSpec(t, "s", f.Servers["s"].Spec, policy.Spec{
		Allow: []string{
			"192.168.1.20:8123",      // URL with a port; path and query dropped
			"ha.lan:80",              // http:// without a port
			"ha.example.com:443",     // https://, scheme in upper case
			"stream.example.com:443", // wss://
			"[fd00::20]:8123",        // IPv6 host with a port
			"[2001:db8::1]:443",      // IPv6 host, default port
			"api.example.com:8443",   // user info dropped
			"db.lan:5432",            // host:port as is
			"printer.lan",            // host as is: ports 80 and 443
			"[fd00::1]",              // a bare IPv6 address is bracketed
			"broker.lan:1883",        // another scheme with its port
		},
		Deny: []string{"printer.lan"},
	})
}

func TestHostPortOf(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"http://ha.local:8123", "ha.local:8123"},
		{"  http://ha.local  ", "ha.local:80"},
		{"ws://[::1]", "[::1]:80"},
		{"https://1.2.3.4/", "1.2.3.4:443"},
		{"10.0.0.1:22", "10.0.0.1:22"},
		{"[::1]:8080", "[::1]:8080"},
		{"::1", "[::1]"},
	} {
		got, err := hostPortOf(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("hostPortOf(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "  ", "http://", "file:///etc/passwd", "mqtt://broker", "host/path", "a b", "user:pw@host", "http://[::1"} {
		if got, err := hostPortOf(in); err == nil {
			t.Errorf("hostPortOf(%q) = %q, want an error", in, got)
		} else if len(in) > len("http://") && strings.Contains(err.Error(), in) {
			t.Errorf("hostPortOf(%q): error %q repeats the value (it may be a secret)", in, err)
		}
	}
}

func TestSecretsNotInErrors(t *testing.T) {
	_, err := Load("testdata/errors/templates_bad.yaml")
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("an error repeats an env value:\n%v", err)
	}
}

// TestErrorsGolden loads every file in testdata/errors and compares the whole error text with
// the .err file next to it. Run with -update to rewrite them, then review the diff.
func TestErrorsGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/errors/*.yaml")
	jsonFiles, _ := filepath.Glob("testdata/errors/*.json")
	files = append(files, jsonFiles...)
	if len(files) < 10 {
		t.Fatalf("only %d files in testdata/errors", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := Load(path)
			if err == nil {
				t.Fatalf("loaded without an error: %+v", f)
			}
			checkErrorForm(t, path, err)
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(path, filepath.Ext(path)) + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("%v (run go test -update to create it)", rerr)
			}
			if got != string(want) {
				t.Errorf("error text differs from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

var errorForm = regexp.MustCompile(`^[^:]+:\d+:\d+: (\S+: )?\S`)

// checkErrorForm checks that every line of err is one positioned *Error of file.
func checkErrorForm(t *testing.T, file string, err error) {
	t.Helper()
	var first *Error
	if !errors.As(err, &first) || first.File != file {
		t.Errorf("errors.As(*Error) = %+v", first)
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.HasPrefix(line, file+":") || !errorForm.MatchString(line) {
			t.Errorf("line not of the form FILE:LINE:COL: PATH: message: %q", line)
		}
	}
}

func TestTooManyErrors(t *testing.T) {
	_, err := Load("testdata/errors/too_many.yaml")
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != MaxErrors+1 {
		t.Fatalf("%d lines, want %d", len(lines), MaxErrors+1)
	}
	if last := lines[MaxErrors]; !strings.Contains(last, "too many errors (5 more not shown)") {
		t.Errorf("last line = %q", last)
	}
}

func TestErrorPositions(t *testing.T) {
	for _, tt := range []struct {
		file, src  string
		line, col  int
		path, text string
	}{
		{"a.yaml", "version: 1\nservers:\n  x:\n    command: y\n    network:\n      allow: [a.example]\n      bogus: 1\n", 7, 7, "servers.x.network.bogus", `unknown key "bogus"`},
		{"a.json", `{"version": 1, "servers": {"x": {"command": "y", "bogus": 1}}}`, 1, 50, "servers.x.bogus", `unknown key "bogus"`},
		{"a.json", "{\n\t\"version\": 1,\n\t\"version\": 1\n}", 3, 2, "version", `duplicate key "version" (first at line 2)`},
		{"b.json", "{\"version\": 1, \"servers\": {\"\u00e9t\u00e9\": {\"command\": \"y\"}}}", 1, 28, "servers", `"été" is not a valid server name`},
		{"c.yaml", "version: 1\nservers:\n  x:\n    command: y\n    network: {timeout: 5}\n", 5, 24, "servers.x.network.timeout", "5 is a bare number, not a duration; write 5s or 5000ms"},
		{"d.yaml", "version: 1\nbindings: {tv: {type: local-network}}\n", 2, 12, "bindings.tv.methods", "a binding needs at least one method"},
	} {
		_, err := Parse(tt.file, []byte(tt.src))
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s %q: error %v", tt.file, tt.src, err)
			continue
		}
		if e.File != tt.file || e.Line != tt.line || e.Column != tt.col || e.Path != tt.path || !strings.Contains(e.Msg, tt.text) {
			t.Errorf("%s %q:\ngot  %s:%d:%d %s: %s\nwant %s:%d:%d %s: ...%s...", tt.file, tt.src,
				e.File, e.Line, e.Column, e.Path, e.Msg, tt.file, tt.line, tt.col, tt.path, tt.text)
		}
	}
}

func TestServerLookup(t *testing.T) {
	f, err := Load("testdata/valid/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := f.Server("github"); err != nil || s.Name != "github" {
		t.Errorf("Server(github) = %v, %v", s, err)
	}
	_, err = f.Server("gitlab")
	if err == nil || !strings.Contains(err.Error(), `no server "gitlab"; the servers in this config are: github, homeassistant, plain`) {
		t.Errorf("Server(gitlab) error = %v", err)
	}
	empty, err := Parse("e.yaml", []byte("version: 1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := empty.Server("x"); err == nil || !strings.Contains(err.Error(), "defines no servers") {
		t.Errorf("Server on an empty config: %v", err)
	}
}

func TestParseWithoutReader(t *testing.T) {
	data, err := os.ReadFile("testdata/valid/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse("full.yaml", data)
	if err == nil || !strings.Contains(err.Error(), "full.yaml:28:25: servers.github.network.toolhive_profile: cannot import") {
		t.Errorf("Parse of a config importing a profile: %v", err)
	}
	// ParseWithReader resolves the profile next to the name it is given.
	var read []string
	_, err = ParseWithReader("/etc/airlock/airlock.yaml", data, func(p string) ([]byte, error) {
		read = append(read, p)
		return os.ReadFile("testdata/valid/profiles/github.json")
	})
	if err != nil || !slices.Equal(read, []string{"/etc/airlock/profiles/github.json"}) {
		t.Errorf("ParseWithReader: read %q, error %v", read, err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "testdata/does-not-exist.yaml") {
		t.Errorf("Load of a missing file: %v", err)
	}
}

// TestExamples loads every example config shipped in examples/.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			if _, err := Load(path); err != nil {
				t.Fatal(err)
			}
		})
	}
	f, err := Load("../../examples/airlock.yaml")
	if err != nil {
		t.Fatal(err)
	}
	checkSpec(t, "github", f.Servers["github"].Spec, policy.Spec{
		Allow:  []string{"api.github.com", ".github.com:443", ".githubusercontent.com:443"},
		Deny:   nil,
		Limits: policy.Limits{MaxRequestSize: 1 << 20, MaxResponseSize: 10 << 20, Timeout: 30 * time.Second, MaxConnections: 64},
	})
	checkSpec(t, "homeassistant", f.Servers["homeassistant"].Spec, policy.Spec{Allow: []string{"192.168.1.20:8123"}})
	checkSpec(t, "codemode", f.Codemode.Spec, policy.Spec{AllowPublicInternet: true})
}

// TestEntryErrors needs policy.Compile: each bad entry is reported at its own line and column,
// all of them at once, in the allow lists of servers and code mode, for entries a template or a
// profile produced too; deny lists take what allow lists refuse.
func TestEntryErrors(t *testing.T) {
	_, err := Load("testdata/policy/entries.yaml")
	if err == nil {
		t.Fatal("no error")
	}
	checkErrorForm(t, "testdata/policy/entries.yaml", err)
	prefixes := []string{
		`testdata/policy/entries.yaml:8:11: servers.s.network.allow[0]: "*": `,
		`testdata/policy/entries.yaml:9:11: servers.s.network.allow[1]: "*.com": `,
		`testdata/policy/entries.yaml:10:11: servers.s.network.allow[2]: "api.*.example.com": `,
		`testdata/policy/entries.yaml:11:11: servers.s.network.allow[3]: "ex*ample.com": `,
		`testdata/policy/entries.yaml:12:11: servers.s.network.allow[4]: "example.com:70000": `,
		`testdata/policy/entries.yaml:14:11: servers.s.network.allow[6]: "${DB}" (DB gives "db.lan:70000"): `,
		`testdata/policy/entries.yaml:16:25: servers.s.network.toolhive_profile: testdata/policy/profile.json:4:41: network.outbound.allow_host[1]: ".com" (gives ".com:443"): `,
		`testdata/policy/entries.yaml:16:25: servers.s.network.toolhive_profile: testdata/policy/profile.json:4:49: network.outbound.allow_host[2]: "api.*.example.com" (gives "api.*.example.com:443"): `,
		`testdata/policy/entries.yaml:19:13: codemode.network.allow[0]: "*.co.uk": `,
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(prefixes) {
		t.Errorf("%d errors, want %d:\n%v", len(lines), len(prefixes), err)
	}
	for i, p := range prefixes {
		if i < len(lines) && !strings.HasPrefix(lines[i], p) {
			t.Errorf("error %d = %q\nwant prefix %q", i, lines[i], p)
		}
	}
	// The fix of a wildcard in the middle says what to write instead.
	if !strings.Contains(err.Error(), `"api.*.example.com": a wildcard`) {
		t.Logf("note: policy's message for api.*.example.com: %v", err)
	}
}
