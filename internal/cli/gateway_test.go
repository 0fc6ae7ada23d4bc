package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGatewayUsage: every bad invocation of airlock gateway exits 2 with a message that says
// what to do, before anything starts.
func TestGatewayUsage(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "airlock.yaml")
	if err := os.WriteFile(cfg, []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\nservers:\n  x:\n    comand: y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "nothing-here"))
	t.Setenv("HOME", dir)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no default config", []string{"gateway"}, "default config"},
		{"missing config", []string{"gateway", "--config", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		{"bad config", []string{"gateway", "--config", bad}, "comand"},
		{"home relative", []string{"gateway", "--config", "~/nope.yaml"}, filepath.Join(dir, "nope.yaml")},
		{"origin without http", []string{"gateway", "--config", cfg, "--allow-origin", "http://localhost:5173"}, "--allow-origin needs --http"},
		{"bad origin", []string{"gateway", "--config", cfg, "--http", "0", "--allow-origin", "localhost:5173"}, "scheme://host"},
		{"bad memory", []string{"gateway", "--config", cfg, "--memory", "lots"}, "--memory"},
		{"bad timeout", []string{"gateway", "--config", cfg, "--timeout", "-1s"}, "positive"},
		{"arguments", []string{"gateway", "--config", cfg, "extra"}, "unknown command"},
	} {
		code, _, errOut := run(t, "", c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 mentioning %q", c.name, code, errOut, c.want)
		}
	}
}

// TestGatewayShortToken: a chosen token must be long enough to guard an HTTP listener.
func TestGatewayShortToken(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "airlock.yaml")
	if err := os.WriteFile(cfg, []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AIRLOCK_GATEWAY_TOKEN", "short")
	code, _, errOut := run(t, "", "gateway", "--config", cfg, "--http", "127.0.0.1:0")
	if code != exitUsage || !strings.Contains(errOut, "16 characters") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
