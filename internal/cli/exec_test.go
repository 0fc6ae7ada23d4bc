package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The runs themselves are tested end to end in internal/devicetest (the built binary, in a
// test world); these are the refusals that happen before any worker starts.
func TestExecUsageErrors(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "s.js")
	os.WriteFile(script, []byte("return 1\n"), 0o600)
	empty := filepath.Join(dir, "empty.js")
	os.WriteFile(empty, []byte(" \n"), 0o600)
	cfg := filepath.Join(dir, "airlock.yaml")
	data, _ := os.ReadFile(filepath.Join("..", "..", "examples", "dev-server.yaml"))
	os.WriteFile(cfg, data, 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nbindings:\n  x:\n    type: local-network\n    methods: {}\n    nope: 1\n"), 0o600)

	for _, tt := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"no file", "", []string{"exec"}, "accepts 1 arg"},
		{"missing file", "", []string{"exec", filepath.Join(dir, "nope.js")}, "nope.js"},
		{"empty file", "", []string{"exec", empty}, "empty: nothing to run"},
		{"empty stdin", "", []string{"exec", "-"}, "<stdin> is empty"},
		{"bad memory", "", []string{"exec", "--memory", "lots", script}, `--memory "lots"`},
		{"bad timeout", "", []string{"exec", "--timeout", "0s", script}, "must be positive"},
		{"bad entry", "", []string{"exec", "--allow", "*.com", script}, "*.com"},
		{"config with flags", "", []string{"exec", "--config", cfg, "--allow", "x.com", script}, "cannot be combined"},
		{"bad config", "", []string{"exec", "--config", bad, script}, "bad.yaml:6"},
		{"unapproved binding", "", []string{"exec", "--config", cfg, script}, "binding devServer is not approved; run `airlock approve --config " + cfg + "`"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.stdin, tt.args...)
			if code != 2 || !strings.Contains(errOut, tt.want) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, out, errOut, tt.want)
			}
		})
	}
}
