package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/policy"
)

func TestConnect(t *testing.T) {
	t.Run("allowed tunnel echoes, half-close passes, bytes audited", func(t *testing.T) {
		echo := startEcho(t)
		tp := startProxy(t, proxyConfig{def: mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + echo.port()}})})
		c, resp, body := connectTunnel(t, tp.httpAddr, echo.addr(), "")
		if c == nil {
			t.Fatalf("CONNECT: %d %q", resp.StatusCode, body)
		}
		defer c.Close()
		echoOnce(t, c, "ping")
		big := strings.Repeat("tunnel-data-", 100000) // 1.2 MB
		go io.WriteString(c, big)
		buf := make([]byte, len(big))
		c.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != big {
			t.Fatalf("1.2 MB echo: %v", err)
		}
		// Half-close: the echo server sees EOF, ends its copy and closes; we see EOF.
		c.(*net.TCPConn).CloseWrite()
		if n, err := c.Read(buf); n != 0 || err != io.EOF {
			t.Fatalf("after CloseWrite: read %d, %v; want EOF", n, err)
		}
		c.Close()
		ev := waitEvents(t, tp.sink, "connection_closed", 1)
		want := int64(4 + len(big))
		if len(ev) != 1 || ev[0].BytesUp != want || ev[0].BytesDown != want || ev[0].Host != "127.0.0.1" || ev[0].Addr != "127.0.0.1" {
			t.Errorf("connection_closed events %+v (want %d bytes each way)", ev, want)
		}
		tp.obs.mu.Lock()
		defer tp.obs.mu.Unlock()
		if tp.obs.opened != 1 || tp.obs.closed != 1 || tp.obs.up != want || tp.obs.down != want {
			t.Errorf("observer: opened %d closed %d up %d down %d", tp.obs.opened, tp.obs.closed, tp.obs.up, tp.obs.down)
		}
		if len(tp.obs.decisions) != 1 || !tp.obs.decisions[0].Allow || tp.obs.decisions[0].Rule != "127.0.0.1:"+echo.port() {
			t.Errorf("observer decisions %+v", tp.obs.decisions)
		}
	})

	t.Run("bytes sent right after the CONNECT head reach the upstream", func(t *testing.T) {
		echo := startEcho(t)
		tp := startProxy(t, proxyConfig{def: mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + echo.port()}})})
		c, err := net.Dial("tcp", tp.httpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\nearly-bytes", echo.addr(), echo.addr())
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("CONNECT: %v %v", resp, err)
		}
		got := make([]byte, len("early-bytes"))
		if _, err := io.ReadFull(br, got); err != nil || string(got) != "early-bytes" {
			t.Fatalf("echo of early bytes: %q %v", got, err)
		}
	})

	t.Run("curl --proxytunnel", func(t *testing.T) {
		curl := needCurl(t)
		up := startUpstream(t, nil)
		tp := startProxy(t, proxyConfig{def: mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + up.port()}})})
		out, err := exec.Command(curl, "-sS", "--max-time", "20", "-x", "http://"+tp.httpAddr, "--proxytunnel", up.URL+"/").CombinedOutput()
		if err != nil || string(out) != "hello from upstream" {
			t.Fatalf("curl: %v\n%s", err, out)
		}
	})

	t.Run("Go http.Client https through CONNECT", func(t *testing.T) {
		up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "secure hello")
		}))
		defer up.Close()
		_, port, _ := net.SplitHostPort(up.Listener.Addr().String())
		tp := startProxy(t, proxyConfig{def: mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + port}})})
		c := up.Client()
		tr := c.Transport.(*http.Transport)
		tr.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: tp.httpAddr})
		defer tr.CloseIdleConnections()
		for range 3 {
			resp, err := c.Get(up.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != "secure hello" {
				t.Fatalf("%d %q", resp.StatusCode, b)
			}
		}
		if ev := tp.sink.ByEvent("egress_allowed"); len(ev) != 1 {
			t.Errorf("%d decisions for 3 requests over one tunnel, want 1", len(ev))
		}
	})

	t.Run("denied CONNECT 403 with reason and rule", func(t *testing.T) {
		tp := startProxy(t, proxyConfig{def: mustPolicy(t, policy.Spec{Allow: []string{"api.example.com:443"}})})
		c, resp, body := connectTunnel(t, tp.httpAddr, "169.254.169.254:80", "")
		if c != nil {
			c.Close()
			t.Fatal("tunnel opened")
		}
		if resp.StatusCode != 403 || resp.Header.Get("X-Airlock-Reason") != "metadata" || resp.Header.Get("X-Airlock-Rule") != "address:metadata" ||
			!strings.HasPrefix(body, "airlock: blocked CONNECT 169.254.169.254:80 (metadata, rule: address:metadata): ") {
			t.Errorf("%d %v %q", resp.StatusCode, resp.Header, body)
		}
		if len(tp.dial.Dialed()) != 0 {
			t.Errorf("dialled %v", tp.dial.Dialed())
		}
	})

	t.Run("odd IPv4 spelling judged as 127.0.0.1", func(t *testing.T) {
		echo := startEcho(t)
		tp := startProxy(t, proxyConfig{def: mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + echo.port()}})})
		for _, spelling := range []string{"0x7f.1", "2130706433", "0177.0.0.1", "127.1"} {
			c, resp, body := connectTunnel(t, tp.httpAddr, spelling+":"+echo.port(), "")
			if c == nil {
				t.Errorf("CONNECT %s: %d %q", spelling, resp.StatusCode, body)
				continue
			}
			echoOnce(t, c, "odd")
			c.Close()
		}
		for _, d := range tp.dial.Dialed() {
			if d != "127.0.0.1:"+echo.port() {
				t.Errorf("dialled %s", d)
			}
		}
		// Under a policy that does not grant loopback, the same spelling is refused as 127.0.0.1.
		tp.s.SetPolicies(mustPolicy(t, policy.Spec{Allow: []string{"example.com"}}), nil)
		c, resp, body := connectTunnel(t, tp.httpAddr, "0x7f.1:"+echo.port(), "")
		if c != nil || resp.StatusCode != 403 || !strings.Contains(body, "127.0.0.1:"+echo.port()) || resp.Header.Get("X-Airlock-Reason") != "loopback" {
			t.Errorf("denied spelling: %v %q", resp.Status, body)
		}
	})

	t.Run("authority with CRLF, space, userinfo or a path 400", func(t *testing.T) {
		echo := startEcho(t)
		tp := startProxy(t, proxyConfig{def: mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + echo.port()}})})
		for _, authority := range []string{
			"127.0.0.1:" + echo.port() + "\r\nX-Injected: 1\r\n",
			"127.0.0.1 :" + echo.port(),
			"127.0.0.1:" + echo.port() + " x",
			"user:pass@127.0.0.1:" + echo.port(),
			"127.0.0.1:" + echo.port() + "/path",
			"127.0.0.1",
			"127.0.0.1:0",
			"127.0.0.1:65536",
			"[::1%lo]:" + echo.port(),
			"127.0.0.1:" + echo.port() + "\rx",
		} {
			resp, body := rawExchange(t, tp.httpAddr, "CONNECT "+authority+" HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp.StatusCode != 400 {
				t.Errorf("CONNECT %q: %d %q, want 400", authority, resp.StatusCode, body)
			}
		}
		if n := echo.accepts.Load(); n != 0 {
			t.Errorf("%d connections reached the upstream", n)
		}
	})

	t.Run("the proxy asked to connect to itself", func(t *testing.T) {
		tp := startProxy(t, proxyConfig{})
		_, port, _ := net.SplitHostPort(tp.httpAddr)
		_, sport, _ := net.SplitHostPort(tp.socksAddr)
		tp.s.SetPolicies(mustPolicy(t, policy.Spec{AllowLocalhost: true, Allow: []string{"localhost:" + port, "127.0.0.1:" + sport}}), nil)
		for _, authority := range []string{"localhost:" + port, "127.0.0.1:" + sport} {
			c, resp, body := connectTunnel(t, tp.httpAddr, authority, "")
			if c != nil {
				c.Close()
				t.Fatalf("CONNECT %s: tunnel to itself opened", authority)
			}
			if resp.StatusCode != http.StatusLoopDetected || !strings.Contains(body, "this proxy itself") {
				t.Errorf("CONNECT %s: %d %q", authority, resp.StatusCode, body)
			}
		}
		if ev := tp.sink.ByEvent("egress_blocked"); len(ev) != 2 || ev[0].Reason != "loop" {
			t.Errorf("egress_blocked events %+v", ev)
		}
	})

	t.Run("idle tunnel closed", func(t *testing.T) {
		echo := startEcho(t)
		tp := startProxy(t, proxyConfig{
			opts: Options{IdleTimeout: 200 * time.Millisecond},
			def:  mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + echo.port()}}),
		})
		c, resp, body := connectTunnel(t, tp.httpAddr, echo.addr(), "")
		if c == nil {
			t.Fatalf("CONNECT: %d %q", resp.StatusCode, body)
		}
		defer c.Close()
		// Traffic that keeps the tunnel busy for several idle periods keeps it open.
		for range 8 {
			echoOnce(t, c, "tick")
			time.Sleep(50 * time.Millisecond)
		}
		c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a guard, not an assertion
		if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Errorf("idle tunnel: read %d, %v; want EOF (closed by the proxy)", n, err)
		}
	})

	t.Run("tunnel whose two receivers stopped reading closed", func(t *testing.T) {
		// An upstream that floods and never reads, and a client that does the same.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		t.Cleanup(func() { ln.Close(); wg.Wait() })
		wg.Go(func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			buf := make([]byte, 64<<10)
			for {
				if _, err := c.Write(buf); err != nil {
					return
				}
			}
		})
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		tp := startProxy(t, proxyConfig{
			opts: Options{IdleTimeout: 200 * time.Millisecond},
			def:  mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + port}}),
		})
		c, err := openTunnel(tp.httpAddr, ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second)) // a guard, not an assertion
		buf := make([]byte, 64<<10)
		for {
			if _, err := c.Write(buf); err != nil {
				if isTimeout(err) {
					t.Fatal("the stalled tunnel was never closed")
				}
				break // closed by the proxy
			}
		}
		if !waitFor(func() bool { return tp.s.clients.Load().def.active.Load() == 0 }) {
			t.Error("the tunnel is still counted")
		}
	})

	t.Run("upstream refused 502", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		_, port, _ := net.SplitHostPort(addr)
		tp := startProxy(t, proxyConfig{def: mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + port}})})
		c, resp, body := connectTunnel(t, tp.httpAddr, addr, "")
		if c != nil || resp.StatusCode != 502 {
			t.Errorf("%v %q", resp.Status, body)
		}
	})
}

