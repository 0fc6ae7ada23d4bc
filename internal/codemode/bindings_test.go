package codemode

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
)

// tvBindings is a test binding: an "LG TV" whose methods record their arguments.
type tvBindings struct {
	mu    sync.Mutex
	calls []string
	// block, when set, makes status wait until the run's context ends, after sending the
	// worker's PID... no: after signalling blocked.
	blocked chan struct{}
	release chan struct{}
}

func (b *tvBindings) Methods() map[string][]string {
	return map[string][]string{"lgRemote": {"sendCommand", "getStatus", "setVolume", "fail", "wait"}, "hue": {"setLight"}}
}

func (b *tvBindings) Call(ctx context.Context, binding, method string, args []json.RawMessage) (json.RawMessage, error) {
	var a []string
	for _, x := range args {
		a = append(a, string(x))
	}
	b.mu.Lock()
	b.calls = append(b.calls, binding+"."+method+"("+strings.Join(a, ", ")+")")
	b.mu.Unlock()
	switch method {
	case "getStatus":
		return json.RawMessage(`{"power":"off","volume":7}`), nil
	case "fail":
		return nil, errors.New("the TV is unplugged")
	case "wait":
		if b.blocked != nil {
			close(b.blocked)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-b.release:
			return json.RawMessage(`"released"`), nil
		}
	case "setVolume":
		return nil, nil // no result: null
	}
	return json.RawMessage(`true`), nil
}

func (b *tvBindings) recorded() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

func TestBindings(t *testing.T) {
	requireWorkers(t)
	b := &tvBindings{}
	res := run(t, Options{Bindings: b}, `
		const status = await lgRemote.getStatus()
		console.log('TV Power:', status.power)
		if (status.power === 'off') await lgRemote.sendCommand('POWER_ON')
		const v = await lgRemote.setVolume(20, {ramp: true}, [1, 'x'], null)
		let failed
		try { await lgRemote.fail() } catch (e) { failed = e instanceof Error && e.message }
		return {status, v, failed, hue: typeof hue.setLight, other: typeof philipsHue, methods: Object.keys(lgRemote).sort()}`)
	got := value(t, res)
	want := `{"status":{"power":"off","volume":7},"v":null,"failed":"the TV is unplugged","hue":"function","other":"undefined","methods":["fail","getStatus","sendCommand","setVolume","wait"]}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	wantCalls := []string{`lgRemote.getStatus()`, `lgRemote.sendCommand("POWER_ON")`, `lgRemote.setVolume(20, {"ramp":true}, [1,"x"], null)`, `lgRemote.fail()`}
	if calls := b.recorded(); strings.Join(calls, "; ") != strings.Join(wantCalls, "; ") {
		t.Errorf("calls %q, want %q", calls, wantCalls)
	}
	if len(res.Console) != 1 || res.Console[0].Text != "TV Power: off" {
		t.Errorf("console %q", res.Console)
	}
}

func TestBindingErrorUncaught(t *testing.T) {
	requireWorkers(t)
	res := run(t, Options{Bindings: &tvBindings{}}, "await lgRemote.getStatus()\n\nawait lgRemote.fail()")
	if res.Error == nil || res.Error.Message != "Error: the TV is unplugged" || res.Error.Line != 3 || res.Error.Column != 20 { // goja places a call at its "("
		t.Errorf("got %v", res.Error)
	}
}

func TestBindingNames(t *testing.T) {
	cases := []struct {
		methods map[string][]string
		err     string
	}{
		{map[string][]string{"lg-remote": {"x"}}, "not a JavaScript identifier"},
		{map[string][]string{"fetch": {"x"}}, "already a global"},
		{map[string][]string{"console": {"x"}}, "already a global"},
		{map[string][]string{"class": {"x"}}, "reserved word"},
		{map[string][]string{"tv": {"power on"}}, "not a JavaScript identifier"},
		{map[string][]string{"tv": {"on", "off", "on"}, "$x_1": {"a"}}, ""},
	}
	for _, c := range cases {
		_, clean, err := checkBindings(c.methods)
		if c.err == "" {
			if err != nil || len(clean["tv"]) != 2 {
				t.Errorf("%v: %v %v", c.methods, err, clean)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%v: error %v, want %q", c.methods, err, c.err)
		}
		if _, err := newRunner(Options{Bindings: staticBindings(c.methods)}, false); err == nil {
			t.Errorf("%v: newRunner accepted it", c.methods)
		}
	}
}

type staticBindings map[string][]string

func (s staticBindings) Methods() map[string][]string { return s }
func (s staticBindings) Call(context.Context, string, string, []json.RawMessage) (json.RawMessage, error) {
	return nil, nil
}
