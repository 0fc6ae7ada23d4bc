//go:build unix

package secrets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airlock-sh/airlock/internal/testworld"
)

func TestBadModesRefused(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "secrets.enc")
	keyFile := filepath.Join(dir, "secret.key")
	k, err := LoadKey("", keyFile, true)
	if err != nil {
		t.Fatal(err)
	}
	newSampleStore(t, store, k)

	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o606, 0o620} {
		for _, tc := range []struct {
			what string
			path string
			open func() error
		}{
			{"store", store, func() error { _, err := Open(store, k); return err }},
			{"key file", keyFile, func() error { _, err := LoadKey("", keyFile, false); return err }},
		} {
			t.Run(fmt.Sprintf("%s %04o", tc.what, mode), func(t *testing.T) {
				if err := os.Chmod(tc.path, mode); err != nil {
					t.Fatal(err)
				}
				defer os.Chmod(tc.path, 0o600)
				err := tc.open()
				if !errors.Is(err, ErrInsecureFile) {
					t.Fatalf("mode %04o accepted: %v", mode, err)
				}
				if want := "chmod 600 " + tc.path; !strings.Contains(err.Error(), want) {
					t.Errorf("message %q does not say %q", err, want)
				}
			})
		}
	}
	// Owner-only bits other than read and write do not matter.
	if err := os.Chmod(store, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(store, k); err != nil {
		t.Errorf("mode 0700 refused: %v", err)
	}
}

// TestOtherOwnerRefused pretends to be another user, so it runs without root.
func TestOtherOwnerRefused(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "secrets.enc")
	keyFile := filepath.Join(dir, "secret.key")
	k, err := LoadKey("", keyFile, true)
	if err != nil {
		t.Fatal(err)
	}
	newSampleStore(t, store, k)

	me := os.Geteuid()
	currentUID = func() int { return me + 1 }
	t.Cleanup(func() { currentUID = os.Geteuid })
	for _, open := range []func() error{
		func() error { _, err := Open(store, k); return err },
		func() error { _, err := LoadKey("", keyFile, false); return err },
	} {
		err := open()
		if !errors.Is(err, ErrInsecureFile) || !strings.Contains(err.Error(), "chmod 600") || !strings.Contains(err.Error(), "chown") {
			t.Errorf("a file of another user accepted, or the message does not say what to do: %v", err)
		}
	}
}

// TestOtherOwnerRefusedReally hands the file to nobody (uid 65534), which needs root.
func TestOtherOwnerRefusedReally(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv(testworld.RequireEnv) == "1" {
			t.Fatalf("%s=1 but the test does not run as root, which it needs to chown a file", testworld.RequireEnv)
		}
		t.Skip("needs root to give a file to another user")
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "secrets.enc")
	k := testKey(t, 11)
	newSampleStore(t, store, k)
	if err := os.Chown(store, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(store, k); !errors.Is(err, ErrInsecureFile) || !strings.Contains(err.Error(), "uid 65534") {
		t.Fatalf("a store owned by uid 65534 accepted: %v", err)
	}
}
