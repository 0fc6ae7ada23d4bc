package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlock-sh/airlock/internal/policy"
	"github.com/airlock-sh/airlock/internal/testdns"
)

func TestForwardHTTP(t *testing.T) {
	t.Run("allowed host 200, body intact, upstream connection reused", func(t *testing.T) {
		payload := strings.Repeat("0123456789abcdef", 5000) // 80 KB: through the splice path
		up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				b, _ := io.ReadAll(r.Body)
				w.Header().Set("X-Got", fmt.Sprint(len(b)))
				w.Write(b)
				return
			}
			io.WriteString(w, payload)
		})
		tp := startProxy(t, proxyConfig{def: mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + up.port()}})})
		c := proxyClient(t, tp.httpAddr, nil)
		const n = 10
		for i := range n {
			resp, err := c.Get(up.URL + "/path?q=" + fmt.Sprint(i))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != payload {
				t.Fatalf("GET %d: status %d, %d bytes (want 200, %d bytes)", i, resp.StatusCode, len(b), len(payload))
			}
		}
		resp, err := c.Post(up.URL+"/echo", "application/octet-stream", strings.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != payload || resp.Header.Get("X-Got") != fmt.Sprint(len(payload)) {
			t.Fatalf("POST: status %d, %d bytes back, X-Got %q", resp.StatusCode, len(b), resp.Header.Get("X-Got"))
		}
		if got := up.requests.Load(); got != n+1 {
			t.Errorf("upstream saw %d requests, want %d", got, n+1)
		}
		if got := up.accepts.Load(); got != 1 {
			t.Errorf("upstream accepted %d connections for %d sequential requests, want 1 (keep-alive)", got, n+1)
		}
		if up.hosts[0] != up.addr() {
			t.Errorf("upstream saw Host %q, want %q", up.hosts[0], up.addr())
		}
		closed := waitEvents(t, tp.sink, "connection_closed", n+1)
		if len(closed) != n+1 {
			t.Fatalf("%d connection_closed events, want %d", len(closed), n+1)
		}
		last := closed[n]
		if last.Host != "127.0.0.1" || last.Addr != "127.0.0.1" || fmt.Sprint(last.Port) != up.port() ||
			last.BytesUp != int64(len(payload)) || last.BytesDown != int64(len(payload)) || last.Decision != "allow" {
			t.Errorf("connection_closed event %+v", last)
		}
		if allowed := tp.sink.ByEvent("egress_allowed"); len(allowed) != 1 {
			t.Errorf("%d egress_allowed events, want 1 (one decision for the pooled connection)", len(allowed))
		}
	})

	t.Run("curl through the proxy, name resolved by the proxy's DNS", func(t *testing.T) {
		curl := needCurl(t)
		up := startUpstream(t, nil)
		dns := testdns.Start(t, testdns.Zone(map[string]netip.Addr{"api.example.com.": publicAddr}))
		tp := startProxy(t, proxyConfig{
			opts: Options{Resolver: dns.Resolver()},
			def:  mustPolicy(t, policy.Spec{Allow: []string{"api.example.com:" + up.port()}}),
		})
		tp.dial.Route(publicAddr.String()+":"+up.port(), up.addr())
		out, err := exec.Command(curl, "-sS", "--max-time", "20", "-x", "http://"+tp.httpAddr,
			"-D", "-", "http://api.example.com:"+up.port()+"/hello").CombinedOutput()
		if err != nil {
			t.Fatalf("curl: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "200 OK") || !strings.HasSuffix(string(out), "hello from upstream") {
			t.Errorf("curl output:\n%s", out)
		}
		if up.hosts[0] != "api.example.com:"+up.port() {
			t.Errorf("upstream saw Host %q", up.hosts[0])
		}
		if !slices.ContainsFunc(dns.Queries(), func(q testdns.Query) bool { return q.Name == "api.example.com." }) {
			t.Errorf("DNS asked %+v, want api.example.com.", dns.Queries())
		}
	})

	t.Run("denied host 403 with reason and rule", func(t *testing.T) {
		up := startUpstream(t, nil)
		tp := startProxy(t, proxyConfig{def: mustPolicy(t, policy.Spec{Allow: []string{"api.example.com"}})})
		resp, body := rawExchange(t, tp.httpAddr, "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n")
		if resp.StatusCode != 403 {
			t.Fatalf("status %d, want 403; body %q", resp.StatusCode, body)
		}
		for _, want := range []string{"airlock: blocked GET 169.254.169.254:80 (metadata, rule: address:metadata)", "cloud metadata"} {
			if !strings.Contains(body, want) {
				t.Errorf("body %q lacks %q", body, want)
			}
		}
		if resp.Header.Get("X-Airlock-Reason") != "metadata" || resp.Header.Get("X-Airlock-Rule") != "address:metadata" {
			t.Errorf("headers %v", resp.Header)
		}
		if resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
		}
		// A name with no allow entry: denied by name, never resolved.
		c := proxyClient(t, tp.httpAddr, nil)
		r2, err := c.Get("http://evil.example.org/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r2.Body)
		r2.Body.Close()
		if r2.StatusCode != 403 || !strings.Contains(string(b), "no_matching_allow") || r2.Header.Get("X-Airlock-Rule") != "default" {
			t.Errorf("evil.example.org: %d %q %v", r2.StatusCode, b, r2.Header)
		}
		if len(tp.dial.Dialed()) != 0 || up.requests.Load() != 0 {
			t.Errorf("dialled %v", tp.dial.Dialed())
		}
		blocked := tp.sink.ByEvent("egress_blocked")
		if len(blocked) != 2 || blocked[0].Reason != "metadata" || blocked[1].Reason != "no_matching_allow" {
			t.Errorf("egress_blocked events %+v", blocked)
		}
	})

	t.Run("allowed name resolving to a private or loopback address refused", func(t *testing.T) {
		dns := testdns.Start(t, testdns.Zone(map[string]netip.Addr{
			"internal.example.com.": privateAddr,
			"local.example.com.":    netip.MustParseAddr("127.0.0.1"),
		}))
		tp := startProxy(t, proxyConfig{
			opts: Options{Resolver: dns.Resolver()},
			def:  mustPolicy(t, policy.Spec{Allow: []string{".example.com"}}),
		})
		for name, reason := range map[string]string{"internal.example.com": "private", "local.example.com": "loopback"} {
			resp, body := rawExchange(t, tp.httpAddr, "GET http://"+name+"/ HTTP/1.1\r\nHost: "+name+"\r\n\r\n")
			if resp.StatusCode != 403 || resp.Header.Get("X-Airlock-Reason") != reason ||
				!strings.Contains(body, "address:"+reason) || !strings.Contains(body, "resolves to") {
				t.Errorf("%s: %d %v %q", name, resp.StatusCode, resp.Header, body)
			}
		}
		if len(tp.dial.Dialed()) != 0 {
			t.Errorf("the dial step was called with %v; it must never be", tp.dial.Dialed())
		}
		if tp.dial.DialedAddr(privateAddr) {
			t.Errorf("dialled %s", privateAddr)
		}
	})

	t.Run("unresolvable name 502 with reason", func(t *testing.T) {
		dns := testdns.Start(t, testdns.Zone(nil))
		tp := startProxy(t, proxyConfig{
			opts: Options{Resolver: dns.Resolver()},
			def:  mustPolicy(t, policy.Spec{Allow: []string{".example.com"}}),
		})
		resp, body := rawExchange(t, tp.httpAddr, "GET http://nx.example.com/ HTTP/1.1\r\nHost: nx.example.com\r\n\r\n")
		if resp.StatusCode != 502 || resp.Header.Get("X-Airlock-Reason") != "unresolvable" {
			t.Errorf("%d %v %q", resp.StatusCode, resp.Header, body)
		}
	})

	t.Run("origin-form request 400 with a teaching body", func(t *testing.T) {
		tp := startProxy(t, proxyConfig{})
		resp, body := rawExchange(t, tp.httpAddr, "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n")
		if resp.StatusCode != 400 || !strings.Contains(body, "forward proxy") || !strings.Contains(body, "GET http://host/path") {
			t.Errorf("%d %q", resp.StatusCode, body)
		}
		resp, body = rawExchange(t, tp.httpAddr, "OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n")
		if resp.StatusCode != 400 {
			t.Errorf("asterisk-form: %d %q", resp.StatusCode, body)
		}
	})

	t.Run("https absolute-form 400 use CONNECT", func(t *testing.T) {
		tp := startProxy(t, proxyConfig{def: mustPolicy(t, policy.Spec{Allow: []string{"example.com"}})})
		resp, body := rawExchange(t, tp.httpAddr, "GET https://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")
		if resp.StatusCode != 400 || !strings.Contains(body, "CONNECT") {
			t.Errorf("%d %q", resp.StatusCode, body)
		}
		resp, body = rawExchange(t, tp.httpAddr, "GET ftp://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")
		if resp.StatusCode != 400 || !strings.Contains(body, "http://") {
			t.Errorf("ftp: %d %q", resp.StatusCode, body)
		}
		resp, body = rawExchange(t, tp.httpAddr, "GET http://user:pw@example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")
		if resp.StatusCode != 400 || !strings.Contains(body, "credentials") {
			t.Errorf("userinfo: %d %q", resp.StatusCode, body)
		}
		if len(tp.dial.Dialed()) != 0 {
			t.Errorf("dialled %v", tp.dial.Dialed())
		}
	})

	t.Run("hop-by-hop headers stripped both ways", func(t *testing.T) {
		up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Connection", "X-Bar")
			h.Set("X-Bar", "secret-hop")
			h.Set("Keep-Alive", "timeout=5")
			h.Set("Proxy-Authenticate", "Basic")
			h.Set("X-End", "kept")
			io.WriteString(w, "ok")
		})
		tp := startProxy(t, proxyConfig{def: mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + up.port()}})})
		req := "GET http://" + up.addr() + "/ HTTP/1.1\r\nHost: " + up.addr() + "\r\n" +
			"Connection: keep-alive, X-Foo\r\nX-Foo: hop\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n" +
			"Trailer: X-T\r\nUpgrade: websocket\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n" +
			"Proxy-Connection: keep-alive\r\nX-End: e2e\r\nAuthorization: Bearer end-to-end\r\n\r\n"
		resp, body := rawExchange(t, tp.httpAddr, req)
		if resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		got := up.lastHeader()
		for _, h := range []string{"Connection", "X-Foo", "Keep-Alive", "Te", "Trailer", "Upgrade", "Proxy-Authorization", "Proxy-Connection", "Transfer-Encoding"} {
			if v, ok := got[h]; ok {
				t.Errorf("upstream saw hop-by-hop %s: %q", h, v)
			}
		}
		if got.Get("X-End") != "e2e" || got.Get("Authorization") != "Bearer end-to-end" || got.Get("Via") != "1.1 airlock" {
			t.Errorf("end-to-end headers lost: %v", got)
		}
		for _, h := range []string{"X-Bar", "Keep-Alive", "Proxy-Authenticate"} {
			if v, ok := resp.Header[h]; ok {
				t.Errorf("client saw hop-by-hop %s: %q", h, v)
			}
		}
		if resp.Header.Get("X-End") != "kept" {
			t.Errorf("response header X-End lost: %v", resp.Header)
		}
	})

	t.Run("Proxy-Authorization user name selects the client and is not forwarded", func(t *testing.T) {
		up := startUpstream(t, nil)
		tp := startProxy(t, proxyConfig{
			def:     mustPolicy(t, policy.Spec{}),
			clients: map[string]*policy.Policy{"github": mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + up.port()}})},
		})
		as := func(user *url.Userinfo) (int, string) {
			c := proxyClient(t, tp.httpAddr, user)
			resp, err := c.Get(up.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			return resp.StatusCode, resp.Header.Get("X-Airlock-Rule")
		}
		if st, _ := as(url.UserPassword("github", "ignored")); st != 200 {
			t.Errorf("as github: %d, want 200", st)
		}
		if h := up.lastHeader(); h.Get("Proxy-Authorization") != "" {
			t.Errorf("Proxy-Authorization forwarded: %v", h)
		}
		if st, rule := as(url.UserPassword("nobody", "x")); st != 403 || rule != "address:loopback" {
			t.Errorf("unknown user: %d %q, want 403 under the (empty) default policy", st, rule)
		}
		if st, _ := as(nil); st != 403 {
			t.Errorf("no credentials: %d, want 403", st)
		}
		closed := waitEvents(t, tp.sink, "connection_closed", 1)
		if len(closed) != 1 || closed[0].Server != "github" {
			t.Errorf("connection_closed events %+v", closed)
		}
		for _, e := range tp.sink.Events() {
			if strings.Contains(fmt.Sprintf("%+v", e), "ignored") || strings.Contains(fmt.Sprintf("%+v", e), "nobody") {
				t.Errorf("an audit event holds a credential or a client-sent name: %+v", e)
			}
		}
	})

	t.Run("listener bound to a client", func(t *testing.T) {
		up := startUpstream(t, nil)
		tp := startProxy(t, proxyConfig{
			def:     mustPolicy(t, policy.Spec{}),
			clients: map[string]*policy.Policy{"github": mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + up.port()}})},
			bound:   "github",
		})
		c := proxyClient(t, tp.boundAddr, url.UserPassword("someone-else", "x"))
		resp, err := c.Get(up.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("bound listener: %d, want 200", resp.StatusCode)
		}
	})

	t.Run("hot policy swap changes the verdict for new requests", func(t *testing.T) {
		up := startUpstream(t, nil)
		allow := mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + up.port()}})
		tp := startProxy(t, proxyConfig{def: allow})
		c := proxyClient(t, tp.httpAddr, nil)
		get := func() int {
			resp, err := c.Get(up.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if st := get(); st != 200 {
			t.Fatalf("before: %d", st)
		}
		tp.s.SetPolicies(mustPolicy(t, policy.Spec{Allow: []string{"api.example.com"}}), nil)
		if st := get(); st != 403 {
			t.Errorf("after swapping to a policy without the upstream: %d, want 403 (the pooled connection must not be reused)", st)
		}
		tp.s.SetPolicies(allow, nil)
		if st := get(); st != 200 {
			t.Errorf("after swapping back: %d", st)
		}
	})

	t.Run("max_request_size 413", func(t *testing.T) {
		up := startUpstream(t, nil)
		tp := startProxy(t, proxyConfig{def: mustPolicy(t, policy.Spec{
			Allow: []string{"127.0.0.1:" + up.port()}, Limits: policy.Limits{MaxRequestSize: 1000}})})
		target := "http://" + up.addr() + "/upload"
		resp, body := rawExchange(t, tp.httpAddr, "POST "+target+" HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n"+strings.Repeat("a", 1001))
		if resp.StatusCode != 413 || !strings.Contains(body, "max_request_size") {
			t.Errorf("Content-Length over the limit: %d %q", resp.StatusCode, body)
		}
		chunked := "POST " + target + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"258\r\n" + strings.Repeat("a", 600) + "\r\n258\r\n" + strings.Repeat("b", 600) + "\r\n0\r\n\r\n"
		resp, body = rawExchange(t, tp.httpAddr, chunked)
		if resp.StatusCode != 413 {
			t.Errorf("chunked over the limit: %d %q", resp.StatusCode, body)
		}
		if n := up.requests.Load(); n != 0 {
			t.Errorf("upstream saw %d requests", n)
		}
		resp, body = rawExchange(t, tp.httpAddr, "POST "+target+" HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"+strings.Repeat("a", 1000))
		if resp.StatusCode != 200 {
			t.Errorf("at the limit: %d %q", resp.StatusCode, body)
		}
	})

	t.Run("max connections 429", func(t *testing.T) {
		release := make(chan struct{})
		up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				<-release
			}
			io.WriteString(w, "ok")
		})
		tp := startProxy(t, proxyConfig{def: mustPolicy(t, policy.Spec{
			Allow: []string{"127.0.0.1:" + up.port()}, Limits: policy.Limits{MaxConnections: 2}})})
		var done []chan struct{}
		for range 2 {
			ch := make(chan struct{})
			done = append(done, ch)
			go func() {
				defer close(ch)
				rawExchange(t, tp.httpAddr, "GET http://"+up.addr()+"/slow HTTP/1.1\r\nHost: x\r\n\r\n")
			}()
		}
		if !waitFor(func() bool { return up.requests.Load() == 2 }) {
			t.Fatal("the slow requests did not arrive")
		}
		resp, body := rawExchange(t, tp.httpAddr, "GET http://"+up.addr()+"/fast HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 429 || resp.Header.Get("X-Airlock-Rule") != "max_connections" {
			t.Errorf("third concurrent request: %d %q", resp.StatusCode, body)
		}
		c, resp, _ := connectTunnel(t, tp.httpAddr, up.addr(), "")
		if c != nil || resp.StatusCode != 429 {
			t.Errorf("CONNECT over the limit: %v", resp.StatusCode)
		}
		close(release)
		for _, ch := range done {
			<-ch
		}
		if !waitFor(func() bool { return tp.s.clients.Load().def.active.Load() == 0 }) {
			t.Fatal("connection slots not released")
		}
		resp, _ = rawExchange(t, tp.httpAddr, "GET http://"+up.addr()+"/fast HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 200 {
			t.Errorf("after the slow requests finished: %d", resp.StatusCode)
		}
	})

	t.Run("upstream refuses 502, dial timeout 504, response timeout 504", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closedAddr := ln.Addr().String()
		ln.Close() // nothing listens here now: connection refused
		_, closedPort, _ := net.SplitHostPort(closedAddr)
		slow := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		})
		hang := func(ctx context.Context, network, addr string) (net.Conn, error) {
			if strings.HasSuffix(addr, ":9") {
				<-ctx.Done() // a destination that never answers the SYN
				return nil, ctx.Err()
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
		tp := startProxy(t, proxyConfig{
			opts: Options{Dial: hang},
			def: mustPolicy(t, policy.Spec{
				Allow:  []string{"127.0.0.1:" + closedPort, "127.0.0.1:9", "127.0.0.1:" + slow.port()},
				Limits: policy.Limits{Timeout: 300 * time.Millisecond}}),
		})
		resp, body := rawExchange(t, tp.httpAddr, "GET http://"+closedAddr+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 502 || !strings.Contains(body, "refused") {
			t.Errorf("refused: %d %q", resp.StatusCode, body)
		}
		resp, body = rawExchange(t, tp.httpAddr, "GET http://127.0.0.1:9/ HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 504 {
			t.Errorf("dial timeout: %d %q", resp.StatusCode, body)
		}
		resp, body = rawExchange(t, tp.httpAddr, "GET http://"+slow.addr()+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 504 || resp.Header.Get("X-Airlock-Reason") != "upstream_timeout" {
			t.Errorf("response timeout: %d %q", resp.StatusCode, body)
		}
	})

	t.Run("framings: chunked both ways, HEAD, 204, 304, close-delimited, HTTP/1.0 client", func(t *testing.T) {
		up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/chunked":
				w.Write([]byte("part1-"))
				w.(http.Flusher).Flush()
				w.Write([]byte("part2"))
			case "/echo":
				b, _ := io.ReadAll(r.Body)
				w.Write(b)
			case "/204":
				w.WriteHeader(204)
			case "/304":
				w.WriteHeader(304)
			case "/head":
				w.Header().Set("Content-Length", "1234")
			}
		})
		tp := startProxy(t, proxyConfig{def: mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + up.port()}})})
		base := "http://" + up.addr()
		c, err := net.Dial("tcp", tp.httpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		br := bufio.NewReader(c)
		do := func(method, raw string) (*http.Response, string) {
			t.Helper()
			if _, err := io.WriteString(c, raw); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(br, &http.Request{Method: method})
			for err == nil && resp.StatusCode == 100 {
				resp, err = http.ReadResponse(br, &http.Request{Method: method})
			}
			if err != nil {
				t.Fatalf("%q: %v", raw, err)
			}
			b, _ := io.ReadAll(resp.Body)
			return resp, string(b)
		}
		// All on one client connection: each response must be framed exactly.
		resp, body := do("GET", "GET "+base+"/chunked HTTP/1.1\r\nHost: x\r\n\r\n")
		if body != "part1-part2" || !slices.Equal(resp.TransferEncoding, []string{"chunked"}) {
			t.Errorf("chunked response: %q %v", body, resp.TransferEncoding)
		}
		resp, body = do("POST", "POST "+base+"/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
		if body != "hello world" {
			t.Errorf("chunked request: %d %q", resp.StatusCode, body)
		}
		resp, body = do("HEAD", "HEAD "+base+"/head HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 200 || resp.ContentLength != 1234 || body != "" {
			t.Errorf("HEAD: %d %d %q", resp.StatusCode, resp.ContentLength, body)
		}
		resp, _ = do("GET", "GET "+base+"/204 HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 204 {
			t.Errorf("204: %d", resp.StatusCode)
		}
		resp, _ = do("GET", "GET "+base+"/304 HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 304 {
			t.Errorf("304: %d", resp.StatusCode)
		}
		resp, body = do("POST", "POST "+base+"/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nabcde")
		if resp.StatusCode != 200 || body != "abcde" {
			t.Errorf("Expect: 100-continue: %d %q", resp.StatusCode, body)
		}
		// HTTP/1.0 with keep-alive: the chunked response comes close-delimited.
		resp, body = do("GET", "GET "+base+"/chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		if body != "part1-part2" || resp.TransferEncoding != nil || !resp.Close {
			t.Errorf("HTTP/1.0 chunked: %q te=%v close=%v", body, resp.TransferEncoding, resp.Close)
		}
		if n := up.accepts.Load(); n != 1 {
			t.Errorf("upstream accepted %d connections, want 1", n)
		}
	})

	t.Run("response larger than max_response_size", func(t *testing.T) {
		more := make(chan struct{})
		up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/stream" {
				w.Write([]byte(strings.Repeat("s", 600)))
				w.(http.Flusher).Flush()
				<-more
				w.Write([]byte(strings.Repeat("s", 600)))
				return
			}
			io.WriteString(w, strings.Repeat("x", 2000))
		})
		tp := startProxy(t, proxyConfig{def: mustPolicy(t, policy.Spec{
			Allow: []string{"127.0.0.1:" + up.port()}, Limits: policy.Limits{MaxResponseSize: 1000}})})
		resp, body := rawExchange(t, tp.httpAddr, "GET http://"+up.addr()+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 502 || !strings.Contains(body, "max_response_size") {
			t.Errorf("%d %q", resp.StatusCode, body)
		}
		// Streamed past the limit: the client gets a cut-off chunked body, not a complete one.
		c, err := net.Dial("tcp", tp.httpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		io.WriteString(c, "GET http://"+up.addr()+"/stream HTTP/1.1\r\nHost: x\r\n\r\n")
		r2, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		first := make([]byte, 600)
		if _, err := io.ReadFull(r2.Body, first); err != nil {
			t.Fatal(err)
		}
		close(more)
		if b, err := io.ReadAll(r2.Body); err == nil {
			t.Errorf("streamed response over the limit read completely (%d bytes)", len(b))
		}
	})

	t.Run("pooled connection closed by the upstream: GET retried, POST probed", func(t *testing.T) {
		// An upstream that closes every connection after one response without saying so.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var accepts atomic.Int64
		serveConns(t, ln, func(c net.Conn) {
			accepts.Add(1)
			c.SetDeadline(time.Now().Add(20 * time.Second))
			req, err := http.ReadRequest(bufio.NewReader(c))
			if err != nil {
				return
			}
			b, _ := io.ReadAll(req.Body)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(b)+2, "ok"+string(b))
		})
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		tp := startProxy(t, proxyConfig{def: mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + port}})})
		c := proxyClient(t, tp.httpAddr, nil)
		base := "http://" + ln.Addr().String() + "/"
		for i, do := range []func() (*http.Response, error){
			func() (*http.Response, error) { return c.Get(base) },
			func() (*http.Response, error) { return c.Get(base) },
			func() (*http.Response, error) { return c.Post(base, "text/plain", strings.NewReader("-body")) },
			func() (*http.Response, error) { return c.Post(base, "text/plain", strings.NewReader("-body")) },
		} {
			if !waitFor(func() bool { return tp.s.clients.Load().def.pool.size() == min(i, 1) }) {
				t.Fatalf("request %d: pool size %d", i, tp.s.clients.Load().def.pool.size())
			}
			resp, err := do()
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "ok") {
				t.Errorf("request %d: %d %q", i, resp.StatusCode, b)
			}
		}
		if n := accepts.Load(); n != 4 {
			t.Errorf("upstream accepted %d connections, want 4", n)
		}
	})

	t.Run("header block too large 431, unknown expectation 417", func(t *testing.T) {
		up := startUpstream(t, nil)
		tp := startProxy(t, proxyConfig{
			opts: Options{MaxHeaderBytes: 1024},
			def:  mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + up.port()}}),
		})
		target := "http://" + up.addr() + "/"
		resp, body := rawExchange(t, tp.httpAddr, "GET "+target+" HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("b", 1100)+"\r\n\r\n")
		if resp.StatusCode != 431 {
			t.Errorf("big header: %d %q", resp.StatusCode, body)
		}
		resp, body = rawExchange(t, tp.httpAddr, "POST "+target+" HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx")
		if resp.StatusCode != 417 {
			t.Errorf("Expect: 200-ok: %d %q", resp.StatusCode, body)
		}
		if n := up.requests.Load(); n != 0 {
			t.Errorf("upstream saw %d requests", n)
		}
	})

	t.Run("request to the proxy itself refused", func(t *testing.T) {
		tp := startProxy(t, proxyConfig{})
		_, port, _ := net.SplitHostPort(tp.httpAddr)
		tp.s.SetPolicies(mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + port}}), nil)
		resp, body := rawExchange(t, tp.httpAddr, "GET http://127.0.0.1:"+port+"/ HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != http.StatusLoopDetected || resp.Header.Get("X-Airlock-Reason") != "loop" {
			t.Errorf("%d %q", resp.StatusCode, body)
		}
	})
}

func needCurl(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	return p
}
