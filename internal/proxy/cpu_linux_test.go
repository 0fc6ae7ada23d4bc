package proxy

import (
	"syscall"
	"testing"
	"time"
)

// processCPU is the user+system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process CPU per operation since cpu0: the proxy's, plus the client's
// and upstream's in the same process (an upper bound for the proxy alone).
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.StopTimer()
	if d := processCPU() - cpu0; d > 0 && b.N > 0 {
		b.ReportMetric(float64(d.Microseconds())/float64(b.N), "cpu-µs/op")
	}
}
