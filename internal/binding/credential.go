package binding

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Credential is a named set of values from the host's credential store (an API key, a token,
// a device's address). It never reaches the sandbox. Its String, GoString, Format, MarshalJSON
// and LogValue show the name and the keys, never a value, so printing or logging one by
// mistake leaks nothing.
type Credential struct {
	Name string
	Data map[string]string
}

func (c Credential) String() string {
	return fmt.Sprintf("credential %s (keys: %s; values redacted)", c.Name, strings.Join(c.keys(), ", "))
}

// GoString is String: %#v shows no value either.
func (c Credential) GoString() string { return c.String() }

// Format writes String for every verb.
func (c Credential) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// MarshalJSON writes the name and keys only.
func (c Credential) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name string   `json:"name"`
		Keys []string `json:"keys"`
	}{c.Name, c.keys()})
}

// LogValue logs the name and keys only.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", c.Name), slog.Any("keys", c.keys()))
}

func (c Credential) keys() []string { return slices.Sorted(maps.Keys(c.Data)) }

// CredentialSource looks credentials up by name; the host's credential store implements it.
// An error says what is missing and how to set it.
type CredentialSource interface {
	Credential(name string) (Credential, error)
}

// StaticCredentials is a CredentialSource from a fixed table: name -> key -> value.
type StaticCredentials map[string]map[string]string

// Credential returns a copy of the credential called name.
func (s StaticCredentials) Credential(name string) (Credential, error) {
	data, ok := s[name]
	if !ok {
		return Credential{}, fmt.Errorf("no credential %q; set it with `airlock secret set %s KEY=VALUE`", name, name)
	}
	return Credential{Name: name, Data: maps.Clone(data)}, nil
}

// MinRedactLength is the shortest credential value redacted from responses and error
// messages: shorter values (a port, "on") would match by chance. Keys used as a host or port
// are addresses, shown in audit lines anyway, and are not redacted.
const MinRedactLength = 8

// redacted replaces a credential value.
const redacted = "[redacted]"

// redactor removes credential values from what goes back to the sandbox.
type redactor struct {
	values []string // longest first, so a value containing another is replaced whole
	quoted [][]byte // each value as it appears inside a JSON string
}

func newRedactor(cred Credential, except map[string]bool) *redactor {
	r := &redactor{}
	for k, v := range cred.Data {
		if except[k] || len(v) < MinRedactLength || slices.Contains(r.values, v) {
			continue
		}
		r.values = append(r.values, v)
	}
	slices.SortFunc(r.values, func(a, b string) int { return len(b) - len(a) })
	for _, v := range r.values {
		q, _ := json.Marshal(v)
		r.quoted = append(r.quoted, q[1:len(q)-1])
	}
	return r
}

// text redacts a message.
func (r *redactor) text(s string) string {
	if r == nil {
		return s
	}
	for _, v := range r.values {
		s = strings.ReplaceAll(s, v, redacted)
	}
	// %q in a message escapes a value the way strconv.Quote does.
	for _, v := range r.values {
		if q := strconv.Quote(v); q[1:len(q)-1] != v {
			s = strings.ReplaceAll(s, q[1:len(q)-1], redacted)
		}
	}
	return s
}

// json redacts a JSON document: every string (keys included) that holds a value has it
// replaced. Documents that hold no value, raw or escaped, are returned as they are.
func (r *redactor) json(doc json.RawMessage) json.RawMessage {
	if r == nil || len(r.values) == 0 {
		return doc
	}
	found := false
	for i, v := range r.values {
		if bytes.Contains(doc, []byte(v)) || bytes.Contains(doc, r.quoted[i]) {
			found = true
			break
		}
	}
	if !found {
		return doc
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return doc
	}
	out, err := json.Marshal(r.walk(v))
	if err != nil {
		return doc
	}
	return out
}

func (r *redactor) walk(v any) any {
	switch t := v.(type) {
	case string:
		return r.text(t)
	case []any:
		for i, x := range t {
			t[i] = r.walk(x)
		}
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[r.text(k)] = r.walk(x)
		}
		return out
	}
	return v
}
