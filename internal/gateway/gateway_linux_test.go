//go:build linux

package gateway_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/airlock-sh/airlock/internal/codemode"
	"github.com/airlock-sh/airlock/internal/sandbox"
	"github.com/airlock-sh/airlock/internal/testbin"
	"github.com/airlock-sh/airlock/internal/testnpm"
	"github.com/airlock-sh/airlock/internal/testworld"
)

// Bounds against hanging, never measurements.
const patience = 90 * time.Second

func TestMain(m *testing.M) {
	sandbox.HelperMain()
	codemode.WorkerMain()
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// The test world: a device for the binding, a public host the test server may fetch, a NAS on
// the LAN that nothing is granted (runtime approval), and a metadata endpoint nothing may
// ever reach.
var (
	lampHost     = testworld.Host{Name: "lamp", Addrs: testworld.Addrs("192.168.77.50")}
	publicHost   = testworld.Host{Name: "public", Addrs: testworld.Addrs("198.51.100.7")}
	nasHost      = testworld.Host{Name: "nas", Addrs: testworld.Addrs("192.168.77.60")}
	metadataHost = testworld.Host{Name: "metadata", Addrs: testworld.Addrs("169.254.169.254")}
)

// rig is one test's gateway set-up: binaries, config, world.
type rig struct {
	t       *testing.T
	w       *testworld.World
	dir     string
	bin     string
	cfg     string
	env     []string
	marker  string
	events  string
	audit   string
	hits    map[string]func() int
	answers *answerer
}

// answerer is the test client's user: it answers elicitations from a script.
type answerer struct {
	mu       sync.Mutex
	next     string // once, always, deny; "" declines
	messages []string
}

func (a *answerer) set(s string) {
	a.mu.Lock()
	a.next = s
	a.mu.Unlock()
}

func (a *answerer) asked() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.messages...)
}

func (a *answerer) handle(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.messages = append(a.messages, req.Params.Message)
	if strings.HasSuffix(req.Params.Message, "Proceed?") { // a server's own question
		return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"ok": true}}, nil
	}
	if a.next == "" {
		return &mcp.ElicitResult{Action: "decline"}, nil
	}
	return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"decision": a.next}}, nil
}

func newRig(t *testing.T, everything bool) *rig {
	t.Helper()
	w := testworld.New(t, lampHost, publicHost, nasHost, metadataHost)
	bin := testbin.Airlock(t)
	server, err := testbin.Build("./testdata/mcpserver")
	if err != nil {
		t.Fatalf("build the test MCP server: %v", err)
	}
	dir := t.TempDir()
	r := &rig{t: t, w: w, dir: dir, bin: bin, marker: "airlock-gw-" + randomHex(6),
		events: filepath.Join(dir, "events"), audit: filepath.Join(dir, "audit.jsonl"),
		hits: map[string]func() int{}, answers: &answerer{}}
	key := make([]byte, 32)
	rand.Read(key)
	r.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"AIRLOCK_SECRET_KEY=" + base64.StdEncoding.EncodeToString(key),
		"GATEWAY_TEST_MARKER=" + r.marker, // every process of the session inherits it
	}
	// The devices.
	r.hits["lamp"] = w.ServeHTTP(t, "lamp", ":80", http.HandlerFunc(func(wr http.ResponseWriter, req *http.Request) {
		wr.Header().Set("Content-Type", "application/json")
		body, _ := io.ReadAll(req.Body)
		fmt.Fprintf(wr, `{"on":true,"method":%q,"path":%q,"body":%q}`, req.Method, req.URL.Path, body)
	}))
	r.hits["public"] = w.ServeHTTP(t, "public", ":80", http.HandlerFunc(func(wr http.ResponseWriter, _ *http.Request) {
		io.WriteString(wr, "public hello")
	}))
	r.hits["nas"] = w.ServeHTTP(t, "nas", ":80", http.HandlerFunc(func(wr http.ResponseWriter, _ *http.Request) {
		io.WriteString(wr, "nas files")
	}))
	r.hits["metadata"] = w.ServeHTTP(t, "metadata", ":80", http.HandlerFunc(func(wr http.ResponseWriter, _ *http.Request) {
		io.WriteString(wr, "SECRET-CREDENTIALS")
	}))

	var cfg strings.Builder
	fmt.Fprintf(&cfg, `version: 1
servers:
  testmcp:
    command: %s
    env: {TESTMCP_EVENTS: %q, TESTMCP_MARKER: %q}
    network:
      allow: ["198.51.100.7:80"]
`, server, r.events, r.marker)
	if everything {
		node, entry := testnpm.Everything(t)
		fmt.Fprintf(&cfg, `  everything:
    command: %s
    args: [%q]
`, node, entry)
	}
	cfg.WriteString(`codemode:
  network:
    allow: ["198.51.100.7:80"]
bindings:
  lamp:
    type: local-network
    description: A lamp on the LAN
    network:
      allow: ["192.168.77.50:80"]
    methods:
      status:
        description: Whether the lamp is on
        request: {method: GET, url: "http://192.168.77.50/status"}
      setLevel:
        description: Dim the lamp
        params:
          - {name: level, type: integer, min: 0, max: 100}
        request:
          method: PUT
          url: "http://192.168.77.50/level"
          json: {level: "{{level}}"}
`)
	r.cfg = filepath.Join(dir, "airlock.yaml")
	if err := os.WriteFile(r.cfg, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r.airlock("approve", "--config", r.cfg, "--yes")
	return r
}

// airlock runs a short airlock command (no network needed) and fails the test unless it
// succeeds.
func (r *rig) airlock(args ...string) string {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.bin, args...)
	cmd.Env = r.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("airlock %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// connect starts `airlock gateway` inside the world and connects the SDK client to it over
// stdio.
func (r *rig) connect(ctx context.Context, progress func(*mcp.ProgressNotificationClientRequest)) (*mcp.ClientSession, *exec.Cmd) {
	r.t.Helper()
	cmd := r.w.Command(ctx, r.bin, "gateway", "--config", r.cfg, "--log", r.audit)
	cmd.Env = r.env
	stderr, err := os.Create(filepath.Join(r.dir, "gateway.stderr"))
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		stderr.Close()
		if r.t.Failed() {
			b, _ := os.ReadFile(stderr.Name())
			r.t.Logf("gateway stderr:\n%s", b)
		}
	})
	cmd.Stderr = stderr
	opts := &mcp.ClientOptions{ElicitationHandler: r.answers.handle}
	if progress != nil {
		opts.ProgressNotificationHandler = func(_ context.Context, req *mcp.ProgressNotificationClientRequest) { progress(req) }
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "gateway-test", Version: "1"}, opts)
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		r.t.Fatalf("connect to airlock gateway: %v", err)
	}
	return cs, cmd
}

func call(ctx context.Context, t *testing.T, cs *mcp.ClientSession, name string, args any) (string, bool) {
	t.Helper()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: %v (a refusal or failure must be a tool error, not a protocol error)", name, err)
	}
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n"), res.IsError
}

