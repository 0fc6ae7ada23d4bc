// Package schemats renders JSON Schemas as TypeScript type expressions and function signatures,
// so a code-mode tool description can show a model what every downstream tool takes and returns.
//
// It is pure: no I/O, no logging. Every output is a single line (Function adds one comment line),
// bounded in size and in the work spent on it, and nothing taken from a schema — descriptions,
// property names, string literals — can end a comment or leave the type it belongs to.
package schemats

import "strings"

const (
	// maxLen bounds the length of what Type returns, in bytes.
	maxLen = 4000
	// maxDepth is the deepest schema level rendered; the root is level 1 and anything below
	// level maxDepth renders as any.
	maxDepth = 8
	// maxSteps bounds the work spent on one schema: schema nodes visited, properties, enum
	// values and $ref pointer segments each cost a step. It keeps fan-out through $ref
	// (a definition used twice by a definition used twice ...) linear.
	maxSteps = 100_000
	// maxDescription is the length a tool description is cut to by Function.
	maxDescription = 300
)

// Type renders a JSON Schema as a TypeScript type expression. schema is a decoded JSON value
// (map[string]any, []any, string, float64, bool, nil — what encoding/json gives for `any`), a
// json.RawMessage/[]byte holding JSON, or any other Go value, which is first marshalled to JSON
// and decoded again (so *jsonschema.Schema from github.com/google/jsonschema-go works). An
// unusable schema renders as "any". The result is one line of at most 4000 bytes; a longer
// rendering is cut at a member boundary and the rest shown as any (`| any`,
// `[key: string]: any`, `...any[]`), so it is always a valid type.
func Type(schema any) string {
	v, ok := decode(schema)
	if !ok {
		return "any"
	}
	return render(v)
}

// render prints the type of an already decoded schema.
func render(v any) string {
	b := newBuilder(v)
	b.active = map[string]bool{"": true} // the root is being expanded: "#" inside it recurses
	n := b.schema(v, 1)
	p := printer{buf: make([]byte, 0, 64)}
	p.node(n, maxLen)
	return string(p.buf)
}

// Function renders one callable, for a tool description:
//
//	/** <description, first paragraph, trimmed to ~300 chars> */
//	name(args: { query: string; page?: number }): Promise<T>
//
// input is the tool's input schema (object); when it has no properties the signature is
// name(args?: {}): Promise<T>; when no property is required, `args?:`. output is the tool's
// output schema, or nil, which gives Promise<any>. indent is prepended to every line.
//
// The comment line is left out when the description is empty, and the result has no trailing
// newline. A name that is not a JavaScript identifier is written as a quoted method name
// ("get-issue"(args: ...)), which is still a valid method signature in an object type.
func Function(indent, name, description string, input, output any) string {
	var sb strings.Builder
	if c := summary(description); c != "" {
		sb.WriteString(indent)
		sb.WriteString("/** ")
		sb.WriteString(c)
		sb.WriteString(" */\n")
	}
	sb.WriteString(indent)
	sb.WriteString(propertyKey(name))
	sb.WriteString("(")
	sb.WriteString(arguments(input))
	sb.WriteString("): Promise<")
	if output == nil {
		sb.WriteString("any")
	} else {
		sb.WriteString(Type(output))
	}
	sb.WriteString(">")
	return sb.String()
}

// arguments renders the parameter list of a tool function from its input schema.
func arguments(input any) string {
	v, ok := decode(input)
	if !ok {
		return "args?: {}"
	}
	m, ok := v.(map[string]any)
	if !ok {
		return "args?: {}"
	}
	b := newBuilder(v)
	m = b.follow(m)
	_, anyOf := m["anyOf"]
	_, oneOf := m["oneOf"]
	_, allOf := m["allOf"]
	_, ref := m["$ref"] // one follow could not resolve
	combined := anyOf || oneOf || allOf || ref
	required := len(b.required(m)) > 0
	props, _ := norm(m["properties"]).(map[string]any)
	patterns, _ := norm(m["patternProperties"]).(map[string]any)
	ap, ok := m["additionalProperties"]
	extra := ok && !isTrivial(ap) && !isFalse(ap) // a map of some type, such as { [key: string]: string }
	if len(props) == 0 && len(patterns) == 0 && !required && !combined && !extra {
		return "args?: {}"
	}
	t := render(v)
	if required || combined {
		return "args: " + t
	}
	return "args?: " + t
}
