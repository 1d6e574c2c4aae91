#!/usr/bin/env bash
# Several event loops (issue 13): uvhttpd --workers 2 against nginx, lighttpd and h2o with two
# workers each, and against uvhttpd --workers 1, all on both CPUs with wrk -t2. Not a pass/fail
# test; not part of `meson test`. Details in tests/bench/workers.py.
#
# usage: tests/bench/workers.sh [BUILD_DIR] [SECONDS] [ROUNDS]   (defaults: build 5 3, ~3 min)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
export PATH=$PATH:/usr/sbin
for tool in wrk nginx lighttpd h2o curl taskset python3; do
  command -v "$tool" >/dev/null || { echo "workers: $tool missing (see tests/bench/compare.sh --install)" >&2; exit 2; }
done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec python3 "$here/workers.py" --build "$build" --seconds "${2:-5}" --rounds "${3:-3}"
