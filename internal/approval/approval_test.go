package approval

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPathFor(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/x/airlock.yaml", "/x/airlock.approvals.json"},
		{"/x/airlock.yml", "/x/airlock.approvals.json"},
		{"/x/airlock.json", "/x/airlock.approvals.json"},
		{"/x/airlock.YAML", "/x/airlock.approvals.json"},
		{"airlock.yaml", "airlock.approvals.json"},
		{"/x/my.config.yaml", "/x/my.config.approvals.json"},
		{"/x/airlock", "/x/airlock.approvals.json"},
		{"/x/airlock.toml", "/x/airlock.toml.approvals.json"},
		{"/x.d/airlock", "/x.d/airlock.approvals.json"},
	}
	for _, tt := range tests {
		if got := PathFor(tt.in); got != tt.want {
			t.Errorf("PathFor(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// lgRemote is a binding declaration as a config would hold it.
type lgRemote struct {
	Type    string            `json:"type"`
	Methods map[string]string `json:"methods"`
	Network struct {
		AllowPrivateIPs bool  `json:"allow_private_ips"`
		Timeout         int64 `json:"timeout"`
	} `json:"network"`
	Credential string `json:"credential"`
}

func TestDigest(t *testing.T) {
	var d lgRemote
	d.Type = "local-network"
	d.Methods = map[string]string{"sendCommand": "POST http://{{credential.tvIP}}:3000/command", "getStatus": "GET http://{{credential.tvIP}}:3000/status"}
	d.Network.AllowPrivateIPs = true
	d.Network.Timeout = 5000
	d.Credential = "lg-tv"

	got, err := Digest(d)
	if err != nil {
		t.Fatal(err)
	}
	if checkDigest(got) != nil {
		t.Fatalf("Digest made %q", got)
	}
	// The same content as a generic map, keys in another order, has the same digest.
	m := map[string]any{
		"credential": "lg-tv",
		"network":    map[string]any{"timeout": 5000, "allow_private_ips": true},
		"methods":    map[string]any{"getStatus": "GET http://{{credential.tvIP}}:3000/status", "sendCommand": "POST http://{{credential.tvIP}}:3000/command"},
		"type":       "local-network",
	}
	if g2, _ := Digest(m); g2 != got {
		t.Errorf("the same declaration as a map digests to %s, as a struct to %s", g2, got)
	}
	// Any change changes it.
	d.Network.AllowPrivateIPs = false
	if g3, _ := Digest(d); g3 == got {
		t.Error("turning allow_private_ips off did not change the digest")
	}
	// Large numbers are kept as written.
	a, _ := Digest(map[string]any{"n": uint64(1<<63 + 1)})
	b, _ := Digest(map[string]any{"n": uint64(1<<63 + 2)})
	if a == b {
		t.Error("numbers beyond float64 precision digest equally")
	}
	// A golden value: the encoding may never change silently (every approval would be lost).
	// It is sha256 of {"a":"\u003cx\u003e","b":[1,2]}: compact, keys sorted, encoding/json's
	// escaping of <, > and &.
	const golden = "sha256:092880463a42fe3ce55ed33e55a0a3fb05baef73623f5fe6735dd587e6aff5a4"
	if g, _ := Digest(map[string]any{"b": []int{1, 2}, "a": "<x>"}); g != golden {
		t.Errorf("the canonical encoding changed: digest %s, was %s", g, golden)
	}
	if _, err := Digest(func() {}); err == nil {
		t.Error("a func has a digest")
	}
}

func TestCheck(t *testing.T) {
	dig := func(s string) string { d, _ := Digest(s); return d }
	approved, changed := dig("v1"), dig("v2")
	s, err := LoadForConfig(filepath.Join(t.TempDir(), "airlock.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Approve(KindBinding, "lgRemote", approved, time.Now()); err != nil {
		t.Fatal(err)
	}
	cfg := s.ConfigPath()
	tests := []struct {
		name         string
		kind, n, dig string
		wantErr      bool
		changed      bool
		msg          string
	}{
		{"approved", KindBinding, "lgRemote", approved, false, false, ""},
		{"changed", KindBinding, "lgRemote", changed, true, true,
			"binding lgRemote changed since it was approved (approved " + approved[:19] + "…, now " + changed[:19] + "…); review it with `airlock approve --config " + cfg + "`"},
		{"never approved", KindBinding, "philipsHue", approved, true, false,
			"binding philipsHue is not approved; run `airlock approve --config " + cfg + "`"},
		{"other kind, same name", KindServer, "lgRemote", approved, true, false,
			"server lgRemote is not approved; run `airlock approve --config " + cfg + "`"},
		{"empty digest", KindBinding, "lgRemote", "", true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Check(tt.kind, tt.n, tt.dig)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Check = %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				return
			}
			var na *NotApprovedError
			if !errors.As(err, &na) || !errors.Is(err, ErrNotApproved) {
				t.Fatalf("error %T is not a *NotApprovedError", err)
			}
			if na.Changed != tt.changed || na.Kind != tt.kind || na.Name != tt.n || na.ConfigPath != cfg {
				t.Errorf("got %+v", na)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("message\n got %s\nwant %s", err, tt.msg)
			}
		})
	}
	if !s.Revoke(KindBinding, "lgRemote") || s.Revoke(KindBinding, "lgRemote") {
		t.Error("Revoke did not report what it removed")
	}
	if err := s.Check(KindBinding, "lgRemote", approved); err == nil {
		t.Error("a revoked approval still counts")
	}
	// Load finds the config next to the approvals file for the message.
	dir := filepath.Dir(cfg)
	must(t, os.WriteFile(filepath.Join(dir, "airlock.yml"), []byte("version: 1\n"), 0o644))
	s2, err := Load(filepath.Join(dir, "airlock.approvals.json"))
	must(t, err)
	if err := s2.Check(KindServer, "github", approved); err == nil || !strings.Contains(err.Error(), "--config "+filepath.Join(dir, "airlock.yml")+"`") {
		t.Errorf("Load did not find the config: %v", err)
	}
	bare := &NotApprovedError{Kind: KindServer, Name: "github"}
	if !strings.Contains(bare.Error(), "--config CONFIG") {
		t.Errorf("without a config path: %s", bare)
	}
}

func TestApproveRefuses(t *testing.T) {
	s, _ := Load(filepath.Join(t.TempDir(), "a.approvals.json"))
	d, _ := Digest(1)
	for _, c := range []struct{ kind, name, digest string }{
		{"", "x", d}, {"Binding", "x", d}, {"bind ing", "x", d}, {"binding", "", d}, {"binding", "a\nb", d},
		{"binding", "x", ""}, {"binding", "x", "sha256:abc"}, {"binding", "x", strings.ToUpper(d)}, {"binding", "x", "md5:" + d[7:]},
	} {
		if err := s.Approve(c.kind, c.name, c.digest, time.Now()); err == nil {
			t.Errorf("Approve(%q, %q, %q) accepted", c.kind, c.name, c.digest)
		}
	}
	if len(s.Entries()) != 0 {
		t.Fatal("a refused approval was recorded")
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "airlock.yaml")
	s, err := LoadForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 4, 5, 6, 7, 890, time.FixedZone("CET", 3600))
	d1, _ := Digest("lg")
	d2, _ := Digest("gh")
	d3, _ := Digest("odd")
	must(t, s.Approve(KindBinding, "lgRemote", d1, at))
	must(t, s.Approve(KindServer, "github", d2, at))
	must(t, s.Approve(KindServer, "a/b", d3, at)) // a name with a slash
	must(t, s.Save())

	fi, err := os.Stat(PathFor(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(PathFor(cfg))
	for _, want := range []string{`"version": 1`, `"binding/lgRemote": {`, `"digest": "` + d1 + `"`, `"approved_at": "2025-03-04T04:06:07Z"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("file lacks %s:\n%s", want, raw)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("the directory holds %d files after Save, want 1 (no temporary files)", len(ents))
	}

	s2, err := LoadForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Entries(), s2.Entries()) {
		t.Errorf("round trip:\n got %+v\nwant %+v", s2.Entries(), s.Entries())
	}
	must(t, s2.Check(KindServer, "a/b", d3))
	if a, ok := s2.Get(KindBinding, "lgRemote"); !ok || !a.ApprovedAt.Equal(at.Truncate(time.Second)) {
		t.Errorf("approved_at %v, want %v", a.ApprovedAt, at)
	}
}

// Stale entries (declarations gone from the config) survive Load and Save; Prune drops them.
func TestStaleEntries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "airlock.approvals.json")
	s, _ := Load(path)
	d, _ := Digest("x")
	must(t, s.Approve(KindBinding, "gone", d, time.Now()))
	must(t, s.Approve(KindBinding, "kept", d, time.Now()))
	must(t, s.Save())
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Entries()) != 2 {
		t.Fatal("Load or Save dropped an entry")
	}
	removed := s.Prune(func(kind, name string) bool { return name == "kept" })
	if len(removed) != 1 || removed[0].Name != "gone" {
		t.Fatalf("Prune removed %+v", removed)
	}
	if err := s.Check(KindBinding, "gone", d); err == nil {
		t.Fatal("a pruned approval still counts")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if s, err := Load(filepath.Join(dir, "missing.json")); err != nil || len(s.Entries()) != 0 {
		t.Fatalf("a missing file: %v", err)
	}
	d, _ := Digest("x")
	tests := []struct{ name, content string }{
		{"not json", "approved!"},
		{"empty", ""},
		{"no version", `{"approvals":{}}`},
		{"version 2", `{"version":2,"approvals":{}}`},
		{"unknown field", `{"version":1,"approvals":{},"extra":true}`},
		{"no kind", `{"version":1,"approvals":{"lgRemote":{"digest":"` + d + `","approved_at":"2025-01-01T00:00:00Z"}}}`},
		{"bad digest", `{"version":1,"approvals":{"binding/x":{"digest":"sha256:00","approved_at":"2025-01-01T00:00:00Z"}}}`},
		{"bad time", `{"version":1,"approvals":{"binding/x":{"digest":"` + d + `","approved_at":"yesterday"}}}`},
		{"trailing", `{"version":1,"approvals":{}} {}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "x.approvals.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("Load = %v; want an error naming the file", err)
			}
		})
	}
	path := filepath.Join(dir, "ok.approvals.json")
	must(t, os.WriteFile(path, []byte(`{"version":1,"approvals":{}}`), 0o666))
	must(t, os.Chmod(path, 0o666))
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "chmod o-w") {
		t.Fatalf("a world-writable file: %v", err)
	}
}

func TestSaveReplacesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target.json")
	must(t, os.WriteFile(target, []byte(`{"version":1,"approvals":{}}`), 0o644))
	path := filepath.Join(dir, "airlock.approvals.json")
	if err := os.Symlink(target, path); err != nil {
		t.Skipf("no symlinks: %v", err)
	}
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := Digest("x")
	must(t, s.Approve(KindBinding, "x", d, time.Now()))
	must(t, s.Save())
	if b, _ := os.ReadFile(target); string(b) != `{"version":1,"approvals":{}}` {
		t.Fatal("Save wrote through the symbolic link")
	}
	if fi, _ := os.Lstat(path); fi.Mode()&os.ModeSymlink != 0 {
		t.Fatal("the symbolic link is still there")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
