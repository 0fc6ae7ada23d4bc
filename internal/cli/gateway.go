package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/airlock-sh/airlock/internal/approval"
	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/binding"
	"github.com/airlock-sh/airlock/internal/config"
	"github.com/airlock-sh/airlock/internal/gateway"
	"github.com/airlock-sh/airlock/internal/isolate"
)

const gatewayLong = `Serve MCP (over standard input and output, or streamable HTTP with --http) as one server
that stands for all the servers and bindings of a config file:

  - every server of the config runs isolated as under 'airlock run' (its own namespaces,
    only the network its policy grants), started on first use, restarted on the next use
    after it died, stopped when the gateway stops; its tools are offered as SERVER__TOOL,
    with calls, progress, cancellation, tool-list changes and the servers' own
    questions to the user (elicitation) forwarded;
  - run_code runs JavaScript/TypeScript in code mode (as 'airlock exec' does) where every
    server's tools are async functions (await github.search_issues({query: "..."})) and
    every approved binding is present; its description lists them all with TypeScript
    signatures;
  - list_permissions (and the resource airlock://permissions) shows what each server,
    binding and code mode may reach.

Only approved servers and bindings are offered ('airlock approve'); the others are listed
by list_permissions with the reason. When a server or code-mode fetch is refused a
destination that is not explicitly denied (no allow entry matches it, or it is on a
private network) and the client supports MCP elicitation, the user is asked: allow once,
allow always (recorded in the approvals file next to the config), or deny. Cloud metadata,
loopback and the other special-purpose addresses are never offered. --no-ask turns the
questions off (time waiting for an answer counts against run_code's --timeout). Refusals and
server failures come back as tool errors that say why.

With --http the gateway listens on ADDR (a port alone binds 127.0.0.1) at path /mcp and
requires "Authorization: Bearer TOKEN": the token is AIRLOCK_GATEWAY_TOKEN, or a random one
printed on standard error at start. Requests from a browser (with an Origin header) are
refused unless the origin is given with --allow-origin.`

const gatewayExample = `  # Claude Desktop / Claude Code: the one entry for everything in the config
  #   "command": "airlock", "args": ["gateway", "--config", "~/.config/airlock/airlock.yaml"]
  airlock gateway --config ~/.config/airlock/airlock.yaml

  # Over HTTP on 127.0.0.1:8931 with a chosen token:
  AIRLOCK_GATEWAY_TOKEN=$(openssl rand -hex 32) airlock gateway --config airlock.yaml --http 8931`

type gatewayFlags struct {
	configPath string
	httpAddr   string
	origins    []string
	logPath    string
	noAsk      bool
	limitFlags
}

func newGatewayCmd() *cobra.Command {
	var f gatewayFlags
	cmd := &cobra.Command{
		Use:     "gateway [--config F] [--http ADDR]",
		Short:   "Serve MCP: the config's servers isolated, their tools, run_code and list_permissions",
		Long:    gatewayLong,
		Example: gatewayExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGateway(cmd.Context(), &f, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.configPath, "config", "", "airlock config file (default: $XDG_CONFIG_HOME/airlock/airlock.yaml; a leading ~/ is your home)")
	fl.StringVar(&f.httpAddr, "http", "", "serve streamable HTTP on ADDR (host:port, or a port for 127.0.0.1) at /mcp instead of stdio")
	fl.StringArrayVar(&f.origins, "allow-origin", nil, "with --http: a browser origin allowed to call the gateway (scheme://host[:port]; repeatable)")
	fl.StringVar(&f.logPath, "log", "", "append audit events (JSON lines) to this file (default: standard error)")
	fl.BoolVar(&f.noAsk, "no-ask", false, "never ask the user to allow a refused destination; refuse it")
	f.limitFlags.register(fl, "run_code: ")
	return cmd
}

// expandHome turns a leading ~/ into the home directory: MCP clients pass arguments without a
// shell.
func expandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", usageErr("%s: cannot find your home directory (%v); give the path in full", p, err)
	}
	return filepath.Join(home, strings.TrimPrefix(p, "~")), nil
}

// resolveConfigPath is the --config of gateway and approve: a leading ~/ expanded, or the
// default config when none is given.
func resolveConfigPath(p string) (string, error) {
	if p != "" {
		return expandHome(p)
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", usageErr("no --config given, and the default config directory is unknown (%v); name the file with --config", err)
	}
	p = filepath.Join(dir, "airlock", "airlock.yaml")
	if _, err := os.Stat(p); err != nil {
		return "", usageErr("no --config given, and the default config %s does not exist; name the file with --config", p)
	}
	return p, nil
}

