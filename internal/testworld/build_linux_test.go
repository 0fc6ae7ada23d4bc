//go:build linux

package testworld

import (
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestFailedBuildIsTornDown: when building stops halfway, teardown still deletes every
// namespace created so far.
func TestFailedBuildIsTornDown(t *testing.T) {
	Require(t)
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Fatal(err)
	}
	hs, err := plan([]Host{
		{"ok", []netip.Addr{netip.MustParseAddr("10.77.0.2")}},
		{"broken", []netip.Addr{netip.MustParseAddr("10.77.0.3")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	w := &World{Name: "aw-" + randomHex(4), ip: ip, hosts: hs}
	for _, h := range hs {
		h.ns = w.Name + "-" + h.Name
	}
	hs[1].link = "not a valid interface name" // ip link add fails on the second host
	err = w.build()
	if err == nil {
		w.teardown(t)
		t.Fatal("build succeeded with an invalid interface name")
	}
	if len(w.created) != 3 {
		t.Errorf("created %v before failing, want the world and both hosts", w.created)
	}
	w.teardown(t)
	out, err := exec.Command(ip, "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), w.Name) {
		t.Errorf("namespaces of the failed world survived teardown:\n%s", out)
	}
	for _, ns := range w.created {
		if _, err := os.Stat(netnsPath(ns)); err == nil {
			t.Errorf("%s still exists", netnsPath(ns))
		}
	}
}

// TestVerifyCatchesLeaks: New's check notices a default route, an extra link, and a host with
// more than its veth.
func TestVerifyCatchesLeaks(t *testing.T) {
	for _, tc := range []struct {
		name string
		ns   func(w *World) string
		args []string
		want string
	}{
		{"default route", func(w *World) string { return w.Name }, []string{"route", "add", "default", "dev", "h0-lan"}, "default route"},
		{"default route v6", func(w *World) string { return w.Name }, []string{"-6", "route", "add", "default", "dev", "h0-lan"}, "default route"},
		{"extra link in the world", func(w *World) string { return w.Name }, []string{"link", "add", "x0", "type", "veth", "peer", "name", "x1"}, "unexpected link"},
		{"extra link in a host", func(w *World) string { return w.Name + "-lan" }, []string{"link", "add", "x0", "type", "veth", "peer", "name", "x1"}, "unexpected link"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := New(t, Host{"lan", []netip.Addr{netip.MustParseAddr("10.77.0.2"), netip.MustParseAddr("fd00:77::2")}})
			if err := w.ipc(tc.ns(w), tc.args...); err != nil {
				t.Fatal(err)
			}
			err := w.verify()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("verify: %v, want an error about %q", err, tc.want)
			}
		})
	}
}
