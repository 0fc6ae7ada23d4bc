package codemode

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

func frame(body string) []byte {
	b := make([]byte, 4, 4+len(body))
	binary.BigEndian.PutUint32(b, uint32(len(body)))
	return append(b, body...)
}

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := newFrameWriter(&buf, maxFrame)
	msgs := []*message{
		{T: msgReady},
		{T: msgConsole, Lines: []consoleMsg{{Level: "log", Text: "héllo <&>"}}},
		{T: msgCall, ID: 7, Kind: callBinding, Binding: "tv", Method: "setVolume", Args: []json.RawMessage{json.RawMessage("20")}},
		{T: msgDone, Value: json.RawMessage(`{"a":[1,2]}`), Dropped: 3},
	}
	for _, m := range msgs {
		if err := w.write(m); err != nil {
			t.Fatal(err)
		}
	}
	r := newFrameReader(&buf, maxFrame)
	for i, want := range msgs {
		b, err := r.next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		got, err := decodeMessage(b)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if !bytes.Equal(gj, wj) {
			t.Errorf("frame %d: got %s, want %s", i, gj, wj)
		}
		if err := checkFromWorker(got); err != nil {
			t.Errorf("frame %d: %v", i, err)
		}
	}
	if _, err := r.next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}

func TestFrameReaderRejects(t *testing.T) {
	cases := []struct {
		name  string
		input []byte
		want  error
	}{
		{"empty frame", frame(""), errFrameSize},
		{"over the limit", []byte{0x00, 0x10, 0x00, 0x01}, errFrameSize},
		{"huge length", []byte{0xff, 0xff, 0xff, 0xff}, errFrameSize},
		{"cut in the header", []byte{0, 0}, io.ErrUnexpectedEOF},
		{"cut in the body", frame(`{"t":"ready"}`)[:8], io.ErrUnexpectedEOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := newFrameReader(bytes.NewReader(c.input), 1<<20).next()
			if !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestFrameWriterRefusesLargeMessages(t *testing.T) {
	w := newFrameWriter(io.Discard, 100)
	err := w.write(&message{T: msgConsole, Lines: []consoleMsg{{Level: "log", Text: strings.Repeat("x", 200)}}})
	if !errors.Is(err, errTooLarge) {
		t.Errorf("got %v, want errTooLarge", err)
	}
}

func TestCheckFromWorker(t *testing.T) {
	cases := []struct {
		name string
		json string
		ok   bool
	}{
		{"ready", `{"t":"ready"}`, true},
		{"console", `{"t":"console","lines":[{"level":"warn","text":"x"}]}`, true},
		{"fetch call", `{"t":"call","id":1,"kind":"fetch","fetch":{"url":"http://a/","method":"GET"}}`, true},
		{"binding call", `{"t":"call","id":2,"kind":"binding","binding":"tv","method":"on","args":[1,"x",{"a":null}]}`, true},
		{"done value", `{"t":"done","value":{"a":1}}`, true},
		{"done error", `{"t":"done","error":{"message":"x","line":3,"column":4,"limit":"cpu"}}`, true},
		{"unknown type", `{"t":"hello"}`, false},
		{"unknown field", `{"t":"ready","extra":1}`, false},
		{"trailing data", `{"t":"ready"} {}`, false},
		{"not an object", `[1]`, false},
		{"ready with fields", `{"t":"ready","id":3}`, false},
		{"run from the worker", `{"t":"done","value":1,"run":{"name":"x","code":"","wall_ms":1,"cpu_ms":1,"memory":1,"output":1}}`, false},
		{"console without lines", `{"t":"console"}`, false},
		{"console bad level", `{"t":"console","lines":[{"level":"shout","text":"x"}]}`, false},
		{"call id 0", `{"t":"call","kind":"fetch","fetch":{"url":"x","method":"GET"}}`, false},
		{"call bad kind", `{"t":"call","id":1,"kind":"exec"}`, false},
		{"fetch call without fetch", `{"t":"call","id":1,"kind":"fetch"}`, false},
		{"fetch call with binding", `{"t":"call","id":1,"kind":"fetch","fetch":{"url":"x","method":"GET"},"binding":"tv"}`, false},
		{"binding call with fetch", `{"t":"call","id":1,"kind":"binding","binding":"tv","method":"on","fetch":{"url":"x","method":"GET"}}`, false},
		{"binding name too long", `{"t":"call","id":1,"kind":"binding","binding":"` + strings.Repeat("a", 300) + `","method":"on"}`, false},
		{"done without value", `{"t":"done"}`, false},
		{"done bad limit", `{"t":"done","error":{"message":"x","limit":"disk"}}`, false},
		{"done negative line", `{"t":"done","error":{"message":"x","line":-1}}`, false},
		{"done negative dropped", `{"t":"done","value":1,"dropped":-5}`, false},
		{"args not JSON", `{"t":"call","id":1,"kind":"binding","binding":"tv","method":"on","args":[nope]}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := decodeMessage([]byte(c.json))
			if err == nil {
				err = checkFromWorker(m)
			}
			if (err == nil) != c.ok {
				t.Errorf("%s: error %v, want ok=%v", c.json, err, c.ok)
			}
		})
	}
}

// FuzzFrames feeds arbitrary bytes to the host's side of the protocol: the frame reader, the
// strict decoder and the validation. None of them may panic, and a frame is never longer than
// the limit.
func FuzzFrames(f *testing.F) {
	seeds := [][]byte{
		frame(`{"t":"ready"}`),
		append(frame(`{"t":"ready"}`), frame(`{"t":"console","lines":[{"level":"log","text":"hi"}]}`)...),
		frame(`{"t":"call","id":1,"kind":"binding","binding":"tv","method":"on","args":[1]}`),
		frame(`{"t":"call","id":9,"kind":"fetch","fetch":{"url":"http://x/","method":"POST","headers":[["a","b"]],"body":"aGk="}}`),
		frame(`{"t":"done","error":{"message":"m","stack":"s","line":1,"column":2,"limit":"wall"},"dropped":4}`),
		frame(`{"t":"done","value":null}`),
		{0, 0, 0, 0},                       // empty frame
		{0xff, 0xff, 0xff, 0xff},           // over the limit
		frame(`{"t":"done","value":{"a":`), // bad JSON
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newFrameReader(bytes.NewReader(data), 1<<16)
		for i := 0; i < 64; i++ {
			b, err := r.next()
			if err != nil {
				return
			}
			if len(b) == 0 || len(b) > 1<<16 {
				t.Fatalf("frame of %d bytes", len(b))
			}
			m, err := decodeMessage(b)
			if err != nil {
				continue
			}
			_ = checkFromWorker(m)
		}
	})
}

// TestAppendMessageMatchesEncodingJSON: the hand-written encoder and encoding/json produce
// JSON that decodes to the same message.
func TestAppendMessageMatchesEncodingJSON(t *testing.T) {
	odd := "a\"b\\c\n\r\t\x00\x1f\x7f é \u2028 <&> \xff\xfe end"
	msgs := []*message{
		{T: msgReady},
		{T: msgReply, ID: 1<<63 + 5, Value: json.RawMessage(`{"a":[1,2,"x"]}`)},
		{T: msgReply, ID: 2, Error: &errorMsg{Name: "TypeError", Message: odd}},
		{T: msgCall, ID: 3, Kind: callBinding, Binding: "tv", Method: odd, Args: []json.RawMessage{json.RawMessage(`1`), json.RawMessage(`"` + "x" + `"`), json.RawMessage(`null`)}},
		{T: msgCall, ID: 4, Kind: callFetch, Fetch: &fetchRequest{URL: "http://a/" + odd, Method: "GET", Headers: [][2]string{{"a", odd}}, Body: []byte(odd)}},
		{T: msgConsole, Lines: []consoleMsg{{"log", odd}, {"error", ""}}},
		{T: msgDone, Value: json.RawMessage(`null`), Dropped: 12},
		{T: msgDone, Error: &errorMsg{Message: "m", Stack: odd, Line: 3, Column: 9, Limit: LimitCPU}, Dropped: -1},
		{T: msgRun, Run: &runMsg{Name: "x", Code: odd, WallMS: 5, Bindings: map[string][]string{"a": {"b"}}}},
	}
	for _, m := range msgs {
		mine, err := encodeFrame(m, maxFrame)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		a, err1 := decodeMessage(mine[4:])
		b, err2 := decodeMessage(theirs)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v / %v", mine[4:], err1, err2)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Errorf("mine   %s\ntheirs %s", mine[4:], theirs)
		}
	}
}

// FuzzAppendJSONString: every string encodes to a JSON string that decodes to what
// encoding/json makes of the same string.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"b\\", "\x00\x1f\n", "é\u2028", "\xff", "a\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, want string
		if err := json.Unmarshal(appendJSONString(nil, s), &got); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		j, _ := json.Marshal(s)
		_ = json.Unmarshal(j, &want)
		if got != want {
			t.Fatalf("%q: decoded %q, encoding/json %q", s, got, want)
		}
	})
}
