#!/usr/bin/env python3
"""uvhttpd behind a real HAProxy (issue 14): two instances sharing one document root, HAProxy
in front with send-proxy-v2, roundrobin and HTTP health checks, plain HTTP and TLS at the
balancer. Standard library only, plus the haproxy, openssl and curl commands.

Usage: test_haproxy.py PATH/TO/uvhttpd

Exits 77 (meson: skipped) with a reason when haproxy is not installed; CI and the README's
command 1 install it. Addresses: 127.0.0.0/8 is all loopback on Linux. HAProxy connects to the
instances from 127.0.0.2 (`source`), the only address they trust for PROXY headers, and clients
connect to HAProxy from 127.0.0.3 (curl: 127.0.0.4), so the client address the instances log can
only have come from the PROXY header. HAPROXY_TESTS="name ..." runs a subset.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import uvh_test as uvh  # noqa: E402
from uvh_test import Server, check, make_root, test  # noqa: E402

HAPROXY = shutil.which("haproxy") or ("/usr/sbin/haproxy"
                                      if os.path.exists("/usr/sbin/haproxy") else None)
PROXY_PEER = "127.0.0.2"  # HAProxy's source address towards the instances
CLIENT = "127.0.0.3"      # the Python clients' address towards HAProxy
CURL_CLIENT = "127.0.0.4"

# The configuration the README's Deployment section shows, with the test's ports and files.
HAPROXY_CFG = """\
global
    maxconn 512

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch

frontend www
    bind 127.0.0.1:{plain}
    bind 127.0.0.1:{tls} ssl crt {pem}
    default_backend uvhttpd

