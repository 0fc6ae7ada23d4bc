package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestParseKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xa5}, KeySize)
	tests := []struct {
		name string
		text string
		ok   bool
	}{
		{"hex", hex.EncodeToString(raw), true},
		{"hex upper", strings.ToUpper(hex.EncodeToString(raw)), true},
		{"base64", base64.StdEncoding.EncodeToString(raw), true},
		{"base64 raw", base64.RawStdEncoding.EncodeToString(raw), true},
		{"base64 url", base64.URLEncoding.EncodeToString(raw), true},
		{"surrounding space", "  " + base64.StdEncoding.EncodeToString(raw) + "\n", true},
		{"16 bytes base64", base64.StdEncoding.EncodeToString(raw[:16]), false},
		{"33 bytes base64", base64.StdEncoding.EncodeToString(append(raw, 1)), false},
		{"31 bytes hex", hex.EncodeToString(raw[:31]), false},
		{"passphrase", "correct horse battery staple", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKey(tt.text, KeyEnv)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(k.b()[:], raw) {
					t.Fatal("decoded the wrong bytes")
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !strings.Contains(msg, KeyEnv) || !strings.Contains(msg, "32 bytes") || !strings.Contains(msg, "base64") || !strings.Contains(msg, "hex") {
				t.Errorf("message does not say what a key is: %s", msg)
			}
			if strings.TrimSpace(tt.text) != "" && strings.Contains(msg, strings.TrimSpace(tt.text)) {
				t.Errorf("message quotes the key text: %s", msg)
			}
		})
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "sub", "secret.key")

	if _, err := LoadKey("", keyFile, false); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no env, no file, no create: %v; want ErrNoKey", err)
	}
	if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("LoadKey without create made a key file")
	}

	k1, err := LoadKey("", keyFile, true)
	if err != nil {
		t.Fatal(err)
	}
	if k1.Source() != keyFile {
		t.Errorf("source %q, want %q", k1.Source(), keyFile)
	}
	assertMode(t, keyFile, 0o600)
	assertMode(t, filepath.Dir(keyFile), 0o700|os.ModeDir)
	assertOnlyFiles(t, filepath.Dir(keyFile), "secret.key")

	k2, err := LoadKey("", keyFile, true)
	if err != nil {
		t.Fatal(err)
	}
	if *k1.b() != *k2.b() {
		t.Fatal("a second LoadKey made a new key instead of reading the file")
	}

	envKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, KeySize))
	k3, err := LoadKey(envKey, keyFile, true)
	if err != nil {
		t.Fatal(err)
	}
	if k3.Source() != KeyEnv || *k3.b() == *k1.b() {
		t.Fatalf("the environment's key does not win over the file: source %s", k3.Source())
	}

	if _, err := LoadKey("nope", keyFile, true); err == nil || !strings.Contains(err.Error(), KeyEnv) {
		t.Fatalf("a bad %s falls back to the file or says nothing: %v", KeyEnv, err)
	}

	if err := os.WriteFile(keyFile, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey("", keyFile, true); err == nil || !strings.Contains(err.Error(), keyFile) {
		t.Fatalf("a malformed key file: %v; want an error naming it", err)
	}
}

func TestKeyFileCreationRace(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "secret.key")
	const n = 8
	keys := make([]Key, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = LoadKey("", keyFile, true) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if *keys[i].b() != *keys[0].b() {
			t.Fatal("concurrent first uses created different keys")
		}
	}
	assertOnlyFiles(t, filepath.Dir(keyFile), "secret.key")
}

func TestNewKey(t *testing.T) {
	if _, err := NewKey(make([]byte, 16), "test"); err == nil {
		t.Fatal("accepted a 16-byte key")
	}
	var zero Key
	if !zero.IsZero() {
		t.Fatal("zero Key is not zero")
	}
}
