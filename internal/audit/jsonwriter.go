package audit

import (
	"encoding/json"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// TimeFormat is how JSONWriter writes Event.Time: RFC 3339 in UTC with milliseconds
// ("2026-01-02T15:04:05.000Z"), so lines sort as text and every line has the same width of time.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// JSONWriter is a Sink that writes each event as one JSON object on its own line (JSON Lines).
// It is safe for concurrent use: each event is encoded, then written with a single Write call
// while a mutex is held, so lines from concurrent callers never interleave.
//
// A failed write does not stop the writer and is never reported to the caller of Audit (a
// decision must not fail because its record could not be written); it is counted in Dropped.
type JSONWriter struct {
	mu      sync.Mutex
	w       io.Writer
	buf     []byte
	dropped atomic.Int64
}

// NewJSONWriter returns a JSONWriter writing to w, which must not be nil. JSONWriter does not
// buffer across events: each line reaches w when Audit returns.
func NewJSONWriter(w io.Writer) *JSONWriter {
	return &JSONWriter{w: w}
}

// line is Event as written: the time as text, the other fields and their order as in Event.
// The outer Time field shadows the embedded one.
type line struct {
	Time string `json:"time"`
	plainEvent
}

// plainEvent has Event's fields without its methods, so encoding it cannot recurse.
type plainEvent Event

// Audit writes e as one line. A zero e.Time is written as the current time.
func (j *JSONWriter) Audit(e Event) {
	t := e.Time
	if t.IsZero() {
		t = time.Now()
	}
	b, err := json.Marshal(line{Time: t.UTC().Format(TimeFormat), plainEvent: plainEvent(e)})
	if err != nil { // cannot happen for Event's field types; counted rather than trusted
		j.dropped.Add(1)
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.buf = append(append(j.buf[:0], b...), '\n')
	if n, err := j.w.Write(j.buf); err != nil || n != len(j.buf) {
		j.dropped.Add(1)
	}
	if cap(j.buf) > 64<<10 { // do not keep one huge line's buffer forever
		j.buf = nil
	}
}

// Dropped returns how many events could not be written.
func (j *JSONWriter) Dropped() int64 { return j.dropped.Load() }

// Discard is a Sink that drops every event.
var Discard Sink = discard{}

type discard struct{}

func (discard) Audit(Event) {}

// Memory keeps every event in memory, in order. The zero value is ready to use; it is safe for
// concurrent use.
type Memory struct {
	mu     sync.Mutex
	events []Event
}

// Audit records e.
func (m *Memory) Audit(e Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
}

// Events returns a copy of the events recorded so far.
func (m *Memory) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Event(nil), m.events...)
}

// ByEvent returns the recorded events whose Event field is name.
func (m *Memory) ByEvent(name string) []Event {
	var out []Event
	for _, e := range m.Events() {
		if e.Event == name {
			out = append(out, e)
		}
	}
	return out
}
