#!/usr/bin/env bash
# The project's test command: static checks, then every test of the module.
# It installs the system packages the tests use (Debian) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

# Tests build plugins offline (GOPROXY=off) against the project's modules:
# every module the go.mod files list must be in the module cache, including
# those only other platforms build (cobra's mousetrap, for Windows), which a
# build on this one never downloads but an offline module lookup reads.
echo "== go mod download"
for mod in sdk .; do
  (cd "$mod" && go mod download)
done

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "not gofmt-clean:"; echo "$unformatted"; exit 1
fi

# The SDK is its own module (go 1.24, plugins depend on nothing else); the
# rest of the project is the root module.
for mod in sdk .; do
  echo "== go vet ($mod)"
  (cd "$mod" && go vet ./...)
done
for mod in sdk .; do
  echo "== go test ($mod)"
  (cd "$mod" && go test -count=1 -timeout 20m ./...)
done

# The engine, the gateway and the test harness run many streams at once on
# shared VMs, pools and callouts: their tests run again with the race
# detector.
echo "== go test -race (host, gateway, plugintest)"
go test -race -count=1 -timeout 20m ./host/... ./gateway/... ./plugintest/...

# The guest benchmarks (wasm, stubbed host) run a few iterations each, so
# that they keep building and running.
echo "== guest benchmarks (smoke)"
scripts/guestbench.sh Guest 1 100x >/dev/null

# Fuzz targets run for a bounded number of executions (about 8 s each on an
# idle 2-vCPU machine) on top of their seed corpora, which the runs above
# already executed. Counts, not durations: a duration budget in Go 1.26 can
# end with a spurious "context deadline exceeded" when the machine is busy
# (golang/go#75804). FUZZTIME overrides every budget (e.g. 60s, 1000000x);
# FUZZTIME=0 skips this part.
fuzztime=${FUZZTIME:-}
if [ "$fuzztime" != "0" ]; then
  echo "== fuzz (${fuzztime:-per-target execution counts})"
  while read -r mod pkg target budget; do
    if ! out=$(cd "$mod" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "${fuzztime:-$budget}" -timeout 10m "$pkg" 2>&1); then
      echo "$out"; echo "fuzz $target in $pkg failed"; exit 1
    fi
    echo "ok fuzz $pkg $target (${fuzztime:-$budget})"
  done <<'TARGETS'
. ./host/ FuzzHostFunctions 40000x
. ./host/ FuzzPropertyPath 60000x
. ./host/internal/pairs/ FuzzDecode 300000x
. ./host/internal/interrupt/ FuzzInstrument 100000x
. ./host/internal/datamerge/ FuzzMerge 100000x
. ./internal/wasmbin/ FuzzParse 150000x
. ./internal/wasmbin/ FuzzCheck 60000x
. ./inspect/ FuzzBytes 70000x
. ./internal/http1/ FuzzReadRequest 60000x
. ./gateway/ FuzzRequestPath 10000x
sdk ./internal/abi/ FuzzDeserializePairs 250000x
sdk ./internal/jsonx/ FuzzValid 180000x
sdk ./internal/jsonx/ FuzzMembers 160000x
sdk ./resp/ FuzzParse 250000x
TARGETS
fi
