#!/usr/bin/env bash
# readme_examples.sh - runs every server example of README.md against a live uvhttpd and checks
# its outcome, so the README cannot drift from the server.
#
# Usage: readme_examples.sh PATH/TO/uvhttpd PROJECT_SOURCE_ROOT
#
# It builds the standard test root (tests/make_docroot.py) in a temporary directory, starts the
# binary on 127.0.0.1 port 0, waits for "HTTP Server started on http://127.0.0.1:PORT", then takes
# from the ```sh blocks of README.md every line that starts with "curl " or that talks to the
# example server (127.0.0.1:8080, localhost:8080 or /dev/tcp/127.0.0.1/8080), points it at the
# real port and runs it with bash in a scratch directory (shared by all examples, in README
# order, so one example may use a file an earlier one downloaded).
#
# The expected outcome of each example is in EXPECT below, keyed by the exact README line.
# A README example without an entry fails, and so does an entry whose line is no longer in the
# README. A "curl " line outside an ```sh block fails too (it would escape the test).
#
# Checks, one per line of an entry: the mini-language of tests/lib/curl_checks.sh (status,
# header, header~, no-header, length, same, stdout-same, stdout-bytes, stdout-is, stdout-has,
# stderr-has, exit, ...).
# Prints one line per example and "N passed, M failed"; exits 1 on any failure.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/server.sh
source "$(dirname "$0")/../lib/server.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/curl_checks.sh
source "$(dirname "$0")/../lib/curl_checks.sh"
suite_args "$@"
README=$SRC/README.md

