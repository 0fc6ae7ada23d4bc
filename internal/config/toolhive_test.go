package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airlock-sh/airlock/internal/policy"
)

// TestToolHiveRegistryProfiles maps the permissions of real ToolHive registry entries (see
// testdata/toolhive/README.md) entry by entry.
func TestToolHiveRegistryProfiles(t *testing.T) {
	for _, tt := range []struct {
		file string
		want policy.Spec
		// refused is the start of the error ParseToolHiveProfile returns once policy.Compile
		// judges the entries, when the profile asks for more than airlock allows.
		refused string
	}{
		// githubusercontent.com is in the public suffix list's private section, which airlock
		// accepts (only ICANN suffixes and top-level domains are refused).
		{"github.json", policy.Spec{Allow: []string{".github.com:443", ".githubusercontent.com:443"}}, ""},
		{"atlassian.json", policy.Spec{Allow: []string{".atlassian.net:443", ".atlassian.com:443"}}, ""},
		{"sentry.json", policy.Spec{Allow: []string{".sentry.io:443", "sentry.io:443"}}, ""},
		{"notion.json", policy.Spec{Allow: []string{"api.notion.com:443"}}, ""},
		{"mcp-server-neon.json", policy.Spec{Allow: []string{
			"console.neon.tech:443", "console.neon.tech:5432",
			"api.neon.tech:443", "api.neon.tech:5432",
			"neon.tech:443", "neon.tech:5432",
		}}, ""},
		// outbound: {} denies everything.
		{"everything.json", policy.Spec{}, ""},
		// insecure_allow_all: the public internet (special-purpose addresses stay denied).
		{"hass-mcp.json", policy.Spec{AllowPublicInternet: true}, ""},
		// insecure_allow_all wins over allow_port, as in ToolHive.
		{"grafana.json", policy.Spec{AllowPublicInternet: true}, ""},
		// allow_port without allow_host names no destination: deny everything.
		{"memory.json", policy.Spec{}, ""},
	} {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "toolhive", tt.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// The mapping, entry by entry.
			p := parseToolHive(path, data, false)
			if err := p.err(); err != nil {
				t.Fatal(err)
			}
			checkSpec(t, tt.file, p.spec, tt.want)

			// What policy.Compile makes of it.
			got, err := ParseToolHiveProfile(path, data)
			switch {
			case tt.refused == "" && err != nil:
				t.Errorf("ParseToolHiveProfile: %v", err)
			case tt.refused == "":
				checkSpec(t, tt.file, got, tt.want)
			case (err == nil || !strings.HasPrefix(err.Error(), tt.refused) || strings.Contains(err.Error(), "\n")):
				t.Errorf("ParseToolHiveProfile: error %v\nwant one starting %s", err, tt.refused)
			}
		})
	}
}

