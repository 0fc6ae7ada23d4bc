package config

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/airlock-sh/airlock/internal/binding"
	"github.com/airlock-sh/airlock/internal/policy"
)

// TestBindingsDecoded: every key of a binding reaches the Declaration, typed.
func TestBindingsDecoded(t *testing.T) {
	f, err := Load("testdata/valid/bindings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := f.Bindings["tts"]
	if d == nil || len(f.Bindings) != 1 {
		t.Fatalf("Bindings = %v", f.Bindings)
	}
	if d.Name != "tts" || d.Type != binding.TypeHTTP || d.Description != "A text-to-speech service" || d.Credential != "tts" {
		t.Errorf("binding = %+v", d)
	}
	checkSpec(t, "tts", d.Network, policy.Spec{
		Allow:  []string{"api.example.com:443", "{{credential.mirror}}:8443"},
		Deny:   []string{"evil.example.com"},
		Limits: policy.Limits{MaxResponseSize: 64 << 10, Timeout: 10 * time.Second},
	})
	got, err := json.Marshal(d.Methods)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"raw":{"name":"raw","params":[{"name":"n","type":"integer"}],"request":{"method":"PUT","url":"https://api.example.com/raw","headers":{"Content-Type":"text/plain"},"body":"n={{n}}"}},` +
		`"say":{"name":"say","description":"Speak a text","params":[` +
		`{"name":"text","type":"string","description":"what to say","max_length":200},` +
		`{"name":"voice","type":"string","default":"alto","enum":["alto","bass"]},` +
		`{"name":"speed","type":"number","optional":true,"min":0.5,"max":2},` +
		`{"name":"pin","type":"string","optional":true,"pattern":"[0-9]{4}","secret":true}],` +
		`"request":{"method":"POST","url":"https://api.example.com/v1/{{voice}}/say?speed={{speed}}",` +
		`"headers":{"Authorization":"Bearer {{credential.token}}","X-Pin":"{{pin}}"},` +
		`"json":{"options":{"loud":false,"ratio":0.5,"repeat":1,"tags":["a",1,null],"when":"2024-01-02"},"text":"{{text}}"}}}}`
	if string(got) != want {
		t.Errorf("methods:\n got %s\nwant %s", got, want)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("a loaded declaration does not validate: %v", err)
	}
}

func TestBindingsAbsent(t *testing.T) {
	for _, src := range []string{"version: 1\n", "version: 1\nbindings:\n", "version: 1\nbindings: {}\n"} {
		f, err := Parse("b.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if f.Bindings == nil || len(f.Bindings) != 0 {
			t.Errorf("%q: Bindings = %v", src, f.Bindings)
		}
	}
}

// TestBindingExamples: the four examples load, say what the seed's bindings do, and are
// accepted by a binding.Manager.
func TestBindingExamples(t *testing.T) {
	for _, tt := range []struct {
		file, name, credential string
		methods                []string
		allow                  []string
		private, localhost     bool
	}{
		{"lg-remote.yaml", "lgRemote", "lg-tv", []string{"getStatus", "sendCommand", "setVolume"}, []string{"{{credential.tvIP}}:3000"}, true, false},
		{"hue.yaml", "philipsHue", "hue", []string{"getLights", "setLight", "setScene"}, []string{"{{credential.bridgeIP}}:80"}, true, false},
		{"home-assistant.yaml", "homeAssistant", "home-assistant", []string{"callService", "getState"}, []string{"{{credential.host}}:8123"}, true, false},
		{"dev-server.yaml", "devServer", "", []string{"getData", "postData"}, []string{"localhost:3000"}, false, true},
	} {
		t.Run(tt.file, func(t *testing.T) {
			f, err := Load("../../examples/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			d := f.Bindings[tt.name]
			if d == nil || len(f.Bindings) != 1 {
				t.Fatalf("Bindings = %v", f.Bindings)
			}
			if d.Type != binding.TypeLocalNetwork || d.Credential != tt.credential || !slices.Equal(d.MethodNames(), tt.methods) {
				t.Errorf("%s: type %q, credential %q, methods %v", tt.name, d.Type, d.Credential, d.MethodNames())
			}
			if !slices.Equal(d.Network.Allow, tt.allow) || d.Network.AllowPrivateIPs != tt.private || d.Network.AllowLocalhost != tt.localhost {
				t.Errorf("%s: network = %+v", tt.name, d.Network)
			}
			m := binding.NewManager(binding.Options{})
			defer m.Close()
			if err := m.Declare(d); err != nil {
				t.Errorf("Manager.Declare: %v", err)
			}
		})
	}
	f, err := Load("../../examples/lg-remote.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sv := f.Bindings["lgRemote"].Methods["setVolume"]
	if len(sv.Params) != 1 || sv.Params[0].Type != "integer" || *sv.Params[0].Min != 0 || *sv.Params[0].Max != 100 ||
		sv.Request.Method != "POST" || sv.Request.URL != "http://{{credential.tvIP}}:3000/volume" {
		t.Errorf("setVolume = %+v, request %+v", sv, sv.Request)
	}
}

// TestBindingErrorPositions: problems found by binding.Validate are reported at the line and
// column of the key they are about, in YAML and in JSON.
func TestBindingErrorPositions(t *testing.T) {
	const lg = "version: 1\nbindings:\n  lg:\n    type: local-network\n    network: {allow: [\"192.168.1.100:3000\"]}\n    methods:\n      set:\n"
	for _, tt := range []struct {
		name, file, src string
		line, col       int
		path, text      string
	}{
		{"param type", "a.yaml", lg + "        params: [{name: level, type: int}]\n        request: {method: POST, url: \"http://192.168.1.100:3000/v\", json: {l: \"{{level}}\"}}\n",
			8, 38, "bindings.lg.methods.set.params[0].type", `"int" is not a parameter type`},
		{"param name missing", "a.yaml", lg + "        params: [{type: integer}]\n        request: {method: POST, url: \"http://192.168.1.100:3000/v\"}\n",
			8, 18, "bindings.lg.methods.set.params[0].name", "empty name"},
		{"host param", "a.yaml", lg + "        params: [{name: ip, type: string}]\n        request:\n          method: GET\n          url: \"http://{{ip}}/v\"\n",
			11, 16, "bindings.lg.methods.set.request.url", "a parameter may never choose where the request goes"},
		{"json leaf", "a.yaml", lg + "        params: [{name: level, type: integer}]\n        request:\n          method: POST\n          url: \"http://192.168.1.100:3000/v\"\n          json:\n            a: [1, {b: \"{{lvl}}\"}]\n            c: \"{{level}}\"\n",
			13, 24, "bindings.lg.methods.set.request.json.a[1].b", "{{lvl}} is not a parameter"},
		{"header", "a.yaml", lg + "        request:\n          method: GET\n          url: \"http://192.168.1.100:3000/v\"\n          headers:\n            Connection: close\n",
			12, 25, "bindings.lg.methods.set.request.headers.Connection", "Connection is set by airlock's HTTP client"},
		{"enum item", "a.yaml", lg + "        params:\n          - name: c\n            type: string\n            enum: [A, 5, B]\n        request: {method: POST, url: \"http://192.168.1.100:3000/v\", json: \"{{c}}\"}\n",
			11, 23, "bindings.lg.methods.set.params[0].enum[1]", "c must be a string, got 5"},
		{"no type", "a.yaml", "version: 1\nbindings:\n  lg:\n    methods: {a: {request: {method: GET, url: \"http://localhost/\"}}}\n",
			3, 3, "bindings.lg.type", "missing; write type: local-network"},
		{"method name", "a.yaml", "version: 1\nbindings:\n  lg:\n    type: http\n    methods:\n      toString: {request: {method: GET, url: \"http://localhost/\"}}\n",
			6, 7, "bindings.lg.methods.toString", "member of every JavaScript object"},
		{"network entry", "a.yaml", "version: 1\nbindings:\n  lg:\n    type: http\n    credential: c\n    network:\n      allow:\n        - api.example.com\n        - \"{{credential.h}}/24\"\n    methods:\n      a: {request: {method: GET, url: \"https://api.example.com/\"}}\n",
			9, 11, "bindings.lg.network.allow[1]", `an entry may be exactly "{{credential.KEY}}"`},
		{"json file", "a.json", `{"version": 1, "bindings": {"lg": {"type": "http", "network": {"allow": ["api.example.com"]},` + "\n" +
			`  "methods": {"a": {"params": [{"name": "x", "type": "string"}], "request": {"method": "GET", "url": "https://{{x}}.example.com/"}}}}}}`,
			2, 102, "bindings.lg.methods.a.request.url", "a parameter may never choose where the request goes"},
		{"json unknown key", "a.json", `{"version": 1, "bindings": {"lg": {"type": "http", "metods": {}}}}`,
			1, 52, "bindings.lg.metods", `unknown key "metods"; did you mean "methods"?`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.file, []byte(tt.src))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v", err)
			}
			for _, one := range unwrap(err) {
				if errors.As(one, &e) && e.Path == tt.path && strings.Contains(e.Msg, tt.text) {
					if e.Line != tt.line || e.Column != tt.col {
						t.Errorf("at %d:%d, want %d:%d: %v", e.Line, e.Column, tt.line, tt.col, e)
					}
					return
				}
			}
			t.Errorf("no error at %s containing %q; got:\n%v", tt.path, tt.text, err)
		})
	}
}

func unwrap(err error) []error {
	if m, ok := err.(interface{ Unwrap() []error }); ok {
		return m.Unwrap()
	}
	return []error{err}
}

// TestBindingNameAgainstServers: a binding may not share its name with a server: code mode
// would give both the same global.
func TestBindingNameAgainstServers(t *testing.T) {
	src := "version: 1\nbindings:\n  github:\n    type: http\n    network: {allow: [api.github.com]}\n    methods: {a: {request: {method: GET, url: \"https://api.github.com/\"}}}\nservers:\n  github: {command: x}\n"
	_, err := Parse("s.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "s.yaml:3:3: bindings.github: a server is called github too") {
		t.Errorf("error = %v", err)
	}
}
