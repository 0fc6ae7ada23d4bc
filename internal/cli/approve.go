package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/airlock-sh/airlock/internal/approval"
	"github.com/airlock-sh/airlock/internal/binding"
	"github.com/airlock-sh/airlock/internal/config"
	"github.com/airlock-sh/airlock/internal/policy"
)

const approveLong = `Show what every binding and server in a config file declares — the network it may
reach, its private-network and localhost opt-ins, its methods and the credential it uses —
and record your approval of exactly that declaration.

An approval is the SHA-256 of the declaration as written (templates, not credential values),
kept next to the config (airlock.yaml -> airlock.approvals.json). 'airlock exec' and
'airlock run --config' refuse a binding or server that was never approved, or whose
declaration changed since, and name this command.

Without --yes, airlock asks before recording. With NAME arguments, only those bindings or
servers are shown and approved.`

const approveExample = `  # Review and approve everything new or changed in a config:
  airlock approve --config ~/.config/airlock/airlock.yaml

  # In a script, after reviewing the file:
  airlock approve --config examples/lg-remote.yaml --yes

  # Only show, record nothing:
  airlock approve --config airlock.yaml --show`

type approveFlags struct {
	configPath string
	yes, show  bool
}

func newApproveCmd() *cobra.Command {
	var f approveFlags
	cmd := &cobra.Command{
		Use:     "approve [--config F] [--yes | --show] [NAME...]",
		Short:   "Review and approve what bindings and servers declare (network, methods, credentials)",
		Long:    approveLong,
		Example: approveExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApprove(&f, args, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.configPath, "config", "", "airlock config file (default: $XDG_CONFIG_HOME/airlock/airlock.yaml)")
	fl.BoolVar(&f.yes, "yes", false, "approve without asking")
	fl.BoolVar(&f.show, "show", false, "only show the declarations and their approval state")
	return cmd
}

// declared is one approvable declaration: a binding or a server.
type declared struct {
	kind, name string
	value      any // what is hashed: the declaration as written
	digest     string
	state      string // approved, new, changed
	refusal    error  // why it may not run (approval.Store.Check's error); nil when approved
}

// serverDeclaration is what a server's approval covers.
type serverDeclaration struct {
	Command         string            `json:"command"`
	Args            []string          `json:"args"`
	Env             map[string]string `json:"env"`
	ToolHiveProfile string            `json:"toolhive_profile,omitempty"`
	Network         policy.Spec       `json:"network"`
}

func serverDecl(s *config.Server) serverDeclaration {
	return serverDeclaration{Command: s.Command, Args: s.Args, Env: s.Env, ToolHiveProfile: s.ToolHiveProfile, Network: s.Spec}
}

// declarations lists the bindings and servers of cf (bindings first, each sorted by name) with
// their digests and approval state in st.
func declarations(cf *config.File, st *approval.Store) ([]*declared, error) {
	var out []*declared
	add := func(kind, name string, v any) error {
		dg, err := approval.Digest(v)
		if err != nil {
			return fmt.Errorf("hash %s %s: %w", kind, name, err)
		}
		d := &declared{kind: kind, name: name, value: v, digest: dg, state: "approved"}
		if err := st.Check(kind, name, dg); err != nil {
			d.state, d.refusal = "new", err
			var ne *approval.NotApprovedError
			if errors.As(err, &ne) && ne.Changed {
				d.state = "changed"
			}
		}
		out = append(out, d)
		return nil
	}
	for _, n := range sortedKeys(cf.Bindings) {
		if err := add("binding", n, cf.Bindings[n]); err != nil {
			return nil, err
		}
	}
	for _, n := range cf.ServerNames() {
		if err := add("server", n, serverDecl(cf.Servers[n])); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// requireApproved returns an error naming 'airlock approve' unless the servers named (and,
// with bindings, every binding of cf) are approved as they are declared now.
func requireApproved(cf *config.File, bindings bool, servers ...string) error {
	st, err := approval.Load(approval.PathFor(cf.Path))
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	all, err := declarations(cf, st)
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	var msgs []string
	for _, d := range all {
		wanted := d.kind == "binding" && bindings || d.kind == "server" && slices.Contains(servers, d.name)
		if wanted && d.refusal != nil {
			msgs = append(msgs, d.refusal.Error())
		}
	}
	if len(msgs) > 0 {
		return &exitError{code: exitUsage, msg: "refusing to start: " + strings.Join(msgs, "\n  ")}
	}
	return nil
}

func runApprove(f *approveFlags, names []string, stdin io.Reader, stdout io.Writer) error {
	var err error
	if f.configPath, err = resolveConfigPath(f.configPath); err != nil {
		return err
	}
	cf, err := config.Load(f.configPath)
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	path := approval.PathFor(cf.Path)
	st, err := approval.Load(path)
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	all, err := declarations(cf, st)
	if err != nil {
		return err
	}
	shown := all
	if len(names) > 0 {
		shown = nil
		for _, n := range names {
			i := slices.IndexFunc(all, func(d *declared) bool { return d.name == n })
			if i < 0 {
				return usageErr("%s declares no binding or server %q", cf.Path, n)
			}
			shown = append(shown, all[i])
		}
	}
	if len(shown) == 0 {
		fmt.Fprintf(stdout, "%s declares no bindings or servers; nothing to approve.\n", cf.Path)
		return nil
	}
	var pending []*declared
	for _, d := range shown {
		writeDeclaration(stdout, d)
		if d.state != "approved" {
			pending = append(pending, d)
		}
	}
	writeGrants(stdout, st)
	if f.show {
		return nil
	}
	if len(pending) == 0 {
		fmt.Fprintln(stdout, "Everything shown is approved as declared; nothing to record.")
		return nil
	}
	if !f.yes {
		fmt.Fprintf(stdout, "Approve %d declaration(s) as shown above? [y/N] ", len(pending))
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(stdout, "\nNothing approved.")
			return &exitError{code: exitDenied}
		}
	}
	now := time.Now().UTC()
	for _, d := range pending {
		if err := st.Approve(d.kind, d.name, d.digest, now); err != nil {
			return &exitError{code: exitRunFailed, msg: fmt.Sprintf("approve %s %s: %v", d.kind, d.name, err)}
		}
	}
	if err := st.Save(); err != nil {
		return &exitError{code: exitRunFailed, msg: fmt.Sprintf("record approvals: %v", err)}
	}
	for _, d := range pending {
		fmt.Fprintf(stdout, "approved %s %s (%s) in %s\n", d.kind, d.name, d.digest, path)
	}
	return nil
}

// writeGrants lists the destinations allowed for good at run time (airlock gateway's "Allow
// always"), which the approvals file keeps apart from the approvals.
func writeGrants(w io.Writer, st *approval.Store) {
	scopes := st.GrantScopes()
	if len(scopes) == 0 {
		return
	}
	fmt.Fprintf(w, "allowed at run time (\"Allow always\"; delete from %s to revoke):\n", st.Path())
	for _, scope := range scopes {
		for _, g := range st.Grants(scope) {
			fmt.Fprintf(w, "  %-24s %s (since %s)\n", scope+":", g, g.GrantedAt.Format(time.DateOnly))
		}
	}
	fmt.Fprintln(w)
}

// writeDeclaration prints one declaration as a readable block.
func writeDeclaration(w io.Writer, d *declared) {
	state := map[string]string{"approved": "approved", "new": "NOT APPROVED", "changed": "CHANGED since approval"}[d.state]
	switch v := d.value.(type) {
	case *binding.Declaration:
		fmt.Fprintf(w, "binding %s (%s) — %s\n", d.name, orDash(v.Type), state)
		if v.Description != "" {
			fmt.Fprintf(w, "  %-11s %s\n", "about:", v.Description)
		}
		fmt.Fprintf(w, "  %-11s %s\n", "credential:", orNone(v.Credential))
		writeNetwork(w, v.Network)
		for i, mn := range sortedKeys(v.Methods) {
			label := ""
			if i == 0 {
				label = "methods:"
			}
			fmt.Fprintf(w, "  %-11s %s\n", label, methodLine(mn, v.Methods[mn]))
		}
	case serverDeclaration:
		fmt.Fprintf(w, "server %s — %s\n", d.name, state)
		fmt.Fprintf(w, "  %-11s %s\n", "command:", strings.Join(append([]string{v.Command}, v.Args...), " "))
		if len(v.Env) > 0 {
			fmt.Fprintf(w, "  %-11s %s\n", "env:", strings.Join(sortedKeys(v.Env), ", "))
		}
		if v.ToolHiveProfile != "" {
			fmt.Fprintf(w, "  %-11s %s\n", "profile:", v.ToolHiveProfile)
		}
		writeNetwork(w, v.Network)
	}
	fmt.Fprintf(w, "  %-11s %s\n\n", "digest:", d.digest)
}

func writeNetwork(w io.Writer, s policy.Spec) {
	reach := "nothing"
	if len(s.Allow) > 0 {
		reach = strings.Join(s.Allow, ", ")
	}
	if s.AllowPublicInternet {
		reach += " + the public internet"
	}
	fmt.Fprintf(w, "  %-11s %s\n", "reaches:", reach)
	if len(s.Deny) > 0 {
		fmt.Fprintf(w, "  %-11s %s\n", "denies:", strings.Join(s.Deny, ", "))
	}
	fmt.Fprintf(w, "  %-11s private IPs: %s · localhost: %s\n", "opt-ins:", yesNo(s.AllowPrivateIPs), yesNo(s.AllowLocalhost))
	var lim []string
	if s.Limits.MaxRequestSize > 0 {
		lim = append(lim, fmt.Sprintf("max_request_size %d B", s.Limits.MaxRequestSize))
	}
	if s.Limits.MaxResponseSize > 0 {
		lim = append(lim, fmt.Sprintf("max_response_size %d B", s.Limits.MaxResponseSize))
	}
	if s.Limits.Timeout > 0 {
		lim = append(lim, "timeout "+s.Limits.Timeout.String())
	}
	if len(lim) > 0 {
		fmt.Fprintf(w, "  %-11s %s\n", "limits:", strings.Join(lim, " · "))
	}
}

func methodLine(name string, m *binding.Method) string {
	var ps []string
	for _, p := range m.Params {
		s := p.Name + ": " + p.Type
		if len(p.Enum) > 0 {
			var vs []string
			for _, e := range p.Enum {
				vs = append(vs, fmt.Sprintf("%v", e))
			}
			s = p.Name + ": " + strings.Join(vs, "|")
		}
		if p.Optional {
			s = strings.Replace(s, ":", "?:", 1)
		}
		ps = append(ps, s)
	}
	line := name + "(" + strings.Join(ps, ", ") + ")"
	if m.Request != nil {
		line += "  " + m.Request.Method + " " + m.Request.URL
	}
	return line
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
