#!/usr/bin/env python3
"""Command-line tests for the uvhttpd binary: options, exit codes, start-up and access logs,
signals. Standard library only (Debian 12's python3).

Usage: test_cli.py PATH/TO/uvhttpd

Each test starts its own server on port 0 (tests/lib/uvh_test.py: the readiness line is printed
at every log level) with a temporary document root. Prints one line per test and a final
"N passed, M failed"; exits 1 when any test failed. CLI_TESTS="name ..." runs a subset.
"""

import http.client
import os
import re
import signal
import socket
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import uvh_test as uvh  # noqa: E402
from uvh_test import INDEX_HTML, LOG_LINE, Server, check, make_root, run, test  # noqa: E402

LONG_OPTIONS = ["--port", "--host", "--threads", "--root", "--keep-alive-timeout", "--workers",
                "--accept",
                "--max-requests", "--request-timeout", "--log-level", "--mime", "--allow-host", "--help",
                "--version", "--proxy-protocol", "--access-log", "--access-log-format",
                "--health-path"]


# ---- --help, --version, bad arguments ----

@test
def help_lists_every_option():
    for flag in ("--help", "-h"):
        r = run([flag])
        out = r.stdout.decode()
        check(r.returncode == 0, "%s: exit %d" % (flag, r.returncode))
        check(out.startswith("Usage: uvhttpd [PORT] [HOST] [MAX_THREADS]"), "usage line: " + out)
        for opt in LONG_OPTIONS:
            check(re.search(r"(^|\s)%s\b" % re.escape(opt), out), "%s missing from help" % opt)
        for short in ("-p,", "-t,", "-r,", "-l,", "-m,", "-h,", "-V,"):
            check(short in out, "%s missing from help" % short)
        check(r.stderr == b"", "help wrote to stderr: %r" % r.stderr)


@test
def help_wins_over_later_arguments():
    r = run(["--help", "--nope"])
    check(r.returncode == 0 and b"Usage:" in r.stdout, "exit %d" % r.returncode)


@test
def version_output():
    for flag in ("--version", "-V"):
        r = run([flag])
        lines = r.stdout.decode().splitlines()
        check(r.returncode == 0, "%s: exit %d" % (flag, r.returncode))
        check(lines and lines[0] == "uvhttpd 0.1.0", "first line: %r" % lines)
        check(len(lines) == 2 and re.match(
            r"^libuv \d+\.\d+\.\d+, llhttp \d+\.\d+\.\d+, jansson \d+\.\d+(\.\d+)?$", lines[1]),
            "library line: %r" % lines)
        check(r.stderr == b"", "version wrote to stderr")


BAD_ARGS = [
    (["abc"], "invalid port 'abc'"),
    (["99999"], "invalid port '99999'"),
    (["65536"], "invalid port '65536'"),
    (["-1"], "unknown option '-1'"),
    (["--port", "-1"], "invalid port '-1'"),
    (["--", "-1"], "invalid port '-1'"),
    (["0", "127.0.0.1", "0"], "invalid threads '0'"),
    (["0", "127.0.0.1", "1025"], "invalid threads '1025'"),
    (["--threads", "0"], "invalid threads '0'"),
    (["--threads=1025"], "invalid threads '1025'"),
    (["-t", "x"], "invalid threads 'x'"),
    (["--nope"], "unknown option '--nope'"),
    (["--root"], "option '--root' needs a value"),
    (["--root", ""], "invalid root: empty"),
    (["--log-level", "loud"], "invalid log-level 'loud'"),
    (["-l", "INFO"], "invalid log-level 'INFO'"),
    (["1", "2", "3", "4"], "unexpected argument '4'"),
    (["--keep-alive-timeout", "0"], "invalid keep-alive-timeout '0'"),
    (["--max-requests", "0"], "invalid max-requests '0'"),
    (["--request-timeout", "3601"], "invalid request-timeout '3601'"),
    (["--mime", "css=text/css"], "invalid mime 'css=text/css'"),
    (["--workers", "0"], "invalid workers '0': expected auto or a whole number from 1 to 256"),
    (["--workers", "lots"], "invalid workers 'lots'"),
    (["--workers=257"], "invalid workers '257'"),
    (["--workers"], "option '--workers' needs a value (N|auto)"),
    (["--accept", "kernel"], "invalid accept 'kernel': expected reuseport or handoff"),
    (["--mime", ".css="], "invalid mime '.css='"),
    (["--mime", ".c/s=text/css"], "invalid mime '.c/s=text/css'"),
    (["--mime", ".css=textcss"], "invalid mime '.css=textcss'"),
    (["-p9000"], "unknown option '-p9000'"),
    (["-m", ".a=x/y"] * 65, "too many --mime options (at most 64)"),
    (["--version=1"], "option '--version' takes no value"),
]


@test
def bad_arguments_exit_2_with_reason_and_usage():
    for args, reason in BAD_ARGS:
        r = run(args)
        err = r.stderr.decode()
        check(r.returncode == 2, "%s: exit %d, expected 2" % (args, r.returncode))
        first = err.splitlines()[0] if err else ""
        check(first.startswith("uvhttpd: ") and reason in first,
              "%s: first stderr line %r lacks %r" % (args, first, reason))
        check("Usage: uvhttpd" in err and "--port" in err, "%s: no usage on stderr" % args)
        check(r.stdout == b"", "%s: wrote to stdout" % args)


# ---- start-up failures ----

@test
def missing_root_exits_1():
    with tempfile.TemporaryDirectory() as tmp:
        missing = os.path.join(tmp, "no-such-dir")
        r = run(["0", "--root", missing])
        err = r.stderr.decode()
        check(r.returncode == 1, "exit %d, expected 1" % r.returncode)
        check("Document root %s cannot be used" % missing in err and "no such file" in err,
              "message: %r" % err)
        check("uvhttpd: failed to start" in err, "message: %r" % err)
        # The default ./resources, relative to the working directory, missing too:
        r = run(["0"], cwd=tmp)
        check(r.returncode == 1 and "./resources" in r.stderr.decode(),
              "default root: exit %d %r" % (r.returncode, r.stderr))


@test
def root_that_is_a_file_exits_1():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "file")
        open(path, "w").close()
        r = run(["0", "--root", path])
        check(r.returncode == 1, "exit %d" % r.returncode)
        check("is not a directory" in r.stderr.decode(), "message: %r" % r.stderr)


