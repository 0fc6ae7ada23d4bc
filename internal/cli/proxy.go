package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/config"
	"github.com/airlock-sh/airlock/internal/metrics"
	"github.com/airlock-sh/airlock/internal/policy"
	"github.com/airlock-sh/airlock/internal/proxy"
)

const proxyLong = `Run airlock as an egress proxy: HTTP forward proxying, CONNECT tunnels and SOCKS5,
each request judged under the policy of the client it comes from, every decision audited.

Clients are named in one of three ways:
  --listen-server NAME=ADDR   every connection on ADDR belongs to servers.NAME (best: a
                              process cannot claim another's policy)
  Proxy-Authorization: Basic with user name NAME (SOCKS5: the RFC 1929 user name) on the
                              shared --listen / --socks listeners
  (neither)                   the default policy: --allow/--deny/--allow-* flags, or deny
                              everything when none are given

The policy of each server is servers.NAME.network in --config. SIGHUP or a change to the
config file reloads it; a file that does not load is refused, logged, and the old policies
stay in force. SIGINT/SIGTERM stop accepting and let requests in flight finish (up to 10s).

Refusals answer 403 with the reason and rule in a text/plain body and in the headers
X-Airlock-Reason and X-Airlock-Rule; upstream failures 502, timeouts 504, too many
connections 429, bodies over max_request_size 413. Audit events (one JSON object per line:
one per decision, one per finished connection) go to --log, or standard error.

See 'airlock check --help' for the entry syntax.`

const proxyExample = `  # One policy for everyone on 127.0.0.1:3128:
  airlock proxy --allow api.github.com --allow .githubusercontent.com:443
  curl -x http://127.0.0.1:3128 https://api.github.com/zen

  # Per-server policies from a config file, a SOCKS5 listener and metrics:
  airlock proxy --config examples/airlock.yaml --socks 127.0.0.1:1080 --metrics 127.0.0.1:9128
  curl -x http://github:x@127.0.0.1:3128 https://api.github.com/zen
  curl --socks5-hostname github:x@127.0.0.1:1080 https://api.github.com/zen`

type proxyFlags struct {
	configPath    string
	listen, socks string
	metricsAddr   string
	logPath       string
	listenServer  []string
	socksServer   []string
	policyFlags
	reloadEvery time.Duration
}

