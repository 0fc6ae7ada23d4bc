package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/airlock-sh/airlock/internal/config"
	"github.com/airlock-sh/airlock/internal/egress"
	"github.com/airlock-sh/airlock/internal/host"
	"github.com/airlock-sh/airlock/internal/policy"
)

const checkLong = `Check whether airlock would let a connection to each TARGET through, and why.

TARGET is a URL (http, https, ws, wss), host[:port], [IPv6]:port or an IP literal in
any spelling; '-' reads targets from standard input, one per line. A target without a
scheme or port is checked on port 443. Other URL schemes (file:, gopher:, ...) are denied.

For each target one JSON object is printed:
  {"target":..., "verdict":"allow"|"deny", "reason":..., "rule":..., "host":..., "port":...,
   "addrs":[...], "message":...}
reason is a stable name (allowed_by_entry, public_internet, no_matching_allow,
denied_by_entry, loopback, private, metadata, link_local, unresolvable, ...); rule is the
entry or address rule that decided; addrs are the addresses that were checked.

The policy is, in order of precedence:
  --config F --server NAME   the network policy of servers.NAME in airlock.yaml
  --config F                 the codemode network policy of airlock.yaml
  --allow E ...              exactly these allow entries (plus the switches below)
  (nothing)                  the code-mode default: every public address on any port,
                             every special-purpose address denied
--deny, --allow-private-ips, --allow-localhost and --allow-public-internet add to the
flag policy or to the default.

Entry syntax (allow and deny):
  api.github.com             exactly this host, ports 80 and 443
  api.github.com:443         one port          host:8000-8100   a range
  host:80,443,8080           a list            host:*           every port
  .example.com               example.com and every subdomain (ToolHive/Squid style)
  *.example.com              subdomains only, not example.com itself
  10.0.0.5, [fd00::5]:8080   an IP address     10.0.0.0/8       a CIDR block
  *, :25, *:25               every host (deny lists only)
An allow entry cannot be '*', a top-level domain or a public suffix (.com, *.co.uk).
Deny wins over allow; no matching allow means deny.

Address rules apply to every address a name resolves to, even when the name is
allowed: loopback, private (RFC 1918, ULA), CGNAT, link-local, multicast, reserved,
documentation and other non-global IANA blocks, IPv4 embedded in IPv6 (mapped,
NAT64, 6to4, Teredo), this machine's own addresses and cloud metadata addresses are
denied. If any address of a name is denied, the name is denied (DNS rebinding).
--allow-private-ips and --allow-localhost lift the private and loopback rules; an
explicit IP or CIDR allow entry grants its range, and an exact entry for localhost
(localhost:3000) grants loopback for that name. Metadata addresses are never
reachable through a name.

Exit status: 0 when every target is allowed, 1 when any is denied, 2 on bad flags,
targets, entries or config.`

const checkExample = `  # Is the GitHub API reachable under this allowlist?
  airlock check --allow api.github.com https://api.github.com/repos/x/y

  # The classic SSRF payloads, judged without asking DNS:
  airlock check --offline http://169.254.169.254/latest/meta-data/ http://0x7f.1/ 'http://[::ffff:127.0.0.1]/'

  # Pin resolution like curl --resolve (a name that resolves to a private address is denied):
  airlock check --offline --resolve internal.example.com=10.0.0.7 --allow .example.com https://internal.example.com/

  # The policy of a server in a config file, targets from a file:
  airlock check --config airlock.yaml --server github - < targets.txt`

type checkFlags struct {
	configPath, server string
	policyFlags
	resolve []string
	offline bool
}