@test
def port_in_use_exits_1():
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        try:
            r = run([str(port), "--root", root])
        finally:
            s.close()
        err = r.stderr.decode()
        check(r.returncode == 1, "exit %d, expected 1" % r.returncode)
        check("Cannot listen on 127.0.0.1:%d" % port in err and "address already in use" in err,
              "message: %r" % err)
        for line in err.splitlines():
            check(LOG_LINE.match(line) or line.startswith("uvhttpd: "), "line %r" % line)


@test
def invalid_host_exits_1():
    with tempfile.TemporaryDirectory() as tmp:
        r = run(["0", "999.1.1.1", "--root", make_root(tmp)])
        check(r.returncode == 1, "exit %d" % r.returncode)
        check("Invalid host address '999.1.1.1'" in r.stderr.decode(), "msg %r" % r.stderr)


# ---- a running server ----

@test
def port_0_default_root_and_startup_lines():
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp, "resources")  # the default --root is ./resources
        with Server(["0"], cwd=tmp) as srv:
            check(srv.host == "127.0.0.1", "host %r" % srv.host)
            check(srv.port > 0, "port %d" % srv.port)
            status, headers, body = srv.get("/")
            check(status == 200 and body == INDEX_HTML, "GET / -> %d %r" % (status, body[:80]))
            check(headers["content-type"] == "text/html; charset=utf-8", str(headers))
            srv.wait_for(r"\[info\] Press Ctrl\+C to stop the server$")
            srv.wait_for(r"\[info\] Thread pool size: 10$")
            srv.wait_for(r"\[info\] Document root: %s$" % re.escape(os.path.realpath(root)))
            srv.wait_for(r"\[info\] uvhttpd 0\.1\.0 \(libuv ")
            srv.wait_for(r'"GET / HTTP/1\.1" host ok -> 200 OK, index\.html ')
            check(os.path.isdir(os.path.join(root, "uploads")), "uploads/ not created in root")
            srv.stop()
            srv.check_log_format()


@test
def positional_host_and_threads():
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        with Server(["0", "127.0.0.1", "3", "--root", root]) as srv:
            srv.wait_for(r"Thread pool size: 3$")
            check(srv.get("/hello.html")[0] == 200, "GET")
            srv.stop()
        with Server(["--port", "0", "--threads", "4", "--root", root]) as srv:
            srv.wait_for(r"Thread pool size: 4$")
            srv.stop()
        with Server(["-p", "0", "-t", "5", "-r", root]) as srv:
            srv.wait_for(r"Thread pool size: 5$")
            srv.stop()


@test
def host_localhost():
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--host", "localhost", "--root", make_root(tmp)]) as srv:
            check(srv.host == "localhost", "readiness host %r" % srv.host)
            for name in ("localhost", "127.0.0.1"):
                st = srv.get("/", {"Host": "%s:%d" % (name, srv.port)})[0]
                check(st == 200, "Host %s -> %d" % (name, st))
            st = srv.get("/", {"Host": "example.com:%d" % srv.port})[0]
            check(st == 403, "foreign Host -> %d" % st)
            srv.stop()


@test
def root_option_serves_temp_dir():
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        with Server(["0", "--root", root]) as srv:
            status, headers, body = srv.get("/hello.html")
            check(status == 200 and body == b"<p>hello from a temporary root</p>\n",
                  "GET /hello.html -> %d %r" % (status, body))
            check(srv.get("/about.html")[0] == 404, "about.html should not exist here")
            status, headers, body = srv.get("/notes.txt")
            check(status == 200 and headers["content-type"] == "application/octet-stream" and
                  headers.get("content-disposition") == 'attachment; filename="notes.txt"',
                  "notes.txt: %d %s" % (status, headers))
            srv.wait_for(r"Document root: %s$" % re.escape(os.path.realpath(root)))
            srv.stop()


@test
def access_log_at_info():
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp)]) as srv:
            srv.get("/hello.html")
            srv.get("/missing.html")
            srv.wait_for(r'\[info\] \[#\d+\] 127\.0\.0\.1:\d+ "GET /hello\.html HTTP/1\.1" host ok'
                         r' -> 200 OK, hello\.html \(35 bytes\), \d+ bytes, keep-alive, '
                         r'[\d.]+ ms$')
            srv.wait_for(r'"GET /missing\.html HTTP/1\.1" host ok -> 404 Not Found, no file')
            srv.stop()
            srv.check_log_format()


def _log_at(level):
    """(port, log lines) of a server at `level` that answered a GET, a foreign Host (a warning)
    and a missing file (an access line), then stopped."""
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp), "--log-level", level]) as srv:
            check(srv.get("/hello.html")[0] == 200, "GET")
            check(srv.get("/", {"Host": "evil.com"})[0] == 403, "foreign host")
            check(srv.get("/missing.html")[0] == 404, "missing file")
            srv.stop()
            srv.check_log_format()
            return srv.port, srv.text().split("\n")


@test
def log_level_warn_hides_access_lines():
    port, lines = _log_at("warn")
    check(any(re.search(r'\[warn\] \[#\d+\] Security: Host "evil\.com" rejected', line)
              for line in lines), "no warning for the foreign Host: %s" % lines)
    check(not any('"GET /' in line for line in lines), "access line at warn: %s" % lines)
    # The readiness line is the one line every level prints (README "Logging").
    info = [line for line in lines if "[info]" in line]
    check(len(info) == 1 and info[0].endswith("HTTP Server started on http://127.0.0.1:%d"
                                              % port),
          "info lines at warn other than the readiness line: %s" % info)


@test
def log_level_error_prints_only_the_readiness_line():
    port, lines = _log_at("error")
    check(len(lines) == 1 and lines[0].endswith("] [info] HTTP Server started on "
                                                "http://127.0.0.1:%d" % port),
          "log at error: %s" % lines)


@test
def log_level_debug_adds_request_lines():
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp), "-l", "debug"]) as srv:
            srv.get("/hello.html")
            srv.wait_for(r"\[debug\] \[#\d+\] Request: GET /hello\.html HTTP/1\.1$")
            srv.wait_for(r'\[info\] .*"GET /hello\.html HTTP/1\.1" host ok -> 200 OK')
            srv.stop()
            srv.check_log_format()


