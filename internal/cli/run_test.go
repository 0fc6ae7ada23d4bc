package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRunDryRun(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://corporate-proxy.example:8080") // replaced, never passed on
	code, out, errOut := run(t, "", "run", "--dry-run", "--allow", "api.github.com", "--", "npx", "-y", "@modelcontextprotocol/server-github")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var plan struct {
		Server  string
		Command []string
		Env     []string `json:"env_added"`
		Policy  map[string]any
		Mode    string
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("dry run output is not JSON: %v\n%s", err, out)
	}
	if !slices.Equal(plan.Command, []string{"npx", "-y", "@modelcontextprotocol/server-github"}) {
		t.Errorf("command %q", plan.Command)
	}
	for _, want := range []string{"HTTP_PROXY=http://127.0.0.1:3128", "ALL_PROXY=socks5h://127.0.0.1:1080", "NO_PROXY=", "NODE_USE_ENV_PROXY=1", "https_proxy=http://127.0.0.1:3128"} {
		if !slices.Contains(plan.Env, want) {
			t.Errorf("env_added lacks %s: %q", want, plan.Env)
		}
	}
	if allow, _ := plan.Policy["allow"].([]any); len(allow) != 1 || allow[0] != "api.github.com" {
		t.Errorf("policy %v", plan.Policy)
	}
}

func TestRunPlanEnvironment(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://corporate-proxy.example:8080")
	t.Setenv("AIRLOCK_TEST_KEEP", "kept")
	plan, err := planRun(&runFlags{mode: "proxy"}, []string{"true"})
	if err != nil {
		t.Fatal(err)
	}
	var proxies []string
	for _, kv := range plan.env {
		if strings.HasPrefix(kv, "HTTP_PROXY=") {
			proxies = append(proxies, kv)
		}
	}
	if !slices.Equal(proxies, []string{"HTTP_PROXY=http://127.0.0.1:3128"}) {
		t.Errorf("HTTP_PROXY in the command's environment: %q", proxies)
	}
	if !slices.Contains(plan.env, "AIRLOCK_TEST_KEEP=kept") {
		t.Error("the rest of the environment was not passed as given")
	}
	// No policy flags: the command gets no network at all.
	if s := plan.Policy; len(s.Allow) != 0 || s.AllowPublicInternet || s.AllowPrivateIPs || s.AllowLocalhost {
		t.Errorf("default policy %+v, want deny everything", s)
	}
}

func TestRunConfigServer(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "airlock.yaml")
	if err := os.WriteFile(cfg, []byte(`version: 1
servers:
  ha:
    command: uvx
    args: [hass-mcp]
    env: {HA_URL: "http://192.168.1.20:8123", HA_TOKEN: secret}
    network:
      allow: ["${HA_URL}"]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := &runFlags{mode: "proxy", configPath: cfg, server: "ha"}
	if _, err := planRun(flags, nil); err == nil || !strings.Contains(err.Error(), "server ha is not approved; run `airlock approve --config "+cfg+"`") {
		t.Fatalf("unapproved server: err = %v", err)
	}
	if code, out, errOut := run(t, "", "approve", "--config", cfg, "--yes"); code != 0 || !strings.Contains(out, "approved server ha") {
		t.Fatalf("approve: exit %d\n%s%s", code, out, errOut)
	}
	plan, err := planRun(flags, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plan.Command, []string{"uvx", "hass-mcp"}) || plan.Server != "ha" {
		t.Errorf("command %q server %q", plan.Command, plan.Server)
	}
	if !slices.Contains(plan.env, "HA_TOKEN=secret") || !slices.Equal(plan.Policy.Allow, []string{"192.168.1.20:8123"}) {
		t.Errorf("env or policy not from the config: %v %+v", plan.env, plan.Policy)
	}

	// A changed declaration is refused until approved again; --dry-run still shows it.
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(data), "args: [hass-mcp]", "args: [hass-mcp, --debug]", 1)), 0o600)
	if _, err := planRun(flags, nil); err == nil || !strings.Contains(err.Error(), "server ha changed since it was approved") {
		t.Errorf("changed server: err = %v", err)
	}
	if _, err := planRun(&runFlags{mode: "proxy", configPath: cfg, server: "ha", dryRun: true}, nil); err != nil {
		t.Errorf("--dry-run of a changed server: %v", err)
	}
}

func TestRunUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "airlock.yaml")
	if err := os.WriteFile(cfg, []byte("version: 1\nservers:\n  web:\n    command: web\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	profile := filepath.Join(dir, "bad-profile.json")
	if err := os.WriteFile(profile, []byte(`{"network": {"outbound": {"allow_host": ["*"], "allow_port": [443]}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", []string{"run", "--allow", "api.github.com"}, "no command"},
		{"bad entry", []string{"run", "--allow", "api.*.example.com", "--", "true"}, `--allow "api.*.example.com"`},
		{"server without config", []string{"run", "--server", "web", "--", "true"}, "--server needs --config"},
		{"config without server", []string{"run", "--config", cfg, "--", "true"}, "--config needs --server"},
		{"config with flags", []string{"run", "--config", cfg, "--server", "web", "--allow", "x.com", "--", "true"}, "cannot be combined"},
		{"unknown server", []string{"run", "--config", cfg, "--server", "nope", "--", "true"}, "web"},
		{"bad profile", []string{"run", "--profile", profile, "--", "true"}, "bad-profile.json:1"},
		{"missing profile", []string{"run", "--profile", filepath.Join(dir, "none.json"), "--", "true"}, "none.json"},
		{"transparent mode", []string{"run", "--mode", "transparent", "--", "true"}, "not built yet"},
		{"unknown mode", []string{"run", "--mode", "magic", "--", "true"}, "the modes are"},
		{"relative unix socket", []string{"run", "--allow-unix-socket", "x.sock", "--", "true"}, "absolute path"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := run(t, "", tt.args...)
			if code != exitUsage || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tt.want)
			}
		})
	}
}
