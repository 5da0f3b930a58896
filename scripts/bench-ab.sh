#!/usr/bin/env bash
# Compares benchmarks of the working tree with those of another revision on a
# shared, noisy machine: both test binaries are built first, then run one
# after the other for several rounds, each line tagged with its tree and the
# load average, so that before and after come from one run.
#
#   scripts/bench-ab.sh REV PKG BENCH [ROUNDS] [BENCHTIME]
#   scripts/bench-ab.sh main ./host/ 'HigressWorkload$|EmptyCallback' 3 1s
#
# Compare p10-ns and cpu-ns/op (see docs/benchmarks.md), not ns/op.
set -euo pipefail
rev=$1 pkg=$2 bench=$3 rounds=${4:-3} benchtime=${5:-1s}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git archive "$rev" | tar -x -C "$work"
# The benchmark file of the working tree runs on both sides, so both report
# the same metrics (BENCH_FILES overrides which files are copied).
for f in ${BENCH_FILES:-${pkg%/}/bench_test.go}; do
  [ -f "$f" ] && cp "$f" "$work/$f"
done
(cd "$work" && go test -c -o "$work/before.test" "$pkg")
go test -c -o "$work/after.test" "$pkg"
for i in $(seq "$rounds"); do
  for side in before after; do
    dir="$PWD/${pkg%/}"
    [ "$side" = before ] && dir="$work/${pkg%/}"
    echo "## $side round $i, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    (cd "$dir" && "$work/$side.test" -test.run '^$' -test.bench "$bench" -test.benchtime "$benchtime" -test.benchmem 2>/dev/null |
      grep '^Benchmark' | sed "s/^/$side /")
  done
done
