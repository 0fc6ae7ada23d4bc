package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/binding"
	"github.com/airlock-sh/airlock/internal/codemode"
	"github.com/airlock-sh/airlock/internal/config"
	"github.com/airlock-sh/airlock/internal/egress"
	"github.com/airlock-sh/airlock/internal/policy"
)

const execLong = `Run agent-written JavaScript or TypeScript once, in code mode: in a separate process
with no network of its own (an empty network namespace), under CPU, memory and wall-clock
limits. Top-level await and return work; the returned value is the result.

Inside, the code has console, fetch and one object per binding of --config, and nothing
else: no require, no filesystem, no environment, no timers that outlive the run.

  fetch     is executed by airlock under the code-mode policy (codemode.network in the
            config, or the --allow/--deny/--allow-* flags; default: the public internet
            only). A refused request throws an Error that says why:
            "Network request blocked: Private IP access is not allowed (192.168.1.100)".
  bindings  are trusted clients on this side (an LG TV remote, a Hue bridge, Home
            Assistant...): await lgRemote.setVolume(20). Only declared methods exist, their
            arguments are checked against the declared types, and each binding's requests
            are held to the binding's own declared network policy. Credentials
            ('airlock secret') stay here; the code never sees them. Every binding must be
            approved first ('airlock approve').

Console output goes to standard error, the result as JSON to standard output. Exit status:
0 when the code returned, 1 when it threw (the message names the line in your code) or hit
a limit, 2 for usage and config errors, 125 when airlock itself failed.`

const execExample = `  # A script file (TypeScript is fine):
  airlock exec script.ts

  # From standard input:
  echo 'const r = await fetch("https://api.github.com/zen"); return r.text()' | airlock exec -

  # With the bindings of a config (approve them once first):
  airlock approve --config examples/lg-remote.yaml
  echo 'await lgRemote.setVolume(20); return lgRemote.getStatus()' | airlock exec --config examples/lg-remote.yaml -`

type execFlags struct {
	configPath string
	policyFlags
	limitFlags
	logPath  string
	showJSON bool
}

// limitFlags are the code-mode limits of a run (exec, and run_code in the gateway).
type limitFlags struct {
	timeout, cpu time.Duration
	memory       string
}

func (l *limitFlags) register(fl *pflag.FlagSet, what string) {
	fl.DurationVar(&l.timeout, "timeout", 30*time.Second, what+"wall-clock limit of the run")
	fl.DurationVar(&l.cpu, "cpu", 10*time.Second, what+"CPU-time limit of the run")
	fl.StringVar(&l.memory, "memory", "256MiB", what+"memory limit of the run (e.g. 64MiB, 1GiB)")
}

// limits checks the flags and returns them as codemode.Limits.
func (l *limitFlags) limits() (codemode.Limits, error) {
	mem, err := config.ParseSize(l.memory)
	if err != nil || mem <= 0 {
		return codemode.Limits{}, usageErr("--memory %q: give a size such as 64MiB or 1GiB", l.memory)
	}
	if l.timeout <= 0 || l.cpu <= 0 {
		return codemode.Limits{}, usageErr("--timeout and --cpu must be positive durations (e.g. 30s)")
	}
	return codemode.Limits{Wall: l.timeout, CPU: l.cpu, Memory: mem}, nil
}

