#!/usr/bin/env bash
# Guest benchmarks: the SDK's wrapper benchmarks compiled to wasm and run on
# wazero with stubbed host calls (bench/guestrun), COUNT times.
# Usage: scripts/guestbench.sh [BENCH_REGEXP] [COUNT] [BENCHTIME]
set -euo pipefail
cd "$(dirname "$0")/.."
re=${1:-Guest}
count=${2:-5}
benchtime=${3:-1s}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd sdk && GOOS=wasip1 GOARCH=wasm go test -c -o "$work/wrapper.test" ./wrapper)
go build -o "$work/guestrun" ./bench/guestrun
"$work/guestrun" "$work/wrapper.test" -test.run '^$' -test.bench "$re" -test.count "$count" -test.benchtime "$benchtime"
