//go:build linux

package testworld_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/airlock-sh/airlock/internal/testworld"
)

var (
	metadata = testworld.Host{Name: "metadata", Addrs: []netip.Addr{netip.MustParseAddr("169.254.169.254")}}
	lan      = testworld.Host{Name: "lan", Addrs: []netip.Addr{netip.MustParseAddr("10.77.0.2")}}
	public   = testworld.Host{Name: "public", Addrs: []netip.Addr{netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8:77::7")}}
)

// patience bounds how long a check may block before it counts as broken; it is a guard against
// hanging, never a measurement.
const patience = 10 * time.Second

// get fetches http://addr/ from inside w: the connection is opened in w.Do, so its socket is the
// world's, and used outside it.
func get(t *testing.T, w *testworld.World, addr string) (string, error) {
	t.Helper()
	var c net.Conn
	var err error
	w.Do(t, func() { c, err = net.DialTimeout("tcp", addr, patience) })
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(patience))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", addr)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %s", resp.Status)
	}
	return string(body), err
}

// ip runs iproute2 and returns its standard output only: ip warns on standard error about other
// worlds' namespaces that come and go meanwhile ("Peer netns reference is invalid").
func ip(t *testing.T, args ...string) string {
	t.Helper()
	var stderr strings.Builder
	cmd := exec.Command("ip", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func TestHostsAnswerFromInsideTheWorld(t *testing.T) {
	t.Parallel()
	w := testworld.New(t, metadata, lan, public)
	servers := []struct{ host, addr string }{
		{"metadata", "169.254.169.254:80"},
		{"lan", "10.77.0.2:80"},
		{"public", "198.51.100.7:80"},
		{"public", "[2001:db8:77::7]:80"},
	}
	for _, s := range servers {
		hits := w.ServeHTTP(t, s.host, s.addr, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(rw, "%s at %s from %s", s.host, r.Host, r.RemoteAddr)
		}))
		t.Run(s.addr, func(t *testing.T) {
			body, err := get(t, w, s.addr)
			if err != nil {
				t.Fatalf("from the world to %s: %v", s.addr, err)
			}
			if want := s.host + " at " + s.addr + " from "; !strings.HasPrefix(body, want) {
				t.Errorf("body %q, want prefix %q", body, want)
			}
			if n := hits(); n != 1 {
				t.Errorf("hits after one request = %d, want 1", n)
			}

			// The same through a process started inside the world.
			out, err := w.Command(t.Context(), "curl", "-sS", "-g", "--noproxy", "*", "--max-time", "10", "http://"+s.addr+"/").CombinedOutput()
			if err != nil {
				t.Fatalf("curl inside the world: %v: %s", err, out)
			}
			if !strings.HasPrefix(string(out), s.host+" at ") {
				t.Errorf("curl got %q", out)
			}
			if n := hits(); n != 2 {
				t.Errorf("hits after curl = %d, want 2", n)
			}
		})
	}
}

// TestNoRouteOut is the safety property: from inside the world, any address that is not a test
// host is unreachable, and the kernel says so at connect time, because there is no route: the
// dial fails with ENETUNREACH, without a packet and without waiting.
func TestNoRouteOut(t *testing.T) {
	t.Parallel()
	w := testworld.New(t, metadata, lan, public)
	for _, tc := range []struct{ network, addr string }{
		{"tcp", "192.0.2.1:80"},
		{"tcp", "8.8.8.8:53"},
		{"tcp", "[2001:4860::1]:80"},
		{"tcp", "10.77.0.3:80"},        // next to a test host, but not one
		{"tcp", "169.254.169.253:80"},  // likewise
		{"tcp", "[2001:db8:77::8]:80"}, // likewise
		{"tcp", "10.255.255.254:80"},   // inside the link net, unassigned
		{"udp", "8.8.8.8:53"},          // a connected UDP socket needs a route too
		{"udp", "[2001:4860:4860::8888]:53"},
	} {
		t.Run(tc.network+"/"+tc.addr, func(t *testing.T) {
			var err error
			w.Do(t, func() {
				var c net.Conn
				c, err = net.DialTimeout(tc.network, tc.addr, patience)
				if c != nil {
					c.Close()
				}
			})
			if !errors.Is(err, syscall.ENETUNREACH) {
				t.Fatalf("dial %s %s from inside the world: %v; want ENETUNREACH (no route)", tc.network, tc.addr, err)
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("dial %s: a timeout (%v) means a packet may have been sent", tc.addr, err)
			}
		})
	}
}

