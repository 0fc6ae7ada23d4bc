package binding

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/airlock-sh/airlock/internal/policy"
)

// Declaration is what a binding is: its name in code mode, what kind of thing it talks to, the
// credential it uses, the network it may reach and the methods code may call. It is pure data,
// JSON-marshalable as written (approval hashes its encoding/json form, so the field names and
// JSON tags are stable: they are the config file's keys).
type Declaration struct {
	// Name is the binding's global in code mode: a JavaScript identifier that is not a reserved
	// word nor one of RuntimeGlobals (see CheckName).
	Name string `json:"name"`
	// Type says what the binding talks to: TypeLocalNetwork or TypeHTTP. It is descriptive (it
	// is shown at approval); what is enforced is Network.
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
	// Credential names the credential (in the host's store) the binding's requests use; ""
	// when it uses none. Only a binding with a credential may use {{credential.KEY}}.
	Credential string `json:"credential,omitempty"`
	// Network is the binding's own policy, as written: its allow and deny entries may hold
	// {{credential.KEY}} (as the whole host of an entry), expanded when the binding is first
	// used. The zero Spec denies everything: a binding must say what it reaches.
	Network policy.Spec `json:"network"`
	// Methods by name; each key equals its Method's Name.
	Methods map[string]*Method `json:"methods"`
}

// Binding types.
const (
	// TypeLocalNetwork is a device or service on the LAN or this machine (a TV, a Hue bridge,
	// Home Assistant, a dev server). Its policy usually grants an RFC 1918 address, a .local
	// name (allow_private_ips) or loopback (allow_localhost).
	TypeLocalNetwork = "local-network"
	// TypeHTTP is an HTTP API on the internet.
	TypeHTTP = "http"
)

// Types are the binding types a declaration may have.
var Types = []string{TypeLocalNetwork, TypeHTTP}

// Method is one callable method.
type Method struct {
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Params      []Param `json:"params,omitempty"`
	// Request is the HTTP request a declarative method makes; nil for a method implemented in
	// Go (CreateBinding), which receives its arguments unchecked.
	Request *Request `json:"request,omitempty"`
}

// Parameter types.
const (
	TypeString  = "string"
	TypeNumber  = "number"
	TypeInteger = "integer" // a number without a fraction, within ±2^53
	TypeBoolean = "boolean"
	TypeObject  = "object"
	TypeArray   = "array"
	// TypePath is a relative path ("lights/1/state"): segments joined by '/', each escaped on
	// its own. It may only fill whole segments of a URL path. Refused: empty, ".", ".." and
	// empty segments (so no leading, trailing or double '/'), '\', '?', '#', '%' and control
	// characters.
	TypePath = "path"
)

// ParamTypes are the parameter types.
var ParamTypes = []string{TypeString, TypeNumber, TypeInteger, TypeBoolean, TypeObject, TypeArray, TypePath}

// Default limits of parameter values.
const (
	// DefaultMaxLength is the longest string or path (in characters) when MaxLength is 0.
	DefaultMaxLength = 1024
	// DefaultMaxJSONLength is the largest object or array (bytes of its JSON) when MaxLength is 0.
	DefaultMaxJSONLength = 64 << 10
	// MaxMaxLength is the largest MaxLength a parameter may set.
	MaxMaxLength = 1 << 20
)

// Param is one parameter of a method. A parameter is required unless Optional is set or it
// has a Default.
type Param struct {
	// Name is a JavaScript identifier; {{Name}} in the request's templates is its value.
	Name        string `json:"name"`
	Type        string `json:"type"` // one of ParamTypes
	Description string `json:"description,omitempty"`
	Optional    bool   `json:"optional,omitempty"`
	// Default is used when the argument is absent (or null); it makes the parameter optional.
	// nil means no default.
	Default any `json:"default,omitempty"`
	// Enum lists the values allowed (not for object and array).
	Enum []any `json:"enum,omitempty"`
	// Min and Max bound a number or integer (inclusive).
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// MaxLength bounds a string or path in characters (0: DefaultMaxLength), an object or
	// array in bytes of JSON (0: DefaultMaxJSONLength).
	MaxLength int `json:"max_length,omitempty"`
	// Pattern is an RE2 regular expression a string or path must match as a whole (it is
	// anchored: "[a-z]+" means ^(?:[a-z]+)$).
	Pattern string `json:"pattern,omitempty"`
	// Secret keeps the value out of error messages and audit lines.
	Secret bool `json:"secret,omitempty"`
}

