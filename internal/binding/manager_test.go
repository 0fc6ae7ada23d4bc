package binding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/egress"
	"github.com/airlock-sh/airlock/internal/policy"
)

// lgAt is the seed's LG remote, with the TV's port that of a loopback device (its address
// comes from the credential, as in the config example).
func lgAt(dev *device) *Declaration {
	d := lg()
	p := dev.port()
	d.Network.Allow = []string{"{{credential.tvIP}}:" + p}
	for _, m := range d.Methods {
		m.Request.URL = strings.Replace(m.Request.URL, ":3000", ":"+p, 1)
	}
	return d
}

func TestLGRemote(t *testing.T) {
	dev := newDevice(t)
	m, sink, _ := testManager(t, StaticCredentials{"lg-tv": {"tvIP": "127.0.0.1"}})
	if err := m.Declare(lgAt(dev)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	dev.answer(200, "application/json", `{"power": "on", "volume": 20}`)
	out, err := m.Call(ctx, "lgRemote", "getStatus", nil)
	if err != nil || string(out) != `{"power":"on","volume":20}` {
		t.Fatalf("getStatus = %s, %v", out, err)
	}
	if r := dev.last(t); r.Method != "GET" || r.Path != "/status" || r.Body != "" {
		t.Errorf("getStatus sent %+v", r)
	}

	dev.answer(200, "application/json", `{"ok": true}`)
	for _, a := range [][]json.RawMessage{args(20), args(map[string]any{"level": 20})} {
		if _, err := m.Call(ctx, "lgRemote", "setVolume", a); err != nil {
			t.Fatal(err)
		}
		r := dev.last(t)
		if r.Method != "POST" || r.Path != "/volume" || r.Body != `{"level":20}` || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("setVolume sent %+v", r)
		}
	}
	if _, err := m.Call(ctx, "lgRemote", "sendCommand", args("POWER_ON")); err != nil {
		t.Fatal(err)
	}
	if r := dev.last(t); r.Path != "/command" || r.Body != `{"command":"POWER_ON"}` {
		t.Errorf("sendCommand sent %+v", r)
	}

	n := len(dev.seen())
	_, err = m.Call(ctx, "lgRemote", "setVolume", args("loud"))
	if err == nil || err.Error() != `lgRemote.setVolume: level must be an integer from 0 to 100, got "loud"` {
		t.Errorf("setVolume(loud) = %v", err)
	}
	if len(dev.seen()) != n {
		t.Error("a call with a bad argument reached the device")
	}

	calls := sink.ByEvent("binding_call")
	if len(calls) != 5 {
		t.Fatalf("%d binding_call events, want 5: %+v", len(calls), calls)
	}
	want := audit.Event{Event: "binding_call", Decision: "allow", Binding: "lgRemote", Call: "sendCommand", Method: "POST",
		Host: "127.0.0.1", Port: dev.addr.Port(), Status: 200, BytesUp: int64(len(`{"command":"POWER_ON"}`)), BytesDown: int64(len(`{"ok": true}`))}
	got := calls[3]
	got.Time, got.DurationMS = time.Time{}, 0
	if got != want {
		t.Errorf("event:\n got %+v\nwant %+v", got, want)
	}
	if bad := calls[4]; bad.Decision != "deny" || bad.Reason != ReasonInvalidArguments || bad.Status != 0 {
		t.Errorf("event of a bad call: %+v", bad)
	}
	if len(sink.ByEvent("egress_allowed")) == 0 {
		t.Error("the guard emitted no egress_allowed event")
	}
	for _, e := range sink.Events() {
		if e.Event == "egress_allowed" && e.Binding != "lgRemote" {
			t.Errorf("guard event without the binding's name: %+v", e)
		}
	}
}