// TestSealed checks the topology from outside, with ip's text output (New has its own check
// with ip -j; this one does not share its code).
func TestSealed(t *testing.T) {
	t.Parallel()
	w := testworld.New(t, metadata, lan, public)
	for _, fam := range []string{"-4", "-6"} {
		routes := ip(t, fam, "-n", w.Name, "route", "show", "table", "all")
		for _, line := range strings.Split(strings.TrimSpace(routes), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			if slices.Contains(f[:min(2, len(f))], "default") || f[0] == "0.0.0.0/0" || f[0] == "::/0" {
				t.Errorf("world %s has a default route: %q", fam, line)
			}
			if i := slices.Index(f, "dev"); i < 0 || i+1 >= len(f) || f[i+1] != "lo" && !strings.HasPrefix(f[i+1], "h") {
				t.Errorf("world %s route not through lo or a host veth: %q", fam, line)
			}
		}
	}

	links := ip(t, "-n", w.Name, "-o", "-d", "link", "show")
	var veths int
	for _, line := range strings.Split(strings.TrimSpace(links), "\n") {
		switch {
		case strings.Contains(line, ": lo: "):
		case strings.Contains(line, " veth ") && strings.Contains(line, "link-netns "+w.Name+"-"):
			veths++
		default:
			t.Errorf("world holds a link that is not lo or a veth into one of its hosts: %q", line)
		}
	}
	if veths != 3 {
		t.Errorf("world has %d veths, want 3:\n%s", veths, links)
	}
	for _, h := range []string{"metadata", "lan", "public"} {
		ns, ok := w.Namespace(h)
		if !ok || ns != w.Name+"-"+h {
			t.Fatalf("Namespace(%q) = %q, %v", h, ns, ok)
		}
		links := ip(t, "-n", ns, "-o", "-d", "link", "show")
		if n := strings.Count(strings.TrimSpace(links), "\n") + 1; n != 2 ||
			!strings.Contains(links, ": lo: ") || !strings.Contains(links, "link-netns "+w.Name+" ") {
			t.Errorf("host %s: want exactly lo and a veth into the world, got:\n%s", h, links)
		}
	}

	// Nothing of ours in the test process's own namespace: every veth end carries the alias
	// "WORLD/HOST".
	if root := ip(t, "-o", "link", "show"); strings.Contains(root, w.Name) {
		t.Errorf("a link of %s is in the test's own namespace:\n%s", w.Name, root)
	}

	// Forwarding is off in the world.
	w.Do(t, func() {
		for _, f := range []string{"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"} {
			b, err := os.ReadFile(f)
			if err != nil || strings.TrimSpace(string(b)) != "0" {
				t.Errorf("%s in the world = %q, %v; want 0", f, b, err)
			}
		}
	})
}

func netnsOfThisThread(t *testing.T) string {
	t.Helper()
	s, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDoSwitchesAndRestores(t *testing.T) {
	t.Parallel()
	w := testworld.New(t, lan)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := netnsOfThisThread(t)
	var inside string
	w.Do(t, func() { inside = netnsOfThisThread(t) })
	var st syscall.Stat_t
	if err := syscall.Stat("/run/netns/"+w.Name, &st); err != nil {
		t.Fatal(err)
	}
	if want := "net:[" + strconv.FormatUint(st.Ino, 10) + "]"; inside != want {
		t.Errorf("inside Do the thread is in %s, want the world %s", inside, want)
	}
	if after := netnsOfThisThread(t); after != before {
		t.Errorf("after Do the thread is in %s, want %s back", after, before)
	}
}

// TestWorldLoopbackIsItsOwn: a listener in the world namespace on 127.0.0.1:P is not the test
// process's 127.0.0.1:P.
func TestWorldLoopbackIsItsOwn(t *testing.T) {
	t.Parallel()
	w := testworld.New(t)
	outside, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer outside.Close()
	addr := outside.Addr().String()
	hits := w.ServeHTTP(t, "", addr, nil) // same address, the world's loopback
	body, err := get(t, w, addr)
	if err != nil || body != "testworld \n" || hits() != 1 {
		t.Fatalf("world's own server: %q, %v, hits %d", body, err, hits())
	}
	c, err := net.DialTimeout("tcp", addr, patience) // loopback of the test's namespace
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	a, err := outside.Accept()
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	if hits() != 1 {
		t.Errorf("a dial in the test's namespace reached the world's server")
	}
}

func TestUDPInAHost(t *testing.T) {
	t.Parallel()
	dns := testworld.Host{Name: "dns", Addrs: []netip.Addr{netip.MustParseAddr("10.77.0.53"), netip.MustParseAddr("fd00:77::53")}}
	w := testworld.New(t, dns)
	for _, addr := range []string{"10.77.0.53:53", "[fd00:77::53]:53"} {
		pc := w.ListenPacket(t, "dns", "udp", addr)
		var c net.Conn
		var err error
		w.Do(t, func() { c, err = net.DialTimeout("udp", addr, patience) })
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		pc.SetDeadline(time.Now().Add(patience))
		buf := make([]byte, 16)
		n, from, err := pc.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "ping" {
			t.Fatalf("%s: read %q, %v", addr, buf[:n], err)
		}
		// The packet came from the world's end of the host's link.
		fromIP := netip.MustParseAddrPort(from.String()).Addr()
		if !slices.Contains(w.WorldAddrs("dns"), fromIP) {
			t.Errorf("packet from %s, want one of %v", fromIP, w.WorldAddrs("dns"))
		}
		if _, err := pc.WriteTo([]byte("pong"), from); err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(patience))
		if n, err := c.Read(buf); err != nil || string(buf[:n]) != "pong" {
			t.Fatalf("%s: reply %q, %v", addr, buf[:n], err)
		}
	}
}

