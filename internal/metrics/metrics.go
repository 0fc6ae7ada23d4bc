// Package metrics exposes what the proxy does as Prometheus metrics: decisions by reason,
// active tunnels, bytes, and upstream dial latency.
//
// It writes the Prometheus text exposition format (version 0.0.4) itself instead of using
// client_golang: that library and the protobuf runtime it pulls in cost every airlock process
// about 1.5 ms of package initialisation and 6 MB of binary, and `airlock run` starts airlock
// twice per command (bench/run.sh: 3.5 ms of start-up overhead). Five metric families need
// none of the library's machinery.
package metrics

import (
	"bufio"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airlock-sh/airlock/internal/policy"
)

// dialBuckets are the upper bounds (seconds) of the dial-latency histogram: 100 µs to ~6.5 s.
var dialBuckets = func() []float64 {
	b := make([]float64, 9)
	for i, v := 0, 0.0001; i < len(b); i, v = i+1, v*4 {
		b[i] = v
	}
	return b
}()

// Proxy records the proxy's events (it implements proxy.Observer). The zero value is not
// usable; create it with NewProxy and serve its metrics with Handler. Safe for concurrent use.
type Proxy struct {
	decisions family[decisionKey, *atomic.Int64]
	tunnels   family[string, *atomic.Int64]
	bytes     family[bytesKey, *atomic.Int64]
	requests  family[requestKey, *atomic.Int64]
	dial      family[string, *histogram]
	start     time.Time
}

type decisionKey struct{ client, verdict, reason string }
type bytesKey struct{ client, direction string }
type requestKey struct {
	client string
	code   int
}

// family is a set of series of one metric, by label values.
type family[K comparable, V any] struct {
	mu     sync.RWMutex
	series map[K]V
	make   func() V
}

func (f *family[K, V]) get(k K) V {
	f.mu.RLock()
	v, ok := f.series[k]
	f.mu.RUnlock()
	if ok {
		return v
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok = f.series[k]; !ok {
		v = f.make()
		f.series[k] = v
	}
	return v
}

// snapshot returns the series in a stable order.
func (f *family[K, V]) snapshot(less func(a, b K) int) ([]K, []V) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	keys := make([]K, 0, len(f.series))
	for k := range f.series {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, less)
	vals := make([]V, len(keys))
	for i, k := range keys {
		vals[i] = f.series[k]
	}
	return keys, vals
}

func newFamily[K comparable, V any](mk func() V) family[K, V] {
	return family[K, V]{series: map[K]V{}, make: mk}
}

func newCounter() *atomic.Int64 { return new(atomic.Int64) }

// histogram counts observations into cumulative buckets.
type histogram struct {
	mu     sync.Mutex
	counts []uint64 // per bucket, not cumulative
	sum    float64
	count  uint64
}

func (h *histogram) observe(v float64) {
	i, _ := slices.BinarySearch(dialBuckets, v)
	h.mu.Lock()
	if i < len(h.counts) {
		h.counts[i]++
	}
	h.sum += v
	h.count++
	h.mu.Unlock()
}

// NewProxy returns an empty Proxy.
func NewProxy() *Proxy {
	return &Proxy{
		decisions: newFamily[decisionKey](newCounter),
		tunnels:   newFamily[string](newCounter),
		bytes:     newFamily[bytesKey](newCounter),
		requests:  newFamily[requestKey](newCounter),
		dial: newFamily[string](func() *histogram {
			return &histogram{counts: make([]uint64, len(dialBuckets))}
		}),
		start: time.Now(),
	}
}

func label(client string) string {
	if client == "" {
		return "default"
	}
	return client
}

// Decision counts one decision.
func (m *Proxy) Decision(client string, d policy.Decision) {
	verdict := "deny"
	if d.Allow {
		verdict = "allow"
	}
	m.decisions.get(decisionKey{label(client), verdict, string(d.Reason)}).Add(1)
}

// DialLatency observes one upstream connection set-up.
func (m *Proxy) DialLatency(client string, d time.Duration) {
	m.dial.get(label(client)).observe(d.Seconds())
}

// TunnelOpened counts a tunnel as open.
func (m *Proxy) TunnelOpened(client string) { m.tunnels.get(label(client)).Add(1) }

// TunnelClosed counts a tunnel as closed and adds its bytes.
func (m *Proxy) TunnelClosed(client string, up, down int64) {
	c := label(client)
	m.tunnels.get(c).Add(-1)
	m.addBytes(c, up, down)
}

