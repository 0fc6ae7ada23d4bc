package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/egress"
	"github.com/airlock-sh/airlock/internal/host"
	"github.com/airlock-sh/airlock/internal/policy"
)

// httpConn serves one client connection of an HTTP proxy listener: requests one after the
// other (pipelined requests wait their turn), each forwarded over a pooled upstream
// connection, until the client closes, asks to close, or sends CONNECT (the connection then
// becomes a tunnel). It is reused across connections through httpConns, with its buffers.
type httpConn struct {
	s        *Server
	t        *tracked
	cs       side // the client connection
	lnClient string
	br       *bufio.Reader
	bw       *bufio.Writer

	req      head
	fr       framing
	resp     head
	rfr      framing
	trailers head
	key      []byte    // pool key of the current request
	now      time.Time // read when a request arrives and when its response head does
	authBuf  [192]byte

	tun *pendingTunnel // set by a successful CONNECT
}

// pendingTunnel is a CONNECT that was answered 200: the tunnel runs after the connection's
// HTTP buffers have been released.
type pendingTunnel struct {
	cl       *clientState
	up       net.Conn
	pending  []byte // bytes the client sent after its CONNECT head
	hostport string
	start    time.Time
}

var httpConns sync.Pool

// maxKeptHead is the largest head buffer kept in a pooled httpConn.
const maxKeptHead = 16 << 10

func (s *Server) serveHTTPConn(t *tracked, lnClient string) {
	hc, _ := httpConns.Get().(*httpConn)
	if hc == nil {
		hc = &httpConn{}
	}
	hc.s, hc.t, hc.lnClient = s, t, lnClient
	hc.cs = newSide(t.c)
	hc.br = getReader(t.c)
	hc.bw = getWriter(&clientWriterPool, clientWriterSize, t.c)
	hc.now = time.Now()
	hc.cs.setRead(hc.now.Add(s.readHeaderTimeout)) // also bounds the wait for the first byte
	for first := true; ; first = false {
		if hc.br.Buffered() == 0 {
			// Waiting for a request: idle, so Shutdown may close the connection.
			if s.idleOrClosing(t) {
				break
			}
			if !first {
				hc.cs.readWithin(hc.now, s.idle)
			}
			if _, err := hc.br.Peek(1); err != nil {
				break
			}
			t.setIdle(false)
			if !first && !headBuffered(hc.br) {
				hc.cs.readWithin(time.Now(), s.readHeaderTimeout)
			}
		}
		if !hc.serveOne() || s.closing.Load() {
			break
		}
	}
	tun := hc.tun
	hc.release()
	if tun != nil {
		s.runTunnel(t, tun)
	}
}

func (hc *httpConn) release() {
	putReader(hc.br)
	putWriter(&clientWriterPool, hc.bw)
	*hc = httpConn{
		req:      shrink(hc.req),
		fr:       framing{tokens: hc.fr.tokens[:0], skip: hc.fr.skip[:0]},
		resp:     shrink(hc.resp),
		rfr:      framing{tokens: hc.rfr.tokens[:0], skip: hc.rfr.skip[:0]},
		trailers: shrink(hc.trailers),
		key:      hc.key[:0],
	}
	httpConns.Put(hc)
}

// shrink keeps a head's buffers for reuse unless a large message grew them.
func shrink(h head) head {
	if cap(h.buf) > maxKeptHead || cap(h.fields) > 128 {
		return head{}
	}
	return head{buf: h.buf[:0], fields: h.fields[:0]}
}

var crlfcrlf = []byte("\r\n\r\n")

// headBuffered reports whether a whole request head is already buffered (then reading it
// needs no header deadline).
func headBuffered(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Buffered())
	return bytes.Contains(b, crlfcrlf)
}