// TestHue: the API key goes in the path (escaped) and is redacted from what the device
// answers; an object parameter becomes the JSON body.
func TestHue(t *testing.T) {
	dev := newDevice(t)
	const key = "hue-api-key-0123456789"
	m, sink, _ := testManager(t, StaticCredentials{"hue": {"apiKey": key}})
	d := &Declaration{Name: "philipsHue", Type: TypeLocalNetwork, Credential: "hue",
		Network: policy.Spec{Allow: []string{dev.addr.String()}},
		Methods: map[string]*Method{
			"setLight": {Name: "setLight",
				Params:  []Param{{Name: "id", Type: TypeString, Pattern: "[0-9]{1,3}"}, {Name: "state", Type: TypeObject}},
				Request: &Request{Method: "PUT", URL: "http://" + dev.addr.String() + "/api/{{credential.apiKey}}/lights/{{id}}/state", JSON: "{{state}}"}},
			"getLights": {Name: "getLights",
				Request: &Request{Method: "GET", URL: "http://" + dev.addr.String() + "/api/{{credential.apiKey}}/lights"}},
		}}
	if err := m.Declare(d); err != nil {
		t.Fatal(err)
	}
	dev.answer(200, "application/json", `[{"success": {"/lights/1/state/on": true}}]`)
	out, err := m.Call(context.Background(), "philipsHue", "setLight", args("1", map[string]any{"on": true, "bri": 254}))
	if err != nil {
		t.Fatal(err)
	}
	r := dev.last(t)
	if r.Method != "PUT" || r.Path != "/api/"+key+"/lights/1/state" || r.Body != `{"bri":254,"on":true}` {
		t.Errorf("setLight sent %+v", r)
	}
	if string(out) != `[{"success":{"/lights/1/state/on":true}}]` {
		t.Errorf("setLight = %s", out)
	}
	if _, err := m.Call(context.Background(), "philipsHue", "setLight", args("../../config", map[string]any{})); err == nil {
		t.Error("an id outside its pattern was accepted")
	}
	// A device that echoes the key (Hue's config lists its users) does not hand it to the sandbox.
	dev.answer(200, "application/json", `{"whitelist": {"`+key+`": {"name": "airlock"}}, "note": "key `+key+`"}`)
	out, err = m.Call(context.Background(), "philipsHue", "getLights", nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), key) || !strings.Contains(string(out), redacted) {
		t.Errorf("getLights = %s: the key is not redacted", out)
	}
	dev.answer(403, "application/json", `{"error": "unauthorized user `+key+`"}`)
	_, err = m.Call(context.Background(), "philipsHue", "getLights", nil)
	if err == nil || strings.Contains(err.Error(), key) {
		t.Errorf("error = %v: the key is not redacted", err)
	}
	for _, e := range sink.Events() {
		line, _ := json.Marshal(e)
		if strings.Contains(string(line), key) || strings.Contains(string(line), "bri") {
			t.Errorf("an audit event holds a credential or argument: %s", line)
		}
	}
}