def _escape_case(srv, target, escaped, raw_byte):
    """Sends GET <target>; the access log must show the target escaped, never the raw byte."""
    mark = srv.mark()
    reply = srv.raw(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                    b"Connection: close\r\n\r\n" % srv.port)
    check(reply.startswith(b"HTTP/1.1 "), "reply %r" % reply[:40])
    srv.wait_for(r'" host .* -> \d{3} ', start=mark)  # the access line
    new = srv.text().split("\n")[mark:]
    check(not any(raw_byte in line for line in new), "raw byte %r logged: %r" % (raw_byte, new))
    check(any(('"GET %s HTTP/1.1"' % escaped) in line for line in new),
          "no access line with target %s; new log lines:\n%s" % (escaped, "\n".join(new)))


@test
def log_escapes_tab_quote_and_high_bytes():
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp)]) as srv:
            _escape_case(srv, b"/a\tb", r"/a\x09b", "\t")
            _escape_case(srv, b'/a"b', r"/a\x22b", '"b')
            _escape_case(srv, b"/a\xffb", r"/a\xffb", "\xff")
            srv.stop()


@test
def log_escapes_esc_in_target():
    # "GET /a<ESC>b HTTP/1.1": llhttp rejects the ESC byte (400), and the logged target must
    # show it as \x1b.
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp)]) as srv:
            _escape_case(srv, b"/a\x1bb", r"/a\x1bb", "\x1b")
            srv.stop()


@test
def mime_option_adds_a_type():
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        with Server(["0", "--root", root]) as srv:
            status, headers, _ = srv.get("/style.css")
            check(status == 415, "style.css without --mime -> %d" % status)
            srv.stop()
        with Server(["0", "--root", root, "--mime", ".css=text/css",
                     "-m", ".txt=text/plain; charset=utf-8"]) as srv:
            status, headers, body = srv.get("/style.css")
            check(status == 200 and headers["content-type"] == "text/css" and
                  body == b"body { color: #333; }\n", "style.css -> %d %s" % (status, headers))
            check("content-disposition" not in headers, "css served as a download")
            status, headers, body = srv.get("/notes.txt")
            check(status == 200 and headers["content-type"] == "text/plain; charset=utf-8" and
                  "content-disposition" not in headers, "override .txt: %s" % headers)
            srv.stop()
        # Extensions match case-insensitively; the last --mime for an extension wins.
        with open(os.path.join(root, "UPPER.CSS"), "wb") as f:
            f.write(b"p {}\n")
        with Server(["0", "--root", root, "-m", ".css=text/plain", "-m", ".CSS=text/css"]) as srv:
            for path in ("/style.css", "/UPPER.CSS"):
                status, headers, _ = srv.get(path)
                check(status == 200 and headers["content-type"] == "text/css",
                      "%s -> %d %s" % (path, status, headers))
            srv.stop()
        with Server(["0", "--root", root, "--mime", ".css=application/octet-stream"]) as srv:
            status, headers, _ = srv.get("/style.css")
            check(status == 200 and
                  headers.get("content-disposition") == 'attachment; filename="style.css"',
                  "octet-stream download: %s" % headers)
            srv.stop()


def local_ipv4():
    """A non-loopback IPv4 address of this machine, or None (no packet is sent)."""
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("192.0.2.1", 9))
        ip = s.getsockname()[0]
        s.close()
        return None if ip.startswith("127.") else ip
    except OSError:
        return None


def get_via(ip, port, host):
    """GET / connecting to ip:port with the given Host header; returns the status."""
    conn = http.client.HTTPConnection(ip, port, timeout=5)
    try:
        conn.request("GET", "/", headers={"Host": host})
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


@test
def host_ipv6_loopback():
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        print("     (no IPv6 loopback: skipped)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--host", "::1", "--root", make_root(tmp)]) as srv:
            check(srv.host == "[::1]", "readiness host %r" % srv.host)
            for host, want in (("[::1]:%d" % srv.port, 200), ("localhost:%d" % srv.port, 200),
                               ("127.0.0.1:%d" % srv.port, 200), ("evil.com", 403)):
                conn = http.client.HTTPConnection("::1", srv.port, timeout=5)
                conn.request("GET", "/", headers={"Host": host})
                got = conn.getresponse().status
                conn.close()
                check(got == want, "Host %s -> %d, expected %d" % (host, got, want))
            srv.stop()


@test
def host_all_addresses():
    _host_wildcard("0.0.0.0", "0.0.0.0")


@test
def host_all_addresses_dual_stack():
    # "--host ::" also accepts IPv4 clients; their local address is the IPv4-mapped
    # ::ffff:a.b.c.d, and the Host they send is the plain IPv4 address.
    try:
        socket.socket(socket.AF_INET6).bind(("::", 0))
    except OSError:
        print("     (no IPv6: skipped)")
        return
    _host_wildcard("::", "[::]")


def _host_wildcard(bind, shown):
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--host", bind, "--root", make_root(tmp)]) as srv:
            p = srv.port
            check(srv.host == shown, "readiness host %r" % srv.host)
            for host, want in (("127.0.0.1:%d" % p, 200), ("localhost:%d" % p, 200),
                               ("uvhttpd.example:%d" % p, 403), ("127.0.0.1:1", 403)):
                got = get_via("127.0.0.1", p, host)
                check(got == want, "--host %s: Host %s -> %d, expected %d"
                      % (bind, host, got, want))
            ip = local_ipv4()
            if ip:  # the address the connection came in on names the server too
                got = get_via(ip, p, "%s:%d" % (ip, p))
                check(got == 200, "--host %s: Host %s:%d, connected to %s -> %d, expected 200"
                      % (bind, ip, p, ip, got))
            srv.stop()


@test
def host_lan_address():
    ip = local_ipv4()
    if not ip:
        print("     (no non-loopback IPv4 address: skipped)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", ip, "--root", make_root(tmp)]) as srv:
            check(srv.host == ip, "readiness host %r" % srv.host)
            got = get_via(ip, srv.port, "%s:%d" % (ip, srv.port))
            check(got == 200, "Host %s -> %d" % (ip, got))
            got = get_via(ip, srv.port, "localhost:%d" % srv.port)
            check(got == 403, "Host localhost via %s -> %d, expected 403" % (ip, got))
            srv.stop()


