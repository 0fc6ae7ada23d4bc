package binding

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/egress"
	"github.com/airlock-sh/airlock/internal/netguard"
	"github.com/airlock-sh/airlock/internal/policy"
	"github.com/airlock-sh/airlock/internal/testdial"
)

// noLocal keeps the machine's own addresses out of verdicts: they would depend on where the
// test runs.
func noLocal() netguard.Local { return netguard.Local{} }

func f64(v float64) *float64 { return &v }

// seen is one request a fake device received.
type seen struct {
	Method, Path, RawPath, Query string
	Header                       http.Header
	Body                         string
}

// device is a fake device: an HTTP server on a loopback port the test opened, recording every
// request and answering with what the test sets.
type device struct {
	*httptest.Server
	addr netip.AddrPort

	mu       sync.Mutex
	requests []seen
	status   int
	ctype    string
	body     string
}

func newDevice(t *testing.T) *device {
	t.Helper()
	d := &device{status: 200, ctype: "application/json", body: `{"ok":true}`}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.requests = append(d.requests, seen{r.Method, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.Header.Clone(), string(b)})
		status, ctype, body := d.status, d.ctype, d.body
		d.mu.Unlock()
		if ctype != "" {
			w.Header().Set("Content-Type", ctype)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(d.Close)
	d.addr = netip.MustParseAddrPort(strings.TrimPrefix(d.URL, "http://"))
	return d
}

func (d *device) answer(status int, ctype, body string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.status, d.ctype, d.body = status, ctype, body
}

func (d *device) seen() []seen {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]seen(nil), d.requests...)
}

func (d *device) last(t *testing.T) seen {
	t.Helper()
	s := d.seen()
	if len(s) == 0 {
		t.Fatal("the device received no request")
	}
	return s[len(s)-1]
}

func (d *device) port() string { return strings.TrimPrefix(d.addr.String(), "127.0.0.1:") }

// testManager returns a Manager whose guards never ask DNS, ignore the machine's addresses and
// dial only loopback (through a testdial.Recorder the test can inspect).
func testManager(t *testing.T, creds StaticCredentials) (*Manager, *audit.Memory, *testdial.Recorder) {
	t.Helper()
	rec := testdial.New(t)
	rec.AllowLoopback = true
	sink := &audit.Memory{}
	m := NewManager(Options{
		Credentials: creds,
		Audit:       sink,
		Resolver:    egress.StaticResolver{},
		Local:       noLocal,
		Dial:        rec.Dial,
	})
	t.Cleanup(m.Close)
	return m, sink, rec
}

// args encodes each value as one JSON argument.
func args(vals ...any) []json.RawMessage {
	out := make([]json.RawMessage, len(vals))
	for i, v := range vals {
		if raw, ok := v.(string); ok && strings.HasPrefix(raw, "json:") {
			out[i] = json.RawMessage(strings.TrimPrefix(raw, "json:"))
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		out[i] = b
	}
	return out
}

// policy0 is a network section for declarations whose literal hosts tests do not call:
// everything on the LAN names used in them.
func policy0() policy.Spec {
	return policy.Spec{Allow: []string{"h.lan:*", "192.168.1.0/24:*", "[fd00::/8]:*"}, AllowPrivateIPs: true}
}
