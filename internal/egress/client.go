package egress

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/airlock-sh/airlock/internal/policy"
)

// SafeFetch defaults, applied when the policy's limit is zero (or negative).
const (
	// DefaultTimeout bounds a whole request, redirects and reading the body included.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxRequestSize bounds a request body.
	DefaultMaxRequestSize int64 = 10 << 20
	// DefaultMaxResponseSize bounds a response body.
	DefaultMaxResponseSize int64 = 100 << 20
	// MaxRedirects is how many redirects a SafeFetch client follows before it refuses.
	MaxRedirects = 10
)

// ClientOption configures NewClient.
type ClientOption func(*clientConfig)

type clientConfig struct {
	tls *tls.Config
}

// WithTLSConfig sets the TLS configuration (for example a private CA for a LAN device). The
// default is Go's: system roots, the URL's host name as server name.
func WithTLSConfig(c *tls.Config) ClientOption {
	return func(cc *clientConfig) { cc.tls = c }
}

// HTTPClient is NewClient(g).
func (g *Guard) HTTPClient() *http.Client { return NewClient(g) }

// NewClient returns SafeFetch: an *http.Client whose every connection goes through
// g.DialContext, so every request and every redirect hop is decided, resolved once and checked.
//
// It has its own http.Transport (never http.DefaultTransport): no proxy (the environment's
// HTTP_PROXY is ignored: a proxy would connect on our behalf, unchecked), HTTP/2 attempted,
// TLS verified with Go's defaults, at most 100 idle connections (10 per host) kept 90 s.
// Only http and https URLs are fetched, and a redirect is refused after MaxRedirects hops, to
// another scheme, or when g's policy refuses its target (checked before anything is sent) —
// unless the refusal is one g.Consult may override, which is then asked when the hop dials.
//
// Limits come from g's policy: the client's Timeout is Limits.Timeout when NewClient is called
// (DefaultTimeout when zero); max_request_size and max_response_size are read on every request
// (DefaultMaxRequestSize, DefaultMaxResponseSize when zero), so a policy swap applies at once.
// A request body over the limit fails with ErrRequestTooLarge, before sending when its length
// is known; reading a response body past the limit fails with ErrResponseTooLarge.
//
// Connections are pooled. The first request after SetPolicy closes the idle connections, so
// it and later requests connect (and are checked) under the new policy; a connection busy
// with a request at that moment (or an HTTP/2 connection with streams open) finishes under
// the policy it was opened with.
func NewClient(g *Guard, opts ...ClientOption) *http.Client {
	var cc clientConfig
	for _, o := range opts {
		o(&cc)
	}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           g.DialContext,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       cc.tls,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	timeout := g.limits().Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &http.Client{
		Transport:     &transport{g: g, next: t},
		CheckRedirect: g.checkRedirect,
		Timeout:       timeout,
	}
}

// checkRedirect refuses a hop before it is sent when it is the eleventh, leaves http(s), or
// goes somewhere the policy refuses. The hop is checked again when it connects.
func (g *Guard) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= MaxRedirects {
		return fmt.Errorf("airlock: stopped after %d redirects", MaxRedirects)
	}
	if err := g.checkScheme(req.URL); err != nil {
		return fmt.Errorf("airlock: redirect refused: %w", err)
	}
	d, r, raw := g.check(req.Context(), hostPort(req.URL))
	if d.Allow || (g.Consult != nil && d.Approvable()) {
		// Its connection is audited when it is dialled; a refusal the user may override is
		// asked about there (Guard.Consult), once per hop.
		return nil
	}
	g.audit(d, r, raw)
	return fmt.Errorf("airlock: redirect to %s refused: %w", req.URL.Redacted(), blocked(d, r, raw))
}

// hostPort is the URL's host and port, the port defaulted from the scheme.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// checkScheme refuses a URL that is not http or https, as a *BlockedError with reason
// unsupported_scheme (audited).
func (g *Guard) checkScheme(u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return nil
	}
	d := policy.Decision{Reason: policy.ReasonUnsupportedScheme, Rule: ruleScheme,
		Detail: fmt.Sprintf("%s: scheme %q; airlock fetches only http:// and https:// URLs", u.Redacted(), u.Scheme)}
	r := Result{}
	raw := u.Hostname()
	g.audit(d, r, raw)
	return blocked(d, r, raw)
}

// transport enforces SafeFetch's scheme and size rules around the guarded http.Transport.
type transport struct {
	g    *Guard
	next *http.Transport
	// seen is the policy of the previous request; when it changes, idle connections opened
	// under the old policy are closed so that the next request dials (and is checked) again.
	seen atomic.Pointer[policy.Policy]
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		closeBody(req)
		return nil, errors.New("airlock: request has no URL")
	}
	if err := t.g.checkScheme(req.URL); err != nil {
		closeBody(req)
		return nil, err
	}
	if p := t.g.Policy(); t.seen.Swap(p) != p {
		t.next.CloseIdleConnections()
	}
	lim := t.g.limits()
	maxReq, maxResp := lim.MaxRequestSize, lim.MaxResponseSize
	if maxReq <= 0 {
		maxReq = DefaultMaxRequestSize
	}
	if maxResp <= 0 {
		maxResp = DefaultMaxResponseSize
	}
	if req.ContentLength > maxReq {
		closeBody(req)
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrRequestTooLarge, req.ContentLength, maxReq)
	}
	if req.Body != nil && req.Body != http.NoBody && req.ContentLength <= 0 {
		// Unknown length (0 with a body means unknown for a client request): count as it goes.
		r2 := req.WithContext(req.Context()) // a RoundTripper must not modify the request
		r2.Body = &countingBody{rc: req.Body, remaining: maxReq, limit: maxReq}
		req = r2
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.Body != nil && resp.Body != http.NoBody {
		resp.Body = &limitedBody{rc: resp.Body, remaining: maxResp, limit: maxResp}
	}
	return resp, nil
}

// CloseIdleConnections closes the pooled connections; http.Client.CloseIdleConnections calls it.
func (t *transport) CloseIdleConnections() { t.next.CloseIdleConnections() }

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// countingBody fails a request body read that goes past the limit.
type countingBody struct {
	rc        io.ReadCloser
	remaining int64
	limit     int64
	err       error
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.rc.Read(p)
	if b.remaining -= int64(n); b.remaining < 0 {
		b.err = fmt.Errorf("%w: body goes past %d bytes", ErrRequestTooLarge, b.limit)
		return 0, b.err
	}
	return n, err
}

func (b *countingBody) Close() error { return b.rc.Close() }

// limitedBody returns the body up to the limit and ErrResponseTooLarge for what comes after:
// a caller never mistakes a truncated body for a whole one.
type limitedBody struct {
	rc        io.ReadCloser
	remaining int64
	limit     int64
	err       error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if int64(len(p)) > b.remaining+1 {
		p = p[:b.remaining+1] // one byte more than allowed tells "exactly the limit" from "over"
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.remaining {
		n = int(b.remaining)
		b.remaining = 0
		b.err = fmt.Errorf("%w: limit %d bytes", ErrResponseTooLarge, b.limit)
		return n, b.err
	}
	b.remaining -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
