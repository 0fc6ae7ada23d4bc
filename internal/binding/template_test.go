package binding

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseTemplate(t *testing.T) {
	for _, tt := range []struct {
		in, want string // want: parts joined by |, placeholders as {{p}} / {{credential.k}}
	}{
		{"", ""},
		{"plain", "plain"},
		{"{{a}}", "{{a}}"},
		{"{{ a }}", "{{a}}"},
		{"x{{a}}y{{credential.k}}z", "x|{{a}}|y|{{credential.k}}|z"},
		{`{"a":{"b":1}}`, `{"a":{"b":1}}`}, // "}}" outside a placeholder is text
		{"{{$x}}{{_y}}", "{{$x}}|{{_y}}"},
		{"{{credential.api-key_2}}", "{{credential.api-key_2}}"},
	} {
		got, err := parseTemplate(tt.in)
		if err != nil {
			t.Errorf("parseTemplate(%q): %v", tt.in, err)
			continue
		}
		var parts []string
		for _, p := range got {
			parts = append(parts, p.String())
		}
		if s := strings.Join(parts, "|"); s != tt.want {
			t.Errorf("parseTemplate(%q) = %q, want %q", tt.in, s, tt.want)
		}
	}
	for _, tt := range []struct{ in, msg string }{
		{"{{a", "never closed"},
		{"{{}}", "is not a placeholder"},
		{"{{a b}}", "is not a placeholder"},
		{"{{1a}}", "is not a placeholder"},
		{"{{credential}}", "names no key"},
		{"{{credential.}}", "is not a credential key"},
		{"{{credential.a.b}}", "is not a credential key"},
		{"{{{a}}}", "is not a placeholder"},
		{"{{a}}{{", "never closed"},
	} {
		_, err := parseTemplate(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("parseTemplate(%q) = %v, want an error containing %q", tt.in, err, tt.msg)
		}
	}
}

func TestParseURLTemplateAccepts(t *testing.T) {
	for _, tt := range []struct{ in, host, port string }{
		{"http://192.168.1.100:3000/command", "192.168.1.100", "3000"},
		{"https://api.example.com/v1/x?a=1&b={{b}}", "api.example.com", ""},
		{"http://{{credential.tvIP}}:3000/volume", "{{credential.tvIP}}", "3000"},
		{"http://{{credential.host}}:{{credential.port}}/", "{{credential.host}}", "{{credential.port}}"},
		{"http://127.0.0.1:{{credential.port}}/x", "127.0.0.1", "{{credential.port}}"},
		{"http://[fd00::1]:8123/api", "[fd00::1]", "8123"},
		{"http://HomeAssistant.LOCAL:8123/api/states/{{entity}}", "homeassistant.local", "8123"},
		{"http://localhost", "localhost", ""},
		{"http://localhost?x={{b}}", "localhost", ""},
		{"http://h.lan/a/{{b}}/c-{{b}}.json", "h.lan", ""},
		{"http://h.lan/%7Euser/{{b}}", "h.lan", ""},
	} {
		u, err := parseURLTemplate(tt.in)
		if err != nil {
			t.Errorf("parseURLTemplate(%q): %v", tt.in, err)
			continue
		}
		if u.host.String() != tt.host || u.port.String() != tt.port {
			t.Errorf("parseURLTemplate(%q): host %q port %q, want %q %q", tt.in, u.host, u.port, tt.host, tt.port)
		}
	}
}

