package proxy

import (
	"bufio"
	"strings"
	"testing"
)

func TestParseAuthority(t *testing.T) {
	good := []string{
		"example.com:443", "EXAMPLE.com:1", "a:65535", "127.0.0.1:80", "0x7f.1:80", "2130706433:80",
		"[::1]:443", "[2001:db8::1]:8080", "[::ffff:127.0.0.1]:80", "bücher.de:443", "under_score.example:443",
	}
	for _, s := range good {
		if got, err := parseAuthority(s); err != nil || got != s {
			t.Errorf("parseAuthority(%q) = %q, %v; want it unchanged", s, got, err)
		}
	}
	bad := []string{
		"", "example.com", "example.com:", ":443", "example.com:0", "example.com:65536", "example.com:080",
		"example.com:+80", "example.com:8a", "example.com:99999999999", "user@example.com:443",
		"user:pw@example.com:443", "example.com:443/", "example.com/:443", "example.com:443?x", "example.com:443#x",
		"exa mple.com:443", "example.com :443", "example.com:443\r\nX: y", "example.com\n:443", "example.com\t:443",
		"ex%41mple.com:443", "[::1%25lo]:443", "[::1%lo]:443", "[fe80::1%eth0]:443", "::1:443", "[::1]443",
		"[::1]", "[::1", "[127.0.0.1]:80", "[example.com]:80", "example.com\\@evil:443", "\x00:443",
		"example.com:443\x00", "a\x7f:80", "\xff\xfe:80",
	}
	for _, s := range bad {
		if got, err := parseAuthority(s); err == nil {
			t.Errorf("parseAuthority(%q) = %q, want an error", s, got)
		}
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in, authority, path string
		hasPort             bool
		status              int
	}{
		{in: "http://example.com/a?b", authority: "example.com", path: "/a?b"},
		{in: "HTTP://Example.com:8080", authority: "Example.com:8080", path: "", hasPort: true},
		{in: "http://example.com?q=1", authority: "example.com", path: "?q=1"},
		{in: "http://example.com:/x", authority: "example.com", path: "/x"},
		{in: "http://[::1]:80/", authority: "[::1]:80", path: "/", hasPort: true},
		{in: "/index.html", status: 400},
		{in: "*", status: 400},
		{in: "https://example.com/", status: 400},
		{in: "ftp://example.com/", status: 400},
		{in: "http://u:p@example.com/", status: 400},
		{in: "http://example.com/#frag", status: 400},
		{in: "http:///path", status: 400},
		{in: "http://exa%41mple.com/", status: 400},
		{in: "http://example.com:99999/", status: 400},
		{in: "example.com:80", status: 400},
	}
	for _, tc := range tests {
		got, err := parseTarget([]byte(tc.in))
		if tc.status != 0 {
			se, ok := err.(*statusError)
			if !ok || se.status != tc.status {
				t.Errorf("parseTarget(%q) = %+v, %v; want status %d", tc.in, got, err, tc.status)
			}
			continue
		}
		if err != nil || string(got.authority) != tc.authority || string(got.path) != tc.path || got.hasPort != tc.hasPort {
			t.Errorf("parseTarget(%q) = {%q %q %v}, %v; want {%q %q %v}", tc.in, got.authority, got.path, got.hasPort, err,
				tc.authority, tc.path, tc.hasPort)
		}
	}
}

func TestReadChunkSize(t *testing.T) {
	tests := []struct {
		in   string
		size int64
		ok   bool
	}{
		{"0\r\n", 0, true},
		{"a\r\n", 10, true},
		{"FF\r\n", 255, true},
		{"5;name=value\r\n", 5, true},
		{"5 ;name\r\n", 5, true},
		{"fffffffffffffff\r\n", 0xfffffffffffffff, true},
		{"1000000000000000\r\n", 0, false},
		{"\r\n", 0, false},
		{"5\n", 0, false},
		{"5 \r\n", 0, false},
		{"-5\r\n", 0, false},
		{"0x5\r\n", 0, false},
		{"5;a\x00\r\n", 0, false},
		{"5\r\r\n", 0, false},
		{"g\r\n", 0, false},
	}
	for _, tc := range tests {
		size, err := readChunkSize(bufio.NewReader(strings.NewReader(tc.in)))
		if (err == nil) != tc.ok || (tc.ok && size != tc.size) {
			t.Errorf("readChunkSize(%q) = %d, %v; want %d, ok=%v", tc.in, size, err, tc.size, tc.ok)
		}
	}
}

func TestFraming(t *testing.T) {
	parse := func(raw string) (*head, *framing, error) {
		var h head
		var f framing
		if err := h.readRequest(bufio.NewReader(strings.NewReader(raw)), 1<<16); err != nil {
			return nil, nil, err
		}
		return &h, &f, f.frame(&h, true)
	}
	h, f, err := parse("POST http://x/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\ncontent-length: 5\r\n" +
		"Connection: close, X-A,,x-b\r\nX-A: 1\r\nX-B: 2\r\nX-C: 3\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if !f.hasCL || f.length != 5 || f.chunked || !f.close {
		t.Errorf("framing %+v", f)
	}
	var kept []string
	for i, fl := range h.fields {
		if !f.skip[i] {
			kept = append(kept, string(h.b(fl.name)))
		}
	}
	if strings.Join(kept, ",") != "X-C" {
		t.Errorf("forwarded fields %v, want [X-C]", kept)
	}
	user, ok := basicUser(h.b(f.proxyAuth), make([]byte, 64))
	if !ok || string(user) != "foo" {
		t.Errorf("basicUser = %q, %v", user, ok)
	}
	if _, _, err := parse("GET http://x/ HTTP/1.0\r\nProxy-Connection: keep-alive\r\n\r\n"); err != nil {
		t.Errorf("HTTP/1.0 without Host: %v", err)
	}
	if _, _, err := parse("GET http://x/ HTTP/1.1\r\nHost: x\r\nConnection: a b\r\n\r\n"); err == nil {
		t.Error("a Connection token with a space was accepted")
	}
	if _, _, err := parse("GET http://x/ HTTP/1.1\r\nHost:\r\n\r\n"); err == nil {
		t.Error("an empty Host was accepted")
	}
	if _, _, err := parse("\r\n\r\nGET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Errorf("leading empty lines: %v", err)
	}
}

func TestBasicUser(t *testing.T) {
	for in, want := range map[string]string{
		"Basic Z2l0aHViOnB3":                   "github",
		"basic   Z2l0aHViOnB3":                 "github",
		"Basic Z2l0aHVi":                       "github", // no password
		"Bearer Z2l0aHViOnB3":                  "",
		"Basic !!!":                            "",
		"Basic OnB3":                           "", // empty user
		"Basic " + strings.Repeat("QUFB", 100): "",
	} {
		user, ok := basicUser([]byte(in), make([]byte, 192))
		if string(user) != want || ok != (want != "") {
			t.Errorf("basicUser(%q) = %q, %v; want %q", in, user, ok, want)
		}
	}
}