func newCheckCmd() *cobra.Command {
	var f checkFlags
	cmd := &cobra.Command{
		Use:     "check [flags] TARGET... | -",
		Short:   "Judge destinations against a policy and explain each verdict",
		Long:    checkLong,
		Example: checkExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(cmd.Context(), &f, args, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.configPath, "config", "", "airlock config file (YAML or JSON)")
	fl.StringVar(&f.server, "server", "", "judge with the network policy of this server in --config")
	f.register(fl, "")
	fl.StringArrayVar(&f.resolve, "resolve", nil, "pin resolution: HOST=IP[,IP...] (repeatable), like curl --resolve")
	fl.BoolVar(&f.offline, "offline", false, "never ask DNS: a name not pinned with --resolve is denied as unresolvable")
	return cmd
}

// checkResult is one line of check's output.
type checkResult struct {
	Target  string   `json:"target"`
	Verdict string   `json:"verdict"`
	Reason  string   `json:"reason"`
	Rule    string   `json:"rule"`
	Host    string   `json:"host"`
	Port    uint16   `json:"port"`
	Addrs   []string `json:"addrs"`
	Message string   `json:"message"`
}

func runCheck(ctx context.Context, f *checkFlags, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	p, err := checkPolicy(f)
	if err != nil {
		return err
	}
	pins, err := parseResolve(f.resolve)
	if err != nil {
		return err
	}
	var next egress.Resolver
	if !f.offline {
		next = net.DefaultResolver
	}
	g := egress.New(p)
	g.Resolver = egress.Chain(pins, next)

	targets := args
	if len(args) == 1 && args[0] == "-" {
		targets, err = readTargets(stdin)
		if err != nil {
			return usageErr("reading targets from standard input: %v", err)
		}
	} else {
		for _, a := range args {
			if a == "-" {
				return usageErr("'-' (read targets from standard input) must be the only target")
			}
		}
	}
	if len(targets) == 0 {
		return usageErr("no targets: name one or more URLs or host[:port], or '-' to read them from standard input\nRun 'airlock check --help' for usage.")
	}

	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	code := exitOK
	for _, raw := range targets {
		res, bad := judge(ctx, g, raw)
		if err := enc.Encode(res); err != nil {
			return &exitError{code: exitUsage, msg: "writing output: " + err.Error()}
		}
		switch {
		case bad != nil:
			fmt.Fprintf(stderr, "airlock: target %s\n", bad)
			code = exitUsage
		case res.Verdict != "allow" && code == exitOK:
			code = exitDenied
		}
	}
	if code != exitOK {
		return &exitError{code: code, printed: true}
	}
	return nil
}

// judge checks one target. A malformed target is denied and also returned as bad.
func judge(ctx context.Context, g *egress.Guard, raw string) (checkResult, error) {
	res := checkResult{Target: raw, Verdict: "deny", Addrs: []string{}}
	t, err := host.ParseTarget(raw)
	if err != nil {
		var te *host.TargetError
		if !errors.As(err, &te) {
			te = &host.TargetError{Input: raw, Code: string(policy.ReasonInvalidTarget), Msg: err.Error()}
		}
		res.Reason, res.Rule, res.Message = te.Code, "target", "blocked "+strconv.Quote(raw)+": "+te.Msg
		switch te.Code {
		case string(policy.ReasonUnsupportedScheme), "ambiguous_url":
			return res, nil // a well-formed target that is denied
		}
		return res, err
	}
	d, r := g.Check(ctx, net.JoinHostPort(t.Host.String(), strconv.Itoa(int(t.Port))))
	res.Reason, res.Rule = string(d.Reason), d.Rule
	res.Host, res.Port = t.Host.String(), t.Port
	for _, a := range r.Addrs {
		res.Addrs = append(res.Addrs, a.String())
	}
	res.Message = d.Message(policy.HostPort(t.Host, t.Port))
	if d.Allow {
		res.Verdict = "allow"
	}
	return res, nil
}

func readTargets(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		out = append(out, line)
	}
	return out, sc.Err()
}

// checkPolicy builds the policy check judges with, from --config/--server or the flags.
func checkPolicy(f *checkFlags) (*policy.Policy, error) {
	if f.server != "" && f.configPath == "" {
		return nil, usageErr("--server needs --config: the server's policy is read from a config file")
	}
	if f.configPath != "" {
		if f.given() {
			return nil, usageErr("--config cannot be combined with --allow, --deny or the --allow-* switches: put the entries in the config file, or drop --config")
		}
		cf, err := config.Load(f.configPath)
		if err != nil {
			return nil, &exitError{code: exitUsage, msg: err.Error()}
		}
		if f.server == "" {
			return cf.Codemode.Policy, nil
		}
		s, err := cf.Server(f.server)
		if err != nil {
			return nil, &exitError{code: exitUsage, msg: err.Error()}
		}
		return s.Policy, nil
	}
	spec := f.spec()
	spec.AllowPublicInternet = spec.AllowPublicInternet || len(f.allow) == 0 // the code-mode default
	p, err := policy.Compile(spec)
	if err != nil {
		return nil, &exitError{code: exitUsage, msg: flagEntryErrors(err)}
	}
	return p, nil
}

// flagEntryErrors rewrites entry errors to name the flag they came from.
func flagEntryErrors(err error) string {
	var lines []string
	for _, e := range unwrapJoined(err) {
		var ee *policy.EntryError
		if errors.As(e, &ee) {
			lines = append(lines, fmt.Sprintf("--%s %q (entry %d): %s", ee.List, ee.Entry, ee.Index+1, strings.TrimPrefix(ee.Error(), ee.List.String()+" entry "+strconv.Quote(ee.Entry)+": ")))
			continue
		}
		lines = append(lines, e.Error())
	}
	return strings.Join(lines, "\nairlock: ")
}

func unwrapJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// parseResolve parses --resolve HOST=IP[,IP...] pins.
func parseResolve(pins []string) (egress.StaticResolver, error) {
	out := egress.StaticResolver{}
	for _, pin := range pins {
		name, ips, ok := strings.Cut(pin, "=")
		if !ok || name == "" || ips == "" {
			return nil, usageErr("--resolve %q: write HOST=IP[,IP...], e.g. --resolve api.example.com=93.184.216.34", pin)
		}
		h, err := host.Parse(name)
		if err != nil {
			return nil, usageErr("--resolve %q: %v", pin, err)
		}
		if h.IsIP() {
			return nil, usageErr("--resolve %q: %s is already an IP address; pin names only", pin, name)
		}
		for _, s := range strings.Split(ips, ",") {
			a, err := netip.ParseAddr(strings.Trim(strings.TrimSpace(s), "[]"))
			if err != nil {
				return nil, usageErr("--resolve %q: %q is not an IP address", pin, s)
			}
			if a.Zone() != "" {
				return nil, usageErr("--resolve %q: %q has a zone; zones are not allowed", pin, s)
			}
			out[h.Name] = append(out[h.Name], a)
		}
	}
	return out, nil
}