func newProxyCmd() *cobra.Command {
	var f proxyFlags
	cmd := &cobra.Command{
		Use:     "proxy [flags]",
		Short:   "Run the egress proxy (HTTP, CONNECT, SOCKS5) with per-client policy, audit and metrics",
		Long:    proxyLong,
		Example: proxyExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runProxy(ctx, &f, cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.configPath, "config", "", "airlock config file: the policies of servers.NAME")
	fl.StringVar(&f.listen, "listen", "127.0.0.1:3128", "HTTP proxy listener (empty: none)")
	fl.StringVar(&f.socks, "socks", "", "SOCKS5 listener, e.g. 127.0.0.1:1080 (empty: none)")
	fl.StringVar(&f.metricsAddr, "metrics", "", "serve Prometheus /metrics on this address (empty: none)")
	fl.StringVar(&f.logPath, "log", "", "append audit events (JSON lines) to this file (default: standard error)")
	fl.StringArrayVar(&f.listenServer, "listen-server", nil, "NAME=ADDR: an HTTP proxy listener whose clients are servers.NAME (repeatable)")
	fl.StringArrayVar(&f.socksServer, "socks-server", nil, "NAME=ADDR: a SOCKS5 listener whose clients are servers.NAME (repeatable)")
	f.register(fl, "default policy: ")
	fl.DurationVar(&f.reloadEvery, "reload-interval", 2*time.Second, "how often to look for a changed --config (0: only on SIGHUP)")
	return cmd
}

// namedAddr is a NAME=ADDR flag value.
type namedAddr struct{ name, addr string }

func parseNamedAddrs(flag string, vals []string) ([]namedAddr, error) {
	var out []namedAddr
	for _, v := range vals {
		name, addr, ok := strings.Cut(v, "=")
		if !ok || name == "" || addr == "" {
			return nil, usageErr("--%s %q: write NAME=ADDR, e.g. --%s github=127.0.0.1:3129", flag, v, flag)
		}
		out = append(out, namedAddr{name, addr})
	}
	return out, nil
}

func runProxy(ctx context.Context, f *proxyFlags, stderr io.Writer) error {
	log := slog.New(slog.NewJSONHandler(stderr, nil))

	var defPolicy *policy.Policy
	if f.given() {
		p, err := policy.Compile(f.spec())
		if err != nil {
			return &exitError{code: exitUsage, msg: flagEntryErrors(err)}
		}
		defPolicy = p
	}
	httpNamed, err := parseNamedAddrs("listen-server", f.listenServer)
	if err != nil {
		return err
	}
	socksNamed, err := parseNamedAddrs("socks-server", f.socksServer)
	if err != nil {
		return err
	}

	var cf *config.File
	if f.configPath != "" {
		if cf, err = config.Load(f.configPath); err != nil {
			return &exitError{code: exitUsage, msg: err.Error()}
		}
	}
	for _, na := range append(append([]namedAddr{}, httpNamed...), socksNamed...) {
		if cf == nil {
			return usageErr("a NAME=ADDR listener needs --config: the name is a server of the config file")
		}
		if _, err := cf.Server(na.name); err != nil {
			return &exitError{code: exitUsage, msg: err.Error()}
		}
	}

	sink, closeLog, err := openAuditLog(f.logPath, stderr)
	if err != nil {
		return err
	}
	defer closeLog()

	opts := proxy.Options{Audit: sink, Logger: log}
	var m *metrics.Proxy
	if f.metricsAddr != "" {
		m = metrics.NewProxy()
		opts.Observer = m
	}
	srv := proxy.New(opts)
	srv.SetPolicies(defPolicy, serverPolicies(cf))

	// Listen on everything first, so a bad address fails before anything is served.
	type listener struct {
		ln     net.Listener
		client string
		socks  bool
	}
	var lns []listener
	closeAll := func() {
		for _, l := range lns {
			l.ln.Close()
		}
	}
	add := func(addr, client string, socks bool) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll()
			return usageErr("listen on %s: %v", addr, err)
		}
		lns = append(lns, listener{ln, client, socks})
		return nil
	}
	if f.listen != "" {
		if err := add(f.listen, "", false); err != nil {
			return err
		}
	}
	if f.socks != "" {
		if err := add(f.socks, "", true); err != nil {
			return err
		}
	}
	for _, na := range httpNamed {
		if err := add(na.addr, na.name, false); err != nil {
			return err
		}
	}
	for _, na := range socksNamed {
		if err := add(na.addr, na.name, true); err != nil {
			return err
		}
	}
	if len(lns) == 0 {
		return usageErr("no listeners: give --listen, --socks or a NAME=ADDR listener")
	}

	var wg sync.WaitGroup
	errc := make(chan error, len(lns)+1)
	for _, l := range lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if l.socks {
				err = srv.ServeSOCKS(l.ln, l.client)
			} else {
				err = srv.ServeHTTPProxy(l.ln, l.client)
			}
			if err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serving %s: %w", l.ln.Addr(), err)
			}
		}()
		kind := "http"
		if l.socks {
			kind = "socks5"
		}
		log.Info("listening", "protocol", kind, "addr", l.ln.Addr().String(), "client", l.client)
	}

	var metricsSrv *http.Server
	if m != nil {
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.Handler())
		metricsSrv = &http.Server{Addr: f.metricsAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		mln, err := net.Listen("tcp", f.metricsAddr)
		if err != nil {
			closeAll()
			return usageErr("--metrics: listen on %s: %v", f.metricsAddr, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := metricsSrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serving metrics: %w", err)
			}
		}()
		log.Info("metrics", "addr", mln.Addr().String())
	}

	var reloadDone chan struct{}
	rctx, cancelReload := context.WithCancel(ctx)
	if f.configPath != "" {
		reloadDone = make(chan struct{})
		r := &reloader{path: f.configPath, every: f.reloadEvery, log: log, apply: func(nf *config.File) {
			srv.SetPolicies(defPolicy, serverPolicies(nf))
		}}
		r.last, _ = os.ReadFile(f.configPath)
		go func() {
			defer close(reloadDone)
			r.run(rctx)
		}()
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down", "drain", "10s")
	case runErr = <-errc:
		log.Error("stopping", "error", runErr.Error())
	}
	cancelReload()
	if reloadDone != nil {
		<-reloadDone
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "error", err.Error())
	}
	if metricsSrv != nil {
		_ = metricsSrv.Shutdown(sctx)
	}
	closeAll()
	wg.Wait()
	if runErr != nil {
		return &exitError{code: 1, msg: runErr.Error()}
	}
	return nil
}

func serverPolicies(cf *config.File) map[string]*policy.Policy {
	out := map[string]*policy.Policy{}
	if cf == nil {
		return out
	}
	for name, s := range cf.Servers {
		out[name] = s.Policy
	}
	return out
}

// reloader reloads the config file on SIGHUP and when its content changes. (A change to an
// imported ToolHive profile alone is picked up on SIGHUP.)
type reloader struct {
	path  string
	every time.Duration
	log   *slog.Logger
	apply func(*config.File)
	last  []byte // the content last applied or refused
}

func (r *reloader) run(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var tick <-chan time.Time
	if r.every > 0 {
		t := time.NewTicker(r.every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.reload(true)
		case <-tick:
			r.reload(false)
		}
	}
}

// reload loads the file when forced (SIGHUP) or when its content changed since the last try.
func (r *reloader) reload(force bool) {
	data, err := os.ReadFile(r.path)
	if err != nil {
		r.log.Error("config reload refused; keeping the policies in force", "path", r.path, "error", err.Error())
		return
	}
	if !force && bytes.Equal(data, r.last) {
		return
	}
	r.last = data
	nf, err := config.ParseWithReader(r.path, data, os.ReadFile)
	if err != nil {
		r.log.Error("config reload refused; keeping the policies in force", "path", r.path, "error", err.Error())
		return
	}
	r.apply(nf)
	r.log.Info("config reloaded", "path", r.path, "servers", len(nf.Servers))
}

// openAuditLog returns the audit sink of --log: the file at path, opened for appending (0600),
// or stderr when path is empty; closeFn releases the file.
func openAuditLog(path string, stderr io.Writer) (sink audit.Sink, closeFn func(), err error) {
	if path == "" {
		return audit.NewJSONWriter(stderr), func() {}, nil
	}
	lf, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, usageErr("--log: %v", err)
	}
	return audit.NewJSONWriter(lf), func() { lf.Close() }, nil
}
