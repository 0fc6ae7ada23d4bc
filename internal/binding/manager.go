package binding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/egress"
	"github.com/airlock-sh/airlock/internal/netguard"
	"github.com/airlock-sh/airlock/internal/policy"
)

// Func is a method of a binding implemented in Go. args are the call's arguments, one JSON
// value each, as the sandbox passed them (checked against the method's Params when it
// declares any). The result is encoded with encoding/json.
type Func func(ctx context.Context, args []json.RawMessage) (any, error)

// Methods are a Go binding's methods by name.
type Methods map[string]Func

// Options configure a Manager. Every field may be left zero.
type Options struct {
	// Credentials looks up the credential a binding names. Nil: a binding that names one
	// fails (on its first call) with an error saying no store is configured.
	Credentials CredentialSource
	// Audit receives one binding_call event per call, and the egress events of every
	// binding's guard. Nil drops them.
	Audit audit.Sink

	// Each binding gets its own egress.Guard with its compiled policy, Binding set to its
	// name and Audit set; these fields are copied into it (nil: the guard's defaults — the
	// system resolver, this machine's interface addresses, the guard's own checked dialer).
	Resolver egress.Resolver
	Local    func() netguard.Local
	Dial     func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Manager holds the bindings code mode may call, and calls them on the host: it checks the
// arguments, builds each request from the binding's trusted templates and credential, and
// sends it through an egress guard that enforces the binding's own network policy. It is safe
// for concurrent use.
type Manager struct {
	opts Options

	mu       sync.RWMutex
	bindings map[string]*entry
	closed   bool
}

// entry is one registered binding.
type entry struct {
	cd *compiledDecl
	// factory builds a Go binding's methods; nil for a declarative binding, and for a Go
	// binding until CreateAuthenticatedClient. Guarded by Manager.mu.
	factory func(Credential, *http.Client) (Methods, error)

	mu   sync.Mutex // held while the binding is set up, once
	done bool
	inst *instance
	err  error
}

// instance is a binding set up for calls: its credential, guard and client.
type instance struct {
	cred    Credential
	guard   *egress.Guard
	client  *http.Client
	auth    map[string]authority // a declarative method's trusted destination
	methods Methods              // a Go binding's methods
	redact  *redactor
}

// NewManager returns a Manager with no bindings.
func NewManager(opts Options) *Manager {
	return &Manager{opts: opts, bindings: map[string]*entry{}}
}

// Declare adds a declarative binding (one from the config file: every method has a Request).
// It validates d completely; the error joins one *Problem per problem. The Manager keeps a
// copy of d.
func (m *Manager) Declare(d *Declaration) error {
	if d == nil {
		return errors.New("binding: Declare(nil)")
	}
	if len(d.Methods) > 0 && d.IsGo() {
		return fmt.Errorf("binding %s: its methods have no request; a binding implemented in Go is registered with CreateBinding and CreateAuthenticatedClient", d.Name)
	}
	cd, err := compileDecl(d)
	if err != nil {
		return err
	}
	return m.add(&entry{cd: cd})
}

// CreateOption configures CreateBinding.
type CreateOption func(*Declaration)

// WithCredential names the credential (in the Options' CredentialSource) the binding's
// factory receives.
func WithCredential(name string) CreateOption {
	return func(d *Declaration) { d.Credential = name }
}

// WithDescription sets the binding's description, shown at approval.
func WithDescription(s string) CreateOption {
	return func(d *Declaration) { d.Description = s }
}

// CreateBinding declares a binding implemented in Go, as the seed's createBinding: its name,
// type, the methods code may call and its network policy (enforced on the requests of the
// client its factory receives). Register its implementation with CreateAuthenticatedClient.
func (m *Manager) CreateBinding(name, typ string, methods []string, p policy.Spec, opts ...CreateOption) error {
	d := &Declaration{Name: name, Type: typ, Network: p, Methods: make(map[string]*Method, len(methods))}
	for _, o := range opts {
		o(d)
	}
	for i, mn := range methods {
		if _, dup := d.Methods[mn]; dup {
			return &Problem{Binding: name, Path: fmt.Sprintf("methods[%d]", i), Msg: fmt.Sprintf("%s is listed twice; list each method once", mn)}
		}
		d.Methods[mn] = &Method{Name: mn}
	}
	cd, err := compileDecl(d)
	if err != nil {
		return err
	}
	return m.add(&entry{cd: cd})
}

// CreateAuthenticatedClient registers the implementation of a binding declared with
// CreateBinding, as the seed's createAuthenticatedClient. factory runs once, on the binding's
// first call, with the binding's credential (the zero Credential when it names none) and an
// *http.Client (egress SafeFetch) whose every request is checked against the binding's own
// policy: it cannot reach anything else. It returns the methods; those not declared are
// ignored, and a declared one that is missing fails every call. An error from factory is
// returned to every call.
func (m *Manager) CreateAuthenticatedClient(name string, factory func(cred Credential, client *http.Client) (Methods, error)) error {
	if factory == nil {
		return fmt.Errorf("binding %s: CreateAuthenticatedClient with a nil factory", name)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.bindings[name]
	switch {
	case !ok:
		return fmt.Errorf("no binding %q; declare it with CreateBinding first", name)
	case !e.cd.decl.IsGo():
		return fmt.Errorf("binding %s is declarative: its requests come from its declaration, not from a Go client", name)
	case e.factory != nil:
		return fmt.Errorf("binding %s has a client already", name)
	}
	e.factory = factory
	return nil
}

func (m *Manager) add(e *entry) error {
	name := e.cd.decl.Name
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("binding: the manager is closed")
	}
	if _, dup := m.bindings[name]; dup {
		return fmt.Errorf("binding %s is declared already; give each binding its own name", name)
	}
	m.bindings[name] = e
	return nil
}

// Declarations returns a copy of every declaration, sorted by name: what approval hashes and
// listings show.
func (m *Manager) Declarations() []*Declaration {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*Declaration, 0, len(m.bindings))
	for _, n := range slices.Sorted(maps.Keys(m.bindings)) {
		out = append(out, m.bindings[n].cd.decl.Clone())
	}
	return out
}

