// Package testnpm installs pinned MCP servers from npm for tests that run them as real processes,
// once per cache directory and under a file lock, so that concurrent test binaries share one
// install. It is test support: only _test.go files may import it.
//
// The cache is $AIRLOCK_TEST_NPM_CACHE, else $XDG_CACHE_HOME/airlock-test/npm or
// ~/.cache/airlock-test/npm (os.UserCacheDir). An install of the same version is reused; remove
// its directory to force a new one. The install is the only traffic the tests send off the
// machine.
package testnpm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airlock-sh/airlock/internal/testworld"
)

const (
	// EverythingPkg is the MCP reference server that exercises every feature of the protocol;
	// EverythingVersion pins it (npm view @modelcontextprotocol/server-everything version).
	EverythingPkg     = "@modelcontextprotocol/server-everything"
	EverythingVersion = "2026.8.31"

	// CacheEnv overrides where packages are installed (see the package doc).
	CacheEnv = "AIRLOCK_TEST_NPM_CACHE"

	// installPatience bounds npm install against hanging; it is not a measurement.
	installPatience = 5 * time.Minute
)

// errNoLock is why Everything skips where test processes cannot share the cache safely.
var errNoLock = errors.New("the npm cache is shared between test processes under flock(2), which this platform lacks")

// Everything installs (once per cache, under a file lock) the pinned
// @modelcontextprotocol/server-everything and returns the absolute paths of node and of the
// server's entry script. Without node/npm it skips the test, or fails it when
// AIRLOCK_REQUIRE_PRIVILEGED=1 (the same rule as testworld.Require).
func Everything(t testing.TB) (node, entry string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node is not installed (%v); install Node.js and npm", err)
	}
	if node, err = filepath.Abs(node); err != nil {
		t.Fatal(err)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		missing(t, "npm is not installed (%v); install Node.js and npm", err)
	}
	cache := os.Getenv(CacheEnv)
	if cache == "" {
		uc, err := os.UserCacheDir()
		if err != nil {
			t.Fatalf("no cache directory for npm installs (%v); set %s", err, CacheEnv)
		}
		cache = filepath.Join(uc, "airlock-test", "npm")
	}
	prefix := filepath.Join(cache, "server-everything@"+EverythingVersion)
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		t.Fatal(err)
	}
	// Test binaries of concurrent runs share the cache: one installs, the others wait.
	unlock, err := lock(prefix + ".lock")
	if errors.Is(err, errNoLock) {
		missing(t, "%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()

	pkgDir := filepath.Join(prefix, "node_modules", filepath.FromSlash(EverythingPkg))
	stamp := filepath.Join(prefix, ".airlock-test-installed") // written only after a complete install
	if b, err := os.ReadFile(stamp); err != nil || string(b) != EverythingVersion {
		ctx, cancel := context.WithTimeout(t.Context(), installPatience)
		defer cancel()
		start := time.Now()
		cmd := exec.CommandContext(ctx, npm, "install", "--prefix", prefix, "--no-audit", "--no-fund",
			"--ignore-scripts", EverythingPkg+"@"+EverythingVersion)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm install %s@%s: %v\n%s", EverythingPkg, EverythingVersion, err, out)
		}
		if err := os.WriteFile(stamp, []byte(EverythingVersion), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("installed %s@%s into %s in %v", EverythingPkg, EverythingVersion, prefix, time.Since(start).Round(time.Millisecond))
	}

	raw, err := os.ReadFile(filepath.Join(pkgDir, "package.json"))
	if err != nil {
		t.Fatalf("%s: %v (remove %s to reinstall)", EverythingPkg, err, prefix)
	}
	var pkg struct {
		Version string          `json:"version"`
		Bin     json.RawMessage `json:"bin"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatalf("%s/package.json: %v", pkgDir, err)
	}
	if pkg.Version != EverythingVersion {
		t.Fatalf("%s holds %s %s, want %s (remove %s to reinstall)", pkgDir, EverythingPkg, pkg.Version, EverythingVersion, prefix)
	}
	// "bin" is a path, or an object of command name -> path.
	var bin string
	if err := json.Unmarshal(pkg.Bin, &bin); err != nil {
		var bins map[string]string
		if err := json.Unmarshal(pkg.Bin, &bins); err != nil || len(bins) != 1 {
			t.Fatalf("%s/package.json: bin is %s, want a path or one command", pkgDir, pkg.Bin)
		}
		for _, b := range bins {
			bin = b
		}
	}
	entry = filepath.Join(pkgDir, filepath.FromSlash(bin))
	if _, err := os.Stat(entry); err != nil {
		t.Fatalf("%s's entry point: %v (remove %s to reinstall)", EverythingPkg, err, prefix)
	}
	return node, entry
}

// missing skips t for a missing tool, or fails it when privileged tests must run.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	why := fmt.Sprintf(format, args...)
	if strings.TrimSpace(os.Getenv(testworld.RequireEnv)) == "1" {
		t.Fatalf("%s (%s=1: this test must run, not skip)", why, testworld.RequireEnv)
	}
	t.Skipf("%s (set %s=1 to fail instead of skipping)", why, testworld.RequireEnv)
}
