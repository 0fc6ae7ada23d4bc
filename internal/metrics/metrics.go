// Package metrics exposes what the proxy does as Prometheus metrics: decisions by reason,
// active tunnels, bytes, and upstream dial latency.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/airlock-sh/airlock/internal/policy"
)

// Proxy records the proxy's events (it implements proxy.Observer). Create it with NewProxy;
// serve its metrics with Handler.
type Proxy struct {
	reg       *prometheus.Registry
	decisions *prometheus.CounterVec
	dial      *prometheus.HistogramVec
	tunnels   *prometheus.GaugeVec
	bytes     *prometheus.CounterVec
	requests  *prometheus.CounterVec
}

// NewProxy returns a Proxy with its own registry (plus the Go runtime and process collectors).
func NewProxy() *Proxy {
	m := &Proxy{
		reg: prometheus.NewRegistry(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "airlock_decisions_total",
			Help: "Egress decisions by client, verdict and reason.",
		}, []string{"client", "verdict", "reason"}),
		dial: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "airlock_upstream_dial_seconds",
			Help:    "Time to set up an allowed upstream connection (resolve and connect).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9), // 100µs … 6.5s
		}, []string{"client"}),
		tunnels: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "airlock_active_tunnels",
			Help: "CONNECT and SOCKS5 tunnels open now.",
		}, []string{"client"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "airlock_bytes_total",
			Help: "Bytes relayed, by client and direction (up: client to upstream).",
		}, []string{"client", "direction"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "airlock_http_requests_total",
			Help: "Forwarded HTTP requests by client and status code.",
		}, []string{"client", "code"}),
	}
	m.reg.MustRegister(m.decisions, m.dial, m.tunnels, m.bytes, m.requests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Proxy) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
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
	m.decisions.WithLabelValues(label(client), verdict, string(d.Reason)).Inc()
}

// DialLatency observes one upstream connection set-up.
func (m *Proxy) DialLatency(client string, d time.Duration) {
	m.dial.WithLabelValues(label(client)).Observe(d.Seconds())
}

// TunnelOpened counts a tunnel as open.
func (m *Proxy) TunnelOpened(client string) { m.tunnels.WithLabelValues(label(client)).Inc() }

// TunnelClosed counts a tunnel as closed and adds its bytes.
func (m *Proxy) TunnelClosed(client string, up, down int64) {
	c := label(client)
	m.tunnels.WithLabelValues(c).Dec()
	m.addBytes(c, up, down)
}

// Request counts a forwarded request and adds its bytes.
func (m *Proxy) Request(client string, status int, up, down int64) {
	c := label(client)
	m.requests.WithLabelValues(c, strconv.Itoa(status)).Inc()
	m.addBytes(c, up, down)
}

func (m *Proxy) addBytes(client string, up, down int64) {
	if up > 0 {
		m.bytes.WithLabelValues(client, "up").Add(float64(up))
	}
	if down > 0 {
		m.bytes.WithLabelValues(client, "down").Add(float64(down))
	}
}
