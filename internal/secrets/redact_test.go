package secrets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// holder is how a caller might keep secrets in a struct of its own.
type holder struct {
	Store  *Store
	Key    Key
	Values Values
	key    Key
	store  *Store
	values Values
}

func TestNothingPrintsAValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.enc")
	k := testKey(t, 12)
	s := newSampleStore(t, path, k)
	v, err := s.Resolve("hue", nil)
	if err != nil {
		t.Fatal(err)
	}
	secret := "hue-api-key-s3cr3t-value"
	keyBytes := string(k.b()[:])
	h := holder{Store: s, Key: k, Values: v, key: k, store: s, values: v}

	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%b", "%T %v"} {
		for _, x := range []any{s, k, v, h, &h, []any{v, k}, map[string]any{"v": v}, struct{ h holder }{h}} {
			outs = append(outs, fmt.Sprintf(verb, x))
		}
	}
	outs = append(outs, fmt.Sprint(s, k, v), fmt.Sprintln(h), s.String(), k.String(), v.String())

	var logBuf bytes.Buffer
	for _, hd := range []slog.Handler{slog.NewJSONHandler(&logBuf, nil), slog.NewTextHandler(&logBuf, nil)} {
		slog.New(hd).Info("x", "store", s, "key", k, "values", v, "holder", h)
	}
	outs = append(outs, logBuf.String())
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))

	for _, o := range outs {
		if strings.Contains(o, secret) || strings.Contains(o, "192.168.1.50") || strings.Contains(o, keyBytes) ||
			strings.Contains(o, fmt.Sprintf("%x", k.b()[:4])) || strings.Contains(o, fmt.Sprint(k.b()[:4])) {
			t.Errorf("leaks a value or the key: %s", o)
		}
	}
	if got := fmt.Sprint(v); got != "secrets.Values{apiKey:<redacted>, bridgeIP:<redacted>}" {
		t.Errorf("Values print as %s", got)
	}
	if got := fmt.Sprint(k); !strings.Contains(got, k.Source()) {
		t.Errorf("Key prints as %s; want its source", got)
	}
	if got := fmt.Sprint(s); !strings.Contains(got, path) || !strings.Contains(got, "hue") {
		t.Errorf("Store prints as %s; want its path and names", got)
	}
	if got, ok := v.Get("apiKey"); !ok || got != secret || v.Map()["apiKey"] != secret || v.Len() != 2 {
		t.Fatal("Values lost the value")
	}
	var zero Values
	if _, ok := zero.Get("x"); ok || zero.Len() != 0 || fmt.Sprint(zero) != "secrets.Values{}" {
		t.Fatal("the zero Values is not empty")
	}
}