func newExecCmd() *cobra.Command {
	var f execFlags
	cmd := &cobra.Command{
		Use:     "exec [--config F] FILE|-",
		Short:   "Run agent-written JS/TS with no network of its own, calling fetch and approved bindings",
		Long:    execLong,
		Example: execExample,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExec(cmd.Context(), &f, args[0], cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.configPath, "config", "", "airlock config file: codemode.network and bindings")
	f.policyFlags.register(fl, "fetch policy: ")
	f.limitFlags.register(fl, "")
	fl.StringVar(&f.logPath, "log", "", "append audit events (JSON lines) to this file (default: none)")
	return cmd
}

func runExec(ctx context.Context, f *execFlags, file string, stdin io.Reader, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	limits, err := f.limits()
	if err != nil {
		return err
	}
	src, err := readSource(file, stdin)
	if err != nil {
		return err
	}

	codePolicy := config.DefaultCodemodeSpec()
	var cf *config.File
	if f.configPath != "" {
		if cf, err = config.Load(f.configPath); err != nil {
			return &exitError{code: exitUsage, msg: err.Error()}
		}
		if f.given() {
			return usageErr("--config cannot be combined with --allow, --deny or the --allow-* switches: put the fetch policy in the config's codemode.network")
		}
		codePolicy = cf.Codemode.Spec
		if err := requireApproved(cf, true); err != nil {
			return err
		}
	} else if f.given() {
		codePolicy = f.spec()
	}
	pol, err := policy.Compile(codePolicy)
	if err != nil {
		return &exitError{code: exitUsage, msg: flagEntryErrors(err)}
	}

	var sink audit.Sink = audit.Discard
	if f.logPath != "" {
		s, closeLog, err := openAuditLog(f.logPath, stderr)
		if err != nil {
			return err
		}
		defer closeLog()
		sink = s
	}

	guard := egress.New(pol)
	guard.Audit = sink
	guard.Server = "codemode"

	opts := codemode.Options{
		Guard:  guard,
		Audit:  sink,
		Limits: limits,
	}
	if cf != nil && len(cf.Bindings) > 0 {
		m := binding.NewManager(binding.Options{Credentials: &lazySecrets{}, Audit: sink})
		defer m.Close()
		for _, n := range sortedKeys(cf.Bindings) {
			if err := m.Declare(cf.Bindings[n]); err != nil {
				return &exitError{code: exitUsage, msg: fmt.Sprintf("binding %s: %v", n, err)}
			}
		}
		opts.Bindings = m
	}

	res, err := codemode.RunOnce(ctx, opts, src)
	if err != nil {
		return &exitError{code: exitRunFailed, msg: "code mode: " + err.Error()}
	}
	for _, l := range res.Console {
		fmt.Fprintln(stderr, l.Text)
	}
	if res.Dropped > 0 {
		fmt.Fprintf(stderr, "airlock: %d bytes of console output dropped (over the output limit)\n", res.Dropped)
	}
	if res.Error != nil {
		return &exitError{code: exitDenied, msg: res.Error.Error()}
	}
	out := res.Value
	if len(out) == 0 {
		out = json.RawMessage("null")
	}
	fmt.Fprintf(stdout, "%s\n", out)
	return nil
}

// readSource reads the code from file, or from stdin when file is "-".
func readSource(file string, stdin io.Reader) (codemode.Source, error) {
	const maxSource = 4 << 20
	var r io.Reader
	name := file
	if file == "-" {
		r, name = stdin, "<stdin>"
	} else {
		fh, err := os.Open(file)
		if err != nil {
			return codemode.Source{}, usageErr("%v", err)
		}
		defer fh.Close()
		r, name = fh, filepath.Base(file)
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSource+1))
	if err != nil {
		return codemode.Source{}, usageErr("read %s: %v", name, err)
	}
	if len(b) > maxSource {
		return codemode.Source{}, usageErr("%s is larger than %d MiB; code mode runs scripts, not bundles", name, maxSource>>20)
	}
	if strings.TrimSpace(string(b)) == "" {
		return codemode.Source{}, usageErr("%s is empty: nothing to run", name)
	}
	return codemode.Source{Name: name, Code: string(b)}, nil
}

// lazySecrets opens the credential store on first use, so that code without credentialed
// bindings never needs a key.
type lazySecrets struct {
	once sync.Once
	src  binding.CredentialSource
	err  error
}

func (l *lazySecrets) Credential(name string) (binding.Credential, error) {
	l.once.Do(func() { l.src, l.err = openCredentialSource() })
	if l.err != nil {
		return binding.Credential{}, l.err
	}
	if l.src == nil {
		return binding.Credential{}, errors.New("no credential store")
	}
	return l.src.Credential(name)
}
