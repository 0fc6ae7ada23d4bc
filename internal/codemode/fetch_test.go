package codemode

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/egress"
	"github.com/airlock-sh/airlock/internal/netguard"
	"github.com/airlock-sh/airlock/internal/policy"
	"github.com/airlock-sh/airlock/internal/testdial"
)

// run runs code with opts in a fresh worker and fails the test on airlock's own errors.
func run(t *testing.T, opts Options, code string) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := RunOnce(ctx, opts, Source{Name: "script.ts", Code: code})
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	return res
}

// value is the run's value, failing the test when the run failed.
func value(t *testing.T, res *Result) string {
	t.Helper()
	if res.Error != nil {
		t.Fatalf("the run failed: %v (stack %s)", res.Error, res.Error.Stack)
	}
	return string(res.Value)
}

func guard(t *testing.T, spec policy.Spec, sink audit.Sink) (*egress.Guard, *testdial.Recorder) {
	t.Helper()
	p, err := policy.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	g := egress.New(p)
	rec := testdial.New(t)
	g.Dial = rec.Dial
	g.Audit = sink
	g.Server = "codemode"
	return g, rec
}

// echoServer is a loopback server that answers with what it received.
func echoServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "path": r.URL.RequestURI(), "body": string(b),
			"ctype": r.Header.Get("Content-Type"), "token": r.Header.Get("X-Token"),
		})
	})
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "héllo") })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/text", http.StatusFound) })
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "nope", http.StatusNotFound) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, srv.Listener.Addr().String()
}

func TestFetchLoopbackServer(t *testing.T) {
	requireWorkers(t)
	srv, addr := echoServer(t)
	for _, spec := range []policy.Spec{
		{Allow: []string{addr}},                           // an explicit IP:port entry
		{AllowPublicInternet: true, AllowLocalhost: true}, // the switch
	} {
		t.Run(strings.Join(spec.Allow, ",")+fmt.Sprintf("localhost=%v", spec.AllowLocalhost), func(t *testing.T) {
			sink := &audit.Memory{}
			g, rec := guard(t, spec, sink)
			rec.AllowLoopback = true
			res := run(t, Options{Guard: g, Audit: sink}, `
				const r = await fetch('`+srv.URL+`/echo?q=1', {method: 'POST', headers: {'X-Token': 'secret-value'}, body: {hello: 'wörld'}});
				const j = await r.json();
				const t = await fetch('`+srv.URL+`/redirect');
				const m = await fetch('`+srv.URL+`/missing');
				return {status: r.status, ok: r.ok, statusText: r.statusText, ctype: r.headers.get('Content-Type'),
					multi: r.headers.get('x-multi'), echo: j, text: await t.text(), redirected: t.redirected,
					finalURL: t.url, missing: [m.status, m.ok, (await m.text()).trim()]}`)
			var got struct {
				Status     int
				OK         bool
				StatusText string
				Ctype      string
				Multi      string
				Echo       map[string]string
				Text       string
				Redirected bool
				FinalURL   string
				Missing    []any
			}
			if err := json.Unmarshal([]byte(value(t, res)), &got); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"method": "POST", "path": "/echo?q=1", "body": `{"hello":"wörld"}`, "ctype": "application/json", "token": "secret-value"}
			for k, v := range want {
				if got.Echo[k] != v {
					t.Errorf("the server saw %s=%q, want %q", k, got.Echo[k], v)
				}
			}
			if got.Status != 201 || !got.OK || got.StatusText != "Created" || got.Ctype != "application/json" || got.Multi != "a, b" {
				t.Errorf("response: %+v", got)
			}
			if got.Text != "héllo" || !got.Redirected || got.FinalURL != srv.URL+"/text" {
				t.Errorf("redirect: %+v", got)
			}
			if fmt.Sprint(got.Missing) != "[404 false nope]" {
				t.Errorf("404: %v", got.Missing)
			}
			evs := sink.ByEvent("fetch")
			if len(evs) != 3 {
				t.Fatalf("%d fetch events, want 3: %+v", len(evs), sink.Events())
			}
			host, port, _ := net.SplitHostPort(addr)
			for i, want := range []struct {
				method string
				status int
			}{{"POST", 201}, {"GET", 200}, {"GET", 404}} {
				e := evs[i]
				if e.Method != want.method || e.Status != want.status || e.Decision != "allow" || e.Host != host ||
					fmt.Sprint(e.Port) != port || e.Server != "codemode" || e.DurationMS < 0 || e.Time.IsZero() {
					t.Errorf("event %d: %+v", i, e)
				}
			}
			for _, e := range sink.Events() {
				if b, _ := json.Marshal(e); strings.Contains(string(b), "secret-value") || strings.Contains(string(b), "wörld") {
					t.Errorf("an audit event holds a header value or the body: %s", b)
				}
			}
		})
	}
}

