package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net/netip"
	"strconv"
	"unicode/utf8"
)

// This file is airlock's HTTP/1.1 message parser (RFC 9112), used for requests from clients
// and responses from upstreams. It is deliberately stricter than net/http: every shape that
// lets two parsers disagree on where a message ends (Content-Length with Transfer-Encoding,
// conflicting Content-Lengths, obs-fold, bare CR or LF, bad chunk framing) is an error, never
// a guess. The parsed head keeps its bytes in one reused buffer, so parsing allocates nothing
// once a connection has warmed up.

// statusError is a request the proxy refuses before forwarding it: the status to answer and a
// short explanation for the body.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return strconv.Itoa(e.status) + " " + e.msg }

func badRequest(msg string) *statusError { return &statusError{400, msg} }

// Parse errors that do not depend on the input, allocated once.
var (
	errBareLF         = badRequest("line not terminated by CRLF")
	errBareCR         = badRequest("bare CR in message head")
	errObsFold        = badRequest("obs-fold (a header line starting with a space or tab) is not accepted")
	errFieldName      = badRequest("malformed header field name")
	errFieldValue     = badRequest("malformed header field value")
	errRequestLine    = badRequest("malformed request line")
	errTooManyFields  = &statusError{431, "too many header fields"}
	errHeaderTooLarge = &statusError{431, "request header block too large"}
	errVersion        = &statusError{505, "only HTTP/1.0 and HTTP/1.1 are supported"}
	errStatusLine     = badRequest("malformed status line")
	errChunkLine      = badRequest("malformed chunk size line")
	errChunkEnd       = badRequest("chunk data not followed by CRLF")
	errChunkTooLarge  = badRequest("chunk size too large")
)

// maxFields bounds the header fields of one message (the byte limit bounds them too).
const maxFields = 512

// span is a range of head.buf.
type span struct{ lo, hi int32 }

func (s span) len() int { return int(s.hi - s.lo) }

type field struct{ name, value span }

// head is one parsed message head: a request line or status line and its header fields. The
// line bytes (without CRLF) are copied into buf; spans index into it.
type head struct {
	buf    []byte
	fields []field
	raw    int // bytes read for this head, CRLFs included

	// request line
	method, target span
	// status line
	status int
	reason span

	minor byte // HTTP/1.minor
}

func (h *head) reset() {
	h.buf = h.buf[:0]
	h.fields = h.fields[:0]
	h.raw = 0
	h.method, h.target, h.reason = span{}, span{}, span{}
	h.status = 0
	h.minor = 0
}

func (h *head) b(s span) []byte { return h.buf[s.lo:s.hi] }

// readLine appends the next line, without its CRLF, to h.buf and returns its span. The line
// must end in CRLF and hold no other CR or LF. tooLarge is returned when the head would pass
// max bytes.
func (h *head) readLine(br *bufio.Reader, max int, tooLarge error) (span, error) {
	lo := len(h.buf)
	for {
		frag, err := br.ReadSlice('\n')
		h.raw += len(frag)
		if h.raw > max {
			return span{}, tooLarge
		}
		h.buf = append(h.buf, frag...)
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			if err == io.EOF && len(h.buf) > lo {
				err = io.ErrUnexpectedEOF
			}
			return span{}, err
		}
	}
	n := len(h.buf)
	if n-lo < 2 || h.buf[n-2] != '\r' {
		return span{}, errBareLF
	}
	h.buf = h.buf[:n-2]
	if bytes.IndexByte(h.buf[lo:], '\r') >= 0 {
		return span{}, errBareCR
	}
	return span{int32(lo), int32(n - 2)}, nil
}

// readRequest reads and checks a request head: request line and header fields. Up to four
// empty lines before the request line are skipped (RFC 9112 section 2.2). An io.EOF before
// the first byte is returned as is: the client closed an idle connection.
func (h *head) readRequest(br *bufio.Reader, max int) error {
	h.reset()
	var line span
	for i := 0; ; i++ {
		var err error
		if line, err = h.readLine(br, max, errHeaderTooLarge); err != nil {
			return err
		}
		if line.len() > 0 {
			break
		}
		if i == 4 {
			return errRequestLine
		}
		h.buf = h.buf[:0]
	}
	if err := h.parseRequestLine(line); err != nil {
		return err
	}
	return h.readFields(br, max, errHeaderTooLarge, errTooManyFields)
}