// TestGatewayStdio drives `airlock gateway` over stdio with the SDK client, inside a test
// world: tools of two real servers, forwarding, progress, run_code over a tool and a binding,
// refusals as tool errors, runtime approval, restart after a crash, cancellation, and no
// process left after the client closes.
func TestGatewayStdio(t *testing.T) {
	testworld.Require(t)
	r := newRig(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 4*patience)
	defer cancel()
	var progressed atomic.Int32
	cs, cmd := r.connect(ctx, func(*mcp.ProgressNotificationClientRequest) { progressed.Add(1) })
	closed := false
	defer func() {
		if !closed {
			cs.Close()
		}
	}()

	tools := map[string]*mcp.Tool{}
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatalf("list tools: %v", err)
		}
		tools[tool.Name] = tool
	}
	for _, want := range []string{"testmcp__echo", "testmcp__add", "testmcp__slow", "everything__echo", "everything__get-env", "run_code", "list_permissions"} {
		if tools[want] == nil {
			t.Errorf("tool %s is not listed; tools: %v", want, keys(tools))
		}
	}
	desc := tools["run_code"].Description
	t.Logf("the client sees %d tools; run_code's description:\n%s", len(tools), desc)
	for _, want := range []string{"declare const testmcp: {", "text: string }): Promise<any>", "declare const everything: {",
		"get_env(", "declare const lamp: {", "setLevel(level: number)", "fetch(url, init?)"} {
		if !strings.Contains(desc, want) {
			t.Errorf("run_code's description lacks %q", want)
		}
	}
	if tools["run_code"].Description == "" || t.Failed() {
		t.FailNow()
	}

	t.Run("forward", func(t *testing.T) {
		if text, isErr := call(ctx, t, cs, "testmcp__echo", map[string]any{"text": "through the gateway"}); isErr || text != "through the gateway" {
			t.Fatalf("testmcp__echo: %q isError=%v", text, isErr)
		}
		if text, isErr := call(ctx, t, cs, "everything__echo", map[string]any{"message": "hi"}); isErr || !strings.Contains(text, "hi") {
			t.Fatalf("everything__echo: %q isError=%v", text, isErr)
		}
		text, isErr := call(ctx, t, cs, "testmcp__fetch", map[string]any{"url": "http://198.51.100.7/"})
		if isErr || !strings.Contains(text, "200 public hello") {
			t.Fatalf("testmcp__fetch of its granted host: %q isError=%v", text, isErr)
		}
	})

	t.Run("progress", func(t *testing.T) {
		before := progressed.Load()
		params := &mcp.CallToolParams{Name: "testmcp__progress", Arguments: map[string]any{"steps": 3}}
		params.SetProgressToken("p-1")
		res, err := cs.CallTool(ctx, params)
		if err != nil || res.IsError {
			t.Fatalf("progress: %v %v", err, res)
		}
		deadline := time.Now().Add(10 * time.Second)
		for progressed.Load()-before < 3 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := progressed.Load() - before; n != 3 {
			t.Fatalf("the client got %d progress notifications, want 3", n)
		}
	})

	t.Run("run_code", func(t *testing.T) {
		code := `const s = await testmcp.add({a: 2, b: 3});
const env = await everything.get_env();
await lamp.setLevel(40);
const st = await lamp.status();
console.log("sum is", s.sum);
return {sum: s.sum, lamp: st.on, path: st.path, sawMarker: JSON.stringify(env).includes("` + r.marker + `")};`
		text, isErr := call(ctx, t, cs, "run_code", map[string]any{"code": code})
		t.Logf("run_code returned: %s", text)
		if isErr {
			t.Fatalf("run_code failed: %s", text)
		}
		first, _, _ := strings.Cut(text, "\n")
		var got struct {
			Sum       float64
			Lamp      bool
			Path      string
			SawMarker bool
		}
		if err := json.Unmarshal([]byte(first), &got); err != nil {
			t.Fatalf("run_code result %q: %v", first, err)
		}
		if got.Sum != 5 || !got.Lamp || got.Path != "/status" || !got.SawMarker || !strings.Contains(text, "sum is 5") {
			t.Fatalf("run_code: %+v from %q", got, text)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		r.answers.set("once")
		asked := len(r.answers.asked())
		text, isErr := call(ctx, t, cs, "run_code", map[string]any{"code": `const r = await fetch("http://169.254.169.254/latest/meta-data/"); return r.status`})
		t.Logf("refused fetch: %s", text)
		if !isErr || !strings.Contains(text, "Network request blocked") || !strings.Contains(text, "metadata") {
			t.Fatalf("a metadata fetch: %q isError=%v", text, isErr)
		}
		// The proxy's refusal is an HTTP 403 the server reports as it likes (this one as text).
		text, _ = call(ctx, t, cs, "testmcp__fetch", map[string]any{"url": "http://169.254.169.254/latest/meta-data/"})
		if !strings.Contains(text, "403") || !strings.Contains(text, "metadata") {
			t.Fatalf("a server's metadata fetch: %q", text)
		}
		if n := len(r.answers.asked()); n != asked {
			t.Fatalf("the user was asked about a metadata address: %v", r.answers.asked())
		}
		if h := r.hits["metadata"](); h != 0 {
			t.Fatalf("the metadata endpoint was reached %d times", h)
		}
		// An unknown tool is the protocol's error, and the session goes on.
		if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "testmcp__nope", Arguments: map[string]any{}}); err == nil || !strings.Contains(err.Error(), "unknown tool") {
			t.Fatalf("an unknown tool: %v", err)
		}
	})

	t.Run("runtime approval", func(t *testing.T) {
		// Deny: nothing reaches the NAS.
		r.answers.set("deny")
		text, isErr := call(ctx, t, cs, "run_code", map[string]any{"code": `return (await fetch("http://192.168.77.60/")).status`})
		if !isErr || !strings.Contains(text, "Network request blocked") {
			t.Fatalf("denied fetch: %q isError=%v", text, isErr)
		}
		asked := r.answers.asked()
		if len(asked) == 0 || !strings.Contains(asked[len(asked)-1], "192.168.77.60:80") || !strings.Contains(asked[len(asked)-1], "private") {
			t.Fatalf("the user was not asked, or not told why: %q", asked)
		}
		t.Logf("the user was asked: %s", asked[len(asked)-1])
		if h := r.hits["nas"](); h != 0 {
			t.Fatalf("the NAS was reached %d times after a deny", h)
		}
		// Once: this fetch goes through.
		r.answers.set("once")
		text, isErr = call(ctx, t, cs, "run_code", map[string]any{"code": `return await (await fetch("http://192.168.77.60/")).text()`})
		if isErr || !strings.Contains(text, "nas files") {
			t.Fatalf("fetch allowed once: %q isError=%v", text, isErr)
		}
		// A server's refused destination, allowed always: recorded, and not asked again.
		r.answers.set("always")
		text, isErr = call(ctx, t, cs, "testmcp__fetch", map[string]any{"url": "http://192.168.77.60/"})
		if isErr || !strings.Contains(text, "200 nas files") {
			t.Fatalf("server fetch allowed always: %q isError=%v", text, isErr)
		}
		n := len(r.answers.asked())
		r.answers.set("deny")
		text, isErr = call(ctx, t, cs, "testmcp__fetch", map[string]any{"url": "http://192.168.77.60/"})
		if isErr || len(r.answers.asked()) != n {
			t.Fatalf("a destination allowed always was refused or asked again: %q", text)
		}
		if out := r.airlock("approve", "--config", r.cfg, "--show"); !strings.Contains(out, "server/testmcp:") || !strings.Contains(out, "192.168.77.60:80") {
			t.Fatalf("airlock approve --show does not list the grant:\n%s", out)
		}
		approvals, _ := os.ReadFile(filepath.Join(r.dir, "airlock.approvals.json"))
		if !strings.Contains(string(approvals), `"server/testmcp"`) || !strings.Contains(string(approvals), `"192.168.77.60"`) {
			t.Fatalf("the grant is not in the approvals file:\n%s", approvals)
		}
	})

	t.Run("list_permissions", func(t *testing.T) {
		text, isErr := call(ctx, t, cs, "list_permissions", map[string]any{})
		if isErr {
			t.Fatal(text)
		}
		var p struct {
			Servers []struct {
				Name    string
				Network struct{ Allow []string }
				Granted []string `json:"granted_at_run_time"`
				Status  string
			}
			Bindings []struct {
				Name    string
				Methods []string
			}
		}
		if err := json.Unmarshal([]byte(text), &p); err != nil {
			t.Fatalf("list_permissions: %v\n%s", err, text)
		}
		found := false
		for _, s := range p.Servers {
			if s.Name == "testmcp" {
				found = true
				if strings.Join(s.Network.Allow, ",") != "198.51.100.7:80" || strings.Join(s.Granted, ",") != "192.168.77.60:80" || s.Status != "running" {
					t.Errorf("testmcp's permissions: %+v", s)
				}
			}
		}
		if !found || len(p.Bindings) != 1 || p.Bindings[0].Name != "lamp" {
			t.Errorf("list_permissions: %s", text)
		}
		res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "airlock://permissions"})
		if err != nil || len(res.Contents) != 1 || !strings.Contains(res.Contents[0].Text, `"testmcp"`) {
			t.Errorf("the permissions resource: %v %v", res, err)
		}
	})

	t.Run("restart after a crash", func(t *testing.T) {
		// PIDs inside each sandbox's own PID namespace repeat; the server's start lines count.
		starts := func() int { return strings.Count(readFile(r.events), "started ") }
		before := starts()
		text, isErr := call(ctx, t, cs, "testmcp__crash", map[string]any{})
		if !isErr || !strings.Contains(text, "stopped during the call") {
			t.Fatalf("crash: %q isError=%v", text, isErr)
		}
		t.Logf("crash: %s", text)
		if text, isErr := call(ctx, t, cs, "testmcp__echo", map[string]any{"text": "again"}); isErr || text != "again" {
			t.Fatalf("after the crash: %q isError=%v", text, isErr)
		}
		if after := starts(); after != before+1 {
			t.Fatalf("the server started %d times around the crash, want once", after-before)
		}
	})

	t.Run("a server's own question", func(t *testing.T) {
		// The server asks through the gateway's call; the user (this client) answers.
		if text, isErr := call(ctx, t, cs, "testmcp__confirm", map[string]any{}); isErr || text != "confirmed" {
			t.Fatalf("confirm: %q isError=%v", text, isErr)
		}
		asked := r.answers.asked()
		if last := asked[len(asked)-1]; last != "[testmcp] Proceed?" {
			t.Fatalf("the user saw %q", last)
		}
		// Through run_code too.
		if text, isErr := call(ctx, t, cs, "run_code", map[string]any{"code": "return await testmcp.confirm()"}); isErr || !strings.HasPrefix(text, `"confirmed"`) {
			t.Fatalf("confirm from run_code: %q isError=%v", text, isErr)
		}
	})

	t.Run("tool list changes", func(t *testing.T) {
		if text, isErr := call(ctx, t, cs, "testmcp__grow", map[string]any{}); isErr || text != "grew" {
			t.Fatalf("grow: %q", text)
		}
		// The server's notifications/tools/list_changed makes the gateway list again and offer
		// the new tool (and tell this client, which may list again).
		deadline := time.Now().Add(10 * time.Second)
		for {
			res, err := cs.ListTools(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if slices.ContainsFunc(res.Tools, func(tool *mcp.Tool) bool { return tool.Name == "testmcp__grown" }) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("testmcp__grown never appeared")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if text, isErr := call(ctx, t, cs, "run_code", map[string]any{"code": "return await testmcp.grown()"}); isErr || !strings.HasPrefix(text, `"grown"`) {
			t.Fatalf("the new tool in run_code: %q", text)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		cctx, ccancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			_, err := cs.CallTool(cctx, &mcp.CallToolParams{Name: "testmcp__slow", Arguments: map[string]any{"seconds": 60}})
			done <- err
		}()
		// Cancel once the call is in the server (it says so), not after a guessed delay.
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(readFile(r.events), "started slow") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		ccancel()
		if err := <-done; err == nil {
			t.Fatal("a cancelled call returned no error")
		}
		deadline = time.Now().Add(15 * time.Second)
		for !strings.Contains(readFile(r.events), "cancelled slow") && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if !strings.Contains(readFile(r.events), "cancelled slow") {
			t.Fatalf("the server never saw the cancellation; events:\n%s", readFile(r.events))
		}
		if text, isErr := call(ctx, t, cs, "testmcp__echo", map[string]any{"text": "still here"}); isErr || text != "still here" {
			t.Fatalf("after a cancel: %q", text)
		}
	})

	// Closing the client ends the gateway and every process it started.
	if live := markedProcesses(r.marker); len(live) < 3 {
		t.Fatalf("expected the gateway and its servers to carry the marker, found %v", live)
	}
	cs.Close()
	closed = true
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case <-waitErr:
	case <-time.After(30 * time.Second):
		t.Fatal("airlock gateway did not exit after the client closed")
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(markedProcesses(r.marker)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if live := markedProcesses(r.marker); len(live) > 0 {
		t.Fatalf("processes left after the client closed: %v", live)
	}
}

// TestGatewayHTTP drives the gateway over streamable HTTP on loopback: the bearer token and
// the Origin check, then tools and run_code through the SDK's streamable client.
func TestGatewayHTTP(t *testing.T) {
	testworld.Require(t)
	r := newRig(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*patience)
	defer cancel()
	// A server that cannot start (approved), and one nobody approved.
	cfg, _ := os.ReadFile(r.cfg)
	cfg = []byte(strings.Replace(string(cfg), "servers:\n", "servers:\n  broken:\n    command: /nonexistent/mcp-server\n", 1))
	os.WriteFile(r.cfg, cfg, 0o644)
	r.airlock("approve", "--config", r.cfg, "--yes")
	cfg = []byte(strings.Replace(string(cfg), "servers:\n", "servers:\n  unreviewed:\n    command: /bin/true\n", 1))
	os.WriteFile(r.cfg, cfg, 0o644)
	token := randomHex(24)
	// Outside the world, on the machine's loopback: the servers still run isolated, and the
	// only traffic is between this test and the gateway on 127.0.0.1.
	cmd := exec.CommandContext(ctx, r.bin, "gateway", "--config", r.cfg, "--http", "127.0.0.1:0", "--log", r.audit)
	cmd.Env = append(r.env, "AIRLOCK_GATEWAY_TOKEN="+token)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
		}
	}
	defer stop()
	sc := bufio.NewScanner(stderr)
	var url string
	for sc.Scan() {
		if _, after, ok := strings.Cut(sc.Text(), "serving MCP at "); ok {
			url = strings.TrimSpace(after)
			break
		}
	}
	if url == "" {
		t.Fatal("the gateway did not say where it listens")
	}
	go io.Copy(io.Discard, stderr)

	for _, c := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"no token", nil, http.StatusUnauthorized},
		{"wrong token", map[string]string{"Authorization": "Bearer " + randomHex(24)}, http.StatusUnauthorized},
		{"foreign origin", map[string]string{"Authorization": "Bearer " + token, "Origin": "https://evil.example"}, http.StatusForbidden},
	} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}

	client := mcp.NewClient(&mcp.Implementation{Name: "gateway-http-test", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: bearer{token}}}, nil)
	if err != nil {
		t.Fatalf("connect over HTTP: %v", err)
	}
	defer cs.Close()
	listed := map[string]bool{}
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatalf("list tools over HTTP: %v", err)
		}
		listed[tool.Name] = true
	}
	for _, want := range []string{"testmcp__echo", "everything__echo", "run_code", "list_permissions"} {
		if !listed[want] {
			t.Errorf("%s is not listed over HTTP", want)
		}
	}
	perms, _ := call(ctx, t, cs, "list_permissions", map[string]any{})
	if !strings.Contains(perms, `"status": "not running: its command could not be found`) || !strings.Contains(perms, "/nonexistent/mcp-server") ||
		!strings.Contains(perms, `"name": "unreviewed"`) || !strings.Contains(perms, "airlock approve") {
		t.Errorf("list_permissions does not explain the broken and the unapproved server:\n%s", perms)
	}
	if listed["broken__echo"] || listed["unreviewed__echo"] {
		t.Error("tools of a broken or unapproved server are listed")
	}
	// A tool of the broken server (as a client that listed it in an earlier session would call
	// it): a tool error that says why.
	if text, isErr := call(ctx, t, cs, "broken__echo", map[string]any{}); !isErr || !strings.Contains(text, "broken is not available: it failed to start") {
		t.Errorf("a call to the broken server: %q isError=%v", text, isErr)
	}
	if text, isErr := call(ctx, t, cs, "everything__echo", map[string]any{"message": "over http"}); isErr || !strings.Contains(text, "over http") {
		t.Fatalf("everything__echo over HTTP: %q isError=%v", text, isErr)
	}
	if text, isErr := call(ctx, t, cs, "testmcp__echo", map[string]any{"text": "over http"}); isErr || text != "over http" {
		t.Fatalf("testmcp__echo over HTTP: %q isError=%v", text, isErr)
	}
	text, isErr := call(ctx, t, cs, "run_code", map[string]any{"code": `return (await testmcp.add({a: 40, b: 2})).sum`})
	if isErr || !strings.HasPrefix(text, "42") {
		t.Fatalf("run_code over HTTP: %q isError=%v", text, isErr)
	}
	// A refusal over HTTP (loopback: this test runs outside a test world, so it names no
	// address off the machine).
	text, isErr = call(ctx, t, cs, "run_code", map[string]any{"code": `return (await fetch("http://127.0.0.1:9/")).status`})
	if !isErr || !strings.Contains(text, "Network request blocked") || !strings.Contains(text, "loopback") {
		t.Fatalf("refused fetch over HTTP: %q isError=%v", text, isErr)
	}

	// SIGINT stops the gateway and every server it started.
	if live := markedProcesses(r.marker); len(live) < 3 {
		t.Fatalf("expected the gateway and its servers to carry the marker, found %v", live)
	}
	cs.Close()
	t0 := time.Now()
	stop()
	t.Logf("the gateway stopped %v after SIGINT", time.Since(t0).Round(time.Millisecond))
	deadline := time.Now().Add(10 * time.Second)
	for len(markedProcesses(r.marker)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if live := markedProcesses(r.marker); len(live) > 0 {
		t.Fatalf("processes left after the gateway stopped: %v", live)
	}
}

