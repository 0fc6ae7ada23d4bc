// Package isolate runs one workload (an MCP server) the way `airlock run` does: in the sandbox
// of internal/sandbox, with the sandbox's endpoints served by airlock's proxy (HTTP and SOCKS5)
// and DNS filter under the workload's policy. It is what `airlock run` and `airlock gateway`
// share, so a server gets the same isolation from either.
package isolate

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/dnsfilter"
	"github.com/airlock-sh/airlock/internal/egress"
	"github.com/airlock-sh/airlock/internal/policy"
	"github.com/airlock-sh/airlock/internal/proxy"
	"github.com/airlock-sh/airlock/internal/sandbox"
)

// Workload is one command and the policy it runs under.
type Workload struct {
	// Name names the workload in audit events and logs ("server" of each event).
	Name string
	// Policy is what the workload may reach; nil means nothing.
	Policy *policy.Policy
	// Command is the program and its arguments; Command[0] is looked up in Env's PATH.
	Command []string
	// Env is the whole environment of the command; ProxyEnv is added to it.
	Env []string
	// Dir is the working directory; empty means airlock's.
	Dir string
	// Stdin, Stdout and Stderr become the command's; nil means /dev/null.
	Stdin, Stdout, Stderr *os.File
	// AllowUnixSockets: see sandbox.Spec.
	AllowUnixSockets []string
	// Signals are forwarded to the command (see sandbox.Spec.Signals).
	Signals <-chan os.Signal

	// Audit receives the proxy's and the DNS filter's events; nil drops them.
	Audit audit.Sink
	// Logger gets operational messages; nil means slog.Default().
	Logger *slog.Logger
	// Consult, when set, may allow a refused destination at run time (egress.Guard.Consult).
	Consult func(ctx context.Context, req egress.ApprovalRequest) bool
	// Started, when set, is called once the sandbox's endpoints are served, just before the
	// command starts.
	Started func()
}

// ProxyEnv returns the variables that point a command at the sandbox's endpoints, as
// NAME=VALUE: HTTP_PROXY, HTTPS_PROXY, ALL_PROXY (socks5h), their lower-case forms, an empty
// NO_PROXY and NODE_USE_ENV_PROXY=1.
func ProxyEnv() []string {
	proxyURL := "http://" + sandbox.HTTPProxyAddr
	socksURL := "socks5h://" + sandbox.SOCKSAddr
	return []string{
		"HTTP_PROXY=" + proxyURL, "HTTPS_PROXY=" + proxyURL, "ALL_PROXY=" + socksURL,
		"http_proxy=" + proxyURL, "https_proxy=" + proxyURL, "all_proxy=" + socksURL,
		"NO_PROXY=", "no_proxy=", "NODE_USE_ENV_PROXY=1",
	}
}

// MergeEnv returns base with the NAME=VALUE pairs of extra set, replacing any of the same name;
// later pairs of extra win over earlier ones.
func MergeEnv(base []string, extra ...string) []string {
	names := map[string]bool{}
	for _, kv := range extra {
		names[envName(kv)] = true
	}
	out := make([]string, 0, len(base)+len(extra))
	for _, kv := range base {
		if !names[envName(kv)] {
			out = append(out, kv)
		}
	}
	seen := map[string]int{}
	for _, kv := range extra {
		if i, ok := seen[envName(kv)]; ok {
			out[i] = kv
			continue
		}
		seen[envName(kv)] = len(out)
		out = append(out, kv)
	}
	return out
}

func envName(kv string) string {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i]
		}
	}
	return kv
}

// Run runs w until the command exits or ctx is done (then the sandbox is killed), and returns
// the command's exit status. An error of type *sandbox.Error means the sandbox could not be
// built and the command never ran; it is never run unisolated. When Run returns, the
// endpoints are closed: the command, if anything of it survived, has no network.
func Run(ctx context.Context, w Workload) (int, error) {
	if len(w.Command) == 0 || w.Command[0] == "" {
		return -1, errors.New("isolate: no command")
	}
	log := w.Logger
	if log == nil {
		log = slog.Default()
	}
	sink := w.Audit
	if sink == nil {
		sink = audit.Discard
	}
	px := proxy.New(proxy.Options{Audit: sink, Logger: log, Consult: consultFor(w.Consult)})
	px.SetPolicies(nil, map[string]*policy.Policy{w.Name: w.Policy})
	pol := w.Policy
	dns := dnsfilter.New(dnsfilter.Options{Policy: func() *policy.Policy { return pol },
		Audit: sink, Server: w.Name, Logger: log})

	var wg sync.WaitGroup
	serve := func(ep sandbox.Endpoints) error {
		for _, fn := range []func() error{
			func() error { return px.ServeHTTPProxy(ep.HTTPProxy, w.Name) },
			func() error { return px.ServeSOCKS(ep.SOCKS, w.Name) },
			func() error { return dns.ServePacket(ep.DNS) },
			func() error { return dns.ServeStream(ep.DNSTCP) },
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := fn(); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, dnsfilter.ErrServerClosed) {
					log.Error("serving the sandbox's endpoint stopped; the command has no network now",
						"server", w.Name, "error", err.Error())
				}
			}()
		}
		if w.Started != nil {
			w.Started()
		}
		return nil
	}

	code, err := sandbox.Run(ctx, sandbox.Spec{
		Path:             w.Command[0],
		Args:             w.Command,
		Env:              MergeEnv(w.Env, ProxyEnv()...),
		Dir:              w.Dir,
		Stdin:            w.Stdin,
		Stdout:           w.Stdout,
		Stderr:           w.Stderr,
		AllowUnixSockets: w.AllowUnixSockets,
		Signals:          w.Signals,
	}, serve)

	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = px.Shutdown(sctx)
	_ = dns.Shutdown(sctx)
	wg.Wait()
	return code, err
}

// consultFor adapts a workload's Consult to the proxy's per-client hook.
func consultFor(c func(context.Context, egress.ApprovalRequest) bool) func(context.Context, string, egress.ApprovalRequest) bool {
	if c == nil {
		return nil
	}
	return func(ctx context.Context, _ string, req egress.ApprovalRequest) bool { return c(ctx, req) }
}