// TestParseURLTemplateRejects: a parameter never reaches the scheme, user info, host or port,
// and the URL's text is strict.
func TestParseURLTemplateRejects(t *testing.T) {
	for _, tt := range []struct{ in, msg string }{
		{"{{u}}", "must start with http:// or https://"},
		{"{{credential.url}}/x", "must start with http:// or https://"},
		{"ftp://h/x", `the scheme "ftp" is not supported`},
		{"HTTP://h/x", "lower case"},
		{"//h/x", "must start with http"},
		{"http://{{host}}/x", "a parameter may never choose where the request goes"},
		{"http://{{host}}.example.com/x", "a parameter may never choose where the request goes"},
		{"http://api.{{sub}}.example.com/x", "a parameter may never choose where the request goes"},
		{"http://example.com:{{port}}/x", "a parameter may never choose where the request goes"},
		{"http://{{credential.h}}{{p}}/x", "a parameter may never choose where the request goes"},
		{"http://{{user}}@example.com/x", "a parameter may never choose where the request goes"},
		{"http://user@example.com/x", "user info"},
		{"http://{{credential.u}}@example.com/x", "user info"},
		{"http://{{credential.h}}.example.com/x", "text after the host"},
		{"http://example.com:99999/x", "not a number from 1 to 65535"},
		{"http://example.com:0/x", "not a number from 1 to 65535"},
		{"http://example.com:80{{credential.p}}/x", "neither digits nor exactly"},
		{"http:///x", "has no host"},
		{"http://:80/x", "has no host"},
		{"http://exa mple.com/", "may hold only letters"},
		{"http://example.com/a b", `has ' ' in the path`},
		{"http://example.com/a%zz", "not a %XX escape"},
		{"http://example.com/a/../b", `".." path segment`},
		{"http://example.com/a/%2e%2E/b", `".." path segment`},
		{"http://example.com/./b", `"." path segment`},
		{"http://example.com/x#frag", "fragment"},
		{"http://example.com/x?a={{a}}#f", "fragment"},
		{"http://example.com/x?{{k}}=1", "never a query key"},
		{"http://example.com/x?a=\"b\"", `has '"' in the query`},
		{"http://[fd00::1/x", "unclosed '['"},
		{"http://0x7f.1.2.3.4/", "not valid"},
		{"http://é.example/", "may hold only letters"},
	} {
		_, err := parseURLTemplate(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("parseURLTemplate(%q) = %v\nwant an error containing %q", tt.in, err, tt.msg)
		}
	}
}

// renderMethod compiles a one-method declaration for rendering tests.
func renderMethod(t *testing.T, rawURL string, params ...Param) *compiledMethod {
	t.Helper()
	d := &Declaration{Name: "dev", Type: TypeLocalNetwork, Credential: "c",
		Network: policy0(),
		Methods: map[string]*Method{"m": {Name: "m", Params: params, Request: &Request{Method: "GET", URL: rawURL}}}}
	cd, err := compileDecl(d)
	if err != nil {
		t.Fatalf("compile %q: %v", rawURL, err)
	}
	return cd.methods["m"]
}

var testCred = map[string]string{"host": "192.168.1.100", "key": "s3cr3t-api-key", "v6": "fd00::5", "port": "3000"}

func renderURLOf(t *testing.T, cm *compiledMethod, a ...any) (string, error) {
	t.Helper()
	vals, err := cm.bindArgs(args(a...))
	if err != nil {
		return "", err
	}
	auth, err := cm.req.url.trustedAuthority(testCred, "c")
	if err != nil {
		t.Fatalf("trustedAuthority: %v", err)
	}
	r := &renderer{m: cm, vals: vals, cred: testCred}
	return r.renderURL(cm.req.url, auth)
}

