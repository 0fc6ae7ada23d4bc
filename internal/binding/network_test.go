package binding

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/airlock-sh/airlock/internal/policy"
)

func TestExpandNetwork(t *testing.T) {
	decl := func(allow ...string) *Declaration {
		return &Declaration{Name: "x", Type: TypeLocalNetwork, Credential: "c",
			Network: policy.Spec{Allow: allow, Deny: []string{"{{credential.bad}}:22"}, AllowPrivateIPs: true},
			Methods: map[string]*Method{"a": {Name: "a"}}}
	}
	for _, tt := range []struct {
		value string
		allow []string
	}{
		{"192.168.1.100", []string{"192.168.1.100:3000", "192.168.1.100", "api.example.com"}},
		{"fd00::5", []string{"[fd00::5]:3000", "[fd00::5]", "api.example.com"}},
		{"::ffff:192.168.1.7", []string{"192.168.1.7:3000", "192.168.1.7", "api.example.com"}},
		{"TV.Local", []string{"tv.local:3000", "tv.local", "api.example.com"}},
	} {
		p, spec, err := expandNetwork(decl("{{credential.h}}:3000", "{{credential.h}}", "api.example.com"),
			Credential{Name: "c", Data: map[string]string{"h": tt.value, "bad": "10.0.0.1"}})
		if err != nil || p == nil {
			t.Errorf("%s: %v", tt.value, err)
			continue
		}
		if !slices.Equal(spec.Allow, tt.allow) || !slices.Equal(spec.Deny, []string{"10.0.0.1:22"}) {
			t.Errorf("%s: allow %q deny %q", tt.value, spec.Allow, spec.Deny)
		}
		if spec.Limits.MaxResponseSize != DefaultMaxResponseSize {
			t.Errorf("%s: max_response_size %d", tt.value, spec.Limits.MaxResponseSize)
		}
	}
	for _, tt := range []struct{ value, msg string }{
		{"10.0.0.1:3000", "is not a host name or IP address"},
		{"http://tv.lan", "is not a host name or IP address"},
		{"*.lan", "is not a host name or IP address"},
		{"10.0.0.0/8", "is not a host name or IP address"},
		{"tv", `allow entry "tv:3000": is a top-level domain`},
		{"", "is not a host name or IP address"},
	} {
		_, _, err := expandNetwork(decl("{{credential.h}}:3000"), Credential{Name: "c", Data: map[string]string{"h": tt.value, "bad": "10.0.0.1"}})
		if err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), `network.allow[0] "{{credential.h}}:3000"`) {
			t.Errorf("%q: %v, want …%s…", tt.value, err, tt.msg)
		}
		if err != nil && len(tt.value) > 3 && strings.Contains(err.Error(), tt.value) && !strings.Contains(tt.msg, tt.value) {
			t.Errorf("%q: the error repeats a value that is not a host: %v", tt.value, err)
		}
	}
	_, _, err := expandNetwork(decl("{{credential.h}}"), Credential{Name: "c", Data: map[string]string{"bad": "10.0.0.1"}})
	if err == nil || !strings.Contains(err.Error(), "credential c has no key h; set it with `airlock secret set c h=VALUE`") {
		t.Errorf("missing key: %v", err)
	}
}

// TestDeclareCopies: the Manager keeps its own copy; changing the declaration afterwards, or
// what Declarations returns, changes nothing.
func TestDeclareCopies(t *testing.T) {
	dev := newDevice(t)
	m, _, _ := testManager(t, StaticCredentials{"lg-tv": {"tvIP": "127.0.0.1"}})
	d := lgAt(dev)
	if err := m.Declare(d); err != nil {
		t.Fatal(err)
	}
	d.Methods["getStatus"].Request.URL = "http://evil.example/"
	d.Network.Allow[0] = "evil.example"
	m.Declarations()[0].Methods["getStatus"].Request.URL = "http://evil.example/"
	if _, err := m.Call(context.Background(), "lgRemote", "getStatus", nil); err != nil {
		t.Fatal(err)
	}
	if r := dev.last(t); r.Path != "/status" {
		t.Errorf("sent %+v", r)
	}
	if got := m.Declarations()[0].Methods["getStatus"].Request.URL; !strings.HasSuffix(got, "/status") {
		t.Errorf("Declarations shows %q", got)
	}
}
