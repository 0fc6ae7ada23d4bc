package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run runs airlock with args and returns its exit code and output.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func results(t *testing.T, out string) []checkResult {
	t.Helper()
	var rs []checkResult
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var r checkResult
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("output is not JSON lines: %v\n%s", err, out)
		}
		rs = append(rs, r)
	}
	return rs
}

func TestCheckVerdicts(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		verdict string
		reason  string
		host    string
		port    uint16
	}{
		{"default allows public literal", []string{"--offline", "https://93.184.216.34/"}, 0, "allow", "public_internet", "93.184.216.34", 443},
		{"default denies metadata", []string{"--offline", "http://169.254.169.254/latest/meta-data/"}, 1, "deny", "metadata", "169.254.169.254", 80},
		{"hex loopback", []string{"--offline", "http://0x7f.1/"}, 1, "deny", "loopback", "127.0.0.1", 80},
		{"decimal loopback", []string{"--offline", "http://2130706433:8080/"}, 1, "deny", "loopback", "127.0.0.1", 8080},
		{"mapped loopback", []string{"--offline", "http://[::ffff:127.0.0.1]/"}, 1, "deny", "loopback", "::ffff:127.0.0.1", 80},
		{"nat64 metadata", []string{"--offline", "http://[64:ff9b::a9fe:a9fe]/"}, 1, "deny", "metadata", "64:ff9b::a9fe:a9fe", 80},
		{"localhost name", []string{"--offline", "http://localhost:3000/"}, 1, "deny", "loopback", "localhost", 3000},
		{"unpinned name offline", []string{"--offline", "https://example.com/"}, 1, "deny", "unresolvable", "example.com", 443},
		{"pinned public", []string{"--offline", "--resolve", "example.com=93.184.216.34", "https://example.com/"}, 0, "allow", "public_internet", "example.com", 443},
		{"pinned private", []string{"--offline", "--resolve", "example.com=10.0.0.7", "https://example.com/"}, 1, "deny", "private", "example.com", 443},
		{"pinned mixed", []string{"--offline", "--resolve", "example.com=93.184.216.34,10.0.0.7", "https://example.com/"}, 1, "deny", "private", "example.com", 443},
		{"pin is normalised", []string{"--offline", "--resolve", "EXAMPLE.com.=93.184.216.34", "https://example.com/"}, 0, "allow", "public_internet", "example.com", 443},
		{"allow list match", []string{"--offline", "--allow", "api.github.com", "--resolve", "api.github.com=140.82.112.5", "https://api.github.com/repos"}, 0, "allow", "allowed_by_entry", "api.github.com", 443},
		{"allow list miss", []string{"--offline", "--allow", "api.github.com", "--resolve", "github.com=140.82.112.4", "https://github.com/"}, 1, "deny", "no_matching_allow", "github.com", 443},
		{"allow list wrong port", []string{"--offline", "--allow", "api.github.com", "--resolve", "api.github.com=140.82.112.5", "api.github.com:22"}, 1, "deny", "no_matching_allow", "api.github.com", 22},
		{"deny wins", []string{"--offline", "--allow", ".example.com", "--deny", "secret.example.com", "--resolve", "secret.example.com=93.184.216.34", "https://secret.example.com/"}, 1, "deny", "denied_by_entry", "secret.example.com", 443},
		{"private opt-in", []string{"--offline", "--allow-private-ips", "http://192.168.1.100:3000/status"}, 0, "allow", "public_internet", "192.168.1.100", 3000},
		{"explicit private grant", []string{"--offline", "--allow", "192.168.1.100:3000", "http://192.168.1.100:3000/status"}, 0, "allow", "allowed_by_entry", "192.168.1.100", 3000},
		{"unsupported scheme", []string{"--offline", "gopher://example.com:70/"}, 1, "deny", "unsupported_scheme", "", 0},
		{"file scheme", []string{"--offline", "file:///etc/passwd"}, 1, "deny", "unsupported_scheme", "", 0},
		{"ambiguous url", []string{"--offline", `http://evil.example\@127.0.0.1/`}, 1, "deny", "ambiguous_url", "", 0},
		{"malformed host", []string{"--offline", "http://1.2.3.4.5/"}, 2, "deny", "invalid_host", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, "", append([]string{"check"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errOut)
			}
			rs := results(t, out)
			if len(rs) != 1 {
				t.Fatalf("got %d results, want 1:\n%s", len(rs), out)
			}
			r := rs[0]
			if r.Verdict != tt.verdict || r.Reason != tt.reason || r.Host != tt.host || r.Port != tt.port {
				t.Errorf("got %+v\nwant verdict=%s reason=%s host=%s port=%d", r, tt.verdict, tt.reason, tt.host, tt.port)
			}
			if r.Message == "" || r.Target != tt.args[len(tt.args)-1] {
				t.Errorf("result lacks message or target: %+v", r)
			}
			if code == exitUsage && !strings.Contains(errOut, "airlock: target") {
				t.Errorf("malformed target without an error line: %q", errOut)
			}
		})
	}
}

