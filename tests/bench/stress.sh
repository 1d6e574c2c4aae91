#!/usr/bin/env bash
# Stress run: wrk with 5000 keep-alive connections against one uvhttpd for 30 s. Not part of
# `meson test` (it needs wrk, a high descriptor limit and a quiet machine).
#
# usage: tests/bench/stress.sh [PATH/TO/uvhttpd] [SECONDS] [CONNECTIONS]
#        (defaults: build/src/uvhttpd, 30, 5000; needs: wrk)
# Reports requests, errors (wrk's socket errors and non-2xx/3xx responses), the server's peak
# RSS, latency p50/p90/p99 and whether the server is still alive. Exits 1 when there was any
# error or the server died, 2 when it cannot run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/server.sh
source "$root/tests/lib/server.sh"
bin=${1:-$root/build/src/uvhttpd}
secs=${2:-30}
conns=${3:-5000}
work=$(mktemp -d)
sampler=
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
  uvh_server_kill
  rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "stress: wrk missing (apt-get install wrk)" >&2; exit 2; }
[ -x "$bin" ] || { echo "stress: $bin is not an executable (build first)" >&2; exit 2; }

# Server and wrk each hold one descriptor per connection. Raising the hard limit needs root
# (CAP_SYS_RESOURCE); otherwise take the hard limit as it is.
if ! ulimit -n 65536 2>/dev/null; then
  ulimit -n "$(ulimit -Hn)"
fi
nofile=$(ulimit -n)
if [ "$nofile" != unlimited ] && [ "$nofile" -lt $((conns + 1000)) ]; then
  echo "stress: descriptor limit $nofile is too low for $conns connections" >&2
  exit 2
fi

uvh_server_start "$work/server.log" "$bin" 0 127.0.0.1 --root "$root/resources" \
  --max-connections 6000 --log-level warn --max-requests 1000000
spid=$UVH_PID
# The readiness line with the port is printed at --log-level warn too.
if ! uvh_server_wait_ready 5; then
  echo "stress: the server did not start listening ($UVH_ERROR); its log:" >&2
  cat "$work/server.log" >&2
  exit 2
fi
port=$UVH_PORT
probe=$(python3 -c "
import http.client; c = http.client.HTTPConnection('127.0.0.1', $port, timeout=5)
c.request('GET', '/sample.txt'); print(c.getresponse().status)")
[ "$probe" = 200 ] || { echo "stress: GET /sample.txt -> $probe" >&2; exit 2; }

# Samples the server's resident set (kB) twice a second.
(
  while kill -0 "$spid" 2>/dev/null; do
    awk '/^VmRSS:/{print $2}' "/proc/$spid/status" 2>/dev/null >>"$work/rss" || true
    sleep 0.5
  done
) &
sampler=$!

# Accept-queue overflows (listen backlog 511): counters of this network namespace.
listen_drops() {
  awk 'NR % 2 == 1 {for (i = 1; i <= NF; i++) h[i] = $i}
       NR % 2 == 0 && $1 == "TcpExt:" {for (i = 1; i <= NF; i++)
         if (h[i] == "ListenOverflows" || h[i] == "ListenDrops") s = s $i " "}
       END {print s}' /proc/net/netstat
}
drops_before=$(listen_drops)
rss_start=$(awk '/^VmRSS:/{print $2}' "/proc/$spid/status")
echo "stress: uvhttpd pid $spid on port $port, nofile $nofile, wrk -t2 -c$conns -d${secs}s"
wrk -t2 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/sample.txt" | tee "$work/wrk.out"

sleep 1 # let the connections wrk left behind close
alive=no
kill -0 "$spid" 2>/dev/null && alive=yes
hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$spid/status" 2>/dev/null || echo 0)
rss_end=$(awk '/^VmRSS:/{print $2}' "/proc/$spid/status" 2>/dev/null || echo 0)
rss_peak=$(sort -n "$work/rss" | tail -1)
drops_after=$(listen_drops)
# The server's sockets besides the listener: the connections it still holds.
conns_left='?'
[ "$alive" = yes ] && conns_left=$(($(find "/proc/$spid/fd" -lname 'socket:*' | wc -l) - 1))

out="$work/wrk.out"
requests=$(awk '/requests in/{print $1}' "$out")
rps=$(awk '/^Requests\/sec/{print $2}' "$out")
# "Socket errors: connect 0, read 0, write 0, timeout 0" appears only when one is non-zero.
sock_err=$(awk '/Socket errors/{gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
sock_detail=$(awk -F': ' '/Socket errors/{print $2}' "$out")
non2xx=$(awk '/Non-2xx or 3xx responses/{print $NF}' "$out")
sock_err=${sock_err:-0}
non2xx=${non2xx:-0}
errors=$((sock_err + non2xx))
p50=$(awk '$1 == "50%"{print $2}' "$out")
p90=$(awk '$1 == "90%"{print $2}' "$out")
p99=$(awk '$1 == "99%"{print $2}' "$out")

status=stopped
if [ "$alive" = yes ]; then
  if uvh_server_stop TERM 10; then
    status="exit 0"
  else
    status=$UVH_ERROR
  fi
fi
# The server logs at warn and above (and its readiness line): count its lines by message
# (numbers folded).
warnings=$(grep -cv -e 'Signal 15 received' -e 'HTTP Server started on' "$work/server.log" || true)

echo
echo "== stress summary =="
printf '%-22s %s\n' "requests" "$requests ($rps/s)"
printf '%-22s %s\n' "socket errors" "$sock_err${sock_detail:+ ($sock_detail)}"
printf '%-22s %s\n' "non-2xx/3xx" "$non2xx"
drops=$(echo "$drops_before $drops_after" | awk '{print $3 - $1 " / " $4 - $2}')
printf '%-22s %s\n' "listen overflows/drops" "$drops (kernel TcpExt, during the run)"
printf '%-22s %s\n' "latency p50/p90/p99" "$p50 / $p90 / $p99"
printf '%-22s %s\n' "server RSS" \
  "start $rss_start kB, peak sampled ${rss_peak:-?} kB, VmHWM $hwm kB, 1 s after $rss_end kB"
printf '%-22s %s\n' "server alive after" \
  "$alive (connections still open 1 s later: $conns_left; SIGTERM: $status)"
if [ "$warnings" -gt 0 ]; then
  printf '%-22s %s\n' "server log" "$warnings warn/error line(s), by message:"
  grep -v -e 'Signal 15 received' -e 'HTTP Server started on' "$work/server.log" |
    sed -E 's/^\[[^]]*\] //; s/\[#[0-9]+\] //; s/[0-9]+/N/g' | sort | uniq -c | sort -rn |
    head -8 | sed 's/^/    /'
fi
if [ "$errors" -gt 0 ] || [ "$alive" != yes ]; then
  echo "stress: FAILED ($errors errors, server alive: $alive)"
  exit 1
fi
echo "stress: ok"
