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
