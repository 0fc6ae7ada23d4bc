package config

import (
	"fmt"
	"math"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/airlock-sh/airlock/internal/binding"
	"github.com/airlock-sh/airlock/internal/policy"
)

// This file decodes the bindings section: each binding is decoded strictly into a
// binding.Declaration (types, unknown keys), then validated by package binding, whose problems
// name a path inside the binding; the decoder reports each at the line that path came from.

var (
	bindingKeys = []string{"type", "description", "credential", "network", "methods"}
	methodKeys  = []string{"description", "params", "request"}
	paramKeys   = []string{"name", "type", "description", "optional", "default", "enum", "min", "max", "max_length", "pattern", "secret"}
	requestKeys = []string{"method", "url", "headers", "json", "body"}
)

// positions maps a path inside a binding ("methods.setVolume.params[0].max") to the node a
// problem there is reported at: the value for a scalar, the key for a mapping or list, the item
// for a list item.
type positions map[string]*yaml.Node

func (p positions) set(rel string, key, value *yaml.Node) {
	if value != nil && value.Kind == yaml.ScalarNode || key == nil {
		p[rel] = value
		return
	}
	p[rel] = key
}

// find returns the node of rel, or of its nearest ancestor that has one.
func (p positions) find(rel string) *yaml.Node {
	for {
		if n := p[rel]; n != nil {
			return n
		}
		if rel == "" {
			return nil
		}
		if strings.HasSuffix(rel, "]") {
			rel = rel[:strings.LastIndexByte(rel, '[')]
			continue
		}
		i := strings.LastIndexByte(rel, '.')
		if i < 0 {
			rel = ""
			continue
		}
		rel = rel[:i]
	}
}

// bindings decodes the bindings section into f.Bindings.
func (d *decoder) bindings(f *File, fl field) {
	entries, ok := d.mapping(fl.value, fl.path, nil)
	if !ok {
		return
	}
	for _, b := range entries {
		if err := binding.CheckName(b.name); err != nil {
			d.errorf(b.key, b.path, "%v (the name is the binding's global in code mode: await lgRemote.getStatus())", err)
			continue
		}
		if d.bindingKeys == nil {
			d.bindingKeys = map[string]*yaml.Node{}
		}
		d.bindingKeys[b.name] = b.key
		if decl := d.binding(b); decl != nil {
			f.Bindings[b.name] = decl
		}
	}
}

// checkBindingNames refuses a binding named like a server: in code mode both are globals.
func (d *decoder) checkBindingNames(f *File) {
	for name, key := range d.bindingKeys {
		if _, ok := f.Servers[name]; ok {
			d.errorf(key, "bindings."+name, "a server is called %s too, and code mode gives both the same global; rename one of them", name)
		}
	}
}

// binding decodes and validates one binding; nil when it has problems (reported).
func (d *decoder) binding(b field) *binding.Declaration {
	before := len(d.errs)
	pos := positions{"": b.key}
	rel := func(path string) string {
		if path == b.path {
			return ""
		}
		return strings.TrimPrefix(path, b.path+".")
	}
	fields, ok := d.mapping(b.value, b.path, bindingKeys)
	if !ok {
		return nil
	}
	decl := &binding.Declaration{Name: b.name, Methods: map[string]*binding.Method{}}
	for _, fl := range fields {
		pos.set(rel(fl.path), fl.key, fl.value)
		switch fl.name {
		case "type":
			decl.Type, _ = d.str(fl.value, fl.path)
		case "description":
			decl.Description, _ = d.str(fl.value, fl.path)
		case "credential":
			decl.Credential, _ = d.str(fl.value, fl.path)
		case "network":
			decl.Network = d.bindingNetwork(fl, pos, rel)
		case "methods":
			d.methods(decl, fl, pos, rel)
		}
	}
	// Problems the strict decoding found make the declaration partial: validating what
	// depends on them would only repeat them.
	skip := map[string]bool{}
	for _, e := range d.errs[before:] {
		if !strings.HasSuffix(e.Path, ".network.toolhive_profile") { // left out, nothing partial
			skip[group(rel(e.Path))] = true
		}
	}
	if skip["network"] || skip[""] {
		return nil // the policy, or the whole binding, is partial: every check would depend on it
	}
	if skip["credential"] {
		decl.Credential = "credential" // stands in for the one reported: no "needs a credential" for each use
	}
	for _, p := range binding.Problems(decl.Validate()) {
		if skip[group(p.Path)] {
			continue
		}
		n := pos.find(p.Path)
		if n == nil {
			n = b.key
		}
		d.errorf(n, joinPath(b.path, p.Path), "%s", p.Msg)
	}
	if len(d.errs) > before {
		return nil
	}
	return decl
}

