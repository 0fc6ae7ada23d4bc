package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/airlock-sh/airlock/internal/config"
	"github.com/airlock-sh/airlock/internal/isolate"
	"github.com/airlock-sh/airlock/internal/policy"
	"github.com/airlock-sh/airlock/internal/sandbox"
)

const runLong = `Run a command — typically an MCP server — in its own user, network, mount and PID
namespaces, where its only way out is airlock: an HTTP proxy (127.0.0.1:3128), SOCKS5
(127.0.0.1:1080) and DNS (127.0.0.1:53) inside the sandbox, served from outside under the
policy. Everything else is unreachable: the host's loopback and LAN, cloud metadata, any
destination not granted, DNS for names not granted (never forwarded upstream), raw and UDP
sockets, unix sockets, other processes.

Use it as the "command" of an MCP client's server entry: stdin, stdout and stderr pass
through untouched, the exit status is the command's, SIGINT/SIGTERM are forwarded, and the
command dies when airlock dies.

The command sees HTTP_PROXY, HTTPS_PROXY, ALL_PROXY (socks5h://127.0.0.1:1080), their
lower-case forms, NO_PROXY="" and NODE_USE_ENV_PROXY=1, and otherwise the environment airlock
was given (plus servers.NAME.env with --config). Programs that ignore proxy variables get
no network at all.

The policy is --config F --server NAME (servers.NAME.network; the command defaults to
servers.NAME.command and args; the server must be approved with 'airlock approve'), or the
--allow/--deny/--profile flags. With none of them
the command gets no network. See 'airlock check --help' for the entry syntax, and
'airlock check' to try a policy before running anything.

When namespaces are unavailable (a container without privileges, Ubuntu's AppArmor
restriction on unprivileged user namespaces), airlock refuses to start, says why and what to
change. It never runs the command unisolated.`

const runExample = `  # In claude_desktop_config.json: "command": "airlock", "args": [...these...]
  airlock run --allow api.github.com -- npx -y @modelcontextprotocol/server-github

  # A server from a config file (its command, env and network policy):
  airlock run --config airlock.yaml --server homeassistant

  # A ToolHive permission profile, and audit events to a file:
  airlock run --profile github-profile.json --log /tmp/airlock-github.jsonl -- npx -y @modelcontextprotocol/server-github

  # What would run, under which policy:
  airlock run --dry-run --config airlock.yaml --server github`

