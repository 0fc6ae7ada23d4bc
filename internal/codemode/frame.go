package codemode

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"unicode/utf8"
)

// The worker's stdin and stdout carry frames: a 4-byte big-endian length, then that many bytes
// of one JSON message. A frame is never empty and never longer than maxFrame; anything else is
// a protocol error, and the host kills a worker that commits one.
const (
	maxFrame    = 16 << 20
	frameHeader = 4
)

// errFrameSize is a length prefix of 0 or over maxFrame.
var errFrameSize = errors.New("frame length out of range")

// frameReader reads frames from one stream. Not safe for concurrent use.
type frameReader struct {
	r   *bufio.Reader
	max int
}

func newFrameReader(r io.Reader, max int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next frame's body, in a new slice. io.EOF means the stream ended cleanly
// between frames; io.ErrUnexpectedEOF that it ended inside one.
func (f *frameReader) next() ([]byte, error) {
	var h [frameHeader]byte
	if _, err := io.ReadFull(f.r, h[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[:])
	if n == 0 || uint64(n) > uint64(f.max) {
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", errFrameSize, n, f.max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(f.r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// frameWriter writes whole frames; safe for concurrent use.
type frameWriter struct {
	mu  sync.Mutex
	w   io.Writer
	max int
}

func newFrameWriter(w io.Writer, max int) *frameWriter { return &frameWriter{w: w, max: max} }

// errTooLarge is a message that would not fit in a frame.
var errTooLarge = errors.New("message larger than a frame")

// write encodes m as one frame, written with a single Write.
func (f *frameWriter) write(m *message) error {
	b, err := encodeFrame(m, f.max)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err = f.w.Write(b)
	return err
}

// encodeFrame returns m as a frame (header and body).
func encodeFrame(m *message, max int) ([]byte, error) {
	b, err := appendMessage(make([]byte, frameHeader, 256), m)
	if err != nil {
		return nil, err
	}
	if n := len(b) - frameHeader; n > max {
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", errTooLarge, n, max)
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-frameHeader))
	return b, nil
}

// appendMessage appends m's JSON to b: what json.Marshal writes (a test checks that both decode
// the same), written by hand for the messages of every call (call, reply, console, done),
// which encoding/json's reflection would make a good part of a binding call's cost. Raw JSON
// fields (args, value) must already be valid JSON; strings are escaped, invalid UTF-8
// becoming U+FFFD as with encoding/json.
func appendMessage(b []byte, m *message) ([]byte, error) {
	if m.Run != nil || m.Fetch != nil {
		j, err := json.Marshal(m) // once per run, or per fetch: not worth hand-writing
		return append(b, j...), err
	}
	b = append(b, `{"t":`...)
	b = appendJSONString(b, m.T)
	if m.ID != 0 {
		b = append(b, `,"id":`...)
		b = strconv.AppendUint(b, m.ID, 10)
	}
	for _, f := range [...]struct{ key, val string }{{`,"kind":`, m.Kind}, {`,"binding":`, m.Binding}, {`,"method":`, m.Method}} {
		if f.val != "" {
			b = append(b, f.key...)
			b = appendJSONString(b, f.val)
		}
	}
	if len(m.Args) > 0 {
		b = append(b, `,"args":[`...)
		for i, a := range m.Args {
			if i > 0 {
				b = append(b, ',')
			}
			if len(a) == 0 {
				a = json.RawMessage("null")
			}
			b = append(b, a...)
		}
		b = append(b, ']')
	}
	if len(m.Value) > 0 {
		b = append(b, `,"value":`...)
		b = append(b, m.Value...)
	}
	if e := m.Error; e != nil {
		b = append(b, `,"error":{`...)
		if e.Name != "" {
			b = append(b, `"name":`...)
			b = appendJSONString(b, e.Name)
			b = append(b, ',')
		}
		b = append(b, `"message":`...)
		b = appendJSONString(b, e.Message)
		if e.Stack != "" {
			b = append(b, `,"stack":`...)
			b = appendJSONString(b, e.Stack)
		}
		if e.Line != 0 {
			b = append(b, `,"line":`...)
			b = strconv.AppendInt(b, int64(e.Line), 10)
		}
		if e.Column != 0 {
			b = append(b, `,"column":`...)
			b = strconv.AppendInt(b, int64(e.Column), 10)
		}
		if e.Limit != "" {
			b = append(b, `,"limit":`...)
			b = appendJSONString(b, e.Limit)
		}
		b = append(b, '}')
	}
	if len(m.Lines) > 0 {
		b = append(b, `,"lines":[`...)
		for i, l := range m.Lines {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"level":`...)
			b = appendJSONString(b, l.Level)
			b = append(b, `,"text":`...)
			b = appendJSONString(b, l.Text)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if m.Dropped != 0 {
		b = append(b, `,"dropped":`...)
		b = strconv.AppendInt(b, m.Dropped, 10)
	}
	return append(b, '}'), nil
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