// serveOne reads and answers one request; it reports whether the connection stays open for
// another.
func (hc *httpConn) serveOne() bool {
	s := hc.s
	r := &hc.req
	hc.now = time.Now()
	if err := r.readRequest(hc.br, s.maxHeader); err != nil {
		var se *statusError
		if errors.As(err, &se) {
			hc.respond(se.status, "airlock: "+se.msg, "", "", false)
		}
		return false
	}
	if err := hc.fr.frame(r, true); err != nil {
		var se *statusError
		if errors.As(err, &se) {
			hc.respond(se.status, "airlock: "+se.msg, "", "", false)
		}
		return false
	}
	cl := hc.client()
	if string(r.b(r.method)) == "CONNECT" {
		return hc.connect(cl)
	}
	hasBody := hc.fr.chunked || hc.fr.length > 0
	tgt, err := parseTarget(r.b(r.target))
	if err != nil {
		var se *statusError
		errors.As(err, &se)
		return hc.refuse(cl, se.status, "airlock: "+se.msg, "", "", !hasBody)
	}
	if hc.fr.expectBad {
		return hc.refuse(cl, http.StatusExpectationFailed, "airlock: only the expectation 100-continue is supported", "", "", false)
	}
	return hc.forward(cl, tgt)
}

// client returns the client that judges the current request: the listener's, or the one the
// Proxy-Authorization Basic user name names, or the default.
func (hc *httpConn) client() *clientState {
	t := hc.s.clients.Load()
	if hc.lnClient != "" {
		if c, ok := t.named[hc.lnClient]; ok {
			return c
		}
		return t.def
	}
	if hc.fr.proxyAuth.len() > 0 {
		if user, ok := basicUser(hc.req.b(hc.fr.proxyAuth), hc.authBuf[:]); ok {
			return t.lookup(user)
		}
	}
	return t.def
}

// basicUser returns the user name of a "Basic base64(user:password)" credential, decoded into
// buf. The password is ignored: it names nothing.
func basicUser(v, buf []byte) ([]byte, bool) {
	const prefix = "basic "
	if len(v) < len(prefix) || !equalFold(v[:len(prefix)], prefix) {
		return nil, false
	}
	v = bytes.TrimLeft(v[len(prefix):], " ")
	if base64.StdEncoding.DecodedLen(len(v)) > len(buf) {
		return nil, false
	}
	n, err := base64.StdEncoding.Decode(buf, v)
	if err != nil {
		return nil, false
	}
	user, _, _ := bytes.Cut(buf[:n], []byte(":"))
	return user, len(user) > 0
}

// forward relays one absolute-form request to its upstream and the response back.
func (hc *httpConn) forward(cl *clientState, tgt target) bool {
	s := hc.s
	start := hc.now
	pol := cl.guard.Policy()
	lim := pol.Limits()
	hasBody := hc.fr.chunked || hc.fr.length > 0
	if lim.MaxRequestSize > 0 && hc.fr.length > lim.MaxRequestSize {
		return hc.refuse(cl, http.StatusRequestEntityTooLarge, tooLargeMsg(lim.MaxRequestSize), "request_too_large", "max_request_size", false)
	}
	if !cl.acquire(s.connLimit(pol)) {
		return hc.refuse(cl, http.StatusTooManyRequests, tooManyMsg(s.connLimit(pol)), "too_many_connections", "max_connections", !hasBody)
	}
	defer cl.release()

	hc.key = append(hc.key[:0], tgt.authority...)
	if !tgt.hasPort {
		hc.key = append(hc.key, ":80"...)
	}
	replayable := !hasBody && replayableMethod(hc.req.b(hc.req.method))
	for attempt := 0; ; attempt++ {
		u, err := hc.upstream(cl, pol, attempt > 0, !replayable)
		if err != nil {
			status, body, reason, rule := dialRefusal(string(hc.req.b(hc.req.method)), string(hc.key), err)
			return hc.refuse(cl, status, body, reason, rule, !hasBody)
		}
		switch hc.exchange(cl, u, tgt, lim, start, replayable) {
		case outRetry:
			if attempt == 0 {
				continue
			}
			return hc.refuse(cl, http.StatusBadGateway, "airlock: "+string(hc.key)+": the upstream closed the connection without answering", "upstream_error", "", false)
		case outKeep:
			return true
		default:
			return false
		}
	}
}