@test
def unreadable_file_is_403():
    as_root = os.geteuid() == 0
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        root = make_root(tmp)
        os.chmod(root, 0o755)
        secret = os.path.join(root, "secret.html")
        with open(secret, "wb") as f:
            f.write(b"secret\n")
        os.chmod(secret, 0o600 if as_root else 0o000)
        def drop_root():  # root reads everything: serve as nobody instead
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
        with Server(["0", "--root", root], preexec_fn=drop_root if as_root else None) as srv:
            check(srv.get("/hello.html")[0] == 200, "readable file")
            status = srv.get("/secret.html")[0]
            check(status == 403, "unreadable file -> %d" % status)
            srv.wait_for(r"\[warn\] \[#\d+\] open %s: permission denied$" % re.escape(secret))
            if as_root:  # nobody cannot create uploads/ in a root-owned directory: a warning
                srv.wait_for(r"\[warn\] Cannot create %s/uploads: EACCES"
                             % re.escape(os.path.realpath(root)))
            srv.stop()


@test
def allow_host_option():
    # NAME alone: NAME and NAME:<our port>; NAME:PORT: exactly that; others stay 403.
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        with Server(["0", "--root", root, "--allow-host", "Example.com",
                     "--allow-host", "api.test:9999"]) as srv:
            p = srv.port
            cases = [("example.com", 200), ("EXAMPLE.COM:%d" % p, 200), ("example.com:1", 403),
                     ("api.test:9999", 200), ("api.test", 403), ("api.test:%d" % p, 403),
                     ("evil.com", 403)]
            for host, want in cases:
                status, _, _ = srv.get("/", headers={"Host": host})
                check(status == want, "Host %s -> %d, expected %d" % (host, status, want))
            srv.stop()
    r = run(["--allow-host", "bad host"])
    check(r.returncode == 2 and b"allow-host" in r.stderr, "invalid --allow-host accepted")


@test
def symlinks_confined_to_root():
    # A symlink that leaves the root is refused (403) and logged; one that stays inside is
    # served; one inside that names a dotfile is refused too.
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        outside = os.path.join(tmp, "outside.txt")
        with open(outside, "wb") as f:
            f.write(b"outside the root\n")
        with open(os.path.join(root, "inside.txt"), "wb") as f:
            f.write(b"inside the root\n")
        with open(os.path.join(root, ".secret.txt"), "wb") as f:
            f.write(b"hidden\n")
        os.symlink(outside, os.path.join(root, "link.txt"))
        os.symlink(os.path.join(root, "inside.txt"), os.path.join(root, "alias.txt"))
        os.symlink(".secret.txt", os.path.join(root, "secret-link.txt"))
        os.symlink(tmp, os.path.join(root, "up"))
        with Server(["0", "--root", root]) as srv:
            status, _, body = srv.get("/link.txt")
            check(status == 403 and b"outside" not in body, "link.txt -> %d" % status)
            status, _, body = srv.get("/up/outside.txt")
            check(status == 403 and b"outside" not in body, "up/outside.txt -> %d" % status)
            status, _, body = srv.get("/alias.txt")
            check(status == 200 and body == b"inside the root\n", "alias.txt -> %d" % status)
            status, _, body = srv.get("/secret-link.txt")
            check(status == 403 and b"hidden" not in body, "secret-link.txt -> %d" % status)
            srv.stop()
            check("Security: path traversal blocked" in srv.text(),
                  "no security log line for the symlink escape")