// readResponse reads and checks a response head from an upstream. Its errors are reported to
// the client as 502.
func (h *head) readResponse(br *bufio.Reader, max int) error {
	h.reset()
	line, err := h.readLine(br, max, errResponseHeadTooLarge)
	if err != nil {
		return err
	}
	if err := h.parseStatusLine(line); err != nil {
		return err
	}
	return h.readFields(br, max, errResponseHeadTooLarge, errResponseHeadTooLarge)
}

var errResponseHeadTooLarge = &statusError{502, "upstream response header block too large"}

func (h *head) readFields(br *bufio.Reader, max int, tooLarge, tooMany error) error {
	for {
		line, err := h.readLine(br, max, tooLarge)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if line.len() == 0 {
			return nil
		}
		f, err := parseField(h.buf, line)
		if err != nil {
			return err
		}
		if len(h.fields) == maxFields {
			return tooMany
		}
		h.fields = append(h.fields, f)
	}
}

// parseField checks one field line, name ":" OWS value OWS, and returns the spans of its name
// and its value (OWS trimmed).
func parseField(buf []byte, line span) (field, error) {
	b := buf[line.lo:line.hi]
	if b[0] == ' ' || b[0] == '\t' {
		return field{}, errObsFold
	}
	i := 0
	for i < len(b) && isTchar(b[i]) {
		i++
	}
	if i == 0 || i == len(b) || b[i] != ':' {
		return field{}, errFieldName
	}
	name := span{line.lo, line.lo + int32(i)}
	lo, hi := i+1, len(b)
	for lo < hi && (b[lo] == ' ' || b[lo] == '\t') {
		lo++
	}
	for hi > lo && (b[hi-1] == ' ' || b[hi-1] == '\t') {
		hi--
	}
	for _, c := range b[lo:hi] {
		if !isFieldVchar(c) {
			return field{}, errFieldValue
		}
	}
	return field{name: name, value: span{line.lo + int32(lo), line.lo + int32(hi)}}, nil
}

// parseRequestLine checks method SP request-target SP HTTP-version.
func (h *head) parseRequestLine(line span) error {
	b := h.b(line)
	i := 0
	for i < len(b) && isTchar(b[i]) {
		i++
	}
	if i == 0 || i == len(b) || b[i] != ' ' {
		return errRequestLine
	}
	h.method = span{line.lo, line.lo + int32(i)}
	j := i + 1
	for j < len(b) && b[j] > ' ' && b[j] != 0x7f {
		j++
	}
	if j == i+1 || j == len(b) || b[j] != ' ' {
		return errRequestLine
	}
	h.target = span{line.lo + int32(i+1), line.lo + int32(j)}
	minor, err := parseVersion(b[j+1:])
	if err != nil {
		return err
	}
	h.minor = minor
	return nil
}

// parseVersion reads "HTTP/1.0" or "HTTP/1.1"; another well-formed version is errVersion.
func parseVersion(v []byte) (byte, error) {
	if len(v) != 8 || string(v[:5]) != "HTTP/" || !isDigit(v[5]) || v[6] != '.' || !isDigit(v[7]) {
		return 0, errRequestLine
	}
	if v[5] != '1' || v[7] > '1' {
		return 0, errVersion
	}
	return v[7] - '0', nil
}

// parseStatusLine checks HTTP-version SP 3DIGIT [SP reason-phrase]; a missing SP after the
// code is tolerated (common in the wild, and unambiguous).
func (h *head) parseStatusLine(line span) error {
	b := h.b(line)
	if len(b) < 12 || b[8] != ' ' {
		return errStatusLine
	}
	minor, err := parseVersion(b[:8])
	if err != nil {
		return errStatusLine
	}
	h.minor = minor
	c := b[9:12]
	if !isDigit(c[0]) || !isDigit(c[1]) || !isDigit(c[2]) || c[0] == '0' {
		return errStatusLine
	}
	h.status = int(c[0]-'0')*100 + int(c[1]-'0')*10 + int(c[2]-'0')
	if len(b) > 12 {
		if b[12] != ' ' {
			return errStatusLine
		}
		for _, ch := range b[13:] {
			if !isFieldVchar(ch) {
				return errStatusLine
			}
		}
		h.reason = span{line.lo + 13, line.hi}
	}
	return nil
}