// TestHomeAssistant: a bearer token from the credential in a header, the host from the
// credential, and parameters in the path.
func TestHomeAssistant(t *testing.T) {
	dev := newDevice(t)
	const token = "eyJhbGciOiJIUzI1NiJ9.ha-token"
	m, _, _ := testManager(t, StaticCredentials{"home-assistant": {"haHost": "127.0.0.1", "token": token}})
	d := &Declaration{Name: "homeAssistant", Type: TypeLocalNetwork, Credential: "home-assistant",
		Network: policy.Spec{Allow: []string{"{{credential.haHost}}:" + dev.port()}, AllowPrivateIPs: true},
		Methods: map[string]*Method{
			"callService": {Name: "callService",
				Params: []Param{
					{Name: "domain", Type: TypeString, Pattern: "[a-z_]+"},
					{Name: "service", Type: TypeString, Pattern: "[a-z_]+"},
					{Name: "data", Type: TypeObject, Optional: true},
				},
				Request: &Request{Method: "POST", URL: "http://{{credential.haHost}}:" + dev.port() + "/api/services/{{domain}}/{{service}}",
					Headers: map[string]string{"Authorization": "Bearer {{credential.token}}"}, JSON: "{{data}}"}},
			"getState": {Name: "getState",
				Params: []Param{{Name: "entity", Type: TypeString, Pattern: `[a-z_]+\.[a-z0-9_]+`}},
				Request: &Request{Method: "GET", URL: "http://{{credential.haHost}}:" + dev.port() + "/api/states/{{entity}}",
					Headers: map[string]string{"Authorization": "Bearer {{credential.token}}"}}},
		}}
	if err := m.Declare(d); err != nil {
		t.Fatal(err)
	}
	_, err := m.Call(context.Background(), "homeAssistant", "callService",
		args(map[string]any{"domain": "light", "service": "turn_on", "data": map[string]any{"entity_id": "light.kitchen"}}))
	if err != nil {
		t.Fatal(err)
	}
	r := dev.last(t)
	if r.Path != "/api/services/light/turn_on" || r.Header.Get("Authorization") != "Bearer "+token || r.Body != `{"entity_id":"light.kitchen"}` {
		t.Errorf("callService sent %+v", r)
	}
	// Without the optional data the body is JSON null.
	if _, err := m.Call(context.Background(), "homeAssistant", "callService", args("light", "turn_off")); err != nil {
		t.Fatal(err)
	}
	if r := dev.last(t); r.Body != "null" {
		t.Errorf("body without data = %q", r.Body)
	}
	dev.answer(200, "application/json", `{"state": "on"}`)
	out, err := m.Call(context.Background(), "homeAssistant", "getState", args("light.kitchen"))
	if err != nil || string(out) != `{"state":"on"}` {
		t.Errorf("getState = %s, %v", out, err)
	}
	if r := dev.last(t); r.Path != "/api/states/light.kitchen" {
		t.Errorf("getState sent %+v", r)
	}
}

// TestDevServer: localhost with allow_localhost; a path parameter fills whole segments and a
// query value is escaped.
func TestDevServer(t *testing.T) {
	dev := newDevice(t)
	m, _, _ := testManager(t, nil)
	d := &Declaration{Name: "devServer", Type: TypeLocalNetwork,
		Network: policy.Spec{AllowLocalhost: true, Allow: []string{"localhost:" + dev.port()}},
		Methods: map[string]*Method{
			"getData": {Name: "getData",
				Params:  []Param{{Name: "endpoint", Type: TypePath}, {Name: "q", Type: TypeString, Optional: true}},
				Request: &Request{Method: "GET", URL: "http://localhost:" + dev.port() + "/{{endpoint}}?q={{q}}&v=1"}},
		}}
	if err := m.Declare(d); err != nil {
		t.Fatal(err)
	}
	dev.answer(200, "text/plain", "hello")
	out, err := m.Call(context.Background(), "devServer", "getData", args("api/users", "a&b=c"))
	if err != nil || string(out) != `"hello"` {
		t.Fatalf("getData = %s, %v", out, err)
	}
	if r := dev.last(t); r.Path != "/api/users" || r.Query != "q=a%26b%3Dc&v=1" {
		t.Errorf("getData sent %+v", r)
	}
	if _, err := m.Call(context.Background(), "devServer", "getData", args("api/users")); err != nil {
		t.Fatal(err)
	}
	if r := dev.last(t); r.Query != "v=1" {
		t.Errorf("query without the optional q = %q", r.Query)
	}
	n := len(dev.seen())
	for _, bad := range []string{"../admin", "/etc/passwd", "a/../../b", "a%2f..", `a\b`} {
		if _, err := m.Call(context.Background(), "devServer", "getData", args(bad)); err == nil {
			t.Errorf("getData(%q) was sent", bad)
		}
	}
	if len(dev.seen()) != n {
		t.Error("a refused path reached the server")
	}
}