def _stalled_download(srv):
    """Starts GET /big.png on a socket with a tiny receive buffer and reads nothing."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5)
    s.connect(("127.0.0.1", srv.port))
    s.sendall(b"GET /big.png HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % srv.port)
    time.sleep(0.3)  # the server fills the socket buffers, then its write waits
    return s


@test
def shutdown_finishes_in_flight_download():
    # SIGTERM while a 32 MiB download is stalled: the download must complete, then the
    # connection must close and the server exit ("busy ones close after their response").
    size = 32 << 20
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp, big=size)]) as srv:
            s = _stalled_download(srv)
            srv.proc.send_signal(signal.SIGTERM)
            srv.wait_for(r"Shutting down: no new connections, finishing 1 open one$")
            time.sleep(0.3)
            check(srv.proc.poll() is None, "exited before the download finished")
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            head, body = data.split(b"\r\n\r\n", 1)
            check(head.startswith(b"HTTP/1.1 200 OK\r\n") and
                  b"\r\nContent-Length: %d\r\n" % size in head, "head %r" % head)
            got = len(body)
            while got < size:
                b = s.recv(1 << 20)
                check(b, "connection closed after %d of %d body bytes" % (got, size))
                got += len(b)
            check(got == size, "received %d body bytes, expected %d" % (got, size))
            t0 = time.monotonic()
            try:
                s.settimeout(2)
                closed = s.recv(1) == b""
            except socket.timeout:
                closed = False
            exited = srv.wait_exit(2 - (time.monotonic() - t0)) is not None  # socket still open
            s.close()
            check(closed and exited, "after the in-flight response: connection %s, server %s "
                  "(2 s after the last byte); log:\n%s"
                  % ("closed" if closed else "still open", "exited" if exited else "still running",
                     srv.text()))
            srv.stop()
            check('"GET /big.png HTTP/1.1" host ok -> 200 OK, big.png (%d bytes)' % size
                  in srv.text(), "access line")


@test
def second_signal_exits_at_once_with_1():
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp, big=32 << 20)]) as srv:
            s = _stalled_download(srv)
            srv.proc.send_signal(signal.SIGTERM)
            srv.wait_for(r"Shutting down: no new connections, finishing 1 open one$")
            time.sleep(0.2)
            check(srv.proc.poll() is None, "exited while a download was in flight")
            srv.stop(signal.SIGINT, status=1)
            s.close()
            srv.wait_for(r"\[warn\] Second signal %d: exiting at once$" % signal.SIGINT)


@test
def keep_alive_and_max_requests_options():
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp), "--keep-alive-timeout", "1",
                     "--max-requests", "2"]) as srv:
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            req = b"GET /hello.html HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % srv.port
            s.sendall(req)
            first = s.recv(65536)
            check(b"Keep-Alive: timeout=1, max=1\r\n" in first, "first head %r" % first)
            s.sendall(req)
            second = b""
            while True:  # the 2nd response is the last: the server closes
                b = s.recv(65536)
                if not b:
                    break
                second += b
            s.close()
            check(b"HTTP/1.1 200 OK" in second and b"Connection: close\r\n" in second,
                  "second %r" % second[:300])
            srv.wait_for(r'"GET /hello\.html HTTP/1\.1" host ok -> 200 OK, .*, close, ')
            # An idle keep-alive connection is closed after --keep-alive-timeout.
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(req)
            s.recv(65536)
            t0 = time.monotonic()
            s.settimeout(4)
            check(s.recv(1) == b"", "idle connection not closed")
            took = time.monotonic() - t0
            s.close()
            check(0.5 < took < 3, "idle close after %.2fs, expected about 1s" % took)
            srv.stop()
            log = srv.text()
            check("closed (request limit reached) after 2 requests" in log, log)
            check("closed (idle timeout) after 1 request" in log, log)


@test
def request_timeout_option():
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp), "--request-timeout", "1"]) as srv:
            t0 = time.monotonic()
            reply = srv.raw(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % srv.port)
            took = time.monotonic() - t0
            check(reply.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), "reply %r" % reply[:60])
            check(0.5 < took < 3, "408 after %.2fs, expected about 1s" % took)
            srv.stop()


RAW_CASES = [
    # (request with {H} for the Host value, status, connection closes afterwards)
    (b"OPTIONS * HTTP/1.1\r\nHost: {H}\r\n\r\n", 204, False),
    (b"PUT /index.html HTTP/1.1\r\nHost: {H}\r\nContent-Length: 2\r\n\r\nhi", 405, False),
    (b"PATCH /index.html HTTP/1.1\r\nHost: {H}\r\nContent-Length: 0\r\n\r\n", 405, False),
    (b"GET /nope.html HTTP/1.1\r\nHost: {H}\r\n\r\n", 404, False),
    (b"GET /style.css HTTP/1.1\r\nHost: {H}\r\n\r\n", 415, False),
    (b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n", 403, False),
    (b"GET / HTTP/1.0\r\n\r\n", 200, True),
    (b"GET / HTTP/1.1\r\n\r\n", 400, True),
    (b"GET / HTTP/1.1\r\nHost: {H}\r\nHost: {H}\r\n\r\n", 400, True),
    (b"GET /a%zz HTTP/1.1\r\nHost: {H}\r\n\r\n", 400, True),
    (b"GET / HTTP/2.0\r\nHost: {H}\r\n\r\n", 505, True),
    (b"BREW / HTTP/1.1\r\nHost: {H}\r\n\r\n", 501, True),
    (b"POST / HTTP/1.1\r\nHost: {H}\r\nTransfer-Encoding: gzip\r\n\r\n", 501, True),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: {H}\r\n\r\n", 414, True),
    (b"GET / HTTP/1.1\r\nHost: {H}\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431, True),
    (b"GET / HTTP/1.1\r\nHost: {H}\r\n" + b"X-F: 1\r\n" * 101 + b"\r\n", 431, True),
    (b"GET / HTTP/1.1\r\nHost: {H}\r\nContent-Length: 1048577\r\n\r\n" + b"x" * 1048577,
     413, True),
]


@test
def raw_requests_status_codes():
    # The statuses of README "What it serves", and which of them close the connection.
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp)]) as srv:
            host = b"127.0.0.1:%d" % srv.port
            for req, want, closes in RAW_CASES:
                req = req.replace(b"{H}", host)
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=3)
                data = b""
                try:
                    s.sendall(req)
                except OSError:  # the server may answer and close before all of a body is in
                    pass
                try:
                    while b"\r\n\r\n" not in data:
                        b = s.recv(65536)
                        if not b:
                            break
                        data += b
                except OSError as e:
                    check(data, "%r...: no answer (%s)" % (req[:40], e))
                line = data.split(b"\r\n", 1)[0]
                check(line.startswith(b"HTTP/1.1 %d " % want),
                      "%r... -> %r, expected %d" % (req[:40], line, want))
                head = data.split(b"\r\n\r\n", 1)[0]
                check((b"\r\nConnection: close" in head) == closes,
                      "%r...: Connection header, expected %s" % (req[:40],
                                                                 "close" if closes else "keep-alive"))
                s.close()
            srv.stop()


@test
def connection_closed_line_is_logged_promptly():
    # "Connection from ... closed (...)" is logged from a libuv close callback. It must reach
    # stderr without waiting for some later, unrelated event on the loop.
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp)]) as srv:
            reply = srv.raw(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
                            % srv.port)
            check(reply.startswith(b"HTTP/1.1 200 OK\r\n"), "reply %r" % reply[:40])
            srv.wait_for(r"\[#1\] Connection from 127\.0\.0\.1:\d+ closed \(Connection: close\)"
                         r" after 1 request$", timeout=1.5)
            srv.stop()


@test
def sigterm_stops_gracefully():
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp)]) as srv:
            # An idle keep-alive connection must not hold the shutdown up.
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % srv.port)
            check(b"Connection: keep-alive" in s.recv(65536), "no keep-alive response")
            srv.wait_for(r'"GET / HTTP/1\.1" host ok -> 200 OK')  # the response is complete
            t0 = time.monotonic()
            srv.stop(signal.SIGTERM)
            took = time.monotonic() - t0
            s.close()
            check(took < 2, "took %.2fs to stop" % took)
            log = srv.text()
            check("Signal %d received" % signal.SIGTERM in log, log)
            check("closed (server shutting down) after 1 request" in log, log)
            check(log.rstrip().endswith("[info] Server stopped"), "last line: " + log[-200:])
            srv.check_log_format()


@test
def sigterm_right_after_a_response():
    # SIGTERM sent as soon as the client has its response: the server may not yet have run
    # the write callback, so the connection is still "busy" when the shutdown begins. It must
    # still close once the response is done, not sit idle until --keep-alive-timeout.
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        for attempt in range(5):
            with Server(["0", "--root", root, "--keep-alive-timeout", "3"]) as srv:
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
                s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % srv.port)
                s.recv(65536)
                t0 = time.monotonic()
                srv.stop(signal.SIGTERM)
                took = time.monotonic() - t0
                s.close()
                check(took < 1.5, "attempt %d: exit took %.2fs (the keep-alive timeout is 3 s); "
                      "log:\n%s" % (attempt + 1, took, srv.text()))


@test
def sigint_stops_gracefully():
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp)]) as srv:
            check(srv.get("/")[0] == 200, "GET /")
            srv.stop(signal.SIGINT)
            log = srv.text()
            check("Signal %d received" % signal.SIGINT in log, log)
            check(log.rstrip().endswith("[info] Server stopped"), "last line: " + log[-200:])
            srv.check_log_format()


# ---- several event loops (issue 13) ----

@test
def workers_default_is_one_loop():
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp)]) as srv:
            srv.wait_for(r"\[info\] Workers: 1 event loop, one listener$")
            check(srv.get("/")[0] == 200, "GET /")
            srv.wait_for(r"\[info\] \[#1\] Connection from ")
            srv.stop()
            check(not re.search(r"\[w\d", srv.text()), "a worker tag with one loop:\n" + srv.text())


@test
def workers_auto_one_per_cpu():
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp), "--workers", "auto"]) as srv:
            many = "s" if cpus > 1 else ""
            srv.wait_for(r"\[info\] Workers: %d event loop%s \(auto: %d CPU%s\), " % (cpus, many, cpus, many))
            check(srv.get("/")[0] == 200, "GET /")
            srv.stop()
            srv.check_log_format()


@test
def workers_startup_lines_tags_and_sigterm():
    # Four loops: the start-up lines say how they share the work, every loop's lines carry its
    # number, connection ids are unique across the loops, and SIGTERM stops them all (exit 0).
    with tempfile.TemporaryDirectory() as tmp:
        args = ["0", "--root", make_root(tmp), "--workers", "4", "--file-cache", "4000000"]
        with Server(args) as srv:
            srv.wait_for(r"\[info\] Workers: 4 event loops, each loop has its own listener "
                         r"\(SO_REUSEPORT\), the kernel spreads connections$")
            srv.wait_for(r"\[info\] Workers share the connection limits and the queue; file cache "
                         r"1000000 bytes per loop \(--file-cache / 4\)$")
            socks = [srv.connect() for _ in range(40)]
            for s in socks:
                s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % srv.port)
            for s in socks:
                check(s.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n"), "no 200")
            idle = socks[0]  # a keep-alive connection must not hold the stop up
            for s in socks[1:]:
                s.close()
            srv.wait_for(r'"GET / HTTP/1\.1" host ok -> 200 OK', timeout=3)
            srv.stop(signal.SIGTERM)
            idle.close()
            log = srv.text()
            opened = re.findall(r"\] \[w(\d)#(\d+)\] Connection from 127\.0\.0\.1:\d+$", log, re.M)
            check(len(opened) == 40, "%d connection lines with a worker tag" % len(opened))
            ids = [int(i) for _, i in opened]
            check(len(set(ids)) == 40, "connection ids repeat across loops: %s" % sorted(ids))
            check(len({w for w, _ in opened}) > 1, "one loop took every connection")
            for w, i in opened:  # loop w of 4 numbers its connections w, w + 4, ...
                check((int(i) - int(w)) % 4 == 0, "id %s on loop w%s" % (i, w))
            check(len(re.findall(r"\] \[w\d\] Shutting down: no new connections", log)) == 4,
                  "every loop shuts down:\n" + log)
            check(re.search(r"\[info\] \[w1\] Signal %d received$" % signal.SIGTERM, log, re.M),
                  "signal line")
            srv.check_log_format()


@test
def workers_handoff_startup_line_and_spread():
    with tempfile.TemporaryDirectory() as tmp:
        args = ["0", "--root", make_root(tmp), "--workers", "3", "--accept", "handoff"]
        with Server(args) as srv:
            srv.wait_for(r"\[info\] Workers: 3 event loops, worker 1 accepts and hands each "
                         r"connection to the least-loaded loop$")
            socks = [srv.connect() for _ in range(9)]
            for s in socks:
                s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % srv.port)
            for s in socks:
                check(s.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n"), "no 200")
            for s in socks:
                s.close()
            srv.stop()
            tags = re.findall(r"\] \[w(\d)#\d+\] Connection from 127\.0\.0\.1:\d+$", srv.text(),
                              re.M)
            check(sorted(tags) == ["1"] * 3 + ["2"] * 3 + ["3"] * 3,
                  "9 open connections over 3 loops, least-loaded first: %s" % sorted(tags))


@test
def workers_second_signal_exits_1():
    with tempfile.TemporaryDirectory() as tmp:
        args = ["0", "--root", make_root(tmp, big=32 << 20), "--workers", "3"]
        with Server(args) as srv:
            s = _stalled_download(srv)
            srv.proc.send_signal(signal.SIGTERM)
            srv.wait_for(r"\[w\d\] Shutting down: no new connections, finishing 1 open one$")
            time.sleep(0.2)
            check(srv.proc.poll() is None, "exited while a download was in flight")
            srv.stop(signal.SIGINT, status=1)
            s.close()
            srv.wait_for(r"\[warn\] \[w1\] Second signal %d: exiting at once$" % signal.SIGINT)


# ---- uploads (issue 5) ----

UPLOAD_NAME = r"upload_\d{8}_\d{6}_[0-9a-f]{6}\.json"


def _post_upload(srv, body, ctype="application/json", extra=b""):
    """POST /upload with Content-Length on a new connection (raw, so any head goes); returns
    (status, head bytes, body bytes). The server may answer before the whole body is in."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    try:
        head = b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % srv.port
        if ctype is not None:
            head += b"Content-Type: " + ctype.encode() + b"\r\n"
        head += extra + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
        try:
            s.sendall(head + body)
        except OSError:
            pass
        data = b""
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            data += b
    finally:
        s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", head)
    check(m, "no status line in %r" % data[:200])
    return int(m.group(1)), head, rest


