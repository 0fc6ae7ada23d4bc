package testworld

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Skip and Fatal instead of stopping the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                       {}
func (r *recorder) Skipf(format string, a ...any) { r.skipped = fmtf(format, a...) }
func (r *recorder) Fatalf(format string, a ...any) {
	r.failed = fmtf(format, a...)
}

func TestRequireDecision(t *testing.T) {
	ok := func() error { return nil }
	noNetns := func() error { return errors.New("`ip netns add` failed") }
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == RequireEnv {
				return v
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name       string
		p          platform
		skip, fail string // substrings; both empty: the test runs
	}{
		{"root", platform{"linux", 0, env(""), ok}, "", ""},
		{"root, required", platform{"linux", 0, env("1"), ok}, "", ""},
		{"not root", platform{"linux", 1000, env(""), ok}, "need root", ""},
		{"not root, required", platform{"linux", 1000, env("1"), ok}, "", "need root"},
		{"not root, env not 1", platform{"linux", 1000, env("0"), ok}, "euid is 1000", ""},
		{"no netns", platform{"linux", 0, env(""), noNetns}, "ip netns add", ""},
		{"no netns, required", platform{"linux", 0, env("1"), noNetns}, "", "ip netns add"},
		{"darwin", platform{"darwin", 0, env(""), ok}, "Linux", ""},
		{"darwin, required", platform{"darwin", 0, env("1"), ok}, "", "Linux"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{TB: t}
			require(r, tc.p)
			check := func(what, got, want string) {
				if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
					t.Errorf("%s: %q, want it to contain %q", what, got, want)
				}
			}
			check("skip", r.skipped, tc.skip)
			check("fatal", r.failed, tc.fail)
		})
	}
}

func TestRequireProbesOnlyWhenItMust(t *testing.T) {
	called := false
	p := platform{"linux", 1000, func(string) string { return "" }, func() error { called = true; return nil }}
	require(&recorder{TB: t}, p)
	if called {
		t.Error("the namespace probe ran for a non-root user")
	}
}

func TestPlanRejects(t *testing.T) {
	a := netip.MustParseAddr
	for _, tc := range []struct {
		name  string
		hosts []Host
		want  string
	}{
		{"empty name", []Host{{"", []netip.Addr{a("10.0.0.1")}}}, "1 to 32"},
		{"upper case", []Host{{"LAN", []netip.Addr{a("10.0.0.1")}}}, "a-z"},
		{"long", []Host{{strings.Repeat("a", 33), []netip.Addr{a("10.0.0.1")}}}, "1 to 32"},
		{"twice", []Host{{"x", []netip.Addr{a("10.0.0.1")}}, {"x", []netip.Addr{a("10.0.0.2")}}}, "used twice"},
		{"no addrs", []Host{{"x", nil}}, "no addresses"},
		{"zero", []Host{{"x", []netip.Addr{{}}}}, "invalid"},
		{"loopback", []Host{{"x", []netip.Addr{a("127.0.0.2")}}}, "cannot be"},
		{"loopback6", []Host{{"x", []netip.Addr{a("::1")}}}, "cannot be"},
		{"unspecified", []Host{{"x", []netip.Addr{a("0.0.0.0")}}}, "cannot be"},
		{"multicast", []Host{{"x", []netip.Addr{a("ff02::1")}}}, "cannot be"},
		{"broadcast", []Host{{"x", []netip.Addr{a("255.255.255.255")}}}, "cannot be"},
		{"mapped", []Host{{"x", []netip.Addr{a("::ffff:10.0.0.1")}}}, "plain IPv4"},
		{"zone", []Host{{"x", []netip.Addr{a("fe80::1%eth0")}}}, "zones"},
		{"link net 4", []Host{{"x", []netip.Addr{a("10.255.0.1")}}}, "reserved"},
		{"link net 6", []Host{{"x", []netip.Addr{a("fd61:6972:6c6b::9")}}}, "reserved"},
		{"shared addr", []Host{{"x", []netip.Addr{a("10.0.0.1")}}, {"y", []netip.Addr{a("10.0.0.1")}}}, "already belongs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := plan(tc.hosts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("plan: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestPlanAssignsLinks(t *testing.T) {
	a := netip.MustParseAddr
	hs, err := plan([]Host{
		{"metadata", []netip.Addr{a("169.254.169.254")}},
		{"six", []netip.Addr{a("2001:db8::1")}},
		{"a-rather-long-host-name", []netip.Addr{a("198.51.100.7"), a("2001:db8:77::7")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		link           string
		world4, world6 string
	}{
		{"h0-metadata", "10.255.0.1", "invalid IP"},
		{"h1-six", "invalid IP", "fd61:6972:6c6b::1"},
		{"h2-a-rather-lon", "10.255.0.2", "fd61:6972:6c6b::2"},
	}
	for i, h := range hs {
		if h.link != want[i].link || h.world4.String() != want[i].world4 || h.world6.String() != want[i].world6 {
			t.Errorf("host %d: %s %s %s, want %+v", i, h.link, h.world4, h.world6, want[i])
		}
	}
}

func fmtf(format string, a ...any) string { return fmt.Sprintf(format, a...) }