// TestManyTunnels opens 2,000 concurrent CONNECT tunnels to a loopback echo server, echoes a
// message through each, closes them all, and checks that the goroutines and file descriptors
// of the process come back to where they were.
func TestManyTunnels(t *testing.T) {
	const n = 2000
	echo := startEcho(t)
	tp := startProxy(t, proxyConfig{
		opts: Options{MaxConnsPerClient: 2 * n, Audit: discardSink{}},
		def:  mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + echo.port()}}),
	})
	runtime.GC()
	baseG := runtime.NumGoroutine()
	baseFD := openFDs(t)

	var opened sync.WaitGroup
	opened.Add(n)
	release := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256) // bounds concurrent dials, not concurrent tunnels
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			c, err := openTunnel(tp.httpAddr, echo.addr())
			<-sem
			if err != nil {
				opened.Done()
				errs <- err
				return
			}
			defer c.Close()
			msg := fmt.Sprintf("tunnel %d", i)
			c.SetDeadline(time.Now().Add(60 * time.Second))
			_, err = io.WriteString(c, msg)
			buf := make([]byte, len(msg))
			if err == nil {
				_, err = io.ReadFull(c, buf)
			}
			opened.Done()
			if err != nil || string(buf) != msg {
				errs <- fmt.Errorf("tunnel %d: echo %q, %v", i, buf, err)
				return
			}
			<-release // all n are open at once
		})
	}
	opened.Wait()
	if got := tp.s.clients.Load().def.active.Load(); got != n-int64(len(errs)) {
		t.Errorf("%d tunnels counted open, want %d", got, n-len(errs))
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if echo.accepts.Load() != n {
		t.Errorf("echo server accepted %d connections, want %d", echo.accepts.Load(), n)
	}
	if !waitFor(func() bool { return runtime.NumGoroutine() <= baseG }) {
		t.Errorf("goroutines: %d, %d before the tunnels", runtime.NumGoroutine(), baseG)
	}
	if !waitFor(func() bool { return openFDs(t) <= baseFD }) {
		t.Errorf("open file descriptors: %d, %d before the tunnels", openFDs(t), baseFD)
	}
	if got := tp.s.clients.Load().def.active.Load(); got != 0 {
		t.Errorf("%d connections still counted", got)
	}
}

type discardSink struct{}

func (discardSink) Audit(audit.Event) {}

func openTunnel(proxyAddr, target string) (net.Conn, error) {
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target); err != nil {
		c.Close()
		return nil, err
	}
	// Read the 39-byte answer exactly, so no tunnelled byte is left in a buffer.
	want := "HTTP/1.1 200 Connection Established\r\n\r\n"
	buf := make([]byte, len(want))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != want {
		c.Close()
		return nil, fmt.Errorf("CONNECT answer %q: %v", buf, err)
	}
	return c, nil
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}