def _bench_module():
    import importlib.util
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench",
                        "upload_rss.py")
    spec = importlib.util.spec_from_file_location("upload_rss", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _asan_binary():
    with open(uvh.BINARY, "rb") as f:
        return b"__asan_init" in f.read()


def _upload_rss(shape, count, size_mib, limit_mib=32):
    # tests/bench/upload_rss.py, smaller than the 50 x 5 MiB to keep this suite fast
    # (run the bench for that figure): every upload must get 201 and the server's RSS must
    # grow by less than 32 MiB ("memory does not grow with the body").
    import io
    if _asan_binary():
        # AddressSanitizer's shadow memory and quarantine make RSS meaningless: the upload
        # path itself still runs (and is checked for errors) in the other tests.
        print("     skipped the RSS bound: this binary is built with AddressSanitizer")
        return
    out = io.StringIO()
    ok, growth, failures = _bench_module().measure(uvh.BINARY, count, size_mib, limit_mib, shape,
                                                   out=out)
    print("     " + out.getvalue().strip().replace("\n", "\n     "))
    check(ok and growth < limit_mib, "; ".join(failures))


@test
def upload_rss_string_bodies():
    _upload_rss("string", 50, 1)


@test
def upload_rss_array_bodies():
    # An array of small numbers is what a tree-building parser pays most for.
    _upload_rss("array", 50, 2)


@test
def regress_10_14_flat_object_key_budget():
    # Issue 10 item 14: the duplicate-key check kept every key of an open object, so 8
    # concurrent 10 MiB flat objects of short distinct keys took some 360 MiB. Each is now over
    # the checker's key budget (4 MiB, src/json_check.h): 413 with a JSON reason, nothing
    # stored, and the server's RSS grows by less than 64 MiB.
    if not _asan_binary():
        _upload_rss("keys", 8, 10, limit_mib=64)
        return
    print("     skipped the RSS bound: this binary is built with AddressSanitizer")
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        body = b"{" + _bench_module().key_members(4 << 20).strip().rstrip(b",") + b"}"
        with Server(["0", "--root", root]) as srv:
            status, head, reply = _post_upload(srv, body)
            check(status == 413 and reply.startswith(b'{"status":"error","message":"Too many '
                                                      b'distinct object keys'),
                  "-> %d %r" % (status, reply))
            srv.stop()
        check(os.listdir(os.path.join(root, "uploads")) == [], "uploads/ not empty")


@test
def upload_saved_logged_and_served():
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        with Server(["0", "--root", root]) as srv:
            body = b'{"cli": [1, 2, 3], "ok": true}'
            status, head, reply = _post_upload(srv, body)
            check(status == 201, "valid upload -> %d %r" % (status, reply))
            m = re.search(rb"\r\nLocation: (/uploads/%s)\r\n" % UPLOAD_NAME.encode(), head)
            check(m, "no Location in %r" % head)
            fp = m.group(1).decode()
            check(reply == (b'{"status": "success", "message": "File created successfully", '
                            b'"filepath": "%s"}' % fp.encode()), "reply %r" % reply)
            with open(os.path.join(root, fp.lstrip("/")), "rb") as f:
                check(f.read() == body, "stored bytes differ")
            status, headers, got = srv.get(fp)
            check(status == 200 and got == body and
                  headers["content-type"] == "application/json",
                  "GET %s -> %d %s %r" % (fp, status, headers, got))
            n = len(body)
            srv.wait_for(r"\[info\] \[#\d+\] Upload received from 127\.0\.0\.1:\d+: %d bytes$" % n)
            srv.wait_for(r"\[info\] \[#\d+\] Upload from 127\.0\.0\.1:\d+ saved as "
                         r"uploads/%s \(%d bytes\)$" % (re.escape(fp[len("/uploads/"):]), n))
            srv.wait_for(r'"POST /upload HTTP/1\.1" host ok -> 201 Created, upload \(%d bytes\)'
                         % n)
            srv.stop()
            srv.check_log_format()


@test
def upload_rejections_logged_with_reason():
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        with Server(["0", "--root", root, "--max-body", "1000"]) as srv:
            status, head, reply = _post_upload(srv, b'{"a":')
            check(status == 400 and b"Content-Type: application/json\r\n" in head and
                  reply == b'{"status":"error","message":"Invalid JSON: unexpected token near '
                           b'end of file at line 1, column 5"}', "invalid -> %d %r" % (status, reply))
            srv.wait_for(r"Upload from 127\.0\.0\.1:\d+ rejected \(5 bytes\): Invalid JSON: "
                         r"unexpected token near end of file at line 1, column 5$")
            status, _, _ = _post_upload(srv, b"{}", ctype="text/plain")
            check(status == 415, "text/plain -> %d" % status)
            srv.wait_for(r'Upload from 127\.0\.0\.1:\d+ rejected: Content-Type "text/plain" is '
                         r'not JSON$')
            status, _, _ = _post_upload(srv, b"{}", ctype=None)
            check(status == 415, "no Content-Type -> %d" % status)
            status, _, _ = _post_upload(srv, b"[" + b"1," * 998 + b"1 ]")
            check(status == 413, "2000 bytes over --max-body 1000 -> %d" % status)
            srv.wait_for(r"Upload from 127\.0\.0\.1:\d+ rejected: 2000 bytes, over --max-body "
                         r"1000$")
            status, _, _ = _post_upload(srv, b"{}", extra=b"Expect: magic\r\n")
            check(status == 417, "Expect: magic -> %d" % status)
            srv.wait_for(r"Upload from 127\.0\.0\.1:\d+ rejected: unknown expectation$")
            srv.stop()
            srv.check_log_format()
            check(os.listdir(os.path.join(root, "uploads")) == [],
                  "files left: %s" % os.listdir(os.path.join(root, "uploads")))


@test
def max_body_option():
    r = run(["--help"])
    check(re.search(rb"\s--max-body BYTES\s", r.stdout), "--max-body missing from help")
    for args, reason in ((["--max-body", "abc"], "invalid max-body 'abc'"),
                         (["--max-body=-1"], "invalid max-body '-1'"),
                         (["--max-body", "1073741825"], "invalid max-body '1073741825'"),
                         (["--max-body"], "option '--max-body' needs a value")):
        r = run(args)
        err = r.stderr.decode()
        check(r.returncode == 2 and err.startswith("uvhttpd: ") and reason in err.splitlines()[0],
              "%s: exit %d, %r" % (args, r.returncode, err[:200]))
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp), "--max-body=1000"]) as srv:
            at_limit = b'"' + b"a" * 998 + b'"'
            status, _, reply = _post_upload(srv, at_limit)
            check(status == 201, "1000 bytes at --max-body 1000 -> %d %r" % (status, reply))
            status, head, _ = _post_upload(srv, at_limit + b" ")
            check(status == 413 and b"\r\nConnection: close" in head,
                  "1001 bytes -> %d %r" % (status, head))
            srv.stop()



