package codemode

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeWorker is the other end of a proc whose "worker" is the test: it reads what the host
// sends and writes whatever it likes, as a compromised worker could.
type fakeWorker struct {
	p        *proc
	toHost   *io.PipeWriter
	fromHost *frameReader
	once     sync.Once
}

func newFakeWorker(t *testing.T) *fakeWorker {
	t.Helper()
	inR, inW := io.Pipe()   // host -> worker
	outR, outW := io.Pipe() // worker -> host
	f := &fakeWorker{toHost: outW, fromHost: newFrameReader(inR, maxFrame)}
	p := newProc()
	p.in = newFrameWriter(inW, maxFrame)
	p.stdin = inW
	p.killFn = func() error {
		f.once.Do(func() {
			outW.CloseWithError(io.EOF)
			inR.Close()
			close(p.exited)
			close(p.stderrDone)
		})
		return nil
	}
	f.p = p
	go p.readFrames(outR)
	return f
}

// send writes one frame with body b (raw bytes, so that a test can send anything).
func (f *fakeWorker) send(b []byte) error {
	h := make([]byte, 4)
	binary.BigEndian.PutUint32(h, uint32(len(b)))
	_, err := f.toHost.Write(append(h, b...))
	return err
}

func (f *fakeWorker) sendJSON(t *testing.T, s string) {
	t.Helper()
	if err := f.send([]byte(s)); err != nil {
		t.Logf("send %s: %v", s, err)
	}
}

