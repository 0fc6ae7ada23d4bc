package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestJSONWriterLine(t *testing.T) {
	var buf bytes.Buffer
	w := NewJSONWriter(&buf)
	ts := time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.FixedZone("CET", 3600))
	w.Audit(Event{
		Time: ts, Event: "egress_blocked", Decision: "deny", Server: "github",
		Host: "169.254.169.254", Port: 80, Addr: "169.254.169.254",
		Rule: "address:metadata", Reason: "metadata",
	})
	want := `{"time":"2026-03-04T04:06:07.891Z","event":"egress_blocked","decision":"deny",` +
		`"server":"github","host":"169.254.169.254","port":80,"addr":"169.254.169.254",` +
		`"rule":"address:metadata","reason":"metadata","bytes_up":0,"bytes_down":0,"duration_ms":0}` + "\n"
	if got := buf.String(); got != want {
		t.Errorf("line:\n got %s\nwant %s", got, want)
	}
	if w.Dropped() != 0 {
		t.Errorf("Dropped = %d, want 0", w.Dropped())
	}
}

// TestJSONWriterRoundTrip checks that a written line decodes back into the same Event, so
// readers of the log can use the Event type itself.
func TestJSONWriterRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	in := Event{
		Time: time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC), Event: "connection_closed",
		Decision: "allow", Binding: "hue", Host: "api.github.com", Port: 443, Addr: "140.82.112.6",
		Rule: "api.github.com:443", Reason: "allowed_by_entry", BytesUp: 12, BytesDown: 3400, DurationMS: 56,
	}
	NewJSONWriter(&buf).Audit(in)
	var out Event
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if !out.Time.Equal(in.Time) {
		t.Errorf("time %v, want %v", out.Time, in.Time)
	}
	out.Time = in.Time
	if out != in {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
}

func TestJSONWriterZeroTime(t *testing.T) {
	var buf bytes.Buffer
	before := time.Now().Add(-time.Second)
	NewJSONWriter(&buf).Audit(Event{Event: "egress_allowed"})
	var out struct{ Time string }
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	got, err := time.Parse(time.RFC3339, out.Time)
	if err != nil {
		t.Fatalf("time %q: %v", out.Time, err)
	}
	if got.Before(before) || !strings.HasSuffix(out.Time, "Z") || len(out.Time) != len("2006-01-02T15:04:05.000Z") {
		t.Errorf("zero time written as %q, want the current UTC time with milliseconds", out.Time)
	}
}

func TestJSONWriterConcurrentLinesDoNotInterleave(t *testing.T) {
	var buf bytes.Buffer
	w := NewJSONWriter(&buf)
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			for j := range each {
				w.Audit(Event{Event: "egress_allowed", Host: strings.Repeat("x", i+j%7+1), Port: uint16(j)})
			}
		})
	}
	wg.Wait()
	sc := bufio.NewScanner(&buf)
	n := 0
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d %q: %v", n, sc.Text(), err)
		}
		n++
	}
	if n != writers*each {
		t.Errorf("%d lines, want %d", n, writers*each)
	}
}

type failingWriter struct{ short bool }

func (f failingWriter) Write(p []byte) (int, error) {
	if f.short {
		return len(p) / 2, nil // a writer that breaks io.Writer's contract must not break us
	}
	return 0, errors.New("disk full")
}

func TestJSONWriterCountsDrops(t *testing.T) {
	for _, short := range []bool{false, true} {
		w := NewJSONWriter(failingWriter{short: short})
		for range 3 {
			w.Audit(Event{Event: "egress_blocked"})
		}
		if got := w.Dropped(); got != 3 {
			t.Errorf("short=%v: Dropped = %d, want 3", short, got)
		}
	}
}

func TestDiscard(t *testing.T) {
	Discard.Audit(Event{Event: "egress_allowed"}) // must not panic
	var _ Sink = NewJSONWriter(&bytes.Buffer{})
}

func TestPackageDoc(t *testing.T) {
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package audit ") {
			return
		}
	}
	t.Error(`package audit has no doc comment starting "Package audit "`)
}
