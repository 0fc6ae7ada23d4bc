//go:build linux

// Command probe runs inside an `airlock run` sandbox for the escape suite: each invocation
// (`probe CASE ARGS...`) makes one attempt to get out and prints what happened as one JSON line,
// then exits 0 — the test, not the probe, judges the outcome.
//
//	{"case":"tcp","ok":false,"err":"dial tcp 10.77.0.2:80: connect: network is unreachable","errno":"ENETUNREACH"}
//
// "ok" means the attempt got through (connected, got a reply, the call succeeded, HTTP 200).
// Only the "wait" case prints more than one line: one per attempt.
//
// Cases:
//
//	tcp ADDR                 connect to ADDR (host:port) directly
//	udp ADDR NAME            send a DNS query for NAME (type A) to ADDR, wait 2 s for a reply
//	raw                      socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)
//	packet                   socket(AF_PACKET, SOCK_RAW, ETH_P_ALL)
//	unix PATH                socket(AF_UNIX, SOCK_STREAM) and connect to PATH
//	abstract NAME            the same, to the abstract socket NAME (without the leading NUL/@)
//	http URL                 GET URL with net/http through the proxy of the environment
//	connect AUTHORITY        a raw CONNECT AUTHORITY to the HTTP proxy of the environment; on 200
//	                         a GET through the tunnel
//	socks HOST PORT          a SOCKS5 CONNECT to HOST:PORT through ALL_PROXY: HOST as an address
//	                         (ATYP 1/4) when it parses as one, else as a domain (ATYP 3); on
//	                         success a GET through the tunnel
//	dns NAME TYPE            one query (TYPE A, AAAA or TXT) to the nameserver of /etc/resolv.conf,
//	                         read by hand (rcode, answer count), then the same lookup with Go's
//	                         own resolver
//	kill PID SIG             kill(PID, SIG)
//	read PATH                read a file
//	unshare                  unshare(CLONE_NEWUSER)
//	clone-userns             start /proc/self/exe in a new user namespace (what `unshare -U` does)
//	setns PATH               setns(open(PATH), CLONE_NEWNET)
//	wait URL MARKER          GET URL through the proxy every 100 ms for at most 60 s, one line
//	                         per attempt; MARKER only tags the process's command line
//
// It uses the standard library only.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// result is the line the probe prints.
type result struct {
	Case   string `json:"case"`
	OK     bool   `json:"ok"`
	Err    string `json:"err,omitempty"`
	Errno  string `json:"errno,omitempty"`
	Detail string `json:"detail,omitempty"`
	// HTTP and CONNECT: the proxy's status and X-Airlock-Reason.
	Status int    `json:"status,omitempty"`
	Reason string `json:"reason,omitempty"`
	// SOCKS5: the reply code (0 = succeeded), -1 when none was read.
	Reply *int `json:"reply,omitempty"`
	// DNS: the rcode's name and the answer count.
	Rcode   string `json:"rcode,omitempty"`
	Answers int    `json:"answers,omitempty"`
	Seq     int    `json:"seq,omitempty"`
}

