package secrets

import (
	"bytes"
	"errors"
	"maps"
	"testing"
)

// FuzzEnvelope feeds arbitrary files to the header parser and the decryption: neither may
// panic, a parsed header must describe the bytes it came from, and every failure is one of
// the documented errors (or the newer-version message).
func FuzzEnvelope(f *testing.F) {
	k := testKey(f, 42)
	plain, _ := encodePayload(map[string]map[string]string{"hue": {"apiKey": "x"}})
	good, err := seal(k, plain)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)                                  // a real file
	f.Add([]byte("airlock-secrets v1\n"))        // header only
	f.Add([]byte("airlock-secrets v2\nxxxxxxx")) // a newer version
	f.Add([]byte("airlock-secrets v01\n"))       // a non-canonical version
	f.Add([]byte("airlock-secrets v99999999999999999999\n"))
	f.Add([]byte("airlock-secrets v1"))   // no newline
	f.Add([]byte("{\"credentials\":{}}")) // plaintext where ciphertext belongs
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := parseEnvelope(data)
		if err == nil {
			if e.version != formatVersion || !bytes.HasPrefix(data, e.aad) || !bytes.HasSuffix(data, e.ciphertext) ||
				len(e.aad)+nonceLen+len(e.ciphertext) != len(data) || len(e.ciphertext) < tagLen {
				t.Fatalf("parsed %q into an envelope that does not describe it", data)
			}
		}
		p, err := unseal(k, data)
		if err != nil {
			return
		}
		if _, err := decodePayload(p); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("decodePayload error is not ErrCorrupt: %v", err)
		}
	})
}

// FuzzDecodePayload feeds arbitrary decrypted content to the payload decoder: it may not
// panic, and what it accepts must encode and decode to the same credentials.
func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{
		`{"credentials":{}}`,
		`{"credentials":{"hue":{"bridgeIP":"192.168.1.50","apiKey":"k"}}}`,
		`{"credentials":{"ha":{"token":"${HA_TOKEN}","lit":"$${X}"}}}`,
		`{"credentials":{"ha":{"token":"${bad name}"}}}`, // malformed reference
		`{"credentials":{"-x":{"k":"v"}}}`,               // bad name
		`{"credentials":{"x":{}}}`,                       // no keys
		`{"credentials":{"x":null}}`,                     // null credential
		`{"credentials":null}`,                           // null credentials
		`{"credentials":{"x":{"k":"v"}},"extra":1}`,      // unknown field
		`{"credentials":{"x":{"k":"v"}}}{}`,              // trailing data
		`{"credentials":{"x":{"k":"v","k":"w"}}}`,        // duplicate key: the last wins
		`{"credentials":{"x":{"k":"\ud800"}}}`,           // lone surrogate
		`{"credentials":{"x":{"k":1}}}`,                  // wrong type
		`{"Credentials":{"x":{"k":"v"}}}`,                // field name case
		"{\"credentials\":{\"x\":{\"k\":\"\xff\"}}}",     // invalid UTF-8
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		creds, err := decodePayload(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error is not ErrCorrupt: %v", err)
			}
			return
		}
		enc, err := encodePayload(creds)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodePayload(enc)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", enc, err)
		}
		if !maps.EqualFunc(creds, again, func(a, b map[string]string) bool { return maps.Equal(a, b) }) {
			t.Fatalf("round trip changed %q into %q", creds, again)
		}
	})
}

// FuzzParseValue checks the reference syntax: it never panics, a reference names a valid
// variable, and EscapeLiteral makes any text read back as itself.
func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"", "x", "${X}", "$${X}", "$$${X}", "${}", "${A B}", "$", "${", "}", "$HOME", "a${X}b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		text, ref, err := parseValue(s)
		if err == nil && ref && !isIdent(text) {
			t.Fatalf("parseValue(%q) is a reference to %q, not a variable name", s, text)
		}
		text, ref, err = parseValue(EscapeLiteral(s))
		if err != nil || ref || text != s {
			t.Fatalf("EscapeLiteral(%q) = %q reads back as %q (ref %v, err %v)", s, EscapeLiteral(s), text, ref, err)
		}
	})
}
