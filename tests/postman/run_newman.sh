#!/usr/bin/env bash
# run_newman.sh - runs the Postman collection (uvhttpd.postman_collection.json) with newman against
# a live uvhttpd: meson's 'newman' test (suite 'postman'), and .ci/windows.sh against uvhttpd.exe.
#
# Usage: run_newman.sh PATH/TO/uvhttpd PROJECT_SOURCE_ROOT BUILD_DIR
#        run_newman.sh --url URL PROJECT_SOURCE_ROOT BUILD_DIR   (a server already running on the
#                                                                 test docroot, e.g. under wine)
#
# 1. Without node and npm: prints "SKIP: newman suite needs Node.js and npm" and exits 77 (meson
#    counts it as skipped; .ci/run counts a skip as a failure, so CI cannot skip it).
# 2. Checks the committed collection is what build_collection.js generates.
# 3. Installs newman, pinned by package.json + package-lock.json, with `npm ci` into
#    BUILD_DIR/newman; skipped when that directory already holds an install from the same
#    lockfile (its SHA-256 is kept in node_modules/.uvhttpd-lock.sha256).
# 4. Builds a document root in a temporary directory (resources/ + tests/fixtures/docroot/, with
#    tests/make_docroot.py: the tree the collection expects), starts the binary on 127.0.0.1
#    port 0 and reads the port from its log.
# 5. newman run ... --env-var baseUrl=http://127.0.0.1:PORT, CLI reporter with its summary table;
#    prints "newman: N assertions, M failed" and exits non-zero on any failure.
set -uo pipefail

URL=
if [[ ${1:-} == --url ]]; then
  URL=${2:-}
  shift 2
  set -- "-" "$@"
fi
if (($# != 3)); then
  echo "usage: $0 PATH/TO/uvhttpd|--url URL PROJECT_SOURCE_ROOT BUILD_DIR" >&2
  exit 2
fi
SRC=$(realpath "$2")
BUILD=$(realpath "$3")
HERE=$SRC/tests/postman
COLLECTION=$HERE/uvhttpd.postman_collection.json

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: newman suite needs Node.js and npm (apt-get install nodejs npm)"
  exit 77
fi
echo "node $(node --version), npm $(npm --version)"

node "$HERE/build_collection.js" --check || exit 1

# ---- newman, pinned ----
NM=$BUILD/newman
NEWMAN=$NM/node_modules/.bin/newman
lock_sha=$(sha256sum "$HERE/package-lock.json" "$HERE/package.json" | sha256sum | cut -d' ' -f1)
stamp=$NM/node_modules/.uvhttpd-lock.sha256
if [[ -x $NEWMAN && -f $stamp && $(cat "$stamp") == "$lock_sha" ]]; then
  echo "newman already installed in $NM (same lockfile)"
else
  echo "npm ci --prefix $NM"
  rm -rf "$NM"
  mkdir -p "$NM"
  cp "$HERE/package.json" "$HERE/package-lock.json" "$NM/"
  t=$SECONDS
  if ! (cd "$NM" && npm ci --no-audit --no-fund --loglevel=error --fetch-timeout=60000 \
          --fetch-retries=4); then
    echo "FAIL: npm ci did not install newman"
    exit 1
  fi
  echo "$lock_sha" >"$stamp"
  echo "installed in $((SECONDS - t)) s"
fi
echo "newman $("$NEWMAN" --version)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/uvhttpd-newman.XXXXXX")
SERVER_PID=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the server ----
if [[ -z $URL ]]; then
  BIN=$(realpath "$1")
  ROOT=$TMP/root
  python3 "$SRC/tests/make_docroot.py" "$SRC/resources" "$SRC/tests/fixtures/docroot" "$ROOT" \
    "$TMP/docroot.stamp" || exit 1
  LOG=$TMP/server.log
  "$BIN" 0 --root "$ROOT" 2>"$LOG" &
  SERVER_PID=$!
  PORT=
  for _ in $(seq 100); do
    PORT=$(sed -n 's|.*HTTP Server started on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$LOG")
    [[ -n $PORT ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  if [[ -z $PORT ]]; then
    echo "FAIL: the server did not start; log:"
    cat "$LOG"
    exit 1
  fi
  URL=http://127.0.0.1:$PORT
  echo "uvhttpd on $URL, root $ROOT"
fi

# ---- newman ----
t=$SECONDS
"$NEWMAN" run "$COLLECTION" --env-var "baseUrl=$URL" \
  --reporters cli,json --reporter-json-export "$TMP/report.json" \
  --reporter-cli-no-success-assertions --reporter-cli-no-banner --reporter-cli-no-console \
  --color off --timeout-request 30000
newman_rc=$?
echo "newman ran in $((SECONDS - t)) s"

status=0
summary=$(node -e '
  const r = require(process.argv[1]).run.stats;
  console.log(r.requests.total, r.requests.failed, r.assertions.total, r.assertions.failed);
' "$TMP/report.json" 2>/dev/null) || summary=
if [[ -z $summary ]]; then
  echo "newman: no report (exit status $newman_rc)"
  status=1
else
  read -r nreq freq nass fass <<<"$summary"
  echo "newman: $nreq requests, $freq failed"
  echo "newman: $nass assertions, $fass failed"
  ((newman_rc == 0 && freq == 0 && fass == 0 && nass > 0)) || status=1
fi

if [[ -n $SERVER_PID ]]; then
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID"
    rc=$?
    SERVER_PID=
    if ((rc != 0)); then
      echo "FAIL: the server exited with status $rc on SIGTERM; log tail:"
      tail -n 5 "$LOG"
      status=1
    fi
  else
    wait "$SERVER_PID"
    echo "FAIL: the server died during the run (status $?); log tail:"
    tail -n 20 "$LOG"
    SERVER_PID=
    status=1
  fi
fi
exit $status