// bearer adds the gateway's token to every request.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// markedProcesses lists the processes whose environment carries marker, as "PID COMM".
func markedProcesses(marker string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !strings.Contains(string(env), "GATEWAY_TEST_MARKER="+marker) {
			continue
		}
		comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		out = append(out, e.Name()+" "+strings.TrimSpace(string(comm)))
	}
	return out
}

// TestGatewayOlderClientIsAsked: a client of protocol 2025-06-18 (before multi-round-trip
// requests), spoken to in raw JSON-RPC, gets an elicitation/create request from the gateway
// while its run_code call is in flight, and its answer decides the fetch.
func TestGatewayOlderClientIsAsked(t *testing.T) {
	testworld.Require(t)
	r := newRig(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	send, next, stop := r.rawSession(ctx, map[string]any{"elicitation": map[string]any{}})
	defer stop()
	for i, answer := range []string{"deny", "once"} {
		id := 10 + i
		send(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": map[string]any{
			"name": "run_code", "arguments": map[string]any{"code": `return await (await fetch("http://192.168.77.60/")).text()`}}})
		q := next()
		if q["method"] != "elicitation/create" {
			t.Fatalf("expected the gateway to ask, got %v", q)
		}
		msg, _ := q["params"].(map[string]any)["message"].(string)
		if !strings.Contains(msg, "192.168.77.60:80") {
			t.Fatalf("the question does not name the destination: %q", msg)
		}
		send(map[string]any{"jsonrpc": "2.0", "id": q["id"], "result": map[string]any{"action": "accept", "content": map[string]any{"decision": answer}}})
		res := next()
		b, _ := json.Marshal(res["result"])
		switch answer {
		case "deny":
			if !strings.Contains(string(b), `"isError":true`) || !strings.Contains(string(b), "Network request blocked") {
				t.Fatalf("after deny: %s", b)
			}
			if h := r.hits["nas"](); h != 0 {
				t.Fatalf("the NAS was reached after a deny")
			}
		case "once":
			if strings.Contains(string(b), `"isError":true`) || !strings.Contains(string(b), "nas files") {
				t.Fatalf("after once: %s", b)
			}
		}
	}
	// A server's own question reaches this client the same way.
	send(map[string]any{"jsonrpc": "2.0", "id": 20, "method": "tools/call", "params": map[string]any{"name": "testmcp__confirm", "arguments": map[string]any{}}})
	q := next()
	if msg, _ := q["params"].(map[string]any)["message"].(string); q["method"] != "elicitation/create" || msg != "[testmcp] Proceed?" {
		t.Fatalf("expected the server's question, got %v", q)
	}
	send(map[string]any{"jsonrpc": "2.0", "id": q["id"], "result": map[string]any{"action": "accept", "content": map[string]any{"ok": true}}})
	if b, _ := json.Marshal(next()); !strings.Contains(string(b), `"text":"confirmed"`) {
		t.Fatalf("after answering the server's question: %s", b)
	}
}