func TestCheckStdinAndExitCodes(t *testing.T) {
	in := "# SSRF payloads\nhttp://169.254.169.254/\n\nhttps://93.184.216.34/\n"
	code, out, _ := run(t, in, "check", "--offline", "-")
	rs := results(t, out)
	if code != exitDenied || len(rs) != 2 || rs[0].Verdict != "deny" || rs[1].Verdict != "allow" {
		t.Fatalf("exit %d, results %+v", code, rs)
	}
	code, out, _ = run(t, "https://93.184.216.34/\n", "check", "--offline", "-")
	if rs := results(t, out); code != exitOK || len(rs) != 1 {
		t.Fatalf("all allowed: exit %d, %s", code, out)
	}
}

func TestCheckUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\nservers:\n  x:\n    command: x\n    network:\n      allow: ['*']\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no targets", []string{"check"}, "no targets"},
		{"bad allow entry", []string{"check", "--allow", "api.*.example.com", "x.example.com"}, `--allow "api.*.example.com"`},
		{"port out of range", []string{"check", "--allow", "example.com:70000", "example.com"}, "out of range"},
		{"star allow", []string{"check", "--allow", "*", "example.com"}, "allow_public_internet"},
		{"bad resolve", []string{"check", "--resolve", "example.com", "example.com"}, "HOST=IP"},
		{"bad resolve ip", []string{"check", "--resolve", "example.com=999.1.1.1", "example.com"}, "not an IP address"},
		{"server without config", []string{"check", "--server", "x", "example.com"}, "--server needs --config"},
		{"config with allow", []string{"check", "--config", bad, "--allow", "x.com", "x.com"}, "cannot be combined"},
		{"bad config", []string{"check", "--config", bad, "example.com"}, "bad.yaml:6"},
		{"missing config", []string{"check", "--config", filepath.Join(dir, "nope.yaml"), "example.com"}, "nope.yaml"},
		{"unknown flag", []string{"check", "--allow-everything", "example.com"}, "unknown flag"},
		{"dash with others", []string{"check", "-", "example.com"}, "only target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, "", tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want 2 (stdout %q)", code, out)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q does not mention %q", errOut, tt.want)
			}
		})
	}
}

func TestCheckConfigServer(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "airlock.yaml")
	conf := `version: 1
servers:
  homeassistant:
    command: uvx
    args: [hass-mcp]
    env:
      HA_URL: http://192.168.77.20:8123
    network:
      allow: ["${HA_URL}"]
codemode:
  network:
    allow_public_internet: true
`
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "", "check", "--offline", "--config", path, "--server", "homeassistant",
		"http://192.168.77.20:8123/api/states", "http://192.168.77.21:8123/")
	rs := results(t, out)
	if code != exitDenied || len(rs) != 2 || rs[0].Verdict != "allow" || rs[1].Verdict != "deny" {
		t.Fatalf("exit %d: %+v %s", code, rs, errOut)
	}
	code, out, _ = run(t, "", "check", "--offline", "--config", path, "http://192.168.77.20:8123/")
	if rs := results(t, out); code != exitDenied || rs[0].Reason != "private" {
		t.Fatalf("codemode policy: exit %d %+v", code, rs)
	}
	code, _, errOut = run(t, "", "check", "--config", path, "--server", "nosuch", "example.com")
	if code != exitUsage || !strings.Contains(errOut, "homeassistant") {
		t.Fatalf("unknown server: exit %d, %q", code, errOut)
	}
}

func TestCheckHelpTeachesEntrySyntax(t *testing.T) {
	code, out, _ := run(t, "", "check", "--help")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{".example.com", "*.example.com", "10.0.0.0/8", ":8000-8100", "--resolve", "--offline", "Exit status"} {
		if !strings.Contains(out, want) {
			t.Errorf("check --help lacks %q", want)
		}
	}
}
