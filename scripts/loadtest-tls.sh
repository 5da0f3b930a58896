#!/usr/bin/env bash
# HTTPS and HTTP/2 load test on loopback, side by side in one run with the
# same certificate: nginx and wasmgate (no plugin, and examples/my-plugin)
# terminating TLS in front of one plaintext backend. HTTP/1.1 over TLS is
# measured with wrk, HTTP/2 over TLS with h2load (nghttp2-client).
# Needs wrk, nginx and h2load (Debian: wrk nginx-light nghttp2-client).
# Usage: scripts/loadtest-tls.sh [DURATION_SECONDS] [CONNECTIONS] [STREAMS_PER_CONNECTION]
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10}
conns=${2:-32}
streams=${3:-10}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

for cmd in wrk nginx h2load openssl; do
  command -v "$cmd" >/dev/null || { echo "missing $cmd (apt-get install -y wrk nginx-light nghttp2-client openssl)"; exit 1; }
done

go build -o "$work/wasmgate" ./cmd/wasmgate
go build -o "$work/backend" ./bench/backend
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o "$work/my-plugin.wasm" ./examples/my-plugin
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

wait_tls() { for _ in $(seq 1 200); do curl -sk -o /dev/null "https://$1/" && return 0; sleep 0.05; done; echo "no answer on $1"; exit 1; }

"$work/backend" -listen 127.0.0.1:18100 & pids+=($!)
cat > "$work/nginx.conf" <<NGINX
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream backend { server 127.0.0.1:18100; keepalive 128; }
  server {
    listen 127.0.0.1:18102 ssl http2;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    # nginx closes a connection after 1,000 requests by default, which would cap h2load's
    # fixed set of connections.
    keepalive_requests 10000000;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
nginx -c "$work/nginx.conf" -g "daemon off;" & pids+=($!)
tls=(--tls-cert "$work/cert.pem" --tls-key "$work/key.pem")
"$work/wasmgate" run "${tls[@]}" --upstream http://127.0.0.1:18100 --listen 127.0.0.1:18103 --admin off --log-level warn --no-watch & pids+=($!)
"$work/wasmgate" run "${tls[@]}" --plugin "$work/my-plugin.wasm" --plugin-config '{"mockEnable":false}' \
  --upstream http://127.0.0.1:18100 --listen 127.0.0.1:18104 --admin off --log-level warn --no-watch & pids+=($!)
for p in 18102 18103 18104; do wait_tls 127.0.0.1:$p; done

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(go version); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "HTTPS/1.1: wrk -t1 -c$conns -d${dur}s; HTTP/2: h2load -c$conns -m$streams -D$dur; 2 s warm-up per target; ECDSA P-256 certificate"
printf '%-28s %12s %9s %9s %12s %9s\n' target "h1 req/s" "h1 p50" "h1 p99" "h2 req/s" "h2 mean"
run() {
  wrk -t1 -c"$conns" -d2s "https://$2/" >/dev/null
  out=$(wrk -t1 -c"$conns" -d"${dur}s" --latency "https://$2/")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  h2load -c"$conns" -m"$streams" -D2 "https://$2/" >/dev/null 2>&1 || true
  h2=$(h2load -c"$conns" -m"$streams" -D"$dur" "https://$2/" 2>&1)
  h2rps=$(echo "$h2" | awk '/^finished in/ {print $4}')
  h2mean=$(echo "$h2" | awk '/^time for request:/ {print $6}')
  printf '%-28s %12s %9s %9s %12s %9s\n' "$1" "$rps" "$p50" "$p99" "$h2rps" "$h2mean"
}
run "nginx" 127.0.0.1:18102
run "wasmgate, no plugin" 127.0.0.1:18103
run "wasmgate, my-plugin" 127.0.0.1:18104
