# shellcheck shell=bash disable=SC2034 # BIN and SRC are read by the suites
# tests/lib/curl_checks.sh - the check mini-language of the curl suites (tests/curl/test_curl.sh,
# tests/curl/readme_examples.sh), their pass/fail counting and summary line. Source
# tests/lib/server.sh first. The caller sets TMP (scratch files of this file), WORK (the
# directory the commands run in) and ROOT (the document root the server serves).
#
# A case is a bash command line and checks, one per line, fields separated by "|":
#   status|CODE          status of the last response, from a -D header dump appended to the
#                        command when it is a single curl (compound commands may not use the
#                        response-head checks: status, header, header~, no-header, length)
#   header|Name: value   that header line is present, exactly (name case-insensitive)
#   header~|Name: ERE    a header line matches ^Name: ERE (case-insensitive)
#   no-header|Name       no such header
#   length|FILE          Content-Length equals the size of FILE in the document root
#   same|NAME|FILE       the scratch file NAME (in WORK) is identical to FILE of the root
#   stdout-same|FILE     stdout is byte-for-byte FILE of the root
#   stdout-bytes|FILE|OFFSET|COUNT   stdout is COUNT bytes of FILE from OFFSET
#   stdout-is|TEXT       stdout, without its final newline, is TEXT
#   stdout-has|TEXT      stdout contains TEXT
#   stderr-has|TEXT      stderr contains TEXT (curl -v writes the exchange there)
#   stderr-count|N|TEXT  TEXT occurs on exactly N lines of stderr
#   exit|N               exit status N (0 is required otherwise)

# suite_args ARGS...: a suite's arguments, PATH/TO/uvhttpd PROJECT_SOURCE_ROOT: sets BIN and SRC,
# or prints the usage and exits 2.
suite_args() {
  if (($# != 2)); then
    echo "usage: $0 PATH/TO/uvhttpd PROJECT_SOURCE_ROOT" >&2
    exit 2
  fi
  BIN=$(realpath "$1")
  SRC=$(realpath "$2")
}

passed=0
failed=0
pass() { passed=$((passed + 1)); printf 'ok   %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$1"; shift; printf '     %s\n' "$@"; }
# The closing line CI reads; exits 1 on any failure.
finish() {
  echo "$passed passed, $failed failed"
  ((failed == 0))
  exit $?
}

hdr_lines() { tr -d '\r' <"$TMP/hdr" 2>/dev/null; }
last_status() { hdr_lines | sed -n 's|^HTTP/[0-9.]* \([0-9][0-9][0-9]\).*|\1|p' | tail -n 1; }
# The headers of the last response in the dump (after redirects or 1xx, only the final head).
last_head() { hdr_lines | awk '/^HTTP\//{n=0; delete h} {h[n++]=$0} END{for(i=0;i<n;i++) print h[i]}'; }

run_check() { # KIND A B C: echoes a reason and returns 1 when the check fails
  local kind=$1 a=${2:-} b=${3:-} c=${4:-}
  case $kind in
    status)
      local got
      got=$(last_status)
      [[ $got == "$a" ]] || { echo "status '$got', expected $a"; return 1; } ;;
    header)
      last_head | grep -Fxiq -- "$a" || { echo "no header line '$a'"; return 1; } ;;
    header~)
      last_head | grep -Eiq -- "^$a" || { echo "no header line matching '^$a'"; return 1; } ;;
    no-header)
      ! last_head | grep -iq -- "^$a:" || { echo "unexpected header $a"; return 1; } ;;
    length)
      local size
      size=$(wc -c <"$ROOT/$a")
      last_head | grep -Fxiq "Content-Length: $size" ||
        { echo "Content-Length is not $size (size of $a)"; return 1; } ;;
    same)
      cmp -s "$WORK/$a" "$ROOT/$b" || { echo "$a differs from $b (or is missing)"; return 1; } ;;
    stdout-same)
      cmp -s "$TMP/out" "$ROOT/$a" || { echo "stdout differs from $a"; return 1; } ;;
    stdout-bytes)
      cmp -s "$TMP/out" <(tail -c +"$((b + 1))" "$ROOT/$a" | head -c "$c") ||
        { echo "stdout is not bytes $b..$((b + c - 1)) of $a"; return 1; } ;;
    stdout-is)
      local out
      out=$(cat "$TMP/out")
      [[ $out == "$a" ]] || { echo "stdout '${out:0:200}', expected '$a'"; return 1; } ;;
    stdout-has)
      grep -Fq -- "$a" "$TMP/out" || { echo "stdout lacks '$a'"; return 1; } ;;
    stderr-has)
      grep -Fq -- "$a" "$TMP/err" || { echo "stderr lacks '$a'"; return 1; } ;;
    stderr-count)
      local n
      n=$(grep -Fc -- "$b" "$TMP/err")
      ((n == a)) || { echo "stderr has '$b' on $n lines, expected $a"; return 1; } ;;
    exit) ;;
    *)
      echo "unknown check kind '$kind'"; return 1 ;;
  esac
  return 0
}

# run_case NAME COMMAND CHECKS: runs COMMAND with bash in WORK (30 s at most), then the checks;
# counts and prints the case.
run_case() {
  local name=$1 cmd=$2 expect=$3 compound=0 rc want_rc=0 kind a b c why
  local reasons=()
  [[ $cmd == *'&'* || $cmd == *'|'* || $cmd == *';'* || $cmd != "curl "* ]] && compound=1
  if ((compound)) && grep -Eq '^(status|header|header~|no-header|length)\|' <<<"$expect"; then
    fail "$name" "response-head checks need a single curl command" "command: $cmd"
    return
  fi
  rm -f "$TMP/hdr" "$TMP/out" "$TMP/err"
  ((compound)) || cmd+=" -D '$TMP/hdr'"
  (cd "$WORK" && timeout 30 bash -c "$cmd") >"$TMP/out" 2>"$TMP/err" </dev/null
  rc=$?
  while IFS='|' read -r kind a b c; do
    [[ -z $kind ]] && continue
    [[ $kind == exit ]] && want_rc=$a
    why=$(run_check "$kind" "$a" "$b" "$c") || reasons+=("$why")
  done <<<"$expect"
  ((rc == want_rc)) ||
    reasons+=("exit status $rc, expected $want_rc; stderr: $(tail -c 300 "$TMP/err")")
  if ((${#reasons[@]} == 0)); then
    pass "$name"
  else
    fail "$name" "${reasons[@]}" "command: $cmd"
  fi
}

# The last case of a suite: the server survived the cases and stops on SIGTERM, cleanly
# (tests/lib/server.sh: exit status 0, no sanitizer report, "Server stopped").
check_server_stops() {
  local name="server stops on SIGTERM with exit status 0"
  if uvh_server_stop TERM 10; then
    pass "$name"
  else
    fail "$name" "$UVH_ERROR; log tail:" "$(tail -n 20 "$UVH_LOG")"
  fi
}
