#!/usr/bin/env python3
"""Operations tests for the uvhttpd binary (issue 14): the PROXY protocol from trusted and
untrusted peers, the access log file (formats, escaping, SIGHUP reopen under load), the health
check path, and systemd's readiness protocol through a fake $NOTIFY_SOCKET. Standard library
only; HAProxy itself is driven by tests/haproxy/test_haproxy.py.

Usage: test_ops.py PATH/TO/uvhttpd

Peers: 127.0.0.0/8 is all loopback on Linux, so a client that binds 127.0.0.2 is another peer
than one on 127.0.0.1; the server trusts only 127.0.0.2 (--proxy-protocol 127.0.0.2/32).
OPS_TESTS="name ..." runs a subset.
"""

import json
import os
import re
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
import http.client

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import uvh_test as uvh  # noqa: E402
from uvh_test import Server, check, make_root, run, test  # noqa: E402

PROXY_PEER = "127.0.0.2"
MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
QUOTED = r'"((?:[^"\\\x00-\x1f\x7f-\xff]|\\x[0-9a-f]{2})*)"'
# %h - - [%d/%b/%Y:%H:%M:%S %z] "%r" %>s %b "%{Referer}i" "%{User-Agent}i", nothing else.
COMMON = (r'^(\S+) - - \[\d{2}/(?:%s)/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] %s (\d{3}) (\d+|-)'
          % (MONTHS, QUOTED))
COMBINED = re.compile(COMMON + r' %s %s$' % (QUOTED, QUOTED))
COMMON = re.compile(COMMON + "$")


def v2_header(src, sport, dst="10.0.0.1", dport=80, command=1, tlvs=b""):
    """A PROXY v2 header for an IPv4 (or, with ':' in src, IPv6) client."""
    fam = socket.AF_INET6 if ":" in src else socket.AF_INET
    addrs = socket.inet_pton(fam, src) + socket.inet_pton(fam, dst) + struct.pack("!HH", sport,
                                                                                   dport)
    body = addrs + tlvs
    return (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x20 | command, 0x21 if fam == socket.AF_INET6
                                               else 0x11]) + struct.pack("!H", len(body)) + body)


def get(srv, path, extra=b"", head=b""):
    return head + (b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sConnection: close\r\n\r\n"
                   % (path.encode(), srv.port, extra))


def status_of(reply):
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", reply)
    return int(m.group(1)) if m else None


def read_lines(path):
    with open(path, "rb") as f:
        data = f.read()
    check(data == b"" or data.endswith(b"\n"), "%s: last line not terminated: %r"
          % (path, data[-200:]))
    return data.decode("latin-1").split("\n")[:-1] if data else []


