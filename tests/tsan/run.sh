#!/usr/bin/env bash
# tests/tsan/run.sh [LINUX_BUILD] - ThreadSanitizer over several event loops (issue 13).
# criterion's runner cannot start in a TSan process (Snaipe/Criterion#274: "Could not initialize
# inheritable arena"), so only the server is built with TSan (build-tsan: clang,
# -Db_sanitize=thread, tests disabled) and the clients come from LINUX_BUILD (default build):
#   1. the integration suite (LINUX_BUILD/tests/test_integration with UVHTTPD_TEST_URL) against
#      the TSan uvhttpd with --workers 4, once with a listener per loop and once with
#      --accept handoff, then SIGTERM (exit 0, "Server stopped", no report);
#   2. 60 clients at once against 4 slots over 4 loops (the queue and its hand-over of slots
#      between loops), in both modes;
#   3. the CLI tests of several loops (tests/cli/test_cli.py, CLI_TESTS=workers_*) with the TSan
#      binary: start-up, spreading, tags, SIGTERM and a second signal.
# Fails on any "WARNING: ThreadSanitizer" (the CLI tests and tests/lib/server.sh check for it).
# tests/tsan/suppressions.txt: the one kind of false report (descriptor numbers libuv closes
# unseen).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source-path=SCRIPTDIR source=../lib/server.sh
source tests/lib/server.sh
L=${1:-build}
T=build-tsan
command -v clang >/dev/null || { echo "tests/tsan/run.sh: needs clang"; exit 1; }
if [[ ! -f $T/build.ninja ]]; then
  CC=clang meson setup "$T" --wrap-mode=nodownload -Dwerror=true -Db_sanitize=thread \
    -Db_lundef=false -Dtests=disabled >/dev/null
fi
meson compile -C "$T" uvhttpd >/dev/null
meson compile -C "$L" test_integration >/dev/null
DOCROOT=$T/docroot
uvh_make_docroot "$DOCROOT" >/dev/null
export TSAN_OPTIONS=halt_on_error=0:second_deadlock_stack=1:suppressions=$PWD/tests/tsan/suppressions.txt
status=0
trap uvh_server_kill EXIT
for mode in reuseport handoff; do
  log=$T/tsan-$mode.log
  uvh_server_start "$log" "$T/src/uvhttpd" 0 127.0.0.1 4 --root "$DOCROOT" --workers 4 \
    --accept "$mode" --log-level warn
  uvh_server_wait_ready 20 || { cat "$log"; echo "tsan: $UVH_ERROR"; exit 1; }
  set +e
  UVHTTPD_TEST_URL=$UVH_URL UVHTTPD_TEST_ROOT=$DOCROOT timeout 600 \
    "$L/tests/test_integration" --jobs 2 >"$T/tsan-$mode-suite.log" 2>&1
  rc=$?
  set -e
  echo "tsan, --workers 4 --accept $mode: $(grep -a 'Synthesis' "$T/tsan-$mode-suite.log")"
  ((rc == 0)) || { echo "  the integration suite failed (see $T/tsan-$mode-suite.log)"; status=1; }
  uvh_server_stop TERM 20 || { echo "  stop: $UVH_ERROR"; status=1; }
  if grep -q 'WARNING: ThreadSanitizer' "$log"; then
    echo "  ThreadSanitizer reports in $log:"
    grep -A12 'WARNING: ThreadSanitizer' "$log" | head -60
    status=1
  fi
done
# The shared admission under load: 4 slots, 60 clients at once (most of them queued, on every
# loop), each closing after its answer, so queued connections get the slots other loops free.
for mode in reuseport handoff; do
  log=$T/tsan-queue-$mode.log
  uvh_server_start "$log" "$T/src/uvhttpd" 0 127.0.0.1 4 --root "$DOCROOT" --workers 4 \
    --accept "$mode" --max-connections 4 --queue-size 100 --log-level warn
  uvh_server_wait_ready 20 || { cat "$log"; echo "tsan: $UVH_ERROR"; exit 1; }
  python3 - "$UVH_PORT" <<'PY' || status=1
import socket, sys, threading
port = int(sys.argv[1])
ok = []
def client():
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"GET /sample.txt HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
                  % port)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        ok.append(data.startswith(b"HTTP/1.1 200 OK\r\n"))
threads = [threading.Thread(target=client) for _ in range(60)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"tsan, 4 slots over 4 loops: {sum(ok)} of 60 queued and served")
sys.exit(0 if sum(ok) == 60 else 1)
PY
  uvh_server_stop TERM 20 || { echo "  stop: $UVH_ERROR"; status=1; }
  if grep -q 'WARNING: ThreadSanitizer' "$log"; then
    echo "  ThreadSanitizer reports in $log:"
    grep -A12 'WARNING: ThreadSanitizer' "$log" | head -60
    status=1
  fi
done
CLI_TESTS="$(python3 - <<'PY'
import re
src = open("tests/cli/test_cli.py").read()
print(" ".join(re.findall(r"^def (workers_\w+)\(", src, re.M)))
PY
)" python3 tests/cli/test_cli.py "$T/src/uvhttpd" || status=1
exit $status
