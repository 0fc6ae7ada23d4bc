//go:build linux

package gateway_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/airlock-sh/airlock/internal/gateway"
	"github.com/airlock-sh/airlock/internal/policy"
	"github.com/airlock-sh/airlock/internal/testbin"
	"github.com/airlock-sh/airlock/internal/testworld"
)

// benchGateway runs a gateway in this process over an in-memory transport, with the test
// server sandboxed behind it, and returns a connected client session.
func benchGateway(b *testing.B) *mcp.ClientSession {
	b.Helper()
	testworld.Require(b) // namespaces for the sandbox
	server, err := testbin.Build("./testdata/mcpserver")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	code, _ := policy.Compile(policy.Spec{AllowPublicInternet: true})
	g, err := gateway.New(ctx, gateway.Options{
		Servers:    []gateway.Server{{Name: "testmcp", Command: []string{server}, Env: []string{"PATH=/usr/bin:/bin"}}},
		CodePolicy: code,
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.Close() })
	st, ct := mcp.NewInMemoryTransports()
	go g.Serve(ctx, st)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cs.Close() })
	for _, err := range cs.Tools(ctx, nil) { // starts the server
		if err != nil {
			b.Fatal(err)
		}
	}
	return cs
}

func benchCall(b *testing.B, cs *mcp.ClientSession, name string, args map[string]any) {
	b.Helper()
	ctx := context.Background()
	for b.Loop() {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil || res.IsError {
			b.Fatalf("%s: %v %v", name, err, res)
		}
	}
}

// BenchmarkCallDirect is the peer: the SDK client calling the test server's echo over stdio,
// the server a plain child process.
func BenchmarkCallDirect(b *testing.B) {
	server, err := testbin.Build("./testdata/mcpserver")
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(server)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench"}, nil).Connect(context.Background(), &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close()
	benchCall(b, cs, "echo", map[string]any{"text": "x"})
}

// BenchmarkCallThroughGateway: the same call through the gateway to the sandboxed server.
func BenchmarkCallThroughGateway(b *testing.B) {
	benchCall(b, benchGateway(b), "testmcp__echo", map[string]any{"text": "x"})
}

// BenchmarkRunCode: run_code returning a constant (a warm worker from the pool).
func BenchmarkRunCode(b *testing.B) {
	benchCall(b, benchGateway(b), "run_code", map[string]any{"code": "return 1"})
}

// BenchmarkRunCodeSpaced: run_code returning a constant, 30 ms apart (untimed), so that the
// pool has a warm worker waiting as it has between a model's calls.
func BenchmarkRunCodeSpaced(b *testing.B) {
	cs := benchGateway(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		time.Sleep(30 * time.Millisecond)
		b.StartTimer()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "run_code", Arguments: map[string]any{"code": "return 1"}})
		if err != nil || res.IsError {
			b.Fatalf("run_code: %v %v", err, res)
		}
	}
}

// BenchmarkRunCodeToolCall: run_code calling one downstream tool.
func BenchmarkRunCodeToolCall(b *testing.B) {
	benchCall(b, benchGateway(b), "run_code", map[string]any{"code": `return await testmcp.echo({text: "x"})`})
}

// BenchmarkRunCodeTenToolCalls: run_code calling a downstream tool ten times in sequence.
func BenchmarkRunCodeTenToolCalls(b *testing.B) {
	benchCall(b, benchGateway(b), "run_code", map[string]any{"code": `let s = ""; for (let i = 0; i < 10; i++) s += await testmcp.echo({text: "x"}); return s`})
}

// BenchmarkFirstList: a new gateway's first tools/list, which starts the sandboxed server.
func BenchmarkFirstList(b *testing.B) {
	testworld.Require(b)
	server, err := testbin.Build("./testdata/mcpserver")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		g, err := gateway.New(ctx, gateway.Options{
			Servers: []gateway.Server{{Name: "testmcp", Command: []string{server}, Env: []string{"PATH=/usr/bin:/bin"}}},
			Logger:  slog.New(slog.DiscardHandler),
		})
		if err != nil {
			b.Fatal(err)
		}
		st, ct := mcp.NewInMemoryTransports()
		go g.Serve(ctx, st)
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench"}, nil).Connect(ctx, ct, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cs.ListTools(ctx, nil); err != nil {
			b.Fatal(err)
		}
		cs.Close()
		g.Close()
	}
}
