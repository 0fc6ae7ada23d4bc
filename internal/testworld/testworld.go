// Package testworld builds sealed network namespaces for tests, so that a test of airlock's
// isolation can never send a packet off the machine, even when airlock is broken.
//
// A [World] is a network namespace the test creates: its own loopback, one namespace per test
// [Host] joined to it by a veth pair, and no route anywhere else. Run the whole case — airlock
// included — inside it ([World.Command], [World.Do]); listeners for the test hosts are created
// inside their namespaces ([World.Listen], [World.ServeHTTP]). Everything needs root; [Require]
// skips a test that lacks it (or fails it when AIRLOCK_REQUIRE_PRIVILEGED=1).
//
// Why no packet can leave a world:
//
//   - Every interface of the world namespace is its loopback or a veth whose peer sits in one of
//     the world's own host namespaces; each host namespace holds only its loopback and that
//     veth. No interface of any world namespace is, or leads to, the test process's namespace.
//     Veth pairs are created inside the world namespace with their peer placed directly in the
//     host namespace, so not even a transient interface appears in the caller's namespace.
//   - The world namespace has no default route: only /32 (/128) routes to the test hosts. A
//     connect to any other address fails at once with ENETUNREACH and sends nothing.
//   - Forwarding is off in every namespace of a world, so a host cannot relay for another.
//   - [New] checks all of this with `ip -j` after building the world and fails the test if any
//     of it does not hold.
//
// Naming: a world's namespace is "aw-" plus 8 random hex digits ([World.Name]); a host's is the
// world's name, "-", and the host's name. Both veth ends carry the alias "WORLD/HOST". A world
// only ever deletes namespaces it created; one left behind by a killed test run can be removed
// with `ip netns del`.
package testworld

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// LinkNet4 and LinkNet6 are reserved for the world's ends of the veth pairs: a host's packets to
// the world come from (and its replies go to) an address in them. A [Host] may not use them.
var (
	LinkNet4 = netip.MustParsePrefix("10.255.0.0/16")
	LinkNet6 = netip.MustParsePrefix("fd61:6972:6c6b::/48")
)

// reapPatience bounds how long teardown waits for a killed process group to be gone.
const reapPatience = 10 * time.Second

// hostEnd is the name of the veth end inside every host namespace.
const hostEnd = "world"

// Host is a test host: a namespace of its own, joined to the world by a veth pair, that owns
// Addrs (as /32 or /128), e.g. {"metadata", [169.254.169.254]}, {"lan", [10.77.0.2]}, or
// {"public", [198.51.100.7, 2001:db8:77::7]}.
type Host struct {
	// Name is lower-case letters, digits and '-', at most 32 characters, unique in the world.
	Name string
	// Addrs are the host's addresses: at least one; IPv4 or IPv6, without zone; not loopback,
	// unspecified, multicast, IPv4-mapped, or inside LinkNet4/LinkNet6; unique in the world.
	Addrs []netip.Addr
}

// World is a network namespace created for one test. Its methods are safe for concurrent use.
// The world reaches every host; a host reaches only the world (its default route leads there,
// and the world forwards nothing), so hosts cannot reach each other.
// It is torn down by the cleanup [New] registers: tracked processes are killed and waited for,
// then listeners and servers closed, then every namespace deleted (their veths go with them).
type World struct {
	// Name is the world namespace's name for `ip netns` (e.g. "aw-1f2e3d4c"); `ip -n NAME ...`
	// and `ip netns exec NAME ...` reach it.
	Name string

	ip    string // path of iproute2's ip
	hosts []*hostNS

	mu      sync.Mutex
	created []string // namespaces this world created, in order
	cmds    []*exec.Cmd
	closers []func() error
	closed  bool
}

// hostNS is a host as built: its namespace and the veth joining it to the world.
type hostNS struct {
	Host
	ns     string     // its namespace
	link   string     // the world's end of its veth pair
	world4 netip.Addr // the world end's IPv4 address (LinkNet4), if the host has IPv4
	world6 netip.Addr // the world end's IPv6 address (LinkNet6), if the host has IPv6
}

