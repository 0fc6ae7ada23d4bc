package cli

import (
	"github.com/spf13/pflag"

	"github.com/airlock-sh/airlock/internal/policy"
)

// policyFlags are the flags that write a policy on the command line, shared by check, proxy
// and run so that the three spell and explain them alike.
type policyFlags struct {
	allow, deny  []string
	allowPrivate bool
	allowLocal   bool
	allowPublic  bool
}

// register adds --allow, --deny and the --allow-* switches to fl; prefix starts each help
// text (e.g. "default policy: ").
func (p *policyFlags) register(fl *pflag.FlagSet, prefix string) {
	fl.StringArrayVar(&p.allow, "allow", nil, prefix+"allow entry (repeatable; see 'airlock check --help' for the syntax)")
	fl.StringArrayVar(&p.deny, "deny", nil, prefix+"deny entry (repeatable)")
	fl.BoolVar(&p.allowPrivate, "allow-private-ips", false, prefix+"grant RFC 1918, ULA and CGNAT addresses and .local names")
	fl.BoolVar(&p.allowLocal, "allow-localhost", false, prefix+"grant loopback, localhost names and this machine's own addresses")
	fl.BoolVar(&p.allowPublic, "allow-public-internet", false, prefix+"allow every public address on any port")
}

// given reports whether any of the flags was set.
func (p *policyFlags) given() bool {
	return len(p.allow)+len(p.deny) > 0 || p.allowPrivate || p.allowLocal || p.allowPublic
}

// spec is the policy the flags write.
func (p *policyFlags) spec() policy.Spec {
	return policy.Spec{Allow: p.allow, Deny: p.deny, AllowPrivateIPs: p.allowPrivate,
		AllowLocalhost: p.allowLocal, AllowPublicInternet: p.allowPublic}
}
