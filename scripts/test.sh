#!/usr/bin/env bash
# The project's test command: static checks, then every test of the module.
# It installs the system packages the tests use (Debian) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

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

# Fuzz targets run for a bounded time on top of their seed corpora (which the
# runs above already executed). FUZZTIME=0 skips this part.
fuzztime=${FUZZTIME:-8s}
if [ "$fuzztime" != "0" ]; then
  echo "== fuzz ($fuzztime each)"
  while read -r mod pkg target; do
    if ! out=$(cd "$mod" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1); then
      echo "$out"; echo "fuzz $target in $pkg failed"; exit 1
    fi
    echo "ok fuzz $pkg $target"
  done <<'TARGETS'
. ./host/ FuzzHostFunctions
. ./host/ FuzzPropertyPath
. ./host/internal/pairs/ FuzzDecode
. ./internal/wasmbin/ FuzzParse
. ./inspect/ FuzzBytes
sdk ./internal/abi/ FuzzDeserializePairs
sdk ./internal/jsonx/ FuzzValid
sdk ./internal/jsonx/ FuzzMembers
sdk ./resp/ FuzzParse
sdk ./internal/format/ FuzzSprintfNoPanic
TARGETS
fi