// New creates a world holding hosts and registers its teardown with t.Cleanup. It calls
// [Require] first, so a test without the needed privileges is skipped (or failed). Any error
// while building fails the test; whatever was built by then is still torn down.
func New(t testing.TB, hosts ...Host) *World {
	t.Helper()
	Require(t)
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Fatalf("testworld: %v", err)
	}
	hs, err := plan(hosts)
	if err != nil {
		t.Fatalf("testworld: %v", err)
	}
	w := &World{Name: "aw-" + randomHex(4), ip: ip}
	for _, h := range hs {
		h.ns = w.Name + "-" + h.Name
	}
	w.hosts = hs
	t.Cleanup(func() { w.teardown(t) })
	if err := w.build(); err != nil {
		t.Fatalf("testworld: build %s: %v", w.Name, err)
	}
	if err := w.verify(); err != nil {
		t.Fatalf("testworld: %s is not sealed: %v", w.Name, err)
	}
	return w
}

// plan validates hosts and assigns each its veth name and world-end addresses.
func plan(hosts []Host) ([]*hostNS, error) {
	seenName := map[string]bool{}
	seenAddr := map[netip.Addr]string{}
	out := make([]*hostNS, 0, len(hosts))
	next4, next6 := LinkNet4.Addr().Next(), LinkNet6.Addr().Next()
	for i, h := range hosts {
		if err := validName(h.Name); err != nil {
			return nil, err
		}
		if seenName[h.Name] {
			return nil, fmt.Errorf("host %q: name used twice", h.Name)
		}
		seenName[h.Name] = true
		if len(h.Addrs) == 0 {
			return nil, fmt.Errorf("host %q: no addresses", h.Name)
		}
		hn := &hostNS{Host: Host{Name: h.Name, Addrs: slices.Clone(h.Addrs)}, link: ifname(i, h.Name)}
		for _, a := range h.Addrs {
			switch {
			case !a.IsValid():
				return nil, fmt.Errorf("host %q: invalid address", h.Name)
			case a.Zone() != "":
				return nil, fmt.Errorf("host %q: %s: zones are not allowed", h.Name, a)
			case a.Is4In6():
				return nil, fmt.Errorf("host %q: %s: use the plain IPv4 form %s", h.Name, a, a.Unmap())
			case a.IsLoopback(), a.IsUnspecified(), a.IsMulticast(), a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
				return nil, fmt.Errorf("host %q: %s cannot be a host address", h.Name, a)
			case LinkNet4.Contains(a), LinkNet6.Contains(a):
				return nil, fmt.Errorf("host %q: %s is inside the reserved link nets %s and %s", h.Name, a, LinkNet4, LinkNet6)
			}
			if other, dup := seenAddr[a]; dup {
				return nil, fmt.Errorf("host %q: %s already belongs to host %q", h.Name, a, other)
			}
			seenAddr[a] = h.Name
			if a.Is4() && !hn.world4.IsValid() {
				hn.world4, next4 = next4, next4.Next()
			}
			if a.Is6() && !hn.world6.IsValid() {
				hn.world6, next6 = next6, next6.Next()
			}
		}
		if !LinkNet4.Contains(hn.world4) && hn.world4.IsValid() || !LinkNet6.Contains(hn.world6) && hn.world6.IsValid() {
			return nil, errors.New("too many hosts for the link nets")
		}
		out = append(out, hn)
	}
	return out, nil
}

func validName(name string) error {
	if name == "" || len(name) > 32 {
		return fmt.Errorf("host name %q: want 1 to 32 characters", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("host name %q: want only a-z, 0-9 and '-'", name)
		}
	}
	return nil
}

// ifname is the world's end of host i's veth pair: "h<i>-<name>", cut to the kernel's 15 bytes.
func ifname(i int, name string) string {
	s := fmt.Sprintf("h%d-%s", i, name)
	if len(s) > 15 {
		s = s[:15]
	}
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never returns an error (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b)
}

// build creates the namespaces, links, addresses and routes.
func (w *World) build() error {
	if err := w.addNetns(w.Name); err != nil {
		return err
	}
	if err := w.ipc(w.Name, "link", "set", "lo", "up"); err != nil {
		return err
	}
	for _, h := range w.hosts {
		if err := w.addHost(h); err != nil {
			return fmt.Errorf("host %q: %w", h.Name, err)
		}
	}
	return nil
}

// addNetns creates namespace name, records it for teardown, and turns forwarding and duplicate
// address detection off in it.
func (w *World) addNetns(name string) error {
	if err := w.run("netns", "add", name); err != nil {
		return err
	}
	w.mu.Lock()
	w.created = append(w.created, name)
	w.mu.Unlock()
	return inNetns(netnsPath(name), setSysctls)
}