type runFlags struct {
	configPath, server string
	profile            string
	policyFlags
	allowUnix []string
	logPath   string
	dryRun    bool
	mode      string
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:     "run [flags] -- CMD [ARGS...]",
		Short:   "Run a command (an MCP server) whose only way to the network is airlock",
		Long:    runLong,
		Example: runExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRun(cmd.Context(), &f, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.SetInterspersed(false) // the first non-flag argument starts the command: its flags are its own
	fl.StringVar(&f.configPath, "config", "", "airlock config file")
	fl.StringVar(&f.server, "server", "", "run servers.NAME of --config under its network policy")
	fl.StringVar(&f.profile, "profile", "", "import the network policy of a ToolHive permission profile (JSON)")
	f.register(fl, "")
	fl.StringArrayVar(&f.allowUnix, "allow-unix-socket", nil, "allow unix sockets (PATH; repeatable) — see the note in docs/run.md: this opens every unix socket the user can reach")
	fl.StringVar(&f.logPath, "log", "", "append audit events (JSON lines) to this file (default: standard error)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the command, environment additions and effective policy, and exit")
	fl.StringVar(&f.mode, "mode", "proxy", "how the command reaches airlock: proxy (proxy variables; transparent mode is not built yet)")
	return cmd
}

// runPlan is what 'airlock run' will do, as --dry-run prints it.
type runPlan struct {
	Server  string      `json:"server"`
	Command []string    `json:"command"`
	Env     []string    `json:"env_added"`
	Policy  policy.Spec `json:"policy"`
	Mode    string      `json:"mode"`

	env []string // the whole environment of the command
	pol *policy.Policy
}

func planRun(f *runFlags, args []string) (*runPlan, error) {
	if f.mode != "proxy" {
		if f.mode == "transparent" {
			return nil, usageErr("--mode transparent is not built yet; use --mode proxy (the default)")
		}
		return nil, usageErr("--mode %q: the modes are proxy and transparent", f.mode)
	}
	plan := &runPlan{Server: "run", Mode: f.mode, Command: args}
	var extra []string // the server's environment, from the config
	flagPolicy := f.given() || f.profile != ""
	switch {
	case f.server != "" && f.configPath == "":
		return nil, usageErr("--server needs --config")
	case f.configPath != "":
		if flagPolicy {
			return nil, usageErr("--config cannot be combined with --allow, --deny, --profile or the --allow-* switches: put the policy in the config file")
		}
		if f.server == "" {
			return nil, usageErr("--config needs --server NAME: which server's policy to run under")
		}
		cf, err := config.Load(f.configPath)
		if err != nil {
			return nil, &exitError{code: exitUsage, msg: err.Error()}
		}
		s, err := cf.Server(f.server)
		if err != nil {
			return nil, &exitError{code: exitUsage, msg: err.Error()}
		}
		if !f.dryRun {
			if err := requireApproved(cf, false, s.Name); err != nil {
				return nil, err
			}
		}
		plan.Server, plan.Policy, plan.pol = s.Name, s.Spec, s.Policy
		if len(args) == 0 {
			plan.Command = s.Argv()
		}
		extra = s.Environ()
	default:
		spec := f.spec()
		if f.profile != "" {
			data, err := os.ReadFile(f.profile)
			if err != nil {
				return nil, usageErr("--profile: %v", err)
			}
			ps, err := config.ParseToolHiveProfile(f.profile, data)
			if err != nil {
				return nil, &exitError{code: exitUsage, msg: err.Error()}
			}
			spec.Allow = append(append([]string{}, spec.Allow...), ps.Allow...)
			spec.Deny = append(append([]string{}, spec.Deny...), ps.Deny...)
			spec.AllowPublicInternet = spec.AllowPublicInternet || ps.AllowPublicInternet
		}
		p, err := policy.Compile(spec)
		if err != nil {
			return nil, &exitError{code: exitUsage, msg: flagEntryErrors(err)}
		}
		plan.Policy, plan.pol = spec, p
	}
	if len(plan.Command) == 0 || plan.Command[0] == "" {
		return nil, usageErr("no command: put it after --, e.g. airlock run --allow api.github.com -- npx -y @modelcontextprotocol/server-github")
	}
	for _, p := range f.allowUnix {
		if !strings.HasPrefix(p, "/") {
			return nil, usageErr("--allow-unix-socket %q: give an absolute path", p)
		}
	}

	plan.Env = isolate.ProxyEnv()
	plan.env = isolate.MergeEnv(os.Environ(), append(extra, plan.Env...)...)
	return plan, nil
}

func runRun(ctx context.Context, f *runFlags, args []string, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	plan, err := planRun(f, args)
	if err != nil {
		return err
	}
	if f.dryRun {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(plan)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sink, closeLog, err := openAuditLog(f.logPath, stderr)
	if err != nil {
		return err
	}
	defer closeLog()

	sigc := make(chan os.Signal, 4)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigc)

	code, err := isolate.Run(ctx, isolate.Workload{
		Name:             plan.Server,
		Policy:           plan.pol,
		Command:          plan.Command,
		Env:              plan.env,
		Stdin:            os.Stdin,
		Stdout:           os.Stdout,
		Stderr:           os.Stderr,
		AllowUnixSockets: f.allowUnix,
		Signals:          sigc,
		Audit:            sink,
		Logger:           log,
	})
	if err != nil {
		var se *sandbox.Error
		if errors.As(err, &se) {
			// Run reports why the sandbox could not be built (step, errno, cause, fix) and never
			// starts the command unisolated; no separate preflight run is needed.
			return &exitError{code: exitRunFailed, msg: "cannot isolate the command, so it was not started: " + err.Error()}
		}
		return &exitError{code: exitRunFailed, msg: fmt.Sprintf("run %s: %v", plan.Command[0], err)}
	}
	if code != 0 {
		return &exitError{code: code, printed: true}
	}
	return nil
}