// Character classes of RFC 9110.
var tcharTab, vcharTab [256]bool

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		tcharTab[c] = 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
			bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), b) >= 0
		vcharTab[c] = b == '\t' || (b >= ' ' && b != 0x7f)
	}
}

func isTchar(c byte) bool      { return tcharTab[c] }
func isFieldVchar(c byte) bool { return vcharTab[c] }
func isDigit(c byte) bool      { return '0' <= c && c <= '9' }

// equalFold reports whether b equals the lower-case ASCII string s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// Header names the proxy looks at, as small integers so a field is classified once.
type fieldKind uint8

const (
	fOther fieldKind = iota
	fConnection
	fContentLength
	fTransferEncoding
	fHost
	fExpect
	fProxyAuthorization
	fProxyConnection
	fKeepAlive
	fTE
	fTrailer
	fUpgrade
	fProxyAuthenticate
)

// kindOf classifies a field name.
func kindOf(name []byte) fieldKind {
	switch len(name) {
	case 2:
		if equalFold(name, "te") {
			return fTE
		}
	case 4:
		if equalFold(name, "host") {
			return fHost
		}
	case 6:
		if equalFold(name, "expect") {
			return fExpect
		}
	case 7:
		if equalFold(name, "trailer") {
			return fTrailer
		}
		if equalFold(name, "upgrade") {
			return fUpgrade
		}
	case 10:
		if equalFold(name, "connection") {
			return fConnection
		}
		if equalFold(name, "keep-alive") {
			return fKeepAlive
		}
	case 14:
		if equalFold(name, "content-length") {
			return fContentLength
		}
	case 16:
		if equalFold(name, "proxy-connection") {
			return fProxyConnection
		}
	case 17:
		if equalFold(name, "transfer-encoding") {
			return fTransferEncoding
		}
	case 18:
		if equalFold(name, "proxy-authenticate") {
			return fProxyAuthenticate
		}
	case 19:
		if equalFold(name, "proxy-authorization") {
			return fProxyAuthorization
		}
	}
	return fOther
}

// framing is what a head says about its body and its connection.
type framing struct {
	length  int64 // the body length; -1 when chunked or unknown
	chunked bool
	hasCL   bool // a Content-Length field was present

	close     bool // Connection: close
	keepAlive bool // Connection: keep-alive (or Proxy-Connection for HTTP/1.0 clients)
	expect100 bool
	expectBad bool // an expectation other than 100-continue

	hosts     int
	proxyAuth span // value of Proxy-Authorization; zero span when absent

	// tokens are the field names listed in Connection, which are hop-by-hop too.
	tokens []span
	// skip marks the fields not to forward (parallel to head.fields).
	skip []bool
}

// Framing errors of requests (400) and responses (502).
var (
	errCLAndTE       = badRequest("both Content-Length and Transfer-Encoding (a request smuggling shape)")
	errBadCL         = badRequest("malformed Content-Length")
	errCLConflict    = badRequest("conflicting Content-Length values (a request smuggling shape)")
	errTENotChunked  = badRequest("Transfer-Encoding whose final coding is not chunked")
	errTEUnsupported = &statusError{501, "unsupported transfer coding; only chunked is accepted"}
	errTEInHTTP10    = badRequest("Transfer-Encoding in an HTTP/1.0 message")
	errTwoTE         = badRequest("more than one Transfer-Encoding field")
	errHost          = badRequest("missing, repeated or empty Host header (HTTP/1.1 requires exactly one)")
	errConnToken     = badRequest("malformed Connection header")
)