// patience bounds every single attempt; it is a guard against hanging, never a measurement.
const patience = 5 * time.Second

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe CASE ARGS...")
		os.Exit(2)
	}
	c, args := os.Args[1], os.Args[2:]
	if c == "clone-userns-child" {
		os.Exit(0) // started in a new user namespace: it got one
	}
	need := map[string]int{"tcp": 1, "udp": 2, "unix": 1, "abstract": 1, "http": 1, "connect": 1,
		"socks": 2, "dns": 2, "kill": 2, "read": 1, "setns": 1, "wait": 2}
	if len(args) < need[c] {
		fmt.Fprintf(os.Stderr, "probe %s: want %d arguments, got %d\n", c, need[c], len(args))
		os.Exit(2)
	}
	var r result
	switch c {
	case "tcp":
		r = tcp(args[0])
	case "udp":
		r = udp(args[0], args[1])
	case "raw":
		_, err := sysSocket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_ICMP)
		r = fromErr(err)
	case "packet":
		_, err := sysSocket(syscall.AF_PACKET, syscall.SOCK_RAW, int(htons(syscall.ETH_P_ALL)))
		r = fromErr(err)
	case "unix":
		r = unixConnect(args[0])
	case "abstract":
		r = unixConnect("@" + args[0])
	case "http":
		r = httpGet(args[0])
	case "connect":
		r = connect(args[0])
	case "socks":
		r = socks(args[0], args[1])
	case "dns":
		r = lookup(args[0], args[1])
	case "kill":
		pid, err1 := strconv.Atoi(args[0])
		sig, err2 := strconv.Atoi(args[1])
		if err := errors.Join(err1, err2); err != nil {
			fmt.Fprintln(os.Stderr, "probe kill:", err)
			os.Exit(2)
		}
		r = fromErr(os.NewSyscallError("kill", syscall.Kill(pid, syscall.Signal(sig))))
	case "read":
		b, err := os.ReadFile(args[0])
		r = fromErr(err)
		if err == nil {
			r.Detail = fmt.Sprintf("read %d bytes", len(b))
		}
	case "unshare":
		runtime.LockOSThread() // a thread that got a new namespace must not run other goroutines
		r = fromErr(os.NewSyscallError("unshare", syscall.Unshare(syscall.CLONE_NEWUSER)))
	case "clone-userns":
		cmd := exec.Command("/proc/self/exe", "clone-userns-child")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
		r = fromErr(cmd.Run())
	case "setns":
		r = setns(args[0])
	case "wait":
		wait(args[0])
		return
	default:
		fmt.Fprintf(os.Stderr, "probe: unknown case %q\n", c)
		os.Exit(2)
	}
	r.Case = c
	emit(r)
}

func emit(r result) {
	b, _ := json.Marshal(r)
	os.Stdout.Write(append(b, '\n'))
}

// fromErr is the result of an attempt that failed with err, or succeeded when err is nil.
func fromErr(err error) result {
	if err == nil {
		return result{OK: true}
	}
	r := result{Err: err.Error()}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		r.Errno = errnoName(errno)
	}
	return r
}

func errnoName(e syscall.Errno) string {
	names := map[syscall.Errno]string{
		syscall.EPERM: "EPERM", syscall.ENOENT: "ENOENT", syscall.ESRCH: "ESRCH",
		syscall.EACCES: "EACCES", syscall.EINVAL: "EINVAL", syscall.ENOSYS: "ENOSYS",
		syscall.EAFNOSUPPORT: "EAFNOSUPPORT", syscall.EPROTONOSUPPORT: "EPROTONOSUPPORT",
		syscall.EADDRNOTAVAIL: "EADDRNOTAVAIL", syscall.ENETUNREACH: "ENETUNREACH",
		syscall.EHOSTUNREACH: "EHOSTUNREACH", syscall.ECONNREFUSED: "ECONNREFUSED",
		syscall.ECONNRESET: "ECONNRESET", syscall.ETIMEDOUT: "ETIMEDOUT",
		syscall.EBADF: "EBADF", syscall.ENOTSOCK: "ENOTSOCK",
	}
	if n, ok := names[e]; ok {
		return n
	}
	return "errno " + strconv.Itoa(int(e))
}

func sysSocket(family, typ, proto int) (int, error) {
	fd, err := syscall.Socket(family, typ|syscall.SOCK_CLOEXEC, proto)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	return fd, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func tcp(addr string) result {
	c, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		return fromErr(err)
	}
	defer c.Close()
	return result{OK: true, Detail: "connected to " + c.RemoteAddr().String()}
}

// udp sends a DNS query for name to addr from an unconnected socket (so a failure shows at
// sendto) and waits for any reply.
func udp(addr, name string) result {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return fromErr(err)
	}
	network := "udp4"
	if ua.IP.To4() == nil {
		network = "udp6"
	}
	pc, err := net.ListenUDP(network, nil)
	if err != nil {
		return fromErr(err)
	}
	defer pc.Close()
	if _, err := pc.WriteToUDP(dnsQuery(name, 1), ua); err != nil {
		return fromErr(err)
	}
	pc.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 1500)
	n, from, err := pc.ReadFromUDP(buf)
	if err != nil {
		r := fromErr(err)
		r.Detail = "sent; no reply"
		return r
	}
	return result{OK: true, Detail: fmt.Sprintf("%d bytes from %s", n, from)}
}

// unixConnect connects a new AF_UNIX stream socket to path ("@name" is abstract), reporting
// which step failed.
func unixConnect(path string) result {
	fd, err := sysSocket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		r := fromErr(err)
		r.Detail = "socket"
		return r
	}
	defer syscall.Close(fd)
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		r := fromErr(os.NewSyscallError("connect", err))
		r.Detail = "connect"
		return r
	}
	return result{OK: true, Detail: "connected"}
}

func httpGet(target string) result {
	client := &http.Client{
		Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, DisableKeepAlives: true},
		Timeout:   patience,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := client.Get(target)
	if err != nil {
		return fromErr(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return result{OK: resp.StatusCode == http.StatusOK, Status: resp.StatusCode,
		Reason: resp.Header.Get("X-Airlock-Reason"), Detail: strings.TrimSpace(string(body))}
}

// proxyAddr is host:port of the proxy URL in the environment variable name.
func proxyAddr(name string) (string, error) {
	v := os.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("%s is not set", name)
	}
	u, err := url.Parse(v)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return u.Host, nil
}

// connect sends "CONNECT authority" to the HTTP proxy as written, with no normalisation.
func connect(authority string) result {
	addr, err := proxyAddr("HTTP_PROXY")
	if err != nil {
		return fromErr(err)
	}
	c, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		return fromErr(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(patience))
	if _, err := fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", authority, authority); err != nil {
		return fromErr(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return fromErr(err)
	}
	r := result{Status: resp.StatusCode, Reason: resp.Header.Get("X-Airlock-Reason")}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		r.Detail = strings.TrimSpace(string(body))
		return r
	}
	r.OK = true
	r.Detail = "tunnel: " + getThrough(c, br, authority)
	return r
}

// getThrough sends a GET over an open tunnel and describes the answer.
func getThrough(c net.Conn, br *bufio.Reader, host string) string {
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host); err != nil {
		return err.Error()
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err.Error()
	}
	resp.Body.Close()
	return resp.Status
}

// socks runs a SOCKS5 CONNECT (no authentication) to host:port through ALL_PROXY.
func socks(host, portStr string) result {
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return fromErr(err)
	}
	addr, err := proxyAddr("ALL_PROXY")
	if err != nil {
		return fromErr(err)
	}
	c, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		return fromErr(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(patience))
	none := -1
	r := result{Reply: &none}
	if _, err := c.Write([]byte{5, 1, 0}); err != nil {
		r.Err = err.Error()
		return r
	}
	var greet [2]byte
	if _, err := io.ReadFull(c, greet[:]); err != nil {
		r.Err = "greeting: " + err.Error()
		return r
	}
	if greet != [2]byte{5, 0} {
		r.Err = fmt.Sprintf("greeting answered % x", greet)
		return r
	}
	req := []byte{5, 1, 0}
	if a, err := netip.ParseAddr(host); err == nil && a.Is4() {
		b := a.As4()
		req = append(append(req, 1), b[:]...)
		r.Detail = "ATYP 1 (IPv4)"
	} else if err == nil {
		b := a.As16()
		req = append(append(req, 4), b[:]...)
		r.Detail = "ATYP 4 (IPv6)"
	} else {
		req = append(append(req, 3, byte(len(host))), host...)
		r.Detail = "ATYP 3 (domain)"
	}
	req = binary.BigEndian.AppendUint16(req, uint16(port))
	if _, err := c.Write(req); err != nil {
		r.Err = err.Error()
		return r
	}
	var head [4]byte
	if _, err := io.ReadFull(c, head[:]); err != nil {
		r.Err = "reply: " + err.Error()
		return r
	}
	rep := int(head[1])
	r.Reply = &rep
	if rep != 0 {
		return r
	}
	r.OK = true
	// Skip the bound address, then use the tunnel.
	skip := map[byte]int{1: 4 + 2, 4: 16 + 2}[head[3]]
	br := bufio.NewReader(c)
	if head[3] == 3 {
		n, _ := br.ReadByte()
		skip = int(n) + 2
	}
	br.Discard(skip)
	r.Detail += "; tunnel: " + getThrough(c, br, host)
	return r
}