func tooLargeMsg(max int64) string {
	return "airlock: request body larger than the policy's max_request_size (" + strconv.FormatInt(max, 10) + " bytes)"
}

func tooManyMsg(limit int) string {
	return "airlock: too many connections for this client (max_connections " + strconv.Itoa(limit) + "); retry later"
}

// replayableMethod: a bodyless request with one of these methods is sent again on a new
// connection when a reused one turns out to be closed (as net/http's Transport does).
func replayableMethod(m []byte) bool {
	switch string(m) {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return true
	}
	return false
}

// upstream returns a pooled connection for the current key made under pol, or dials one.
// probe asks that a pooled connection be checked before use (the request cannot be retried).
func (hc *httpConn) upstream(cl *clientState, pol *policy.Policy, fresh, probe bool) (*upConn, error) {
	s := hc.s
	if !fresh && s.maxIdlePerHost > 0 {
		for {
			u := cl.pool.get(hc.key, pol, hc.now, s.poolIdle)
			if u == nil {
				break
			}
			if probe && !u.alive() {
				u.close()
				continue
			}
			return u, nil
		}
	}
	key := string(hc.key)
	c, err := s.dialUp(cl, key)
	if err != nil {
		return nil, err
	}
	u := &upConn{side: newSide(c), pol: pol, key: key, addr: addrString(c.RemoteAddr())}
	u.host, u.port = canonical(key)
	u.br = getReader(c)
	return u, nil
}

// canonical returns the host of hostport as the guard judged it, and the port.
func canonical(hostport string) (string, uint16) {
	hs, ps, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport, 0
	}
	port, _ := strconv.ParseUint(ps, 10, 16)
	if h, err := host.Parse(hs); err == nil {
		hs = h.String()
	}
	return hs, uint16(port)
}

type outcome uint8

const (
	outClose outcome = iota // answered (or not answerable); close the client connection
	outKeep                 // answered; the client connection stays open
	outRetry                // a reused upstream connection was dead before answering: retry
)

type bodyKind uint8

const (
	bodyNone bodyKind = iota
	bodyLength
	bodyChunked
	bodyEOF
)

var (
	errUpstreamUpgrade = errors.New("the upstream switched protocols (101) or sent too many 1xx responses")
)