// TestRenderURLEscapes: values are escaped per segment and per query value; traversal and
// host injection attempts land, escaped, in the path or query of the trusted host.
func TestRenderURLEscapes(t *testing.T) {
	seg := Param{Name: "id", Type: TypeString}
	pth := Param{Name: "p", Type: TypePath}
	q := Param{Name: "q", Type: TypeString}
	for _, tt := range []struct {
		tmpl  string
		param Param
		value any
		want  string
	}{
		{"http://{{credential.host}}/lights/{{id}}/state", seg, "1", "http://192.168.1.100/lights/1/state"},
		{"http://{{credential.host}}/lights/{{id}}/state", seg, "a/b", "http://192.168.1.100/lights/a%2Fb/state"},
		{"http://{{credential.host}}/lights/{{id}}/state", seg, "../../admin", "http://192.168.1.100/lights/..%2F..%2Fadmin/state"},
		{"http://{{credential.host}}/lights/{{id}}/state", seg, "%2e%2e", "http://192.168.1.100/lights/%252e%252e/state"},
		{"http://{{credential.host}}/lights/{{id}}/state", seg, "evil.com", "http://192.168.1.100/lights/evil.com/state"},
		{"http://{{credential.host}}/lights/{{id}}/state", seg, "x@evil", "http://192.168.1.100/lights/x@evil/state"},
		{"http://{{credential.host}}/lights/{{id}}/state", seg, "192.168.1.1:22", "http://192.168.1.100/lights/192.168.1.1:22/state"},
		{"http://{{credential.host}}/lights/{{id}}/state", seg, "//evil.com", "http://192.168.1.100/lights/%2F%2Fevil.com/state"},
		{"http://{{credential.host}}/lights/{{id}}/state", seg, "a?b#c", "http://192.168.1.100/lights/a%3Fb%23c/state"},
		{"http://{{credential.host}}/lights/{{id}}/state", seg, "a b\r\n", "http://192.168.1.100/lights/a%20b%0D%0A/state"},
		{"http://{{credential.host}}/v{{id}}", seg, "..", "http://192.168.1.100/v.."},
		{"http://{{credential.host}}:{{credential.port}}/{{p}}", pth, "api/users/1", "http://192.168.1.100:3000/api/users/1"},
		{"http://{{credential.host}}/{{p}}", pth, "a b/ç", "http://192.168.1.100/a%20b/%C3%A7"},
		{"http://{{credential.v6}}:8123/x/{{id}}", seg, "1", "http://[fd00::5]:8123/x/1"},
		{"http://{{credential.host}}/x?q={{q}}", q, "evil.com", "http://192.168.1.100/x?q=evil.com"},
		{"http://{{credential.host}}/x?q={{q}}", q, "a&b=c#d", "http://192.168.1.100/x?q=a%26b%3Dc%23d"},
		{"http://{{credential.host}}/x?q={{q}}", q, "@evil.com:22/..", "http://192.168.1.100/x?q=%40evil.com%3A22%2F.."},
		{"http://h.lan/api/{{credential.key}}/x", Param{}, nil, "http://h.lan/api/s3cr3t-api-key/x"},
	} {
		var params []Param
		var vals []any
		if tt.param.Name != "" {
			params, vals = []Param{tt.param}, []any{tt.value}
		}
		cm := renderMethod(t, tt.tmpl, params...)
		got, err := renderURLOf(t, cm, vals...)
		if err != nil {
			t.Errorf("%s with %q: %v", tt.tmpl, tt.value, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s with %q:\n got %s\nwant %s", tt.tmpl, tt.value, got, tt.want)
		}
		u, err := url.Parse(got)
		if err != nil || (u.Hostname() != "192.168.1.100" && u.Hostname() != "fd00::5" && u.Hostname() != "h.lan") {
			t.Errorf("%s: rendered host %q", got, u.Hostname())
		}
	}
}

func TestRenderURLRefuses(t *testing.T) {
	seg := Param{Name: "id", Type: TypeString}
	pth := Param{Name: "p", Type: TypePath}
	for _, tt := range []struct {
		tmpl  string
		param Param
		value any
		msg   string
	}{
		{"http://h.lan/x/{{id}}/y", seg, "..", `cannot make it ".."`},
		{"http://h.lan/x/{{id}}/y", seg, ".", `cannot make it "."`},
		{"http://h.lan/x/{{id}}/y", seg, "", `cannot make it ""`},
		{"http://h.lan/x/{{p}}", pth, "../admin", "must be a relative path"},
		{"http://h.lan/x/{{p}}", pth, "a/../b", "must be a relative path"},
		{"http://h.lan/x/{{p}}", pth, "/etc/passwd", "must be a relative path"},
		{"http://h.lan/x/{{p}}", pth, "a//b", "must be a relative path"},
		{"http://h.lan/x/{{p}}", pth, "a/", "must be a relative path"},
		{"http://h.lan/x/{{p}}", pth, `a\..\b`, "must be a relative path"},
		{"http://h.lan/x/{{p}}", pth, "%2e%2e/x", "must be a relative path"},
		{"http://h.lan/x/{{p}}", pth, "a?b", "must be a relative path"},
		{"http://h.lan/x/{{p}}", pth, "a#b", "must be a relative path"},
		{"http://h.lan/x/{{p}}", pth, "a\x00b", "must be a relative path"},
		{"http://h.lan/x/{{p}}", pth, "", "must be a relative path"},
	} {
		cm := renderMethod(t, tt.tmpl, tt.param)
		got, err := renderURLOf(t, cm, tt.value)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s with %q = %q, %v; want an error containing %q", tt.tmpl, tt.value, got, err, tt.msg)
		}
	}
}

