//go:build linux

package devicetest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCredentialsNeverReachTheWorker runs a Home Assistant call, then holds the code-mode
// worker busy while the test reads the worker's environment and every readable page of its
// memory: the token must be nowhere. A marker that the code itself holds must be found, so the
// scan is shown to see the worker's heap.
func TestCredentialsNeverReachTheWorker(t *testing.T) {
	b := newBench(t, haHost)
	token := "ha-token-" + randomHex(16)
	ha := &device{}
	b.w.ServeHTTP(t, "ha", "192.168.77.20:8123", ha.serve(func(r request) (int, any) {
		if r.Auth != "Bearer "+token {
			return 401, map[string]any{"message": "unauthorized"}
		}
		return 200, map[string]any{"entity_id": "light.kitchen", "state": "on", "echo": r.Auth}
	}))
	cfg := b.example("home-assistant")
	b.must("", "secret", "set", "home-assistant", "host=192.168.77.20", "token="+token)
	b.must("", "approve", "--config", cfg, "--yes")

	marker := "marker-" + randomHex(12)
	code := fmt.Sprintf(`
const held = ["%s", "%s"].join("");
const s = await homeAssistant.getState("light.kitchen");
const t0 = Date.now();
while (Date.now() - t0 < 3000) {}
return {held: held.length, state: s.state, echo: s.echo};
`, marker[:7], marker[7:])
	cmd, out, errOut := b.start(code, "exec", "--config", cfg, "-")

	deadline := time.Now().Add(patience)
	for len(ha.requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if len(ha.requests()) == 0 {
		b.wait(cmd, out, errOut)
		t.Fatalf("Home Assistant was never called; stderr: %s", errOut.String())
	}
	workers := childrenWithEnv(t, cmd.Process.Pid, "AIRLOCK_CODEMODE_WORKER=1")
	if len(workers) == 0 {
		t.Fatal("no code-mode worker found among airlock exec's children")
	}
	sawMarker := false
	for _, pid := range workers {
		environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			t.Fatalf("read worker %d environ: %v", pid, err)
		}
		if bytes.Contains(environ, []byte(token)) {
			t.Errorf("the token is in worker %d's environment", pid)
		}
		found, scanned := scanMemory(t, pid, []byte(token), []byte(marker))
		if found[0] {
			t.Errorf("the token is in worker %d's memory", pid)
		}
		sawMarker = sawMarker || found[1]
		t.Logf("worker %d: scanned %d KiB", pid, scanned>>10)
	}
	if !sawMarker {
		t.Error("the scan did not find the marker the code holds: it does not see the worker's heap, so it proves nothing")
	}
	r := b.wait(cmd, out, errOut)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// Home Assistant echoed the Authorization header: airlock redacts credential values in
	// what a binding returns.
	if strings.Contains(r.stdout, token) || !strings.Contains(r.stdout, "redacted") {
		t.Errorf("result %s: the echoed token must come back redacted", r.stdout)
	}
}

// childrenWithEnv returns the children of pid whose environment holds kv.
func childrenWithEnv(t *testing.T, pid int, kv string) []int {
	t.Helper()
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		data, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(data)) {
			child, err := strconv.Atoi(s)
			if err != nil {
				continue
			}
			env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", child))
			if err == nil && bytes.Contains(append(append([]byte{0}, env...), 0), []byte("\x00"+kv+"\x00")) {
				out = append(out, child)
			}
		}
	}
	return out
}

// scanMemory reads every readable mapping of pid through /proc/PID/mem and reports which of
// needles occur, and how many bytes it read.
func scanMemory(t *testing.T, pid int, needles ...[]byte) (found []bool, scanned int64) {
	t.Helper()
	found = make([]bool, len(needles))
	maps, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatalf("open maps: %v", err)
	}
	defer maps.Close()
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		t.Fatalf("open mem: %v", err)
	}
	defer mem.Close()
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[1][0] != 'r' || (len(f) >= 6 && (f[5] == "[vvar]" || f[5] == "[vsyscall]" || f[5] == "[vvar_vclock]")) {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil || end <= start {
			continue
		}
		const chunk = 1 << 20
		var tail []byte
		for off := start; off < end; off += chunk {
			n := min(uint64(chunk), end-off)
			buf := make([]byte, n)
			got, err := mem.ReadAt(buf, int64(off))
			if got <= 0 {
				_ = err
				break
			}
			scanned += int64(got)
			data := append(tail, buf[:got]...)
			for i, nd := range needles {
				if !found[i] && bytes.Contains(data, nd) {
					found[i] = true
				}
			}
			if len(data) > 256 {
				tail = append([]byte(nil), data[len(data)-256:]...)
			} else {
				tail = data
			}
		}
	}
	return found, scanned
}

// TestLimitsThroughExec: an endless loop is stopped at the wall-clock limit and a huge
// allocation at the memory limit, each reported as such; the next run works.
func TestLimitsThroughExec(t *testing.T) {
	b := newBench(t)
	cfg := b.example("dev-server")
	b.must("", "approve", "--config", cfg, "--yes")
	for _, tt := range []struct {
		name string
		args []string
		code string
		want string
	}{
		{"wall clock", []string{"--timeout", "1s"}, `while (true) {}`, "wall"},
		{"memory", []string{"--memory", "64MiB"}, `const a = []; for (;;) a.push("x".repeat(1 << 20) + a.length);`, "memory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"exec", "--config", cfg}, tt.args...), "-")
			r := b.airlock(tt.code, args...)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 naming the %s limit", r.code, r.stderr, tt.want)
			}
		})
	}
	if r := b.must(`return 6 * 7`, "exec", "-"); strings.TrimSpace(r.stdout) != "42" {
		t.Errorf("after the limits, a plain run printed %q", r.stdout)
	}
}
