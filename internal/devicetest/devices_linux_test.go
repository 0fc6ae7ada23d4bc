//go:build linux

package devicetest

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// lgTV is a fake LG TV at 192.168.77.100:3000: GET /status, POST /command, POST /volume.
func lgTV(b *bench) *device {
	tv := &device{}
	power, volume := "off", 10
	b.w.ServeHTTP(b.t, "tv", "192.168.77.100:3000", tv.serve(func(r request) (int, any) {
		switch r.Method + " " + r.Path {
		case "GET /status":
			return 200, map[string]any{"power": power, "volume": volume}
		case "POST /command":
			var c struct{ Command string }
			json.Unmarshal([]byte(r.Body), &c)
			if c.Command == "POWER_ON" {
				power = "on"
			}
			return 200, map[string]any{"ok": true}
		case "POST /volume":
			var v struct{ Level int }
			json.Unmarshal([]byte(r.Body), &v)
			volume = v.Level
			return 200, map[string]any{"volume": volume}
		}
		return 404, map[string]any{"error": "no such endpoint"}
	}))
	return tv
}

func TestLGRemote(t *testing.T) {
	b := newBench(t, tvHost, otherHost)
	tv := lgTV(b)
	cfg := b.example("lg-remote")
	b.must("", "secret", "set", "lg-tv", "tvIP=192.168.77.100")
	b.must("", "approve", "--config", cfg, "--yes")

	// The seed's own example code, as documented in docs/codemode.md.
	var got struct {
		Status  map[string]any `json:"status"`
		Volume  map[string]any `json:"volume"`
		Blocked string         `json:"blocked"`
	}
	r := b.exec(cfg, `
const status = await lgRemote.getStatus();
console.log('TV Power:', status.power);
if (status.power === 'off') {
  await lgRemote.sendCommand('POWER_ON');
}
await lgRemote.setVolume(20);
const volume = await lgRemote.setVolume({level: 25});

// Direct fetch is still blocked.
let blocked = '';
try {
  await fetch('http://192.168.77.100:3000/status');
} catch (error) {
  blocked = error.message;
}
return {status, volume, blocked};
`, &got)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "TV Power: off") {
		t.Errorf("console output %q lacks the status line", r.stderr)
	}
	if got.Status["power"] != "off" || got.Volume["volume"] != float64(25) {
		t.Errorf("result = %+v", got)
	}
	const seed = "Network request blocked: Private IP access is not allowed (192.168.77.100)"
	if !strings.HasPrefix(got.Blocked, seed) {
		t.Errorf("direct fetch error = %q, want it to start with %q", got.Blocked, seed)
	}
	want := []string{"GET /status ", `POST /command {"command":"POWER_ON"}`, `POST /volume {"level":20}`, `POST /volume {"level":25}`}
	reqs := tv.requests()
	if len(reqs) != len(want) {
		t.Fatalf("the TV received %d requests, want %d (the direct fetch must never arrive): %+v", len(reqs), len(want), reqs)
	}
	for i, rq := range reqs {
		if s := rq.Method + " " + rq.Path + " " + strings.TrimSpace(rq.Body); s != want[i] {
			t.Errorf("request %d = %q, want %q", i, s, want[i])
		}
	}

	// What the code may not do: each refused before any request reaches a device.
	for _, tt := range []struct{ name, code, want string }{
		{"undeclared method", `await lgRemote.reboot()`, "reboot"},
		{"argument of the wrong type", `await lgRemote.setVolume("loud")`, "level"},
		{"argument out of range", `await lgRemote.setVolume(1000)`, "level"},
		{"value outside the enum", `await lgRemote.sendCommand("FACTORY_RESET")`, "command"},
		{"too many arguments", `await lgRemote.getStatus("http://192.168.77.99/")`, "getStatus"},
		{"direct fetch to another private address", `await fetch("http://192.168.77.99/")`, "Network request blocked: Private IP access is not allowed (192.168.77.99)"},
		{"cloud metadata", `await fetch("http://169.254.169.254/latest/meta-data/")`, "Network request blocked"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := b.exec(cfg, tt.code, nil)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", r.code, r.stderr, tt.want)
			}
		})
	}
	if n := len(tv.requests()); n != len(want) {
		t.Errorf("the TV received %d requests after the refusals, want still %d", n, len(want))
	}
}

