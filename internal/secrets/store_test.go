package secrets

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func testKey(t testing.TB, b byte) Key {
	t.Helper()
	k, err := NewKey(bytes.Repeat([]byte{b}, KeySize), "test-key-"+string('a'+b%26))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (os.ModePerm | os.ModeDir); got != want {
		t.Errorf("%s: mode %v, want %v", path, got, want)
	}
}

// assertOnlyFiles fails when dir holds anything but names (a leftover temporary file).
func assertOnlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	slices.Sort(names)
	if !slices.Equal(got, names) {
		t.Errorf("%s holds %q, want exactly %q", dir, got, names)
	}
}

// The devices of the seed document, with one environment reference.
var sample = map[string]map[string]string{
	"lg-tv":          {"tvIP": "192.168.1.100"},
	"hue":            {"bridgeIP": "192.168.1.50", "apiKey": "hue-api-key-s3cr3t-value"},
	"home-assistant": {"url": "http://homeassistant.local:8123", "token": "${HA_TOKEN}"},
}

func newSampleStore(t *testing.T, path string, k Key) *Store {
	t.Helper()
	s, err := Open(path, k)
	if err != nil {
		t.Fatal(err)
	}
	for name, kv := range sample {
		if err := s.Set(name, kv, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cfg", "airlock")
	path := filepath.Join(dir, "secrets.enc")
	k := testKey(t, 1)
	newSampleStore(t, path, k)
	assertMode(t, path, 0o600)
	assertMode(t, dir, 0o700|os.ModeDir)

	s, err := Open(path, k)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Names(), []string{"home-assistant", "hue", "lg-tv"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	if got, want := s.Keys("hue"), []string{"apiKey", "bridgeIP"}; !slices.Equal(got, want) {
		t.Errorf("Keys(hue) = %q, want %q", got, want)
	}
	if s.Keys("nope") != nil || s.Has("nope") || !s.Has("hue") {
		t.Error("Has/Keys of an unknown credential")
	}
	env := func(name string) (string, bool) {
		if name == "HA_TOKEN" {
			return "ha-token-from-env", true
		}
		return "", false
	}
	for name, kv := range sample {
		got, err := s.Resolve(name, env)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range kv {
			if v == "${HA_TOKEN}" {
				v = "ha-token-from-env"
			}
			if g, _ := got.Get(k); g != v {
				t.Errorf("%s.%s resolved to %q, want %q", name, k, g, v)
			}
		}
	}
	if v, ok := s.Reference("home-assistant", "token"); !ok || v != "HA_TOKEN" {
		t.Errorf("Reference(home-assistant, token) = %q, %v", v, ok)
	}
	if _, ok := s.Reference("hue", "apiKey"); ok {
		t.Error("a literal value reported as a reference")
	}
}

func TestPlaintextNotOnDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.enc")
	newSampleStore(t, path, testKey(t, 2))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"hue-api-key-s3cr3t-value", "192.168.1.100", "homeassistant.local", "HA_TOKEN", "apiKey", "lg-tv", "credentials"} {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("the file contains %q in clear text", s)
		}
	}
	if !bytes.HasPrefix(data, []byte("airlock-secrets v1\n")) {
		t.Errorf("the file does not start with its header: %q", data[:min(len(data), 20)])
	}
}

func TestEveryWriteUsesANewNonce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.enc")
	s := newSampleStore(t, path, testKey(t, 3))
	first, _ := os.ReadFile(path)
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(path)
	e1, _ := parseEnvelope(first)
	e2, _ := parseEnvelope(second)
	if bytes.Equal(e1.nonce, e2.nonce) || bytes.Equal(e1.ciphertext, e2.ciphertext) {
		t.Fatal("two saves of the same content used the same nonce")
	}
}

func TestWrongKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.enc")
	newSampleStore(t, path, testKey(t, 4))
	other := testKey(t, 5)
	_, err := Open(path, other)
	if !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Open with another key: %v; want ErrWrongKey", err)
	}
	msg := err.Error()
	for _, want := range []string{"cannot decrypt " + path, "wrong key", other.Source()} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not say %q", msg, want)
		}
	}
	if _, err := Open(path, Key{}); !errors.Is(err, ErrNoKey) {
		t.Fatalf("Open of an existing store without a key: %v; want ErrNoKey", err)
	}
}

func TestTamperedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.enc")
	k := testKey(t, 6)
	newSampleStore(t, path, k)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	hdr := len("airlock-secrets v1\n")
	tests := []struct {
		name   string
		mutate func([]byte) []byte
		want   error // nil: any error
	}{
		{"ciphertext bit", func(b []byte) []byte { b[hdr+keyIDLen+nonceLen+3] ^= 1; return b }, ErrCorrupt},
		{"tag bit", func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b }, ErrCorrupt},
		{"nonce bit", func(b []byte) []byte { b[hdr+keyIDLen] ^= 1; return b }, ErrCorrupt},
		{"key id bit", func(b []byte) []byte { b[hdr] ^= 1; return b }, ErrWrongKey},
		{"truncated", func(b []byte) []byte { return b[:len(b)-5] }, ErrCorrupt},
		{"truncated to header", func(b []byte) []byte { return b[:hdr+4] }, ErrCorrupt},
		{"appended", func(b []byte) []byte { return append(b, 0) }, ErrCorrupt},
		{"other magic", func(b []byte) []byte { b[0] = 'A'; return b }, ErrCorrupt},
		{"version 2", func(b []byte) []byte { b[hdr-2] = '2'; return b }, nil},
		{"empty", func(b []byte) []byte { return b[:0] }, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(path, tt.mutate(bytes.Clone(orig)), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(path, k)
			if err == nil {
				t.Fatalf("opened a tampered file: %v", s)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("error %v; want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
}

func TestMissingFileIsEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none", "secrets.enc")
	s, err := Open(path, Key{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Names()) != 0 {
		t.Fatal("a missing store has credentials")
	}
	if err := s.Set("lg-tv", map[string]string{"tvIP": "192.168.1.100"}, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(); !errors.Is(err, ErrNoKey) {
		t.Fatalf("Save without a key: %v; want ErrNoKey", err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("Save without a key created the directory")
	}
}

func TestSetAndRemove(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "secrets.enc"), testKey(t, 7))
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Set("hue", map[string]string{"bridgeIP": "192.168.1.50", "apiKey": "k1"}, true))
	must(s.Set("hue", map[string]string{"apiKey": "k2"}, true)) // merge
	if got := s.Keys("hue"); !slices.Equal(got, []string{"apiKey", "bridgeIP"}) {
		t.Fatalf("after merge: %q", got)
	}
	must(s.Set("hue", map[string]string{"apiKey": "k3"}, false)) // replace
	if got := s.Keys("hue"); !slices.Equal(got, []string{"apiKey"}) {
		t.Fatalf("after replace: %q", got)
	}
	v, err := s.Resolve("hue", nil)
	must(err)
	if got, _ := v.Get("apiKey"); got != "k3" {
		t.Fatal("replace did not store the new value")
	}

	bad := []struct {
		name string
		kv   map[string]string
	}{
		{"-flag", map[string]string{"a": "b"}},
		{"has space", map[string]string{"a": "b"}},
		{"", map[string]string{"a": "b"}},
		{"ok", map[string]string{"bad-key": "b"}},
		{"ok", map[string]string{"9key": "b"}},
		{"ok", map[string]string{"k": "${not valid}"}},
		{"ok", map[string]string{"k": "\xff\xfe"}},
		{"ok", map[string]string{"k": strings.Repeat("x", maxValueLen+1)}},
		{"ok", nil},
	}
	for _, b := range bad {
		if err := s.Set(b.name, b.kv, true); err == nil {
			t.Errorf("Set(%q, %q) accepted", b.name, b.kv)
		}
	}
	if s.Has("ok") {
		t.Fatal("a refused Set changed the store")
	}
	if err := s.Set("x", map[string]string{"k": "${not valid}"}, true); err == nil || strings.Contains(err.Error(), "not valid") {
		t.Errorf("the error for a malformed reference quotes the value: %v", err)
	}

	must(s.Set("ha", map[string]string{"url": "u", "token": "t"}, true))
	if err := s.Remove("ha", "url", "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Remove of an unknown key: %v", err)
	}
	if got := s.Keys("ha"); len(got) != 2 {
		t.Fatalf("a failed Remove removed something: %q", got)
	}
	must(s.Remove("ha", "url"))
	must(s.Remove("ha", "token"))
	if s.Has("ha") {
		t.Fatal("a credential without keys was kept")
	}
	if err := s.Remove("ha"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Remove of an unknown credential: %v", err)
	}
	must(s.Remove("hue"))
	if len(s.Names()) != 0 {
		t.Fatal("Remove(name) kept the credential")
	}
}

func TestResolveMissingVariable(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "secrets.enc"), testKey(t, 8))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set("home-assistant", map[string]string{"url": "${HA_URL}", "token": "${HA_TOKEN}", "note": "$${HA_URL}"}, true); err != nil {
		t.Fatal(err)
	}
	_, err = s.Resolve("home-assistant", func(n string) (string, bool) {
		if n == "HA_URL" {
			return "http://10.0.0.2:8123", true
		}
		return "", false
	})
	if err == nil || !strings.Contains(err.Error(), "HA_TOKEN") || !strings.Contains(err.Error(), "home-assistant") || !strings.Contains(err.Error(), "token") {
		t.Fatalf("missing variable: %v; want an error naming HA_TOKEN, the key and the credential", err)
	}
	v, err := s.Resolve("home-assistant", func(string) (string, bool) { return "set", true })
	if err != nil {
		t.Fatal(err)
	}
	if note, _ := v.Get("note"); note != "${HA_URL}" {
		t.Fatalf("an escaped literal resolved to %q", note)
	}
	if url, _ := v.Get("url"); url != "set" {
		t.Fatalf("a reference resolved to %q", url)
	}
	if _, err := s.Resolve("nope", nil); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "home-assistant") {
		t.Fatalf("Resolve of an unknown credential: %v; want ErrNotFound listing the names", err)
	}
}

func TestAtomicWriteLeavesNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secrets.enc")
	s := newSampleStore(t, path, testKey(t, 9))
	for i := range 5 {
		if err := s.Set("lg-tv", map[string]string{"tvIP": "192.168.1." + string(rune('1'+i))}, true); err != nil {
			t.Fatal(err)
		}
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
	}
	assertOnlyFiles(t, dir, "secrets.enc")

	// A save that cannot rename (a directory is in the way) leaves nothing behind either.
	blocked := filepath.Join(dir, "blocked")
	if err := os.MkdirAll(filepath.Join(blocked, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(filepath.Join(dir, "new.enc"), testKey(t, 9))
	if err != nil {
		t.Fatal(err)
	}
	s2.path = blocked
	s2.Set("a", map[string]string{"k": "v"}, true)
	if err := s2.Save(); err == nil {
		t.Fatal("saved over a directory")
	}
	assertOnlyFiles(t, dir, "secrets.enc", "blocked")
}

func TestSaveReplacesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	if err := os.WriteFile(target, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "secrets.enc")
	if err := os.Symlink(target, path); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	s, err := Open(path, testKey(t, 10))
	if err == nil {
		t.Fatalf("opened a symlink to a non-store file: %v", s)
	}
	os.Remove(path)
	os.Symlink(target, path)
	s, _ = Open(filepath.Join(dir, "fresh.enc"), testKey(t, 10))
	s.path = path
	s.Set("a", map[string]string{"k": "v"}, true)
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep me" {
		t.Fatal("Save wrote through the symbolic link")
	}
}