// exchange sends the request over u and relays the response.
func (hc *httpConn) exchange(cl *clientState, u *upConn, tgt target, lim policy.Limits, start time.Time, replayable bool) outcome {
	s := hc.s
	r := &hc.req
	if !hc.t.setUp(u.c) {
		u.close()
		return outClose
	}
	defer hc.t.setUp(nil)

	// Request: head and body into a 16 KiB buffer flushed only before the proxy would block
	// on the client, so a request that breaks early never reaches the upstream.
	bw := getWriter(&upstreamWriterPool, upstreamWriterSize, u.c)
	defer putWriter(&upstreamWriterPool, bw)
	hc.writeRequestHead(bw, tgt)
	hasBody := hc.fr.chunked || hc.fr.length > 0
	if hasBody && hc.fr.expect100 && r.minor == 1 {
		hc.cs.writeWithin(hc.now, s.idle)
		if _, err := hc.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n"); err != nil || hc.bw.Flush() != nil {
			u.close()
			return outClose
		}
	}
	up := relay{dst: bw, ds: &u.side, src: hc.br, ss: &hc.cs, idle: s.idle, now: &hc.now, limit: -1}
	if lim.MaxRequestSize > 0 {
		up.limit = lim.MaxRequestSize
	}
	var rerr, werr error
	switch {
	case hc.fr.chunked:
		rerr, werr = up.copyChunked(true, &hc.trailers, s.maxHeader)
	case hc.fr.length > 0:
		rerr, werr = up.copyN(hc.fr.length)
	}
	if rerr == nil && werr == nil {
		u.writeWithin(hc.now, s.idle)
		werr = bw.Flush()
	}
	if rerr != nil {
		// The client's request failed: what was not flushed is dropped with the connection.
		u.close()
		var se *statusError
		switch {
		case errors.Is(rerr, errBodyTooLarge):
			hc.refuse(cl, http.StatusRequestEntityTooLarge, tooLargeMsg(lim.MaxRequestSize), "request_too_large", "max_request_size", false)
		case errors.As(rerr, &se):
			hc.refuse(cl, se.status, "airlock: "+se.msg, "", "", false)
		case isTimeout(rerr):
			hc.refuse(cl, http.StatusRequestTimeout, "airlock: the request body stalled for "+s.idle.String(), "", "", false)
		}
		return outClose
	}
	if werr != nil {
		u.close()
		if u.reused && replayable {
			return outRetry
		}
		hc.refuse(cl, http.StatusBadGateway, "airlock: "+u.key+": sending the request to the upstream failed: "+trimAirlock(werr), "upstream_error", "", false)
		return outClose
	}

	// Response head; 1xx responses are read and dropped.
	timeout := lim.Timeout
	if timeout <= 0 {
		timeout = s.idle
	}
	u.readWithin(hc.now, timeout)
	resp := &hc.resp
	var err error
	for i := 0; ; i++ {
		if err = resp.readResponse(u.br, s.maxHeader); err != nil || resp.status >= 200 {
			break
		}
		if resp.status == http.StatusSwitchingProtocols || i == 8 {
			err = errUpstreamUpgrade
			break
		}
	}
	hc.now = time.Now()
	if err == nil {
		err = hc.rfr.frame(resp, false)
	}
	if err != nil {
		u.close()
		switch {
		case u.reused && replayable && (err == io.EOF || (resp.raw == 0 && errors.Is(err, syscall.ECONNRESET))):
			return outRetry
		case isTimeout(err):
			hc.refuse(cl, http.StatusGatewayTimeout, "airlock: "+u.key+": the upstream did not answer within "+timeout.String(), "upstream_timeout", "", !hasBody)
			return outClose
		}
		hc.refuse(cl, http.StatusBadGateway, "airlock: "+u.key+": bad response from the upstream: "+upstreamErr(err), "upstream_error", "", false)
		return outClose
	}
	rf := &hc.rfr
	st := resp.status
	kind := bodyEOF
	switch {
	case string(r.b(r.method)) == "HEAD" || st == http.StatusNoContent || st == http.StatusNotModified:
		kind = bodyNone
	case rf.chunked:
		kind = bodyChunked
	case rf.hasCL:
		kind = bodyLength
	}
	if kind == bodyLength && lim.MaxResponseSize > 0 && rf.length > lim.MaxResponseSize {
		u.close()
		hc.refuse(cl, http.StatusBadGateway, "airlock: "+u.key+": the response is larger than the policy's max_response_size ("+
			strconv.FormatInt(lim.MaxResponseSize, 10)+" bytes)", "response_too_large", "max_response_size", false)
		return outClose
	}
	keep := !hc.fr.close && (r.minor == 1 || hc.fr.keepAlive) && !s.closing.Load()
	if kind == bodyEOF || (kind == bodyChunked && r.minor == 0) {
		keep = false // the body ends when the connection does
	}
	hc.writeResponseHead(kind, keep)
	headLen := hc.bw.Buffered()

	down := relay{dst: hc.bw, ds: &hc.cs, src: u.br, ss: &u.side, idle: s.idle, now: &hc.now, limit: -1}
	if lim.MaxResponseSize > 0 {
		down.limit = lim.MaxResponseSize
	}
	switch kind {
	case bodyLength:
		rerr, werr = down.copyN(rf.length)
	case bodyChunked:
		rerr, werr = down.copyChunked(r.minor == 1, &hc.trailers, s.maxHeader)
	case bodyEOF:
		rerr, werr = down.copyEOF()
	}
	if rerr == nil && werr == nil {
		hc.cs.writeWithin(hc.now, s.idle)
		werr = hc.bw.Flush()
	}
	if rerr == nil && werr == nil && kind != bodyEOF && !rf.close && resp.minor == 1 && u.br.Buffered() == 0 &&
		cl.pool.put(u, hc.now, s.maxIdlePerHost) {
		// kept for the next request to this upstream
	} else {
		u.close()
	}
	switch {
	case rerr != nil && werr == nil && down.unsent(headLen):
		// Nothing of this response has reached the client yet: say what went wrong.
		hc.bw.Reset(hc.cs.c)
		msg, reason, rule := "the upstream's response broke off: "+upstreamErr(rerr), "upstream_error", ""
		if errors.Is(rerr, errBodyTooLarge) {
			msg, reason, rule = "the response is larger than the policy's max_response_size ("+
				strconv.FormatInt(lim.MaxResponseSize, 10)+" bytes)", "response_too_large", "max_response_size"
		}
		hc.refuse(cl, http.StatusBadGateway, "airlock: "+u.key+": "+msg, reason, rule, false)
		keep = false
	case rerr != nil || werr != nil:
		keep = false // the response is cut short: the client sees the connection close
		fallthrough
	default:
		if o := s.opts.Observer; o != nil {
			o.Request(cl.name, st, up.copied, down.copied)
		}
	}
	if a := s.opts.Audit; a != nil {
		now := time.Now()
		a.Audit(audit.Event{
			Time: now, Event: "connection_closed", Decision: "allow", Server: cl.name,
			Host: u.host, Port: u.port, Addr: u.addr,
			BytesUp: up.copied, BytesDown: down.copied, DurationMS: now.Sub(start).Milliseconds(),
		})
	}
	if keep {
		return outKeep
	}
	return outClose
}