func TestHue(t *testing.T) {
	b := newBench(t, hueHost, otherHost)
	const apiKey = "hue-key-0a1b2c3d4e5f"
	hue := &device{}
	b.w.ServeHTTP(t, "hue", "192.168.77.50:80", hue.serve(func(r request) (int, any) {
		if !strings.HasPrefix(r.Path, "/api/"+apiKey+"/") {
			return 403, []any{map[string]any{"error": map[string]any{"description": "unauthorized user"}}}
		}
		if r.Method == "GET" {
			// A real bridge lists its whitelisted keys in some answers: airlock must not hand the
			// key to the code.
			return 200, map[string]any{"1": map[string]any{"name": "Kitchen", "state": map[string]any{"on": false}}, "whitelist": apiKey}
		}
		return 200, []any{map[string]any{"success": map[string]any{"path": r.Path}}}
	}))
	other := b.w.ServeHTTP(t, "other", "192.168.77.99:80", nil)
	cfg := b.example("hue")
	b.must("", "secret", "set", "hue", "bridgeIP=192.168.77.50", "apiKey="+apiKey)
	b.must("", "approve", "--config", cfg, "--yes")

	var lights map[string]any
	r := b.exec(cfg, `
await philipsHue.setLight("1", {on: true, bri: 200});
await philipsHue.setScene({scene: "Relax"});
return await philipsHue.getLights();
`, &lights)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, apiKey) || strings.Contains(r.stderr, apiKey) {
		t.Errorf("the API key reached the code's output: %s %s", r.stdout, r.stderr)
	}
	if lights["1"] == nil {
		t.Errorf("getLights = %v", lights)
	}
	reqs := hue.requests()
	want := []string{
		"PUT /api/" + apiKey + "/lights/1/state",
		"PUT /api/" + apiKey + "/groups/0/action",
		"GET /api/" + apiKey + "/lights",
	}
	if len(reqs) != len(want) {
		t.Fatalf("the bridge received %+v", reqs)
	}
	for i, rq := range reqs {
		if rq.Method+" "+rq.Path != want[i] {
			t.Errorf("request %d = %s %s, want %s", i, rq.Method, rq.Path, want[i])
		}
	}
	var state map[string]any
	if json.Unmarshal([]byte(reqs[0].Body), &state); state["on"] != true || state["bri"] != float64(200) {
		t.Errorf("setLight body = %s", reqs[0].Body)
	}

	// Arguments that try to leave the declared URL: another path, another host.
	for _, code := range []string{
		`await philipsHue.setLight("../../../config", {on: true})`,
		`await philipsHue.setLight("1/../../2", {on: true})`,
		`await philipsHue.setLight("%2e%2e", {on: true})`,
		`await philipsHue.setScene({group: "0", scene: "x@192.168.77.99"})`,
		`await philipsHue.setScene({group: "192.168.77.99:80/", scene: "x"})`,
	} {
		if r := b.exec(cfg, code, nil); r.code != 1 {
			t.Errorf("%s: exit %d, stderr %q; want a refusal", code, r.code, r.stderr)
		}
	}
	if n := len(hue.requests()); n != len(want) {
		t.Errorf("the bridge received %d requests after the refusals, want still %d", n, len(want))
	}
	if other() != 0 {
		t.Errorf("192.168.77.99 was reached %d times; no binding declares it", other())
	}
}

