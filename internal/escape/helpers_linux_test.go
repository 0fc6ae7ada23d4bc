//go:build linux

package escape

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlock-sh/airlock/internal/testbin"
	"github.com/airlock-sh/airlock/internal/testdns"
	"github.com/airlock-sh/airlock/internal/testworld"
)

// patience bounds every wait in this package; it is a guard against hanging, never a
// measurement.
const patience = 30 * time.Second

// The test hosts. "public" has a documentation address: public-looking, and never a real host.
var (
	metadataHost = testworld.Host{Name: "metadata", Addrs: testworld.Addrs("169.254.169.254")}
	lanHost      = testworld.Host{Name: "lan", Addrs: testworld.Addrs("10.77.0.2")}
	publicHost   = testworld.Host{Name: "public", Addrs: testworld.Addrs("198.51.100.7", "2001:db8:77::7")}
	dnsHost      = testworld.Host{Name: "dns", Addrs: testworld.Addrs("10.77.0.53")}
)

// policyArgs is the policy of every run: one explicit address, one name that resolves to it,
// and one name that resolves to a private address.
var policyArgs = []string{
	"--allow", "198.51.100.7:80",
	"--allow", "allowed.example.net:80",
	"--allow", "private.example.net:80",
}

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

// binaries builds cmd/airlock and testdata/probe (once) and returns their paths. A build
// failure fails the test: it is never a reason to skip. The sandbox shares the file system, so
// the probe runs from the build directory; its uid (the test's, root) owns the 0700 directory,
// which is all it needs without capabilities.
func binaries(t *testing.T) (airlock, probe string) {
	t.Helper()
	probe, err := testbin.Build("./testdata/probe")
	if err != nil {
		t.Fatal(err)
	}
	return testbin.Airlock(t), probe
}

// counter counts what a test host's listener saw.
type counter struct {
	conns    atomic.Int64 // connections accepted (stream) or packets received (datagram)
	requests atomic.Int64 // HTTP requests served

	mu      sync.Mutex
	remotes map[string]bool // remote addresses of accepted connections
}

func (c *counter) accepted(remote string) {
	c.mu.Lock()
	if c.remotes == nil {
		c.remotes = map[string]bool{}
	}
	c.remotes[remote] = true
	c.mu.Unlock()
	c.conns.Add(1)
}

func (c *counter) sawRemote(remote string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remotes[remote]
}

// countingListener counts every connection it accepts.
type countingListener struct {
	net.Listener
	c *counter
}

func (l countingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err == nil {
		l.c.accepted(conn.RemoteAddr().String())
	}
	return conn, err
}

// serveHTTP serves 200 "testworld HOST" on addr in host's namespace until the test ends,
// counting connections (not only requests: a CONNECT tunnel that reached the host but sent
// nothing counts too).
func serveHTTP(t *testing.T, w *testworld.World, host, addr string) *counter {
	t.Helper()
	c := &counter{}
	ln := countingListener{w.Listen(t, host, "tcp", addr), c}
	body := "testworld " + host + "\n"
	srv := &http.Server{
		Handler: http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
			c.requests.Add(1)
			io.WriteString(rw, body)
		}),
		ReadHeaderTimeout: patience,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return c
}

// acceptAll accepts and closes connections on ln until the test ends, counting them.
func acceptAll(t *testing.T, ln net.Listener) *counter {
	t.Helper()
	c := &counter{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.accepted(conn.RemoteAddr().String())
			conn.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return c
}

// receiveAll reads packets on pc until the test ends, counting them.
func receiveAll(t *testing.T, pc net.PacketConn) *counter {
	t.Helper()
	c := &counter{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			c.accepted(from.String())
		}
	}()
	t.Cleanup(func() {
		pc.Close()
		<-done
	})
	return c
}

// dnsRecords are the names the test world's upstream DNS server (the supervisor's resolver)
// knows; it answers NXDOMAIN for every other name.
var dnsRecords = map[string]netip.Addr{
	"allowed.example.net.": netip.MustParseAddr("198.51.100.7"),
	"private.example.net.": netip.MustParseAddr("10.77.0.2"),
}

// serveDNS runs the test DNS server on 10.77.0.53:53 (UDP) in the dns host until the test ends.
// It remembers every question it was asked.
func serveDNS(t *testing.T, w *testworld.World) (*testdns.Server, *counter) {
	t.Helper()
	// A TCP listener too, so that a query over TCP would be seen (counted) rather than refused.
	tcp := acceptAll(t, w.Listen(t, "dns", "tcp", "10.77.0.53:53"))
	d := testdns.Serve(t, w.ListenPacket(t, "dns", "udp", "10.77.0.53:53"), testdns.Zone(dnsRecords))
	return d, tcp
}

// queriesOfType counts the questions of type qtype d was asked.
func queriesOfType(d *testdns.Server, qtype uint16) int {
	n := 0
	for _, q := range d.Queries() {
		if q.Type == qtype {
			n++
		}
	}
	return n
}

// world is one test world with every host, server and listener of the suite.
type world struct {
	*testworld.World
	airlock, probe string

	dns                      *testdns.Server
	dnsTCP                   *counter
	metadata, lan            *counter // HTTP on :80
	public80, public8080     *counter // HTTP on 198.51.100.7
	public6                  *counter // HTTP on [2001:db8:77::7]:80
	publicUDP                *counter // UDP on 198.51.100.7:53
	loop4, loop6             *counter // the world's own loopback (the "host's" loopback)
	loop4Port, loop6Port     string
	abstract                 *counter
	abstractName             string
	unixTmp, unixRun         *counter
	unixTmpPath, unixRunPath string
}

