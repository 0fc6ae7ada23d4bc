package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestApprove(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
	cfg := filepath.Join(dir, "airlock.yaml")
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "lg-remote.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, []byte("servers:\n  web:\n    command: web-mcp\n    network: {allow: [api.example.com]}\n")...)
	if err := os.WriteFile(cfg, data, 0o600); err != nil {
		t.Fatal(err)
	}

	// --show records nothing, and shows what each declares.
	code, out, errOut := run(t, "", "approve", "--config", cfg, "--show")
	if code != 0 {
		t.Fatalf("--show: exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"binding lgRemote (local-network) — NOT APPROVED",
		"credential: lg-tv",
		"reaches:    {{credential.tvIP}}:3000",
		"opt-ins:    private IPs: yes · localhost: no",
		"setVolume(level: integer)  POST http://{{credential.tvIP}}:3000/volume",
		"sendCommand(command: POWER_ON|POWER_OFF|VOLUME_UP|VOLUME_DOWN|MUTE)",
		"server web — NOT APPROVED",
		"command:    web-mcp",
		"digest:     sha256:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--show output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "airlock.approvals.json")); err == nil {
		t.Error("--show wrote approvals")
	}

	// Declining at the prompt records nothing and exits 1.
	if code, out, _ := run(t, "n\n", "approve", "--config", cfg); code != 1 || !strings.Contains(out, "Nothing approved") {
		t.Errorf("declined: exit %d\n%s", code, out)
	}
	// Only the named declaration, accepted at the prompt.
	if code, out, errOut := run(t, "y\n", "approve", "--config", cfg, "web"); code != 0 || !strings.Contains(out, "approved server web") || strings.Contains(out, "lgRemote") {
		t.Errorf("approve web: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := run(t, "", "approve", "--config", cfg, "--yes"); code != 0 || !strings.Contains(out, "approved binding lgRemote") || strings.Contains(out, "approved server web") {
		t.Errorf("approve the rest: exit %d\n%s", code, out)
	}
	if code, out, _ := run(t, "", "approve", "--config", cfg, "--yes"); code != 0 || !strings.Contains(out, "nothing to record") {
		t.Errorf("nothing left: exit %d\n%s", code, out)
	}

	// A change shows as such.
	os.WriteFile(cfg, []byte(strings.Replace(string(data), "min: 0, max: 100", "min: 0, max: 50", 1)), 0o600)
	if code, out, _ := run(t, "", "approve", "--config", cfg, "--show"); code != 0 || !strings.Contains(out, "binding lgRemote (local-network) — CHANGED since approval") {
		t.Errorf("changed: exit %d\n%s", code, out)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"approve"}, "no --config given, and the default config " + filepath.Join(dir, "xdg", "airlock", "airlock.yaml") + " does not exist"},
		{[]string{"approve", "--config", cfg, "nosuch"}, `declares no binding or server "nosuch"`},
		{[]string{"approve", "--config", filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
	} {
		if code, _, errOut := run(t, "", tt.args...); code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errOut, tt.want)
		}
	}

	// Without --config, the user's default config.
	def := filepath.Join(dir, "xdg", "airlock", "airlock.yaml")
	os.MkdirAll(filepath.Dir(def), 0o700)
	os.WriteFile(def, data, 0o600)
	if code, out, errOut := run(t, "", "approve", "--show"); code != 0 || !strings.Contains(out, "binding lgRemote") {
		t.Errorf("default config: exit %d\n%s%s", code, out, errOut)
	}
}