// next reads the host's next message.
func (f *fakeWorker) next(t *testing.T) *message {
	t.Helper()
	b, err := f.fromHost.next()
	if err != nil {
		t.Fatalf("read from the host: %v", err)
	}
	m, err := decodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// session runs a session against f with the tvBindings offered.
func hostileSession(t *testing.T, f *fakeWorker, b Bindings) (chan *Result, chan error) {
	t.Helper()
	r, err := newRunner(Options{Bindings: b, Limits: Limits{Wall: 20 * time.Second, Output: 64}}, false)
	if err != nil {
		t.Fatal(err)
	}
	off, methods, _ := checkBindings(b.Methods())
	prog, serr := prepare(Source{Name: "h.js", Code: "return 1"})
	if serr != nil {
		t.Fatal(serr)
	}
	s := &session{r: r, p: f.p, prog: prog, src: Source{Name: "h.js"}, offered: off, lim: r.lim}
	results, errs := make(chan *Result, 1), make(chan error, 1)
	go func() {
		res, err := s.run(context.Background(), methods)
		results <- res
		errs <- err
		r.Close()
	}()
	return results, errs
}

func TestHostileWorkerUnofferedCalls(t *testing.T) {
	b := &tvBindings{}
	f := newFakeWorker(t)
	results, errs := hostileSession(t, f, b)
	f.sendJSON(t, `{"t":"ready"}`)
	if m := f.next(t); m.T != msgRun || m.Run.Bindings["lgRemote"] == nil {
		t.Fatalf("first message %+v", m)
	}
	f.sendJSON(t, `{"t":"call","id":1,"kind":"binding","binding":"secretAdmin","method":"wipe","args":[]}`)
	f.sendJSON(t, `{"t":"call","id":2,"kind":"binding","binding":"lgRemote","method":"factoryReset","args":[]}`)
	f.sendJSON(t, `{"t":"call","id":3,"kind":"binding","binding":"lgRemote","method":"getStatus","args":[]}`)
	replies := map[uint64]*message{}
	for range 3 {
		m := f.next(t)
		replies[m.ID] = m
	}
	for _, id := range []uint64{1, 2} {
		if e := replies[id].Error; e == nil || !strings.Contains(e.Message, "offered to this code") {
			t.Errorf("call %d: %+v", id, replies[id])
		}
	}
	if string(replies[3].Value) != `{"power":"off","volume":7}` {
		t.Errorf("call 3: %+v", replies[3])
	}
	if calls := b.recorded(); len(calls) != 1 || calls[0] != "lgRemote.getStatus()" {
		t.Errorf("the bindings saw %q", calls)
	}
	// Console beyond the output limit (64 bytes) is dropped, empty lines included.
	f.sendJSON(t, `{"t":"console","lines":[{"level":"log","text":"`+strings.Repeat("a", 50)+`"},{"level":"log","text":""},{"level":"log","text":"`+strings.Repeat("b", 50)+`"}`+strings.Repeat(`,{"level":"log","text":""}`, 100)+`]}`)
	f.sendJSON(t, `{"t":"done","value":{"x":1},"dropped":7}`)
	res, err := <-results, <-errs
	if err != nil || string(res.Value) != `{"x":1}` || res.Error != nil {
		t.Fatalf("%v %+v", err, res)
	}
	kept := 0
	for _, l := range res.Console {
		kept += len(l.Text) + 1
	}
	if kept != 64 || res.Dropped != 7+39 {
		t.Errorf("%d console bytes kept (%d lines), %d dropped", kept, len(res.Console), res.Dropped)
	}
}

// TestHostileWorkerProtocolViolations: each breach ends the run with an error of the run and
// kills the worker; the host does not panic or hang.
func TestHostileWorkerProtocolViolations(t *testing.T) {
	cases := []struct {
		name  string
		play  func(f *fakeWorker)
		ready bool // the violation comes after ready
		want  string
	}{
		{"oversized frame", func(f *fakeWorker) { f.toHost.Write([]byte{0x7f, 0xff, 0xff, 0xff}) }, true, "frame length out of range"},
		{"empty frame", func(f *fakeWorker) { f.toHost.Write([]byte{0, 0, 0, 0}) }, true, "frame length out of range"},
		{"not JSON", func(f *fakeWorker) { f.send([]byte("\x00\x01garbage")) }, true, "bad message"},
		{"unknown message", func(f *fakeWorker) { f.send([]byte(`{"t":"shell"}`)) }, true, "unknown message type"},
		{"second ready", func(f *fakeWorker) { f.send([]byte(`{"t":"ready"}`)) }, true, "second ready"},
		{"done with a value that is not JSON", func(f *fakeWorker) { f.send([]byte(`{"t":"done"}`)) }, true, "value is not JSON"},
		{"duplicate call id", func(f *fakeWorker) {
			f.send([]byte(`{"t":"call","id":5,"kind":"binding","binding":"lgRemote","method":"wait"}`))
			f.send([]byte(`{"t":"call","id":5,"kind":"binding","binding":"lgRemote","method":"wait"}`))
		}, true, "call id 5 is already in flight"},
		{"cut mid-frame", func(f *fakeWorker) { f.toHost.Write([]byte{0, 0, 1, 0, '{'}); f.toHost.Close() }, true, "unexpected EOF"},
		{"dies", func(f *fakeWorker) { f.p.kill() }, true, "the code-mode worker died"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeWorker(t)
			results, errs := hostileSession(t, f, &tvBindings{release: make(chan struct{})})
			f.sendJSON(t, `{"t":"ready"}`)
			f.next(t) // run
			c.play(f)
			select {
			case res := <-results:
				err := <-errs
				if err != nil || res.Error == nil || !strings.Contains(res.Error.Message, c.want) {
					t.Errorf("got %v %+v, want an error of the run with %q", err, res.Error, c.want)
				}
				if !f.p.killed.Load() {
					t.Error("the worker was not killed")
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the session did not end")
			}
		})
	}
}

// TestHostileWorkerBeforeReady: a worker that says anything but ready first never gets code,
// and the run fails as airlock's error (the worker did not start).
func TestHostileWorkerBeforeReady(t *testing.T) {
	f := newFakeWorker(t)
	err := make(chan error, 1)
	go func() { err <- f.p.waitReady(nil, 10*time.Second) }()
	f.sendJSON(t, `{"t":"done","value":1}`)
	if e := <-err; e == nil || !strings.Contains(e.Error(), "not ready") {
		t.Errorf("got %v", e)
	}
	if !f.p.killed.Load() {
		t.Error("not killed")
	}
}

func TestHostileWorkerOversizedReply(t *testing.T) {
	big := &bigBindings{}
	f := newFakeWorker(t)
	results, errs := hostileSession(t, f, big)
	f.sendJSON(t, `{"t":"ready"}`)
	f.next(t)
	f.sendJSON(t, `{"t":"call","id":1,"kind":"binding","binding":"big","method":"get"}`)
	m := f.next(t)
	if m.ID != 1 || m.Error == nil || !strings.Contains(m.Error.Message, "larger than a message may be") {
		t.Errorf("reply %+v", m.Error)
	}
	f.sendJSON(t, `{"t":"done","value":null}`)
	<-results
	<-errs
}

type bigBindings struct{}

func (bigBindings) Methods() map[string][]string { return map[string][]string{"big": {"get"}} }
func (bigBindings) Call(context.Context, string, string, []json.RawMessage) (json.RawMessage, error) {
	return json.RawMessage(`"` + strings.Repeat("x", maxFrame) + `"`), nil
}