// group is the part of a binding a path belongs to: "methods.NAME", or its first key.
func group(rel string) string {
	if m, ok := strings.CutPrefix(rel, "methods."); ok {
		name, _, _ := strings.Cut(m, ".")
		if i := strings.IndexByte(name, '['); i >= 0 {
			name = name[:i]
		}
		return "methods." + name
	}
	first, _, _ := strings.Cut(rel, ".")
	if i := strings.IndexByte(first, '['); i >= 0 {
		first = first[:i]
	}
	return first
}

// bindingNetwork decodes a binding's network section with the servers' decoder. Bindings have
// no env and import no ToolHive profile; their {{credential.KEY}} and ${NAME} entries are kept
// as written for binding.Validate to judge.
func (d *decoder) bindingNetwork(fl field, pos positions, rel func(string) string) policy.Spec {
	if !d.ok(fl.value, fl.path) || fl.value.Kind != yaml.MappingNode {
		ns := d.network(fl, "", nil) // reports the wrong type
		return ns.spec
	}
	clone := *fl.value
	clone.Content = nil
	raw := map[*yaml.Node]string{} // an entry hidden from the server decoder -> as written
	for i := 0; i+1 < len(fl.value.Content); i += 2 {
		k, v := fl.value.Content[i], fl.value.Content[i+1]
		switch {
		case k.Value == "toolhive_profile":
			d.errorf(k, joinPath(fl.path, k.Value), "a binding cannot import a ToolHive profile (a profile describes an MCP server); list what the binding reaches under allow")
			continue
		case (k.Value == "allow" || k.Value == "deny") && v.Kind == yaml.SequenceNode:
			seq := *v
			seq.Content = make([]*yaml.Node, len(v.Content))
			for j, item := range v.Content {
				seq.Content[j] = item
				if item.Kind == yaml.ScalarNode && strings.Contains(item.Value, "${") {
					c := *item
					c.Value = "template" // not for the env lookup of servers: binding.Validate says why
					raw[&c] = item.Value
					seq.Content[j] = &c
				}
			}
			v = &seq
		}
		clone.Content = append(clone.Content, k, v)
	}
	ns := d.network(field{name: fl.name, key: fl.key, value: &clone, path: fl.path}, "", nil)
	for li, srcs := range [][]entrySrc{ns.allow, ns.deny} {
		list, name := ns.spec.Allow, "allow"
		if li == 1 {
			list, name = ns.spec.Deny, "deny"
		}
		for i, src := range srcs {
			if r, ok := raw[src.node]; ok {
				list[i] = r
			}
			pos[rel(fmt.Sprintf("%s.%s[%d]", fl.path, name, i))] = src.node
		}
	}
	return ns.spec
}

// methods decodes the methods of a binding.
func (d *decoder) methods(decl *binding.Declaration, fl field, pos positions, rel func(string) string) {
	ms, ok := d.mapping(fl.value, fl.path, nil)
	if !ok {
		return
	}
	for _, m := range ms {
		pos.set(rel(m.path), m.key, m.value)
		fields, ok := d.mapping(m.value, m.path, methodKeys)
		if !ok {
			continue
		}
		meth := &binding.Method{Name: m.name}
		decl.Methods[m.name] = meth
		hasRequest := false
		for _, f := range fields {
			pos.set(rel(f.path), f.key, f.value)
			switch f.name {
			case "description":
				meth.Description, _ = d.str(f.value, f.path)
			case "params":
				meth.Params = d.params(f, pos, rel)
			case "request":
				hasRequest = true
				meth.Request = d.request(f, pos, rel)
			}
		}
		if !hasRequest {
			d.errorf(m.key, m.path, "request is missing; declare the HTTP request the method makes: request: {method: GET, url: \"http://...\"}")
		}
	}
}

func (d *decoder) params(fl field, pos positions, rel func(string) string) []binding.Param {
	n := fl.value
	if !d.ok(n, fl.path) || isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, fl.path, "must be a list of parameters, not %s; write one \"- {name: level, type: integer}\" per parameter", describe(n))
		return nil
	}
	out := make([]binding.Param, 0, len(n.Content))
	for i, item := range n.Content {
		ipath := fmt.Sprintf("%s[%d]", fl.path, i)
		pos[rel(ipath)] = item
		fields, ok := d.mapping(item, ipath, paramKeys)
		if !ok {
			continue
		}
		var p binding.Param
		for _, f := range fields {
			pos.set(rel(f.path), f.key, f.value)
			switch f.name {
			case "name":
				p.Name, _ = d.str(f.value, f.path)
			case "type":
				p.Type, _ = d.str(f.value, f.path)
			case "description":
				p.Description, _ = d.str(f.value, f.path)
			case "pattern":
				p.Pattern, _ = d.str(f.value, f.path)
			case "optional":
				p.Optional, _ = d.boolean(f.value, f.path)
			case "secret":
				p.Secret, _ = d.boolean(f.value, f.path)
			case "default":
				if isNull(f.value) {
					d.errorf(f.value, f.path, "no value; write the default, or remove default (optional: true makes a parameter optional without one)")
					continue
				}
				p.Default, _ = d.jsonValue(f.value, f.path, pos, rel, 0)
			case "enum":
				p.Enum = d.enum(f, pos, rel)
			case "min":
				p.Min = d.number(f.value, f.path)
			case "max":
				p.Max = d.number(f.value, f.path)
			case "max_length":
				if v, ok := d.integer(f.value, f.path); ok {
					if v < math.MinInt32 || v > math.MaxInt32 {
						d.errorf(f.value, f.path, "%d is out of range; write a length from 1 to %d, or 0 (or leave it out) for the default", v, binding.MaxMaxLength)
					} else {
						p.MaxLength = int(v) // binding.Validate checks the range
					}
				}
			}
		}
		out = append(out, p)
	}
	return out
}

