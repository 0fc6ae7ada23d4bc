package binding

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/airlock-sh/airlock/internal/policy"
)

// lg is the seed's LG remote as a declaration.
func lg() *Declaration {
	return &Declaration{
		Name: "lgRemote", Type: TypeLocalNetwork, Description: "LG TV remote control on the LAN", Credential: "lg-tv",
		Network: policy.Spec{AllowPrivateIPs: true, Allow: []string{"{{credential.tvIP}}:3000"},
			Limits: policy.Limits{MaxRequestSize: 1024}},
		Methods: map[string]*Method{
			"sendCommand": {Name: "sendCommand", Description: "Press a remote-control key",
				Params:  []Param{{Name: "command", Type: TypeString, Enum: []any{"POWER_ON", "POWER_OFF", "VOLUME_UP", "VOLUME_DOWN", "MUTE"}}},
				Request: &Request{Method: "POST", URL: "http://{{credential.tvIP}}:3000/command", JSON: map[string]any{"command": "{{command}}"}}},
			"getStatus": {Name: "getStatus", Request: &Request{Method: "GET", URL: "http://{{credential.tvIP}}:3000/status"}},
			"setVolume": {Name: "setVolume", Params: []Param{{Name: "level", Type: TypeInteger, Min: f64(0), Max: f64(100)}},
				Request: &Request{Method: "POST", URL: "http://{{credential.tvIP}}:3000/volume", JSON: map[string]any{"level": "{{level}}"}}},
		},
	}
}

