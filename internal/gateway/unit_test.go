package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/binding"
	"github.com/airlock-sh/airlock/internal/egress"
	"github.com/airlock-sh/airlock/internal/policy"
)

func TestIdentifierFor(t *testing.T) {
	for in, want := range map[string]string{
		"search_issues": "search_issues", "get-env": "get_env", "gzip-file-as-resource": "gzip_file_as_resource",
		"1st": "_1st", "a.b": "a_b", "$x": "$x", "": "", "ünïcode": "__n__code",
	} {
		if got := identifierFor(in); got != want {
			t.Errorf("identifierFor(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestToolMethods: collisions keep the first tool, members of every object are never methods.
func TestToolMethods(t *testing.T) {
	tools := []*mcp.Tool{{Name: "get-env"}, {Name: "get_env"}, {Name: "constructor"}, {Name: "__proto__"}, {Name: "then"}, {Name: "echo"}}
	var got []string
	for _, m := range toolMethods(tools) {
		got = append(got, m.method+"="+m.tool.Name)
	}
	if s := strings.Join(got, ","); s != "echo=echo,get_env=get-env" {
		t.Fatalf("toolMethods = %s", s)
	}
}

func TestToolValue(t *testing.T) {
	text := func(s ...string) []mcp.Content {
		var c []mcp.Content
		for _, x := range s {
			c = append(c, &mcp.TextContent{Text: x})
		}
		return c
	}
	for _, c := range []struct {
		name    string
		res     *mcp.CallToolResult
		want    string
		wantErr string
	}{
		{"structured wins", &mcp.CallToolResult{Content: text("5"), StructuredContent: map[string]any{"sum": 5}}, `{"sum":5}`, ""},
		{"json text parsed", &mcp.CallToolResult{Content: text(` {"a":[1,2]} `)}, `{"a":[1,2]}`, ""},
		{"plain text", &mcp.CallToolResult{Content: text("hello", "world")}, `"hello\nworld"`, ""},
		{"number text stays text", &mcp.CallToolResult{Content: text("42")}, `"42"`, ""},
		{"tool error rejects", &mcp.CallToolResult{IsError: true, Content: text("no such repo")}, "", "no such repo"},
		{"silent tool error", &mcp.CallToolResult{IsError: true}, "", "without text"},
		{"image kept", &mcp.CallToolResult{Content: []mcp.Content{&mcp.ImageContent{MIMEType: "image/png", Data: []byte{1}}}}, `[{"type":"image","mimeType":"image/png","data":"AQ=="}]`, ""},
	} {
		got, err := toolValue(c.res)
		switch {
		case c.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: err %v, want %q", c.name, err, c.wantErr)
			}
		case err != nil || string(got) != c.want:
			t.Errorf("%s: %s %v, want %s", c.name, got, err, c.want)
		}
	}
}

// TestOfferedTool: what a server that nobody audited declares is renamed and checked, and a
// definition the SDK would panic on is refused with an error instead.
func TestOfferedTool(t *testing.T) {
	ok := &mcp.Tool{Name: "search", Description: "Search", InputSchema: map[string]any{"type": "object"}}
	def, err := offeredTool("gh__search", "gh", ok)
	if err != nil || def.Name != "gh__search" || def.Description != "[gh] Search" {
		t.Fatalf("offeredTool: %+v %v", def, err)
	}
	for _, bad := range []*mcp.Tool{
		{Name: "x", InputSchema: map[string]any{"type": "string"}},
		{Name: "x", InputSchema: nil},
		{Name: "x y", InputSchema: map[string]any{"type": "object"}},
		{Name: strings.Repeat("x", 127), InputSchema: map[string]any{"type": "object"}},
	} {
		if _, err := offeredTool("gh__"+bad.Name, "gh", bad); err == nil {
			t.Errorf("offeredTool accepted %q with %v", bad.Name, bad.InputSchema)
		}
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "t"}, nil)
	if err := addTool(s, &mcp.Tool{Name: "x"}, nil); err == nil {
		t.Error("addTool did not turn the SDK's panic into an error")
	}
}

func TestServerNames(t *testing.T) {
	for name, ok := range map[string]bool{"github": true, "home-assistant": true, "a_b": true, "a__b": false, "": false, "a b": false, "ü": false} {
		if err := checkServerName(name); (err == nil) != ok {
			t.Errorf("checkServerName(%q) = %v", name, err)
		}
	}
}

func TestAnswerFrom(t *testing.T) {
	for _, c := range []struct {
		in   mcp.InputResponse
		want string
	}{
		{&mcp.ElicitResult{Action: "accept", Content: map[string]any{"decision": "once"}}, answerOnce},
		{&mcp.ElicitResult{Action: "accept", Content: map[string]any{"decision": "always"}}, answerAlways},
		{&mcp.ElicitResult{Action: "accept", Content: map[string]any{"decision": "ALWAYS"}}, answerDeny},
		{&mcp.ElicitResult{Action: "decline", Content: map[string]any{"decision": "once"}}, answerDeny},
		{&mcp.ElicitResult{Action: "cancel"}, answerDeny},
		{nil, answerDeny},
		{&mcp.ListRootsResult{}, answerDeny},
	} {
		if got := answerFrom(c.in); got != c.want {
			t.Errorf("answerFrom(%+v) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestApprovalQuestion: the question names who, where and why, and offers exactly three
// choices in a schema the SDK's client accepts.
func TestApprovalQuestion(t *testing.T) {
	q := approvalQuestion("server/github", egress.ApprovalRequest{Host: "nas.local", Port: 5000,
		Addrs: nil, Private: true, Denied: policy.Decision{Detail: "nas.local is a local-network name; set allow_private_ips"}})
	if !strings.Contains(q.Message, "The MCP server github wants to connect to nas.local:5000") ||
		!strings.Contains(q.Message, "nas.local is a local-network name.") || strings.Contains(q.Message, "allow_private_ips") {
		t.Fatalf("question: %q", q.Message)
	}
	b, _ := json.Marshal(q.RequestedSchema)
	for _, want := range []string{`"const":"once"`, `"const":"always"`, `"const":"deny"`, `"required":["decision"]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("schema lacks %s: %s", want, b)
		}
	}
	if q6 := approvalQuestion(scopeCodemode, egress.ApprovalRequest{Host: "fd00::5", Port: 80}); !strings.Contains(q6.Message, "[fd00::5]:80") {
		t.Errorf("IPv6 question: %q", q6.Message)
	}
}

// TestHTTPGuard: the bearer token and the Origin check come before anything else.
func TestHTTPGuard(t *testing.T) {
	g := &Gateway{srv: mcp.NewServer(&mcp.Implementation{Name: "t"}, nil)}
	h := g.HTTPHandler(HTTPOptions{Token: "0123456789abcdef0123", Origins: []string{"http://localhost:5173"}})
	ts := httptest.NewServer(h)
	defer ts.Close()
	for _, c := range []struct {
		name, auth, origin string
		want               int
	}{
		{"no token", "", "", http.StatusUnauthorized},
		{"wrong token", "Bearer 0123456789abcdef0124", "", http.StatusUnauthorized},
		{"basic auth", "Basic 0123456789abcdef0123", "", http.StatusUnauthorized},
		{"foreign origin", "Bearer 0123456789abcdef0123", "https://evil.example", http.StatusForbidden},
		{"allowed origin, no token", "", "http://localhost:5173", http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(http.MethodPost, ts.URL, strings.NewReader("{}"))
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
	empty := (&Gateway{srv: g.srv}).HTTPHandler(HTTPOptions{})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer ")
	empty.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("an empty token let a request through: %d", rec.Code)
	}
}

func TestValidOrigin(t *testing.T) {
	for o, ok := range map[string]bool{"http://localhost:5173": true, "https://app.example": true, "http://[::1]:8080": true,
		"localhost:5173": false, "ftp://x": false, "http://x/path": false, "http://u@x": false, "http://x?q": false, "*": false} {
		if ValidOrigin(o) != ok {
			t.Errorf("ValidOrigin(%q) = %v", o, !ok)
		}
	}
}

// TestCrashLoopGuard: three quick exits pause restarts for crashPause; a failed start pauses
// the next attempt; both say when airlock tries again.
func TestCrashLoopGuard(t *testing.T) {
	d := &downstream{}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for i := 0; i < crashLimit-1; i++ {
		d.crashes = append(d.crashes, now)
	}
	if err := d.crashLooping(now); err != nil {
		t.Fatalf("%d quick exits already pause restarts: %v", len(d.crashes), err)
	}
	d.crashes = append(d.crashes, now)
	d.lastErr = errors.New("exited with status 3")
	if err := d.crashLooping(now.Add(time.Second)); err == nil || !strings.Contains(err.Error(), "10:00:30") || !strings.Contains(err.Error(), "status 3") {
		t.Fatalf("crash loop: %v", err)
	}
	if err := d.crashLooping(now.Add(crashPause)); err != nil || d.crashes != nil {
		t.Fatalf("after the pause: %v (crashes %v)", err, d.crashes)
	}
	d.retryAt = now.Add(crashPause)
	if err := d.crashLooping(now); err == nil || !strings.Contains(err.Error(), "failed to start") {
		t.Fatalf("after a failed start: %v", err)
	}
	if err := d.crashLooping(now.Add(crashPause)); err != nil {
		t.Fatalf("after the retry time: %v", err)
	}
}

// TestQuestionsPerCall: one call asks about a destination once, and about at most
// maxQuestions destinations; the rest are refused without asking.
func TestQuestionsPerCall(t *testing.T) {
	g := &Gateway{opts: Options{AskTimeout: time.Minute, Ask: true}, log: slog.New(slog.DiscardHandler)}
	a := &asker{g: g, mrtr: true, questions: make(chan *question), answers: map[string]string{}}
	asked := 0
	go func() {
		for q := range a.questions {
			asked++
			q.answer <- &mcp.ElicitResult{Action: "accept", Content: map[string]any{"decision": answerOnce}}
		}
	}()
	ctx := context.Background()
	for i := 0; i < 3; i++ { // the same destination: asked once
		if got := a.ask(ctx, scopeCodemode, egress.ApprovalRequest{Host: "10.0.0.1", Port: 80}); got != answerOnce {
			t.Fatalf("ask = %s", got)
		}
	}
	for i := 2; i <= maxQuestions+2; i++ {
		got := a.ask(ctx, scopeCodemode, egress.ApprovalRequest{Host: fmt.Sprintf("10.0.0.%d", i), Port: 80})
		if want := answerOnce; i > maxQuestions {
			want = answerDeny
			if got != want {
				t.Fatalf("question %d: %s, want %s", i, got, want)
			}
		} else if got != want {
			t.Fatalf("question %d: %s, want %s", i, got, want)
		}
	}
	close(a.questions)
	if asked != maxQuestions {
		t.Fatalf("the user was asked %d times, want %d", asked, maxQuestions)
	}
}

// fakeGrants records grants in memory.
type fakeGrants map[string]bool

func (f fakeGrants) Granted(scope, host string, port uint16) bool {
	return f[scope+" "+host+" "+fmt.Sprint(port)]
}
func (f fakeGrants) Grant(scope, host string, port uint16) error {
	f[scope+" "+host+" "+fmt.Sprint(port)] = true
	return nil
}

// TestConsult: a stored grant answers without asking; --no-ask and a call that cannot ask
// refuse; "always" is stored and holds for the next call.
func TestConsult(t *testing.T) {
	grants := fakeGrants{}
	g := &Gateway{opts: Options{AskTimeout: time.Minute, Ask: true, Grants: grants, Audit: audit.Discard}, log: slog.New(slog.DiscardHandler)}
	g.approvals = newApprovals(g)
	consult := g.approvals.consultFor(scopeCodemode, nil)
	req := egress.ApprovalRequest{Host: "192.168.1.20", Port: 8080, Private: true}
	ctx := context.Background()
	if consult(ctx, req) {
		t.Fatal("allowed with no call to ask through")
	}
	a := &asker{g: g, mrtr: true, questions: make(chan *question), answers: map[string]string{}}
	a.session = nil // cannot ask: no session
	if consult(withAsker(ctx, a), req) {
		t.Fatal("allowed through a call whose client cannot be asked")
	}
	// A grant answers without a question.
	grants.Grant(scopeCodemode, "192.168.1.20", 8080)
	if !consult(ctx, req) {
		t.Fatal("a stored grant was not honoured")
	}
	if consult(ctx, egress.ApprovalRequest{Host: "192.168.1.20", Port: 8081}) {
		t.Fatal("a grant for one port allowed another")
	}
	g.opts.Ask = false
	delete(grants, scopeCodemode+" 192.168.1.20 8080")
	if consult(withAsker(ctx, a), req) {
		t.Fatal("--no-ask still allowed")
	}
}

// TestPickCodeNames: servers become code-mode objects under identifier names, unless a
// binding, the runtime or another server has the name.
func TestPickCodeNames(t *testing.T) {
	g := &Gateway{log: slog.New(slog.DiscardHandler), opts: Options{Declarations: []*binding.Declaration{{Name: "lamp"}}},
		order: []string{"1x", "console", "home-assistant", "home_assistant", "lamp"}}
	g.pickCodeNames()
	got, _ := json.Marshal(g.codeNames)
	if string(got) != `{"_1x":"1x","home_assistant":"home-assistant"}` {
		t.Fatalf("code names: %s", got)
	}
}