declare -A EXPECT
EXPECT["curl -v http://127.0.0.1:8080/"]='status|200
header|Content-Type: text/html; charset=utf-8
length|index.html
header|Connection: keep-alive
header|Keep-Alive: timeout=30, max=99
header|X-Content-Type-Options: nosniff
header~|ETag: "[0-9a-f]+\.[0-9a-f]+-[0-9a-f]+"$
stdout-same|index.html
stderr-has|> Host: 127.0.0.1:
stderr-has|< HTTP/1.1 200 OK'
EXPECT["curl -I http://127.0.0.1:8080/about.html"]='status|200
stdout-has|HTTP/1.1 200 OK
header|Content-Type: text/html; charset=utf-8
length|about.html
header|Accept-Ranges: bytes
header~|Last-Modified: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$
header~|ETag: "
no-header|Content-Disposition'
EXPECT["curl http://127.0.0.1:8080/logo.png -o logo.png"]='status|200
same|logo.png|logo.png
header|Content-Type: application/octet-stream
header|Content-Disposition: attachment; filename="logo.png"
length|logo.png'
EXPECT["curl -sI http://127.0.0.1:8080/logo.png"]='status|200
stdout-has|Content-Disposition: attachment; filename="logo.png"
stdout-has|Content-Type: application/octet-stream'
EXPECT["curl -OJ http://127.0.0.1:8080/photo.jpg"]='status|200
same|photo.jpg|photo.jpg
header|Content-Disposition: attachment; filename="photo.jpg"'
EXPECT["curl -i http://127.0.0.1:8080/missing.html"]='status|404
stdout-has|HTTP/1.1 404 Not Found
stdout-has|<title>404 Not Found</title>
header|Content-Type: text/html; charset=utf-8'
EXPECT["curl -r 0-99 http://127.0.0.1:8080/sample.txt"]='status|206
header|Content-Range: bytes 0-99/377
header|Content-Length: 100
stdout-bytes|sample.txt|0|100'
EXPECT["curl -r -50 http://127.0.0.1:8080/sample.txt"]='status|206
header|Content-Range: bytes 327-376/377
stdout-bytes|sample.txt|327|50'
EXPECT["curl -i -r 1000-2000 http://127.0.0.1:8080/sample.txt"]='status|416
header|Content-Range: bytes */377
stdout-has|HTTP/1.1 416 Range Not Satisfiable'
EXPECT["curl -i -r 0-9,-10 http://127.0.0.1:8080/sample.txt"]='status|206
header~|Content-Type: multipart/byteranges; boundary=[0-9a-f]{32}$
no-header|Content-Range
stdout-has|Content-Range: bytes 0-9/377
stdout-has|Content-Range: bytes 367-376/377'
EXPECT["curl -s -R -O http://127.0.0.1:8080/about.html"]='status|200
same|about.html|about.html'
EXPECT["curl -s -z about.html -o about.html -w '%{http_code}\n' http://127.0.0.1:8080/about.html"]='status|304
stdout-is|304
same|about.html|about.html
no-header|Content-Length'
EXPECT["curl -s --etag-save etag.txt -o about.html http://127.0.0.1:8080/about.html"]='status|200
header~|ETag: "
same|about.html|about.html'
EXPECT["curl -s --etag-compare etag.txt -o about.html -w '%{http_code}\n' http://127.0.0.1:8080/about.html"]='status|304
stdout-is|304
header~|ETag: "'
EXPECT["curl -i -H \"Host: evil.com\" http://127.0.0.1:8080/"]='status|403
stdout-has|HTTP/1.1 403 Forbidden'
EXPECT["curl -i http://localhost:8080/contact.html"]='status|200
stdout-has|HTTP/1.1 200 OK
length|contact.html'
EXPECT["curl -i --path-as-is http://127.0.0.1:8080/../../etc/passwd"]='status|403
stdout-has|HTTP/1.1 403 Forbidden'
EXPECT["curl -i http://127.0.0.1:8080/%2e%2e/%2e%2e/etc/passwd"]='status|403'
EXPECT["curl -i http://127.0.0.1:8080/.git/config"]='status|403'
EXPECT["curl -i -X OPTIONS http://127.0.0.1:8080/"]='status|204
header|Allow: GET, HEAD, OPTIONS
no-header|Content-Length'
EXPECT["curl -i -X POST http://127.0.0.1:8080/index.html"]='status|405
header|Allow: GET, HEAD, OPTIONS'
EXPECT["curl -i -X DELETE http://127.0.0.1:8080/index.html"]='status|405
header|Allow: GET, HEAD, OPTIONS'
EXPECT["curl -i -X BREW http://127.0.0.1:8080/"]='status|501
header|Connection: close'
EXPECT["curl -i http://127.0.0.1:8080/uploads"]='status|301
header|Location: /uploads/'
EXPECT["curl -i http://127.0.0.1:8080/uploads/"]='status|404'
EXPECT["curl -s -o a.png http://127.0.0.1:8080/large_photo1.png & curl -s -o b.png http://127.0.0.1:8080/large_photo1.png & wait"]='same|a.png|large_photo1.png
same|b.png|large_photo1.png'
EXPECT["printf 'GET / HTTP/1.1\r\n\r\n' | bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080; cat >&3; cat <&3'"]='stdout-has|HTTP/1.1 400 Bad Request
stdout-has|Connection: close'
EXPECT["curl -s -o /dev/null -w '%{http_code} %{size_download}\n' -H 'Range: bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16' http://127.0.0.1:8080/sample.txt"]='status|200
stdout-is|200 377'
EXPECT["curl -s -o /dev/null -w '%{http_code}\n' -X GET --data-binary @a.png http://127.0.0.1:8080/"]='status|413
stdout-is|413'
# Uploads (README "Uploads"): the stored file's name is random, so the second example reads it
# from the reply the first one saved.
EXPECT["curl -i -H 'Content-Type: application/json' --data-binary '{\"name\": \"example\", \"values\": [1, 2, 3]}' http://127.0.0.1:8080/upload"]='status|201
header|Content-Type: application/json
header~|Location: /uploads/upload_[0-9]{8}_[0-9]{6}_[0-9a-f]{6}\.json$
stdout-has|HTTP/1.1 201 Created
stdout-has|{"status": "success", "message": "File created successfully", "filepath": "/uploads/upload_'
EXPECT["curl -s -H 'Content-Type: application/json' --data-binary '[1, 2, 3]' -o reply.json http://127.0.0.1:8080/upload"]='status|201
header~|Location: /uploads/upload_[0-9]{8}_[0-9]{6}_[0-9a-f]{6}\.json$'
EXPECT["curl -s \"http://127.0.0.1:8080\$(sed -n 's/.*\"filepath\": \"\\([^\"]*\\)\".*/\\1/p' reply.json)\""]='status|200
header|Content-Type: application/json
header|Content-Length: 9
stdout-is|[1, 2, 3]'
EXPECT["curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary '{\"chunked\": true}' http://127.0.0.1:8080/upload"]='status|201
stdout-is|201'
EXPECT["curl -v -H 'Content-Type: application/json' -H 'Expect: 100-continue' --data-binary '{\"big\": false}' http://127.0.0.1:8080/upload"]='status|201
stderr-has|> Expect: 100-continue
stderr-has|< HTTP/1.1 100 Continue
stderr-has|< HTTP/1.1 201 Created
stdout-has|"status": "success"'
EXPECT["curl -i -H 'Content-Type: application/json' --data-binary '{\"a\": 1,}' http://127.0.0.1:8080/upload"]='status|400
header|Content-Type: application/json
header|Connection: keep-alive
stdout-has|{"status":"error","message":"Invalid JSON: string or '"'"'}'"'"' expected near '"'"'}'"'"' at line 1, column 9"}'
EXPECT["curl -i -H 'Content-Type: text/plain' --data-binary 'hello' http://127.0.0.1:8080/upload"]='status|415
stdout-has|HTTP/1.1 415 Unsupported Media Type'
EXPECT["head -c 11000000 /dev/zero | curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' --data-binary @- http://127.0.0.1:8080/upload"]='stdout-is|413'
EXPECT["curl -i http://127.0.0.1:8080/upload"]='status|405
header|Allow: POST, OPTIONS'
EXPECT["curl -i -X OPTIONS http://127.0.0.1:8080/upload"]='status|204
header|Allow: POST, OPTIONS'