func (d *decoder) enum(fl field, pos positions, rel func(string) string) []any {
	n := fl.value
	if !d.ok(n, fl.path) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, fl.path, "must be a list of the values allowed, not %s; write enum: [A, B]", describe(n))
		return nil
	}
	out := make([]any, 0, len(n.Content))
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", fl.path, i)
		pos[rel(p)] = item
		if v, ok := d.jsonValue(item, p, pos, rel, 0); ok {
			out = append(out, v)
		}
	}
	return out
}

// number decodes an integer or a number.
func (d *decoder) number(n *yaml.Node, path string) *float64 {
	if !d.ok(n, path) {
		return nil
	}
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
		var v float64
		if err := n.Decode(&v); err == nil && !math.IsInf(v, 0) && !math.IsNaN(v) {
			return &v
		}
	}
	d.errorf(n, path, "must be a number, not %s; write a finite number such as 0 or 2.5", describe(n))
	return nil
}

func (d *decoder) request(fl field, pos positions, rel func(string) string) *binding.Request {
	fields, ok := d.mapping(fl.value, fl.path, requestKeys)
	if !ok {
		return nil
	}
	r := &binding.Request{}
	for _, f := range fields {
		pos.set(rel(f.path), f.key, f.value)
		switch f.name {
		case "method":
			r.Method, _ = d.str(f.value, f.path)
		case "url":
			r.URL, _ = d.str(f.value, f.path)
		case "body":
			r.Body, _ = d.str(f.value, f.path)
		case "headers":
			hs, _ := d.mapping(f.value, f.path, nil)
			for _, h := range hs {
				pos.set(rel(h.path), h.key, h.value)
				if v, ok := d.str(h.value, h.path); ok {
					if r.Headers == nil {
						r.Headers = map[string]string{}
					}
					r.Headers[h.name] = v
				}
			}
		case "json":
			if isNull(f.value) {
				d.errorf(f.value, f.path, "no value; write the JSON body (json: {level: \"{{level}}\"}), or remove json")
				continue
			}
			r.JSON, _ = d.jsonValue(f.value, f.path, pos, rel, 0)
		}
	}
	return r
}

// maxJSONDepth bounds the nesting of a JSON value in the config.
const maxJSONDepth = 32

// jsonValue decodes a node into a JSON value: map[string]any, []any, string, int64, float64,
// bool or nil. Dates are taken as written; other tags and non-finite numbers are errors.
func (d *decoder) jsonValue(n *yaml.Node, path string, pos positions, rel func(string) string, depth int) (any, bool) {
	if !d.ok(n, path) {
		return nil, false
	}
	if depth > maxJSONDepth {
		d.errorf(n, path, "nested deeper than %d levels; flatten it", maxJSONDepth)
		return nil, false
	}
	switch n.Kind {
	case yaml.MappingNode:
		fields, _ := d.mapping(n, path, nil)
		m := make(map[string]any, len(fields))
		good := true
		for _, f := range fields {
			pos.set(rel(f.path), f.key, f.value)
			v, ok := d.jsonValue(f.value, f.path, pos, rel, depth+1)
			good = good && ok
			m[f.name] = v
		}
		return m, good
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		good := true
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			pos[rel(p)] = item
			v, ok := d.jsonValue(item, p, pos, rel, depth+1)
			good = good && ok
			l[i] = v
		}
		return l, good
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str", "!!timestamp":
			return n.Value, true
		case "!!null":
			return nil, true
		case "!!bool":
			var b bool
			if n.Decode(&b) == nil {
				return b, true
			}
		case "!!int":
			var i int64
			if n.Decode(&i) == nil {
				return i, true
			}
			d.errorf(n, path, "the integer %s is out of range; write it as a string if it is an identifier", n.Value)
			return nil, false
		case "!!float":
			var f float64
			if n.Decode(&f) == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f, true
			}
			d.errorf(n, path, "%s is not a finite number; JSON has no infinity or NaN", n.Value)
			return nil, false
		}
	}
	d.errorf(n, path, "must be a JSON value (a mapping, list, string, number, boolean or null), not %s", describe(n))
	return nil, false
}