func TestCredentialHost(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"192.168.1.100", "192.168.1.100"},
		{"fd00::5", "[fd00::5]"},
		{"::ffff:10.0.0.1", "10.0.0.1"},
		{"HomeAssistant.local", "homeassistant.local"},
		{"0x7f.1", "127.0.0.1"},
	} {
		if got, err := credentialHost(tt.in); err != nil || got != tt.want {
			t.Errorf("credentialHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "evil.com:22", "x@evil.com", "evil.com/x", "http://evil.com", "fe80::1%eth0", "a b", "[::1]", "1.2.3.4.5", "evil.com\r\n", "évil.com"} {
		got, err := credentialHost(in)
		if err == nil {
			t.Errorf("credentialHost(%q) = %q, want an error", in, got)
		} else if len(in) > 3 && strings.Contains(err.Error(), in) {
			t.Errorf("credentialHost(%q): the error %q repeats the value", in, err)
		}
	}
}

// TestHeaders: parameter and credential values in headers cannot hold line breaks, and a
// header that is exactly an absent optional parameter is left out.
func TestHeaders(t *testing.T) {
	d := &Declaration{Name: "ha", Type: TypeLocalNetwork, Credential: "c", Network: policy0(),
		Methods: map[string]*Method{"m": {Name: "m",
			Params: []Param{{Name: "v", Type: TypeString}, {Name: "o", Type: TypeString, Optional: true}},
			Request: &Request{Method: "GET", URL: "http://h.lan/x", Headers: map[string]string{
				"Authorization": "Bearer {{credential.key}}", "X-Value": "v={{v}}", "x-opt": "{{o}}",
			}}}}}
	cd, err := compileDecl(d)
	if err != nil {
		t.Fatal(err)
	}
	cm := cd.methods["m"]
	render := func(cred map[string]string, a ...any) (*rendered, error) {
		vals, err := cm.bindArgs(args(a...))
		if err != nil {
			return nil, err
		}
		auth, _ := cm.req.url.trustedAuthority(cred, "c")
		return (&renderer{m: cm, vals: vals, cred: cred}).render(cm.req, auth)
	}
	rq, err := render(testCred, "ok")
	if err != nil {
		t.Fatal(err)
	}
	if rq.header.Get("Authorization") != "Bearer s3cr3t-api-key" || rq.header.Get("X-Value") != "v=ok" {
		t.Errorf("headers = %v", rq.header)
	}
	if _, ok := rq.header["X-Opt"]; ok {
		t.Errorf("X-Opt set without its optional parameter: %v", rq.header)
	}
	if rq, err = render(testCred, "ok", "yes"); err != nil || rq.header.Get("X-Opt") != "yes" {
		t.Errorf("X-Opt = %q, %v", rq.header.Get("X-Opt"), err)
	}
	for _, bad := range []string{"a\r\nX-Evil: 1", "a\nb", "a\rb", "a\x00b", "a\x7fb"} {
		_, err := render(testCred, bad)
		if err == nil || !strings.Contains(err.Error(), "v goes into the X-Value header and must not hold line breaks") {
			t.Errorf("header value %q: %v", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), bad) {
			t.Errorf("the error repeats the value: %v", err)
		}
	}
	evil := map[string]string{"key": "k\r\nX-Evil: 1"}
	if _, err := render(evil, "ok"); err == nil || !strings.Contains(err.Error(), "the credential's key goes into the Authorization header") {
		t.Errorf("credential with CRLF: %v", err)
	}
}

// TestJSONBody: whole placeholders keep their type, absent optional ones are left out, other
// strings interpolate.
func TestJSONBody(t *testing.T) {
	d := &Declaration{Name: "hue", Type: TypeLocalNetwork, Credential: "c", Network: policy0(),
		Methods: map[string]*Method{"m": {Name: "m",
			Params: []Param{
				{Name: "on", Type: TypeBoolean},
				{Name: "bri", Type: TypeInteger, Optional: true},
				{Name: "xy", Type: TypeArray, Optional: true},
				{Name: "name", Type: TypeString, Default: "lamp"},
				{Name: "state", Type: TypeObject, Optional: true},
				{Name: "f", Type: TypeNumber, Optional: true},
			},
			Request: &Request{Method: "PUT", URL: "http://h.lan/x", JSON: map[string]any{
				"on": "{{on}}", "bri": "{{bri}}", "xy": "{{xy}}", "label": "{{name}} ({{on}})",
				"list": []any{"{{bri}}", 1, nil, true}, "state": "{{state}}", "key": "{{credential.key}}",
				"nested": map[string]any{"f": "{{f}}", "lit": "a}}b"},
			}}}}}
	cd, err := compileDecl(d)
	if err != nil {
		t.Fatal(err)
	}
	cm := cd.methods["m"]
	for _, tt := range []struct {
		args []any
		want string
	}{
		{[]any{true}, `{"key":"s3cr3t-api-key","label":"lamp (true)","list":[null,1,null,true],"nested":{"lit":"a}}b"},"on":true}`},
		{[]any{"json:{\"on\": false, \"bri\": 254, \"xy\": [0.1, 0.2], \"state\": {\"a\": [1]}, \"f\": 0.5, \"name\": \"\\\"q\\\"\"}"},
			`{"bri":254,"key":"s3cr3t-api-key","label":"\"q\" (false)","list":[254,1,null,true],"nested":{"f":0.5,"lit":"a}}b"},"on":false,"state":{"a":[1]},"xy":[0.1,0.2]}`},
	} {
		vals, err := cm.bindArgs(args(tt.args...))
		if err != nil {
			t.Fatal(err)
		}
		auth, _ := cm.req.url.trustedAuthority(testCred, "c")
		rq, err := (&renderer{m: cm, vals: vals, cred: testCred}).render(cm.req, auth)
		if err != nil {
			t.Fatal(err)
		}
		if string(rq.body) != tt.want {
			t.Errorf("body:\n got %s\nwant %s", rq.body, tt.want)
		}
		if rq.header.Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type = %q", rq.header.Get("Content-Type"))
		}
	}
}