func upstreamErr(err error) string {
	var se *statusError
	if errors.As(err, &se) {
		return se.msg
	}
	return trimAirlock(err)
}

func trimAirlock(err error) string { return strings.TrimPrefix(err.Error(), "airlock: ") }

// writeRequestHead writes the request line (origin-form), Host from the URL, the end-to-end
// header fields in their order and spelling, Via, and the body framing.
func (hc *httpConn) writeRequestHead(bw *bufio.Writer, tgt target) {
	r := &hc.req
	method := r.b(r.method)
	bw.Write(method)
	bw.WriteByte(' ')
	switch {
	case len(tgt.path) == 0 && string(method) == "OPTIONS":
		bw.WriteByte('*') // RFC 9112 section 3.2.4: OPTIONS http://host is OPTIONS * upstream
	case len(tgt.path) == 0 || tgt.path[0] != '/':
		bw.WriteByte('/')
	}
	bw.Write(tgt.path)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.Write(tgt.authority)
	bw.WriteString("\r\n")
	writeFields(bw, r, hc.fr.skip)
	if r.minor == 0 {
		bw.WriteString("Via: 1.0 airlock\r\n")
	} else {
		bw.WriteString("Via: 1.1 airlock\r\n")
	}
	switch {
	case hc.fr.chunked:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	case hc.fr.hasCL:
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), hc.fr.length, 10))
		bw.WriteString("\r\n")
	}
	bw.WriteString("\r\n")
}

func writeFields(bw *bufio.Writer, h *head, skip []bool) {
	for i, f := range h.fields {
		if skip[i] {
			continue
		}
		bw.Write(h.b(f.name))
		bw.WriteString(": ")
		bw.Write(h.b(f.value))
		bw.WriteString("\r\n")
	}
}