// HTTP methods a request may use.
var HTTPMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// Request is the HTTP request a declarative method makes, as templates (see the package
// documentation for where placeholders may go and how they are escaped).
type Request struct {
	Method string `json:"method"` // one of HTTPMethods
	// URL is an http or https URL template: "http://{{credential.tvIP}}:3000/command". Its
	// scheme, host and port come from the template and the credential only.
	URL string `json:"url"`
	// Headers are header templates by name.
	Headers map[string]string `json:"headers,omitempty"`
	// JSON is the body as a tree of JSON values (map[string]any, []any, strings, numbers,
	// booleans, nil): a string that is exactly "{{name}}" becomes the typed value; other
	// strings are text templates. The Content-Type is application/json unless a header says
	// otherwise. nil means no JSON body.
	JSON any `json:"json,omitempty"`
	// Body is a raw text body template, exclusive with JSON; "" means none. A string
	// parameter may appear in it with other text only when an enum or pattern constrains it
	// (raw text has no escaping).
	Body string `json:"body,omitempty"`
}

// Validate checks the declaration completely, without I/O: names, types, parameters, every
// template (placeholders name declared parameters, or credential keys when there is a
// credential; parameters never in the URL's scheme, host or port), the network entries, and
// that the policy allows the literal host of each URL. A method without a Request is a Go
// method; a declaration mixes none of both. The error joins one *Problem per problem.
func (d *Declaration) Validate() error {
	_, err := compileDecl(d)
	return err
}

// IsGo reports whether the declaration's methods are implemented in Go (they have no
// Request).
func (d *Declaration) IsGo() bool {
	for _, m := range d.Methods {
		if m != nil && m.Request != nil {
			return false
		}
	}
	return true
}

// MethodNames returns the names of the methods, sorted.
func (d *Declaration) MethodNames() []string {
	return slices.Sorted(maps.Keys(d.Methods))
}

// Clone returns a deep copy of d.
func (d *Declaration) Clone() *Declaration {
	if d == nil {
		return nil
	}
	c := *d
	c.Network = cloneSpec(d.Network)
	if d.Methods != nil {
		c.Methods = make(map[string]*Method, len(d.Methods))
		for k, m := range d.Methods {
			c.Methods[k] = m.clone()
		}
	}
	return &c
}

func cloneSpec(s policy.Spec) policy.Spec {
	s.Allow = slices.Clone(s.Allow)
	s.Deny = slices.Clone(s.Deny)
	return s
}

func (m *Method) clone() *Method {
	if m == nil {
		return nil
	}
	c := *m
	if m.Params != nil {
		c.Params = make([]Param, len(m.Params))
		for i, p := range m.Params {
			c.Params[i] = p.clone()
		}
	}
	if m.Request != nil {
		r := *m.Request
		r.Headers = maps.Clone(m.Request.Headers)
		r.JSON = cloneValue(m.Request.JSON)
		c.Request = &r
	}
	return &c
}

func (p Param) clone() Param {
	p.Default = cloneValue(p.Default)
	if p.Enum != nil {
		e := make([]any, len(p.Enum))
		for i, v := range p.Enum {
			e[i] = cloneValue(v)
		}
		p.Enum = e
	}
	if p.Min != nil {
		v := *p.Min
		p.Min = &v
	}
	if p.Max != nil {
		v := *p.Max
		p.Max = &v
	}
	return p
}

// cloneValue deep-copies a JSON value tree (maps and lists; anything else is a value).
func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, x := range t {
			c[k] = cloneValue(x)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, x := range t {
			c[i] = cloneValue(x)
		}
		return c
	case json.RawMessage:
		return slices.Clone(t)
	}
	return v
}

// describeList lists names for a message: "a, b or c".
func describeList(names []string, conj string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " " + conj + " " + names[len(names)-1]
}

// quoteList quotes each name.
func quoteList(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fmt.Sprintf("%q", n)
	}
	return out
}
