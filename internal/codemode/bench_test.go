package codemode

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/dop251/goja"
)

// BenchmarkColdRun is a run in a fresh worker: process start in new namespaces, Go start-up,
// confinement, runtime preparation, `return 1`, teardown.
func BenchmarkColdRun(b *testing.B) {
	requireWorkers(b)
	ctx := context.Background()
	for b.Loop() {
		res, err := RunOnce(ctx, Options{}, Source{Name: "bench.js", Code: "return 1"})
		if err != nil || res.Error != nil {
			b.Fatal(err, res)
		}
	}
}

// BenchmarkWarmRun is a run through the pool when a warm worker is ready: `return 1`. The wait
// for the replacement to be ready is not timed.
func BenchmarkWarmRun(b *testing.B) {
	requireWorkers(b)
	ctx := context.Background()
	r, err := NewRunner(ctx, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	for b.Loop() {
		b.StopTimer()
		r.waitWarm(b)
		b.StartTimer()
		res, err := r.Run(ctx, Source{Name: "bench.js", Code: "return 1"})
		if err != nil || res.Error != nil {
			b.Fatal(err, res)
		}
	}
}

// nopBindings is a binding that does nothing.
type nopBindings struct{}

func (nopBindings) Methods() map[string][]string { return map[string][]string{"nop": {"call"}} }

func (nopBindings) Call(context.Context, string, string, []json.RawMessage) (json.RawMessage, error) {
	return json.RawMessage("1"), nil
}

// BenchmarkBindingRoundTrip is one awaited binding call: worker -> host -> binding -> worker.
// One run makes b.N calls in a loop.
func BenchmarkBindingRoundTrip(b *testing.B) {
	requireWorkers(b)
	ctx := context.Background()
	r, err := NewRunner(ctx, Options{Bindings: nopBindings{}})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	code := fmt.Sprintf("let s = 0; for (let i = 0; i < %d; i++) s += await nop.call(i, 'x'); return s", b.N)
	r.waitWarm(b)
	b.ResetTimer()
	t0 := time.Now()
	res, err := r.Run(ctx, Source{Name: "bench.js", Code: code})
	el := time.Since(t0)
	b.StopTimer()
	if err != nil || res.Error != nil {
		b.Fatal(err, res.Error)
	}
	if string(res.Value) != fmt.Sprint(b.N) {
		b.Fatalf("value %s, want %d", res.Value, b.N)
	}
	b.ReportMetric(float64(el.Nanoseconds())/float64(b.N), "ns/call")
}

// BenchmarkGojaRuntime is the floor: a bare goja runtime running `1`, in this process.
func BenchmarkGojaRuntime(b *testing.B) {
	for b.Loop() {
		vm := goja.New()
		if _, err := vm.RunString("1"); err != nil {
			b.Fatal(err)
		}
	}
}
