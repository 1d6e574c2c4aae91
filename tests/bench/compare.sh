#!/usr/bin/env bash
# Side-by-side benchmark (issue 12): uvhttpd against nginx, lighttpd and h2o on loopback, in one
# run, every figure quoted as a ratio to the best of the three peers (this machine is shared and
# noisy, so absolute numbers drift). Not a pass/fail test; not part of `meson test`.
#
# usage: tests/bench/compare.sh [--install] [BUILD_DIR] [SECONDS] [ROUNDS]
#        (defaults: build, 5, 3: about 5 minutes; needs 2 CPUs and wrk nginx-light lighttpd h2o
#        curl, and cc for tests/bench/floor.c; --install, as root, apt-get installs whichever of
#        the packages is missing)
#
# Servers pinned to CPU 0, the load generator to CPU 1, all access logs on (uvhttpd at its
# defaults). Scenarios: a small file over keep-alive (req/s, server CPU per request, p99), the
# same with `Connection: close`, 5 MB and 100 MB files (MB/s, server CPU s per GB), and 5,000
# idle keep-alive connections (RSS per connection). The tables go to stdout; the same report
# and the raw figures (.txt, .json, .tsv) to BUILD_DIR/bench/ (paths printed at the end).
# The details are in tests/bench/compare.py.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

install=0
if [ "${1:-}" = --install ]; then install=1; shift; fi
build=${1:-$root/build}
secs=${2:-5}
rounds=${3:-3}

declare -A pkg=([wrk]=wrk [nginx]=nginx-light [lighttpd]=lighttpd [h2o]=h2o [curl]=curl
                [taskset]=util-linux [python3]=python3)
export PATH=$PATH:/usr/sbin  # nginx and lighttpd live there
missing=()
for tool in wrk nginx lighttpd h2o curl taskset python3; do
  command -v "$tool" >/dev/null || missing+=("${pkg[$tool]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ $install = 1 ] && [ "$(id -u)" = 0 ]; then
    echo "compare: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "compare: missing ${missing[*]}: apt-get install ${missing[*]}" \
         "(or run this script as root with --install)" >&2
    exit 2
  fi
fi

# 5,000 idle connections on each side: take the hard descriptor limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

exec python3 "$here/compare.py" --build "$build" --seconds "$secs" --rounds "$rounds"
