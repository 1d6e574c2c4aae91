#!/usr/bin/env bash
# Side-by-side benchmark: uvhttpd against nginx on loopback, in the same run, quoted as ratios
# (this machine is shared and noisy, so absolute numbers drift). Not part of `meson test`.
#
# usage: tests/bench/compare.sh [BUILD_DIR] [SECONDS]     (needs: wrk nginx-light)
# Reports, for a small file over keep-alive and for the 1.3 MB PNG: requests/s and the server's
# CPU time per request (user+system of all its threads, from /proc).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
secs=${2:-5}
work=$(mktemp -d)
# shellcheck source-path=SCRIPTDIR source=../lib/server.sh
source "$root/tests/lib/server.sh"
trap 'kill $(cat "$work/nginx.pid" 2>/dev/null) 2>/dev/null || true; uvh_server_kill; rm -rf "$work"' EXIT

for tool in wrk nginx; do
  command -v $tool >/dev/null || { echo "bench: $tool missing (apt-get install wrk nginx-light)"; exit 2; }
done

cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  include /etc/nginx/mime.types;
  sendfile on; tcp_nopush on;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:18181; root $root/resources; }
}
CONF
nginx -c "$work/nginx.conf"
uvh_server_start "$work/uvhttpd.log" "$build/src/uvhttpd" 0 127.0.0.1 4 --root "$root/resources" \
  --log-level warn --max-requests 1000000
uvh_server_wait_ready 5 || { echo "bench: uvhttpd: $UVH_ERROR"; cat "$work/uvhttpd.log"; exit 2; }
upid=$UVH_PID
uport=$UVH_PORT
sleep 0.5 # nginx's worker
npid=$(pgrep -P "$(cat "$work/nginx.pid")" | head -1)

# run NAME PID PORT PATH CONNS -> "rps us_per_request"
run() {
  local pid=$2 port=$3 path=$4 conns=$5
  local t0 t1 out reqs rps
  t0=$(awk '{print $14+$15}' "/proc/$pid/stat")
  out=$(wrk -t1 -c"$conns" -d"${secs}s" -H "Host: 127.0.0.1:$port" "http://127.0.0.1:$port$path")
  t1=$(awk '{print $14+$15}' "/proc/$pid/stat")
  reqs=$(echo "$out" | awk '/requests in/{print $1}')
  rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  python3 -c "print('%.0f %.2f' % ($rps, ($t1-$t0)/$(getconf CLK_TCK)*1e6/$reqs))"
}

printf '%-28s %12s %12s %10s\n' "case" "uvhttpd" "nginx" "ratio"
for spec in "small keep-alive:/sample.txt:50" "large file:/large_photo1.png:4"; do
  IFS=: read -r name path conns <<<"$spec"
  read -r u_rps u_cpu <<<"$(run uvhttpd "$upid" "$uport" "$path" "$conns")"
  read -r n_rps n_cpu <<<"$(run nginx "$npid" 18181 "$path" "$conns")"
  printf '%-28s %10s/s %10s/s %9.2fx\n' "$name req/s" "$u_rps" "$n_rps" \
    "$(python3 -c "print($u_rps/$n_rps)")"
  printf '%-28s %9sus %9sus %9.2fx\n' "$name CPU/request" "$u_cpu" "$n_cpu" \
    "$(python3 -c "print($u_cpu/$n_cpu)")"
done