func TestValidateSeed(t *testing.T) {
	if err := lg().Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestValidateProblems: each class of bad declaration is reported at its path, with a fix.
func TestValidateProblems(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(d *Declaration)
		path   string
		msg    string
	}{
		{"bad name", func(d *Declaration) { d.Name = "lg-remote" }, "", "is not a JavaScript identifier"},
		{"reserved name", func(d *Declaration) { d.Name = "delete" }, "", "reserved word"},
		{"global name", func(d *Declaration) { d.Name = "fetch" }, "", "global of the code-mode runtime"},
		{"console", func(d *Declaration) { d.Name = "console" }, "", "global of the code-mode runtime"},
		{"no type", func(d *Declaration) { d.Type = "" }, "type", "missing; write type: local-network"},
		{"bad type", func(d *Declaration) { d.Type = "lan" }, "type", `"lan" is not a binding type`},
		{"bad credential name", func(d *Declaration) { d.Credential = "lg tv" }, "credential", "is not a credential name"},
		{"no methods", func(d *Declaration) { d.Methods = nil }, "methods", "at least one method"},
		{"bad method name", func(d *Declaration) {
			d.Methods["set-volume"] = d.Methods["setVolume"]
			d.Methods["set-volume"].Name = "set-volume"
		}, "methods.set-volume", "is not a JavaScript identifier"},
		{"method then", func(d *Declaration) {
			d.Methods["then"] = &Method{Name: "then", Request: d.Methods["getStatus"].Request}
		}, "methods.then", "member of every JavaScript object"},
		{"name differs", func(d *Declaration) { d.Methods["getStatus"].Name = "status" }, "methods.getStatus", "differs from its key"},
		{"nil method", func(d *Declaration) { d.Methods["x"] = nil }, "methods.x", "empty"},
		{"missing request", func(d *Declaration) { d.Methods["getStatus"].Request = nil }, "methods.getStatus", "request is missing"},
		{"param name", func(d *Declaration) { d.Methods["setVolume"].Params[0].Name = "1level" }, "methods.setVolume.params[0].name", "is not a JavaScript identifier"},
		{"param credential", func(d *Declaration) { d.Methods["setVolume"].Params[0].Name = "credential" }, "methods.setVolume.params[0].name", `"credential" is reserved`},
		{"param proto", func(d *Declaration) { d.Methods["setVolume"].Params[0].Name = "__proto__" }, "methods.setVolume.params[0].name", "member of every JavaScript object"},
		{"param type", func(d *Declaration) { d.Methods["setVolume"].Params[0].Type = "int" }, "methods.setVolume.params[0].type", `"int" is not a parameter type`},
		{"param no type", func(d *Declaration) { d.Methods["setVolume"].Params[0].Type = "" }, "methods.setVolume.params[0].type", "missing; write one of string"},
		{"duplicate param", func(d *Declaration) {
			m := d.Methods["setVolume"]
			m.Params = append(m.Params, m.Params[0])
		}, "methods.setVolume.params[1].name", "declared twice"},
		{"min on string", func(d *Declaration) { d.Methods["sendCommand"].Params[0].Min = f64(1) }, "methods.sendCommand.params[0].min", "applies to number and integer"},
		{"min above max", func(d *Declaration) { d.Methods["setVolume"].Params[0].Min = f64(200) }, "methods.setVolume.params[0].min", "min 200 is above max 100"},
		{"fractional integer bound", func(d *Declaration) { d.Methods["setVolume"].Params[0].Max = f64(99.5) }, "methods.setVolume.params[0].max", "write a whole number"},
		{"max_length on integer", func(d *Declaration) { d.Methods["setVolume"].Params[0].MaxLength = 3 }, "methods.setVolume.params[0].max_length", "applies to string, path, object and array"},
		{"max_length negative", func(d *Declaration) { d.Methods["sendCommand"].Params[0].MaxLength = -1 }, "methods.sendCommand.params[0].max_length", "out of range"},
		{"bad pattern", func(d *Declaration) { d.Methods["sendCommand"].Params[0].Pattern = "(" }, "methods.sendCommand.params[0].pattern", "is not an RE2 regular expression"},
		{"pattern on integer", func(d *Declaration) { d.Methods["setVolume"].Params[0].Pattern = "1" }, "methods.setVolume.params[0].pattern", "applies to string and path"},
		{"enum of wrong type", func(d *Declaration) { d.Methods["setVolume"].Params[0].Enum = []any{1, "two"} }, "methods.setVolume.params[0].enum[1]", `level must be an integer from 0 to 100, got "two"`},
		{"enum out of range", func(d *Declaration) { d.Methods["setVolume"].Params[0].Enum = []any{101} }, "methods.setVolume.params[0].enum[0]", `got 101`},
		{"enum duplicate", func(d *Declaration) { d.Methods["sendCommand"].Params[0].Enum = []any{"A", "A"} }, "methods.sendCommand.params[0].enum[1]", "listed twice"},
		{"enum empty", func(d *Declaration) { d.Methods["sendCommand"].Params[0].Enum = []any{} }, "methods.sendCommand.params[0].enum", "empty"},
		{"enum on object", func(d *Declaration) {
			d.Methods["sendCommand"].Params[0] = Param{Name: "command", Type: TypeObject, Enum: []any{map[string]any{}}}
		}, "methods.sendCommand.params[0].enum", "enum applies to string"},
		{"default out of enum", func(d *Declaration) { d.Methods["sendCommand"].Params[0].Default = "REBOOT" }, "methods.sendCommand.params[0].default", `the default of command must be one of "POWER_ON"`},
		{"default wrong type", func(d *Declaration) { d.Methods["setVolume"].Params[0].Default = "10" }, "methods.setVolume.params[0].default", `got "10"`},
		{"unused param", func(d *Declaration) {
			d.Methods["getStatus"].Params = []Param{{Name: "verbose", Type: TypeBoolean}}
		}, "methods.getStatus.params[0]", "verbose is not used by the request"},
		{"bad HTTP method", func(d *Declaration) { d.Methods["getStatus"].Request.Method = "FETCH" }, "methods.getStatus.request.method", `"FETCH" is not supported`},
		{"lower-case HTTP method", func(d *Declaration) { d.Methods["getStatus"].Request.Method = "get" }, "methods.getStatus.request.method", "must be written in capitals: GET"},
		{"no url", func(d *Declaration) { d.Methods["getStatus"].Request.URL = "" }, "methods.getStatus.request.url", "missing"},
		{"param in host", func(d *Declaration) {
			d.Methods["setVolume"].Request.URL = "http://{{level}}:3000/volume"
		}, "methods.setVolume.request.url", "a parameter may never choose where the request goes"},
		{"undeclared placeholder", func(d *Declaration) {
			d.Methods["setVolume"].Request.JSON = map[string]any{"level": "{{lvl}}"}
		}, "methods.setVolume.request.json.level", "{{lvl}} is not a parameter of lgRemote.setVolume; the parameters are level"},
		{"placeholder in method without params", func(d *Declaration) {
			d.Methods["getStatus"].Request.URL = "http://{{credential.tvIP}}:3000/status/{{x}}"
		}, "methods.getStatus.request.url", "the method has no parameters"},
		{"credential without credential", func(d *Declaration) {
			d.Credential = ""
		}, "methods.getStatus.request.url", "{{credential.tvIP}} needs a credential, and the binding has none"},
		{"object in URL", func(d *Declaration) {
			d.Methods["setVolume"].Params[0] = Param{Name: "level", Type: TypeObject}
			d.Methods["setVolume"].Request.URL = "http://{{credential.tvIP}}:3000/volume/{{level}}"
		}, "methods.setVolume.request.url", "level is an object parameter, which cannot go in the URL path"},
		{"path type in query", func(d *Declaration) {
			d.Methods["setVolume"].Params[0] = Param{Name: "level", Type: TypePath}
			d.Methods["setVolume"].Request.URL = "http://{{credential.tvIP}}:3000/volume?l={{level}}"
			d.Methods["setVolume"].Request.JSON = nil
		}, "methods.setVolume.request.url", "level is a path parameter, which cannot go in a query value"},
		{"path type in part of a segment", func(d *Declaration) {
			d.Methods["setVolume"].Params[0] = Param{Name: "level", Type: TypePath}
			d.Methods["setVolume"].Request.URL = "http://{{credential.tvIP}}:3000/v-{{level}}"
			d.Methods["setVolume"].Request.JSON = nil
		}, "methods.setVolume.request.url", "must fill whole segments"},
		{"optional in path", func(d *Declaration) {
			d.Methods["setVolume"].Params[0].Optional = true
			d.Methods["setVolume"].Request.URL = "http://{{credential.tvIP}}:3000/volume/{{level}}"
		}, "methods.setVolume.request.url", "optional without a default, and the URL path cannot leave it out"},
		{"forbidden header", func(d *Declaration) {
			d.Methods["getStatus"].Request.Headers = map[string]string{"host": "evil.com"}
		}, "methods.getStatus.request.headers.host", "Host is set by airlock's HTTP client"},
		{"bad header name", func(d *Declaration) {
			d.Methods["getStatus"].Request.Headers = map[string]string{"X Bad": "1"}
		}, "methods.getStatus.request.headers.X Bad", "is not a valid header name"},
		{"header line break", func(d *Declaration) {
			d.Methods["getStatus"].Request.Headers = map[string]string{"X-A": "a\r\nX-B: 1"}
		}, "methods.getStatus.request.headers.X-A", "characters a header cannot"},
		{"header twice", func(d *Declaration) {
			d.Methods["getStatus"].Request.Headers = map[string]string{"X-A": "1", "x-a": "2"}
		}, "methods.getStatus.request.headers.x-a", "set twice"},
		{"object in header", func(d *Declaration) {
			d.Methods["setVolume"].Params[0] = Param{Name: "level", Type: TypeObject}
			d.Methods["setVolume"].Request.Headers = map[string]string{"X-L": "{{level}}"}
		}, "methods.setVolume.request.headers.X-L", "level is an object parameter, which cannot go in a header"},
		{"json and body", func(d *Declaration) { d.Methods["setVolume"].Request.Body = "x" }, "methods.setVolume.request.body", "json or body, not both"},
		{"GET with body", func(d *Declaration) { d.Methods["getStatus"].Request.JSON = map[string]any{"a": 1} }, "methods.getStatus.request.json", "a GET request has no body"},
		{"free string in body", func(d *Declaration) {
			d.Methods["sendCommand"].Params[0].Enum = nil
			d.Methods["sendCommand"].Request.JSON = nil
			d.Methods["sendCommand"].Request.Body = `{"command": "{{command}}"}`
		}, "methods.sendCommand.request.body", "free-form string inside a raw body"},
		{"template in JSON key", func(d *Declaration) {
			d.Methods["setVolume"].Request.JSON = map[string]any{"{{level}}": 1, "level": "{{level}}"}
		}, "methods.setVolume.request.json.{{level}}", "a key cannot be a template"},
		{"not JSON", func(d *Declaration) {
			d.Methods["setVolume"].Request.JSON = map[string]any{"level": "{{level}}", "x": struct{}{}}
		}, "methods.setVolume.request.json.x", "is not a JSON value"},
		{"bad template", func(d *Declaration) {
			d.Methods["setVolume"].Request.JSON = map[string]any{"level": "{{level"}
		}, "methods.setVolume.request.json.level", "never closed"},
		{"param in network entry", func(d *Declaration) { d.Network.Allow = []string{"{{level}}:3000"} }, "network.allow[0]", "a parameter may never choose what the binding reaches"},
		{"partial network template", func(d *Declaration) { d.Network.Allow = []string{"{{credential.tvIP}}.lan:3000"} }, "network.allow[0]", `an entry may be exactly "{{credential.KEY}}"`},
		{"env template in network", func(d *Declaration) { d.Network.Allow = []string{"${TV}"} }, "network.allow[0]", "a binding has no env for ${NAME} templates"},
		{"bad network entry", func(d *Declaration) { d.Network.Allow = append(d.Network.Allow, "*.com") }, "network.allow[1]", `"*.com": covers a top-level domain (com)`},
		{"bad port in templated entry", func(d *Declaration) { d.Network.Allow = []string{"{{credential.tvIP}}:70000"} }, "network.allow[0]", `"{{credential.tvIP}}:70000": has port 70000`},
		{"network credential without credential", func(d *Declaration) {
			d.Credential = ""
			d.Methods = map[string]*Method{"x": {Name: "x", Request: &Request{Method: "GET", URL: "http://192.168.1.5/"}}}
		}, "network.allow[0]", "needs a credential"},
		{"literal host refused by the policy", func(d *Declaration) {
			d.Network = policy.Spec{AllowPrivateIPs: true}
			d.Credential = ""
			d.Methods = map[string]*Method{"x": {Name: "x", Request: &Request{Method: "GET", URL: "http://192.168.1.50/api"}}}
		}, "methods.x.request.url", `the binding's network section refuses every call to this URL: blocked 192.168.1.50:80 (no_matching_allow`},
		{"no network at all", func(d *Declaration) {
			d.Network = policy.Spec{}
			d.Credential = ""
			d.Methods = map[string]*Method{"x": {Name: "x", Request: &Request{Method: "GET", URL: "http://localhost:3000/"}}}
		}, "methods.x.request.url", `blocked localhost:3000 (`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := lg()
			tt.change(d)
			err := d.Validate()
			if err == nil {
				t.Fatal("valid")
			}
			for _, p := range Problems(err) {
				if p.Path == tt.path && strings.Contains(p.Msg, tt.msg) {
					if p.Binding != d.Name {
						t.Errorf("Binding = %q", p.Binding)
					}
					return
				}
			}
			t.Errorf("no problem at %q containing %q; got:\n%v", tt.path, tt.msg, err)
		})
	}
}

