package config

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/airlock-sh/airlock/internal/policy"
)

// entrySrc is where an allow or deny entry came from, for error messages.
type entrySrc struct {
	node *yaml.Node
	path string
	raw  string // as written: "${HA_URL}", or the entry a profile produced
	from string // how raw became the entry, when it did: `HA_URL is "192.168.1.20:8123"`
	// imported entries come from a ToolHive profile, which checked them already.
	imported bool
}

// netSection is a decoded network section: the spec and, parallel to its lists, where each
// entry came from.
type netSection struct {
	spec        policy.Spec
	allow, deny []entrySrc
	profile     string
}

var networkKeys = []string{
	"allow", "deny", "allow_private_ips", "allow_localhost", "allow_public_internet",
	"max_request_size", "max_response_size", "timeout", "max_connections", "toolhive_profile",
}

// MaxTimeout is the longest timeout a policy may set.
const MaxTimeout = 24 * time.Hour

// network decodes a network section. owner is the server's path ("servers.github"), or "" for
// code mode, which has no env for templates and no profile imports.
func (d *decoder) network(fl field, owner string, env map[string]string) netSection {
	var ns netSection
	fields, ok := d.mapping(fl.value, fl.path, networkKeys)
	if !ok {
		return ns
	}
	var profile *field
	for _, f := range fields {
		switch f.name {
		case "allow", "deny":
			entries, nodes, _ := d.strList(f.value, f.path)
			for i, raw := range entries {
				p := fmt.Sprintf("%s[%d]", f.path, i)
				e, src, ok := d.entry(raw, nodes[i], p, owner, env)
				if !ok {
					continue
				}
				if f.name == "allow" {
					ns.spec.Allow = append(ns.spec.Allow, e)
					ns.allow = append(ns.allow, src)
				} else {
					ns.spec.Deny = append(ns.spec.Deny, e)
					ns.deny = append(ns.deny, src)
				}
			}
		case "allow_private_ips":
			ns.spec.AllowPrivateIPs, _ = d.boolean(f.value, f.path)
		case "allow_localhost":
			ns.spec.AllowLocalhost, _ = d.boolean(f.value, f.path)
		case "allow_public_internet":
			ns.spec.AllowPublicInternet, _ = d.boolean(f.value, f.path)
		case "max_request_size":
			ns.spec.Limits.MaxRequestSize = d.size(f.value, f.path)
		case "max_response_size":
			ns.spec.Limits.MaxResponseSize = d.size(f.value, f.path)
		case "timeout":
			ns.spec.Limits.Timeout = d.duration(f.value, f.path)
		case "max_connections":
			if v, ok := d.integer(f.value, f.path); ok {
				if v < 0 || v > math.MaxInt32 {
					d.errorf(f.value, f.path, "%d is out of range; write a number of connections from 1 up, or 0 (or leave it out) for the default", v)
				} else {
					ns.spec.Limits.MaxConnections = int(v)
				}
			}
		case "toolhive_profile":
			profile = &f
		}
	}
	if profile != nil {
		d.importProfile(&ns, *profile, owner)
	}
	return ns
}

