package binding

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Arguments reach a method as a list of JSON values, one per JavaScript argument. They are
// read in one of two ways:
//
//   - named: exactly one argument that is a JSON object, when the method's first parameter is
//     not of type object — lgRemote.setVolume({level: 20}). Its keys are parameter names; an
//     unknown key is an error.
//   - positional: anything else — lgRemote.setVolume(20). The i-th argument is the i-th
//     parameter; more arguments than parameters is an error.
//
// A null argument (undefined in JavaScript, or null) counts as absent. An absent parameter
// takes its default; a required one without a default is an error.

// bindArgs checks args against the method's parameters and returns the typed values by name.
// An optional parameter without a default that was not given has no entry. Errors begin with
// "binding.method: " and never quote a secret parameter's value.
func (m *compiledMethod) bindArgs(args []json.RawMessage) (map[string]any, error) {
	given := make(map[string]json.RawMessage, len(m.params))
	if m.named(args) {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(args[0], &obj); err != nil {
			return nil, m.errorf("the argument is not a valid JSON object: %v", err)
		}
		var unknown []string
		for k, v := range obj {
			if _, ok := m.byName[k]; !ok {
				unknown = append(unknown, k)
				continue
			}
			given[k] = v
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			return nil, m.errorf("unknown argument%s %s; %s (a single object argument is read as named arguments)",
				plural(len(unknown)), strings.Join(cut(quoteList(unknown), 5), ", "), m.paramList())
		}
	} else {
		if len(args) > len(m.params) {
			return nil, m.errorf("takes at most %d argument%s, got %d; %s", len(m.params), plural(len(m.params)), len(args), m.paramList())
		}
		for i, a := range args {
			given[m.params[i].Name] = a
		}
	}
	vals := make(map[string]any, len(m.params))
	for _, p := range m.params {
		raw, ok := given[p.Name]
		if ok && !isNull(raw) {
			v, msg := p.value(raw)
			if msg != "" {
				return nil, m.errorf("%s %s", p.Name, msg)
			}
			vals[p.Name] = v
			continue
		}
		switch {
		case p.def != nil:
			vals[p.Name] = p.def
		case p.require:
			return nil, m.errorf("%s is required (%s); %s", p.Name, p.expect, m.paramList())
		}
	}
	return vals, nil
}

// named reports whether args are one object of named arguments.
func (m *compiledMethod) named(args []json.RawMessage) bool {
	if len(args) != 1 {
		return false
	}
	a := bytes.TrimSpace(args[0])
	if len(a) == 0 || a[0] != '{' {
		return false
	}
	return len(m.params) == 0 || m.params[0].Type != TypeObject
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// paramList says what the method takes: "the parameters are level (an integer from 0 to
// 100)".
func (m *compiledMethod) paramList() string {
	if len(m.params) == 0 {
		return m.binding + "." + m.name + " takes no arguments"
	}
	parts := make([]string, len(m.params))
	for i, p := range m.params {
		opt := ""
		if !p.require {
			opt = ", optional"
		}
		parts[i] = fmt.Sprintf("%s (%s%s)", p.Name, p.expect, opt)
	}
	return "the parameters are " + strings.Join(parts, ", ")
}

func (m *compiledMethod) errorf(format string, args ...any) error {
	return &CallError{Binding: m.binding, Method: m.name, Msg: fmt.Sprintf(format, args...), Reason: ReasonInvalidArguments}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func cut(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "…")
	}
	return s
}
