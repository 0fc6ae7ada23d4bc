package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airlock-sh/airlock/internal/config"
)

// syncBuffer is a bytes.Buffer safe for the proxy's goroutines to write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// waitFor polls cond every 20ms until it holds or 10s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestProxyCommandReload runs 'airlock proxy --config' and rewrites the file under it: a broken
// file is refused and the old policy keeps serving; a valid change takes effect.
func TestProxyCommandReload(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from upstream")
	}))
	defer upstream.Close()
	up, _ := url.Parse(upstream.URL)

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "airlock.yaml")
	writeCfg := func(allow string) {
		t.Helper()
		cfg := fmt.Sprintf("version: 1\nservers:\n  web:\n    command: web\n    network:\n      allow: [%q]\n", allow)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg(up.Host)

	listen := freeAddr(t)
	logPath := filepath.Join(dir, "audit.jsonl")
	f := &proxyFlags{configPath: cfgPath, listen: listen, logPath: logPath, reloadEvery: 50 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- runProxy(ctx, f, &stderr) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runProxy: %v", err)
		}
	}()
	waitFor(t, "the listener", func() bool {
		c, err := net.Dial("tcp", listen)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	proxyURL, _ := url.Parse("http://web:x@" + listen)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}, Timeout: 5 * time.Second}
	get := func() int {
		t.Helper()
		resp, err := client.Get(upstream.URL + "/")
		if err != nil {
			t.Fatalf("GET through the proxy: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != 200 {
		t.Fatalf("allowed upstream: status %d; stderr:\n%s", code, stderr.String())
	}

	// A broken file is refused, logged, and the old policy stays.
	if err := os.WriteFile(cfgPath, []byte("version: 1\nservers:\n  web:\n    command: web\n    network:\n      allow: ['*']\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the refused reload to be logged", func() bool {
		return strings.Contains(stderr.String(), "config reload refused")
	})
	if !strings.Contains(stderr.String(), "airlock.yaml:6") {
		t.Errorf("the refusal does not point at the bad line:\n%s", stderr.String())
	}
	if code := get(); code != 200 {
		t.Fatalf("after a broken reload: status %d, want the old policy's 200", code)
	}

	// A valid change takes effect: the upstream is no longer allowed.
	writeCfg("api.example.com:443")
	waitFor(t, "the new policy", func() bool { return get() == http.StatusForbidden })

	audit, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"event":"egress_allowed"`, `"event":"egress_blocked"`, `"server":"web"`} {
		if !bytes.Contains(audit, []byte(want)) {
			t.Errorf("audit log lacks %s:\n%s", want, audit)
		}
	}
}

func TestProxyCommandUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "airlock.yaml")
	if err := os.WriteFile(cfg, []byte("version: 1\nservers:\n  web:\n    command: web\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"bad allow", []string{"proxy", "--allow", "*"}, "allow_public_internet"},
		{"named listener without config", []string{"proxy", "--listen-server", "web=127.0.0.1:0"}, "needs --config"},
		{"unknown server", []string{"proxy", "--config", cfg, "--listen-server", "nope=127.0.0.1:0"}, "web"},
		{"bad named listener", []string{"proxy", "--config", cfg, "--listen-server", "web"}, "NAME=ADDR"},
		{"no listeners", []string{"proxy", "--listen", ""}, "no listeners"},
		{"bad listen address", []string{"proxy", "--listen", "127.0.0.1:notaport"}, "listen on"},
		{"arguments", []string{"proxy", "extra"}, "unknown command"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := run(t, "", tt.args...)
			if code != exitUsage || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tt.want)
			}
		})
	}
}

// TestReloaderForcedAndChanged covers what SIGHUP does (a forced reload, even of an unchanged
// file) next to the periodic check (only a changed file), and that a bad file is never applied.
func TestReloaderForcedAndChanged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "airlock.yaml")
	good := []byte("version: 1\nservers:\n  web:\n    command: web\n")
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	var logBuf syncBuffer
	applied := 0
	r := &reloader{path: path, log: slog.New(slog.NewJSONHandler(&logBuf, nil)), last: good,
		apply: func(*config.File) { applied++ }}

	r.reload(false)
	if applied != 0 {
		t.Fatalf("an unchanged file was applied by the periodic check")
	}
	r.reload(true)
	if applied != 1 {
		t.Fatalf("SIGHUP did not reload an unchanged file (applied %d)", applied)
	}
	if err := os.WriteFile(path, []byte("version: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.reload(false)
	r.reload(true)
	if applied != 1 || !strings.Contains(logBuf.String(), "config reload refused") {
		t.Fatalf("a bad file: applied %d, log %s", applied, logBuf.String())
	}
}