backend uvhttpd
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server send-proxy-v2 source {source} check inter 300ms fall 2 rise 1
    server a 127.0.0.1:{a}
    server b 127.0.0.1:{b}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Cluster:
    """Two uvhttpd instances on one root and HAProxy in front of them."""

    def __init__(self, tmp, extra_args=()):
        self.tmp = tmp
        self.root = make_root(tmp, big=1 << 20)
        self.plain, self.tls = free_port(), free_port()
        self.pem, self.cert = self._make_cert()
        self.logs = [os.path.join(tmp, "a.log"), os.path.join(tmp, "b.log")]
        self.servers = []
        self.haproxy = None
        self.extra_args = list(extra_args)
        try:
            for i in range(2):
                self.servers.append(Server(self.args(i, 0)))
            self._start_haproxy()
        except BaseException:
            self.close()
            raise

    def args(self, i, port):
        """Instance i's command line, on `port` (0: any)."""
        return ["%d" % port, "--root", self.root, "--proxy-protocol", PROXY_PEER + "/32",
                "--access-log", self.logs[i], "--health-path", "/healthz",
                "--allow-host", "127.0.0.1:%d" % self.plain,
                "--allow-host", "localhost:%d" % self.tls] + self.extra_args

    def _make_cert(self):
        key, cert = os.path.join(self.tmp, "key.pem"), os.path.join(self.tmp, "cert.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                            "-days", "1", "-keyout", key, "-out", cert],
                           capture_output=True, timeout=60)
        check(r.returncode == 0, "openssl: %s" % r.stderr.decode()[-500:])
        pem = os.path.join(self.tmp, "site.pem")
        with open(pem, "wb") as out:
            for part in (cert, key):
                with open(part, "rb") as f:
                    out.write(f.read())
        return pem, cert

    def config(self):
        return HAPROXY_CFG.format(plain=self.plain, tls=self.tls, pem=self.pem, source=PROXY_PEER,
                                  a=self.servers[0].port, b=self.servers[1].port)

    def _start_haproxy(self):
        cfg = os.path.join(self.tmp, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(self.config())
        self.haproxy_log = open(os.path.join(self.tmp, "haproxy.out"), "wb")
        self.haproxy = subprocess.Popen([HAPROXY, "-db", "-f", cfg], stdin=subprocess.DEVNULL,
                                        stdout=self.haproxy_log, stderr=subprocess.STDOUT)
        # Ready once both instances answered a health check through their PROXY path.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.haproxy.poll() is not None:
                raise AssertionError("haproxy exited %d:\n%s" % (self.haproxy.returncode,
                                                                 self.haproxy_output()))
            if all(s.count(r"\[debug\]|Connection from 127\.0\.0\.2:") for s in self.servers):
                try:
                    if self.get("/hello.html")[0] == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        raise AssertionError("haproxy not ready:\n" + self.haproxy_output())

    def haproxy_output(self):
        self.haproxy_log.flush()
        with open(os.path.join(self.tmp, "haproxy.out"), "rb") as f:
            return f.read().decode("latin-1")[-3000:]

    def get(self, path, method="GET", body=None, headers=None, source=CLIENT):
        """(status, headers, body) of one request through HAProxy, on a new connection from
        `source`."""
        conn = http.client.HTTPConnection("127.0.0.1", self.plain, timeout=10,
                                          source_address=(source, 0))
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def access_lines(self, i, n=0, timeout=3):
        """Instance i's access log lines (waiting for at least n)."""
        deadline = time.monotonic() + timeout
        while True:
            with open(self.logs[i], "rb") as f:
                data = f.read().decode("latin-1")
            lines = data.split("\n")[:-1]
            if len(lines) >= n or time.monotonic() > deadline:
                return lines
            time.sleep(0.02)

    def close(self, check_servers=False):
        if self.haproxy and self.haproxy.poll() is None:
            self.haproxy.terminate()
            try:
                self.haproxy.wait(5)
            except subprocess.TimeoutExpired:
                self.haproxy.kill()
                self.haproxy.wait()
        if self.haproxy:
            self.haproxy_log.close()
        for s in self.servers:
            if check_servers:
                s.stop()
            s.__exit__(None, None, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(check_servers=exc[0] is None)


CLF = re.compile(r'^(\S+) - - \[[^\]]+\] "([^"]*)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"$')


def parsed(lines):
    out = []
    for line in lines:
        m = CLF.match(line)
        check(m, "access line does not parse: %r" % line)
        out.append(m.groups())
    return out


@test
def requests_spread_over_both_with_the_client_address():
    with tempfile.TemporaryDirectory() as tmp, Cluster(tmp) as c:
        base = [len(c.access_lines(i)) for i in range(2)]
        n = 20
        for k in range(n):
            st, _, body = c.get("/hello.html?k=%d" % k)
            check(st == 200 and body == uvh.HELLO_HTML, "request %d: %d" % (k, st))
        lines = [c.access_lines(i)[base[i]:] for i in range(2)]
        deadline = time.monotonic() + 3
        while sum(map(len, lines)) < n and time.monotonic() < deadline:
            time.sleep(0.05)
            lines = [c.access_lines(i)[base[i]:] for i in range(2)]
        ours = [[g for g in parsed(ls) if "/hello.html?k=" in g[1]] for ls in lines]
        check(len(ours[0]) + len(ours[1]) == n, "lines: %s" % lines)
        # roundrobin: each instance served about half.
        check(min(len(ours[0]), len(ours[1])) >= n // 2 - 2, "spread %d / %d"
              % (len(ours[0]), len(ours[1])))
        for g in ours[0] + ours[1]:
            check(g[0] == CLIENT and g[2] == "200", "client %s, expected %s: %s"
                  % (g[0], CLIENT, g))
        # The health checks (PROXY v2 LOCAL from 127.0.0.2) reached both and stay out of the
        # access logs.
        for i in range(2):
            check(c.servers[i].count(r"Connection from 127\.0\.0\.2:") > 0, "no checks on %d" % i)
            check(not any("/healthz" in line for line in c.access_lines(i)),
                  "health checks in access log %d" % i)
        print("    spread: %d / %d" % (len(ours[0]), len(ours[1])))


@test
def uploads_through_haproxy_are_readable_from_either_instance():
    with tempfile.TemporaryDirectory() as tmp, Cluster(tmp) as c:
        paths = []
        for k in range(6):
            doc = json.dumps({"k": k, "via": "haproxy"}).encode()
            st, _, body = c.get("/upload", method="POST", body=doc,
                                headers={"Content-Type": "application/json"})
            check(st == 201, "upload %d: %d %r" % (k, st, body))
            path = json.loads(body)["filepath"]
            paths.append((path, doc))
        check(len({p for p, _ in paths}) == len(paths), "two uploads got one name: %s" % paths)
        for path, doc in paths:
            for _ in range(2):  # through HAProxy: both instances in turn
                st, _, body = c.get(path)
                check(st == 200 and body == doc, "%s via haproxy: %d" % (path, st))
            for s in c.servers:  # and straight from each instance (127.0.0.1: no PROXY header)
                st, _, body = s.get(path)
                check(st == 200 and body == doc, "%s from :%d: %d" % (path, s.port, st))
        uploaders = [sum(1 for g in parsed(c.access_lines(i)) if g[1].startswith("POST /upload"))
                     for i in range(2)]
        check(all(uploaders), "uploads all went to one instance: %s" % uploaders)


@test
def tls_at_the_balancer_serves_the_same_bytes():
    with tempfile.TemporaryDirectory() as tmp, Cluster(tmp) as c:
        with open(os.path.join(c.root, "big.png"), "rb") as f:
            big = f.read()
        for path, want in (("/hello.html", uvh.HELLO_HTML), ("/big.png", big)):
            out = os.path.join(tmp, "out.bin")
            r = subprocess.run(["curl", "-sS", "--fail", "--cacert", c.cert, "--interface",
                                CURL_CLIENT, "--resolve", "localhost:%d:127.0.0.1" % c.tls,
                                "-o", out, "https://localhost:%d%s" % (c.tls, path)],
                               capture_output=True, timeout=30)
            check(r.returncode == 0, "curl https %s: %s" % (path, r.stderr.decode()))
            with open(out, "rb") as f:
                got = f.read()
            st, _, plain = c.get(path)
            check(got == want and plain == want and st == 200, "%s: %d bytes over TLS, %d plain"
                  % (path, len(got), len(plain)))
        hits = [g for i in range(2) for g in parsed(c.access_lines(i)) if g[0] == CURL_CLIENT]
        check(len(hits) == 2 and all(g[2] == "200" for g in hits),
              "TLS requests in the access logs with the curl client's address: %s" % hits)
        # An unknown Host through TLS is still refused: Host rules apply behind the proxy.
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert",
                            c.cert, "--resolve", "localhost:%d:127.0.0.1" % c.tls, "-H",
                            "Host: evil.example", "https://localhost:%d/" % c.tls],
                           capture_output=True, timeout=30)
        check(r.stdout == b"403", "foreign Host through TLS: %r" % r.stdout)


