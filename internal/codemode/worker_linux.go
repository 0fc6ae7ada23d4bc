package codemode

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/signal"
	goruntime "runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/airlock-sh/airlock/internal/sandbox"
)

// How the worker watches its own limits: often enough that a runaway allocation is caught
// well inside the address-space backstop, rarely enough to cost nothing measurable.
const (
	monitorEvery = 5 * time.Millisecond
	// forceAfter is how long the loop has to come back from an interrupt before the monitor
	// reports the limit itself and exits (the VM is stuck in a native function).
	forceAfter = 250 * time.Millisecond
)

// workerMain confines the process, prepares the runtime, says ready and serves one run.
func workerMain() int {
	if err := confineWorker(); err != nil {
		fmt.Fprintf(os.Stderr, "airlock code-mode worker: confine: %v\n", err)
		return exitConfine
	}
	w, err := newWorker(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "airlock code-mode worker: prepare the runtime: %v\n", err)
		return exitConfine
	}
	cfg, err := parseWorkerArgs(os.Args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "airlock code-mode worker: %v\n", err)
		return exitConfine
	}
	return w.serve(linuxLimits{}, cfg)
}

// confineWorker restricts the worker before it reads anything from the host: no capability,
// no_new_privs, the sandbox's seccomp filter with every socket call denied, no core dumps.
func confineWorker() error {
	// The runtime is single-threaded; two Ps leave the collector room without a thread (and,
	// in a cgo binary, an 8 MiB stack reservation) per CPU of a large machine.
	goruntime.GOMAXPROCS(min(goruntime.GOMAXPROCS(0), 2))
	if err := sandbox.Confine(sandbox.ConfineOptions{NoSockets: true}); err != nil {
		return err
	}
	// Confine keeps this goroutine on the thread it emptied of capabilities. The others have
	// none either but CAP_SETPCAP (a worker is not root in its namespace, see innerID), so the
	// runtime may run the JavaScript on any of them: waking a goroutine locked to a thread
	// costs a futex round trip per binding call.
	goruntime.UnlockOSThread()
	return unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
}

// linuxLimits applies a run's limits with the kernel's help.
type linuxLimits struct{}

// prepare sets the memory limits, before the worker says ready (they cost a few hundred
// microseconds: two stops of the world, reading /proc):
//
//   - debug.SetMemoryLimit(memory) makes the collector work harder near the limit;
//   - RLIMIT_AS = the address space in use now (the Go runtime's baseline) + memory +
//     headroom: a burst the monitor does not catch in time makes an allocation fail, and the
//     Go runtime dies with "fatal error: out of memory", which the host reports as the memory
//     limit.
func (linuxLimits) prepare(w *worker, memory int64) error {
	debug.SetMemoryLimit(memory)
	// A run is short and its heap small: collect less often than Go's default. The memory
	// limit above still makes the collector work as the heap nears it.
	debug.SetGCPercent(400)
	base, err := addressSpace()
	if err != nil {
		return err
	}
	as := uint64(base + memory + memoryHeadroom(memory))
	if err := unix.Setrlimit(unix.RLIMIT_AS, &unix.Rlimit{Cur: as, Max: as}); err != nil {
		return fmt.Errorf("RLIMIT_AS: %w", err)
	}
	// SIGXCPU comes only once RLIMIT_CPU is set (start); listening costs a little, so it is
	// done here.
	xcpu := make(chan os.Signal, 1)
	signal.Notify(xcpu, syscall.SIGXCPU)
	go func() {
		<-xcpu
		if !w.noMonitor.Load() {
			w.forceDone(LimitCPU)
		}
	}()
	return nil
}

// start sets the CPU backstop and starts the monitor, when the run comes:
//
//   - the monitor interrupts the VM when the live heap passes the memory limit, when the
//     process has used CPU for the run's CPU limit, and a little before the wall-clock limit
//     (clean errors, with a position);
//   - RLIMIT_CPU's soft limit, a second after the CPU limit, sends SIGXCPU, on which the worker
//     reports the limit and exits (see prepare); its hard limit a second after that kills it
//     (the host reads the CPU time of the dead worker and reports the limit).
func (linuxLimits) start(w *worker) error {
	start := time.Now()
	lim := w.lim
	cpu0 := cpuTime()
	soft := uint64(math.Ceil((cpu0 + lim.CPU).Seconds()))
	if !w.run.NoMonitor {
		soft++
	}
	if err := unix.Setrlimit(unix.RLIMIT_CPU, &unix.Rlimit{Cur: soft, Max: soft + 1}); err != nil {
		return fmt.Errorf("RLIMIT_CPU: %w", err)
	}
	if w.run.NoMonitor {
		w.noMonitor.Store(true)
		return nil // tests of the backstops: the kernel and the host must act
	}
	grace := min(lim.Wall/10, 100*time.Millisecond)
	go w.monitor(cpu0, start.Add(lim.Wall-grace))
	return nil
}

// memoryHeadroom is the address space allowed beyond the memory limit: the collector needs
// room to work, the heap grows in 64 MiB arenas, and the monitor looks only every few
// milliseconds.
func memoryHeadroom(limit int64) int64 { return limit/2 + 128<<20 }

// monitor interrupts the VM when the run passes its wall-clock deadline (a little before the
// host's), its CPU time or its memory limit.
func (w *worker) monitor(cpu0 time.Duration, deadline time.Time) {
	t := time.NewTicker(monitorEvery)
	defer t.Stop()
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	lim := w.lim
	for range t.C {
		if w.finished.Load() {
			return
		}
		kind := ""
		switch {
		case !time.Now().Before(deadline):
			kind = LimitWall
		case cpuTime()-cpu0 > lim.CPU:
			kind = LimitCPU
		default:
			metrics.Read(samples)
			live, objects := samples[0].Value.Uint64(), samples[1].Value.Uint64()
			if live > uint64(lim.Memory) || objects > uint64(lim.Memory+lim.Memory/4) {
				kind = LimitMemory
			}
		}
		if kind != "" {
			w.rt.vm.Interrupt(&limitHit{kind: kind})
			select {
			case w.events <- event{limit: kind}: // wakes a loop waiting for replies
			default:
			}
			time.AfterFunc(forceAfter, func() { w.forceDone(kind) })
			return
		}
	}
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// addressSpace is the process's virtual memory size (VmSize) in bytes.
func addressSpace() (int64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	f := bytes.Fields(b)
	if len(f) == 0 {
		return 0, fmt.Errorf("/proc/self/statm: %q", b)
	}
	pages, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/self/statm: %w", err)
	}
	return pages * int64(os.Getpagesize()), nil
}
