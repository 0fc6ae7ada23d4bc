package binding

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzParseTemplate: parsing never panics, and a parsed template prints back to text that
// parses to the same parts.
func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"", "a", "{{a}}", "x{{ a }}y", "{{credential.k}}", "{{", "}}", "{{a}}}}", "{{{a}}}", "{{credential}}", "{{a b}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseTemplate(s)
		if err != nil {
			return
		}
		again, err := parseTemplate(p.String())
		if err != nil || !slices.Equal(p, again) {
			t.Fatalf("%q -> %q -> %v, %v", s, p.String(), again, err)
		}
	})
}

// FuzzURLTemplate: for any template that validates, and any value of its parameters, the
// rendered URL goes to the host and port the template and credential give — never one a
// parameter chose — or rendering refuses.
func FuzzURLTemplate(f *testing.F) {
	for _, s := range []struct{ tmpl, value string }{
		{"http://{{credential.host}}:3000/x/{{a}}", "../../admin"},
		{"http://{{credential.host}}/x/{{a}}?q={{b}}", "evil.com"},
		{"http://h.lan/{{a}}/{{b}}", "x@evil"},
		{"https://h.lan/{{a}}{{b}}", "192.168.1.1:22"},
		{"http://h.lan?x={{a}}&y={{b}}", "a&b#c"},
		{"http://[fd00::1]:8/{{a}}", "%2e%2e"},
		{"http://h.lan/{{a}}", "//evil.com/x"},
		{"http://{{credential.host}}:{{credential.port}}/v{{a}}", "\\..\\"},
		{"http://h.lan/p/{{a}}", "\r\nHost: evil.com"},
	} {
		f.Add(s.tmpl, s.value)
	}
	cred := map[string]string{"host": "192.168.1.100", "port": "3000", "k": "key"}
	f.Fuzz(func(t *testing.T, raw, value string) {
		u, err := parseURLTemplate(raw)
		if err != nil {
			return
		}
		if u.host.kind == paramRef || u.port.kind == paramRef {
			t.Fatalf("%q: a parameter in the host or port was accepted", raw)
		}
		var params []Param
		u.refs(func(p part, _ string, seg tmpl) {
			if p.kind == paramRef && !slices.ContainsFunc(params, func(q Param) bool { return q.Name == p.text }) {
				params = append(params, Param{Name: p.text, Type: TypeString})
			}
		})
		d := &Declaration{Name: "f", Type: TypeHTTP, Credential: "c",
			Network: policy0(),
			Methods: map[string]*Method{"m": {Name: "m", Params: params, Request: &Request{Method: "GET", URL: raw}}}}
		d.Network.AllowPublicInternet = true
		cd, err := compileDecl(d)
		if err != nil {
			return
		}
		cm := cd.methods["m"]
		auth, err := cm.req.url.trustedAuthority(cred, "c")
		if err != nil {
			return
		}
		vals := map[string]any{}
		for _, p := range params {
			vals[p.Name] = value
		}
		s, err := (&renderer{m: cm, vals: vals, cred: cred}).renderURL(cm.req.url, auth)
		if err != nil {
			return
		}
		got, err := url.Parse(s)
		if err != nil {
			t.Fatalf("%q with %q rendered %q, which does not parse: %v", raw, value, s, err)
		}
		if got.Host != auth.hostport() || got.Scheme != auth.scheme || got.User != nil || got.Fragment != "" {
			t.Fatalf("%q with %q rendered %q: host %q, want %q", raw, value, s, got.Host, auth.hostport())
		}
		if value != "" && !strings.Contains(auth.hostport(), value) && strings.Contains(got.Host, value) {
			t.Fatalf("%q with %q: the value reached the host %q", raw, value, got.Host)
		}
	})
}

// FuzzBindArgs: argument checking never panics; an accepted value satisfies its parameter; an
// error never repeats a secret parameter's value.
func FuzzBindArgs(f *testing.F) {
	cm := argMethod(f,
		Param{Name: "level", Type: TypeInteger, Min: f64(0), Max: f64(100)},
		Param{Name: "pin", Type: TypeString, Secret: true, Pattern: "[0-9]{4}", Optional: true},
		Param{Name: "cmd", Type: TypeString, Enum: []any{"UP", "DOWN"}, Default: "UP"},
		Param{Name: "ratio", Type: TypeNumber, Optional: true},
		Param{Name: "on", Type: TypeBoolean, Optional: true},
		Param{Name: "state", Type: TypeObject, Optional: true, MaxLength: 64},
	)
	for _, s := range []string{`[20]`, `[{"level": 20, "pin": "1234"}]`, `["loud"]`, `[1, "secret-pin"]`, `[1, null, "DOWN", 0.5, true, {"a": 1}]`,
		`[{"level": 1e2}]`, `[-0]`, `[9007199254740993]`, `[{"__proto__": 1}]`, `[1, "12345678"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var raw []json.RawMessage
		if json.Unmarshal(data, &raw) != nil {
			return
		}
		vals, err := cm.bindArgs(raw)
		if err != nil {
			var pin string
			if len(raw) > 1 {
				json.Unmarshal(raw[1], &pin)
			} else if len(raw) == 1 {
				var named struct{ Pin string }
				json.Unmarshal(raw[0], &named)
				pin = named.Pin
			}
			msg := err.Error()
			// The fixed words that say the value is hidden are not a leak ("sec" is in "secret").
			msg = strings.ReplaceAll(msg, "a value that is not shown (the parameter is secret)", "")
			if _, got, ok := strings.Cut(msg, "pin must be "); ok && len(pin) >= 3 && strings.Contains(got, pin) {
				t.Fatalf("the error repeats the secret %q: %v", pin, err)
			}
			return
		}
		l, ok := vals["level"].(int64)
		if !ok || l < 0 || l > 100 {
			t.Fatalf("level = %#v", vals["level"])
		}
		if c := vals["cmd"]; c != "UP" && c != "DOWN" {
			t.Fatalf("cmd = %#v", c)
		}
		if p, ok := vals["pin"]; ok && (len(p.(string)) != 4 || strings.Trim(p.(string), "0123456789") != "") {
			t.Fatalf("pin = %#v", p)
		}
		if s, ok := vals["state"]; ok && (len(s.(json.RawMessage)) > 64 || s.(json.RawMessage)[0] != '{') {
			t.Fatalf("state = %s", s)
		}
	})
}