// TestFetchRefused: the default policy refuses private, loopback and metadata addresses with
// the seed's words, before any connection: the injected dial step is never reached.
func TestFetchRefused(t *testing.T) {
	requireWorkers(t)
	cases := []struct {
		url  string
		spec policy.Spec
		want string
		rule string
	}{
		{"http://192.168.1.100:3000/status", policy.Spec{AllowPublicInternet: true}, "Network request blocked: Private IP access is not allowed (192.168.1.100) — blocked 192.168.1.100:3000 (private", "private"},
		{"http://10.0.0.1/", policy.Spec{AllowPublicInternet: true}, "Network request blocked: Private IP access is not allowed (10.0.0.1) — blocked 10.0.0.1:80 (private", "private"},
		{"http://169.254.169.254/latest/meta-data/", policy.Spec{AllowPublicInternet: true}, "Network request blocked: Cloud metadata access is not allowed (169.254.169.254) — blocked 169.254.169.254:80 (metadata", "metadata"},
		{"http://127.0.0.1:8080/", policy.Spec{AllowPublicInternet: true}, "Network request blocked: Localhost access is not allowed (127.0.0.1) — blocked 127.0.0.1:8080 (loopback", "loopback"},
		{"http://[::1]/", policy.Spec{AllowPublicInternet: true}, "Network request blocked: Localhost access is not allowed (::1)", "loopback"},
		{"http://169.254.10.1/", policy.Spec{AllowPublicInternet: true}, "Network request blocked: Link-local address access is not allowed (169.254.10.1)", "link_local"},
		{"http://0x7f.1/", policy.Spec{AllowPublicInternet: true}, "Network request blocked: Localhost access is not allowed (127.0.0.1)", "loopback"},
		{"https://example.org/", policy.Spec{Allow: []string{"api.github.com"}}, "Network request blocked: Domain not in allowed list (example.org) — blocked example.org:443 (no_matching_allow", "no_matching_allow"},
		{"ftp://example.org/", policy.Spec{AllowPublicInternet: true}, "Network request blocked: Only http and https URLs are allowed (example.org)", "unsupported_scheme"},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			sink := &audit.Memory{}
			g, rec := guard(t, c.spec, sink)
			res := run(t, Options{Guard: g, Audit: sink}, `
				try {
					await fetch('`+c.url+`')
					return 'fetched'
				} catch (e) {
					return e.name + ': ' + e.message
				}`)
			got := value(t, res)
			var msg string
			_ = json.Unmarshal([]byte(got), &msg)
			if !strings.HasPrefix(msg, "Error: "+c.want) {
				t.Errorf("got  %s\nwant Error: %s...", msg, c.want)
			}
			if d := rec.Dialed(); len(d) != 0 {
				t.Errorf("the dial step was reached: %v", d)
			}
			evs := sink.ByEvent("fetch")
			if len(evs) != 1 || evs[0].Decision != "deny" || evs[0].Reason != c.rule || evs[0].Method != "GET" {
				t.Errorf("fetch events: %+v", evs)
			}
		})
	}
}

// TestFetchUncaughtRefusal: a refusal nobody catches fails the run at the fetch's line.
func TestFetchUncaughtRefusal(t *testing.T) {
	requireWorkers(t)
	g, rec := guard(t, policy.Spec{AllowPublicInternet: true}, nil)
	res := run(t, Options{Guard: g}, "const a = 1\nconst r = await fetch('http://192.168.1.100:3000/status')\nreturn r.status")
	if res.Error == nil || res.Error.Line != 2 || res.Error.Column != 22 || // goja places a call at its "("
		!strings.HasPrefix(res.Error.Message, "Error: Network request blocked: Private IP access is not allowed (192.168.1.100)") {
		t.Errorf("got %v (%d:%d)", res.Error, res.Error.Line, res.Error.Column)
	}
	if !strings.HasPrefix(res.Error.Error(), "script.ts:2:22: Error: Network request blocked") {
		t.Errorf("Error() = %s", res.Error.Error())
	}
	if len(rec.Dialed()) != 0 {
		t.Error("dialled")
	}
}

func TestFetchWithoutGuard(t *testing.T) {
	requireWorkers(t)
	sink := &audit.Memory{}
	res := run(t, Options{Audit: sink}, `try { await fetch('https://example.org/') } catch (e) { return e.message }`)
	if v := value(t, res); !strings.Contains(v, "Network request blocked: fetch is disabled (example.org)") {
		t.Errorf("got %s", v)
	}
	if evs := sink.ByEvent("fetch"); len(evs) != 1 || evs[0].Decision != "deny" {
		t.Errorf("events %+v", evs)
	}
}

func TestFetchFailures(t *testing.T) {
	requireWorkers(t)
	// A port nothing listens on: the guard allows it, the connection fails.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	g, rec := guard(t, policy.Spec{Allow: []string{addr}}, nil)
	rec.AllowLoopback = true
	res := run(t, Options{Guard: g}, `
		const out = []
		for (const u of ['http://`+addr+`/', 'not a url', 'http://`+addr+`/'.replace('http', 'http:')]) {
			try { await fetch(u); out.push('ok') } catch (e) { out.push(e.name + ': ' + e.message) }
		}
		try { await fetch('http://`+addr+`/', {method: 'BAD METHOD'}) } catch (e) { out.push(e.name) }
		return out`)
	var out []string
	_ = json.Unmarshal([]byte(value(t, res)), &out)
	if len(out) != 4 || !strings.HasPrefix(out[0], "TypeError: fetch failed: ") || !strings.Contains(out[0], "refused") ||
		!strings.HasPrefix(out[1], "TypeError: fetch: invalid URL") || !strings.HasPrefix(out[2], "TypeError:") || out[3] != "TypeError" {
		t.Errorf("got %q", out)
	}
}

func TestBlockedWordsCoverEveryAddressReason(t *testing.T) {
	for r := netguard.Unspecified; r <= netguard.SpecialName; r++ {
		if _, ok := blockedWords[policy.Reason(r.String())]; !ok {
			t.Errorf("no words for the address reason %s", r)
		}
	}
	msg := blockedMessage(&egress.BlockedError{Host: "lan.example", Port: 80, Decision: policy.Decision{
		Reason: "private", Rule: "address:private", Addr: netip.MustParseAddr("10.1.2.3")}})
	if !strings.HasPrefix(msg, "Network request blocked: Private IP access is not allowed (10.1.2.3) — blocked lan.example:80 (private, rule: address:private)") {
		t.Errorf("got %s", msg)
	}
}