// writeResponseHead writes the upstream's status and end-to-end fields, Via, the framing the
// client will get, and the connection's fate.
func (hc *httpConn) writeResponseHead(kind bodyKind, keep bool) {
	bw := hc.bw
	resp, rf := &hc.resp, &hc.rfr
	bw.WriteString("HTTP/1.1 ")
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(resp.status), 10))
	bw.WriteByte(' ')
	if resp.reason.len() > 0 {
		bw.Write(resp.b(resp.reason))
	} else {
		bw.WriteString(http.StatusText(resp.status))
	}
	bw.WriteString("\r\n")
	writeFields(bw, resp, rf.skip)
	if resp.minor == 0 {
		bw.WriteString("Via: 1.0 airlock\r\n")
	} else {
		bw.WriteString("Via: 1.1 airlock\r\n")
	}
	switch {
	case kind == bodyLength, kind == bodyNone && rf.hasCL && resp.status != http.StatusNoContent:
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), rf.length, 10))
		bw.WriteString("\r\n")
	case kind == bodyChunked && hc.req.minor == 1:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	switch {
	case !keep:
		bw.WriteString("Connection: close\r\n")
	case hc.req.minor == 0:
		bw.WriteString("Connection: keep-alive\r\n")
	}
	bw.WriteString("\r\n")
}

// refuse answers the current request with a response made by the proxy and reports it to the
// Observer.
func (hc *httpConn) refuse(cl *clientState, status int, body, reason, rule string, keep bool) bool {
	if o := hc.s.opts.Observer; o != nil {
		o.Request(cl.name, status, 0, 0)
	}
	return hc.respond(status, body, reason, rule, keep)
}

// respond writes a short text/plain response; reason and rule, when set, go into
// X-Airlock-Reason and X-Airlock-Rule. It reports whether the connection stays open.
func (hc *httpConn) respond(status int, body, reason, rule string, keep bool) bool {
	if hc.fr.close || hc.s.closing.Load() {
		keep = false
	}
	bw := hc.bw
	body += "\n"
	bw.WriteString("HTTP/1.1 ")
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(status), 10))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(status))
	bw.WriteString("\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ")
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(len(body)), 10))
	bw.WriteString("\r\n")
	if reason != "" {
		bw.WriteString("X-Airlock-Reason: ")
		bw.WriteString(headerSafe(reason))
		bw.WriteString("\r\n")
	}
	if rule != "" {
		bw.WriteString("X-Airlock-Rule: ")
		bw.WriteString(headerSafe(rule))
		bw.WriteString("\r\n")
	}
	if !keep {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	if string(hc.req.b(hc.req.method)) != "HEAD" {
		bw.WriteString(body)
	}
	hc.cs.writeWithin(hc.now, hc.s.idle)
	if bw.Flush() != nil {
		return false
	}
	return keep
}

// headerSafe replaces the bytes a header value must not hold.
func headerSafe(v string) string {
	for i := 0; i < len(v); i++ {
		if !isFieldVchar(v[i]) {
			b := []byte(v)
			for j := i; j < len(b); j++ {
				if !isFieldVchar(b[j]) {
					b[j] = '?'
				}
			}
			return string(b)
		}
	}
	return v
}

// dialRefusal turns a failed upstream dial into the status and teaching body for the client,
// and the X-Airlock-Reason / X-Airlock-Rule values.
func dialRefusal(method, dest string, err error) (status int, body, reason, rule string) {
	var be *egress.BlockedError
	switch {
	case errors.As(err, &be):
		d := be.Decision
		if be.Host != "" {
			dest = be.Host
			if be.Port != 0 {
				dest = net.JoinHostPort(be.Host, strconv.Itoa(int(be.Port)))
			}
		}
		status = http.StatusForbidden
		if d.Reason == policy.ReasonUnresolvable {
			status = http.StatusBadGateway // not a verdict on the destination: its name did not resolve
		}
		return status, "airlock: blocked " + method + " " + strings.TrimPrefix(d.Message(dest), "blocked "), string(d.Reason), d.Rule
	case errors.Is(err, errLoop):
		return http.StatusLoopDetected, "airlock: refused " + method + " " + dest +
			": the destination is this proxy itself (a request loop)", "loop", "proxy:loop"
	case isTimeout(err) || errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "airlock: " + method + " " + dest + ": connecting to the upstream timed out: " + trimAirlock(err), "upstream_timeout", ""
	}
	return http.StatusBadGateway, "airlock: " + method + " " + dest + ": cannot connect to the upstream: " + trimAirlock(err), "upstream_error", ""
}

