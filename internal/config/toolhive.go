package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/airlock-sh/airlock/internal/policy"
)

// ToolHive (github.com/stacklok/toolhive) runs MCP servers in containers under a "permission
// profile" (pkg/permissions/profile.go). Its network part is
//
//	{"network": {"outbound": {"insecure_allow_all": false,
//	                          "allow_host": [".github.com"], "allow_port": [443]}}}
//
// and ToolHive enforces it with an egress proxy (Squid: pkg/container/docker/squid.go; Envoy:
// pkg/container/docker/envoy.go). What its proxies do, and what we map it to:
//
//   - insecure_allow_all: everything is allowed and the lists are ignored. We set
//     AllowPublicInternet and ignore the lists too: any public host on any port, but loopback,
//     private ranges and metadata addresses stay denied (ToolHive lets those through; a profile
//     that needs them must say so in airlock's own terms).
//   - allow_host and allow_port: a host is allowed when it matches a host AND the port matches a
//     port. We write one entry host:port per pair. ".d" is the domain and its subdomains in
//     both (Squid dstdomain). ToolHive's Envoy backend also treats "*.d" as the domain and its
//     subdomains; we keep airlock's stricter meaning of "*.d" (subdomains only).
//   - allow_host without allow_port: ToolHive allows those hosts on any port, so we write
//     host:*.
//   - allow_port without allow_host: ToolHive allows any host on those ports. airlock has no
//     "any host on port N" entry short of the public internet, and a profile like that says
//     nothing about where the server goes, so we write no entry: it denies everything.
//   - no network, no outbound, or an empty outbound: deny everything (ToolHive's Envoy backend;
//     its older Squid backend allowed everything when network was absent).
//   - network.mode "none": no network at all, so deny everything.
//   - Everything else (name, read, write, privileged, seccomp, inbound, mode, the older
//     allow_transport) is accepted and ignored: it is not outbound network policy.

// ParseToolHiveProfile decodes a ToolHive permission profile (JSON, or YAML) strictly and
// returns the airlock policy that allows what its network.outbound section allows, as
// documented in docs/config.md. The error, when not nil, joins one *Error per problem, with the
// line and column in the profile.
func ParseToolHiveProfile(name string, data []byte) (policy.Spec, error) {
	p := parseToolHive(name, data, true)
	if err := p.err(); err != nil {
		return policy.Spec{}, err
	}
	return p.spec, nil
}

// profileDecoder decodes one ToolHive profile.
type profileDecoder struct {
	walker
	spec policy.Spec
	// validate has policy.Compile check the entries the profile maps to.
	validate bool
}

var (
	profileKeys  = []string{"name", "read", "write", "network", "privileged", "seccomp"}
	networkKeysT = []string{"mode", "outbound", "inbound"}
	outboundKeys = []string{"insecure_allow_all", "allow_host", "allow_port", "allow_transport"}
	inboundKeys  = []string{"allow_host"}
	seccompKeys  = []string{"enabled", "denied_syscalls", "allowed_syscalls", "default_action", "architectures"}
)

func parseToolHive(name string, data []byte, validate bool) *profileDecoder {
	d := &profileDecoder{validate: validate}
	d.file = name
	root, err := readDocument(data, &d.errorList)
	if err == errEmpty {
		d.add(1, 1, "", `empty profile; a ToolHive profile is a JSON object such as {"network": {"outbound": {"allow_host": ["api.example.com"], "allow_port": [443]}}}`)
		return d
	}
	if err != nil {
		return d
	}
	if root.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if k := root.Content[i]; k.Value == "permissions" {
				d.errorf(k, "permissions", `this looks like a ToolHive registry entry; save the object under "permissions" as the profile`)
				return d
			}
		}
	}
	fields, ok := d.mapping(root, "", profileKeys)
	if !ok {
		return d
	}
	var network *field
	for _, f := range fields {
		switch f.name {
		case "name":
			d.str(f.value, f.path)
		case "network":
			network = &f
		case "read", "write":
			d.strList(f.value, f.path)
		case "privileged":
			d.boolean(f.value, f.path)
		case "seccomp":
			d.ignored(f, seccompKeys, map[string]string{"enabled": "bool", "default_action": "string"})
		}
	}
	if network != nil {
		d.network(*network)
	}
	return d
}