def _rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@test
def file_cache_10000_distinct_files_stay_within_the_budget():
    # Issue 12: a burst of 10,000 distinct small files, each requested once, and as many
    # misses: the cache holds no more than --file-cache, evicting the least recently used.
    budget = 256 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        os.makedirs(os.path.join(root, "many"))
        body = b"x" * 300 + b"\n"
        for i in range(10000):
            with open(os.path.join(root, "many", "f%05d.txt" % i), "wb") as f:
                f.write(body)
        with Server(["0", "--root", root, "--file-cache", str(budget)]) as srv:
            before = _rss_kib(srv.proc.pid)
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            for i in range(10000):
                conn.request("GET", "/many/f%05d.txt" % i)
                r = conn.getresponse()
                data = r.read()
                check(r.status == 200 and data == body, "f%05d: %d" % (i, r.status))
                if i % 5 == 0:  # and 2,000 misses, remembered too
                    conn.request("GET", "/many/none%05d.txt" % i)
                    r = conn.getresponse()
                    r.read()
                    check(r.status == 404, "none%05d: %d" % (i, r.status))
                if r.getheader("Connection") == "close":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            conn.close()
            growth = (_rss_kib(srv.proc.pid) - before) / 1024.0
            srv.stop()
            line = srv.wait_for(r"File cache: \d+ entries, \d+ of \d+ bytes;")
            m = re.search(r"File cache: (\d+) entries, (\d+) of (\d+) bytes; (\d+) hits, "
                          r"(\d+) misses, (\d+) stale, (\d+) evicted", line)
            check(m, "no statistics line: " + line)
            entries, used, total, hits, misses, stale, evicted = map(int, m.groups())
            print("     %s; RSS grew by %.1f MiB" % (line.split("] ", 2)[-1], growth))
            check(total == budget, "budget %d, want %d" % (total, budget))
            check(used <= budget, "the cache holds %d bytes, over its %d" % (used, budget))
            check(evicted > 0 and entries < 12000, "%d entries, %d evicted" % (entries, evicted))
            if not _asan_binary():
                check(growth < 16, "RSS grew by %.1f MiB for a %d-byte cache" % (growth, budget))

