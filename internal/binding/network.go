package binding

import (
	"errors"
	"fmt"
	"strings"

	"github.com/airlock-sh/airlock/internal/policy"
)

// DefaultMaxResponseSize is a binding's max_response_size when its policy sets none.
const DefaultMaxResponseSize int64 = 1 << 20

// sampleHost stands in for a {{credential.KEY}} host when entries are checked before the
// credential is known (192.0.2.0/24 is for documentation).
const sampleHost = "192.0.2.1"

// entryTemplate splits an allow or deny entry that holds a placeholder: it must be exactly
// {{credential.KEY}}, or {{credential.KEY}}:PORTS. ok is false for an entry without one.
func entryTemplate(raw string) (key, rest string, ok bool, err error) {
	if !strings.Contains(raw, "{{") {
		return "", "", false, nil
	}
	t, err := parseTemplate(raw)
	if err != nil {
		return "", "", true, err
	}
	const fix = `an entry may be exactly "{{credential.KEY}}" or "{{credential.KEY}}:PORTS" (the whole host from the credential)`
	if len(t) == 0 || t[0].kind != credRef {
		for _, p := range t {
			if p.kind == paramRef {
				return "", "", true, fmt.Errorf("%s is a parameter; a parameter may never choose what the binding reaches; %s", p, fix)
			}
		}
		return "", "", true, errors.New(fix)
	}
	switch {
	case len(t) == 1:
	case len(t) == 2 && t[1].kind == literal && strings.HasPrefix(t[1].text, ":"):
		rest = t[1].text
	default:
		return "", "", true, errors.New(fix)
	}
	return t[0].text, rest, true, nil
}

// checkNetwork checks the binding's network section: entry templates, then every entry and
// limit with policy.Compile (a template's host replaced by a sample address). It returns the
// sample spec, compiled, for the check of literal URL hosts, and whether any entry is a
// template; a nil policy when the section has problems.
func (c *checker) checkNetwork(spec policy.Spec) (*policy.Policy, bool) {
	bad := len(c.ps.list)
	sample := cloneSpec(spec)
	templated := false
	reported := map[string]bool{} // "allow[0]": has a problem already
	for li, list := range [][]string{sample.Allow, sample.Deny} {
		name := "allow"
		if li == 1 {
			name = "deny"
		}
		for i, raw := range list {
			path := index(join("network", name), i)
			key, rest, ok, err := entryTemplate(raw)
			switch {
			case strings.Contains(raw, "${"):
				c.ps.add(path, "%q: a binding has no env for ${NAME} templates; write the host, or \"{{credential.KEY}}\" for a host kept in the binding's credential", raw)
			case err != nil:
				c.ps.add(path, "%q: %v", raw, err)
			case !ok:
				continue
			case !c.hasCred:
				c.ps.add(path, "%q needs a credential, and the binding has none; add credential: NAME to the binding", raw)
			default:
				templated = true
				c.cred[key] = true
				c.addr[key] = true
				list[i] = sampleHost + rest
				continue
			}
			reported[index(name, i)] = true
			list[i] = sampleHost // compiles: the other entries are still checked
		}
	}
	p, err := policy.Compile(sample)
	for _, e := range flatten(err) {
		var ee *policy.EntryError
		if errors.As(e, &ee) {
			list, name := spec.Allow, "allow"
			if ee.List == policy.DenyList {
				list, name = spec.Deny, "deny"
			}
			if ee.Index >= 0 && ee.Index < len(list) {
				if !reported[index(name, ee.Index)] {
					msg := ee.Msg
					if ee.Fix != "" {
						msg += "; " + ee.Fix
					}
					c.ps.add(index(join("network", name), ee.Index), "%q: %s", list[ee.Index], msg)
				}
				continue
			}
		}
		c.ps.add("network", "%v", e)
	}
	if len(c.ps.list) > bad {
		return nil, templated
	}
	return p, templated
}

func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if multi, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range multi.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// expandNetwork returns the binding's policy with every {{credential.KEY}} entry expanded from
// cred and a max_response_size of DefaultMaxResponseSize when the spec sets none, compiled.
// Errors name the entry; a value is shown only once it is a valid host.
func expandNetwork(d *Declaration, cred Credential) (*policy.Policy, policy.Spec, error) {
	spec := cloneSpec(d.Network)
	var errs []error
	for li, list := range [][]string{spec.Allow, spec.Deny} {
		name := "allow"
		if li == 1 {
			name = "deny"
		}
		for i, raw := range list {
			key, rest, ok, err := entryTemplate(raw)
			if err != nil {
				errs = append(errs, fmt.Errorf("network.%s[%d] %q: %w", name, i, raw, err))
				continue
			}
			if !ok {
				continue
			}
			v, found := cred.Data[key]
			if !found {
				errs = append(errs, fmt.Errorf("network.%s[%d] %q: credential %s has no key %s; set it with `airlock secret set %s %s=VALUE`", name, i, raw, cred.Name, key, cred.Name, key))
				continue
			}
			h, err := credentialHost(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("network.%s[%d] %q: the value of %s in credential %s %v; set it with `airlock secret set %s %s=192.168.1.100`", name, i, raw, key, cred.Name, err, cred.Name, key))
				continue
			}
			list[i] = h + rest
		}
	}
	if len(errs) > 0 {
		return nil, spec, errors.Join(errs...)
	}
	if spec.Limits.MaxResponseSize <= 0 {
		spec.Limits.MaxResponseSize = DefaultMaxResponseSize
	}
	p, err := policy.Compile(spec)
	if err != nil {
		for _, e := range flatten(err) {
			var ee *policy.EntryError
			if errors.As(e, &ee) {
				list, name, orig := spec.Allow, "allow", d.Network.Allow
				if ee.List == policy.DenyList {
					list, name, orig = spec.Deny, "deny", d.Network.Deny
				}
				if ee.Index >= 0 && ee.Index < len(list) && ee.Index < len(orig) {
					errs = append(errs, fmt.Errorf("network.%s[%d] %q (expanded to %q): %w", name, ee.Index, orig[ee.Index], list[ee.Index], e))
					continue
				}
			}
			errs = append(errs, e)
		}
		return nil, spec, errors.Join(errs...)
	}
	return p, spec, nil
}
