#!/usr/bin/env bash
# What one request costs the server in system calls and sleeps, beside h2o (issue 12): for
# scenario a (keep-alive) and b (`Connection: close`) on the small file, the system calls per
# request (strace -c on the server while wrk runs) and the server's voluntary context switches
# per request (its loop going to sleep; measured in a second run without strace, which slows
# everything). Not a pass/fail test; not part of `meson test`. Loopback only, a few seconds each.
#
# usage: tests/bench/syscalls.sh [BUILD_DIR] [SECONDS]   (defaults: build 3; needs strace wrk
#        h2o curl taskset)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
secs=${2:-3}
for tool in strace wrk h2o curl taskset; do
  command -v "$tool" >/dev/null || { echo "syscalls: $tool missing (apt-get install $tool)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/uvhttpd-syscalls-XXXXXX)
chmod 755 "$work" # h2o serves as nobody
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/root"
python3 -c 'import sys; open(sys.argv[1], "w").write("<html>" + "x" * 2200 + "</html>\n")' \
  "$work/root/small.html"
chmod -R a+rX "$work/root"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start NAME PORT: the server on CPU 0, its pid in $pid.
start() {
  local name=$1 port=$2
  case $name in
  uvhttpd)
    taskset -c 0 "$build/src/uvhttpd" "$port" 127.0.0.1 --root "$work/root" \
      --max-requests 1000000 >/dev/null 2>"$work/uvhttpd-$port.log" &
    ;;
  h2o)
    cat >"$work/h2o-$port.conf" <<EOF
user: nobody
num-threads: 1
max-connections: 8192
error-log: $work/h2o-$port.error.log
access-log: $work/h2o-$port.access.log
listen:
  host: 127.0.0.1
  port: $port
hosts:
  "127.0.0.1:$port":
    paths:
      "/":
        file.dir: $work/root
EOF
    taskset -c 0 h2o -c "$work/h2o-$port.conf" >/dev/null 2>&1 &
    ;;
  esac
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/small.html" && break
    sleep 0.05
  done
}

# requests PORT MODE SECONDS: runs wrk (CPU 1, 50 connections), prints the requests done.
requests() {
  local hdr=()
  [ "$2" = close ] && hdr=(-H "Connection: close")
  taskset -c 1 wrk -t1 -c50 -d"$3"s "${hdr[@]}" "http://127.0.0.1:$1/small.html" |
    awk '/requests in/ {print $1}'
}

# The voluntary context switches of every thread of pid.
switches() {
  local t=0 n
  for f in /proc/"$1"/task/*/status; do
    n=$(awk '/^voluntary_ctxt_switches/ {print $2}' "$f" 2>/dev/null || echo 0)
    t=$((t + ${n:-0}))
  done
  echo "$t"
}

printf '%-8s %-10s %8s %9s  %s\n' server scenario syscalls sleeps "per request: each system call"
for mode in keep-alive close; do
  for name in uvhttpd h2o; do
    port=$(free_port)
    start "$name" "$port"
    requests "$port" "$mode" 1 >/dev/null # warm-up: the file cache, the connections
    strace -f -c -p "$pid" -o "$work/strace.txt" 2>/dev/null &
    tracer=$!
    sleep 0.5
    n=$(requests "$port" "$mode" "$secs")
    kill -INT "$tracer"
    wait "$tracer" 2>/dev/null || true
    s0=$(switches "$pid")
    m=$(requests "$port" "$mode" "$secs")
    s1=$(switches "$pid")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    awk -v n="$n" -v name="$name" -v mode="$mode" -v sw="$((s1 - s0))" -v m="$m" '
      $1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
        calls = $4; per[$NF] = calls / n; total += calls / n
      }
      END {
        line = ""
        for (c in per) if (per[c] >= 0.01) line = line sprintf("%s %.2f  ", c, per[c])
        printf "%-8s %-10s %8.2f %9.3f  %s\n", name, mode, total, sw / m, line
      }' "$work/strace.txt"
  done
done