func TestResponses(t *testing.T) {
	dev := newDevice(t)
	m, sink, _ := testManager(t, StaticCredentials{"lg-tv": {"tvIP": "127.0.0.1"}})
	d := lgAt(dev)
	if err := m.Declare(d); err != nil {
		t.Fatal(err)
	}
	small := lgAt(dev)
	small.Name = "small"
	small.Network.Limits.MaxResponseSize = 100
	if err := m.Declare(small); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tt := range []struct {
		name, binding     string
		status            int
		ctype, body       string
		want, err, reason string
	}{
		{"json", "lgRemote", 200, "application/json", "{\n \"a\": [1, 2]\n}", `{"a":[1,2]}`, "", ""},
		{"json without content type", "lgRemote", 200, "", `[1,"x"]`, `[1,"x"]`, "", ""},
		{"json with charset", "lgRemote", 200, "application/json; charset=utf-8", `{"a":1}`, `{"a":1}`, "", ""},
		{"text", "lgRemote", 200, "text/plain", "on\n", `"on\n"`, "", ""},
		{"broken json is text", "lgRemote", 200, "application/json", `{"a":`, `"{\"a\":"`, "", ""},
		{"empty", "lgRemote", 204, "", "", "null", "", ""},
		{"html", "lgRemote", 200, "text/html", "<p>hi</p>", `"\u003cp\u003ehi\u003c/p\u003e"`, "", ""},
		{"500", "lgRemote", 500, "text/plain", "boom", "", "lgRemote.sendCommand: the device answered 500 Internal Server Error: boom", ReasonHTTPStatus},
		{"404 long body", "lgRemote", 404, "text/plain", strings.Repeat("x", 300) + "\nmore", "", "lgRemote.sendCommand: the device answered 404 Not Found: " + strings.Repeat("x", 200), ReasonHTTPStatus},
		{"302 not followed without Location", "lgRemote", 302, "", "", "", "the device answered 302 Found", ReasonHTTPStatus},
		{"too large for its policy", "small", 200, "text/plain", strings.Repeat("y", 101), "", "small.sendCommand: the device's answer is larger than the binding's max_response_size (100 bytes)", ReasonResponseTooLarge},
		{"exactly the limit", "small", 200, "text/plain", strings.Repeat("y", 100), `"` + strings.Repeat("y", 100) + `"`, "", ""},
		{"too large for the default", "lgRemote", 200, "text/plain", strings.Repeat("z", int(DefaultMaxResponseSize)+1), "", "larger than the binding's max_response_size (1048576 bytes)", ReasonResponseTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dev.answer(tt.status, tt.ctype, tt.body)
			out, err := m.Call(ctx, tt.binding, "sendCommand", args("MUTE"))
			if tt.err == "" {
				if err != nil || string(out) != tt.want {
					t.Errorf("= %s, %v; want %s", out, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error = %v\nwant …%s…", err, tt.err)
			}
			if tt.name == "404 long body" && strings.Contains(err.Error(), "more") {
				t.Errorf("the error quotes more than 200 bytes: %v", err)
			}
			var ce *CallError
			if !errors.As(err, &ce) || ce.Reason != tt.reason {
				t.Errorf("reason = %+v, want %s", ce, tt.reason)
			}
			evs := sink.ByEvent("binding_call")
			// The request went out: airlock allowed it, whatever the device answered.
			if ev := evs[len(evs)-1]; ev.Reason != tt.reason || ev.Status != tt.status || ev.Decision != "allow" {
				t.Errorf("event = %+v", ev)
			}
		})
	}
}

// TestGoBinding: a binding registered from Go gets a client that reaches what its policy
// allows and nothing else — not a second loopback server outside its policy.
func TestGoBinding(t *testing.T) {
	allowed, other := newDevice(t), newDevice(t)
	allowed.answer(200, "application/json", `{"data": 1}`)
	m, sink, rec := testManager(t, StaticCredentials{"dev": {"token": "dev-token-123456"}})
	err := m.CreateBinding("devServer", TypeLocalNetwork, []string{"getData", "peek"},
		policy.Spec{Allow: []string{allowed.addr.String()}}, WithCredential("dev"), WithDescription("the dev server"))
	if err != nil {
		t.Fatal(err)
	}
	var built atomic.Int32
	err = m.CreateAuthenticatedClient("devServer", func(cred Credential, client *http.Client) (Methods, error) {
		built.Add(1)
		get := func(ctx context.Context, url string) (any, error) {
			req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+cred.Data["token"])
			resp, err := client.Do(req)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			var v any
			return v, json.NewDecoder(resp.Body).Decode(&v)
		}
		return Methods{
			"getData": func(ctx context.Context, a []json.RawMessage) (any, error) {
				var endpoint string
				if len(a) > 0 {
					json.Unmarshal(a[0], &endpoint)
				}
				return get(ctx, allowed.URL+"/"+endpoint)
			},
			"peek": func(ctx context.Context, a []json.RawMessage) (any, error) { return get(ctx, other.URL+"/") },
			"extra": func(ctx context.Context, a []json.RawMessage) (any, error) {
				return nil, errors.New("extra is not declared and must not be callable")
			},
		}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Call(context.Background(), "devServer", "getData", args("users"))
	if err != nil || string(out) != `{"data":1}` {
		t.Fatalf("getData = %s, %v", out, err)
	}
	if r := allowed.last(t); r.Path != "/users" || r.Header.Get("Authorization") != "Bearer dev-token-123456" {
		t.Errorf("getData sent %+v", r)
	}
	_, err = m.Call(context.Background(), "devServer", "peek", nil)
	var blocked *egress.BlockedError
	if !errors.As(err, &blocked) || blocked.Decision.Allow {
		t.Fatalf("peek = %v, want an egress.BlockedError", err)
	}
	if !strings.Contains(err.Error(), "airlock: blocked 127.0.0.1:"+other.port()) {
		t.Errorf("peek error does not carry the BlockedError message: %v", err)
	}
	if len(other.seen()) != 0 {
		t.Error("the server outside the policy received a request")
	}
	for _, d := range rec.Dialed() {
		if d == other.addr.String() {
			t.Errorf("dialled the refused server: %v", rec.Dialed())
		}
	}
	_, err = m.Call(context.Background(), "devServer", "extra", nil)
	if err == nil || !strings.Contains(err.Error(), `no method "extra"; the methods of devServer are: getData, peek`) {
		t.Errorf("extra = %v", err)
	}
	if built.Load() != 1 {
		t.Errorf("factory ran %d times", built.Load())
	}
	evs := sink.ByEvent("binding_call")
	if len(evs) != 3 || evs[0].Decision != "allow" || evs[0].Host != "" || evs[1].Decision != "deny" || evs[1].Reason != ReasonBlocked {
		t.Errorf("events = %+v", evs)
	}
	blockedEvs := sink.ByEvent("egress_blocked")
	if len(blockedEvs) != 1 || blockedEvs[0].Binding != "devServer" {
		t.Errorf("egress_blocked events = %+v", blockedEvs)
	}
	decls := m.Declarations()
	if len(decls) != 1 || decls[0].Description != "the dev server" || decls[0].Credential != "dev" || !decls[0].IsGo() {
		t.Errorf("Declarations = %+v", decls)
	}
}

// TestPrivateNeverDialed: a binding that may reach 192.168.1.50:80 reaches it (routed to a
// loopback device by the injected dial step), and never dials 192.168.1.100, 10.0.0.1 or
// 192.168.1.50 on another port — refused before any dial.
func TestPrivateNeverDialed(t *testing.T) {
	dev := newDevice(t)
	m, _, rec := testManager(t, StaticCredentials{"tv": {"tvIP": "192.168.1.100"}})
	rec.AllowLoopback = false
	rec.Route("192.168.1.50:80", dev.addr.String())
	hue := &Declaration{Name: "philipsHue", Type: TypeLocalNetwork,
		Network: policy.Spec{AllowPrivateIPs: true, Allow: []string{"192.168.1.50:80"}},
		Methods: map[string]*Method{"getLights": {Name: "getLights", Request: &Request{Method: "GET", URL: "http://192.168.1.50/api/lights"}}}}
	if err := m.Declare(hue); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Call(context.Background(), "philipsHue", "getLights", nil); err != nil {
		t.Fatal(err)
	}
	if r := dev.last(t); r.Path != "/api/lights" {
		t.Errorf("sent %+v", r)
	}
	// Its address from a credential; the policy grants another one.
	tv := &Declaration{Name: "tv", Type: TypeLocalNetwork, Credential: "tv",
		Network: policy.Spec{AllowPrivateIPs: true, Allow: []string{"192.168.1.50:80"}},
		Methods: map[string]*Method{"status": {Name: "status", Request: &Request{Method: "GET", URL: "http://{{credential.tvIP}}:3000/status"}}}}
	if err := m.Declare(tv); err != nil {
		t.Fatal(err)
	}
	_, err := m.Call(context.Background(), "tv", "status", nil)
	var blocked *egress.BlockedError
	if !errors.As(err, &blocked) || !strings.Contains(err.Error(), "tv.status: airlock: blocked 192.168.1.100:3000") {
		t.Errorf("tv.status = %v", err)
	}
	// A Go binding's client, same policy.
	if err := m.CreateBinding("probe", TypeLocalNetwork, []string{"get"}, policy.Spec{AllowPrivateIPs: true, Allow: []string{"192.168.1.50:80"}}); err != nil {
		t.Fatal(err)
	}
	err = m.CreateAuthenticatedClient("probe", func(_ Credential, client *http.Client) (Methods, error) {
		return Methods{"get": func(ctx context.Context, a []json.RawMessage) (any, error) {
			var errs []string
			for _, u := range []string{"http://192.168.1.100:3000/", "http://10.0.0.1/", "http://192.168.1.50:8080/", "http://192.168.1.51/"} {
				req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					return nil, fmt.Errorf("%s was reached", u)
				}
				var b *egress.BlockedError
				if !errors.As(err, &b) {
					return nil, fmt.Errorf("%s: not a BlockedError: %v", u, err)
				}
				errs = append(errs, u)
			}
			return errs, nil
		}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := m.Call(context.Background(), "probe", "get", nil); err != nil {
		t.Errorf("probe.get = %s, %v", out, err)
	}
	for _, a := range []string{"192.168.1.100", "10.0.0.1", "192.168.1.51"} {
		if rec.DialedAddr(netip.MustParseAddr(a)) {
			t.Errorf("%s was dialled", a)
		}
	}
	for _, d := range rec.Dialed() {
		if d != "192.168.1.50:80" {
			t.Errorf("dialled %s", d)
		}
	}
}

func TestLookupErrors(t *testing.T) {
	m, sink, _ := testManager(t, nil)
	_, err := m.Call(context.Background(), "lgRemote", "x", nil)
	if err == nil || err.Error() != `no binding "lgRemote"; no bindings are declared (add them under bindings: in the config)` {
		t.Errorf("no bindings: %v", err)
	}
	dev := newDevice(t)
	if err := m.Declare(lgAt(dev)); err != nil {
		t.Fatal(err)
	}
	_, err = m.Call(context.Background(), "lgremote", "getStatus", nil)
	if err == nil || err.Error() != `no binding "lgremote"; the bindings are: lgRemote` {
		t.Errorf("unknown binding: %v", err)
	}
	_, err = m.Call(context.Background(), "lgRemote", "reboot", nil)
	if err == nil || err.Error() != `lgRemote: no method "reboot"; the methods of lgRemote are: getStatus, sendCommand, setVolume` {
		t.Errorf("unknown method: %v", err)
	}
	evs := sink.ByEvent("binding_call")
	if len(evs) != 3 || evs[1].Reason != ReasonUnknownBinding || evs[2].Reason != ReasonUnknownMethod || evs[2].Decision != "deny" {
		t.Errorf("events = %+v", evs)
	}
	if got := m.Methods(); len(got) != 1 || strings.Join(got["lgRemote"], ",") != "getStatus,sendCommand,setVolume" {
		t.Errorf("Methods() = %v", got)
	}
	long := strings.Repeat("x", 1000)
	m.Call(context.Background(), long, long, nil)
	evs = sink.ByEvent("binding_call")
	if ev := evs[len(evs)-1]; len(ev.Binding) > maxAuditName+4 || len(ev.Call) > maxAuditName+4 {
		t.Errorf("audit event repeats a 1000-byte name: %d, %d", len(ev.Binding), len(ev.Call))
	}
}

// TestSetUpErrors: the credential and the factory are set up once, on the first call; an error
// there is returned to every call, naming the binding.
func TestSetUpErrors(t *testing.T) {
	dev := newDevice(t)
	for _, tt := range []struct {
		name  string
		creds CredentialSource
		want  string
	}{
		{"no store", nil, "lgRemote.getStatus: the binding cannot be used: it uses credential lg-tv, but no credential store is configured"},
		{"no credential", StaticCredentials{}, "credential lg-tv: no credential \"lg-tv\"; set it with `airlock secret set lg-tv KEY=VALUE`"},
		{"no key", StaticCredentials{"lg-tv": {"ip": "127.0.0.1"}}, "credential lg-tv has no key tvIP; set it with `airlock secret set lg-tv tvIP=VALUE`"},
		{"not a host", StaticCredentials{"lg-tv": {"tvIP": "127.0.0.1:3000"}}, "the value of tvIP in credential lg-tv is not a host name or IP address"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := NewManager(Options{Credentials: tt.creds, Resolver: egress.StaticResolver{}, Local: noLocal})
			defer m.Close()
			if err := m.Declare(lgAt(dev)); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				_, err := m.Call(context.Background(), "lgRemote", "getStatus", nil)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("error = %v\nwant …%s…", err, tt.want)
				}
				if err != nil && strings.Contains(err.Error(), "127.0.0.1:3000") {
					t.Errorf("the error repeats the credential value: %v", err)
				}
			}
		})
	}

	m, _, _ := testManager(t, nil)
	if err := m.CreateBinding("g", TypeHTTP, []string{"a", "b"}, policy.Spec{}); err != nil {
		t.Fatal(err)
	}
	_, err := m.Call(context.Background(), "g", "a", nil)
	if err == nil || !strings.Contains(err.Error(), "never called CreateAuthenticatedClient") {
		t.Errorf("before CreateAuthenticatedClient: %v", err)
	}
	var runs atomic.Int32
	m.CreateAuthenticatedClient("g", func(Credential, *http.Client) (Methods, error) {
		runs.Add(1)
		return Methods{"a": func(context.Context, []json.RawMessage) (any, error) { return 1, nil }}, nil
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := m.Call(context.Background(), "g", "a", nil)
			if err == nil || !strings.Contains(err.Error(), "g.a: the binding cannot be used: its client has no method b, declared with CreateBinding; return it from the factory") {
				t.Errorf("missing method: %v", err)
			}
		})
	}
	wg.Wait()
	if runs.Load() != 1 {
		t.Errorf("the factory ran %d times", runs.Load())
	}

	if err := m.CreateBinding("p", TypeHTTP, []string{"a"}, policy.Spec{}); err != nil {
		t.Fatal(err)
	}
	m.CreateAuthenticatedClient("p", func(Credential, *http.Client) (Methods, error) { panic("boom") })
	if _, err := m.Call(context.Background(), "p", "a", nil); err == nil || !strings.Contains(err.Error(), "the factory panicked: boom") {
		t.Errorf("panicking factory: %v", err)
	}
}

