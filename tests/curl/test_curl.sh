#!/usr/bin/env bash
# test_curl.sh - curl as a client of the real uvhttpd, beyond the README's examples
# (readme_examples.sh runs those): a table of curl invocations and their expected outcomes.
#
# Usage: test_curl.sh PATH/TO/uvhttpd PROJECT_SOURCE_ROOT
#
# The document root is the standard test root (tests/make_docroot.py: resources/ plus
# tests/fixtures/docroot, which has a nested index, a dotfile and a .css outside the MIME table)
# in a temporary directory. The server runs on 127.0.0.1 port 0 with --max-body 65536, so 413
# is cheap to provoke.
#
# Each case: NAME, a bash command line ($U is the server's URL, $ROOT the document root; it runs
# in a scratch directory), and checks, one per line, in the mini-language of
# tests/lib/curl_checks.sh (status, header, header~, no-header, same, stdout-same, stdout-is,
# stdout-has, stderr-has, stderr-count, exit, ...).
# Prints one line per case and "N passed, M failed"; exits 1 on any failure.
# The commands of the table are single-quoted on purpose: $U and $ROOT expand when they run.
# shellcheck disable=SC2016,SC2317
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/server.sh
source "$(dirname "$0")/../lib/server.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/curl_checks.sh
source "$(dirname "$0")/../lib/curl_checks.sh"
suite_args "$@"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/uvhttpd-curl.XXXXXX")
cleanup() {
  uvh_server_kill
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ROOT=$TMP/root
WORK=$TMP/work
uvh_make_docroot "$ROOT" || exit 1
mkdir -p "$WORK"
# Uploads: a document of about 40 KB (under --max-body) and one of about 80 KB (over it).
python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
with open(f"{work}/doc.json", "w", encoding="utf-8") as f:
    json.dump({"name": "curl", "text": "café ✓", "numbers": list(range(7000))}, f)
with open(f"{work}/big.json", "w", encoding="utf-8") as f:
    json.dump({"numbers": list(range(14000))}, f)
PY
head -c 1100000 /dev/zero >"$WORK/zeros"
MAX_BODY=65536
LONG_PATH=$(printf 'a%.0s' $(seq 9000))
LONG_VALUE=$(printf 'b%.0s' $(seq 9000))
export LONG_PATH LONG_VALUE

uvh_server_start "$TMP/server.log" "$BIN" 0 --root "$ROOT" --max-body "$MAX_BODY"
if ! uvh_server_wait_ready 5; then
  fail "server start" "$UVH_ERROR; log:" "$(cat "$UVH_LOG")"
  finish
fi
U=$UVH_URL
PORT=$UVH_PORT
echo "uvhttpd on $U, root $ROOT, $(curl --version | head -n1 | cut -d' ' -f1-2)"
export U ROOT PORT

# ---- the table ----
NAMES=()
CMDS=()
CHECKS=()
c() { NAMES+=("$1"); CMDS+=("$2"); CHECKS+=("$3"); }

# Downloads, each file of resources/ byte for byte.
for f in "$SRC"/resources/*.*; do
  f=$(basename "$f")
  case $f in
    *.html) type='text/html; charset=utf-8' disp= ;;
    *) type=application/octet-stream disp="header|Content-Disposition: attachment; filename=\"$f\"" ;;
  esac
  c "download $f (-o, cmp)" "curl -s -o '$f' \"\$U/$f\"" "status|200
same|$f|$f
header|Content-Type: $type
header|Content-Length: $(wc -c <"$SRC/resources/$f")
header~|ETag: \"[0-9a-f]+\\.[0-9a-f]+-[0-9a-f]+\"\$
${disp:-no-header|Content-Disposition}"
done
c "GET / is index.html" 'curl -s "$U/"' 'status|200
stdout-same|index.html
header|Connection: keep-alive
header|Keep-Alive: timeout=30, max=99'
c "-OJ saves under the Content-Disposition name" 'curl -s --create-dirs --output-dir oj -OJ "$U/banner.png"' 'status|200
same|oj/banner.png|banner.png'
c "-L follows the directory redirect" 'curl -sL "$U/nested"' 'status|200
stdout-same|nested/index.html'
c "without -L: 301 with Location" 'curl -s -o /dev/null "$U/nested?a=1"' 'status|301
header|Location: /nested/?a=1'

# HEAD
c "HEAD (-I) of a download" 'curl -sI "$U/logo.png"' 'status|200
header|Content-Disposition: attachment; filename="logo.png"
header|Content-Length: 21827
header|Accept-Ranges: bytes
stdout-has|HTTP/1.1 200 OK'
c "HEAD (-I) of a page" 'curl -sI "$U/about.html"' 'status|200
header|Content-Type: text/html; charset=utf-8
no-header|Content-Disposition'

# Ranges
c "-r 0-99" 'curl -s -r 0-99 -o part "$U/sample.txt" && cmp part <(head -c 100 "$ROOT/sample.txt") && echo same' 'stdout-is|same'
c "-r 0-99 head" 'curl -s -r 0-99 -o /dev/null "$U/sample.txt"' 'status|206
header|Content-Range: bytes 0-99/377
header|Content-Length: 100'
c "-r -50" 'curl -s -r -50 "$U/sample.txt" | cmp - <(tail -c 50 "$ROOT/sample.txt") && echo same' 'stdout-is|same'
c "-r 1000000- of the large image" 'curl -s -r 1000000- -o tail.png "$U/large_photo1.png" && cmp tail.png <(tail -c +1000001 "$ROOT/large_photo1.png") && echo same' 'stdout-is|same'
c "-r past the end: 416" 'curl -s -r 1000-2000 -o /dev/null "$U/sample.txt"' 'status|416
header|Content-Range: bytes */377'
c "two ranges: 206 multipart/byteranges" 'curl -s -r 0-1,5-6 "$U/sample.txt"' 'status|206
header~|Content-Type: multipart/byteranges; boundary=[0-9a-f]{32}$
no-header|Content-Range
stdout-has|Content-Range: bytes 0-1/377
stdout-has|Content-Range: bytes 5-6/377'
c "two ranges: the exact multipart body" 'curl -s -D h -r 0-1,5-6 -o body "$U/sample.txt" && b=$(tr -d "\r" <h | sed -n "s/^Content-Type: multipart\/byteranges; boundary=//Ip") && [[ -n $b ]] && printf -- "--%s\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-1/377\r\n\r\n%s\r\n--%s\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 5-6/377\r\n\r\n%s\r\n--%s--\r\n" "$b" "$(head -c 2 "$ROOT/sample.txt")" "$b" "$(tail -c +6 "$ROOT/sample.txt" | head -c 2)" "$b" | cmp - body && echo same' 'stdout-is|same'
c "nine separate ranges: 200, whole file" 'curl -s -r 0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16 "$U/sample.txt"' 'status|200
stdout-same|sample.txt'
c "resume a download: -C -" 'head -c 5000 "$ROOT/photo.jpg" >resumed.jpg && curl -s -C - -o resumed.jpg "$U/photo.jpg" && cmp resumed.jpg "$ROOT/photo.jpg" && echo same' 'stdout-is|same'

# Conditional requests
c "-R then -z: 304" 'curl -s -R -o cond.html "$U/about.html" && curl -s -z cond.html -o cond.html -w "%{http_code}\n" "$U/about.html"' 'stdout-is|304
same|cond.html|about.html'
c "-z with an old date: 200" 'curl -s -z "Sun, 06 Nov 1994 08:49:37 GMT" -o /dev/null "$U/about.html"' 'status|200'
c "If-None-Match with the ETag of a first response: 304" \
  'etag=$(curl -sI "$U/about.html" | tr -d "\r" | sed -n "s/^ETag: //Ip") && [[ -n $etag ]] && curl -s -o /dev/null -w "%{http_code} %{size_download}\n" -H "If-None-Match: $etag" "$U/about.html"' 'stdout-is|304 0'
c "If-None-Match: another ETag: 200" 'curl -s -o /dev/null -H "If-None-Match: \"0.0-0\"" "$U/about.html"' 'status|200'
c "If-Range with the ETag: 206" \
  'etag=$(curl -sI "$U/sample.txt" | tr -d "\r" | sed -n "s/^ETag: //Ip") && curl -s -w "\n%{http_code}\n" -r 0-9 -H "If-Range: $etag" "$U/sample.txt" | tail -n 1' 'stdout-is|206'

# Uploads
c "upload --data-binary @file, fetch it back, cmp" \
  'curl -s -H "Content-Type: application/json" --data-binary @doc.json -o reply.json "$U/upload" && fp=$(sed -n "s/.*\"filepath\": \"\([^\"]*\)\".*/\1/p" reply.json) && curl -s -o back.json "$U$fp" && cmp back.json doc.json && echo same' 'stdout-is|same'
c "upload: 201 head" 'curl -s -o /dev/null -H "Content-Type: application/json" --data-binary @doc.json "$U/upload"' 'status|201
header|Content-Type: application/json
header~|Location: /uploads/upload_[0-9]{8}_[0-9]{6}_[0-9a-f]{6}\.json$'
c "chunked upload (-H Transfer-Encoding: chunked), fetch back, cmp" \
  'curl -sv -H "Content-Type: application/json" -H "Transfer-Encoding: chunked" --data-binary @doc.json -o reply.json "$U/upload" && fp=$(sed -n "s/.*\"filepath\": \"\([^\"]*\)\".*/\1/p" reply.json) && curl -s "$U$fp" | cmp - doc.json && echo same' 'stdout-is|same
stderr-has|> Transfer-Encoding: chunked
stderr-has|< HTTP/1.1 201 Created'
c "upload with Expect: 100-continue" 'curl -sv -o /dev/null -H "Content-Type: application/json" -H "Expect: 100-continue" --data-binary @doc.json "$U/upload"' 'status|201
stderr-has|< HTTP/1.1 100 Continue
stderr-has|< HTTP/1.1 201 Created'
c "upload from stdin (--data-binary @-)" 'printf "[true, false, null]" | curl -s -H "Content-Type: application/json" --data-binary @- "$U/upload"' 'stdout-has|"status": "success"'
c "upload: invalid JSON: 400 with the reason" 'curl -s -H "Content-Type: application/json" --data-binary "{\"a\": 1,}" "$U/upload"' 'status|400
header|Connection: keep-alive
stdout-is|{"status":"error","message":"Invalid JSON: string or '"'"'}'"'"' expected near '"'"'}'"'"' at line 1, column 9"}'
c "upload: text/plain: 415" 'curl -s -o /dev/null -H "Content-Type: text/plain" --data-binary @doc.json "$U/upload"' 'status|415'
c "upload: no Content-Type: 415" 'curl -s -o /dev/null -H "Content-Type:" --data-binary @doc.json "$U/upload"' 'status|415'
c "upload over --max-body $MAX_BODY: 413 before the body" 'curl -s -o /dev/null -H "Content-Type: application/json" --data-binary @big.json "$U/upload"' 'status|413
header|Connection: close'
c "chunked upload over --max-body: 413" 'curl -s -o /dev/null -w "%{http_code}\n" -H "Content-Type: application/json" -H "Transfer-Encoding: chunked" --data-binary @big.json "$U/upload"' 'stdout-is|413'
c "GET with a 1.1 MB body: 413" 'curl -s -o /dev/null -X GET --data-binary @zeros "$U/"' 'status|413'
c "upload: Expect: other: 417" 'curl -s -o /dev/null -H "Content-Type: application/json" -H "Expect: other" --data-binary "{}" "$U/upload"' 'status|417'

