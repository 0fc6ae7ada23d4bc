package binding

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/airlock-sh/airlock/internal/host"
)

// compiledDecl is a validated Declaration with its templates parsed.
type compiledDecl struct {
	decl    *Declaration // a private copy
	methods map[string]*compiledMethod
	// credKeys are the credential keys the templates use, sorted; addrKeys those used as a
	// host or port (in a URL or a network entry), which are addresses, not secrets.
	credKeys []string
	addrKeys map[string]bool
}

// compiledMethod is one checked method.
type compiledMethod struct {
	binding string
	name    string
	params  []*cparam
	byName  map[string]*cparam
	req     *compiledRequest // nil for a Go method
	peer    string           // what the binding talks to, for messages: "device" or "server"
}

// compileDecl validates d and compiles a private copy of it.
func compileDecl(d *Declaration) (*compiledDecl, error) {
	if d == nil {
		return nil, errors.New("binding: nil declaration")
	}
	d = d.Clone()
	ps := &problems{binding: d.Name}
	if err := CheckName(d.Name); err != nil {
		ps.add("", "%v", err)
	}
	switch {
	case d.Type == "":
		ps.add("type", "missing; write type: %s (a device or service on the LAN or this machine) or type: %s (an API on the internet)", TypeLocalNetwork, TypeHTTP)
	case !slices.Contains(Types, d.Type):
		ps.add("type", "%q is not a binding type; write %s (a device or service on the LAN or this machine) or %s (an API on the internet)", d.Type, TypeLocalNetwork, TypeHTTP)
	}
	hasCred := d.Credential != ""
	if hasCred {
		if err := checkCredentialName(d.Credential); err != nil {
			ps.add("credential", "%v", err)
		}
	}
	cd := &compiledDecl{decl: d, methods: map[string]*compiledMethod{}, addrKeys: map[string]bool{}}
	c := &checker{ps: ps, hasCred: hasCred, cred: map[string]bool{}, addr: cd.addrKeys}

	names := slices.Sorted(maps.Keys(d.Methods))
	if len(names) == 0 {
		ps.add("methods", "a binding needs at least one method; declare what code may call (methods: {getStatus: {request: {method: GET, url: \"http://...\"}}})")
	}
	withRequest := 0
	for _, n := range names {
		if m := d.Methods[n]; m != nil && m.Request != nil {
			withRequest++
		}
	}
	for _, n := range names {
		path := join("methods", n)
		m := d.Methods[n]
		if m == nil {
			ps.add(path, "empty; declare the method's request (and params, if it takes any)")
			continue
		}
		if err := checkMemberName(n, "a method"); err != nil {
			ps.add(path, "%v", err)
			continue
		}
		if m.Name != n {
			ps.add(path, "the method's name %q differs from its key %q; make them the same", m.Name, n)
			continue
		}
		if m.Request == nil && withRequest > 0 {
			ps.add(path, "request is missing; declare the HTTP request the method makes (request: {method: GET, url: \"http://...\"})")
			continue
		}
		if cm := c.compileMethod(d.Name, m, path); cm != nil {
			cm.peer = "device"
			if d.Type == TypeHTTP {
				cm.peer = "server"
			}
			cd.methods[n] = cm
		}
	}
	pol, templated := c.checkNetwork(d.Network)
	if pol != nil && !templated {
		for _, n := range names {
			cm := cd.methods[n]
			if cm == nil || cm.req == nil || cm.req.url == nil || cm.req.url.port.kind == credRef || cm.req.url.host.kind == credRef {
				continue
			}
			u := cm.req.url
			h, err := host.Parse(u.host.text)
			if err != nil {
				continue // parseURLTemplate accepted it; cannot happen
			}
			a, _ := u.trustedAuthority(nil, "")
			dest := u.host.text + ":" + fmt.Sprint(a.portNum)
			if dec := pol.Decide(h, a.portNum); !dec.Allow {
				ps.add(join(methodPath(n), "request.url"), "the binding's network section refuses every call to this URL: %s", dec.Message(dest))
			}
		}
	}
	cd.credKeys = slices.Sorted(maps.Keys(c.cred))
	if err := ps.err(); err != nil {
		return nil, err
	}
	return cd, nil
}

func methodPath(method string) string { return join("methods", method) }

// compileMethod checks a method's parameters and request.
func (c *checker) compileMethod(binding string, m *Method, path string) *compiledMethod {
	bad := len(c.ps.list)
	cm := &compiledMethod{binding: binding, name: m.Name, byName: map[string]*cparam{}}
	c.method = binding + "." + m.Name
	c.params = cm.byName
	c.order = nil
	c.used = map[string]bool{}
	c.broken = map[string]bool{}
	for i, p := range m.Params {
		ppath := index(join(path, "params"), i)
		cp := compileParam(p, ppath, c.ps)
		if cp == nil {
			c.broken[p.Name] = true // reported; its uses are not
			continue
		}
		if _, dup := cm.byName[p.Name]; dup {
			c.ps.add(join(ppath, "name"), "%s is declared twice; rename or remove one", p.Name)
			continue
		}
		cm.byName[p.Name] = cp
		cm.params = append(cm.params, cp)
		c.order = append(c.order, p.Name)
	}
	if m.Request != nil {
		cm.req = c.compileRequest(m.Request, join(path, "request"))
		for i, p := range m.Params {
			if _, ok := cm.byName[p.Name]; ok && !c.used[p.Name] && len(c.ps.list) == bad {
				c.ps.add(index(join(path, "params"), i), "%s is not used by the request; put {{%s}} in the url, a header, json or body, or remove the parameter", p.Name, p.Name)
			}
		}
	}
	if len(c.ps.list) > bad {
		return nil
	}
	return cm
}

// describeMethods lists method names for a message.
func describeMethods(names []string) string {
	return strings.Join(names, ", ")
}
