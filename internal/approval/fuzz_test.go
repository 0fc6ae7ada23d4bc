package approval

import (
	"maps"
	"slices"
	"testing"
)

// FuzzDecodeFile: the approvals file parser never panics, and what it accepts survives
// encodeFile and decodeFile unchanged.
func FuzzDecodeFile(f *testing.F) {
	d, _ := Digest("x")
	for _, s := range []string{
		`{"version":1,"approvals":{}}`,
		`{"version":1,"approvals":{"binding/lgRemote":{"digest":"` + d + `","approved_at":"2025-01-02T03:04:05Z"}}}`,
		`{"version":1,"approvals":{"server/a/b":{"digest":"` + d + `","approved_at":"2025-01-02T03:04:05+02:00"}}}`,
		`{"version":1,"approvals":{"binding/x":{"digest":"` + d + `","approved_at":"2025-01-02T03:04:05.123Z"}}}`,
		`{"version":1}`,
		`{"version":1,"approvals":null}`,
		`{"version":2,"approvals":{}}`,
		`{"approvals":{}}`,
		`{"version":1,"approvals":{"x":{}}}`,
		`{"version":1,"approvals":{"binding/\u0000":{"digest":"` + d + `","approved_at":"2025-01-02T03:04:05Z"}}}`,
		`[]`,
		`{"version":1,"approvals":{},"grants":{"codemode":[{"host":"192.168.1.20","port":8080,"granted_at":"2025-01-02T03:04:05Z"}]}}`,
		`{"version":1,"approvals":{},"grants":{"server/github":[{"host":"[::1]","port":0,"granted_at":"x"}]}}`,
		`{"version":1,"approvals":{},"grants":{"nope":[]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, grants, err := decodeFile(data)
		if err != nil {
			return
		}
		enc, err := encodeFile(m, grants)
		if err != nil {
			t.Fatal(err)
		}
		again, againGrants, err := decodeFile(enc)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", enc, err)
		}
		if !maps.EqualFunc(m, again, func(a, b Approval) bool {
			return a.Digest == b.Digest && a.ApprovedAt.Truncate(1e9).Equal(b.ApprovedAt)
		}) {
			t.Fatalf("round trip changed %v into %v", m, again)
		}
		for scope, list := range grants {
			if len(list) > 0 && !slices.Equal(list, againGrants[scope]) {
				t.Fatalf("round trip changed grants %v into %v", grants, againGrants)
			}
		}
	})
}