# HTTP/1.0 and keep-alive
c "--http1.0: answered, then closed" 'curl -sv --http1.0 "$U/"' 'status|200
stderr-has|> GET / HTTP/1.0
header|Connection: close
stdout-same|index.html'
c "--http1.0 without Host (-H Host:): 200" 'curl -sv --http1.0 -H "Host:" -o /dev/null "$U/"' 'status|200'
c "HTTP/1.1 without Host (-H Host:): 400" 'curl -sv -H "Host:" -o /dev/null "$U/"' 'status|400
header|Connection: close'
c "--http1.0 with Connection: keep-alive reuses the connection" 'curl -sv --http1.0 -H "Connection: keep-alive" -o /dev/null -o /dev/null "$U/" "$U/about.html"' 'stderr-has|Re-using existing connection
stderr-has|< Keep-Alive: timeout=30, max=98'
c "keep-alive: curl -v url url reuses the connection" 'curl -sv -o /dev/null -o /dev/null "$U/" "$U/logo.png"' 'stderr-has|Re-using existing connection
stderr-has|< Keep-Alive: timeout=30, max=99
stderr-has|< Keep-Alive: timeout=30, max=98
stderr-count|1|Connected to'
c "Connection: close is honoured" 'curl -sv -o /dev/null -H "Connection: close" "$U/"' 'status|200
header|Connection: close
no-header|Keep-Alive'

