//go:build linux

package testworld_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/airlock-sh/airlock/internal/testworld"
)

// TestSetResolvConf: commands started in the world after SetResolvConf read the given
// resolv.conf, the test process keeps its own, and teardown removes the world's directory.
func TestSetResolvConf(t *testing.T) {
	t.Parallel()
	before, beforeErr := os.ReadFile("/etc/resolv.conf")
	const conf = "nameserver 10.77.0.53\noptions edns0\n"
	var dir string
	t.Run("world", func(t *testing.T) {
		w := testworld.New(t, lan)
		dir = filepath.Join("/etc/netns", w.Name)
		w.SetResolvConf(t, conf)
		if got, err := os.ReadFile(filepath.Join(dir, "resolv.conf")); err != nil || string(got) != conf {
			t.Fatalf("%s/resolv.conf = %q, %v; want %q", dir, got, err, conf)
		}
		out, err := w.Command(context.Background(), "cat", "/etc/resolv.conf").Output()
		if err != nil {
			t.Fatalf("cat /etc/resolv.conf in the world: %v", err)
		}
		if string(out) != conf {
			t.Errorf("the world's /etc/resolv.conf = %q, want %q", out, conf)
		}
		after, afterErr := os.ReadFile("/etc/resolv.conf")
		if string(after) != string(before) || (afterErr == nil) != (beforeErr == nil) {
			t.Errorf("the test process's /etc/resolv.conf changed: %q (%v), was %q (%v)", after, afterErr, before, beforeErr)
		}

		const conf2 = "nameserver 10.77.0.54\n"
		w.SetResolvConf(t, conf2)
		out, err = w.Command(context.Background(), "cat", "/etc/resolv.conf").Output()
		if err != nil || string(out) != conf2 {
			t.Errorf("after a second SetResolvConf the world's /etc/resolv.conf = %q, %v; want %q", out, err, conf2)
		}
	})
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Errorf("%s is still there after teardown (Lstat: %v)", dir, err)
	}
}
