package codemode

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestDecodeFast(t *testing.T) {
	cases := []struct {
		in   string
		fast bool
	}{
		{`{"t":"reply","id":3,"value":{"a":[1,"]"]}}`, true},
		{` { "t" : "call" , "id" : 12 , "kind":"binding","binding":"tv","method":"on","args":[ 1 , "x,y" , {"a":[]} , null ] } `, true},
		{`{"t":"reply","id":1,"value":null}`, true},
		{`{"t":"call","args":[],"id":1}`, true},
		{`{}`, true},
		{`{"t":"ready","t":"done"}`, true},
		{`{"t":"a\"b"}`, false},              // an escape
		{`{"T":"ready"}`, false},             // encoding/json's case-insensitive keys
		{`{"t":"reply","id":01}`, false},     // not JSON
		{`{"t":"reply","id":-1}`, false},     // not a uint64
		{`{"t":"reply","value":[1,}`, false}, // not JSON
		{`{"t":"reply","error":{"message":"x"}}`, false},
		{`{"t":"reply"} x`, false},
		{`{"t":"reply","value":1 2}`, false},
		{"{\"t\":\"\xff\"}", false},
		{`{"t":"run","run":{"name":"s.ts","code":"a\n\"b\"\u00e9\/\t","map":{"version":3},"bindings":{"tv":["on","off"],"x":[]},"wall_ms":30000,"cpu_ms":10000,"memory":268435456,"output":1048576,"no_monitor":true}}`, true},
		{`{"t":"run","run":{"bindings":null,"code":"\ud83d\ude00"}}`, false}, // a surrogate pair: encoding/json's
		{`{"t":"run","run":{"wall_ms":1e3}}`, false},
		{`{"t":"run","run":{"bindings":{"a":["x"],"a":["y"]}}}`, false},
		{`{"t":"run","run":{"code":"\u00zz"}}`, false},
	}
	for _, c := range cases {
		m, ok := decodeFast([]byte(c.in))
		if ok != c.fast {
			t.Errorf("%s: fast %v, want %v", c.in, ok, c.fast)
			continue
		}
		if ok {
			slow, err := decodeSlow([]byte(c.in))
			if err != nil || !sameMessage(m, slow) {
				t.Errorf("%s: fast %+v, slow %+v (%v)", c.in, m, slow, err)
			}
		}
	}
}

func sameMessage(a, b *message) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb) && (a.Args == nil) == (b.Args == nil)
}

// FuzzDecodeFast is a differential check: whatever the fast decoder accepts, encoding/json's
// strict decoder accepts too, with the same result.
func FuzzDecodeFast(f *testing.F) {
	for _, s := range []string{
		`{"t":"reply","id":3,"value":{"a":[1,"]"]}}`,
		`{"t":"call","id":12,"kind":"binding","binding":"tv","method":"on","args":[1,"x",{"a":[]},null]}`,
		`{"t":"reply","id":1,"value":null}`,
		`{"args":null}`,
		`{"value":"\u00e9\\\""}`,
		`{"id":18446744073709551615}`,
		`{"t":"run","run":{"name":"s.ts","code":"a\n\"b\"\u00e9","map":{"version":3},"bindings":{"tv":["on"]},"wall_ms":30000,"cpu_ms":10000,"memory":268435456,"output":1048576,"no_monitor":false}}`,
		`{"run":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, ok := decodeFast(b)
		if !ok {
			return
		}
		slow, err := decodeSlow(b)
		if err != nil {
			t.Fatalf("%q: the fast decoder accepted what encoding/json refuses: %v", b, err)
		}
		if !sameMessage(m, slow) {
			t.Fatalf("%q: fast %+v, slow %+v", b, m, slow)
		}
	})
}
