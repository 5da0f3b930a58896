#!/usr/bin/env bash
# Load test on loopback, measured side by side in one run:
#   backend direct, nginx, httputil.ReverseProxy, wasmgate without a plugin,
#   wasmgate with examples/my-plugin; then RSS of wasmgate+plugin after 10 s
#   and 60 s of load. Needs wrk and nginx (Debian packages).
# The targets take turns: every round measures each of them once (in the
# opposite order in every other round), so that a change in the machine's
# load (it is shared) falls on all of them. Each target's line is its
# median round; the ratios are computed within each round, and their median
# is reported.
# Usage: scripts/loadtest.sh [DURATION_SECONDS] [CONNECTIONS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10}
conns=${2:-32}
rounds=${3:-3}
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
"$work/reverseproxy" -listen 127.0.0.1:18001 -upstream http://127.0.0.1:18000 2>"$work/reverseproxy.log" & pids+=($!)
"$work/wasmgate" run --upstream http://127.0.0.1:18000 --listen 127.0.0.1:18003 --admin off --log-level warn --no-watch & pids+=($!)
"$work/wasmgate" run --plugin "$work/my-plugin.wasm" --plugin-config '{"mockEnable":false}' \
  --upstream http://127.0.0.1:18000 --listen 127.0.0.1:18004 --admin off --log-level warn --no-watch & pids+=($!)
gwpid=$!
for p in 18002 18001 18003 18004; do wait_port 127.0.0.1:$p; done

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(go version)"
echo "wrk -t1 -c$conns -d${dur}s, 1 s warm-up per measurement, $rounds rounds taking turns, all processes on this machine"
names=("backend direct" "nginx" "httputil.ReverseProxy" "wasmgate, no plugin" "wasmgate, my-plugin")
addrs=(127.0.0.1:18000 127.0.0.1:18002 127.0.0.1:18001 127.0.0.1:18003 127.0.0.1:18004)
# results: one line per measurement: round target rps p50 p99
results="$work/results"
: > "$results"
for r in $(seq 1 "$rounds"); do
  order="0 1 2 3 4"
  if (( r % 2 == 0 )); then order="4 3 2 1 0"; fi # no target always goes first
  for i in $order; do
    wrk -t1 -c"$conns" -d1s "http://${addrs[$i]}/" >/dev/null
    out=$(wrk -t1 -c"$conns" -d"${dur}s" --latency "http://${addrs[$i]}/")
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1=="50%" {print $2}')
    p99=$(echo "$out" | awk '$1=="99%" {print $2}')
    echo "$r $i $rps $p50 $p99" >> "$results"
  done
done
echo
echo "each round (req/s):"
printf '%-28s' target; for r in $(seq 1 "$rounds"); do printf ' %10s' "round $r"; done; echo
for i in "${!addrs[@]}"; do
  printf '%-28s' "${names[$i]}"
  awk -v i="$i" '$2==i {printf " %10s", $3}' "$results"; echo
done
echo
echo "median round per target:"
printf '%-28s %10s %9s %9s\n' target req/s p50 p99
for i in "${!addrs[@]}"; do
  line=$(awk -v i="$i" '$2==i' "$results" | sort -k3 -g | awk -v n="$rounds" 'NR==int((n+1)/2)')
  printf '%-28s %10s %9s %9s\n' "${names[$i]}" $(echo "$line" | cut -d' ' -f3-5)
done
echo
# ratio A B: the median over rounds of target A's req/s over target B's.
ratio() {
  awk -v a="$1" -v b="$2" '$2==a {ra[$1]=$3} $2==b {rb[$1]=$3} END {for (r in ra) if (rb[r] > 0) print 100*ra[r]/rb[r]}' "$results" |
    sort -g | awk '{v[NR]=$1; s=s sprintf(" %.1f", $1)} END {printf "%.1f %% (each round, sorted:%s)\n", v[int((NR+1)/2)], s}'
}
echo "wasmgate, no plugin / httputil.ReverseProxy: $(ratio 3 2)"
echo "wasmgate, my-plugin / wasmgate, no plugin:   $(ratio 4 3)"
echo "wasmgate, no plugin / nginx:                 $(ratio 3 1)"

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