// ignored checks the keys and value types of a section we accept but do not use.
func (d *profileDecoder) ignored(f field, known []string, types map[string]string) {
	fields, _ := d.mapping(f.value, f.path, known)
	for _, g := range fields {
		switch types[g.name] {
		case "bool":
			d.boolean(g.value, g.path)
		case "string":
			d.str(g.value, g.path)
		default:
			d.strList(g.value, g.path)
		}
	}
}

func (d *profileDecoder) network(f field) {
	fields, ok := d.mapping(f.value, f.path, networkKeysT)
	if !ok {
		return
	}
	var outbound *field
	none := false
	for _, g := range fields {
		switch g.name {
		case "mode":
			if m, ok := d.str(g.value, g.path); ok && m == "none" {
				none = true
			}
		case "outbound":
			outbound = &g
		case "inbound":
			d.ignored(g, inboundKeys, nil)
		}
	}
	if outbound == nil {
		return // no outbound rules: deny everything
	}
	fields, ok = d.mapping(outbound.value, outbound.path, outboundKeys)
	if !ok {
		return
	}
	var (
		allowAll  bool
		hosts     []string
		hostNodes []*yaml.Node
		hostPath  string
		ports     []int
	)
	for _, g := range fields {
		switch g.name {
		case "insecure_allow_all":
			allowAll, _ = d.boolean(g.value, g.path)
		case "allow_host":
			hosts, hostNodes, _ = d.strList(g.value, g.path)
			hostPath = g.path
		case "allow_port":
			ports = d.ports(g)
		case "allow_transport":
			d.strList(g.value, g.path)
		}
	}
	switch {
	case none:
		return // network mode "none": nothing is reachable whatever outbound says
	case allowAll:
		d.spec.AllowPublicInternet = true
		return
	}
	var srcs []entrySrc
	for i, h := range hosts {
		p := fmt.Sprintf("%s[%d]", hostPath, i)
		if h == "" {
			d.errorf(hostNodes[i], p, "empty host; write a host name such as api.example.com or .example.com")
			continue
		}
		if a, err := netip.ParseAddr(h); err == nil && a.Is6() {
			h = "[" + h + "]"
		}
		portList := []string{"*"}
		if len(ports) > 0 {
			portList = portList[:0]
			for _, port := range ports {
				portList = append(portList, strconv.Itoa(port))
			}
		}
		for _, port := range portList {
			e := h + ":" + port
			if slices.Contains(d.spec.Allow, e) {
				continue
			}
			d.spec.Allow = append(d.spec.Allow, e)
			srcs = append(srcs, entrySrc{node: hostNodes[i], path: p, raw: hosts[i], from: "gives " + strconv.Quote(e)})
		}
	}
	if d.validate {
		d.check(srcs)
	}
}

// ports decodes allow_port: integers from 1 to 65535.
func (d *profileDecoder) ports(f field) []int {
	if !d.ok(f.value, f.path) || isNull(f.value) {
		return nil
	}
	if f.value.Kind != yaml.SequenceNode {
		d.errorf(f.value, f.path, "must be a list of port numbers such as [443], not %s", describe(f.value))
		return nil
	}
	var ports []int
	for i, n := range f.value.Content {
		p := fmt.Sprintf("%s[%d]", f.path, i)
		v, ok := d.integer(n, p)
		if !ok {
			continue
		}
		if v < 1 || v > 65535 {
			d.errorf(n, p, "%d is not a port; write a number from 1 to 65535", v)
			continue
		}
		if !slices.Contains(ports, int(v)) {
			ports = append(ports, int(v))
		}
	}
	return ports
}

// check compiles the profile's entries and reports each bad host once, at its line.
func (d *profileDecoder) check(srcs []entrySrc) {
	_, err := policy.Compile(d.spec)
	if err == nil {
		return
	}
	reported := map[*yaml.Node]bool{}
	for _, ee := range entryErrors(err) {
		if ee.List != policy.AllowList || ee.Index < 0 || ee.Index >= len(srcs) {
			continue
		}
		src := srcs[ee.Index]
		if reported[src.node] {
			continue // the same host with another port
		}
		reported[src.node] = true
		msg := ee.Msg
		if ee.Fix != "" {
			msg += "; " + ee.Fix
		}
		d.errorf(src.node, src.path, "%q (%s): %s", src.raw, src.from, msg)
	}
	if len(reported) == 0 {
		d.add(1, 1, "", "invalid network policy: %v", err)
	}
}
