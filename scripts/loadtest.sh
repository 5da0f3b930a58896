#!/usr/bin/env bash
# Load test on loopback, measured side by side in one run:
#   backend direct, nginx, httputil.ReverseProxy, wasmgate without a plugin,
#   wasmgate with examples/my-plugin; then RSS of wasmgate+plugin after 10 s
#   and 60 s of load. Needs wrk and nginx (Debian packages).
# Usage: scripts/loadtest.sh [DURATION_SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10}
conns=${2:-32}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

for cmd in wrk nginx; do
  command -v "$cmd" >/dev/null || { echo "missing $cmd (apt-get install -y wrk nginx-light)"; exit 1; }
done

go build -o "$work/wasmgate" ./cmd/wasmgate
go build -o "$work/backend" ./bench/backend
go build -o "$work/reverseproxy" ./bench/reverseproxy
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o "$work/my-plugin.wasm" ./examples/my-plugin

wait_port() { for _ in $(seq 1 200); do curl -s -o /dev/null "http://$1/" && return 0; sleep 0.05; done; echo "no answer on $1"; exit 1; }

"$work/backend" -listen 127.0.0.1:18000 & pids+=($!)
wait_port 127.0.0.1:18000

cat > "$work/nginx.conf" <<NGINX
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream backend { server 127.0.0.1:18000; keepalive 128; }
  server {
    listen 127.0.0.1:18002;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
nginx -c "$work/nginx.conf" -g "daemon off;" & pids+=($!)
"$work/reverseproxy" -listen 127.0.0.1:18001 -upstream http://127.0.0.1:18000 & pids+=($!)
"$work/wasmgate" run --upstream http://127.0.0.1:18000 --listen 127.0.0.1:18003 --admin off --log-level warn --no-watch & pids+=($!)
"$work/wasmgate" run --plugin "$work/my-plugin.wasm" --plugin-config '{"mockEnable":false}' \
  --upstream http://127.0.0.1:18000 --listen 127.0.0.1:18004 --admin off --log-level warn --no-watch & pids+=($!)
gwpid=$!
for p in 18002 18001 18003 18004; do wait_port 127.0.0.1:$p; done

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(go version)"
echo "wrk -t1 -c$conns -d${dur}s, 2 s warm-up per target, all processes on this machine"
printf '%-28s %10s %9s %9s\n' target req/s p50 p99
run() {
  wrk -t1 -c"$conns" -d2s "http://$2/" >/dev/null
  out=$(wrk -t1 -c"$conns" -d"${dur}s" --latency "http://$2/")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  printf '%-28s %10s %9s %9s\n' "$1" "$rps" "$p50" "$p99"
}
run "backend direct" 127.0.0.1:18000
run "nginx" 127.0.0.1:18002
run "httputil.ReverseProxy" 127.0.0.1:18001
run "wasmgate, no plugin" 127.0.0.1:18003
run "wasmgate, my-plugin" 127.0.0.1:18004

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
echo
echo "RSS of wasmgate with my-plugin under load (wrk -t1 -c$conns for 60 s):"
wrk -t1 -c"$conns" -d60s "http://127.0.0.1:18004/" >/dev/null &
wrkpid=$!
sleep 10; r10=$(rss "$gwpid")
wait "$wrkpid"; r60=$(rss "$gwpid")
echo "  after 10 s: ${r10} kB"
echo "  after 60 s: ${r60} kB"
awk -v a="$r10" -v b="$r60" 'BEGIN { printf "  change: %+.1f%%\n", (b-a)*100/a }'