func TestRegistrationErrors(t *testing.T) {
	m, _, _ := testManager(t, nil)
	dev := newDevice(t)
	if err := m.Declare(lgAt(dev)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"duplicate", m.Declare(lgAt(dev)), "binding lgRemote is declared already"},
		{"invalid", m.Declare(&Declaration{Name: "x"}), "binding x: type: missing"},
		{"Go via Declare", m.Declare(&Declaration{Name: "x", Type: TypeHTTP, Methods: map[string]*Method{"a": {Name: "a"}}}), "registered with CreateBinding"},
		{"method twice", m.CreateBinding("x", TypeHTTP, []string{"a", "a"}, policy.Spec{}), "a is listed twice"},
		{"bad method", m.CreateBinding("x", TypeHTTP, []string{"a-b"}, policy.Spec{}), "is not a JavaScript identifier"},
		{"bad policy", m.CreateBinding("x", TypeHTTP, []string{"a"}, policy.Spec{Allow: []string{"*"}}), "allows every host"},
		{"client for unknown", m.CreateAuthenticatedClient("nope", func(Credential, *http.Client) (Methods, error) { return nil, nil }), `no binding "nope"; declare it with CreateBinding first`},
		{"client for declarative", m.CreateAuthenticatedClient("lgRemote", func(Credential, *http.Client) (Methods, error) { return nil, nil }), "is declarative"},
		{"nil factory", m.CreateAuthenticatedClient("lgRemote", nil), "nil factory"},
	} {
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("%s: %v, want …%s…", tt.name, tt.err, tt.want)
		}
	}
	m.CreateBinding("g", TypeHTTP, []string{"a"}, policy.Spec{})
	f := func(Credential, *http.Client) (Methods, error) { return nil, nil }
	if err := m.CreateAuthenticatedClient("g", f); err != nil {
		t.Fatal(err)
	}
	if err := m.CreateAuthenticatedClient("g", f); err == nil || !strings.Contains(err.Error(), "has a client already") {
		t.Errorf("second client: %v", err)
	}
	m.Close()
	if _, err := m.Call(context.Background(), "lgRemote", "getStatus", nil); err == nil || !strings.Contains(err.Error(), "shutting down") {
		t.Errorf("call after Close: %v", err)
	}
	if err := m.Declare(lg()); err == nil {
		t.Error("Declare after Close succeeded")
	}
}