// frame reads the fields of h that decide framing and hop-by-hop handling into f. isRequest
// selects the request rules (Host required for HTTP/1.1, Proxy-Authorization recorded).
func (f *framing) frame(h *head, isRequest bool) error {
	*f = framing{length: -1, tokens: f.tokens[:0], skip: f.skip[:0]}
	var te span
	nte := 0
	for i := range h.fields {
		fl := &h.fields[i]
		v := h.b(fl.value)
		k := kindOf(h.b(fl.name))
		skip := true
		switch k {
		case fOther:
			skip = false
		case fConnection:
			if err := f.connection(h, fl.value); err != nil {
				return err
			}
		case fProxyConnection:
			// Not standard, but old HTTP/1.0 clients use it to ask a proxy for keep-alive.
			if isRequest && h.minor == 0 && equalFold(v, "keep-alive") {
				f.keepAlive = true
			}
		case fContentLength:
			n, ok := parseContentLength(v)
			if !ok {
				return errBadCL
			}
			if f.hasCL && n != f.length {
				return errCLConflict
			}
			f.hasCL, f.length = true, n
		case fTransferEncoding:
			nte++
			te = fl.value
		case fHost:
			f.hosts++
			if len(v) == 0 {
				return errHost
			}
			skip = isRequest // the proxy writes the Host of the target URI itself
		case fExpect:
			if !isRequest {
				skip = false
				break
			}
			if equalFold(v, "100-continue") {
				f.expect100 = true
			} else {
				f.expectBad = true
			}
		case fProxyAuthorization:
			if isRequest {
				f.proxyAuth = fl.value
			}
		}
		f.skip = append(f.skip, skip)
	}
	if nte > 0 {
		switch {
		case nte > 1:
			return errTwoTE
		case f.hasCL:
			return errCLAndTE
		case h.minor == 0:
			return errTEInHTTP10
		}
		v := h.b(te)
		if !equalFold(v, "chunked") {
			if last := lastToken(v); equalFold(last, "chunked") {
				return errTEUnsupported
			}
			return errTENotChunked
		}
		f.chunked, f.length = true, -1
	}
	if isRequest && (f.hosts > 1 || (h.minor == 1 && f.hosts == 0)) {
		return errHost
	}
	// Fields named in Connection are hop-by-hop as well.
	if len(f.tokens) > 0 {
		for i := range h.fields {
			if f.skip[i] {
				continue
			}
			name := h.b(h.fields[i].name)
			for _, t := range f.tokens {
				if len(name) == t.len() && equalFoldBytes(name, h.b(t)) {
					f.skip[i] = true
					break
				}
			}
		}
	}
	return nil
}

// connection records the tokens of one Connection field line.
func (f *framing) connection(h *head, v span) error {
	b := h.b(v)
	start := 0
	for i := 0; i <= len(b); i++ {
		if i < len(b) && b[i] != ',' {
			continue
		}
		lo, hi := start, i
		start = i + 1
		for lo < hi && (b[lo] == ' ' || b[lo] == '\t') {
			lo++
		}
		for hi > lo && (b[hi-1] == ' ' || b[hi-1] == '\t') {
			hi--
		}
		if lo == hi {
			continue // empty list elements are allowed
		}
		tok := b[lo:hi]
		for _, c := range tok {
			if !isTchar(c) {
				return errConnToken
			}
		}
		switch {
		case equalFold(tok, "close"):
			f.close = true
		case equalFold(tok, "keep-alive"):
			f.keepAlive = true
		}
		if len(f.tokens) < maxFields {
			f.tokens = append(f.tokens, span{v.lo + int32(lo), v.lo + int32(hi)})
		}
	}
	return nil
}

func equalFoldBytes(a, b []byte) bool {
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// lastToken returns the last element of a comma-separated list, OWS trimmed.
func lastToken(v []byte) []byte {
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return bytes.Trim(v, " \t")
}

// parseContentLength accepts 1*DIGIT, at most 18 digits (no sign, no list, no spaces).
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// readChunkSize reads a chunk-size line: 1*HEXDIG, then optionally chunk extensions
// (BWS ";" ...), which are checked for control characters and dropped, then CRLF.
func readChunkSize(br *bufio.Reader) (int64, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			return 0, errChunkLine
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	n := len(line)
	if n < 3 || line[n-2] != '\r' {
		return 0, errChunkLine
	}
	line = line[:n-2]
	var size int64
	i := 0
	for ; i < len(line); i++ {
		c := line[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			goto ext
		}
		if i == 15 {
			return 0, errChunkTooLarge
		}
		size = size<<4 | int64(d)
	}
ext:
	if i == 0 {
		return 0, errChunkLine
	}
	if i < len(line) {
		rest := line[i:]
		j := 0
		for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t') {
			j++
		}
		if j == len(rest) || rest[j] != ';' {
			return 0, errChunkLine
		}
		for _, c := range rest[j:] {
			if !isFieldVchar(c) {
				return 0, errChunkLine
			}
		}
	}
	return size, nil
}