// alive reports whether process pid exists and is not a zombie (a killed grandchild is reaped
// by init, not by the test).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func TestTeardown(t *testing.T) {
	t.Parallel()
	testworld.Require(t) // before the subtest: the checks after it need a world to have existed
	var (
		names       []string
		pids        []int
		ln          net.Listener
		waitedByMe  *exec.Cmd
		neverWaited *exec.Cmd
	)
	t.Run("world", func(t *testing.T) {
		w := testworld.New(t, lan, metadata)
		for _, h := range []string{"", "lan", "metadata"} {
			ns, _ := w.Namespace(h)
			names = append(names, ns)
		}
		ln = w.Listen(t, "lan", "tcp", "10.77.0.2:8080")
		w.ServeHTTP(t, "metadata", "169.254.169.254:80", nil)

		// A shell with a child of its own: teardown kills the whole process group.
		neverWaited = w.Command(context.Background(), "sh", "-c", "sleep 1000 & echo $!; wait")
		out, err := neverWaited.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := neverWaited.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		child, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, neverWaited.Process.Pid, child)

		// One the test waits for itself: teardown must leave it alone.
		waitedByMe = w.Command(context.Background(), "true")
		if err := waitedByMe.Run(); err != nil {
			t.Fatal(err)
		}
		// One never started.
		w.Command(context.Background(), "true")
	})

	list := ip(t, "netns", "list")
	for _, n := range names {
		for _, line := range strings.Split(list, "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == n {
				t.Errorf("namespace %s still listed after teardown", n)
			}
		}
		if _, err := os.Stat("/run/netns/" + n); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("/run/netns/%s: %v, want it gone", n, err)
		}
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("process %d started in the world is still alive", pid)
		}
	}
	if neverWaited.ProcessState == nil {
		t.Errorf("teardown did not wait for the process it killed")
	}
	if !waitedByMe.ProcessState.Success() {
		t.Errorf("the command the test waited for: %v", waitedByMe.ProcessState)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after teardown: %v, want net.ErrClosed", err)
	}
}

func TestContextKillsCommand(t *testing.T) {
	t.Parallel()
	w := testworld.New(t)
	ctx, cancel := context.WithCancel(t.Context())
	cmd := w.Command(ctx, "sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := cmd.Wait(); err == nil {
		t.Fatal("sleep exited cleanly after its context was cancelled")
	}
	if alive(cmd.Process.Pid) {
		t.Errorf("process %d alive after cancel and Wait", cmd.Process.Pid)
	}
}

func TestCommandRunsInTheWorld(t *testing.T) {
	t.Parallel()
	w := testworld.New(t, lan)
	out, err := w.Command(t.Context(), "ip", "-o", "link", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "h0-lan") {
		t.Errorf("ip link inside the world does not show the world's veth:\n%s", out)
	}
}

// TestTwoWorlds: two worlds with the same host names and addresses, side by side, each
// reaching only its own servers.
func TestTwoWorlds(t *testing.T) {
	t.Parallel()
	a := testworld.New(t, lan, public)
	b := testworld.New(t, lan, public)
	if a.Name == b.Name {
		t.Fatalf("both worlds are named %s", a.Name)
	}
	hits := map[*testworld.World]func() int{}
	for name, w := range map[string]*testworld.World{"a": a, "b": b} {
		body := name
		hits[w] = w.ServeHTTP(t, "lan", "10.77.0.2:80", http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
			io.WriteString(rw, body)
		}))
	}
	for _, tc := range []struct {
		w    *testworld.World
		want string
	}{{a, "a"}, {b, "b"}, {a, "a"}} {
		got, err := get(t, tc.w, "10.77.0.2:80")
		if err != nil || got != tc.want {
			t.Errorf("world %s: got %q, %v; want %q", tc.w.Name, got, err, tc.want)
		}
	}
	if hits[a]() != 2 || hits[b]() != 1 {
		t.Errorf("hits a=%d b=%d, want 2 and 1", hits[a](), hits[b]())
	}
}
