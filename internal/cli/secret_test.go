package cli

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airlock-sh/airlock/internal/secrets"
)

// secretHome points the user configuration directory at a fresh temporary directory and
// clears airlock's secret variables; it returns the default store and key file.
func secretHome(t *testing.T) (store, keyFile string) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
	t.Setenv(secrets.KeyEnv, "")
	t.Setenv(secrets.FileEnv, "")
	return filepath.Join(home, "config", "airlock", "secrets.enc"), filepath.Join(home, "config", "airlock", "secret.key")
}

// The values the tests store; none may ever appear in output.
var secretValues = []string{"10.77.1.100", "hue-bridge-api-key-0123456789", "10.77.1.50", "http://ha.example.internal:8123"}

func mustRun(t *testing.T, stdin string, args ...string) (string, string) {
	t.Helper()
	code, out, errOut := run(t, stdin, args...)
	if code != 0 {
		t.Fatalf("airlock %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	for _, v := range secretValues {
		if strings.Contains(out+errOut, v) {
			t.Errorf("airlock %s printed the value %q:\n%s%s", strings.Join(args, " "), v, out, errOut)
		}
	}
	return out, errOut
}

func TestSecretSetListRm(t *testing.T) {
	store, keyFile := secretHome(t)

	out, errOut := mustRun(t, "", "secret", "set", "lg-tv", "tvIP=10.77.1.100")
	if !strings.Contains(out, "stored lg-tv (tvIP) in "+store) {
		t.Errorf("set says %q", out)
	}
	if !strings.Contains(errOut, "created the key file "+keyFile) {
		t.Errorf("the first set does not mention the new key file: %q", errOut)
	}
	for _, p := range []string{store, keyFile} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", p, fi.Mode().Perm())
		}
	}

	// Two values from standard input, one line each, \r\n tolerated.
	_, errOut = mustRun(t, "hue-bridge-api-key-0123456789\r\n10.77.1.50\n", "secret", "set", "hue", "apiKey=-", "bridgeIP=-")
	if strings.Contains(errOut, "created the key file") {
		t.Error("the second set claims to create the key file again")
	}
	mustRun(t, "", "secret", "set", "home-assistant", "url=http://ha.example.internal:8123", "token=${HA_TOKEN}")

	out, _ = mustRun(t, "", "secret", "list")
	want := "home-assistant  token=${HA_TOKEN} url\nhue             apiKey bridgeIP\nlg-tv           tvIP\n"
	if out != want {
		t.Errorf("list:\n%s\nwant:\n%s", out, want)
	}

	data, err := os.ReadFile(store)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range append(secretValues, "HA_TOKEN", "apiKey", "lg-tv") {
		if bytes.Contains(data, []byte(v)) {
			t.Errorf("the store holds %q in clear text", v)
		}
	}

	// What the CLI wrote, the package reads back and resolves.
	k, err := secrets.LoadKey("", keyFile, false)
	if err != nil {
		t.Fatal(err)
	}
	s, err := secrets.Open(store, k)
	if err != nil {
		t.Fatal(err)
	}
	hue, err := s.Resolve("hue", nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := hue.Get("apiKey"); v != "hue-bridge-api-key-0123456789" {
		t.Errorf("apiKey read from stdin is %q", v)
	}
	if v, _ := hue.Get("bridgeIP"); v != "10.77.1.50" {
		t.Errorf("bridgeIP read from stdin is %q", v)
	}
	ha, err := s.Resolve("home-assistant", func(n string) (string, bool) { return "tok-" + n, n == "HA_TOKEN" })
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := ha.Get("token"); v != "tok-HA_TOKEN" {
		t.Errorf("the reference resolved to %q", v)
	}

	// Merge by default, --replace on request.
	mustRun(t, "", "secret", "set", "hue", "bridgeIP=10.77.1.51")
	out, _ = mustRun(t, "", "secret", "list")
	if !strings.Contains(out, "hue             apiKey bridgeIP\n") {
		t.Errorf("set without --replace dropped a key:\n%s", out)
	}
	mustRun(t, "", "secret", "set", "--replace", "hue", "bridgeIP=10.77.1.52")
	out, _ = mustRun(t, "", "secret", "list")
	if !strings.Contains(out, "hue             bridgeIP\n") {
		t.Errorf("set --replace kept a key:\n%s", out)
	}

	out, _ = mustRun(t, "", "secret", "rm", "home-assistant", "token")
	if out != "removed token from home-assistant\n" {
		t.Errorf("rm KEY says %q", out)
	}
	out, _ = mustRun(t, "", "secret", "rm", "hue", "bridgeIP")
	if !strings.Contains(out, "hue is gone") {
		t.Errorf("rm of the last key says %q", out)
	}
	mustRun(t, "", "secret", "rm", "lg-tv")
	mustRun(t, "", "secret", "rm", "home-assistant")
	out, errOut = mustRun(t, "", "secret", "list")
	if out != "" || !strings.Contains(errOut, "no credentials in "+store) {
		t.Errorf("list of an empty store: stdout %q, stderr %q", out, errOut)
	}
	ents, _ := os.ReadDir(filepath.Dir(store))
	if len(ents) != 2 {
		t.Errorf("the store's directory holds %d files, want 2 (no temporary files left)", len(ents))
	}
}

