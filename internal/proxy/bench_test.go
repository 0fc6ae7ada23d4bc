package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/policy"
)

// benchProxy is a proxy for benchmarks: no audit, no observer, loopback allowed explicitly.
func benchProxy(b *testing.B, allow ...string) *testProxy {
	b.Helper()
	return startProxy(b, proxyConfig{
		opts: Options{Audit: audit.Discard, Observer: nopObserver{}},
		def:  mustPolicy(b, policy.Spec{Allow: allow}),
	})
}

type nopObserver struct{}

func (nopObserver) Decision(string, policy.Decision)  {}
func (nopObserver) DialLatency(string, time.Duration) {}
func (nopObserver) TunnelOpened(string)               {}
func (nopObserver) TunnelClosed(string, int64, int64) {}
func (nopObserver) Request(string, int, int64, int64) {}

var body100 = strings.Repeat("x", 100)

// BenchmarkForwardHTTP is a Go http.Client → proxy → loopback net/http upstream, a 100-byte
// response body, keep-alive on both sides. Its ns/op and allocs/op include the Go client and
// server; BenchmarkForwardHTTPRaw isolates the proxy.
func BenchmarkForwardHTTP(b *testing.B) {
	up := startUpstream(b, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body100) })
	tp := benchProxy(b, "127.0.0.1:"+up.port())
	c := proxyClient(b, tp.httpAddr, nil)
	url := up.URL + "/bench"
	b.ReportAllocs()
	b.SetBytes(100)
	b.ResetTimer()
	cpu0 := processCPU()
	defer func() { reportCPU(b, cpu0) }()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || n != 100 {
				b.Errorf("status %d, %d bytes", resp.StatusCode, n)
				return
			}
		}
	})
}

// rawUpstream answers every request on a connection with a fixed 100-byte response, with
// as little work as possible, so that a benchmark measures the proxy.
func rawUpstream(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n" + body100)
	serveConns(b, ln, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			// A request head ends with an empty line; these requests have no body.
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				if len(line) <= 2 {
					break
				}
			}
			if _, err := c.Write(resp); err != nil {
				return
			}
		}
	})
	return ln.Addr().String()
}

// BenchmarkForwardHTTPRaw is BenchmarkForwardHTTP with a minimal raw client and upstream:
// its allocs/op and most of its CPU are the proxy's. Each parallel worker is one keep-alive
// client connection.
func BenchmarkForwardHTTPRaw(b *testing.B) {
	upAddr := rawUpstream(b)
	_, port, _ := net.SplitHostPort(upAddr)
	tp := benchProxy(b, "127.0.0.1:"+port)
	req := []byte("GET http://" + upAddr + "/bench HTTP/1.1\r\nHost: " + upAddr +
		"\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	b.ReportAllocs()
	b.SetBytes(100)
	b.ResetTimer()
	cpu0 := processCPU()
	defer func() { reportCPU(b, cpu0) }()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("tcp", tp.httpAddr)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for pb.Next() {
			if _, err := c.Write(req); err != nil {
				b.Error(err)
				return
			}
			n := -1
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					b.Error(err)
					return
				}
				if len(line) <= 2 {
					break
				}
				if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
					n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
				}
			}
			if n != 100 {
				b.Errorf("Content-Length %d", n)
				return
			}
			if _, err := br.Discard(n); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkConnectThroughput streams bytes through a CONNECT tunnel to a loopback sink;
// MB/s is the tunnel's throughput. BenchmarkDirectThroughput is the same without the proxy.
func BenchmarkConnectThroughput(b *testing.B) {
	sink := startSink(b)
	_, port, _ := net.SplitHostPort(sink)
	tp := benchProxy(b, "127.0.0.1:"+port)
	c, resp, body := connectTunnel(b, tp.httpAddr, sink, "")
	if c == nil {
		b.Fatalf("CONNECT: %d %s", resp.StatusCode, body)
	}
	defer c.Close()
	stream(b, c)
}

func BenchmarkDirectThroughput(b *testing.B) {
	c, err := net.Dial("tcp", startSink(b))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	stream(b, c)
}

const chunk = 256 << 10

// stream writes b.N chunks of 256 KiB on c, then half-closes and waits for the sink's count.
func stream(b *testing.B, c net.Conn) {
	buf := make([]byte, chunk)
	b.SetBytes(chunk)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	c.(interface{ CloseWrite() error }).CloseWrite()
	var got [20]byte
	n, _ := io.ReadFull(c, got[:])
	b.StopTimer()
	if want := strconv.Itoa(b.N * chunk); string(got[:n]) != want {
		b.Fatalf("sink counted %q bytes, want %s", got[:n], want)
	}
}

// startSink accepts connections, discards what it reads, and answers the byte count when the
// client half-closes.
func startSink(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	serveConns(b, ln, func(c net.Conn) {
		buf := make([]byte, chunk)
		var n int64
		for {
			k, err := c.Read(buf)
			n += int64(k)
			if err != nil {
				break
			}
		}
		io.WriteString(c, strconv.FormatInt(n, 10))
	})
	return ln.Addr().String()
}
