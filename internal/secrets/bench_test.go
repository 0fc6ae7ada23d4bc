package secrets

import (
	"fmt"
	"path/filepath"
	"testing"
)

// benchStore is a store of n credentials of three keys each.
func benchStore(b *testing.B, n int) (*Store, string, Key) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "secrets.enc")
	k := testKey(b, 77)
	s, err := Open(path, k)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if err := s.Set(fmt.Sprintf("device-%d", i), map[string]string{"url": "http://10.0.0.1:8123", "token": "0123456789abcdef0123456789abcdef", "env": "${TOKEN}"}, true); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Save(); err != nil {
		b.Fatal(err)
	}
	return s, path, k
}

// BenchmarkOpen is what a gateway pays once at start: read, check, decrypt, decode.
func BenchmarkOpen(b *testing.B) {
	for _, n := range []int{3, 100} {
		b.Run(fmt.Sprintf("credentials=%d", n), func(b *testing.B) {
			_, path, k := benchStore(b, n)
			for b.Loop() {
				if _, err := Open(path, k); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSave is one `airlock secret set`'s write: encode, encrypt, fsync, rename.
func BenchmarkSave(b *testing.B) {
	s, _, _ := benchStore(b, 3)
	for b.Loop() {
		if err := s.Save(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResolve is the per-use cost of a credential with an environment reference.
func BenchmarkResolve(b *testing.B) {
	s, _, _ := benchStore(b, 3)
	env := func(string) (string, bool) { return "x", true }
	for b.Loop() {
		if _, err := s.Resolve("device-1", env); err != nil {
			b.Fatal(err)
		}
	}
}