func (w *World) addHost(h *hostNS) error {
	if err := w.addNetns(h.ns); err != nil {
		return err
	}
	alias := w.Name + "/" + h.Name
	W, H := w.Name, h.ns
	type step struct {
		ns   string
		args []string
	}
	steps := []step{
		{H, []string{"link", "set", "lo", "up"}},
		// Created inside the world, with the peer placed straight into the host namespace:
		// neither end ever exists in the caller's namespace.
		{W, []string{"link", "add", h.link, "type", "veth", "peer", "name", hostEnd, "netns", H}},
		{W, []string{"link", "set", h.link, "alias", alias}},
		{H, []string{"link", "set", hostEnd, "alias", alias}},
	}
	if h.world4.IsValid() {
		steps = append(steps, step{W, []string{"addr", "add", h.world4.String() + "/32", "dev", h.link}})
	}
	if h.world6.IsValid() {
		steps = append(steps, step{W, []string{"addr", "add", h.world6.String() + "/128", "dev", h.link, "nodad"}})
	}
	steps = append(steps,
		step{W, []string{"link", "set", h.link, "up"}},
		step{H, []string{"link", "set", hostEnd, "up"}})
	for _, a := range h.Addrs {
		if a.Is4() {
			steps = append(steps,
				step{H, []string{"addr", "add", a.String() + "/32", "dev", hostEnd}},
				step{W, []string{"route", "add", a.String() + "/32", "dev", h.link, "src", h.world4.String()}})
		} else {
			steps = append(steps,
				step{H, []string{"addr", "add", a.String() + "/128", "dev", hostEnd, "nodad"}},
				step{W, []string{"route", "add", a.String() + "/128", "dev", h.link, "src", h.world6.String()}})
		}
	}
	// The host's way back: a route to the world end, and a default route through it, which
	// leads only into the world (where forwarding is off).
	if h.world4.IsValid() {
		steps = append(steps,
			step{H, []string{"-4", "route", "add", h.world4.String() + "/32", "dev", hostEnd}},
			step{H, []string{"-4", "route", "add", "default", "via", h.world4.String(), "dev", hostEnd}})
	}
	if h.world6.IsValid() {
		steps = append(steps,
			step{H, []string{"-6", "route", "add", h.world6.String() + "/128", "dev", hostEnd}},
			step{H, []string{"-6", "route", "add", "default", "via", h.world6.String(), "dev", hostEnd}})
	}
	for _, s := range steps {
		if err := w.ipc(s.ns, s.args...); err != nil {
			return err
		}
	}
	return nil
}

// run runs ip with args and returns its combined output as part of any error.
func (w *World) run(args ...string) error {
	_, err := w.output(args...)
	return err
}

// ipc runs ip with args inside namespace ns ("ip -n ns ...").
func (w *World) ipc(ns string, args ...string) error {
	return w.run(append([]string{"-n", ns}, args...)...)
}