// lookup asks the sandbox's resolver about name twice: one hand-made query over UDP to the
// first nameserver of /etc/resolv.conf (for the rcode), then Go's own resolver.
func lookup(name, typ string) result {
	qtype := map[string]uint16{"A": 1, "AAAA": 28, "TXT": 16}[typ]
	if qtype == 0 {
		fmt.Fprintf(os.Stderr, "probe dns: unknown type %q\n", typ)
		os.Exit(2)
	}
	var r result
	ns, err := nameserver()
	if err != nil {
		return fromErr(err)
	}
	r.Detail = "nameserver " + ns
	c, err := net.DialTimeout("udp", net.JoinHostPort(ns, "53"), patience)
	if err != nil {
		return fromErr(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(patience))
	q := dnsQuery(name, qtype)
	if _, err := c.Write(q); err != nil {
		return fromErr(err)
	}
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	if err != nil {
		return fromErr(err)
	}
	if n < 12 || buf[0] != q[0] || buf[1] != q[1] {
		r.Err = fmt.Sprintf("bad reply (%d bytes)", n)
		return r
	}
	rcodes := []string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"}
	rc := int(buf[3] & 0x0f)
	r.Rcode = "rcode " + strconv.Itoa(rc)
	if rc < len(rcodes) {
		r.Rcode = rcodes[rc]
	}
	r.Answers = int(binary.BigEndian.Uint16(buf[6:8]))
	r.OK = rc == 0 && r.Answers > 0

	res := &net.Resolver{PreferGo: true}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	var got []string
	if typ == "TXT" {
		got, err = res.LookupTXT(ctx, name)
	} else {
		var addrs []netip.Addr
		addrs, err = res.LookupNetIP(ctx, map[string]string{"A": "ip4", "AAAA": "ip6"}[typ], name)
		for _, a := range addrs {
			got = append(got, a.String())
		}
	}
	if err != nil {
		r.Err = "go resolver: " + err.Error()
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			r.Detail += "; go resolver: not found"
		}
	} else {
		r.OK = true
		r.Detail += "; go resolver: " + strings.Join(got, ",")
	}
	return r
}

// nameserver is the first nameserver of /etc/resolv.conf.
func nameserver() (string, error) {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			return f[1], nil
		}
	}
	return "", errors.New("/etc/resolv.conf names no nameserver")
}

// dnsQuery is a DNS query (RD set, class IN) for name and qtype.
func dnsQuery(name string, qtype uint16) []byte {
	id := uint16(time.Now().UnixNano())
	b := binary.BigEndian.AppendUint16(nil, id)
	b = append(b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0)
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		b = append(append(b, byte(len(label))), label...)
	}
	b = append(b, 0)
	b = binary.BigEndian.AppendUint16(b, qtype)
	return binary.BigEndian.AppendUint16(b, 1)
}

func setns(path string) result {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		r := fromErr(os.NewSyscallError("open", err))
		r.Detail = "open"
		return r
	}
	defer syscall.Close(fd)
	runtime.LockOSThread()                                                   // never unlocked: a thread that switched namespaces is discarded
	nr, ok := map[string]uintptr{"amd64": 308, "arm64": 268}[runtime.GOARCH] // syscall has no SYS_SETNS
	if !ok {
		return result{Err: "setns: unknown system call number on " + runtime.GOARCH}
	}
	_, _, e := syscall.Syscall(nr, uintptr(fd), syscall.CLONE_NEWNET, 0)
	if e != 0 {
		r := fromErr(os.NewSyscallError("setns", e))
		r.Detail = "setns"
		return r
	}
	return result{OK: true, Detail: "entered " + path}
}

// wait tries target through the proxy every 100 ms, for at most 60 s, printing every result.
func wait(target string) {
	deadline := time.Now().Add(60 * time.Second)
	for seq := 1; time.Now().Before(deadline); seq++ {
		r := httpGet(target)
		r.Case, r.Seq = "wait", seq
		emit(r)
		time.Sleep(100 * time.Millisecond)
	}
}