@test
def direct_connections_follow_the_trust_rules():
    with tempfile.TemporaryDirectory() as tmp, Cluster(tmp) as c:
        s = c.servers[0]
        req = b"GET /hello.html HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" % (
            s.port)
        # A PROXY header from a peer that is not HAProxy's address: 400 and a Security line.
        reply = s.raw(b"PROXY TCP4 6.6.6.6 1.1.1.1 1 80\r\n" + req)
        check(reply.startswith(b"HTTP/1.1 400 "), "untrusted PROXY: %r" % reply[:60])
        s.wait_for(r"Security: PROXY header from 127\.0\.0\.1:\d+, which is not a trusted proxy")
        # From HAProxy's address: no header, or a malformed one, is 400 and close.
        for data in (req, b"PROXY TCP4 6.6.6.6 1.1.1.1 1\r\n" + req,
                     b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x04abcd" + req):
            reply = s.raw(data, source=PROXY_PEER)
            check(reply.startswith(b"HTTP/1.1 400 ") and b"Connection: close" in reply,
                  "%r: %r" % (data[:40], reply[:60]))
        # The same instance still serves HAProxy's clients.
        check(c.get("/hello.html")[0] == 200, "through haproxy")


def _load(port, stop, counts, i):
    """Keep-alive GETs through HAProxy from CLIENT until stop is set: counts[i] = [sent,
    failed] (a failure: an error, another status, other bytes)."""
    conn = None
    while not stop.is_set():
        counts[i][0] += 1
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                                  source_address=(CLIENT, 0))
            conn.request("GET", "/hello.html")
            r = conn.getresponse()
            body = r.read()
            if r.status != 200 or body != uvh.HELLO_HTML:
                counts[i][1] += 1
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException):
            counts[i][1] += 1
            if conn:
                conn.close()
            conn = None
        time.sleep(0.002)  # bounded load: a few hundred requests a second
    if conn:
        conn.close()


@test
def rolling_restart_behind_haproxy_loses_no_request():
    """Each instance in turn: a new one starts on the same port (SO_REUSEPORT, src/listen.c),
    its readiness line is awaited, then the old one gets SIGTERM and drains. HAProxy (retries 3,
    option redispatch) keeps serving; not one request of the load fails."""
    with tempfile.TemporaryDirectory() as tmp, Cluster(tmp, ["--shutdown-timeout", "5"]) as c:
        stop = threading.Event()
        counts = [[0, 0] for _ in range(4)]
        threads = [threading.Thread(target=_load, args=(c.plain, stop, counts, i))
                   for i in range(len(counts))]
        for t in threads:
            t.start()
        try:
            time.sleep(2)
            for i in range(2):
                old = c.servers[i]
                new = Server(c.args(i, old.port))  # waits for "HTTP Server started on"
                check(new.port == old.port, "new instance on %d, not %d" % (new.port, old.port))
                c.servers[i] = new
                old.proc.send_signal(signal.SIGTERM)
                old.stopped(timeout=10)  # drained: exit 0, "Server stopped", a clean log
                time.sleep(3)
            time.sleep(1)
        finally:
            stop.set()
            for t in threads:
                t.join(15)
        sent, failed = sum(n for n, _ in counts), sum(f for _, f in counts)
        print("    %d requests sent during two restarts, %d failed" % (sent, failed))
        check(failed == 0 and sent > 500, "%d of %d requests failed" % (failed, sent))
        # Both new instances served part of the load; the access logs, written by an old and a
        # new process in turn, hold whole lines only.
        for i in range(2):
            check(c.servers[i].count(r"Connection from 127\.0\.0\.2:") > 0,
                  "new instance %d got no connection" % i)
            lines = c.access_lines(i)
            parsed(lines)
            check(sum(1 for line in lines if line.startswith(CLIENT + " ")) > 0,
                  "no client line in access log %d" % i)


def main():
    if not HAPROXY:
        print("SKIP: haproxy is not installed (apt-get install haproxy)")
        return 77
    for tool in ("openssl", "curl"):
        if not shutil.which(tool):
            print("SKIP: %s is not installed" % tool)
            return 77
    return uvh.run_tests("test_haproxy.py", "HAPROXY_TESTS")


if __name__ == "__main__":
    sys.exit(main())