def age_file(path, seconds=3600):
    """Backdates a file's times, as if nobody had written it for `seconds`."""
    t = time.time() - seconds
    os.utime(path, (t, t))


@test
def upload_startup_removes_leftover_temp_files():
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        uploads = os.path.join(root, "uploads")
        os.makedirs(uploads)
        keep = ["upload_20260101_000000_abcdef.json", ".upload-notes.txt", "notes.tmp",
                "x.upload-1.tmp"]
        for name in keep + [".upload-123-abc.tmp"]:
            with open(os.path.join(uploads, name), "wb") as f:
                f.write(b"{}")
            age_file(os.path.join(uploads, name))
        with Server(["0", "--root", root]) as srv:
            srv.wait_for(r"\[warn\] Removed 1 incomplete upload left in %s$"
                         % re.escape(os.path.join(os.path.realpath(root), "uploads")))
            check(sorted(os.listdir(uploads)) == sorted(keep),
                  "uploads/ after start-up: %s" % sorted(os.listdir(uploads)))
            srv.stop()
        for name in (".upload-1-a.tmp", ".upload-2-b.tmp"):
            with open(os.path.join(uploads, name), "wb") as f:
                f.write(b"[1,")
            age_file(os.path.join(uploads, name))
        with Server(["0", "--root", root]) as srv:
            srv.wait_for(r"\[warn\] Removed 2 incomplete uploads left in ")
            srv.stop()
        # One written a moment ago may belong to another server sharing the root (or a test
        # server running in parallel): it is kept.
        fresh = os.path.join(uploads, ".upload-9-c.tmp")
        with open(fresh, "wb") as f:
            f.write(b"[1,")
        with Server(["0", "--root", root]) as srv:
            srv.wait_for(r"\[info\] Kept 1 temporary upload file in .* written in the last "
                         r"120 s \(another server may be using them\)$")
            srv.stop()
            check("incomplete upload" not in srv.text(), srv.text())
        os.remove(fresh)
        with Server(["0", "--root", root]) as srv:  # nothing to remove: no warning
            srv.stop()
            check("incomplete upload" not in srv.text(), srv.text())
        check(sorted(os.listdir(uploads)) == sorted(keep), "%s" % os.listdir(uploads))


@test
def upload_cut_off_by_exit_is_swept_at_next_start():
    # Half an upload is in the temporary file when the server is killed: the next start
    # removes it.
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        uploads = os.path.join(root, "uploads")
        with Server(["0", "--root", root]) as srv:
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 400000\r\n\r\n"
                      % srv.port + b"[" + b"1," * 100000)
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and not [
                    n for n in os.listdir(uploads) if n.startswith(".upload-")]:
                time.sleep(0.01)
            tmps = [n for n in os.listdir(uploads) if n.startswith(".upload-")]
            check(len(tmps) == 1 and tmps[0].endswith(".tmp"), "uploads/: %s" % tmps)
            srv.proc.kill()
            srv.proc.wait()
            s.close()
        age_file(os.path.join(uploads, tmps[0]))
        with Server(["0", "--root", root]) as srv:
            srv.wait_for(r"\[warn\] Removed 1 incomplete upload left in ")
            check(os.listdir(uploads) == [], "uploads/: %s" % os.listdir(uploads))
            srv.stop()


@test
def upload_sigterm_mid_body_leaves_nothing():
    # SIGTERM while a client is half-way through an upload that never finishes: the server
    # still stops (after --request-timeout, then the 2 s lingering close of a refused request)
    # and removes the temporary file.
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        uploads = os.path.join(root, "uploads")
        with Server(["0", "--root", root, "--request-timeout", "1"]) as srv:
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 400000\r\n\r\n"
                      % srv.port + b"[" + b"1," * 100000)
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and not os.listdir(uploads):
                time.sleep(0.01)
            t0 = time.monotonic()
            srv.stop(signal.SIGTERM, timeout=8)
            took = time.monotonic() - t0
            s.close()
            check(took < 4.5, "stop took %.2fs with an upload stalled mid-body" % took)
            check(os.listdir(uploads) == [], "uploads/ after the stop: %s" % os.listdir(uploads))


@test
def upload_into_root_whose_uploads_is_a_file():
    # The server still starts and serves; an upload is a 500 with a JSON body, logged as an
    # error, and nothing is created.
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        with open(os.path.join(root, "uploads"), "wb") as f:
            f.write(b"a file\n")
        with Server(["0", "--root", root]) as srv:
            check(srv.get("/hello.html")[0] == 200, "GET")
            status, head, reply = _post_upload(srv, b'{"a": 1}')
            check(status == 500 and b"Content-Type: application/json\r\n" in head and
                  reply.startswith(b'{"status":"error","message":"'), "-> %d %r" % (status, reply))
            srv.wait_for(r"\[error\] \[#\d+\] Upload from 127\.0\.0\.1:\d+ rejected \(8 bytes\): ")
            srv.stop()
        check(sorted(os.listdir(root)) == ["hello.html", "index.html", "notes.txt", "style.css",
                                           "uploads"], "root: %s" % os.listdir(root))
        with open(os.path.join(root, "uploads"), "rb") as f:
            check(f.read() == b"a file\n", "uploads changed")


if __name__ == "__main__":
    sys.exit(uvh.run_tests("test_cli.py", "CLI_TESTS"))
