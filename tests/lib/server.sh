# shellcheck shell=bash disable=SC2034 # UVH_* are read by the scripts that source this file
# tests/lib/server.sh - sourced by the shell suites (tests/curl/*.sh, tests/postman/run_newman.sh,
# tests/bench/*.sh) and .ci/windows.sh: the standard test document root, and the start, readiness
# and stop of a uvhttpd whose stderr goes to a log file. Safe under set -euo pipefail.
#
#   uvh_make_docroot DEST             the standard test root (tests/make_docroot.py: resources/ +
#                                     tests/fixtures/docroot) in DEST
#   uvh_server_start LOG BIN ARGS...  runs BIN ARGS in the background, stdin and stdout from/to
#                                     /dev/null, stderr to LOG; sets UVH_PID and UVH_LOG. A caller
#                                     that starts the server its own way (wine) sets both itself.
#   uvh_server_wait_ready [SECONDS]   waits (default 5 s) for "HTTP Server started on
#                                     http://HOST:PORT" in UVH_LOG (printed at every --log-level);
#                                     sets UVH_URL and UVH_PORT
#   uvh_server_stop [SIGNAL [SECONDS]]  sends SIGNAL (default TERM), waits up to SECONDS (default
#                                     10) and checks the exit: see uvh_server_check_exit
#   uvh_server_kill                   for EXIT traps: stops a server still running, quietly
# A function that fails returns non-zero with the reason in UVH_ERROR (uvh_server_stop: 2 when
# the server is still running, its pid left in UVH_PID).

UVH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
UVH_PID=
UVH_LOG=
UVH_ARGS=
UVH_URL=
UVH_PORT=
UVH_ERROR=
# What fails a run whatever its exit status (as in tests/lib/uvh_test.py and .ci/run).
UVH_SANITIZER='runtime error:|AddressSanitizer|LeakSanitizer|ThreadSanitizer'
UVH_UNCLEAN='event loop did not close cleanly'

uvh_make_docroot() {
  python3 "$UVH_SRC/tests/make_docroot.py" "$UVH_SRC/resources" "$UVH_SRC/tests/fixtures/docroot" \
    "$1"
}

uvh_server_start() {
  UVH_LOG=$1
  shift
  UVH_ARGS="$*"
  : >"$UVH_LOG" # now: the background job opens it later, and wait_ready may read it first
  "$@" </dev/null >/dev/null 2>"$UVH_LOG" &
  UVH_PID=$!
}

uvh_server_wait_ready() {
  local secs=${1:-5} i url
  UVH_URL=''
  UVH_PORT=''
  UVH_ERROR=''
  for ((i = 0; i < secs * 20; i++)); do
    # tr: the Windows build under wine ends its lines with CRLF.
    url=$(tr -d '\r' <"$UVH_LOG" |
      sed -n '/HTTP Server started on/{s|.*HTTP Server started on \(http://.*:[0-9][0-9]*\)$|\1|p;q}')
    if [[ -n $url ]]; then
      UVH_URL=$url
      UVH_PORT=${url##*:}
      return 0
    fi
    if ! kill -0 "$UVH_PID" 2>/dev/null; then
      UVH_ERROR="the server exited during start-up"
      return 1
    fi
    sleep 0.05
  done
  UVH_ERROR="no readiness line within $secs s"
  return 1
}

uvh_server_stop() {
  local sig=${1:-TERM} secs=${2:-10} i rc
  UVH_ERROR=
  if ! kill -0 "$UVH_PID" 2>/dev/null; then
    wait "$UVH_PID" 2>/dev/null && rc=0 || rc=$?
    UVH_PID=
    UVH_ERROR="the server had exited (status $rc) before SIG$sig"
    return 1
  fi
  kill -"$sig" "$UVH_PID" 2>/dev/null || true
  for ((i = 0; i < secs * 20; i++)); do
    kill -0 "$UVH_PID" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$UVH_PID" 2>/dev/null; then
    UVH_ERROR="still running $secs s after SIG$sig"
    return 2
  fi
  wait "$UVH_PID" 2>/dev/null && rc=0 || rc=$?
  UVH_PID=
  uvh_server_check_exit "$rc"
}

# uvh_server_check_exit STATUS: the exit status is 0, UVH_LOG holds no sanitizer report and no
# unclosed loop, and its last line is "[info] Server stopped" (unless UVH_ARGS set --log-level
# warn or error, which hide it).
uvh_server_check_exit() {
  local rc=$1 last
  UVH_ERROR=
  if [[ $rc != 0 ]]; then
    UVH_ERROR="exit status $rc"
  elif grep -Eaq -- "$UVH_SANITIZER" "$UVH_LOG"; then
    UVH_ERROR="sanitizer report in the log: $(grep -Ea -m1 -- "$UVH_SANITIZER" "$UVH_LOG")"
  elif grep -Faq -- "$UVH_UNCLEAN" "$UVH_LOG"; then
    UVH_ERROR="'$UVH_UNCLEAN' in the log"
  elif ! [[ " $UVH_ARGS " =~ [[:space:]](--log-level[=[:space:]]|-l[[:space:]])(warn|error)[[:space:]] ]]; then
    last=$(tr -d '\r' <"$UVH_LOG" | grep -v '^$' | tail -n 1 || true)
    [[ $last == *'[info] Server stopped' ]] || UVH_ERROR="last log line '$last', not 'Server stopped'"
  fi
  [[ -z $UVH_ERROR ]]
}

uvh_server_kill() {
  if [[ -n $UVH_PID ]] && kill -0 "$UVH_PID" 2>/dev/null; then
    kill -TERM "$UVH_PID" 2>/dev/null || true
    wait "$UVH_PID" 2>/dev/null || true
  fi
  UVH_PID=
}
