// Package gateway is `airlock gateway`: an MCP server (stdio or streamable HTTP, on the official
// Go SDK) that starts the configured MCP servers, each in airlock's sandbox under its own
// policy, offers their tools under a prefix (github__search_issues) and forwards calls,
// progress, cancellation, changes of their tool lists and their questions to the user
// (elicitation). It adds three things of its own:
//
//   - run_code: code mode (internal/codemode) in which every downstream tool is an async
//     function (await github.search_issues({...})) and every approved binding is present;
//   - list_permissions and the airlock://permissions resource: what every server, binding and
//     code mode may reach, as declared;
//   - runtime approval: a refused destination that the user may grant (egress.Guard.Consult)
//     is put to the user through MCP elicitation — allow once, allow always (recorded), deny.
//
// Refusals and failures of downstream servers come back as tool errors with readable text;
// the client's connection never dies of them.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/binding"
	"github.com/airlock-sh/airlock/internal/codemode"
	"github.com/airlock-sh/airlock/internal/egress"
	"github.com/airlock-sh/airlock/internal/policy"
)

// Server is one downstream MCP server.
type Server struct {
	// Name prefixes its tools (NAME__tool) and is its object in code mode (NAME with every
	// character that cannot be in a JavaScript identifier replaced by _).
	Name string
	// Command and its arguments; Env is its whole environment (airlock adds the proxy
	// variables).
	Command []string
	Env     []string
	// Spec is the network policy as written (shown by list_permissions); Policy is it compiled.
	Spec   policy.Spec
	Policy *policy.Policy
}

