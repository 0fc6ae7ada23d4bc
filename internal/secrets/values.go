package secrets

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
)

// Values are the resolved values of one credential, by key: what a binding's client fills
// {{credential.KEY}} with. Printed with fmt (any verb, at any depth, even as an unexported
// field of another struct), logged with slog or encoded as JSON, Values show their keys only:
// secrets.Values{apiKey:<redacted>, bridgeIP:<redacted>}. The zero Values is empty.
type Values struct {
	m hidden[map[string]string]
}

func newValues(m map[string]string) Values { return Values{m: hide(m)} }

func (v Values) get() map[string]string {
	if v.m == nil {
		return nil
	}
	return v.m()
}

// Get returns the value of key and whether the credential has it.
func (v Values) Get(key string) (string, bool) {
	s, ok := v.get()[key]
	return s, ok
}

// Keys returns the keys, sorted.
func (v Values) Keys() []string { return slices.Sorted(maps.Keys(v.get())) }

// Len is the number of keys.
func (v Values) Len() int { return len(v.get()) }

// Map returns a copy of the values as a plain map, for an API that needs one. A plain map
// prints its values: keep it no longer than the call that needs it.
func (v Values) Map() map[string]string { return maps.Clone(v.get()) }

func (v Values) redacted() string {
	var b strings.Builder
	b.WriteString("secrets.Values{")
	for i, k := range v.Keys() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteString(":<redacted>")
	}
	b.WriteString("}")
	return b.String()
}

// String shows the keys, never the values.
func (v Values) String() string { return v.redacted() }

// GoString is String.
func (v Values) GoString() string { return v.redacted() }

// Format prints the redacted form under every verb.
func (v Values) Format(f fmt.State, _ rune) { fmt.Fprint(f, v.redacted()) }

// LogValue is the redacted form.
func (v Values) LogValue() slog.Value { return slog.StringValue(v.redacted()) }

// MarshalJSON is the redacted form.
func (v Values) MarshalJSON() ([]byte, error) { return jsonString(v.redacted()), nil }