// Request counts a forwarded request and adds its bytes.
func (m *Proxy) Request(client string, status int, up, down int64) {
	c := label(client)
	m.requests.get(requestKey{c, status}).Add(1)
	m.addBytes(c, up, down)
}

func (m *Proxy) addBytes(client string, up, down int64) {
	if up > 0 {
		m.bytes.get(bytesKey{client, "up"}).Add(up)
	}
	if down > 0 {
		m.bytes.get(bytesKey{client, "down"}).Add(down)
	}
}

// Handler serves the metrics in the Prometheus text exposition format.
func (m *Proxy) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		bw := bufio.NewWriter(w)
		m.write(bw)
		_ = bw.Flush()
	})
}

func (m *Proxy) write(w *bufio.Writer) {
	header(w, "airlock_decisions_total", "counter", "Egress decisions by client, verdict and reason.")
	dk, dv := m.decisions.snapshot(func(a, b decisionKey) int {
		return strings.Compare(a.client+"\x00"+a.verdict+"\x00"+a.reason, b.client+"\x00"+b.verdict+"\x00"+b.reason)
	})
	for i, k := range dk {
		sample(w, "airlock_decisions_total", []string{"client", k.client, "reason", k.reason, "verdict", k.verdict}, float64(dv[i].Load()))
	}

	header(w, "airlock_active_tunnels", "gauge", "CONNECT and SOCKS5 tunnels open now.")
	tk, tv := m.tunnels.snapshot(strings.Compare)
	for i, k := range tk {
		sample(w, "airlock_active_tunnels", []string{"client", k}, float64(tv[i].Load()))
	}

	header(w, "airlock_bytes_total", "counter", "Bytes relayed, by client and direction (up: client to upstream).")
	bk, bv := m.bytes.snapshot(func(a, b bytesKey) int {
		return strings.Compare(a.client+"\x00"+a.direction, b.client+"\x00"+b.direction)
	})
	for i, k := range bk {
		sample(w, "airlock_bytes_total", []string{"client", k.client, "direction", k.direction}, float64(bv[i].Load()))
	}

	header(w, "airlock_http_requests_total", "counter", "Forwarded HTTP requests by client and status code.")
	rk, rv := m.requests.snapshot(func(a, b requestKey) int {
		if c := strings.Compare(a.client, b.client); c != 0 {
			return c
		}
		return a.code - b.code
	})
	for i, k := range rk {
		sample(w, "airlock_http_requests_total", []string{"client", k.client, "code", strconv.Itoa(k.code)}, float64(rv[i].Load()))
	}

	header(w, "airlock_upstream_dial_seconds", "histogram", "Time to set up an allowed upstream connection (resolve and connect).")
	hk, hv := m.dial.snapshot(strings.Compare)
	for i, k := range hk {
		h := hv[i]
		h.mu.Lock()
		var cum uint64
		for b, le := range dialBuckets {
			cum += h.counts[b]
			sample(w, "airlock_upstream_dial_seconds_bucket", []string{"client", k, "le", formatFloat(le)}, float64(cum))
		}
		sample(w, "airlock_upstream_dial_seconds_bucket", []string{"client", k, "le", "+Inf"}, float64(h.count))
		sample(w, "airlock_upstream_dial_seconds_sum", []string{"client", k}, h.sum)
		sample(w, "airlock_upstream_dial_seconds_count", []string{"client", k}, float64(h.count))
		h.mu.Unlock()
	}

	header(w, "go_goroutines", "gauge", "Goroutines that currently exist.")
	sample(w, "go_goroutines", nil, float64(runtime.NumGoroutine()))
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	header(w, "go_memstats_heap_alloc_bytes", "gauge", "Bytes of allocated heap objects.")
	sample(w, "go_memstats_heap_alloc_bytes", nil, float64(ms.HeapAlloc))
	header(w, "airlock_start_time_seconds", "gauge", "When this airlock started serving metrics, in seconds since the Unix epoch.")
	sample(w, "airlock_start_time_seconds", nil, float64(m.start.UnixNano())/1e9)
}

func header(w *bufio.Writer, name, typ, help string) {
	w.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
}

// sample writes one line; labels alternate names and values.
func sample(w *bufio.Writer, name string, labels []string, v float64) {
	w.WriteString(name)
	if len(labels) > 0 {
		w.WriteByte('{')
		for i := 0; i < len(labels); i += 2 {
			if i > 0 {
				w.WriteByte(',')
			}
			w.WriteString(labels[i] + `="` + escapeLabel(labels[i+1]) + `"`)
		}
		w.WriteByte('}')
	}
	w.WriteString(" " + formatFloat(v) + "\n")
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