func TestSecretUsageErrors(t *testing.T) {
	_, keyFile := secretHome(t)
	tests := []struct {
		name  string
		stdin string
		args  []string
		msg   string
	}{
		{"set without pairs", "", []string{"secret", "set", "lg-tv"}, "needs a NAME and at least one KEY=VALUE"},
		{"set without anything", "", []string{"secret", "set"}, "needs a NAME"},
		{"not a pair", "", []string{"secret", "set", "hue", "s3cr3t-typed-here"}, "argument 1 after the name is not KEY=VALUE"},
		{"empty key", "", []string{"secret", "set", "hue", "=x"}, "not KEY=VALUE"},
		{"empty value", "", []string{"secret", "set", "hue", "apiKey="}, "apiKey has an empty value"},
		{"empty value from stdin", "\n", []string{"secret", "set", "hue", "apiKey=-"}, "apiKey has an empty value"},
		{"stdin ends", "", []string{"secret", "set", "hue", "apiKey=-"}, "ended before the value"},
		{"stdin ends early", "one\n", []string{"secret", "set", "hue", "apiKey=-", "bridgeIP=-"}, "reading the value of bridgeIP"},
		{"twice", "", []string{"secret", "set", "hue", "a=1", "a=2"}, "key a is given twice"},
		{"bad name", "", []string{"secret", "set", "my hue", "a=1"}, "is not a credential name"},
		{"bad key", "", []string{"secret", "set", "hue", "api-key=1"}, "is not a credential key"},
		{"bad reference", "", []string{"secret", "set", "hue", "apiKey=${not valid}"}, "form ${...} of an environment reference"},
		{"rm without name", "", []string{"secret", "rm"}, "needs a NAME"},
		{"list with args", "", []string{"secret", "list", "x"}, "unknown command"},
		{"unknown flag", "", []string{"secret", "set", "--bogus", "hue", "a=1"}, "unknown flag"},
		{"unknown subcommand", "", []string{"secret", "sett", "hue", "a=1"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.stdin, tt.args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			if !strings.Contains(errOut, tt.msg) {
				t.Errorf("stderr %q does not say %q", errOut, tt.msg)
			}
			if strings.Contains(errOut, "s3cr3t-typed-here") || strings.Contains(errOut, "not valid") {
				t.Errorf("the message quotes a value: %s", errOut)
			}
		})
	}
	if _, err := os.Stat(keyFile); err == nil {
		t.Error("a refused set created the key file")
	}
}