var (
	wholeTemplate = regexp.MustCompile(`^\$\{([^{}]*)\}$`)
	varName       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// entry expands a ${NAME} template; any other entry is returned as written, for policy.Compile
// to judge.
func (d *decoder) entry(raw string, n *yaml.Node, path, owner string, env map[string]string) (string, entrySrc, bool) {
	src := entrySrc{node: n, path: path, raw: raw}
	if !strings.Contains(raw, "${") {
		return raw, src, true
	}
	m := wholeTemplate.FindStringSubmatch(raw)
	if m == nil {
		d.errorf(n, path, "%q: a ${NAME} template must be the whole entry; write the host out, or write exactly \"${NAME}\" for the host and port of the server's env value NAME", raw)
		return "", src, false
	}
	name := m[1]
	if !varName.MatchString(name) {
		d.errorf(n, path, "%q: %q is not an environment variable name; use letters, digits and '_', not starting with a digit", raw, name)
		return "", src, false
	}
	if owner == "" {
		d.errorf(n, path, "%q: code mode has no env to take %s from; write the host and port out", raw, name)
		return "", src, false
	}
	value, ok := env[name]
	if !ok {
		d.errorf(n, path, "%q: %s has no env variable %s; add %s to %s.env", raw, owner, name, name, owner)
		return "", src, false
	}
	e, err := hostPortOf(value)
	if err != nil {
		// The value may hold a secret (a token in the URL): never print it.
		d.errorf(n, path, "%q: the value of %s.env.%s %v", raw, owner, name, err)
		return "", src, false
	}
	src.from = fmt.Sprintf("%s gives %q", name, e)
	return e, src, true
}

// defaultPorts are the ports of URL schemes whose URLs may leave the port out.
var defaultPorts = map[string]string{"http": "80", "ws": "80", "https": "443", "wss": "443"}

// hostPortOf returns the host and port a ${VAR} template stands for: for a URL with a scheme,
// its host and port (or the scheme's default port); for anything else the value as it is
// (host:port, or a host, which allows ports 80 and 443). Errors say what is wrong and what to
// do, and never include the value.
func hostPortOf(v string) (string, error) {
	const fix = "; set it to a URL (http://host:port) or to host:port"
	v = strings.TrimSpace(v)
	if v == "" {
		return "", errors.New("is empty" + fix)
	}
	if !strings.Contains(v, "://") {
		if strings.ContainsAny(v, "/?#@ \t") {
			return "", errors.New("is neither a URL with a scheme nor host[:port]" + fix)
		}
		if a, err := netip.ParseAddr(v); err == nil && a.Is6() {
			return "[" + v + "]", nil
		}
		return v, nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" {
		return "", errors.New("is not a valid URL" + fix)
	}
	host := u.Hostname()
	if host == "" {
		return "", errors.New("is a URL without a host" + fix)
	}
	port := u.Port()
	if port == "" {
		p, ok := defaultPorts[strings.ToLower(u.Scheme)]
		if !ok {
			return "", fmt.Errorf("is a URL without a port, and its scheme %s has no default port; add the port (%s://host:port)", u.Scheme, u.Scheme)
		}
		port = p
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + port, nil
}

// sizeUnits are the units a size may be written in. KB, MB and GB are powers of 1000.
var sizeUnits = map[string]int64{
	"B": 1, "KB": 1000, "KiB": 1 << 10, "MB": 1000 * 1000, "MiB": 1 << 20,
	"GB": 1000 * 1000 * 1000, "GiB": 1 << 30,
}

var sizePattern = regexp.MustCompile(`^([0-9]+) ?([A-Za-z]*)$`)

const sizeFix = "write a whole number of bytes, or one with a unit: B, KB, KiB, MB, MiB, GB, GiB (1MiB, 500KB)"

// size decodes a byte count: an integer, or a string such as "10MiB". 0 means unset.
func (d *decoder) size(n *yaml.Node, path string) int64 {
	if !d.ok(n, path) {
		return 0
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		v, ok := d.integer(n, path)
		if ok && v < 0 {
			d.errorf(n, path, "%d is negative; %s, or 0 (or leave it out) for the default", v, sizeFix)
			return 0
		}
		return v
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.errorf(n, path, "must be a size, not %s; %s", describe(n), sizeFix)
		return 0
	}
	m := sizePattern.FindStringSubmatch(strings.TrimSpace(n.Value))
	if m == nil {
		d.errorf(n, path, "%q is not a size; %s", n.Value, sizeFix)
		return 0
	}
	unit := int64(1)
	if m[2] != "" {
		u, ok := sizeUnits[m[2]]
		if !ok {
			d.errorf(n, path, "%q: unknown unit %q; %s", n.Value, m[2], sizeFix)
			return 0
		}
		unit = u
	}
	v, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || v > math.MaxInt64/unit {
		d.errorf(n, path, "%q is too large; write a size below 8EiB", n.Value)
		return 0
	}
	return v * unit
}

// duration decodes a Go duration string ("30s", "1m30s"), positive and at most MaxTimeout.
func (d *decoder) duration(n *yaml.Node, path string) time.Duration {
	if !d.ok(n, path) {
		return 0
	}
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!int", "!!float":
			d.errorf(n, path, "%s is a bare number, not a duration; %s", n.Value, durationFix(n.Value))
			return 0
		case "!!str":
			s := strings.TrimSpace(n.Value)
			if _, err := strconv.ParseFloat(s, 64); err == nil {
				d.errorf(n, path, "%q is a bare number, not a duration; %s", n.Value, durationFix(s))
				return 0
			}
			v, err := time.ParseDuration(s)
			switch {
			case err != nil:
				d.errorf(n, path, "%q is not a duration; write a number with a unit: 500ms, 30s, 5m, 1h30m", n.Value)
			case v <= 0:
				d.errorf(n, path, "%q is not positive; write a duration above zero, or leave it out for the default", n.Value)
			case v > MaxTimeout:
				d.errorf(n, path, "%q is longer than 24h; write at most 24h", n.Value)
			default:
				return v
			}
			return 0
		}
	}
	d.errorf(n, path, "must be a duration such as 30s, not %s", describe(n))
	return 0
}

