#!/usr/bin/env bash
# Micro-benchmarks of the egress core: a policy decision at 10, 1k and 100k entries (it must stay
# flat), host normalisation, address classification and a whole guard check with a pinned
# resolver. Prints benchstat medians of COUNT runs (default 6). Sends no traffic anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-6}"
out=$(mktemp)
go test -run '^$' -bench . -benchmem -count "$count" \
  ./internal/policy/ ./internal/host/ ./internal/netguard/ ./internal/egress/ | tee "$out" >/dev/null
go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da "$out" 2>/dev/null || cat "$out"