func TestValidateReportsEverything(t *testing.T) {
	d := lg()
	d.Type = "tv"
	d.Methods["setVolume"].Params[0].Type = "int"
	d.Methods["getStatus"].Request.Method = "get"
	d.Network.Allow = append(d.Network.Allow, "*")
	if n := len(Problems(d.Validate())); n != 4 {
		t.Errorf("%d problems, want 4:\n%v", n, d.Validate())
	}
}

func TestValidateGoBinding(t *testing.T) {
	d := &Declaration{Name: "devServer", Type: TypeLocalNetwork, Network: policy.Spec{AllowLocalhost: true, Allow: []string{"localhost:3000"}},
		Methods: map[string]*Method{"getData": {Name: "getData"}, "postData": {Name: "postData"}}}
	if err := d.Validate(); err != nil || !d.IsGo() {
		t.Fatalf("Validate = %v, IsGo = %v", err, d.IsGo())
	}
	if lg().IsGo() {
		t.Error("lg().IsGo()")
	}
}

// TestDeclarationJSON: a declaration marshals with the config keys, identically for equal
// declarations, so approval can hash it.
func TestDeclarationJSON(t *testing.T) {
	a, err := json.Marshal(lg())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(lg().Clone())
	if string(a) != string(b) {
		t.Errorf("a clone marshals differently:\n%s\n%s", a, b)
	}
	for _, key := range []string{`"name":"lgRemote"`, `"type":"local-network"`, `"credential":"lg-tv"`, `"allow_private_ips":true`,
		`"methods":{"getStatus":`, `"params":[{"name":"level","type":"integer","min":0,"max":100}]`,
		`"request":{"method":"POST","url":"http://{{credential.tvIP}}:3000/volume","json":{"level":"{{level}}"}}`,
		`"allow":["{{credential.tvIP}}:3000"]`} {
		if !strings.Contains(string(a), key) {
			t.Errorf("JSON lacks %s:\n%s", key, a)
		}
	}
}

