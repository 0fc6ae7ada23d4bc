// Package binding declares and calls bindings: trusted, host-side clients (an LG TV remote, a
// Philips Hue bridge, Home Assistant, a local dev server) that sandboxed code-mode JavaScript
// calls as `await lgRemote.setVolume(20)`. Each binding declares its methods with typed
// parameters, its own network policy, which is enforced on its requests, and the credential
// it uses, which stays on the host.
//
// # The model
//
// A Declaration is pure data: Name (a JavaScript identifier that is not a reserved word nor a
// runtime global), Type, Description, Credential (a name in the host's credential store, or
// none), Network (a policy.Spec, as written) and Methods. A declarative Method has Params and a
// Request made of templates; a method implemented in Go (CreateBinding and
// CreateAuthenticatedClient, after the seed's createBinding / createAuthenticatedClient) has no
// Request. Declarations marshal to JSON with the config file's keys, so approval can hash
// them.
//
// Type is descriptive and shown at approval: "local-network" is a device or service on the LAN
// or this machine, "http" an API on the internet. What is enforced is Network: every request
// of a binding — rendered from its templates, or made by its Go client — goes through an
// egress.Guard with the binding's own policy. As for servers, an absent policy denies
// everything, so a binding says what it reaches (allow: ["{{credential.tvIP}}:3000"],
// allow_private_ips, allow_localhost). A binding's max_response_size is DefaultMaxResponseSize
// (1 MiB) unless its policy sets one.
//
// # Templates
//
// {{name}} stands for the parameter name, {{credential.KEY}} for the value KEY of the
// binding's credential (only a binding with a credential may use one). Templates are checked
// when the declaration is validated: every placeholder names a declared parameter or a
// credential key, every parameter is used.
//
//   - URL: the scheme is http or https, written out. The host is a literal name or address,
//     or exactly {{credential.KEY}}; the port is literal digits or exactly {{credential.KEY}}.
//     A parameter may never be in the scheme, user info, host or port — only in the path
//     (a whole segment or part of one) or a query value. No user info, no fragment.
//     Parameters in the path are escaped per segment (url.PathEscape) and may not make a
//     segment "", "." or ".."; a parameter of type path fills whole segments, each escaped.
//     Query values are escaped with url.QueryEscape; a query item whose value is exactly an
//     optional parameter that was not given is left out. After rendering, the URL is parsed
//     again and its scheme, host and port must equal those rendered from the trusted parts
//     alone, with no dot segment: the defence behind the escaping.
//   - Headers: literal names (not Host, Content-Length, Connection or another hop-by-hop
//     header); values are templates, and a value put in one must not hold CR, LF, NUL or
//     another control character. A header that is exactly an optional parameter that was not
//     given is left out.
//   - JSON: a tree of JSON values. A string that is exactly "{{name}}" becomes the typed
//     value (a number stays a number, an object an object); a key whose value is an optional
//     parameter that was not given is left out (null in a list). Other strings are text
//     templates. Content-Type defaults to application/json.
//   - Body: raw text, exclusive with JSON. A free-form string parameter may be the whole body,
//     but inside other text only with an enum or pattern (raw text escapes nothing).
//     Content-Type defaults to text/plain; charset=utf-8.
//   - Network entries: an allow or deny entry may be exactly {{credential.KEY}} or
//     {{credential.KEY}}:PORTS; it is expanded (the value must be a host name or IP address)
//     when the binding is first called, then compiled with the rest of the policy.
//
// # Arguments
//
// A call's arguments are JSON values, one per JavaScript argument. A single argument that is a
// JSON object is read as named arguments — setVolume({level: 20}) — unless the method's first
// parameter is of type object, in which case it is that parameter. Anything else is
// positional — setVolume(20). null (and undefined) count as absent; an absent parameter takes
// its default, and one that is required is an error. Each value is checked for its type
// (integer: a number without a fraction within ±2^53), enum, min and max, length and pattern;
// an unknown named argument is an error. Messages say what is expected and what came —
// `lgRemote.setVolume: level must be an integer from 0 to 100, got "loud"` — and never show
// the value of a Secret parameter.
//
// # Calls
//
// Manager holds the bindings. A binding is set up on its first call, once: its credential is
// looked up, its policy expanded and compiled, its egress.Guard and SafeFetch client built, and
// for a Go binding its factory run; an error there is returned to every call. A response is
// returned as JSON when the body is JSON, else as a JSON string; a status outside 2xx is an
// error quoting the start of the body. Credential values of MinRedactLength characters or
// more (except those used as a host or port) are redacted from responses and errors. Each
// call emits one binding_call audit event (binding, method, HTTP method, host, port, status,
// decision, duration; never an argument, header or credential value); the guard adds its
// own egress events.
package binding