// Methods returns the callable methods of every binding, sorted: binding name -> method names.
func (m *Manager) Methods() map[string][]string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make(map[string][]string, len(m.bindings))
	for n, e := range m.bindings {
		out[n] = e.cd.decl.MethodNames()
	}
	return out
}

// Close closes the idle connections of every binding's client; calls after Close fail. Calls
// in progress finish.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	entries := slices.Collect(maps.Values(m.bindings))
	m.mu.Unlock()
	for _, e := range entries {
		e.mu.Lock()
		if e.inst != nil {
			e.inst.client.CloseIdleConnections()
		}
		e.mu.Unlock()
	}
}

// lookup finds a binding and method; the error names what exists.
func (m *Manager) lookup(binding, method string) (*entry, *compiledMethod, func(Credential, *http.Client) (Methods, error), error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, nil, nil, &CallError{Binding: binding, Method: method, Reason: ReasonClosed, Msg: "airlock is shutting down; no binding can be called"}
	}
	e, ok := m.bindings[binding]
	if !ok {
		names := slices.Sorted(maps.Keys(m.bindings))
		msg := fmt.Sprintf("no binding %q; no bindings are declared (add them under bindings: in the config)", binding)
		if len(names) > 0 {
			msg = fmt.Sprintf("no binding %q; the bindings are: %s", binding, strings.Join(names, ", "))
		}
		return nil, nil, nil, &CallError{Reason: ReasonUnknownBinding, Msg: msg}
	}
	cm, ok := e.cd.methods[method]
	if !ok {
		return nil, nil, nil, &CallError{Binding: binding, Reason: ReasonUnknownMethod,
			Msg: fmt.Sprintf("no method %q; the methods of %s are: %s", method, binding, describeMethods(e.cd.decl.MethodNames()))}
	}
	return e, cm, e.factory, nil
}

