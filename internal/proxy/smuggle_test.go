package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/airlock-sh/airlock/internal/policy"
)

// TestSmuggling sends request shapes that let two HTTP parsers disagree on where a request
// ends. Each must be refused with 400 (or 501 for an unknown transfer coding) and nothing may
// reach the upstream: not a request, and the connection is closed after the refusal so the
// rest of the bytes are never read as another request.
func TestSmuggling(t *testing.T) {
	up := startUpstream(t, nil)
	tp := startProxy(t, proxyConfig{def: mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + up.port()}})})
	target := "http://" + up.addr() + "/"
	smuggled := "GET " + target + "smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	cases := []struct {
		name   string
		req    string
		status int
	}{
		{"Content-Length and Transfer-Encoding together",
			"POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 400},
		{"Transfer-Encoding and Content-Length together (reversed)",
			"POST " + target + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 30\r\n\r\n0\r\n\r\n" + smuggled, 400},
		{"two different Content-Lengths",
			"POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 0\r\n\r\nhello" + smuggled, 400},
		{"Content-Length list",
			"POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 0\r\n\r\nhello" + smuggled, 400},
		{"signed Content-Length",
			"POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello" + smuggled, 400},
		{"chunked with a bad chunk size",
			"POST " + target + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n" + smuggled, 400},
		{"chunked with data longer than its size",
			"POST " + target + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n" + smuggled, 400},
		{"chunked with a bare LF after the size",
			"POST " + target + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n" + smuggled, 400},
		{"chunk size overflow",
			"POST " + target + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n" + smuggled, 400},
		{"Transfer-Encoding not ending in chunked",
			"POST " + target + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled, 400},
		{"Transfer-Encoding gzip, chunked",
			"POST " + target + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + smuggled, 501},
		{"Transfer-Encoding with a vertical tab",
			"POST " + target + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n" + smuggled, 400},
		{"two Transfer-Encoding fields",
			"POST " + target + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 400},
		{"Transfer-Encoding in HTTP/1.0",
			"POST " + target + " HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 400},
		{"obs-fold header",
			"GET " + target + " HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n" + smuggled, 400},
		{"obs-fold Transfer-Encoding",
			"POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nX: y\r\n\tTransfer-Encoding: chunked\r\n\r\nhello" + smuggled, 400},
		{"space before the colon",
			"POST " + target + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\nhello" + smuggled, 400},
		{"bare LF line ending",
			"GET " + target + " HTTP/1.1\nHost: x\n\n" + smuggled, 400},
		{"bare CR in a header",
			"GET " + target + " HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n" + smuggled, 400},
		{"NUL in a header value",
			"GET " + target + " HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n" + smuggled, 400},
		{"two Host headers",
			"GET " + target + " HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n" + smuggled, 400},
		{"no Host header in HTTP/1.1",
			"GET " + target + " HTTP/1.1\r\n\r\n" + smuggled, 400},
		{"extra space in the request line",
			"GET  " + target + " HTTP/1.1\r\nHost: x\r\n\r\n" + smuggled, 400},
		{"HTTP/2 preface",
			"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := up.requests.Load()
			resp, body := rawExchange(t, tp.httpAddr, tc.req)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d; body %q", resp.StatusCode, tc.status, body)
			}
			if !resp.Close {
				t.Errorf("the refusal does not close the connection")
			}
			if got := up.requests.Load() - before; got != 0 {
				t.Errorf("%d requests reached the upstream", got)
			}
		})
	}
	if n := up.requests.Load(); n != 0 {
		t.Errorf("the upstream saw %d requests in all", n)
	}
}

// TestSlowloris: a client that sends its header block one byte per second is cut off by
// ReadHeaderTimeout, on the first request of a connection and on a later keep-alive request.
func TestSlowloris(t *testing.T) {
	up := startUpstream(t, nil)
	tp := startProxy(t, proxyConfig{
		opts: Options{ReadHeaderTimeout: 300 * time.Millisecond},
		def:  mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + up.port()}}),
	})
	slow := func(t *testing.T, c net.Conn, head string) {
		t.Helper()
		closed := make(chan error, 1)
		go func() {
			_, err := io.Copy(io.Discard, c) // returns when the proxy closes the connection
			closed <- err
		}()
		for i := 0; i < len(head); i++ {
			if _, err := c.Write([]byte{head[i]}); err != nil {
				return // closed by the proxy
			}
			select {
			case <-closed:
				return
			case <-time.After(time.Second):
			}
		}
		t.Fatalf("the whole header block was accepted one byte per second")
	}
	head := "GET http://" + up.addr() + "/ HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("z", 40) + "\r\n\r\n"

	t.Run("first request", func(t *testing.T) {
		c, err := net.Dial("tcp", tp.httpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		slow(t, c, head)
	})
	t.Run("keep-alive request", func(t *testing.T) {
		c, err := net.Dial("tcp", tp.httpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET http://"+up.addr()+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("first request: %d", resp.StatusCode)
		}
		slow(t, c, head)
	})
	t.Run("silent connection", func(t *testing.T) {
		c, err := net.Dial("tcp", tp.httpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a guard, not an assertion
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("a connection that sends nothing: read %v, want EOF (closed by the proxy)", err)
		}
	})
	t.Run("idle keep-alive connection closed after IdleTimeout", func(t *testing.T) {
		tp2 := startProxy(t, proxyConfig{
			opts: Options{IdleTimeout: 300 * time.Millisecond},
			def:  mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + up.port()}}),
		})
		c, err := net.Dial("tcp", tp2.httpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET http://"+up.addr()+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 || resp.Close {
			t.Fatalf("first request: %v %v", resp, err)
		}
		io.Copy(io.Discard, resp.Body)
		c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a guard, not an assertion
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("idle connection: %v, want EOF (closed by the proxy)", err)
		}
	})
	t.Run("SOCKS5 handshake", func(t *testing.T) {
		c, err := net.Dial("tcp", tp.socksAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte{5}) // half a greeting, then nothing
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("read %v, want EOF (closed by the proxy)", err)
		}
	})
}
