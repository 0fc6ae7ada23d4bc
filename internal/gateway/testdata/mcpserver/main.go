// Command testmcp is a small MCP server over stdio, written with the official Go SDK, that the
// gateway's tests start and steer: it echoes, adds, sleeps until cancelled, crashes, reports
// progress, fetches through the proxy the sandbox gives it, and tells who and where it is.
//
// Environment:
//   - TESTMCP_EVENTS: a file to which it appends one line per event ("started PID",
//     "cancelled slow"), so that a test can see what happened inside the sandbox.
//   - TESTMCP_MARKER: returned by whoami, to tell one instance from another.
//   - HTTP_PROXY and friends: used by fetch (http.ProxyFromEnvironment).
//
// Standard output carries MCP only; standard error gets one line at start.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const (
	eventsEnv = "TESTMCP_EVENTS"
	markerEnv = "TESTMCP_MARKER"

	fetchTimeout = 10 * time.Second
	fetchLimit   = 64 << 10 // bytes of a response body that fetch returns
	maxSteps     = 100
)

func main() {
	pid := os.Getpid()
	fmt.Fprintf(os.Stderr, "testmcp: started pid %d\n", pid)
	if err := appendEvent(fmt.Sprintf("started %d", pid)); err != nil {
		fmt.Fprintf(os.Stderr, "testmcp: %v\n", err)
		os.Exit(1)
	}
	if err := newServer().Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		fmt.Fprintf(os.Stderr, "testmcp: %v\n", err)
		os.Exit(1)
	}
}

// appendEvent appends one line to the file named by TESTMCP_EVENTS; without it, it does nothing.
func appendEvent(line string) error {
	name := os.Getenv(eventsEnv)
	if name == "" {
		return nil
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("events file (%s): %w", eventsEnv, err)
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("events file (%s): %w", eventsEnv, err)
	}
	return f.Close()
}

func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

type (
	echoIn struct {
		Text string `json:"text" jsonschema:"the text to return"`
	}
	addIn struct {
		A float64 `json:"a" jsonschema:"the first addend"`
		B float64 `json:"b" jsonschema:"the second addend"`
	}
	addOut struct {
		Sum float64 `json:"sum" jsonschema:"a + b"`
	}
	slowIn struct {
		Seconds float64 `json:"seconds" jsonschema:"how long to wait unless cancelled"`
	}
	progressIn struct {
		Steps int `json:"steps" jsonschema:"how many progress notifications to send, 1 to 100"`
	}
	fetchIn struct {
		URL string `json:"url" jsonschema:"the URL to GET, through HTTP_PROXY when set"`
	}
	whoamiOut struct {
		PID    int    `json:"pid" jsonschema:"this server's process ID"`
		PPID   int    `json:"ppid" jsonschema:"its parent's process ID"`
		Marker string `json:"marker" jsonschema:"the value of TESTMCP_MARKER"`
	}
	envIn struct {
		Name string `json:"name" jsonschema:"the environment variable to read"`
	}
)

func newServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "testmcp", Version: "1.0.0"}, nil)

	mcp.AddTool(s, &mcp.Tool{Name: "echo", Description: "Returns its text."},
		func(_ context.Context, _ *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
			return text(in.Text), nil, nil
		})

	mcp.AddTool(s, &mcp.Tool{Name: "add", Description: "Adds a and b."},
		func(_ context.Context, _ *mcp.CallToolRequest, in addIn) (*mcp.CallToolResult, addOut, error) {
			sum := in.A + in.B
			return text(strconv.FormatFloat(sum, 'f', -1, 64)), addOut{Sum: sum}, nil
		})

	mcp.AddTool(s, &mcp.Tool{Name: "slow", Description: "Waits the given seconds, or until the call is cancelled."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in slowIn) (*mcp.CallToolResult, any, error) {
			timer := time.NewTimer(time.Duration(in.Seconds * float64(time.Second)))
			defer timer.Stop()
			if err := appendEvent("started slow"); err != nil {
				fmt.Fprintf(os.Stderr, "testmcp: %v\n", err)
			}
			select {
			case <-timer.C:
				return text("slept"), nil, nil
			case <-ctx.Done():
				if err := appendEvent("cancelled slow"); err != nil {
					fmt.Fprintf(os.Stderr, "testmcp: %v\n", err)
				}
				return nil, nil, ctx.Err()
			}
		})

	mcp.AddTool(s, &mcp.Tool{Name: "crash", Description: "Exits the server at once with status 3, without answering."},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			os.Exit(3)
			return nil, nil, nil
		})

	mcp.AddTool(s, &mcp.Tool{Name: "progress", Description: "Sends steps progress notifications (when the call has a progress token), then answers."},
		func(ctx context.Context, req *mcp.CallToolRequest, in progressIn) (*mcp.CallToolResult, any, error) {
			if in.Steps < 1 || in.Steps > maxSteps {
				return nil, nil, fmt.Errorf("steps is %d; it must be 1 to %d", in.Steps, maxSteps)
			}
			if token := req.Params.GetProgressToken(); token != nil {
				for i := 1; i <= in.Steps; i++ {
					err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
						ProgressToken: token, Progress: float64(i), Total: float64(in.Steps),
						Message: fmt.Sprintf("step %d", i),
					})
					if err != nil {
						return nil, nil, fmt.Errorf("progress notification %d of %d: %w", i, in.Steps, err)
					}
				}
			}
			return text(fmt.Sprintf("done %d", in.Steps)), nil, nil
		})

	mcp.AddTool(s, &mcp.Tool{Name: "fetch", Description: "GETs a URL through HTTP_PROXY (when set) and returns \"<status> <body>\"."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in fetchIn) (*mcp.CallToolResult, any, error) {
			status, body, err := fetch(ctx, in.URL)
			if err != nil {
				return nil, nil, err
			}
			return text(fmt.Sprintf("%d %s", status, body)), nil, nil
		})

	mcp.AddTool(s, &mcp.Tool{Name: "whoami", Description: "Returns this server's PID, its parent's PID and TESTMCP_MARKER."},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, whoamiOut, error) {
			return nil, whoamiOut{PID: os.Getpid(), PPID: os.Getppid(), Marker: os.Getenv(markerEnv)}, nil
		})

	mcp.AddTool(s, &mcp.Tool{Name: "env", Description: "Returns the value of an environment variable (empty when unset)."},
		func(_ context.Context, _ *mcp.CallToolRequest, in envIn) (*mcp.CallToolResult, any, error) {
			return text(os.Getenv(in.Name)), nil, nil
		})

	// confirm asks the user "Proceed?" through elicitation (as an input request: the SDK turns
	// it into elicitation/create for clients of older protocol versions) and reports the answer.
	mcp.AddTool(s, &mcp.Tool{Name: "confirm", Description: "Asks the user whether to proceed."},
		func(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
			resp, ok := req.Params.InputResponses["confirm"].(*mcp.ElicitResult)
			if !ok {
				return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{"confirm": &mcp.ElicitParams{
					Message: "Proceed?",
					RequestedSchema: map[string]any{"type": "object",
						"properties": map[string]any{"ok": map[string]any{"type": "boolean"}}, "required": []any{"ok"}},
				}}}, nil, nil
			}
			if yes, _ := resp.Content["ok"].(bool); resp.Action == "accept" && yes {
				return text("confirmed"), nil, nil
			}
			return text("declined: " + resp.Action), nil, nil
		})

	// grow adds a tool "grown": the SDK tells the client that the tool list changed.
	mcp.AddTool(s, &mcp.Tool{Name: "grow", Description: "Adds the tool grown."},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			mcp.AddTool(s, &mcp.Tool{Name: "grown", Description: "Exists after grow."},
				func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
					return text("grown"), nil, nil
				})
			return text("grew"), nil, nil
		})
	return s
}

// fetch GETs rawURL through the proxy the environment names and returns the status and up to
// fetchLimit bytes of the body. A proxy's refusal of a CONNECT is an error that carries the
// proxy's status and body (airlock explains a denial there).
func fetch(ctx context.Context, rawURL string) (int, string, error) {
	client := &http.Client{
		Timeout: fetchTimeout,
		Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment,
			OnProxyConnectResponse: func(_ context.Context, proxy *url.URL, req *http.Request, res *http.Response) error {
				if res.StatusCode == http.StatusOK {
					return nil
				}
				body, _ := io.ReadAll(io.LimitReader(res.Body, fetchLimit))
				return fmt.Errorf("proxy %s answered CONNECT %s with %q: %s", proxy.Redacted(), req.Host, res.Status, body)
			},
		},
	}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, "", fmt.Errorf("fetch %q: %w", rawURL, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("fetch: %w", err) // *url.Error names the method and URL
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, fetchLimit))
	if err != nil {
		return 0, "", fmt.Errorf("fetch %s: reading the body after %q: %w", rawURL, resp.Status, err)
	}
	return resp.StatusCode, string(body), nil
}