func TestSecretFailures(t *testing.T) {
	store, keyFile := secretHome(t)
	mustRun(t, "", "secret", "set", "lg-tv", "tvIP=10.77.1.100")

	t.Run("unknown credential", func(t *testing.T) {
		code, _, errOut := run(t, "", "secret", "rm", "hue")
		if code != 1 || !strings.Contains(errOut, `no credential "hue"`) || !strings.Contains(errOut, "lg-tv") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		code, _, errOut := run(t, "", "secret", "rm", "lg-tv", "apiKey")
		if code != 1 || !strings.Contains(errOut, `no key "apiKey"`) || !strings.Contains(errOut, "tvIP") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("wrong key from the environment", func(t *testing.T) {
		t.Setenv(secrets.KeyEnv, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)))
		code, _, errOut := run(t, "", "secret", "list")
		if code != 1 || !strings.Contains(errOut, "cannot decrypt "+store+": wrong key ("+secrets.KeyEnv+")") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("malformed key in the environment", func(t *testing.T) {
		t.Setenv(secrets.KeyEnv, "hunter2")
		code, _, errOut := run(t, "", "secret", "list")
		if code != 1 || !strings.Contains(errOut, "base64 (44 characters) or hex (64 characters)") || strings.Contains(errOut, "hunter2") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("group-readable store", func(t *testing.T) {
		if err := os.Chmod(store, 0o640); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(store, 0o600)
		code, _, errOut := run(t, "", "secret", "list")
		if code != 1 || !strings.Contains(errOut, "chmod 600 "+store) {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("world-readable key file", func(t *testing.T) {
		if err := os.Chmod(keyFile, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(keyFile, 0o600)
		code, _, errOut := run(t, "", "secret", "set", "hue", "bridgeIP=10.77.1.50")
		if code != 1 || !strings.Contains(errOut, "chmod 600 "+keyFile) {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("key file lost", func(t *testing.T) {
		saved, err := os.ReadFile(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		os.Remove(keyFile)
		defer os.WriteFile(keyFile, saved, 0o600)
		for _, args := range [][]string{{"secret", "list"}, {"secret", "set", "hue", "bridgeIP=10.77.1.50"}} {
			code, _, errOut := run(t, "", args...)
			if code != 1 || !strings.Contains(errOut, "cannot decrypt "+store) || !strings.Contains(errOut, secrets.KeyEnv) || !strings.Contains(errOut, keyFile) {
				t.Fatalf("%s: exit %d, stderr %q", args, code, errOut)
			}
		}
		if _, err := os.Stat(keyFile); err == nil {
			t.Fatal("set made a new key for a store written with another one")
		}
	})
}

func TestSecretFileFlagAndEnvironment(t *testing.T) {
	defStore, keyFile := secretHome(t)
	other := filepath.Join(t.TempDir(), "team", "secrets.enc")

	mustRun(t, "", "secret", "--file", other, "set", "lg-tv", "tvIP=10.77.1.100")
	if _, err := os.Stat(other); err != nil {
		t.Fatalf("--file: %v", err)
	}
	if _, err := os.Stat(defStore); err == nil {
		t.Fatal("--file also wrote the default store")
	}
	out, _ := mustRun(t, "", "secret", "list", "--file", other)
	if out != "lg-tv  tvIP\n" {
		t.Errorf("list --file: %q", out)
	}

	t.Setenv(secrets.FileEnv, other)
	out, _ = mustRun(t, "", "secret", "list")
	if out != "lg-tv  tvIP\n" {
		t.Errorf("list with %s: %q", secrets.FileEnv, out)
	}
	out, _ = mustRun(t, "", "secret", "path")
	for _, want := range []string{"store:     " + other + " (from " + secrets.FileEnv + ", exists)", "key file:  " + keyFile + " (exists)"} {
		if !strings.Contains(out, want) {
			t.Errorf("path output lacks %q:\n%s", want, out)
		}
	}

	// A key in the environment: no key file is made, and path says which key is used.
	t.Setenv(secrets.FileEnv, "")
	os.Remove(keyFile)
	t.Setenv(secrets.KeyEnv, strings.Repeat("ab", 32))
	_, errOut := mustRun(t, "", "secret", "set", "hue", "bridgeIP=10.77.1.50")
	if strings.Contains(errOut, "created the key file") {
		t.Error("set with AIRLOCK_SECRET_KEY created a key file")
	}
	if _, err := os.Stat(keyFile); err == nil {
		t.Error("a key file was made although AIRLOCK_SECRET_KEY is set")
	}
	out, _ = mustRun(t, "", "secret", "path")
	for _, want := range []string{"store:     " + defStore + " (default, exists)", "key:       " + secrets.KeyEnv + " (set; the key file is not used)"} {
		if !strings.Contains(out, want) {
			t.Errorf("path output lacks %q:\n%s", want, out)
		}
	}
}

func TestSecretListOfNoStore(t *testing.T) {
	store, keyFile := secretHome(t)
	out, errOut := mustRun(t, "", "secret", "list")
	if out != "" || !strings.Contains(errOut, "no credentials in "+store) {
		t.Errorf("stdout %q, stderr %q", out, errOut)
	}
	if _, err := os.Stat(keyFile); err == nil {
		t.Error("list created a key file")
	}
}

func TestSecretHelpTeaches(t *testing.T) {
	secretHome(t)
	out, _ := mustRun(t, "", "secret", "--help")
	for _, want := range []string{"airlock secret set lg-tv tvIP=", "airlock secret set hue bridgeIP=", "apiKey=-", "home-assistant", "${HA_TOKEN}", "AIRLOCK_SECRET_KEY", "AIRLOCK_SECRETS_FILE", "secret.key", "set", "list", "rm", "path"} {
		if !strings.Contains(out, want) {
			t.Errorf("secret --help lacks %q", want)
		}
	}
	out, _ = mustRun(t, "", "secret")
	if !strings.Contains(out, "Usage:") {
		t.Errorf("secret without a subcommand does not show help: %q", out)
	}
}

// TestCredentialSource: what bindings get is what 'airlock secret set' stored, references
// resolved from the environment, and a clear error for what is missing.
func TestCredentialSource(t *testing.T) {
	secretHome(t)
	src, err := openCredentialSource()
	if err != nil {
		t.Fatalf("no store yet: %v", err)
	}
	if _, err := src.Credential("hue"); err == nil || !strings.Contains(err.Error(), "airlock secret set hue") {
		t.Fatalf("a credential of a missing store: %v", err)
	}

	mustRun(t, "", "secret", "set", "home-assistant", "url=http://ha.example.internal:8123", "token=${HA_TOKEN}")
	src, err = openCredentialSource()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Credential("home-assistant"); err == nil || !strings.Contains(err.Error(), "HA_TOKEN") {
		t.Fatalf("an unset reference: %v", err)
	}
	t.Setenv("HA_TOKEN", "token-from-the-environment")
	c, err := src.Credential("home-assistant")
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "home-assistant" || c.Data["token"] != "token-from-the-environment" || c.Data["url"] != "http://ha.example.internal:8123" {
		t.Fatalf("got %s with token %q", c, c.Data["token"])
	}
}