// instance sets the binding up on its first call (credential, policy, guard, client, Go
// factory), once; every later call gets the same instance or error.
func (m *Manager) instance(e *entry, factory func(Credential, *http.Client) (Methods, error)) (*instance, error) {
	d := e.cd.decl
	if d.IsGo() && factory == nil {
		return nil, fmt.Errorf("it has no implementation: the program declared it with CreateBinding but never called CreateAuthenticatedClient")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.done {
		e.inst, e.err = m.setUp(e.cd, factory)
		e.done = true
	}
	return e.inst, e.err
}

func (m *Manager) setUp(cd *compiledDecl, factory func(Credential, *http.Client) (Methods, error)) (*instance, error) {
	d := cd.decl
	inst := &instance{cred: Credential{Name: d.Credential, Data: map[string]string{}}}
	if d.Credential != "" {
		if m.opts.Credentials == nil {
			return nil, fmt.Errorf("it uses credential %s, but no credential store is configured", d.Credential)
		}
		c, err := m.opts.Credentials.Credential(d.Credential)
		if err != nil {
			return nil, fmt.Errorf("credential %s: %w", d.Credential, err)
		}
		inst.cred = Credential{Name: d.Credential, Data: maps.Clone(c.Data)}
		if inst.cred.Data == nil {
			inst.cred.Data = map[string]string{}
		}
		var missing []string
		for _, k := range cd.credKeys {
			if _, ok := inst.cred.Data[k]; !ok {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("credential %s has no %s %s; set %s with `airlock secret set %s %s=VALUE`",
				d.Credential, plural2(len(missing), "key", "keys"), strings.Join(missing, ", "), plural2(len(missing), "it", "them"), d.Credential, missing[0])
		}
	}
	inst.redact = newRedactor(inst.cred, cd.addrKeys)
	p, _, err := expandNetwork(d, inst.cred)
	if err != nil {
		return nil, fmt.Errorf("its network policy: %w", err)
	}
	inst.guard = &egress.Guard{
		Resolver: m.opts.Resolver,
		Local:    m.opts.Local,
		Audit:    m.opts.Audit,
		Binding:  d.Name,
		Dial:     m.opts.Dial,
	}
	inst.guard.SetPolicy(p)
	inst.client = egress.NewClient(inst.guard)
	inst.auth = map[string]authority{}
	for n, cm := range cd.methods {
		if cm.req == nil {
			continue
		}
		a, err := cm.req.url.trustedAuthority(inst.cred.Data, d.Credential)
		if err != nil {
			return nil, fmt.Errorf("method %s: %w", n, err)
		}
		inst.auth[n] = a
	}
	if d.IsGo() {
		methods, err := callFactory(factory, Credential{Name: inst.cred.Name, Data: maps.Clone(inst.cred.Data)}, inst.client)
		if err != nil {
			return nil, fmt.Errorf("its client: %s", inst.redact.text(err.Error()))
		}
		inst.methods = Methods{}
		var missing []string
		for _, n := range d.MethodNames() {
			if f := methods[n]; f != nil {
				inst.methods[n] = f
			} else {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("its client has no %s %s, declared with CreateBinding; return %s from the factory",
				plural2(len(missing), "method", "methods"), strings.Join(missing, ", "), plural2(len(missing), "it", "them"))
		}
	}
	return inst, nil
}

// callFactory runs a factory, turning a panic into an error.
func callFactory(f func(Credential, *http.Client) (Methods, error), cred Credential, c *http.Client) (ms Methods, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the factory panicked: %v", r)
		}
	}()
	return f(cred, c)
}

func plural2(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
