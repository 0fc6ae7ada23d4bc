#!/usr/bin/env bash
# Start-up overhead of `airlock run -- /bin/true` over a bare `/bin/true` (issue 4's goal:
# at most 10 ms). Runs each N times (default 200) alternately, prints medians and the overhead.
# Needs Linux with user namespaces; sends no traffic anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${N:-200}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED="${CGO_ENABLED:-0}" go build -o "$tmp/airlock" ./cmd/airlock
go build -o "$tmp/timeit" ./bench/timeit
"$tmp/timeit" -n "$n" /bin/true ::: "$tmp/airlock" run --log /dev/null -- /bin/true
