package binding

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// MaxNameLength bounds binding, method and parameter names.
const MaxNameLength = 64

var jsIdentifier = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// reservedWords are JavaScript's reserved words (strict mode, modules included) and the names a
// script cannot rebind: a binding called one of them could not be written as `name.method()`.
var reservedWords = []string{
	"arguments", "async", "await", "break", "case", "catch", "class", "const", "continue", "debugger",
	"default", "delete", "do", "else", "enum", "eval", "export", "extends", "false", "finally",
	"for", "function", "if", "implements", "import", "in", "Infinity", "instanceof", "interface",
	"let", "NaN", "new", "null", "of", "package", "private", "protected", "public", "return", "static",
	"super", "switch", "this", "throw", "true", "try", "typeof", "undefined", "var", "void",
	"while", "with", "yield",
}

// RuntimeGlobals are the globals code mode's JavaScript runtime defines or may define (the
// ECMAScript built-ins, console, fetch and the Fetch API types, timers, and the names Node and
// browsers use for the global object and modules). A binding may not take one of these names:
// it would shadow, or be shadowed by, the runtime's own.
var RuntimeGlobals = []string{
	// ECMAScript built-ins.
	"AggregateError", "Array", "ArrayBuffer", "Atomics", "BigInt", "BigInt64Array",
	"BigUint64Array", "Boolean", "DataView", "Date", "decodeURI", "decodeURIComponent",
	"encodeURI", "encodeURIComponent", "Error", "escape", "EvalError", "FinalizationRegistry",
	"Float16Array", "Float32Array", "Float64Array", "Function", "globalThis", "Int16Array",
	"Int32Array", "Int8Array", "Intl", "isFinite", "isNaN", "Iterator", "JSON", "Map", "Math",
	"Number", "Object", "parseFloat", "parseInt", "Promise", "Proxy", "RangeError",
	"ReferenceError", "Reflect", "RegExp", "Set", "SharedArrayBuffer", "String", "Symbol",
	"SyntaxError", "TypeError", "Uint16Array", "Uint32Array", "Uint8Array", "Uint8ClampedArray",
	"unescape", "URIError", "WeakMap", "WeakRef", "WeakSet",
	// goja's.
	"GoError",
	// What code mode adds, and what scripts expect of a host.
	"AbortController", "AbortSignal", "atob", "Blob", "btoa", "Buffer", "Bun", "clearImmediate",
	"clearInterval", "clearTimeout", "console", "crypto", "Deno", "exports", "fetch", "FormData",
	"global", "Headers", "module", "performance", "process", "queueMicrotask", "Request",
	"require", "Response", "self", "setImmediate", "setInterval", "setTimeout",
	"structuredClone", "TextDecoder", "TextEncoder", "URL", "URLSearchParams", "window",
}

// objectMembers are names a method or parameter may not take: members of Object.prototype, and
// "then", which would make a binding object look like a promise to `await`.
var objectMembers = []string{
	"__defineGetter__", "__defineSetter__", "__lookupGetter__", "__lookupSetter__", "__proto__",
	"constructor", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable", "prototype",
	"then", "toLocaleString", "toString", "valueOf",
}

// CheckName reports whether name can be a binding's name: a JavaScript identifier
// (^[A-Za-z_$][A-Za-z0-9_$]*$, at most MaxNameLength characters) that is not a reserved word
// nor one of RuntimeGlobals. The error says what to write instead.
func CheckName(name string) error {
	if err := checkIdentifier(name, "a binding"); err != nil {
		return err
	}
	switch {
	case slices.Contains(reservedWords, name):
		return fmt.Errorf("%q is a JavaScript reserved word; pick another name (lgRemote, philipsHue)", name)
	case slices.Contains(RuntimeGlobals, name):
		return fmt.Errorf("%q is a global of the code-mode runtime; pick another name (lgRemote, philipsHue)", name)
	case slices.Contains(objectMembers, name):
		return fmt.Errorf("%q is a member of every JavaScript object; pick another name", name)
	}
	return nil
}

// checkMemberName checks a method or parameter name: an identifier that is not a member of
// Object.prototype (nor "then").
func checkMemberName(name, what string) error {
	if err := checkIdentifier(name, what); err != nil {
		return err
	}
	if slices.Contains(objectMembers, name) {
		return fmt.Errorf("%q is a member of every JavaScript object; pick another name for %s", name, what)
	}
	return nil
}

func checkIdentifier(name, what string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name; %s needs a name that is a JavaScript identifier (letters, digits, _ and $, not starting with a digit)", what)
	case len(name) > MaxNameLength:
		return fmt.Errorf("the name of %s is longer than %d characters; shorten it", what, MaxNameLength)
	case !jsIdentifier.MatchString(name):
		return fmt.Errorf("%q is not a JavaScript identifier; the name of %s may hold letters, digits, _ and $ and may not start with a digit (setVolume, lgRemote)", name, what)
	}
	return nil
}

// credentialName and credentialKey match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ and
// ^[A-Za-z_][A-Za-z0-9_-]{0,63}$. They are written out rather than compiled regular
// expressions: a bounded repetition compiles to a program as long as its bound, which cost
// every airlock start (a worker's too) half a millisecond of package initialisation.
var (
	credentialName = charClassMatcher{first: "_", rest: "_.-", digitFirst: true, max: 128}
	credentialKey  = charClassMatcher{first: "_", rest: "_-", max: 64}
)

// charClassMatcher matches a non-empty string of at most max ASCII bytes: its first byte a
// letter, one of first or (with digitFirst) a digit; every other byte a letter, a digit or
// one of rest.
type charClassMatcher struct {
	first, rest string
	digitFirst  bool
	max         int
}

func (m charClassMatcher) MatchString(s string) bool {
	if s == "" || len(s) > m.max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		digit := '0' <= c && c <= '9'
		switch {
		case letter:
		case i == 0 && (strings.IndexByte(m.first, c) >= 0 || digit && m.digitFirst):
		case i > 0 && (digit || strings.IndexByte(m.rest, c) >= 0):
		default:
			return false
		}
	}
	return true
}

// checkCredentialName checks the name of a credential in the store: letters, digits, '_', '.'
// and '-'.
func checkCredentialName(name string) error {
	if !credentialName.MatchString(name) {
		return fmt.Errorf("%q is not a credential name; use letters, digits, '_', '.' and '-' (lg-tv), at most 128 characters", name)
	}
	return nil
}