# Security
c "--path-as-is /../../etc/passwd: 403" 'curl -s -o /dev/null --path-as-is "$U/../../etc/passwd"' 'status|403'
c "--path-as-is /nested/../../etc/passwd: 403" 'curl -s -o /dev/null --path-as-is "$U/nested/../../etc/passwd"' 'status|403'
c "%2e%2e traversal: 403" 'curl -s -o /dev/null "$U/%2e%2e/%2e%2e/etc/passwd"' 'status|403'
c "..%2f traversal: 403" 'curl -s -o /dev/null "$U/..%2f..%2fetc%2fpasswd"' 'status|403'
c "..%5c traversal: 403" 'curl -s -o /dev/null "$U/..%5c..%5cetc%5cpasswd"' 'status|403'
c "dotfile: 403" 'curl -s -o /dev/null "$U/.hidden"' 'status|403'
c "without --path-as-is curl removes the dots itself" 'curl -sv -o /dev/null "$U/nested/../about.html"' 'status|200
stderr-has|> GET /about.html HTTP/1.1'
c "Host: evil.com: 403" 'curl -s -o /dev/null -H "Host: evil.com" "$U/"' 'status|403'
c "Host: localhost:PORT: 200" 'curl -s -o /dev/null -H "Host: localhost:$PORT" "$U/"' 'status|200'
c "--resolve a foreign name: 403" 'curl -s -o /dev/null --resolve "evil.example:$PORT:127.0.0.1" "http://evil.example:$PORT/"' 'status|403'
c "--resolve localhost: 200" 'curl -s -o /dev/null "http://localhost:$PORT/contact.html"' 'status|200'