// newWorld builds a test world, its servers and listeners, and the binaries.
func newWorld(t *testing.T) *world {
	t.Helper()
	testworld.Require(t)
	airlock, probe := binaries(t)
	w := &world{World: testworld.New(t, metadataHost, lanHost, publicHost, dnsHost), airlock: airlock, probe: probe}
	// The supervisor resolves allowed names with the system resolver of its namespace: the
	// world's, which asks the test DNS server and nothing else.
	w.SetResolvConf(t, "nameserver 10.77.0.53\noptions timeout:2 attempts:2\n")
	w.dns, w.dnsTCP = serveDNS(t, w.World)
	w.metadata = serveHTTP(t, w.World, "metadata", "169.254.169.254:80")
	w.lan = serveHTTP(t, w.World, "lan", "10.77.0.2:80")
	w.public80 = serveHTTP(t, w.World, "public", "198.51.100.7:80")
	w.public8080 = serveHTTP(t, w.World, "public", "198.51.100.7:8080")
	w.public6 = serveHTTP(t, w.World, "public", "[2001:db8:77::7]:80")
	w.publicUDP = receiveAll(t, w.ListenPacket(t, "public", "udp", "198.51.100.7:53"))

	ln4 := w.Listen(t, "", "tcp", "127.0.0.1:0")
	ln6 := w.Listen(t, "", "tcp", "[::1]:0")
	w.loop4, w.loop6 = acceptAll(t, ln4), acceptAll(t, ln6)
	w.loop4Port = strconv.Itoa(ln4.Addr().(*net.TCPAddr).Port)
	w.loop6Port = strconv.Itoa(ln6.Addr().(*net.TCPAddr).Port)

	w.abstractName = "airlock-escape-" + randomHex(6)
	w.abstract = acceptAll(t, w.Listen(t, "", "unix", "@"+w.abstractName))

	// Unix sockets of the host (the file system is shared with the sandbox).
	w.unixTmpPath = filepath.Join("/tmp", "airlock-escape-"+randomHex(6)+".sock")
	w.unixRunPath = filepath.Join("/run", "airlock-escape-"+randomHex(6)+".sock")
	w.unixTmp = acceptAll(t, listenUnix(t, w.unixTmpPath))
	w.unixRun = acceptAll(t, listenUnix(t, w.unixRunPath))
	return w
}

func listenUnix(t *testing.T, path string) net.Listener {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o777) // reachable by any uid: only the sandbox may stop the workload
	t.Cleanup(func() {
		ln.Close()
		os.Remove(path)
	})
	return ln
}

// result is the probe's JSON line (see testdata/probe).
type result struct {
	Case    string `json:"case"`
	OK      bool   `json:"ok"`
	Err     string `json:"err"`
	Errno   string `json:"errno"`
	Detail  string `json:"detail"`
	Status  int    `json:"status"`
	Reason  string `json:"reason"`
	Reply   *int   `json:"reply"`
	Rcode   string `json:"rcode"`
	Answers int    `json:"answers"`
	Seq     int    `json:"seq"`
}

func (r result) String() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// auditEvent is the part of an audit line the suite checks.
type auditEvent struct {
	Event    string `json:"event"`
	Decision string `json:"decision"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Reason   string `json:"reason"`
	Rule     string `json:"rule"`
}

// run runs `airlock run POLICY --log F -- argv...` inside the world and returns its stdout and
// audit events. airlock must exit 0 (it passes on the command's status, and the probe always
// exits 0).
func (w *world) run(t *testing.T, argv ...string) (string, []auditEvent) {
	t.Helper()
	logFile := filepath.Join(t.TempDir(), "audit.jsonl")
	args := append(append([]string{"run"}, policyArgs...), "--log", logFile, "--")
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	cmd := w.Command(ctx, w.airlock, append(args, argv...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second // should anything of the sandbox outlive airlock and hold the pipes
	if err := cmd.Run(); err != nil {
		t.Fatalf("airlock run -- %s: %v\nstdout: %s\nstderr: %s", strings.Join(argv, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.String(), readAudit(t, logFile)
}

// probeRun runs the probe with args in the sandbox and returns its result.
func (w *world) probeRun(t *testing.T, args ...string) (result, []auditEvent) {
	t.Helper()
	out, events := w.run(t, append([]string{w.probe}, args...)...)
	var r result
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &r); err != nil {
		t.Fatalf("probe %s: output %q is not one JSON line: %v", strings.Join(args, " "), out, err)
	}
	t.Logf("probe %s: %s", strings.Join(args, " "), r)
	return r, events
}

func readAudit(t *testing.T, path string) []auditEvent {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []auditEvent
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e auditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit log %s: %q: %v", path, sc.Text(), err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// hasEvent reports whether events hold one with this event name and reason ("" = any).
func hasEvent(events []auditEvent, event, reason string) bool {
	for _, e := range events {
		if e.Event == event && (reason == "" || e.Reason == reason) {
			return true
		}
	}
	return false
}

// processesWith lists the live (not zombie) processes of this machine whose command line holds
// marker as a whole argument, and for each whether its argv[0] is exe.
func processesWith(marker, exe string) (pids []int, exeMatch []int) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(b) == 0 {
			continue // gone, or a zombie (whose command line is empty)
		}
		args := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
		found := false
		for _, a := range args {
			if a == marker {
				found = true
			}
		}
		if !found || zombie(pid) {
			continue
		}
		pids = append(pids, pid)
		if args[0] == exe {
			exeMatch = append(exeMatch, pid)
		}
	}
	return pids, exeMatch
}

func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return true
	}
	return b[i+2] == 'Z' || b[i+2] == 'X'
}