TMP=$(mktemp -d "${TMPDIR:-/tmp}/uvhttpd-readme.XXXXXX")
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  uvh_server_kill
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ ! -f $README ]]; then
  fail "README.md exists" "no $README"
  finish
fi

ROOT=$TMP/root
WORK=$TMP/work
uvh_make_docroot "$ROOT" || exit 1
mkdir "$WORK"

# ---- the examples: ```sh blocks, continuation lines joined ----
examples=()
stray=()
in_sh=0
fence=
pending=
while IFS= read -r line || [[ -n $line ]]; do
  if [[ $line =~ ^[[:space:]]*(\`\`\`+)(.*)$ ]]; then
    if [[ -z $fence ]]; then
      fence=${BASH_REMATCH[1]}
      lang=${BASH_REMATCH[2]//[[:space:]]/}
      [[ $lang == sh ]] && in_sh=1 || in_sh=0
    elif [[ ${BASH_REMATCH[1]} == "$fence" ]]; then
      fence=
      in_sh=0
    fi
    continue
  fi
  if ((in_sh)); then
    line=${line#"${line%%[![:space:]]*}"} # indented blocks (in list items) too
    if [[ -n $pending ]]; then
      line="$pending $line"
      pending=
    fi
    if [[ $line == *\\ ]]; then
      pending=${line%\\}
      continue
    fi
    if [[ $line == "curl "* || $line == *127.0.0.1:8080* || $line == *localhost:8080* ||
          $line == */dev/tcp/127.0.0.1/8080* ]]; then
      examples+=("$line")
    fi
  elif [[ $line == "curl "* ]]; then
    stray+=("$line")
  fi
done <"$README"

for line in "${stray[@]+"${stray[@]}"}"; do
  fail "README: curl line outside a \`\`\`sh block: $line" "put it in a \`\`\`sh block (it is then run here)"
done
if ((${#examples[@]} == 0)); then
  fail "README has curl examples" "no example lines found in $README"
  finish
fi

declare -A in_readme
for line in "${examples[@]}"; do
  in_readme["$line"]=1
done
for key in "${!EXPECT[@]}"; do
  [[ -n ${in_readme["$key"]:-} ]] || fail "expectation without a README line: $key" \
    "remove it from EXPECT in $0, or restore the README line"
done

# ---- the server ----
uvh_server_start "$TMP/server.log" "$BIN" 0 --root "$ROOT"
if ! uvh_server_wait_ready 5; then
  fail "server start" "$UVH_ERROR; log:" "$(cat "$UVH_LOG")"
  finish
fi
PORT=$UVH_PORT
echo "uvhttpd on 127.0.0.1:$PORT, root $ROOT"

# ---- the run ----
for line in "${examples[@]}"; do
  if [[ -z ${EXPECT["$line"]+set} ]]; then
    fail "$line" "no expectation: add this README line to EXPECT in tests/curl/readme_examples.sh"
    continue
  fi
  expect=${EXPECT["$line"]}
  cmd=${line//127.0.0.1:8080/127.0.0.1:$PORT}
  cmd=${cmd//localhost:8080/localhost:$PORT}
  cmd=${cmd//\/dev\/tcp\/127.0.0.1\/8080//dev/tcp/127.0.0.1/$PORT}
  if [[ $cmd == "$line" ]]; then
    fail "$line" "does not name the example server 127.0.0.1:8080 / localhost:8080"
    continue
  fi
  run_case "$line" "$cmd" "$expect"
done

check_server_stops
finish