// durationFix suggests how to write a bare number of seconds as a duration.
func durationFix(num string) string {
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 || f > MaxTimeout.Seconds() || math.IsNaN(f) {
		return "write a number with a unit: 500ms, 30s, 5m"
	}
	return "write " + strconv.FormatFloat(f, 'f', -1, 64) + "s or " + strconv.FormatFloat(f*1000, 'f', -1, 64) + "ms"
}

// importProfile reads a ToolHive profile and adds what it allows to the section.
func (d *decoder) importProfile(ns *netSection, f field, owner string) {
	rel, ok := d.str(f.value, f.path)
	if !ok {
		return
	}
	if owner == "" {
		d.errorf(f.value, f.path, "a ToolHive profile describes an MCP server, not code mode; list the hosts under codemode.network.allow")
		return
	}
	if strings.TrimSpace(rel) == "" {
		d.errorf(f.value, f.path, "empty; write the path of a ToolHive permission profile (JSON), relative to this file")
		return
	}
	if d.readFile == nil {
		d.errorf(f.value, f.path, "cannot import %q: this config was not read from a file; load it with a file path (config.Load, or --config FILE)", rel)
		return
	}
	path := rel
	if !filepath.IsAbs(path) {
		path = filepath.Join(d.dir, path)
	}
	data, err := d.readFile(path)
	if err != nil {
		d.errorf(f.value, f.path, "cannot read ToolHive profile: %v; the path is relative to the directory of this file", err)
		return
	}
	ns.profile = path
	p := parseToolHive(path, data, true)
	for _, e := range p.sorted() {
		d.errorf(f.value, f.path, "%s", e.Error())
	}
	if len(p.errs) > 0 {
		return
	}
	ns.spec.AllowPublicInternet = ns.spec.AllowPublicInternet || p.spec.AllowPublicInternet
	for _, e := range p.spec.Allow {
		if slices.Contains(ns.spec.Allow, e) {
			continue
		}
		ns.spec.Allow = append(ns.spec.Allow, e)
		ns.allow = append(ns.allow, entrySrc{node: f.value, path: f.path, raw: e, from: "imported from " + path, imported: true})
	}
}

// compile compiles a decoded section and reports every bad entry at its own line. at and path
// name the section's owner, for errors no entry explains.
func (d *decoder) compile(ns netSection, at *yaml.Node, path string) *policy.Policy {
	p, err := policy.Compile(ns.spec)
	if err == nil {
		return p
	}
	reported := false
	for _, ee := range entryErrors(err) {
		srcs := ns.allow
		if ee.List == policy.DenyList {
			srcs = ns.deny
		}
		if ee.Index < 0 || ee.Index >= len(srcs) {
			continue
		}
		d.entryError(srcs[ee.Index], ee)
		reported = true
	}
	if !reported {
		d.errorf(at, path, "invalid network policy: %v", err)
	}
	return nil
}

// entryErrors returns every *policy.EntryError in err, which may join several.
func entryErrors(err error) []*policy.EntryError {
	var out []*policy.EntryError
	var walk func(error)
	walk = func(err error) {
		if multi, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range multi.Unwrap() {
				walk(e)
			}
			return
		}
		var ee *policy.EntryError
		if errors.As(err, &ee) {
			out = append(out, ee)
		}
	}
	walk(err)
	return out
}

func (d *decoder) entryError(src entrySrc, ee *policy.EntryError) {
	what := strconv.Quote(src.raw)
	if src.from != "" {
		what += " (" + src.from + ")"
	}
	msg := ee.Msg
	if ee.Fix != "" {
		msg += "; " + ee.Fix
	}
	d.errorf(src.node, src.path, "%s: %s", what, msg)
}