def wait_lines(path, n, timeout=3):
    """The access log's lines once it holds at least n (it is written once per loop turn)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = read_lines(path)
        if len(lines) >= n or time.monotonic() > deadline:
            return lines
        time.sleep(0.02)


# ---- PROXY protocol ----

@test
def proxy_v1_and_v2_give_the_client_address():
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "access.log")
        with Server(["0", "--root", make_root(tmp), "--proxy-protocol", PROXY_PEER + "/32",
                     "--access-log", log, "-l", "debug"]) as srv:
            cases = [
                (b"PROXY TCP4 198.51.100.7 10.0.0.1 40001 80\r\n", "198.51.100.7", 40001),
                (b"PROXY TCP6 2001:db8::7 ::1 40002 80\r\n", "[2001:db8::7]", 40002),
                (v2_header("203.0.113.9", 40003), "203.0.113.9", 40003),
                (v2_header("2001:db8::9", 40004, "::1"), "[2001:db8::9]", 40004),
                # TLVs (ALPN, an SSL block) are skipped.
                (v2_header("203.0.113.10", 40005, tlvs=b"\x01\x00\x02h2\x20\x00\x01\x00"),
                 "203.0.113.10", 40005),
            ]
            for hdr, ip, port in cases:
                mark = srv.mark()
                reply = srv.raw(get(srv, "/hello.html", head=hdr), source=PROXY_PEER)
                check(status_of(reply) == 200 and reply.endswith(uvh.HELLO_HTML),
                      "%r: %r" % (hdr, reply[:80]))
                srv.wait_for(r'\[info\] \[#\d+\] %s:%d "GET /hello\.html HTTP/1\.1" host ok -> '
                             r'200 OK' % (re.escape(ip), port), start=mark)
                srv.wait_for(r"PROXY v\d header from %s:\d+: client %s:%d"
                             % (re.escape(PROXY_PEER), re.escape(ip), port), start=mark)
            lines = wait_lines(log, len(cases))
            check(len(lines) == len(cases), "access log: %s" % lines)
            for line, (_, ip, _) in zip(lines, cases):
                m = COMBINED.match(line)
                check(m and m.group(1) == ip.strip("[]") and m.group(3) == "200",
                      "access line %r, expected client %s" % (line, ip))
            srv.stop()


@test
def proxy_keep_alive_after_the_header():
    """The header comes once, before the first request; later requests on the connection are
    plain HTTP and keep the client address."""
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp), "--proxy-protocol", "127.0.0.0/29"]) as srv:
            s = srv.connect(source=PROXY_PEER)
            # Header and first request split over several writes, cut inside the header.
            hdr = v2_header("192.0.2.5", 5555)
            for part in (hdr[:5], hdr[5:14], hdr[14:], srv.request("/hello.html")):
                s.sendall(part)
                time.sleep(0.05)
            s.sendall(srv.request("/index.html", extra=b"Connection: close\r\n"))
            data = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
            s.close()
            check(data.count(b"HTTP/1.1 200 OK") == 2, "replies: %r" % data[:300])
            srv.wait_for(r'192\.0\.2\.5:5555 "GET /index\.html')
            check(srv.count(r'192\.0\.2\.5:5555 "GET /(hello|index)\.html') == 2,
                  "client address on both access lines:\n" + srv.text()[-2000:])
            srv.stop()


@test
def proxy_local_and_unknown_keep_the_real_peer():
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp), "--proxy-protocol", PROXY_PEER]) as srv:
            for hdr in (v2_header("0.0.0.0", 0, command=0), b"PROXY UNKNOWN\r\n",
                        b"PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n",
                        b"\r\n\r\n\x00\r\nQUIT\n\x21\x00\x00\x00"):
                mark = srv.mark()
                reply = srv.raw(get(srv, "/hello.html", head=hdr), source=PROXY_PEER)
                check(status_of(reply) == 200, "%r: %r" % (hdr, reply[:60]))
                srv.wait_for(r'\[#\d+\] %s:\d+ "GET /hello\.html' % re.escape(PROXY_PEER),
                             start=mark)
            srv.stop()


@test
def proxy_header_from_an_untrusted_peer_is_refused():
    with tempfile.TemporaryDirectory() as tmp:
        # Trusting 127.0.0.2 only, and trusting nobody: 127.0.0.1 may not send a header.
        for trust in (["--proxy-protocol", PROXY_PEER], []):
            with Server(["0", "--root", make_root(tmp, name="r%d" % len(trust))] + trust) as srv:
                for hdr in (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", v2_header("1.2.3.4", 1)):
                    mark = srv.mark()
                    reply = srv.raw(get(srv, "/hello.html", head=hdr))
                    check(status_of(reply) == 400 and b"Connection: close" in reply,
                          "%s: %r" % (trust, reply[:80]))
                    srv.wait_for(r"\[warn\] \[#\d+\] Security: PROXY header from 127\.0\.0\.1:\d+,"
                                 r" which is not a trusted proxy", start=mark)
                # Plain requests from that peer are served as before.
                check(srv.get("/hello.html")[0] == 200, "plain request")
                srv.stop()


@test
def proxy_header_required_from_a_trusted_peer():
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp), "--proxy-protocol", PROXY_PEER]) as srv:
            reply = srv.raw(get(srv, "/hello.html"), source=PROXY_PEER)
            check(status_of(reply) == 400, "no header: %r" % reply[:80])
            srv.wait_for(r"Rejected request from 127\.0\.0\.2:\d+: 400 Bad Request \(no PROXY "
                         r"header from a trusted proxy")
            srv.stop()


MALFORMED = [
    b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
    b"PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n",
    b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
    b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
    b"PROXY " + b"x" * 120 + b"\r\n",                     # over 107 bytes
    b"\r\n\r\n\x00\r\nQUIT\n\x31\x11\x00\x0c" + b"\x00" * 12,  # version 3
    b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x08" + b"\x00" * 8,   # addresses cut short
    b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\xff\xff",               # 64 KiB declared
]


@test
def malformed_proxy_headers_get_400_and_close():
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp), "--proxy-protocol", PROXY_PEER]) as srv:
            for hdr in MALFORMED:
                t = time.monotonic()
                reply = srv.raw(get(srv, "/hello.html", head=hdr), source=PROXY_PEER)
                check(status_of(reply) == 400 and b"Connection: close" in reply,
                      "%r: %r" % (hdr, reply[:80]))
                check(time.monotonic() - t < 2, "%r: answered after %.1f s"
                      % (hdr, time.monotonic() - t))
            srv.stop()


@test
def truncated_proxy_header_gets_400_within_the_request_timeout():
    with tempfile.TemporaryDirectory() as tmp:
        with Server(["0", "--root", make_root(tmp), "--proxy-protocol", PROXY_PEER,
                     "--request-timeout", "1"]) as srv:
            for part in (b"PROXY TCP4 1.2.3.4 ", v2_header("1.2.3.4", 1)[:20], b"PRO"):
                s = srv.connect(source=PROXY_PEER, timeout=5)
                t = time.monotonic()
                s.sendall(part)
                data = b""
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    data += b
                took = time.monotonic() - t
                s.close()
                check(status_of(data) == 400, "%r: %r" % (part, data[:80]))
                check(0.8 < took < 3, "%r: answered after %.2f s" % (part, took))
            srv.wait_for(r"400 Bad Request \(PROXY header incomplete")
            srv.stop()


# ---- the access log file ----

@test
def access_log_formats_and_escaping():
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        for fmt in ("combined", "common", "json"):
            log = os.path.join(tmp, fmt + ".log")
            args = ["0", "--root", root, "--access-log", log]
            if fmt != "combined":
                args += ["--access-log-format", fmt]
            with Server(args) as srv:
                srv.get("/hello.html", {"Referer": "http://ref.example/a b",
                                        "User-Agent": 'evil"agent\\x'})
                srv.get("/missing.html")
                srv.raw(b"GET /a\"b\x1b[31m\xff HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                        b"Connection: close\r\n\r\n" % srv.port)
                srv.raw(b"BREW / HTTP/1.1\r\n\r\n")
                srv.raw(b"\x00\x01garbage\r\n\r\n")
                srv.wait_for(r'" host .* -> 400 ')
                lines = wait_lines(log, 5)
                srv.stop()
            lines = read_lines(log)  # the last lines are written at exit
            check(len(lines) == 5, "%s: %d lines: %s" % (fmt, len(lines), lines))
            if fmt == "json":
                docs = [json.loads(line) for line in lines]
                check(docs[0]["client"] == "127.0.0.1" and docs[0]["status"] == 200
                      and docs[0]["target"] == "/hello.html" and docs[0]["bytes"] == 35
                      and docs[0]["referer"] == "http://ref.example/a b"
                      and docs[0]["user_agent"] == 'evil"agent\\x'
                      and docs[0]["protocol"] == "HTTP/1.1", "json: %s" % docs[0])
                check(docs[0]["request"] == "GET /hello.html HTTP/1.1", "%s" % docs[0])
                check(docs[2]["request"] == 'GET /a"b\x1b[31m\xff HTTP/1.1'
                      and docs[2]["target"] is None, "json, a bad target: %s" % docs[2])
                check(docs[4]["method"] is None and docs[4]["status"] == 400, "%s" % docs[4])
                continue
            rx = COMBINED if fmt == "combined" else COMMON
            for line in lines:
                check(rx.match(line), "%s: line does not parse: %r" % (fmt, line))
            m = [rx.match(line) for line in lines]
            check(m[0].group(2) == "GET /hello.html HTTP/1.1" and m[0].group(3) == "200"
                  and m[0].group(4) == "35", "%s: %r" % (fmt, lines[0]))
            check(m[1].group(3) == "404", lines[1])
            check(m[2].group(2) == r"GET /a\x22b\x1b[31m\xff HTTP/1.1", lines[2])
            check(m[3].group(2) == "BREW / HTTP/1.1", lines[3])
            check(m[4].group(2) == r"\x00\x01garbage" and m[4].group(3) == "400", lines[4])
            if fmt == "combined":
                check(m[0].group(5) == "http://ref.example/a b"
                      and m[0].group(6) == r"evil\x22agent\x5cx", lines[0])
                check(m[1].group(5) == "-" and m[1].group(6).startswith("Python-urllib")
                      or m[1].group(6) == "-", lines[1])


@test
def request_the_client_abandoned_is_logged_499():
    """A client that resets its connection while its file is still being opened gets no
    response: the access log says 499 (nginx's "client closed request"), a valid line, never a
    status 0 that log parsers reject."""
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp, big=2 << 20)
        log = os.path.join(tmp, "access.log")
        with Server(["0", "--root", root, "--access-log", log, "--file-cache", "0"]) as srv:
            abandoned = 0
            for _ in range(10):  # the reset must beat the open on the threadpool: usually does
                for _ in range(20):
                    s = srv.connect()
                    s.sendall(srv.request("/big.png"))
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    s.close()
                time.sleep(0.3)
                abandoned = srv.count(r'"GET /big\.png HTTP/1\.1" host ok -> (0|499) ')
                if abandoned:
                    break
            srv.stop()
        check(abandoned > 0, "no request was abandoned before its answer in 200 tries")
        lines = read_lines(log)
        for line in lines:
            check(COMBINED.match(line), "line does not parse: %r" % line)
        statuses = {COMBINED.match(line).group(3) for line in lines}
        check(statuses <= {"200", "499"} and "499" in statuses, "statuses %s" % statuses)
        check(srv.count(r"-> 499 Client Closed Request, no file, 0 bytes") >= abandoned,
              "the log line:\n" + srv.text()[-1500:])


@test
def upload_cut_short_is_logged():
    """A request whose head was read but whose body never came whole still has its access line:
    499 when the client left mid-body, 444 when a stop closed it unanswered."""
    upload = (b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json"
              b"\r\nContent-Length: 100\r\n\r\n{\"a\":")
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        log = os.path.join(tmp, "access.log")
        with Server(["0", "--root", root, "--access-log", log, "--shutdown-timeout", "1"]) as srv:
            s = srv.connect()
            s.sendall(upload % srv.port)
            srv.wait_for(r"Connection from 127\.0\.0\.1:%d$" % s.getsockname()[1])
            time.sleep(0.2)
            s.close()
            srv.wait_for(r'"POST /upload HTTP/1\.1" host ok -> 499 Client Closed Request, no file')
            s = srv.connect()
            s.sendall(upload % srv.port)
            srv.wait_for(r"Connection from 127\.0\.0\.1:%d$" % s.getsockname()[1])
            srv.stop()  # after --shutdown-timeout the upload is closed unanswered
            check(srv.count(r'"POST /upload HTTP/1\.1" host ok -> 444 Closed Unanswered, ') == 1,
                  "the stop:\n" + srv.text()[-1500:])
            s.close()
        lines = read_lines(log)
        check(len(lines) == 2 and all(COMBINED.match(line) for line in lines), "%s" % lines)
        check([COMBINED.match(line).group(3) for line in lines] == ["499", "444"], "%s" % lines)
        check(all('"POST /upload HTTP/1.1"' in line for line in lines), "%s" % lines)


@test
def access_log_that_cannot_be_opened_exits_1():
    with tempfile.TemporaryDirectory() as tmp:
        r = run(["0", "--root", make_root(tmp), "--access-log",
                 os.path.join(tmp, "no-such-dir", "access.log")])
        err = r.stderr.decode()
        check(r.returncode == 1 and "Cannot open the access log" in err, "%d %s"
              % (r.returncode, err))


def _load(port, stop, counts, i):
    """Keep-alive GETs until stop is set; counts[i] = responses received."""
    conn = None
    while not stop.is_set():
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/hello.html?c=%d&n=%d" % (i, counts[i]))
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                raise AssertionError("status %d" % r.status)
            counts[i] += 1
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException):
            if conn:
                conn.close()
            conn = None
            counts[-1] += 1  # errors
    if conn:
        conn.close()


def _sighup_under_load(workers):
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "access.log")
        rotated = log + ".1"
        with Server(["0", "--root", make_root(tmp), "--access-log", log, "-l", "warn",
                     "--max-requests", "50", "--workers", str(workers)]) as srv:
            stop = threading.Event()
            counts = [0, 0, 0, 0]  # three clients, then errors
            threads = [threading.Thread(target=_load, args=(srv.port, stop, counts, i))
                       for i in range(3)]
            for t in threads:
                t.start()
            time.sleep(1.0)
            os.rename(log, rotated)  # logrotate's step, then its postrotate: kill -HUP
            before = sum(counts[:3])
            srv.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 5
            while not os.path.exists(log) and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(1.0)
            stop.set()
            for t in threads:
                t.join(10)
            srv.stop()
        sent = sum(counts[:3])
        check(counts[3] == 0, "%d client errors" % counts[3])
        old, new = read_lines(rotated), read_lines(log)
        check(len(old) + len(new) == sent, "%d + %d lines for %d requests"
              % (len(old), len(new), sent))
        check(len(old) >= before // 2 and len(new) > 0, "old %d (before the signal: %d), new %d"
              % (len(old), before, len(new)))
        seen = set()
        for line in old + new:
            m = COMBINED.match(line)
            check(m and m.group(3) == "200", "line does not parse: %r" % line)
            check(m.group(2) not in seen, "line twice: %r" % line)
            seen.add(m.group(2))
        print("    %d loop(s): %d requests, %d lines before the reopen, %d after"
              % (workers, sent, len(old), len(new)))


@test
def access_log_sighup_reopen_under_load_loses_and_splits_nothing():
    _sighup_under_load(1)


@test
def access_log_sighup_reopen_with_three_loops():
    """Each loop appends through a descriptor of its own: every one reopens, no line is split
    or lost between them."""
    _sighup_under_load(3)


# ---- health checks ----

@test
def health_path_answers_ok_and_stays_out_of_the_access_log():
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "access.log")
        for level in ("info", "debug"):
            with Server(["0", "--root", make_root(tmp, name=level), "--health-path", "/healthz",
                         "--access-log", log, "-l", level]) as srv:
                st, hdrs, body = srv.get("/healthz")
                check(st == 200 and body == b"ok\n"
                      and hdrs["content-type"].startswith("text/plain")
                      and hdrs["cache-control"] == "no-store", "%d %s %r" % (st, hdrs, body))
                st, hdrs, body = srv.get("/healthz", method="HEAD")
                check(st == 200 and body == b"" and hdrs["content-length"] == "3", "HEAD")
                check(srv.get("/healthz/x")[0] == 404, "only the exact path")
                check(srv.get("/healthz", method="POST")[0] == 405, "POST")
                srv.get("/hello.html")
                srv.wait_for(r'"GET /hello\.html')
                health = srv.count(r'"(GET|HEAD) /healthz HTTP/1\.1" host ok -> 200 OK, '
                                   r'health check')
                if level == "info":
                    check(health == 0, "health checks logged at info")
                else:
                    check(srv.count(r'\[debug\] .*"GET /healthz HTTP/1\.1" host ok -> 200') == 1
                          and health == 2, "health checks at debug:\n" + srv.text()[-1500:])
                srv.stop()
        lines = read_lines(log)
        check(not any(re.search(r'"(GET|HEAD) /healthz HTTP', line) for line in lines)
              and len(lines) == 6,
              "access log: %s" % lines)


# ---- accepting ----

@test
def defer_accept_hands_over_a_connection_with_its_first_bytes():
    """Linux TCP_DEFER_ACCEPT (--defer-accept, 1 s by default): a silent connection stays with
    the kernel until its client sends, or until about the deferral has passed; with 0 the server
    takes it at once. Elsewhere the option is accepted and does nothing."""
    if sys.platform != "linux":
        print("  (not Linux: nothing to defer)")
        return
    peer = r"Connection from 127\.0\.0\.1:%d$"
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        with Server(["0", "--root", root]) as srv:
            silent = srv.connect()
            port = silent.getsockname()[1]
            time.sleep(0.5)
            check(srv.count(peer % port) == 0, "a silent connection was accepted at once:\n"
                  + srv.text()[-800:])
            t0 = time.monotonic()
            talker = srv.connect()
            talker.sendall(srv.request("/hello.html", extra=b"Connection: close\r\n"))
            reply = talker.recv(65536)
            check(status_of(reply) == 200, "the request after connect: %r" % reply[:200])
            srv.wait_for(peer % talker.getsockname()[1])
            check(srv.count(peer % port) == 0, "the silent connection was accepted with the other")
            # After the deferral the kernel gives it up anyway: it is served like any other.
            srv.wait_for(peer % port, timeout=6)
            waited = time.monotonic() - t0 + 0.5
            check(waited >= 0.9, "accepted after %.2f s, before the 1 s deferral" % waited)
            silent.sendall(srv.request("/hello.html", extra=b"Connection: close\r\n"))
            check(status_of(silent.recv(65536)) == 200, "the late request")
            talker.close()
            silent.close()
            srv.stop()
        with Server(["0", "--root", root, "--defer-accept", "0"]) as srv:
            silent = srv.connect()
            srv.wait_for(peer % silent.getsockname()[1], timeout=1)
            silent.close()
            srv.stop()


# ---- systemd notifications ----

class FakeSystemd:
    """A datagram socket standing in for systemd's $NOTIFY_SOCKET."""

    def __init__(self, tmp, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "uvhttpd-test-%d-%d" % (os.getpid(), time.monotonic_ns())
            self.sock.bind("\0" + name)
            self.env_value = "@" + name
        else:
            path = os.path.join(tmp, "notify-%d.sock" % time.monotonic_ns())
            self.sock.bind(path)
            self.env_value = path
        self.sock.settimeout(5)

    def env(self):
        e = dict(os.environ)
        e["NOTIFY_SOCKET"] = self.env_value
        return e

    def recv(self):
        return self.sock.recv(4096).decode()

    def close(self):
        self.sock.close()


@test
def sd_notify_ready_reloading_stopping():
    if not hasattr(socket, "AF_UNIX"):
        return
    with tempfile.TemporaryDirectory() as tmp:
        for abstract, workers in ((False, 1), (True, 1), (False, 3)):
            sd = FakeSystemd(tmp, abstract)
            log = os.path.join(tmp, "a%d%d.log" % (abstract, workers))
            try:
                with Server(["0", "--root", make_root(tmp, name="r%d%d" % (abstract, workers)),
                             "--access-log", log, "--workers", str(workers)],
                            env=sd.env()) as srv:
                    ready = sd.recv()
                    check(ready == "READY=1\nSTATUS=Serving http://127.0.0.1:%d" % srv.port,
                          "first message: %r" % ready)
                    check(srv.get("/hello.html")[0] == 200, "serving after READY")
                    srv.proc.send_signal(signal.SIGHUP)
                    msg = sd.recv()
                    check(re.fullmatch(r"RELOADING=1\nMONOTONIC_USEC=\d+", msg), "%r" % msg)
                    check(sd.recv() == "READY=1", "READY=1 after the reopen")
                    deadline = time.monotonic() + 3  # the log is written a loop turn later
                    while (srv.count(r"Access log reopened: ") < workers
                           and time.monotonic() < deadline):
                        time.sleep(0.02)
                    check(srv.count(r"Access log reopened: ") == workers,
                          "%d loops, reopened:\n%s" % (workers, srv.text()[-1500:]))
                    srv.proc.send_signal(signal.SIGTERM)
                    check(sd.recv() == "STOPPING=1", "STOPPING=1 on SIGTERM")
                    srv.stopped()
            finally:
                sd.close()


@test
def sd_notify_unusable_socket_is_a_warning():
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        env["NOTIFY_SOCKET"] = os.path.join(tmp, "nobody-listens.sock")
        with Server(["0", "--root", make_root(tmp)], env=env) as srv:
            srv.wait_for(r"\[warn\] Cannot notify systemd at .*nobody-listens\.sock")
            check(srv.get("/hello.html")[0] == 200, "serving anyway")
            srv.stop()


if __name__ == "__main__":
    sys.exit(uvh.run_tests("test_ops.py", "OPS_TESTS"))
