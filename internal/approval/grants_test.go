package approval

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGrantsRoundTrip: grants added, saved and loaded again are the same, per scope; bad
// scopes and hosts are refused.
func TestGrantsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "airlock.approvals.json")
	st, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for _, g := range []struct {
		scope, host string
		port        uint16
	}{{"codemode", "192.168.77.100", 3000}, {"server/github", "uploads.example.com", 443}, {"codemode", "fd00::5", 80}} {
		if err := st.AddGrant(g.scope, g.host, g.port, at); err != nil {
			t.Fatalf("AddGrant(%v): %v", g, err)
		}
	}
	if err := st.AddGrant("codemode", "192.168.77.100", 3000, at); err != nil { // again: no duplicate
		t.Fatal(err)
	}
	for _, bad := range []struct {
		scope, host string
		port        uint16
	}{{"binding/x", "a.example", 1}, {"nope", "a.example", 1}, {"codemode", "A.example", 1}, {"codemode", "a.example", 0}, {"codemode", "a b", 1}} {
		if err := st.AddGrant(bad.scope, bad.host, bad.port, at); err == nil {
			t.Errorf("AddGrant(%v) accepted", bad)
		}
	}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	again, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got := again.Grants("codemode")
	if len(got) != 2 || got[0].String() != "192.168.77.100:3000" || got[1].String() != "[fd00::5]:80" || !got[0].GrantedAt.Equal(at) {
		t.Fatalf("codemode grants after reload: %v", got)
	}
	if !again.Granted("server/github", "uploads.example.com", 443) || again.Granted("server/github", "uploads.example.com", 80) ||
		again.Granted("codemode", "uploads.example.com", 443) {
		t.Fatal("Granted does not match by scope, host and port")
	}
	if s := strings.Join(again.GrantScopes(), ","); s != "codemode,server/github" {
		t.Fatalf("GrantScopes = %s", s)
	}
	if !again.RevokeGrant("codemode", "fd00::5", 80) || again.RevokeGrant("codemode", "fd00::5", 80) {
		t.Fatal("RevokeGrant")
	}
}