func runGateway(ctx context.Context, f *gatewayFlags, stdin io.Reader, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	limits, err := f.limits()
	if err != nil {
		return err
	}
	if len(f.origins) > 0 && f.httpAddr == "" {
		return usageErr("--allow-origin needs --http")
	}
	for _, o := range f.origins {
		if !gateway.ValidOrigin(o) {
			return usageErr("--allow-origin %q: give scheme://host[:port], e.g. http://localhost:5173", o)
		}
	}
	if t := os.Getenv("AIRLOCK_GATEWAY_TOKEN"); f.httpAddr != "" && t != "" && len(t) < 16 {
		return usageErr("AIRLOCK_GATEWAY_TOKEN is shorter than 16 characters; use a long random value (openssl rand -hex 32)")
	}
	if f.configPath, err = resolveConfigPath(f.configPath); err != nil {
		return err
	}
	cf, err := config.Load(f.configPath)
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	st, err := approval.LoadForConfig(cf.Path)
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	decls, err := declarations(cf, st)
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var sink audit.Sink
	var closeLog func()
	if sink, closeLog, err = openAuditLog(f.logPath, stderr); err != nil {
		return err
	}
	defer closeLog()

	opts := gateway.Options{
		CodeSpec:   cf.Codemode.Spec,
		CodePolicy: cf.Codemode.Policy,
		Limits:     limits,
		Grants:     &storeGrants{st: st},
		Ask:        !f.noAsk,
		Audit:      sink,
		Logger:     log,
		Version:    "dev",
	}
	if fh, ok := stderr.(*os.File); ok {
		opts.Stderr = fh
	}
	var manager *binding.Manager
	for _, d := range decls {
		if d.refusal != nil {
			opts.Unavailable = append(opts.Unavailable, gateway.Unavailable{Kind: d.kind, Name: d.name, Reason: d.refusal.Error()})
			fmt.Fprintf(stderr, "airlock gateway: not offering %s %s: %v\n", d.kind, d.name, d.refusal)
			continue
		}
		switch d.kind {
		case "server":
			s := cf.Servers[d.name]
			opts.Servers = append(opts.Servers, gateway.Server{
				Name:    s.Name,
				Command: s.Argv(),
				Env:     isolate.MergeEnv(os.Environ(), s.Environ()...),
				Spec:    s.Spec,
				Policy:  s.Policy,
			})
		case "binding":
			if manager == nil {
				manager = binding.NewManager(binding.Options{Credentials: &lazySecrets{}, Audit: sink})
				defer manager.Close()
			}
			b := cf.Bindings[d.name]
			if err := manager.Declare(b); err != nil {
				return &exitError{code: exitUsage, msg: fmt.Sprintf("binding %s: %v", d.name, err)}
			}
			opts.Declarations = append(opts.Declarations, b)
		}
	}
	opts.Bindings = manager

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	gw, err := gateway.New(ctx, opts)
	if err != nil {
		return &exitError{code: exitRunFailed, msg: err.Error()}
	}
	defer gw.Close()

	if f.httpAddr == "" {
		t := &mcp.IOTransport{Reader: io.NopCloser(stdin), Writer: nopWriteCloser{stdout}}
		if err := gw.Serve(ctx, t); err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
			return &exitError{code: exitRunFailed, msg: "gateway: " + err.Error()}
		}
		return nil
	}
	return serveGatewayHTTP(ctx, gw, f, stderr)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// serveGatewayHTTP serves the gateway on --http until ctx is done.
func serveGatewayHTTP(ctx context.Context, gw *gateway.Gateway, f *gatewayFlags, stderr io.Writer) error {
	addr := f.httpAddr
	if !strings.Contains(addr, ":") {
		addr = "127.0.0.1:" + addr
	} else if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	token := os.Getenv("AIRLOCK_GATEWAY_TOKEN")
	printed := false
	switch {
	case token == "":
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return &exitError{code: exitRunFailed, msg: "gateway: make a token: " + err.Error()}
		}
		token, printed = hex.EncodeToString(b), true
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return usageErr("--http %s: %v", f.httpAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", gw.HTTPHandler(gateway.HTTPOptions{Token: token, Origins: f.origins}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stderr, "airlock gateway: serving MCP at http://%s/mcp\n", ln.Addr())
	if printed {
		fmt.Fprintf(stderr, "airlock gateway: token %s (send \"Authorization: Bearer %s\"; set AIRLOCK_GATEWAY_TOKEN to choose it)\n", token, token)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	err = srv.Serve(ln)
	wg.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return &exitError{code: exitRunFailed, msg: "gateway: " + err.Error()}
	}
	return nil
}

// storeGrants keeps "Allow always" answers in the approvals file.
type storeGrants struct {
	mu sync.Mutex
	st *approval.Store
}

func (s *storeGrants) Granted(scope, host string, port uint16) bool {
	return s.st.Granted(scope, host, port)
}

func (s *storeGrants) Grant(scope, host string, port uint16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.st.AddGrant(scope, host, port, time.Now()); err != nil {
		return err
	}
	return s.st.Save()
}

func (s *storeGrants) GrantsOf(scope string) []string {
	var out []string
	for _, g := range s.st.Grants(scope) {
		out = append(out, g.String())
	}
	return out
}
