#!/usr/bin/env bash
# airlock gateway costs (internal/gateway), in-process gateway over an in-memory transport with
# the Go test server (internal/gateway/testdata/mcpserver) sandboxed behind it:
#
#   direct       the peer: the SDK client calling the test server's echo over stdio, the
#                server a plain child process
#   gateway      the same call through the gateway to the sandboxed server
#   run_code     `return 1` back to back (bounded by a fresh worker per run), and spaced
#                30 ms apart (a warm worker waiting, as between a model's calls)
#   code+tool    run_code calling the server's echo once, and ten times in sequence
#   first list   a new gateway's first tools/list: starts the sandboxed server, initialize,
#                list
#
# Prints the raw `go test -bench` lines, then the median of COUNT runs of each (default 5).
# Needs Linux with user and network namespaces (the benchmarks skip otherwise). Sends no traffic
# anywhere.
#
#   bench/gateway.sh [COUNT]        BENCHTIME=1s (go test -benchtime)
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED="${CGO_ENABLED:-0}"
count="${1:-${COUNT:-5}}"
benchtime="${BENCHTIME:-1s}"
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT

go test -run '^$' -bench '^Benchmark(CallDirect|CallThroughGateway|RunCode|RunCodeSpaced|RunCodeToolCall|RunCodeTenToolCalls|FirstList)$' \
  -benchtime "$benchtime" -count "$count" ./internal/gateway/ | tee "$raw"

median() {
  awk -v name="$1" '
    $1 ~ "^Benchmark" name "(-[0-9]+)?$" { for (i = 3; i < NF; i++) if ($(i+1) == "ns/op") print $i }
  ' "$raw" | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2 }'
}
ms() { awk -v v="$1" 'BEGIN { printf "%.3f", v / 1e6 }'; }

echo
echo "# medians of $count runs"
if direct=$(median CallDirect); then
  through=$(median CallThroughGateway)
  printf '%-22s %9s ms\n' "direct call" "$(ms "$direct")"
  printf '%-22s %9s ms   (%s x direct; +%s ms)\n' "call through gateway" "$(ms "$through")" \
    "$(awk -v a="$through" -v b="$direct" 'BEGIN { printf "%.2f", a / b }')" "$(ms "$(awk -v a="$through" -v b="$direct" 'BEGIN { print a - b }')")"
  printf '%-22s %9s ms\n' "run_code back to back" "$(ms "$(median RunCode)")"
  printf '%-22s %9s ms\n' "run_code spaced" "$(ms "$(median RunCodeSpaced)")"
  printf '%-22s %9s ms\n' "run_code + 1 tool" "$(ms "$(median RunCodeToolCall)")"
  printf '%-22s %9s ms\n' "run_code + 10 tools" "$(ms "$(median RunCodeTenToolCalls)")"
  printf '%-22s %9s ms\n' "first tools/list" "$(ms "$(median FirstList)")"
else
  echo "the gateway benchmarks did not run (skipped: see above)"
fi
