#!/usr/bin/env bash
# .ci/windows.sh - the Windows build of uvhttpd on Debian 12 (issue 3), for CI and developers:
#   1. installs its packages if missing (MinGW-w64, wine, CMake, meson, the Linux test deps);
#   2. fetches Debian's libuv1 and jansson source packages (apt-get source through a private
#      deb-src list: nothing in /etc is touched), cached in the build directory: the upstream
#      tarballs plus Debian's patches, so the Windows exe gets the same code, security fixes
#      included, as the Linux packages;
#   3. cross-compiles both with CMake into a prefix, then uvhttpd.exe with meson and
#      .ci/mingw64.ini (llhttp from Debian's node-llhttp sources, like the Linux build);
#   4. checks the exe imports only DLLs that ship with Windows;
#   5. serves the integration-test document root with uvhttpd.exe under wine on 127.0.0.1:0 and
#      runs the Linux-built criterion integration suite against it (UVHTTPD_TEST_URL) and the
#      Postman collection with newman (tests/postman/run_newman.sh --url), then stops the server
#      with Ctrl+C (SIGINT to the wine process) and checks it shut down cleanly;
#   6. does it again with --workers 3 (issue 13: worker 1 accepts and hands each connection to
#      the least-loaded loop, the Windows way): the integration suite, 30 connections at once
#      spread 10 per loop, and Ctrl+C.
# Prints "Windows: N passed, M failed" (criterion tests plus newman assertions) and exits
# non-zero when any Windows test failed or crashed, a newman assertion failed or newman was
# skipped, a smoke check failed, or the server did not start or stop cleanly. Tests that need
# their own server settings skip themselves against an external server ("needs its own server
# settings"): they are counted on a line of their own and do not fail the run; any other skip
# counts as a failure.
#
# Environment: UVH_WIN_BUILD (default build-win) and UVH_WIN_LINUX_BUILD (default
# build-win-linux), both relative to the repository root unless absolute.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
# shellcheck source-path=SCRIPTDIR source=../tests/lib/server.sh
source tests/lib/server.sh # the test document root; waiting for the readiness line; the stop