// connect answers a CONNECT: it checks the authority, asks the guard, answers 200 and leaves
// the tunnel to run once the connection's HTTP buffers are released.
func (hc *httpConn) connect(cl *clientState) bool {
	s := hc.s
	start := hc.now
	r := &hc.req
	hostport, err := parseAuthority(string(r.b(r.target)))
	if err != nil {
		return hc.refuse(cl, http.StatusBadRequest, "airlock: bad CONNECT target: "+err.Error()+"; send CONNECT host:port", "invalid_target", "", false)
	}
	if hc.fr.chunked || hc.fr.length > 0 {
		return hc.refuse(cl, http.StatusBadRequest, "airlock: a CONNECT request has no body", "", "", false)
	}
	pol := cl.guard.Policy()
	if !cl.acquire(s.connLimit(pol)) {
		return hc.refuse(cl, http.StatusTooManyRequests, tooManyMsg(s.connLimit(pol)), "too_many_connections", "max_connections", false)
	}
	up, err := s.dialUp(cl, hostport)
	if err != nil {
		cl.release()
		status, body, reason, rule := dialRefusal("CONNECT", hostport, err)
		return hc.refuse(cl, status, body, reason, rule, false)
	}
	hc.cs.writeWithin(time.Now(), s.idle)
	hc.bw.WriteString("HTTP/1.1 200 Connection Established\r\n\r\n")
	if hc.bw.Flush() != nil {
		up.Close()
		cl.release()
		return false
	}
	var pending []byte
	if n := hc.br.Buffered(); n > 0 {
		b, _ := hc.br.Peek(n)
		pending = append([]byte(nil), b...)
	}
	hc.tun = &pendingTunnel{cl: cl, up: up, pending: pending, hostport: hostport, start: start}
	return false
}

// runTunnel runs a tunnel between the client connection of t and up, then reports it.
// It releases the client's connection slot.
func (s *Server) runTunnel(t *tracked, p *pendingTunnel) {
	defer p.cl.release()
	client, up := t.c, p.up
	if !t.setUp(up) {
		return
	}
	_ = client.SetDeadline(time.Time{})
	_ = up.SetDeadline(time.Time{})
	o := s.opts.Observer
	if o != nil {
		o.TunnelOpened(p.cl.name)
	}
	var upN, downN int64
	ok := true
	if len(p.pending) > 0 {
		_ = up.SetWriteDeadline(time.Now().Add(s.idle))
		n, err := up.Write(p.pending)
		upN += int64(n)
		if err != nil {
			client.Close()
			up.Close()
			ok = false
		}
	}
	if ok {
		tn := &tunnel{a: client, b: up, idle: s.idle}
		ab, ba := tn.run()
		upN += ab
		downN += ba
	}
	if o != nil {
		o.TunnelClosed(p.cl.name, upN, downN)
	}
	if a := s.opts.Audit; a != nil {
		h, port := canonical(p.hostport)
		now := time.Now()
		a.Audit(audit.Event{
			Time: now, Event: "connection_closed", Decision: "allow", Server: p.cl.name,
			Host: h, Port: port, Addr: addrString(up.RemoteAddr()),
			BytesUp: upN, BytesDown: downN, DurationMS: now.Sub(p.start).Milliseconds(),
		})
	}
}