func (w *World) output(args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(w.ip, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// ipJSON runs "ip -j -n ns args..." and decodes its output into v.
func (w *World) ipJSON(ns string, v any, args ...string) error {
	out, err := w.output(append([]string{"-j", "-n", ns}, args...)...)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(out)) == 0 {
		out = []byte("[]")
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("ip -j -n %s %s: %w", ns, strings.Join(args, " "), err)
	}
	return nil
}

type ipLink struct {
	Name     string `json:"ifname"`
	Type     string `json:"link_type"`
	Alias    string `json:"ifalias"`
	NetnsID  *int   `json:"link_netnsid"`
	LinkInfo struct {
		Kind string `json:"info_kind"`
	} `json:"linkinfo"`
}

type ipRoute struct {
	Type  string `json:"type"`
	Dst   string `json:"dst"`
	Dev   string `json:"dev"`
	Table string `json:"table"`
}

// verify checks the finished world against the guarantees in the package doc.
func (w *World) verify() error {
	want := map[string]string{} // world-side veth -> its host's namespace
	for _, h := range w.hosts {
		want[h.link] = h.ns
	}
	if err := w.verifyLinks(w.Name, want); err != nil {
		return err
	}
	for _, fam := range []string{"-4", "-6"} {
		var routes []ipRoute
		if err := w.ipJSON(w.Name, &routes, fam, "route", "show", "table", "all"); err != nil {
			return err
		}
		for _, r := range routes {
			if r.Dst == "default" || r.Dst == "0.0.0.0/0" || r.Dst == "::/0" {
				return fmt.Errorf("world has a default route (%+v)", r)
			}
			if _, ours := want[r.Dev]; r.Dev != "lo" && !ours {
				return fmt.Errorf("world has a route through %q (%+v)", r.Dev, r)
			}
		}
	}
	for _, h := range w.hosts {
		if err := w.verifyLinks(h.ns, map[string]string{hostEnd: w.Name}); err != nil {
			return err
		}
	}
	return nil
}

// verifyLinks checks that namespace ns holds only lo and the veths in want, each with its peer
// in the namespace want names and carrying this world's alias.
func (w *World) verifyLinks(ns string, want map[string]string) error {
	var ids []struct {
		ID   int    `json:"nsid"`
		Name string `json:"name"`
	}
	if err := w.ipJSON(ns, &ids, "netns", "list-id"); err != nil {
		return err
	}
	peerNS := map[int]string{}
	for _, id := range ids {
		peerNS[id.ID] = id.Name
	}
	var links []ipLink
	if err := w.ipJSON(ns, &links, "-d", "link", "show"); err != nil {
		return err
	}
	seen := 0
	for _, l := range links {
		if l.Name == "lo" && l.Type == "loopback" {
			continue
		}
		peer, ok := want[l.Name]
		switch {
		case !ok:
			return fmt.Errorf("%s holds an unexpected link %q (%s %s)", ns, l.Name, l.Type, l.LinkInfo.Kind)
		case l.LinkInfo.Kind != "veth":
			return fmt.Errorf("%s: link %q is a %q, not a veth", ns, l.Name, l.LinkInfo.Kind)
		case l.NetnsID == nil || peerNS[*l.NetnsID] != peer:
			return fmt.Errorf("%s: the peer of %q is not in %s", ns, l.Name, peer)
		case !strings.HasPrefix(l.Alias, w.Name+"/"):
			return fmt.Errorf("%s: link %q has alias %q, not this world's", ns, l.Name, l.Alias)
		}
		seen++
	}
	if seen != len(want) {
		return fmt.Errorf("%s: %d of %d veths present", ns, seen, len(want))
	}
	return nil
}

// Namespace is the `ip netns` name of host's namespace, or of the world's when host is "".
// It reports false for a host the world does not have.
func (w *World) Namespace(host string) (string, bool) {
	if host == "" {
		return w.Name, true
	}
	for _, h := range w.hosts {
		if h.Name == host {
			return h.ns, true
		}
	}
	return "", false
}

// WorldAddrs are the world's own addresses on host's link (from LinkNet4/LinkNet6): what host
// sees as the source of the world's connections, and where it can reach a server that listens in
// the world namespace on a wildcard address. Nil for an unknown host.
func (w *World) WorldAddrs(host string) []netip.Addr {
	for _, h := range w.hosts {
		if h.Name == host {
			var out []netip.Addr
			for _, a := range []netip.Addr{h.world4, h.world6} {
				if a.IsValid() {
					out = append(out, a)
				}
			}
			return out
		}
	}
	return nil
}

func (w *World) nsPath(t testing.TB, host string) string {
	t.Helper()
	ns, ok := w.Namespace(host)
	if !ok {
		t.Fatalf("testworld: %s has no host %q", w.Name, host)
	}
	return netnsPath(ns)
}

func netnsPath(ns string) string { return filepath.Join("/run/netns", ns) }

// addCloser registers c to run in the listeners phase of teardown (last added, first run). A
// closer added after teardown runs at once.
func (w *World) addCloser(c func() error) {
	w.mu.Lock()
	if !w.closed {
		w.closers = append(w.closers, c)
		w.mu.Unlock()
		return
	}
	w.mu.Unlock()
	c()
}

// Listen returns a listener created inside host's namespace (the world's own when host is "")
// at addr, e.g. Listen(t, "metadata", "tcp", "169.254.169.254:80"). Use IP literals: a name
// would be resolved outside the namespace. The listener is closed at teardown, after the
// world's processes are killed; the caller may close it earlier. Connections it accepts are in
// host's namespace; close them too, or they keep the namespace alive after teardown.
func (w *World) Listen(t testing.TB, host, network, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	err := inNetns(w.nsPath(t, host), func() (err error) {
		ln, err = net.Listen(network, addr)
		return err
	})
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		t.Fatalf("testworld: listen %s %s in %q: %v", network, addr, host, err)
	}
	w.addCloser(ln.Close)
	return ln
}