func TestHomeAssistant(t *testing.T) {
	b := newBench(t, haHost)
	token := "ha-token-" + randomHex(16)
	ha := &device{}
	b.w.ServeHTTP(t, "ha", "192.168.77.20:8123", ha.serve(func(r request) (int, any) {
		if r.Auth != "Bearer "+token {
			return 401, map[string]any{"message": "unauthorized"}
		}
		if strings.HasPrefix(r.Path, "/api/states/") {
			return 200, map[string]any{"entity_id": strings.TrimPrefix(r.Path, "/api/states/"), "state": "on"}
		}
		return 200, []any{}
	}))
	cfg := b.example("home-assistant")
	b.must("", "secret", "set", "home-assistant", "host=192.168.77.20", "token="+token)
	b.must("", "approve", "--config", cfg, "--yes")

	var got map[string]any
	r := b.exec(cfg, `
await homeAssistant.callService({domain: "light", service: "turn_on", data: {entity_id: "light.kitchen", brightness: 120}});
return await homeAssistant.getState("light.kitchen");
`, &got)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got["state"] != "on" || got["entity_id"] != "light.kitchen" {
		t.Errorf("getState = %v", got)
	}
	reqs := ha.requests()
	if len(reqs) != 2 || reqs[0].Method+" "+reqs[0].Path != "POST /api/services/light/turn_on" ||
		!strings.Contains(reqs[0].Body, `"entity_id":"light.kitchen"`) || reqs[1].Path != "/api/states/light.kitchen" {
		t.Errorf("Home Assistant received %+v", reqs)
	}
	if strings.Contains(r.stdout+r.stderr, token) {
		t.Error("the token reached the code's output")
	}
}

func TestDevServer(t *testing.T) {
	b := newBench(t)
	dev := &device{}
	ln := b.w.Listen(t, "", "tcp", "127.0.0.1:3000")
	go serveOn(ln, dev.serve(func(r request) (int, any) { return 200, map[string]any{"path": r.Path, "query": r.Query} }))
	cfg := b.example("dev-server")
	b.must("", "approve", "--config", cfg, "--yes")

	var got map[string]any
	r := b.exec(cfg, `return await devServer.getData("api/items", 10)`, &got)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got["path"] != "/api/items" || got["query"] != "limit=10" {
		t.Errorf("getData = %v", got)
	}
	for _, code := range []string{
		`await devServer.getData("../../etc/passwd")`,
		`await devServer.getData("//192.168.77.99/x")`,
		`await fetch("http://127.0.0.1:3000/api/items")`,
	} {
		if r := b.exec(cfg, code, nil); r.code != 1 {
			t.Errorf("%s: exit %d, stderr %q; want a refusal", code, r.code, r.stderr)
		}
	}
	if n := len(dev.requests()); n != 1 {
		t.Errorf("the dev server received %d requests, want 1: %+v", n, dev.requests())
	}
}

func TestApprovalRequired(t *testing.T) {
	b := newBench(t, tvHost)
	tv := lgTV(b)
	cfg := b.example("lg-remote")
	b.must("", "secret", "set", "lg-tv", "tvIP=192.168.77.100")

	r := b.exec(cfg, `return await lgRemote.getStatus()`, nil)
	if r.code != 2 || !strings.Contains(r.stderr, "not approved") || !strings.Contains(r.stderr, "airlock approve --config "+cfg) {
		t.Errorf("unapproved: exit %d, stderr %q", r.code, r.stderr)
	}
	b.must("", "approve", "--config", cfg, "--yes")
	if r := b.exec(cfg, `return await lgRemote.getStatus()`, nil); r.code != 0 {
		t.Fatalf("approved: exit %d, stderr %q", r.code, r.stderr)
	}

	// A changed declaration (one more allowed destination) is refused until approved again.
	data, _ := os.ReadFile(cfg)
	changed := strings.Replace(string(data), `allow: ["{{credential.tvIP}}:3000"]`, `allow: ["{{credential.tvIP}}:3000", "192.168.77.99:80"]`, 1)
	if changed == string(data) {
		t.Fatal("the example's allow line changed; update this test")
	}
	os.WriteFile(cfg, []byte(changed), 0o644)
	r = b.exec(cfg, `return await lgRemote.getStatus()`, nil)
	if r.code != 2 || !strings.Contains(r.stderr, "changed since it was approved") {
		t.Errorf("changed: exit %d, stderr %q", r.code, r.stderr)
	}
	if n := len(tv.requests()); n != 1 {
		t.Errorf("the TV received %d requests, want 1 (only the approved run's)", n)
	}
}