// readCRLF reads the CRLF that ends chunk data.
func readCRLF(br *bufio.Reader) error {
	b, err := br.Peek(2)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if b[0] != '\r' || b[1] != '\n' {
		return errChunkEnd
	}
	_, _ = br.Discard(2)
	return nil
}

// readTrailers reads and drops the trailer section after the last chunk; trailers are not
// forwarded. Its lines are checked like header fields and bounded by max bytes.
func readTrailers(br *bufio.Reader, scratch *head, max int) error {
	scratch.reset()
	return scratch.readFields(br, max, errTrailersTooLarge, errTrailersTooLarge)
}

var errTrailersTooLarge = badRequest("trailer section too large")

// Authorities and request targets.

// authorityError says what is wrong with an authority, for a 400 body.
type authorityError struct{ msg string }

func (e *authorityError) Error() string { return e.msg }

func authErr(msg string) error { return &authorityError{msg} }

var (
	errAuthEmpty    = authErr("empty authority")
	errAuthLong     = authErr("authority too long")
	errAuthCtl      = authErr("whitespace or control character in authority")
	errAuthUser     = authErr("userinfo (user@) is not allowed in the authority")
	errAuthPath     = authErr("the authority is host:port only (no path, query or fragment)")
	errAuthPct      = authErr("percent-encoding (and IPv6 zones) are not allowed in the authority")
	errAuthBracket  = authErr("unterminated IPv6 literal")
	errAuthV6       = authErr("brackets must hold an IPv6 address without a zone")
	errAuthAfterV6  = authErr("text after the IPv6 literal")
	errAuthNoHost   = authErr("empty host")
	errAuthHostChar = authErr("invalid character in host (an IPv6 address goes in brackets)")
	errAuthUTF8     = authErr("host is not valid UTF-8")
	errAuthNoPort   = authErr("missing port (CONNECT needs host:port)")
	errAuthPort     = authErr("port must be a number from 1 to 65535")
)

// maxAuthority bounds an authority: a 253-byte name (more as UTF-8 before IDNA mapping) and
// a port.
const maxAuthority = 1024

// parseAuthority checks the authority of a CONNECT request ("host:port", "[v6]:port") strictly
// and returns it unchanged: no userinfo, path, query, fragment, percent-encoding, whitespace
// or control characters; a port from 1 to 65535 in decimal without leading zeros; a host of
// letters, digits, '-', '.', '_' or UTF-8 (the guard normalises it: IDN, odd IPv4 spellings),
// or an IPv6 address in brackets without a zone.
func parseAuthority(s string) (hostport string, err error) {
	if _, _, err := checkAuthority(s, false); err != nil {
		return "", err
	}
	return s, nil
}

// checkAuthority checks an authority and returns the span of its host (brackets excluded) and
// of its port. When optionalPort is true a missing or empty port is allowed and its span is
// empty.
func checkAuthority[T string | []byte](s T, optionalPort bool) (host, port span, err error) {
	if len(s) == 0 {
		return host, port, errAuthEmpty
	}
	if len(s) > maxAuthority {
		return host, port, errAuthLong
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c <= ' ' || c == 0x7f:
			return host, port, errAuthCtl
		case c == '@':
			return host, port, errAuthUser
		case c == '/' || c == '?' || c == '#' || c == '\\':
			return host, port, errAuthPath
		case c == '%':
			return host, port, errAuthPct
		}
	}
	var rest int // index of the ':' before the port, or len(s)
	if s[0] == '[' {
		end := -1
		for i := 1; i < len(s); i++ {
			if s[i] == ']' {
				end = i
				break
			}
		}
		if end < 0 {
			return host, port, errAuthBracket
		}
		a, perr := netip.ParseAddr(string(s[1:end]))
		if perr != nil || !a.Is6() || a.Zone() != "" {
			return host, port, errAuthV6
		}
		host = span{1, int32(end)}
		rest = end + 1
		if rest < len(s) && s[rest] != ':' {
			return host, port, errAuthAfterV6
		}
	} else {
		rest = len(s)
		for i := len(s) - 1; i >= 0; i-- {
			if s[i] == ':' {
				rest = i
				break
			}
		}
		if rest == 0 {
			return host, port, errAuthNoHost
		}
		ascii := true
		for j := 0; j < rest; j++ {
			c := s[j]
			if c >= 0x80 {
				ascii = false
				continue
			}
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
				return host, port, errAuthHostChar
			}
		}
		if !ascii && !utf8.ValidString(string(s[:rest])) {
			return host, port, errAuthUTF8
		}
		host = span{0, int32(rest)}
	}
	if rest >= len(s)-1 { // no port, or "host:"
		if !optionalPort {
			return host, port, errAuthNoPort
		}
		return host, span{int32(len(s)), int32(len(s))}, nil
	}
	p := s[rest+1:]
	if len(p) > 5 || p[0] == '0' {
		return host, port, errAuthPort
	}
	n := 0
	for j := 0; j < len(p); j++ {
		if !isDigit(p[j]) {
			return host, port, errAuthPort
		}
		n = n*10 + int(p[j]-'0')
	}
	if n > 65535 {
		return host, port, errAuthPort
	}
	return host, span{int32(rest + 1), int32(len(s))}, nil
}

// target is an absolute-form request target split into its parts.
type target struct {
	authority []byte // as written, without userinfo (which is refused)
	hasPort   bool
	path      []byte // origin-form: "/..." or "?..."; empty means "/"
}

// Why a request target is refused, for the teaching 400.
const (
	msgOriginForm = "airlock is a forward proxy: this request has no http:// URL. Send the full URL " +
		"(GET http://host/path HTTP/1.1, what clients do when HTTP_PROXY points at airlock), or " +
		"CONNECT host:port for HTTPS and other protocols"
	msgHTTPS       = "https:// URLs are tunnelled, not forwarded: use CONNECT host:443 (set HTTPS_PROXY to this proxy)"
	msgScheme      = "airlock forwards only http:// URLs; use CONNECT host:port for other protocols"
	msgFragment    = "a request target must not contain a fragment (#)"
	msgUserinfo    = "credentials in the URL (user@host) are not forwarded; send them in an Authorization header"
	msgEmptyTarget = "malformed request target"
)

// parseTarget splits an absolute-form target. It returns a *statusError explaining what to do
// for origin-form, asterisk-form, https:// and other schemes.
func parseTarget(t []byte) (target, error) {
	var r target
	if len(t) == 0 {
		return r, badRequest(msgEmptyTarget)
	}
	if t[0] == '/' || t[0] == '*' {
		return r, badRequest(msgOriginForm)
	}
	if bytes.IndexByte(t, '#') >= 0 {
		return r, badRequest(msgFragment)
	}
	i := bytes.Index(t, []byte("://"))
	if i <= 0 {
		return r, badRequest(msgOriginForm)
	}
	switch scheme := t[:i]; {
	case equalFold(scheme, "http"):
	case equalFold(scheme, "https"):
		return r, badRequest(msgHTTPS)
	default:
		return r, badRequest(msgScheme)
	}
	rest := t[i+3:]
	end := len(rest)
	for j, c := range rest {
		if c == '/' || c == '?' {
			end = j
			break
		}
	}
	auth := rest[:end]
	if bytes.IndexByte(auth, '@') >= 0 {
		return r, badRequest(msgUserinfo)
	}
	_, port, err := checkAuthority(auth, true)
	if err != nil {
		return r, badRequest("bad host in URL: " + err.Error())
	}
	r.hasPort = port.len() > 0
	if !r.hasPort && len(auth) > 0 && auth[len(auth)-1] == ':' {
		auth = auth[:len(auth)-1] // "host:" means the default port
	}
	r.authority = auth
	r.path = rest[end:]
	return r, nil
}
