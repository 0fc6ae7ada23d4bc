#!/usr/bin/env bash
# Code-mode costs (internal/codemode), against Node's worker_threads in the same run:
#
#   cold     a run in a fresh worker (`return 1`): process start in new namespaces, Go start-up,
#            confinement, runtime, run, teardown            goal <= 5 ms
#   warm     a run through the pool, a ready worker waiting    goal <= 0.5 ms
#   binding  one awaited binding call (worker -> host -> no-op binding -> worker)  goal <= 50 us
#   goja     a bare goja.New + RunString("1") in-process: the floor
#   node     worker_threads start-to-first-message and postMessage round trip (bench/node_worker.js)
#
# Prints the raw `go test -bench` lines, then the median of COUNT runs of each (default 5) with
# PASS/SHORT against the goals. Needs Linux with user and network namespaces (the benchmarks
# skip otherwise) and `node` for the comparison. Sends no traffic anywhere.
#
#   bench/codemode.sh [COUNT]        BENCHTIME=2s (go test -benchtime), N=200 (Node starts)
set -euo pipefail
cd "$(dirname "$0")/.."
# The build README recommends: without cgo a process starts ~0.6 ms sooner, and every thread of
# the worker loses its capabilities (CGO_ENABLED=1 to measure a cgo build).
export CGO_ENABLED="${CGO_ENABLED:-0}"
count="${1:-${COUNT:-5}}"
benchtime="${BENCHTIME:-2s}"
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT

go test -run '^$' -bench '^Benchmark(ColdRun|WarmRun|BindingRoundTrip|GojaRuntime)$' \
  -benchtime "$benchtime" -count "$count" ./internal/codemode/ | tee "$raw"

# median NAME UNIT: the median of the values with that unit on the lines of benchmark NAME.
median() {
  awk -v name="$1" -v unit="$2" '
    $1 ~ "^Benchmark" name "(-[0-9]+)?$" { for (i = 3; i < NF; i++) if ($(i+1) == unit) print $i }
  ' "$raw" | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2 }'
}

verdict() { awk -v v="$1" -v goal="$2" 'BEGIN { print (v <= goal) ? "PASS" : "SHORT" }'; }

echo
echo "# medians of $count runs"
if cold=$(median ColdRun ns/op); then
  warm=$(median WarmRun ns/op)
  call=$(median BindingRoundTrip ns/call)
  goja=$(median GojaRuntime ns/op)
  printf '%-9s %10.3f ms   goal <= 5 ms     %s\n' cold "$(awk -v v="$cold" 'BEGIN{print v/1e6}')" "$(verdict "$cold" 5e6)"
  printf '%-9s %10.3f ms   goal <= 0.5 ms   %s\n' warm "$(awk -v v="$warm" 'BEGIN{print v/1e6}')" "$(verdict "$warm" 5e5)"
  printf '%-9s %10.1f us   goal <= 50 us    %s\n' binding "$(awk -v v="$call" 'BEGIN{print v/1e3}')" "$(verdict "$call" 5e4)"
  printf '%-9s %10.1f us   (floor: goja.New + RunString in-process)\n' goja "$(awk -v v="$goja" 'BEGIN{print v/1e3}')"
else
  echo "the code-mode benchmarks did not run (skipped: see above)"
fi

echo
if command -v node >/dev/null; then
  node bench/node_worker.js "${N:-200}"
else
  echo "node not found: no Node comparison"
fi