B=${UVH_WIN_BUILD:-build-win}
L=${UVH_WIN_LINUX_BUILD:-build-win-linux}
[[ $B = /* ]] || B=$SRC/$B
[[ $L = /* ]] || L=$SRC/$L
HOST=x86_64-w64-mingw32
CACHE=$B/cache            # downloaded tarballs, kept across runs
PREFIX=$B/prefix          # libuv + jansson for Windows
EXE=$B/uvhttpd/src/uvhttpd.exe
DOCROOT=$B/docroot
JOBS=$(nproc 2>/dev/null || echo 2)

t0=$SECONDS
step() { printf '== [%3ds] %s\n' $((SECONDS - t0)) "$*"; }
die() { echo "windows.sh: $*" >&2; exit 1; }
# quiet LOG CMD...: runs CMD with its output in LOG, shown only when CMD fails.
quiet() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 || { cat "$log"; die "failed ($log): $*"; }
}

# ---------------------------------------------------------------------------------------------
step "packages"
export DEBIAN_FRONTEND=noninteractive
SUDO=
[[ $(id -u) -eq 0 ]] || SUDO=sudo
PACKAGES=(gcc-mingw-w64-x86-64-win32 binutils-mingw-w64-x86-64 wine wine64 cmake patch xz-utils
          meson ninja-build pkg-config python3 node-llhttp
          build-essential libuv1-dev libjansson-dev libcriterion-dev)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# newman (the Postman collection) needs Node.js and npm; Debian's only when none is installed.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---------------------------------------------------------------------------------------------
step "sources: Debian's libuv1 and jansson source packages"
mkdir -p "$CACHE"
# cached PKG KIND: the cached file of source package PKG, KIND being "dsc", "orig.tar" or
# "debian.tar"; empty when missing.
cached() { compgen -G "$CACHE/$1_*.$2*" | head -n1 || true; }
have_sources() {
  local p k
  for p in libuv1 jansson; do
    for k in dsc orig.tar debian.tar; do [[ -n $(cached $p $k) ]] || return 1; done
  done
}
if ! have_sources; then
  # A private deb-src list made from the system's deb822 sources; apt's own configuration,
  # lists and caches stay as they are.
  APT=$B/apt
  rm -rf "$APT"
  mkdir -p "$APT/sources.list.d" "$APT/lists/partial" "$APT/cache/archives/partial"
  shopt -s nullglob
  n=0
  for f in /etc/apt/sources.list.d/*.sources; do
    sed -E 's/^Types:.*/Types: deb-src/' "$f" >"$APT/sources.list.d/$(basename "$f")"
    n=$((n + 1))
  done
  shopt -u nullglob
  ((n)) || die "no /etc/apt/sources.list.d/*.sources to derive deb-src entries from"
  APT_OPTS=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$APT/sources.list.d"
            -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache"
            -o Debug::NoLocking=true -o APT::Sandbox::User=root)
  apt-get "${APT_OPTS[@]}" update -qq
  # Not --tar-only: the .debian.tar.xz carries Debian's patches (libuv1 1.44.2-1+deb12u1:
  # CVE-2024-24806). apt checks every file against the signed Sources index.
  rm -f "$CACHE"/{libuv1,jansson}_*
  (cd "$CACHE" && apt-get "${APT_OPTS[@]}" source --download-only -qq libuv1 jansson)
  rm -rf "$APT"
  have_sources || die "apt-get source did not leave libuv1 and jansson in $CACHE"
fi
basename -a "$(cached libuv1 dsc)" "$(cached jansson dsc)" | paste -sd' '

# unpack PKG DIR: the upstream tarball of PKG unpacked into DIR, Debian's patches applied.
unpack() {
  local pkg=$1 dir=$2 patch opt
  mkdir -p "$dir"
  tar -xf "$(cached "$pkg" orig.tar)" -C "$dir" --strip-components=1
  tar -xf "$(cached "$pkg" debian.tar)" -C "$dir"
  [[ -f $dir/debian/patches/series ]] || return 0
  while read -r patch opt; do
    [[ -z $patch || $patch = \#* ]] && continue
    patch -d "$dir" -s -N --no-backup-if-mismatch "${opt:--p1}" <"$dir/debian/patches/$patch" ||
      die "$pkg: Debian patch $patch does not apply"
  done <"$dir/debian/patches/series"
}

# ---------------------------------------------------------------------------------------------
# Both libraries are built as static libraries only; the prefix is rebuilt when a tarball
# changes, or DEPS_REV (bump it when changing how they are built).
DEPS_REV=1
deps_key="$DEPS_REV $(basename -a "$(cached libuv1 dsc)" "$(cached jansson dsc)" | paste -sd' ')"
if [[ ! -f $PREFIX/.done || $(cat "$PREFIX/.done") != "$deps_key" ]]; then
  step "cross-compile libuv and jansson (CMake)"
  rm -rf "$PREFIX" "$B/deps"
  uv_src=$B/deps/libuv
  jansson_src=$B/deps/jansson
  unpack libuv1 "$uv_src"
  unpack jansson "$jansson_src"
  # CMake takes ar, ranlib and windres with the compiler's x86_64-w64-mingw32- prefix.
  CMAKE_CROSS=(-G Ninja -DCMAKE_SYSTEM_NAME=Windows -DCMAKE_SYSTEM_PROCESSOR=x86_64
               "-DCMAKE_C_COMPILER=$HOST-gcc" -DCMAKE_BUILD_TYPE=Release
               "-DCMAKE_INSTALL_PREFIX=$PREFIX" -Wno-dev)

  quiet "$B/libuv-cmake.log" cmake -S "$uv_src" -B "$B/deps/libuv-build" "${CMAKE_CROSS[@]}" \
    -DLIBUV_BUILD_TESTS=OFF -DLIBUV_BUILD_BENCH=OFF
  # Only the static library (uv_a); libuv 1.44 has no switch to skip the DLL, so it is neither
  # built nor installed, and libuv.pc is the static one.
  quiet "$B/libuv-build.log" cmake --build "$B/deps/libuv-build" --target uv_a -j "$JOBS"
  mkdir -p "$PREFIX/lib/pkgconfig" "$PREFIX/include"
  cp -r "$uv_src/include/." "$PREFIX/include/"
  cp "$B/deps/libuv-build/libuv_a.a" "$PREFIX/lib/"
  cp "$B/deps/libuv-build/libuv-static.pc" "$PREFIX/lib/pkgconfig/"
  sed 's/^Name: libuv-static/Name: libuv/' "$B/deps/libuv-build/libuv-static.pc" \
    >"$PREFIX/lib/pkgconfig/libuv.pc"

  quiet "$B/jansson-cmake.log" cmake -S "$jansson_src" -B "$B/deps/jansson-build" \
    "${CMAKE_CROSS[@]}" -DJANSSON_BUILD_SHARED_LIBS=OFF -DJANSSON_BUILD_DOCS=OFF \
    -DJANSSON_EXAMPLES=OFF -DJANSSON_WITHOUT_TESTS=ON
  quiet "$B/jansson-build.log" cmake --build "$B/deps/jansson-build" -j "$JOBS"
  quiet "$B/jansson-install.log" cmake --install "$B/deps/jansson-build"
  echo "$deps_key" >"$PREFIX/.done"
  rm -rf "$B/deps"
fi
PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig pkg-config --modversion libuv jansson | paste -sd' ' |
  sed 's/^/libuv, jansson: /'

# ---------------------------------------------------------------------------------------------
step "uvhttpd.exe (meson, cross file .ci/mingw64.ini)"
# The prefix goes into a second machine file rather than only the environment, so that a later
# `ninja -C build-win/uvhttpd` that re-runs meson still finds the Windows libraries.
cat >"$B/prefix.ini" <<EOF
[properties]
pkg_config_libdir = ['$PREFIX/lib/pkgconfig']
EOF
if [[ ! -f $B/uvhttpd/build.ninja ]]; then
  rm -rf "$B/uvhttpd"
  PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig quiet "$B/meson-setup.log" \
    meson setup "$B/uvhttpd" --cross-file .ci/mingw64.ini --cross-file "$B/prefix.ini" \
    --wrap-mode=nodownload -Dtests=disabled -Dwerror=true
  grep -E 'dependency (libuv|jansson) found|Subproject llhttp-debian finished' \
    "$B/meson-setup.log" || true
fi
quiet "$B/meson-compile.log" meson compile -C "$B/uvhttpd"
ls -l "$EXE"

# ---------------------------------------------------------------------------------------------
step "imported DLLs"
mapfile -t dlls < <("$HOST-objdump" -p "$EXE" | sed -n 's/^[[:space:]]*DLL Name: //p' | sort -uf)
echo "${dlls[*]}"
bad=()
for d in "${dlls[@]}"; do
  case ${d,,} in
    kernel32.dll | ws2_32.dll | iphlpapi.dll | userenv.dll | advapi32.dll | user32.dll | \
      ole32.dll | shell32.dll | psapi.dll | dbghelp.dll | msvcrt.dll | ucrtbase.dll | \
      bcrypt.dll | api-ms-win-*.dll) ;;
    *) bad+=("$d") ;;
  esac
done
((${#bad[@]} == 0)) || die "uvhttpd.exe needs DLLs Windows does not ship: ${bad[*]}"

# ---------------------------------------------------------------------------------------------
step "Linux side: test_integration and the document root"
if [[ ! -f $L/build.ninja ]]; then
  rm -rf "$L"
  quiet "$B/linux-setup.log" meson setup "$L" --wrap-mode=nodownload -Dtests=enabled
fi
quiet "$B/linux-compile.log" meson compile -C "$L" test_integration
uvh_make_docroot "$DOCROOT"

# ---------------------------------------------------------------------------------------------
step "wine prefix"
export WINEPREFIX=$B/wineprefix WINEARCH=win64 WINEDEBUG=-all
export WINEDLLOVERRIDES='mscoree,mshtml=' # no Mono/Gecko install prompts
if [[ ! -f $WINEPREFIX/system.reg ]]; then
  rm -rf "$WINEPREFIX"
  quiet "$B/wineboot.log" timeout 300 wineboot -i
fi

# ---------------------------------------------------------------------------------------------
step "uvhttpd.exe under wine"
# Wine maps drive Z: to /, which is what uv_fs_realpath (GetFinalPathNameByHandleW) returns too.
WIN_DOCROOT="Z:${DOCROOT//\//\\}"
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  if [[ -n $UVH_PID ]] && kill -0 "$UVH_PID" 2>/dev/null; then
    kill -KILL "$UVH_PID" 2>/dev/null || true
    wineserver -k || true
  fi
}
trap cleanup EXIT
# Started here rather than with uvh_server_start: wine, and its stdout kept in server.out.
UVH_LOG=$B/server.log
# Issue 14 on Windows too: an access log file, PROXY headers from 127.0.0.2 (all of 127/8 is
# loopback on the Linux host wine runs on), a health path.
ACCESS_LOG=$B/access.log
rm -f "$ACCESS_LOG"
wine "$EXE" 0 127.0.0.1 4 --root "$WIN_DOCROOT" --access-log "Z:${ACCESS_LOG//\//\\}" \
  --proxy-protocol 127.0.0.2/32 --health-path /healthz </dev/null >"$B/server.out" 2>"$UVH_LOG" &
UVH_PID=$!
uvh_server_wait_ready 60 || { cat "$UVH_LOG"; die "uvhttpd.exe: $UVH_ERROR"; }
URL=$UVH_URL
echo "serving $WIN_DOCROOT on $URL"

status=0

step "smoke checks"
# The bytes served must be the bytes on disk: binary mode, UTF-8 names, index files.
python3 - "$URL" "$DOCROOT" <<'PY' || status=1
import os, sys, urllib.error, urllib.parse, urllib.request
url, root = sys.argv[1:3]
failed = 0
def check(path, want_status, want_body=None):
    global failed
    try:
        with urllib.request.urlopen(url + urllib.parse.quote(path, safe="/%"), timeout=10) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    ok = status == want_status and (want_body is None or body == want_body)
    failed += not ok
    print(f"  {'ok ' if ok else 'BAD'} GET {path} -> {status} ({len(body)} bytes)")
def file(rel):
    with open(os.path.join(root, rel), "rb") as f:
        return f.read()
check("/", 200, file("index.html"))
for rel in ("banner.png", "photo.jpg", "notes.txt", "café.txt", "nested/page.html"):
    check("/" + rel, 200, file(rel))
check("/nested/", 200, file("nested/index.html"))
check("/missing.txt", 404)
check("/..%5c..%5cwindows%5cwin.ini", 403)
check("/nul", 403)
sys.exit(1 if failed else 0)
PY

step "PROXY protocol and health path"
python3 - "$URL" <<'PY' || status=1
import re, socket, struct, sys, urllib.parse
url = urllib.parse.urlsplit(sys.argv[1])
failed = 0
def ask(data, source=None):
    s = socket.create_connection((url.hostname, url.port), timeout=10,
                                 source_address=(source, 0) if source else None)
    s.sendall(data)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", out)
    return int(m.group(1)) if m else None
def check(what, data, want, source=None):
    global failed
    got = ask(data, source)
    failed += got != want
    print(f"  {'ok ' if got == want else 'BAD'} {what} -> {got}")
req = b"GET /index.html HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % url.netloc.encode()
v2 = (b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c" + socket.inet_aton("198.51.100.9")
      + socket.inet_aton("10.0.0.1") + struct.pack("!HH", 4242, 80))
check("PROXY v1 from the trusted peer", b"PROXY TCP4 198.51.100.8 10.0.0.1 4141 80\r\n" + req,
      200, "127.0.0.2")
check("PROXY v2 from the trusted peer", v2 + req, 200, "127.0.0.2")
check("no PROXY header from the trusted peer", req, 400, "127.0.0.2")
check("PROXY header from an untrusted peer", b"PROXY TCP4 6.6.6.6 10.0.0.1 1 80\r\n" + req, 400)
check("health path", b"GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
      % url.netloc.encode(), 200)
sys.exit(1 if failed else 0)
PY

step "integration suite against the Windows server"
set +e
UVHTTPD_TEST_URL=$URL UVHTTPD_TEST_ROOT=$DOCROOT timeout 300 \
  "$L/tests/test_integration" --jobs 2 --tap="$B/windows-tests.tap" >"$B/windows-tests.log" 2>&1
suite_rc=$?
set -e
grep -a 'Synthesis' "$B/windows-tests.log" || true

step "newman: the Postman collection against the Windows server"
# tests/postman/run_newman.sh --url: newman pinned by tests/postman/package-lock.json, installed
# (npm ci, cached) in the Linux build directory; its assertions count in the summary below. A
# skip (exit 77: no Node.js) counts as a failure.
set +e
bash tests/postman/run_newman.sh --url "$URL" "$SRC" "$L/tests" >"$B/windows-newman.log" 2>&1
newman_rc=$?
set -e
newman_counts=$(sed -n 's/^newman: \([0-9]*\) assertions, \([0-9]*\) failed$/\1 \2/p' \
  "$B/windows-newman.log" | tail -n1)
read -r newman_total newman_failed <<<"${newman_counts:-0 0}"
grep -a -E '^newman: |^SKIP|^FAIL' "$B/windows-newman.log" || true
((newman_rc == 0)) || echo "newman against the Windows server: exit status $newman_rc (log: $B/windows-newman.log)"

step "stop: Ctrl+C (SIGINT to the wine process)"
stop_rc=0
uvh_server_stop INT 15 || stop_rc=$?
if ((stop_rc == 0)); then
  echo "uvhttpd.exe stopped gracefully (exit 0)"
elif ((stop_rc == 2)); then
  echo "uvhttpd.exe ignored SIGINT for 15 s: killed with wineserver -k"; tail -n 5 "$UVH_LOG"
  wineserver -k || true
  status=1
else
  echo "uvhttpd.exe did not shut down cleanly: $UVH_ERROR"; tail -n 5 "$UVH_LOG"; status=1
fi

step "access log written by uvhttpd.exe"
# Complete after the stop: every line in the Combined Log Format, the PROXY clients' addresses,
# no health check.
python3 - "$ACCESS_LOG" <<'PY' || status=1
import re, sys
rx = re.compile(r'^\S+ - - \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "[^"]*" \d{3} (\d+|-) '
                r'"[^"]*" "[^"]*"$')
try:
    data = open(sys.argv[1], "rb").read().decode("latin-1")
except OSError as e:
    sys.exit(f"  BAD no access log: {e}")
lines = data.split("\n")
bad = [l for l in lines[:-1] if not rx.match(l)] + ([lines[-1]] if lines[-1] else [])
clients = {l.split(" ", 1)[0] for l in lines[:-1]}
ok = (not bad and len(lines) > 100 and {"198.51.100.8", "198.51.100.9"} <= clients
      and not any("/healthz" in l for l in lines))
print(f"  {'ok ' if ok else 'BAD'} {len(lines) - 1} lines, clients {sorted(clients)[:6]}")
for l in bad[:5]:
    print(f"  BAD line: {l!r}")
sys.exit(0 if ok else 1)
PY

step "uvhttpd.exe --workers 3 under wine: worker 1 accepts and hands connections over"
UVH_LOG=$B/server-workers.log
wine "$EXE" 0 127.0.0.1 4 --root "$WIN_DOCROOT" --workers 3 </dev/null \
  >"$B/server-workers.out" 2>"$UVH_LOG" &
UVH_PID=$!
workers_rc=0
if uvh_server_wait_ready 60; then
  URL=$UVH_URL
  echo "serving with 3 loops on $URL"
  spread='Workers: 3 event loops, worker 1 accepts and hands each connection to the least-loaded loop'
  tr -d '\r' <"$UVH_LOG" | grep -qF "$spread" || { echo "no start-up line '$spread'"; status=1; }
  set +e
  UVHTTPD_TEST_URL=$URL UVHTTPD_TEST_ROOT=$DOCROOT timeout 300 \
    "$L/tests/test_integration" --jobs 2 --tap="$B/windows-workers-tests.tap" \
    >"$B/windows-workers-tests.log" 2>&1
  workers_rc=$?
  set -e
  grep -a 'Synthesis' "$B/windows-workers-tests.log" || true
  # 30 connections held open at once: every one answered, and the least-loaded hand-off puts
  # 10 on each loop (the log names the loop of each connection).
  python3 - "$URL" "$UVH_LOG" <<'PY' || status=1
import re, socket, sys, time
url, log = sys.argv[1:3]
host, port = url[len("http://"):].rsplit(":", 1)
with open(log, "rb") as f:
    start = len(f.read())  # only this check's lines count
socks = [socket.create_connection((host, int(port)), timeout=10) for _ in range(30)]
for s in socks:
    s.sendall(b"GET /notes.txt HTTP/1.1\r\nHost: %s:%s\r\n\r\n" % (host.encode(), port.encode()))
ok = sum(s.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n") for s in socks)
for s in socks:
    s.close()
time.sleep(0.5)
with open(log, "rb") as f:
    text = f.read()[start:].decode("utf-8", "replace").replace("\r", "")
loops = re.findall(r"\] \[w(\d)#\d+\] 127\.0\.0\.1:\d+ \"GET /notes\.txt ", text)
counts = {w: loops.count(w) for w in "123"}
print(f"  30 connections at once: {ok} answered 200; per loop {counts}")
sys.exit(0 if ok == 30 and counts == {"1": 10, "2": 10, "3": 10} else 1)
PY
  stop_rc=0
  uvh_server_stop INT 15 || stop_rc=$?
  if ((stop_rc == 0)); then
    echo "uvhttpd.exe --workers 3 stopped gracefully (exit 0)"
  else
    echo "uvhttpd.exe --workers 3 did not shut down cleanly: $UVH_ERROR"; tail -n 5 "$UVH_LOG"
    ((stop_rc == 2)) && { wineserver -k || true; }
    status=1
  fi
else
  cat "$UVH_LOG"; echo "uvhttpd.exe --workers 3: $UVH_ERROR"; status=1; workers_rc=1
fi

# Criterion's TAP report (its JSON report does not escape assertion messages): one
# "ok - suite::test", "ok - suite::test  # SKIP reason" or "not ok - suite::test ..." per test.
python3 - "$newman_rc" "$newman_total" "$newman_failed" "$B/windows-newman.log" \
  "$B/windows-tests.tap" "$suite_rc" "$B/windows-tests.log" \
  "$B/windows-workers-tests.tap" "$workers_rc" "$B/windows-workers-tests.log" <<'PY' || status=1
import re, sys
newman_rc, newman_total, newman_failed, newman_log = (int(sys.argv[1]), int(sys.argv[2]),
                                                      int(sys.argv[3]), sys.argv[4])
passed, failed, skipped, unexpected = [], [], [], []
integration_ran = True
# One integration run per (TAP, exit status, log): the single-loop server, then --workers 3.
for tap, rc, log, tag in ((sys.argv[5], int(sys.argv[6]), sys.argv[7], ""),
                          (sys.argv[8], int(sys.argv[9]), sys.argv[10], " (--workers 3)")):
    try:
        lines = open(tap, encoding="utf-8", errors="replace").read().splitlines()
    except OSError:
        lines = []
    ran = 0
    for line in lines:
        m = re.match(r"(not ok|ok) - (\S+)(.*)", line)
        if not m:
            continue
        ran += 1
        verdict, name, rest = m.groups()
        name += tag
        skip = re.search(r"# SKIP ?(.*)", rest)
        if verdict == "not ok":
            failed.append(name)
        elif skip:
            # The harness skips tests needing their own server settings against an external
            # server.
            (skipped if "needs its own server settings" in skip.group(1) else unexpected).append(
                f"{name}: {skip.group(1).strip()}")
        else:
            passed.append(name)
    if rc != 0 and not any(f.endswith(tag) for f in failed):
        failed.append(f"(test_integration{tag} exited with {rc}; see {log})")
    integration_ran = integration_ran and ran > 0
# newman: each assertion of the Postman collection counts as one test.
passed += [f"newman assertion {i}" for i in range(newman_total - newman_failed)]
failed += [f"newman assertion {i}" for i in range(newman_failed)]
if newman_rc != 0 and newman_failed == 0:
    failed.append(f"(newman exited with {newman_rc}: skipped or broken; see {newman_log})")
print(f"Windows: newman {newman_total - newman_failed} of {newman_total} assertions passed")
for name in failed:
    if not name.startswith("newman assertion"):
        print(f"  FAILED {name}")
for what in unexpected:
    print(f"  SKIPPED (unexpected) {what}")
print(f"Windows: {len(passed)} passed, {len(failed) + len(unexpected)} failed")
print(f"Windows: {len(skipped)} skipped (need their own server settings, by design)")
if not integration_ran:
    print("Windows: warning: an integration run ran no test against the Windows server")
if failed or unexpected:
    print(f"Windows: criterion output in {sys.argv[7]} and {sys.argv[10]}, newman output in "
          f"{newman_log}")
sys.exit(1 if failed or unexpected else 0)
PY
step "done"
exit $status
