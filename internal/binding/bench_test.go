package binding

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/airlock-sh/airlock/internal/audit"
	"github.com/airlock-sh/airlock/internal/egress"
	"github.com/airlock-sh/airlock/internal/policy"
)

// BenchmarkCall is one declarative binding call's round trip on the host side: check the
// arguments, render, send through the guard to a loopback device, read and return the JSON.
func BenchmarkCall(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	addr := netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "http://"))
	m := NewManager(Options{Credentials: StaticCredentials{"lg-tv": {"tvIP": "127.0.0.1"}}, Audit: audit.Discard,
		Resolver: egress.StaticResolver{}, Local: noLocal})
	defer m.Close()
	d := lg()
	d.Network = policy.Spec{Allow: []string{"{{credential.tvIP}}:" + itoa(addr.Port())}}
	for _, mt := range d.Methods {
		mt.Request.URL = strings.Replace(mt.Request.URL, ":3000", ":"+itoa(addr.Port()), 1)
	}
	if err := m.Declare(d); err != nil {
		b.Fatal(err)
	}
	a := []json.RawMessage{json.RawMessage("20")}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Call(ctx, "lgRemote", "setVolume", a); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrepare is the part of a call before the network: argument checks and rendering.
func BenchmarkPrepare(b *testing.B) {
	cd, err := compileDecl(lg())
	if err != nil {
		b.Fatal(err)
	}
	cm := cd.methods["setVolume"]
	cred := map[string]string{"tvIP": "192.168.1.100"}
	auth, _ := cm.req.url.trustedAuthority(cred, "lg-tv")
	a := []json.RawMessage{json.RawMessage(`{"level": 20}`)}
	b.ReportAllocs()
	for b.Loop() {
		vals, err := cm.bindArgs(a)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := (&renderer{m: cm, vals: vals, cred: cred}).render(cm.req, auth); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate is validating the seed's LG declaration (done once, at load).
func BenchmarkValidate(b *testing.B) {
	d := lg()
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }
