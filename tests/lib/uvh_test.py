"""Shared helpers of the Python suites that run the uvhttpd binary (tests/cli/test_cli.py,
tests/cli/test_concurrency.py, tests/bench/upload_rss.py). Standard library only.

- Server: starts the binary on port 0, waits for its readiness line, collects stderr; stop()
  and stopped() check the exit status, the "Server stopped" line, and that the log holds no
  sanitizer report and no unclosed loop.
- make_root: the one small document root these suites serve (the standard test root, the one
  the curl and Postman suites use, is tests/make_docroot.py's).
- test, check, run_tests: the test registry and the runner, which prints one line per test and
  closes with "N passed, M failed" (CI reads that line).

A script finds this module with sys.path.insert(0, <its dir>/../lib).
"""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

BINARY = None  # set by run_tests() from argv, or by a caller of Server(binary=...)
READY = re.compile(r"HTTP Server started on http://(\S+):(\d+)$")
LOG_LINE = re.compile(r"^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\] \[(error|warn|info|debug)\] ")
UNCLEAN = "event loop did not close cleanly"
SANITIZER = re.compile(r"runtime error:|AddressSanitizer|LeakSanitizer|ThreadSanitizer")  # -Db_sanitize builds
STOPPED = "[info] Server stopped"
INDEX_HTML = b"<!DOCTYPE html>\n<html><body><h1>cli test index</h1></body></html>\n"
HELLO_HTML = b"<p>hello from a temporary root</p>\n"
TESTS = []


def test(fn):
    """Registers a test: a function without arguments that raises on failure."""
    TESTS.append(fn)
    return fn


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def make_root(parent, name="root", big=0):
    """A small document root: index.html, hello.html, style.css (outside the MIME table),
    notes.txt, and big.png of `big` random bytes when asked."""
    root = os.path.join(parent, name)
    os.makedirs(root)
    files = {
        "index.html": INDEX_HTML,
        "hello.html": HELLO_HTML,
        "style.css": b"body { color: #333; }\n",
        "notes.txt": b"plain notes\n",
    }
    for fname, data in files.items():
        with open(os.path.join(root, fname), "wb") as f:
            f.write(data)
    if big:
        block = os.urandom(1 << 20)
        with open(os.path.join(root, "big.png"), "wb") as f:
            left = big
            while left:
                n = min(left, len(block))
                f.write(block[:n])
                left -= n
    return root


def run(args, timeout=5, cwd=None):
    """Runs the binary to completion (options that exit at once); a CompletedProcess."""
    return subprocess.run([BINARY] + args, capture_output=True, timeout=timeout, cwd=cwd)


def quiet_level(args):
    """True when args set --log-level warn or error (no "Server stopped" line then)."""
    level = "info"
    for i, a in enumerate(args):
        if a in ("--log-level", "-l") and i + 1 < len(args):
            level = args[i + 1]
        elif a.startswith("--log-level="):
            level = a.split("=", 1)[1]
    return level in ("warn", "error")


class Server:
    """A running uvhttpd on the port its readiness line names, whose stderr is collected, line
    by line, by a reader thread. Use it as a context manager: leaving the block kills a server
    still running and, when the block raised nothing, checks the log as stop() does."""

    def __init__(self, args, cwd=None, preexec_fn=None, binary=None, env=None):
        self.args = list(args)
        self.lines = []  # decoded as latin-1 so every byte survives
        self.cond = threading.Condition()
        self.eof = False
        self.started = time.monotonic()
        self.proc = subprocess.Popen([binary or BINARY] + self.args, cwd=cwd,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, preexec_fn=preexec_fn,
                                     env=env)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        try:
            m = READY.search(self.wait_for(READY.pattern, timeout=5))
            self.host, self.port = m.group(1), int(m.group(2))
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def _read(self):
        for raw in self.proc.stderr:
            with self.cond:
                self.lines.append(raw.decode("latin-1").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    # ---- the log ----

    def wait_for(self, pattern, timeout=3, start=0):
        """Returns the first line at index >= start matching the regex pattern."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines[start:]:
                    if rx.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    raise AssertionError("no log line matching %r; log was:\n%s"
                                         % (pattern, "\n".join(self.lines[-80:])))
                self.cond.wait(left)

    def mark(self):
        """The number of lines so far: a start for wait_for."""
        with self.cond:
            return len(self.lines)

    def count(self, pattern):
        rx = re.compile(pattern)
        with self.cond:
            return sum(1 for line in self.lines if rx.search(line))

    def text(self):
        with self.cond:
            return "\n".join(self.lines)

    def check_log_format(self):
        for line in self.text().split("\n"):
            check(LOG_LINE.match(line), "log line without timestamp/level prefix: %r" % line)

    def check_log(self):
        """No unclosed loop and no sanitizer report in the log."""
        log = self.text()
        check(UNCLEAN not in log, "'%s' in the log" % UNCLEAN)
        m = SANITIZER.search(log)
        check(not m, "sanitizer report in the log:\n" + log[max(m.start() - 200, 0):][:3000]
              if m else "")

    # ---- clients ----

    def connect(self, rcvbuf=None, timeout=5, source=None):
        """A connected socket; source: the local address to connect from (127.0.0.0/8 is all
        loopback on Linux, so 127.0.0.2 is another peer address)."""
        s = socket.socket()
        if source:
            s.bind((source, 0))
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(timeout)
        s.connect(("127.0.0.1", self.port))
        return s

    def request(self, path, method="GET", extra=b""):
        """The bytes of a request head with this server's Host."""
        return (b"%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n"
                % (method.encode(), path.encode(), self.port, extra))

    def get(self, path, headers=None, method="GET"):
        """(status, headers with lower-case names, body) of one request on a new connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request(method, path, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def raw(self, data, timeout=5, source=None):
        """Sends bytes on a new connection and reads until the server closes it."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout,
                                     source_address=(source, 0) if source else None)
        try:
            s.sendall(data)
            chunks = []
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
            return b"".join(chunks)
        finally:
            s.close()

    # ---- the process ----

    def alive(self):
        return self.proc.poll() is None

    def wait_exit(self, timeout):
        """The exit status, or None if still running after timeout seconds."""
        try:
            return self.proc.wait(max(timeout, 0.01))
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=signal.SIGTERM, timeout=5, status=0):
        """Sends sig (unless the server already exited), waits for the exit and checks it (see
        check_exit); returns the exit status. Kills the server if it does not exit in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.wait_exit(timeout)
        if rc is None:
            self.proc.kill()
            self.proc.wait()
            self.reader.join(2)
            raise AssertionError("server did not exit within %ss of signal %d; log was:\n%s"
                                 % (timeout, sig, self.text()[-4000:]))
        self.reader.join(2)
        self.check_exit(rc, status)
        return rc

    def stopped(self, timeout=5, status=0):
        """Like stop() for a server already told to stop (a further signal could arrive after
        its handlers are gone and kill it)."""
        rc = self.wait_exit(timeout)
        if rc is None:
            raise AssertionError("server still running %ss after being told to stop; log:\n%s"
                                 % (timeout, self.text()[-3000:]))
        self.reader.join(2)
        self.check_exit(rc, status)
        return rc

    def check_exit(self, rc, status=0):
        """The exit status is `status` (None: any), the log is clean (check_log), and a clean
        exit (0) ends with "Server stopped" where info lines are printed."""
        log = self.text()
        if status is not None:
            check(rc == status, "exit status %s, expected %s; log tail:\n%s"
                  % (rc, status, log[-3000:]))
        self.check_log()
        if rc == 0 and not quiet_level(self.args):
            check(log.rstrip().endswith(STOPPED), "last line: " + log[-300:])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(2)
        self.proc.stderr.close()
        # Whatever the test checked, a loop that did not close cleanly is a failure, and so is
        # a sanitizer report.
        if exc[0] is None:
            self.check_log()


def run_tests(prog, only_env):
    """main() of a suite: argv is PROG PATH/TO/uvhttpd; runs the registered tests (those named
    in the environment variable only_env, when set) and returns the exit status."""
    global BINARY
    if len(sys.argv) != 2:
        print("usage: %s PATH/TO/uvhttpd" % prog, file=sys.stderr)
        return 2
    BINARY = os.path.abspath(sys.argv[1])
    passed = failed = 0
    t0 = time.monotonic()
    only = os.environ.get(only_env, "").split()
    for fn in TESTS:
        if only and fn.__name__ not in only:
            continue
        t = time.monotonic()
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - report every kind of failure
            failed += 1
            print("FAIL %s (%.2fs): %s" % (fn.__name__, time.monotonic() - t, e))
            if not isinstance(e, AssertionError):
                traceback.print_exc(file=sys.stdout)
        else:
            passed += 1
            print("ok   %s (%.2fs)" % (fn.__name__, time.monotonic() - t))
        sys.stdout.flush()
    print("total %.1fs" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0