// TestGoMethodErrors: a Go method's error, panic and unencodable result become call errors,
// with credential values redacted.
func TestGoMethodErrors(t *testing.T) {
	m, _, _ := testManager(t, StaticCredentials{"c": {"token": "super-secret-token"}})
	m.CreateBinding("g", TypeHTTP, []string{"fail", "boom", "bad", "ok"}, policy.Spec{}, WithCredential("c"))
	m.CreateAuthenticatedClient("g", func(cred Credential, _ *http.Client) (Methods, error) {
		return Methods{
			"fail": func(context.Context, []json.RawMessage) (any, error) {
				return nil, fmt.Errorf("the device refused token %s", cred.Data["token"])
			},
			"boom": func(context.Context, []json.RawMessage) (any, error) { panic("kaboom") },
			"bad":  func(context.Context, []json.RawMessage) (any, error) { return func() {}, nil },
			"ok": func(_ context.Context, a []json.RawMessage) (any, error) {
				return map[string]any{"echo": string(a[0]), "token": cred.Data["token"]}, nil
			},
		}, nil
	})
	for _, tt := range []struct{ method, want string }{
		{"fail", "g.fail: the device refused token [redacted]"},
		{"boom", "g.boom: the method panicked: kaboom"},
		{"bad", "g.bad: the method returned a value that cannot be encoded as JSON"},
	} {
		_, err := m.Call(context.Background(), "g", tt.method, nil)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s = %v, want %s…", tt.method, err, tt.want)
		}
	}
	out, err := m.Call(context.Background(), "g", "ok", args("hi"))
	if err != nil || string(out) != `{"echo":"\"hi\"","token":"[redacted]"}` {
		t.Errorf("ok = %s, %v", out, err)
	}
}

// TestConcurrentCalls exercises one Manager from many goroutines (run with -race).
func TestConcurrentCalls(t *testing.T) {
	dev := newDevice(t)
	m, sink, _ := testManager(t, StaticCredentials{"lg-tv": {"tvIP": "127.0.0.1"}})
	if err := m.Declare(lgAt(dev)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 5 {
				if _, err := m.Call(context.Background(), "lgRemote", "setVolume", args(i*5+j)); err != nil {
					t.Error(err)
				}
				m.Methods()
				m.Declarations()
			}
		})
	}
	wg.Wait()
	if n := len(sink.ByEvent("binding_call")); n != 80 {
		t.Errorf("%d events, want 80", n)
	}
}

func TestCallCancelled(t *testing.T) {
	dev := newDevice(t)
	m, _, _ := testManager(t, StaticCredentials{"lg-tv": {"tvIP": "127.0.0.1"}})
	m.Declare(lgAt(dev))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := m.Call(ctx, "lgRemote", "getStatus", nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call = %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "http://") {
		t.Errorf("the error quotes the URL: %v", err)
	}
}