// TestGatewayClientWithoutElicitation: a client that cannot be asked gets the refusal, with
// airlock's explanation, and nothing is asked or reached.
func TestGatewayClientWithoutElicitation(t *testing.T) {
	testworld.Require(t)
	r := newRig(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	send, next, stop := r.rawSession(ctx, map[string]any{})
	defer stop()
	send(map[string]any{"jsonrpc": "2.0", "id": 10, "method": "tools/call", "params": map[string]any{
		"name": "run_code", "arguments": map[string]any{"code": `return (await fetch("http://192.168.77.60/")).status`}}})
	res := next()
	b, _ := json.Marshal(res)
	if res["method"] != nil || !strings.Contains(string(b), `"isError":true`) || !strings.Contains(string(b), "private-network address") {
		t.Fatalf("without elicitation: %s", b)
	}
	if h := r.hits["nas"](); h != 0 {
		t.Fatal("the NAS was reached")
	}
}

// rawSession starts the gateway in the world and initialises a session as a client of
// protocol 2025-06-18 with caps, speaking JSON-RPC by hand. next returns the next message that
// is not a notification.
func (r *rig) rawSession(ctx context.Context, caps map[string]any) (send func(any), next func() map[string]any, stop func()) {
	t := r.t
	t.Helper()
	cmd := r.w.Command(ctx, r.bin, "gateway", "--config", r.cfg)
	cmd.Env = r.env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan map[string]any, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				lines <- m
			}
		}
		close(lines)
	}()
	send = func(v any) {
		b, _ := json.Marshal(v)
		if _, err := stdin.Write(append(b, '\n')); err != nil {
			t.Fatal(err)
		}
	}
	// next returns the next message that is not a notification.
	next = func() map[string]any {
		for {
			select {
			case m, ok := <-lines:
				if !ok {
					t.Fatal("the gateway closed its output")
				}
				if _, isNote := m["id"]; isNote {
					return m
				}
			case <-ctx.Done():
				t.Fatal("no answer from the gateway")
			}
		}
	}
	send(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": map[string]any{
		"protocolVersion": "2025-06-18", "clientInfo": map[string]any{"name": "old-client", "version": "1"},
		"capabilities": caps}})
	if m := next(); m["result"] == nil {
		t.Fatalf("initialize: %v", m)
	}
	send(map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"})
	return send, next, func() { stdin.Close(); cmd.Wait() }
}