// ListenPacket is [World.Listen] for packet sockets, e.g. a test DNS server:
// ListenPacket(t, "dns", "udp", "10.77.0.53:53").
func (w *World) ListenPacket(t testing.TB, host, network, addr string) net.PacketConn {
	t.Helper()
	var pc net.PacketConn
	err := inNetns(w.nsPath(t, host), func() (err error) {
		pc, err = net.ListenPacket(network, addr)
		return err
	})
	if err != nil {
		if pc != nil {
			pc.Close()
		}
		t.Fatalf("testworld: listen %s %s in %q: %v", network, addr, host, err)
	}
	w.addCloser(pc.Close)
	return pc
}

// ServeHTTP serves h over HTTP on a TCP listener in host's namespace at addr (see
// [World.Listen]) until teardown. A nil h answers every request with 200 and "testworld HOST\n".
// hits reports how many requests the server has received so far.
func (w *World) ServeHTTP(t testing.TB, host, addr string, h http.Handler) (hits func() int) {
	t.Helper()
	ln := w.Listen(t, host, "tcp", addr)
	if h == nil {
		body := "testworld " + host + "\n"
		h = http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { io.WriteString(rw, body) })
	}
	var n atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(rw, r)
	})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln) // returns http.ErrServerClosed at teardown
	}()
	w.addCloser(func() error {
		err := srv.Close()
		<-done
		return err
	})
	return func() int { return int(n.Load()) }
}

// Command returns a command that runs name with args inside the world namespace, through
// `ip netns exec` (which also gives it a private mount namespace with the world's /sys). The
// caller sets it up and starts it; cmd.Path and cmd.Args are those of ip.
//
// The world tracks it: a started command whose Wait has not been called by the time the world is
// torn down is killed — its whole process group, since it runs in a new one — and waited for.
// Call Wait from the test itself (or from a t.Cleanup registered after [New], which runs
// earlier), never from a goroutine still blocked in Wait when the test ends. The command also
// gets SIGKILL if the test process dies, and cancelling ctx kills its process group. A caller
// that replaces cmd.SysProcAttr takes over those last two.
func (w *World) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, w.ip, append([]string{"netns", "exec", w.Name, name}, args...)...)
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return killGroup(cmd.Process) }
	w.mu.Lock()
	w.cmds = append(w.cmds, cmd)
	w.mu.Unlock()
	return cmd
}

// Do runs fn on a locked OS thread whose network namespace is the world's, then puts the thread
// back. Sockets fn opens are the world's: net.DialTimeout("tcp", "10.77.0.2:80", d) from fn
// connects from inside the world. Keep fn to quick checks with IP literals: goroutines it starts
// (including the resolver's, for names) run on other threads, outside the world. If the thread
// cannot be put back, it is left locked so the runtime discards it, and the test fails.
func (w *World) Do(t testing.TB, fn func()) {
	t.Helper()
	if err := inNetns(netnsPath(w.Name), func() error { fn(); return nil }); err != nil {
		t.Fatalf("testworld: %v", err)
	}
}

// teardown kills the world's processes, closes its listeners, and deletes its namespaces.
func (w *World) teardown(t testing.TB) {
	w.mu.Lock()
	w.closed = true
	cmds, closers, created := w.cmds, w.closers, w.created
	w.mu.Unlock()

	for _, cmd := range cmds {
		if cmd.Process == nil || cmd.ProcessState != nil {
			continue // never started, or the test already waited for it
		}
		if err := killGroup(cmd.Process); err != nil && !errors.Is(err, syscall.ESRCH) && !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("testworld: kill %d: %v", cmd.Process.Pid, err)
		}
		cmd.Process.Kill()
		cmd.Wait() // its exit status is the test's business, not ours
		if err := reapGroup(cmd.Process.Pid, reapPatience); err != nil {
			t.Errorf("testworld: %v", err)
		}
	}
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]() // double closes (a listener under its server) are expected
	}
	// Hosts first, the world last: everything was created inside the world.
	for i := len(created) - 1; i >= 0; i-- {
		if err := w.run("netns", "del", created[i]); err != nil {
			t.Errorf("testworld: %v", err)
		}
	}
}

// Addrs parses addresses for a Host, panicking on a malformed one (a bug in the test):
// Host{Name: "lan", Addrs: Addrs("10.77.0.2")}.
func Addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}
