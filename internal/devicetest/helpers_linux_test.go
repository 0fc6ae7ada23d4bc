//go:build linux

package devicetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airlock-sh/airlock/internal/testbin"
	"github.com/airlock-sh/airlock/internal/testworld"
)

// patience bounds every wait in this package; it guards against hanging, it measures nothing.
const patience = 60 * time.Second

// The fake devices' hosts. "other" is a private address no binding declares: nothing may reach it.
var (
	tvHost       = testworld.Host{Name: "tv", Addrs: testworld.Addrs("192.168.77.100")}
	hueHost      = testworld.Host{Name: "hue", Addrs: testworld.Addrs("192.168.77.50")}
	haHost       = testworld.Host{Name: "ha", Addrs: testworld.Addrs("192.168.77.20")}
	otherHost    = testworld.Host{Name: "other", Addrs: testworld.Addrs("192.168.77.99")}
	metadataHost = testworld.Host{Name: "metadata", Addrs: testworld.Addrs("169.254.169.254")}
)

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// request is what a fake device received.
type request struct {
	Method, Path, Query, Auth, Body string
}

// device is a fake device: it records every request and answers with respond.
type device struct {
	mu   sync.Mutex
	reqs []request
}

func (d *device) serve(respond func(r request) (int, any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		rq := request{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization"), Body: string(body)}
		d.mu.Lock()
		d.reqs = append(d.reqs, rq)
		d.mu.Unlock()
		status, v := respond(rq)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	})
}

func (d *device) requests() []request {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]request(nil), d.reqs...)
}

// bench is one test's world: the fake devices, a private HOME with its own credential store
// and key, and the airlock binary.
type bench struct {
	t   *testing.T
	w   *testworld.World
	dir string
	env []string
	bin string
}

func newBench(t *testing.T, hosts ...testworld.Host) *bench {
	bin := testbin.Airlock(t)
	w := testworld.New(t, hosts...)
	dir := t.TempDir()
	key := make([]byte, 32)
	rand.Read(key)
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"AIRLOCK_SECRET_KEY=" + base64.StdEncoding.EncodeToString(key),
	}
	return &bench{t: t, w: w, dir: dir, env: env, bin: bin}
}

// result is one airlock command's outcome.
type result struct {
	code           int
	stdout, stderr string
}

// airlock runs the airlock binary with args inside the world.
func (b *bench) airlock(stdin string, args ...string) result {
	b.t.Helper()
	cmd, out, errOut := b.start(stdin, args...)
	return b.wait(cmd, out, errOut)
}

func (b *bench) start(stdin string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	b.t.Cleanup(cancel)
	cmd := b.w.Command(ctx, b.bin, args...)
	cmd.Env = b.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("start airlock %v: %v", args, err)
	}
	return cmd, &out, &errOut
}

func (b *bench) wait(cmd *exec.Cmd, out, errOut *bytes.Buffer) result {
	b.t.Helper()
	err := cmd.Wait()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		b.t.Fatalf("airlock: %v", err)
	}
	return r
}

// must runs airlock and fails the test unless it exits 0.
func (b *bench) must(stdin string, args ...string) result {
	b.t.Helper()
	r := b.airlock(stdin, args...)
	if r.code != 0 {
		b.t.Fatalf("airlock %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// example copies examples/NAME.yaml into the bench's directory (approvals are written next to
// the config, never into the repository) and returns the copy's path.
func (b *bench) example(name string) string {
	b.t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", name+".yaml"))
	if err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(b.dir, name+".yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return path
}

// exec runs code through 'airlock exec --config cfg -' and decodes the result into v (when the
// run succeeded and v is not nil).
func (b *bench) exec(cfg, code string, v any) result {
	b.t.Helper()
	r := b.airlock(code, "exec", "--config", cfg, "-")
	if r.code == 0 && v != nil {
		if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
			b.t.Fatalf("exec result %q: %v (stderr: %s)", r.stdout, err, r.stderr)
		}
	}
	return r
}

// serveOn serves h on ln until ln is closed (at the world's teardown).
func serveOn(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: patience}
	srv.Serve(ln)
}
