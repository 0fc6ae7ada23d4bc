package sandbox

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// BenchmarkRunTrue is the cost of a sandboxed /bin/true: namespaces, helper, endpoints,
// restrictions, workload, teardown. Compare with BenchmarkExecTrue for the sandbox's overhead. It
// also reports when, on average, serve was called and the workload was running.
func BenchmarkRunTrue(b *testing.B) {
	requireSandbox(b)
	var served, started time.Duration
	for b.Loop() {
		t0 := time.Now()
		serve := func(Endpoints) error { served += time.Since(t0); return nil }
		code, err := run(context.Background(), Spec{Path: "/bin/true"}, serve,
			runOptions{started: func(int) { started += time.Since(t0) }})
		if err != nil || code != 0 {
			b.Fatalf("code %d, err %v", code, err)
		}
	}
	b.ReportMetric(float64(served.Microseconds())/float64(b.N)/1000, "ms-to-serve/op")
	b.ReportMetric(float64(started.Microseconds())/float64(b.N)/1000, "ms-to-start/op")
}

// BenchmarkExecTrue is a bare fork and exec of /bin/true.
func BenchmarkExecTrue(b *testing.B) {
	for b.Loop() {
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}