func TestToolHiveMapping(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		want      policy.Spec
	}{
		{"hosts without ports: any port, as in ToolHive",
			`{"network": {"outbound": {"allow_host": ["api.example.com", ".example.org"]}}}`,
			policy.Spec{Allow: []string{"api.example.com:*", ".example.org:*"}}},
		{"star-dot keeps airlock's subdomains-only meaning",
			`{"network": {"outbound": {"allow_host": ["*.example.com"], "allow_port": [443]}}}`,
			policy.Spec{Allow: []string{"*.example.com:443"}}},
		{"IPv6 and IPv4 hosts",
			`{"network": {"outbound": {"allow_host": ["2001:db8::1", "192.0.2.1"], "allow_port": [8443]}}}`,
			policy.Spec{Allow: []string{"[2001:db8::1]:8443", "192.0.2.1:8443"}}},
		{"duplicates are dropped",
			`{"network": {"outbound": {"allow_host": ["a.example", "a.example"], "allow_port": [443, 443, 80]}}}`,
			policy.Spec{Allow: []string{"a.example:443", "a.example:80"}}},
		{"no network", `{}`, policy.Spec{}},
		{"network without outbound", `{"network": {}}`, policy.Spec{}},
		{"null lists", `{"network": {"outbound": {"allow_host": null, "allow_port": null}}}`, policy.Spec{}},
		{"insecure_allow_all ignores the lists",
			`{"network": {"outbound": {"insecure_allow_all": true, "allow_host": ["api.netbird.io"], "allow_port": [443]}}}`,
			policy.Spec{AllowPublicInternet: true}},
		{"insecure_allow_all false",
			`{"network": {"outbound": {"insecure_allow_all": false, "allow_host": ["a.example"], "allow_port": [443]}}}`,
			policy.Spec{Allow: []string{"a.example:443"}}},
		{"mode none denies everything",
			`{"network": {"mode": "none", "outbound": {"insecure_allow_all": true}}}`,
			policy.Spec{}},
		{"mode bridge is ignored",
			`{"network": {"mode": "bridge", "outbound": {"allow_host": ["a.example"], "allow_port": [443]}}}`,
			policy.Spec{Allow: []string{"a.example:443"}}},
		// ToolHive's built-in "none" profile, as its docs/arch/05-runconfig-and-permissions.md shows it.
		{"built-in none profile",
			`{"name": "none", "read": [], "write": [], "network": {"outbound": {"insecure_allow_all": false, "allow_host": [], "allow_port": []}, "inbound": {"allow_host": []}}, "privileged": false}`,
			policy.Spec{}},
		{"built-in network profile",
			`{"name": "network", "read": [], "write": [], "network": {"outbound": {"insecure_allow_all": true}}, "privileged": false}`,
			policy.Spec{AllowPublicInternet: true}},
		{"older fields: allow_transport, seccomp",
			`{"read": ["/data"], "network": {"outbound": {"allow_transport": ["tcp"], "allow_host": ["a.example"], "allow_port": [443]}},
			  "seccomp": {"enabled": true, "denied_syscalls": ["ptrace"], "allowed_syscalls": ["read"], "default_action": "errno", "architectures": ["x86_64"]}}`,
			policy.Spec{Allow: []string{"a.example:443"}}},
		{"tab-indented JSON with an escaped slash",
			"{\n\t\"name\": \"a\\/b\",\n\t\"network\": {\"outbound\": {\"allow_host\": [\"a.example\"], \"allow_port\": [443]}}\n}",
			policy.Spec{Allow: []string{"a.example:443"}}},
		{"YAML",
			"network:\n  outbound:\n    allow_host: [a.example]\n    allow_port: [443]\n",
			policy.Spec{Allow: []string{"a.example:443"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseToolHiveProfile("p.json", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			checkSpec(t, tt.name, got, tt.want)
		})
	}
}

func TestToolHiveErrors(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		want      []string // whole lines of the error, in order
	}{
		{"empty", "", []string{`p.json:1:1: empty profile; a ToolHive profile is a JSON object such as {"network": {"outbound": {"allow_host": ["api.example.com"], "allow_port": [443]}}}`}},
		{"not an object", `["a.example"]`, []string{`p.json:1:1: must be a mapping (key: value), not a list`}},
		{"unknown top-level key", "{\n  \"network\": {},\n  \"netwrok\": {}\n}", []string{
			`p.json:3:3: netwrok: unknown key "netwrok"; did you mean "network"?`}},
		{"unknown nested key", `{"network": {"outbound": {"allow_hosts": ["a.example"]}}}`, []string{
			`p.json:1:27: network.outbound.allow_hosts: unknown key "allow_hosts"; did you mean "allow_host"?`}},
		{"registry entry", `{"description": "x", "permissions": {"network": {}}}`, []string{
			`p.json:1:22: permissions: this looks like a ToolHive registry entry; save the object under "permissions" as the profile`}},
		{"ports", `{"network": {"outbound": {"allow_host": ["a.example"], "allow_port": [0, 70000, "443", 443.5]}}}`, []string{
			`p.json:1:71: network.outbound.allow_port[0]: 0 is not a port; write a number from 1 to 65535`,
			`p.json:1:74: network.outbound.allow_port[1]: 70000 is not a port; write a number from 1 to 65535`,
			`p.json:1:81: network.outbound.allow_port[2]: must be an integer, not the string "443"; remove the quotes`,
			`p.json:1:88: network.outbound.allow_port[3]: must be an integer, not the number 443.5; write a whole number`}},
		{"types", `{"privileged": "no", "network": {"outbound": {"insecure_allow_all": "true", "allow_host": "a.example"}}}`, []string{
			`p.json:1:16: privileged: must be true or false, not the string "no"; write true or false, without quotes`,
			`p.json:1:69: network.outbound.insecure_allow_all: must be true or false, not the string "true"; write true or false, without quotes`,
			`p.json:1:91: network.outbound.allow_host: must be a list, not the string "a.example"; write a list: ["a.example"]`}},
		{"duplicate key", "{\"network\": {\"outbound\": {\n  \"allow_port\": [443],\n  \"allow_port\": [80]}}}", []string{
			`p.json:3:3: network.outbound.allow_port: duplicate key "allow_port" (first at line 2); remove one of them`}},
		{"empty host", `{"network": {"outbound": {"allow_host": [""]}}}`, []string{
			`p.json:1:42: network.outbound.allow_host[0]: empty host; write a host name such as api.example.com or .example.com`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseToolHiveProfile("p.json", []byte(tt.src))
			if err == nil {
				t.Fatal("no error")
			}
			checkErrorForm(t, "p.json", err)
			if got := err.Error(); got != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestToolHiveEntryErrors needs policy.Compile: a host the policy refuses is reported once, at
// its line in the profile.
func TestToolHiveEntryErrors(t *testing.T) {
	_, err := ParseToolHiveProfile("p.json", []byte(`{"network": {"outbound": {"allow_host": ["*", "a.example"], "allow_port": [443, 80]}}}`))
	var e *Error
	if !errors.As(err, &e) || e.Line != 1 || e.Column != 42 || e.Path != "network.outbound.allow_host[0]" ||
		!strings.HasPrefix(e.Msg, `"*" (gives "*:443"): `) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error = %v", err)
	}
}
