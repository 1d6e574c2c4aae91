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
# 4. Builds the standard test root in a temporary directory (resources/ + tests/fixtures/docroot/,
#    tests/make_docroot.py: the tree the collection expects), starts the binary on 127.0.0.1
#    port 0 and reads the port from its log (tests/lib/server.sh).
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

# shellcheck source-path=SCRIPTDIR source=../lib/server.sh
source "$(dirname "$0")/../lib/server.sh"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/uvhttpd-newman.XXXXXX")
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  uvh_server_kill
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the server ----
if [[ -z $URL ]]; then
  BIN=$(realpath "$1")
  ROOT=$TMP/root
  uvh_make_docroot "$ROOT" || exit 1
  uvh_server_start "$TMP/server.log" "$BIN" 0 --root "$ROOT"
  if ! uvh_server_wait_ready 5; then
    echo "FAIL: the server did not start ($UVH_ERROR); log:"
    cat "$UVH_LOG"
    exit 1
  fi
  URL=$UVH_URL
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

if [[ -n $UVH_PID ]] && ! uvh_server_stop TERM 10; then
  echo "FAIL: the server did not stop cleanly on SIGTERM: $UVH_ERROR; log tail:"
  tail -n 20 "$UVH_LOG"
  status=1
fi
exit $status