func TestClone(t *testing.T) {
	d := lg()
	d.Methods["setVolume"].Params[0].Default = 10
	d.Methods["sendCommand"].Request.Headers = map[string]string{"X": "1"}
	c := d.Clone()
	c.Network.Allow[0] = "changed"
	c.Methods["setVolume"].Params[0].Name = "changed"
	*c.Methods["setVolume"].Params[0].Min = 50
	c.Methods["sendCommand"].Request.JSON.(map[string]any)["command"] = "changed"
	c.Methods["sendCommand"].Request.Headers["X"] = "changed"
	c.Methods["sendCommand"].Params[0].Enum[0] = "changed"
	if err := d.Validate(); err != nil {
		t.Errorf("changing the clone changed the original: %v", err)
	}
	if d.Network.Allow[0] == "changed" || d.Methods["sendCommand"].Request.Headers["X"] == "changed" ||
		d.Methods["sendCommand"].Params[0].Enum[0] == "changed" || *d.Methods["setVolume"].Params[0].Min == 50 {
		t.Error("the clone shares memory with the original")
	}
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"lgRemote", "philipsHue", "_x", "$", "a1", "homeAssistant"} {
		if err := CheckName(ok); err != nil {
			t.Errorf("CheckName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "1a", "a-b", "a.b", "lg remote", "class", "await", "undefined", "JSON", "Math", "Promise", "console", "fetch", "globalThis", "__proto__", strings.Repeat("a", 65), "é"} {
		if err := CheckName(bad); err == nil {
			t.Errorf("CheckName(%q) accepted it", bad)
		}
	}
}