# Methods and errors
c "OPTIONS: 204, Allow" 'curl -s -o /dev/null -X OPTIONS "$U/index.html"' 'status|204
header|Allow: GET, HEAD, OPTIONS'
c "OPTIONS /upload: 204, Allow" 'curl -s -o /dev/null -X OPTIONS "$U/upload"' 'status|204
header|Allow: POST, OPTIONS'
c "OPTIONS * (--request-target)" 'curl -s -o /dev/null -X OPTIONS --request-target "*" "$U/"' 'status|204
header|Allow: GET, HEAD, OPTIONS'
c "PUT a page: 405, Allow" 'curl -s -o /dev/null -T doc.json "$U/index.html"' 'status|405
header|Allow: GET, HEAD, OPTIONS'
c "DELETE /upload: 405, Allow" 'curl -s -o /dev/null -X DELETE "$U/upload"' 'status|405
header|Allow: POST, OPTIONS'
c "BREW: 501" 'curl -s -o /dev/null -X BREW "$U/"' 'status|501
header|Connection: close'
c ".css outside the MIME table: 415" 'curl -s -o /dev/null "$U/style.css"' 'status|415'
c "missing file: 404, -f makes curl fail" 'curl -sf -o /dev/null "$U/missing.png"' 'exit|22'
c "9000-byte target: 414" 'curl -s -o /dev/null "$U/$LONG_PATH"' 'status|414'
c "a 9000-byte header: 431" 'curl -s -o /dev/null -H "X-Big: $LONG_VALUE" "$U/"' 'status|431'
c "bad %-escape: 400" 'curl -s -o /dev/null "$U/%zz"' 'status|400'

# Parallel downloads
c "curl --parallel: four downloads of the large image at once" 'curl -s --parallel --parallel-immediate --parallel-max 4 -o p1.png "$U/large_photo1.png" -o p2.png "$U/large_photo1.png" -o p3.png "$U/large_photo1.png" -o p4.png "$U/photo.jpg"' 'same|p1.png|large_photo1.png
same|p2.png|large_photo1.png
same|p3.png|large_photo1.png
same|p4.png|photo.jpg'
c "curl --parallel with ranges" 'curl -s --parallel -r 0-99999 -o r1 "$U/large_photo1.png" --next -r 100000- -o r2 "$U/large_photo1.png" && cat r1 r2 >joined.png' 'same|joined.png|large_photo1.png'

# ---- the run ----
for i in "${!NAMES[@]}"; do
  run_case "${NAMES[$i]}" "${CMDS[$i]}" "${CHECKS[$i]}"
done
check_server_stops
finish
