#!/usr/bin/env bash
# Installs the Debian packages the tests and tools use, if any is missing:
# wabt (wat2wasm for hand-written test modules), redis-server, docker-registry
# (a real OCI registry), binaryen (wasm-opt) and chromium (the headless browser
# the admin web view's end-to-end tests drive). scripts/loadtest.sh also
# needs wrk and nginx-light, which it checks for itself.
set -euo pipefail
need=()
command -v wat2wasm >/dev/null 2>&1 || need+=(wabt)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
command -v wasm-opt >/dev/null 2>&1 || need+=(binaryen)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing packages: ${need[*]} (install them with apt-get as root)" >&2
    exit 1
  fi
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
