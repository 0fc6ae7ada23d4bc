package binding

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestCredentialRedacts: however a Credential is printed, encoded or logged, no value shows.
func TestCredentialRedacts(t *testing.T) {
	c := Credential{Name: "hue", Data: map[string]string{"apiKey": "TOPSECRET-1", "ip": "TOPSECRET-2"}}
	holder := struct {
		C   Credential
		Ptr *Credential
	}{c, &c}
	var outs []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		outs = append(outs, fmt.Sprintf(f, c), fmt.Sprintf(f, holder), fmt.Sprintf(f, &c))
	}
	outs = append(outs, c.String(), c.GoString(), fmt.Sprint(c), fmt.Sprintln(c))
	j, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "cred", c)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "cred", c)
	outs = append(outs, buf.String())
	for _, o := range outs {
		if strings.Contains(o, "TOPSECRET") || strings.Contains(o, "544f50") {
			t.Errorf("a value shows: %s", o)
		}
	}
	if want := "credential hue (keys: apiKey, ip; values redacted)"; c.String() != want {
		t.Errorf("String() = %q, want %q", c.String(), want)
	}
	if !strings.Contains(string(j), `{"name":"hue","keys":["apiKey","ip"]}`) {
		t.Errorf("JSON = %s", j)
	}
}

func TestStaticCredentials(t *testing.T) {
	s := StaticCredentials{"a": {"k": "v"}}
	c, err := s.Credential("a")
	if err != nil || c.Name != "a" || c.Data["k"] != "v" {
		t.Fatalf("Credential(a) = %v, %v", c, err)
	}
	c.Data["k"] = "changed"
	if s["a"]["k"] != "v" {
		t.Error("Credential returned the table's own map")
	}
	if _, err := s.Credential("b"); err == nil || !strings.Contains(err.Error(), "airlock secret set b") {
		t.Errorf("Credential(b) = %v", err)
	}
}

func TestRedactor(t *testing.T) {
	r := newRedactor(Credential{Data: map[string]string{
		"token": "abc123456789", "long": "abc123456789-and-more", "short": "on", "host": "192.168.1.100", "quote": `q"uo<te>123`,
	}}, map[string]bool{"host": true})
	for _, tt := range []struct{ in, want string }{
		{"token abc123456789 and abc123456789-and-more", "token [redacted] and [redacted]"},
		{"on 192.168.1.100", "on 192.168.1.100"},
		{`quoted "q\"uo<te>123"`, `quoted "[redacted]"`},
	} {
		if got := r.text(tt.in); got != tt.want {
			t.Errorf("text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{`{"a":"abc123456789","abc123456789":1,"n":1.50,"ok":true}`, `{"[redacted]":1,"a":"[redacted]","n":1.50,"ok":true}`},
		{`{"a":"q\"uo\u003cte\u003e123"}`, `{"a":"[redacted]"}`},
		{`{"a":"nothing here","n":1.50}`, `{"a":"nothing here","n":1.50}`},
		{`"x abc123456789 y"`, `"x [redacted] y"`},
	} {
		if got := string(r.json(json.RawMessage(tt.in))); got != tt.want {
			t.Errorf("json(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
