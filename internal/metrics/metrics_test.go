package metrics

import (
	"io"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/airlock-sh/airlock/internal/policy"
)

func TestProxyMetricsExposition(t *testing.T) {
	m := NewProxy()
	m.Decision("github", policy.Decision{Allow: true, Reason: policy.ReasonAllowedByEntry})
	m.Decision("", policy.Decision{Reason: "metadata"})
	m.Decision("", policy.Decision{Reason: "metadata"})
	m.DialLatency("github", 3*time.Millisecond)
	m.TunnelOpened("github")
	m.TunnelOpened("github")
	m.TunnelClosed("github", 100, 2000)
	m.Request("github", 200, 10, 20)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	out := string(body)
	for _, want := range []string{
		`airlock_decisions_total{client="github",reason="allowed_by_entry",verdict="allow"} 1`,
		`airlock_decisions_total{client="default",reason="metadata",verdict="deny"} 2`,
		`airlock_active_tunnels{client="github"} 1`,
		`airlock_bytes_total{client="github",direction="up"} 110`,
		`airlock_bytes_total{client="github",direction="down"} 2020`,
		`airlock_http_requests_total{client="github",code="200"} 1`,
		`airlock_upstream_dial_seconds_count{client="github"} 1`,
		`airlock_upstream_dial_seconds_bucket{client="github",le="0.0064"} 1`,
		`airlock_upstream_dial_seconds_bucket{client="github",le="0.0016"} 0`,
		`airlock_upstream_dial_seconds_bucket{client="github",le="+Inf"} 1`,
		"# TYPE airlock_upstream_dial_seconds histogram",
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestExpositionIsWellFormed checks every line against the text format's grammar, with a label
// value that needs escaping.
func TestExpositionIsWellFormed(t *testing.T) {
	m := NewProxy()
	m.Decision("we\"ird\nname\\", policy.Decision{Reason: "private"})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	line := regexp.MustCompile(`^([a-z_]+(\{([a-z_]+="([^"\\\n]|\\["\\n])*",?)*\})? [-+0-9.eInfNa]+|# (HELP|TYPE) [a-z_]+ .+)$`)
	for _, l := range strings.Split(strings.TrimSuffix(rec.Body.String(), "\n"), "\n") {
		if !line.MatchString(l) {
			t.Errorf("malformed line %q", l)
		}
	}
	if !strings.Contains(rec.Body.String(), `client="we\"ird\nname\\"`) {
		t.Errorf("label not escaped:\n%s", rec.Body.String())
	}
}