func TestTextBody(t *testing.T) {
	d := &Declaration{Name: "tts", Type: TypeLocalNetwork, Network: policy0(),
		Methods: map[string]*Method{
			"say": {Name: "say", Params: []Param{{Name: "text", Type: TypeString}},
				Request: &Request{Method: "POST", URL: "http://h.lan/say", Body: "{{text}}"}},
			"cmd": {Name: "cmd", Params: []Param{{Name: "k", Type: TypeString, Enum: []any{"UP", "DOWN"}}, {Name: "n", Type: TypeInteger}},
				Request: &Request{Method: "POST", URL: "http://h.lan/cmd", Body: "key={{k}}&n={{n}}",
					Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}},
		}}
	cd, err := compileDecl(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		method string
		args   []any
		body   string
		ctype  string
	}{
		{"say", []any{"hello, \"world\"\n"}, "hello, \"world\"\n", "text/plain; charset=utf-8"},
		{"cmd", []any{"UP", 3}, "key=UP&n=3", "application/x-www-form-urlencoded"},
	} {
		cm := cd.methods[tt.method]
		vals, err := cm.bindArgs(args(tt.args...))
		if err != nil {
			t.Fatal(err)
		}
		auth, _ := cm.req.url.trustedAuthority(nil, "")
		rq, err := (&renderer{m: cm, vals: vals}).render(cm.req, auth)
		if err != nil {
			t.Fatal(err)
		}
		if string(rq.body) != tt.body || rq.header.Get("Content-Type") != tt.ctype {
			t.Errorf("%s: body %q, Content-Type %q", tt.method, rq.body, rq.header.Get("Content-Type"))
		}
	}
}

func TestCheckRendered(t *testing.T) {
	auth := authority{scheme: "http", host: "192.168.1.100", port: "3000", portNum: 3000}
	for _, s := range []string{
		"http://192.168.1.100:3000/ok",
		"http://192.168.1.100:3000",
		"http://192.168.1.100:3000/a%2F..%2Fb",
	} {
		if err := checkRendered(s, auth); err != nil {
			t.Errorf("checkRendered(%q): %v", s, err)
		}
	}
	for _, s := range []string{
		"https://192.168.1.100:3000/",
		"http://192.168.1.100:3001/",
		"http://evil.com/",
		"http://x@192.168.1.100:3000/",
		"http://192.168.1.100:3000@evil.com/",
		"http://192.168.1.100:3000/a/../b",
		"http://192.168.1.100:3000/a/%2e%2e/b",
		"http://192.168.1.100:3000/a/./b",
		"http://192.168.1.100:3000/a#x",
		"http://192.168.1.100:3000\\@evil.com/",
	} {
		if err := checkRendered(s, auth); err == nil {
			t.Errorf("checkRendered(%q) accepted it", s)
		}
	}
}