// Unavailable is a server or binding of the config that the gateway does not offer, and why
// (for example that it is not approved, and the command that approves it).
type Unavailable struct {
	Kind   string `json:"kind"` // "server" or "binding"
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Grants remembers the destinations the user allowed for good ("Allow always").
type Grants interface {
	// Granted reports whether scope ("server/NAME" or "codemode") may reach host:port.
	Granted(scope, host string, port uint16) bool
	// Grant records it; the error is reported to the user.
	Grant(scope, host string, port uint16) error
}

// Options configure a Gateway.
type Options struct {
	Servers []Server
	// Bindings are the approved bindings (nil: none); Declarations describe them for
	// run_code's description and list_permissions.
	Bindings     *binding.Manager
	Declarations []*binding.Declaration
	// CodeSpec is code mode's fetch policy as written; CodePolicy is it compiled.
	CodeSpec   policy.Spec
	CodePolicy *policy.Policy
	// Limits bound each run_code run (zero fields: codemode's defaults).
	Limits codemode.Limits
	// Unavailable lists what the config declares but the gateway does not offer.
	Unavailable []Unavailable
	// Grants, when not nil, enables "Allow always" and answers for destinations granted before.
	Grants Grants
	// Ask enables runtime approval through elicitation (when the client supports it).
	Ask bool
	// AskTimeout bounds how long a question waits for the user; zero means 2 minutes.
	AskTimeout time.Duration

	// Audit receives every decision and call; nil drops them.
	Audit audit.Sink
	// Logger gets operational messages; nil means slog.Default().
	Logger *slog.Logger
	// Stderr receives the servers' standard error; nil means /dev/null.
	Stderr *os.File
	// StartTimeout bounds starting a server and listing its tools; zero means 60 s.
	StartTimeout time.Duration
	// CallTimeout bounds one forwarded tool call; zero means 10 minutes.
	CallTimeout time.Duration

	// Version is reported to clients as the server's version.
	Version string
}

// Names of the gateway's own tools and resource.
const (
	ToolRunCode         = "run_code"
	ToolListPermissions = "list_permissions"
	PermissionsURI      = "airlock://permissions"
	// Separator joins a server's name and its tool's name.
	Separator = "__"
)

// Gateway is the MCP server. Create it with New, serve it with Serve (stdio or any transport)
// or HTTPHandler, and Close it to stop every server.
type Gateway struct {
	opts   Options
	log    *slog.Logger
	srv    *mcp.Server
	runner *codemode.Runner
	guard  *egress.Guard

	servers   map[string]*downstream
	order     []string
	codeNames map[string]string // code-mode object -> server

	toolsMu  sync.Mutex          // serialises syncTools
	offered  map[string]*offered // gateway tool name -> downstream tool
	runDesc  string              // run_code's current description
	ensureMu sync.Mutex

	approvals *approvals
	progress  progressMap

	closeOnce sync.Once
	closed    chan struct{}
}

// New builds the gateway; it starts nothing (servers start on first use).
func New(ctx context.Context, opts Options) (*Gateway, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Audit == nil {
		opts.Audit = audit.Discard
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.CallTimeout == 0 {
		opts.CallTimeout = 10 * time.Minute
	}
	if opts.AskTimeout == 0 {
		opts.AskTimeout = 2 * time.Minute
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	g := &Gateway{
		opts:    opts,
		log:     opts.Logger,
		servers: map[string]*downstream{},
		offered: map[string]*offered{},
		closed:  make(chan struct{}),
	}
	g.approvals = newApprovals(g)
	g.progress.m = map[string]progressTarget{}
	for _, s := range opts.Servers {
		if _, dup := g.servers[s.Name]; dup {
			return nil, fmt.Errorf("gateway: server %q is configured twice", s.Name)
		}
		if err := checkServerName(s.Name); err != nil {
			return nil, err
		}
		g.servers[s.Name] = newDownstream(g, s)
		g.order = append(g.order, s.Name)
	}
	slices.Sort(g.order)
	g.pickCodeNames()

	g.guard = egress.New(opts.CodePolicy)
	g.guard.Audit = opts.Audit
	g.guard.Server = "codemode"
	g.guard.Consult = g.approvals.consultFor(scopeCodemode, nil)
	var bindings codemode.Bindings = &codeBindings{g: g}
	runner, err := codemode.NewRunner(ctx, codemode.Options{Guard: g.guard, Bindings: bindings, Limits: opts.Limits, Audit: opts.Audit})
	if err != nil {
		return nil, fmt.Errorf("gateway: code mode: %w", err)
	}
	g.runner = runner

	g.srv = mcp.NewServer(&mcp.Implementation{Name: "airlock-gateway", Title: "airlock gateway", Version: opts.Version},
		&mcp.ServerOptions{
			Instructions: instructions,
			Logger:       opts.Logger,
			HasTools:     true,
			HasResources: true,
		})
	g.srv.AddReceivingMiddleware(g.middleware)
	g.addOwnTools()
	return g, nil
}

// instructions are the server's instructions to the client's model.
const instructions = `airlock gateway: the tools of several MCP servers (named SERVER__TOOL), each running isolated with only the network it was granted, plus run_code, which runs JavaScript/TypeScript that can call all of those tools and the approved device bindings in one go, and list_permissions, which says what each may reach. Prefer run_code when a task needs several calls or processing of results.`

// Server returns the MCP server, for transports other than Serve's.
func (g *Gateway) Server() *mcp.Server { return g.srv }

// Serve serves one MCP session over t (for stdio: &mcp.StdioTransport{}) until the client
// disconnects or ctx is done.
func (g *Gateway) Serve(ctx context.Context, t mcp.Transport) error {
	err := g.srv.Run(ctx, t)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// Close stops every server (closing its stdin, then killing its sandbox after a grace period)
// and the code-mode worker pool. It is safe to call more than once.
func (g *Gateway) Close() error {
	g.closeOnce.Do(func() {
		close(g.closed)
		var wg sync.WaitGroup
		for _, d := range g.servers {
			wg.Add(1)
			go func() { defer wg.Done(); d.stop() }()
		}
		wg.Wait()
		g.approvals.close()
		if g.runner != nil {
			g.runner.Close()
		}
	})
	return nil
}

// isClosed reports whether Close was called.
func (g *Gateway) isClosed() bool {
	select {
	case <-g.closed:
		return true
	default:
		return false
	}
}

// middleware makes sure the servers' tools are known before a client lists or calls tools.
func (g *Gateway) middleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "tools/list":
			g.ensureAll(ctx)
		case "tools/call":
			// A client may call a tool it listed in an earlier session, before listing now.
			if p, ok := req.GetParams().(*mcp.CallToolParamsRaw); ok {
				if res := g.ensureTool(ctx, p.Name); res != nil {
					return res, nil // a tool error that says why, not "unknown tool"
				}
			}
		}
		return next(ctx, method, req)
	}
}

// ensureAll starts every server that is not running (in parallel, each bounded by
// StartTimeout); each start brings the offered tools up to date. A server that cannot start is
// left out, with its error logged and shown by list_permissions.
func (g *Gateway) ensureAll(ctx context.Context) {
	g.ensureMu.Lock()
	defer g.ensureMu.Unlock()
	var wg sync.WaitGroup
	for _, name := range g.order {
		d := g.servers[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.session(ctx); err != nil {
				g.log.Warn("server not available", "server", name, "error", err.Error())
			}
		}()
	}
	wg.Wait()
}

// ensureTool starts the server of a SERVER__TOOL name that is not offered yet. When that
// server cannot start, it returns the tool error to answer with.
func (g *Gateway) ensureTool(ctx context.Context, name string) *mcp.CallToolResult {
	server, _, ok := strings.Cut(name, Separator)
	if !ok {
		return nil
	}
	g.toolsMu.Lock()
	_, offered := g.offered[name]
	g.toolsMu.Unlock()
	d := g.servers[server]
	if offered || d == nil {
		return nil
	}
	if _, err := d.session(ctx); err != nil && ctx.Err() == nil {
		g.log.Warn("server not available", "server", server, "error", err.Error())
		return toolError("%s is not available: %v", server, err)
	}
	return nil
}