// TestDocumentedConfig runs the Claude Desktop entry of docs/gateway.md exactly as written
// (its args, with ~ for a home directory holding the config), with the binary as "airlock".
func TestDocumentedConfig(t *testing.T) {
	testworld.Require(t) // the servers run in airlock's sandbox
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "gateway.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```json\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/gateway.md has no json block")
	}
	var entry struct {
		MCPServers map[string]struct {
			Command string   `json:"command"`
			Args    []string `json:"args"`
		} `json:"mcpServers"`
	}
	if err := json.Unmarshal([]byte(block), &entry); err != nil {
		t.Fatalf("docs/gateway.md's config does not parse: %v\n%s", err, block)
	}
	e, ok := entry.MCPServers["airlock"]
	if !ok || e.Command != "airlock" {
		t.Fatalf("docs/gateway.md's entry: %+v", entry)
	}
	bin := testbin.Airlock(t)
	server, err := testbin.Build("./testdata/mcpserver")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cfgDir := filepath.Join(home, ".config", "airlock")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(cfgDir, "airlock.yaml")
	os.WriteFile(cfg, []byte("version: 1\nservers:\n  testmcp:\n    command: "+server+"\n"), 0o644)
	// "airlock" on the PATH, as after go install.
	binDir := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(binDir, "airlock")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", binDir+":"+os.Getenv("PATH"))
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
	approve := exec.Command(bin, "approve", "--config", cfg, "--yes")
	approve.Env = env
	if out, err := approve.CombinedOutput(); err != nil {
		t.Fatalf("approve: %v\n%s", err, out)
	}
	// The client starts "airlock" from PATH with the documented args, without a shell.
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.Command, e.Args...)
	cmd.Env = env
	client := mcp.NewClient(&mcp.Implementation{Name: "claude-desktop-stand-in", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("start the documented entry: %v", err)
	}
	defer cs.Close()
	if text, isErr := call(ctx, t, cs, "testmcp__echo", map[string]any{"text": "as documented"}); isErr || text != "as documented" {
		t.Fatalf("testmcp__echo: %q", text)
	}
}
