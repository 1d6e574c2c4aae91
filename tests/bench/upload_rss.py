#!/usr/bin/env python3
"""Memory of the server under concurrent uploads (issue 5: "50 concurrent 5 MiB uploads must not
raise the server's RSS by more than 32 MiB"; issue 10 item 14: "8 concurrent uploads of 10 MiB
flat objects must not raise it by more than 64 MiB"). Linux only (/proc); standard library only.

usage: upload_rss.py PATH/TO/uvhttpd [--count N] [--size-mib M] [--limit-mib L]
                     [--shape string|array|both|keys]

Starts the binary on 127.0.0.1 port 0 with a temporary document root (tests/lib/uvh_test.py), reads VmRSS from
/proc/PID/status once it is ready (before), then sends N concurrent uploads of M MiB each (one
thread and one connection per upload, all released at once) while a sampler reads VmRSS every
10 ms; the peak is the largest sample, or the kernel's VmHWM if that is larger. Prints

    upload RSS: before X MiB, peak Y MiB, growth Z MiB (limit L MiB)

and checks that every upload got 201 and that N complete files with the right bytes are in
ROOT/uploads/. Bodies are JSON objects of exactly M MiB holding one long string ("string") or
an array of small numbers ("array"); the default runs both, each on a fresh server. "keys" is
one flat object of M MiB of the shortest distinct keys ("0":0,"1":0,...,"a0":0,...), what the
duplicate-key check pays most for: past the checker's key budget (src/json_check.h) every such
upload must be answered 413 and nothing stored (`python3 upload_rss.py BIN --shape keys
--count 8 --size-mib 10 --limit-mib 64` is the issue's figure). Exits 1 if the growth is over
the limit or anything failed, 2 on bad usage.
"""

import argparse
import itertools
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from uvh_test import Server, make_root  # noqa: E402

FILEPATH = re.compile(rb'"filepath": "(/uploads/upload_\d{8}_\d{6}_[0-9a-f]{6}\.json)"')


def vm_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s in /proc/%d/status" % (field, pid))


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kib = 0
        self.samples = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                self.peak_kib = max(self.peak_kib, vm_kib(self.pid, "VmRSS"))
                self.samples += 1
            except (OSError, RuntimeError):
                return
            self.stop.wait(0.01)


SHAPES = {
    # shape: (prefix format, filler unit, suffix). "string": one long string, cheap to parse;
    # "array": [1,1,1,...], millions of values, what a parser that builds a tree pays most for.
    "string": (b'{"upload": "%03d", "data": "', b"x", b'"}'),
    "array": (b'{"upload": "%03d", "data": [', b"1,", b"1]}"),
}


# "keys": keys made of [0-9A-Za-z], all of length 1, then all of length 2, ...; the prefix and
# suffix keys have a "_", so they never clash with them.
KEY_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SHAPES["keys"] = (b'{"_upload": "%03d", ', None, b'"_end": 0}')
# What each shape's uploads must be answered (the flat objects are over the key budget).
EXPECT = {"string": 201, "array": 201, "keys": 413}


def key_members(n):
    """'"K":0,' members with the shortest distinct keys, n bytes in all (spaces pad the front)."""
    out, used = [], 0
    for length in itertools.count(1):
        for k in itertools.product(KEY_CHARS, repeat=length):
            m = '"%s":0,' % "".join(k)
            if used + len(m) > n:
                return b" " * (n - used) + "".join(out).encode()
            out.append(m)
            used += len(m)


def make_filler(shape, size):
    """The shared middle part, so that prefix + filler + suffix is exactly size bytes."""
    prefix, unit, suffix = SHAPES[shape]
    n = size - len(prefix % 0) - len(suffix)
    if unit is None:
        return key_members(n)
    return b" " * (n % len(unit)) + unit * (n // len(unit))


def body_parts(shape, i, filler):
    """Upload i: a JSON object whose bytes differ per upload; returned in three parts."""
    prefix, _, suffix = SHAPES[shape]
    return prefix % i, filler, suffix


def upload(port, shape, i, filler, results, start, expect=201):
    prefix, middle, suffix = body_parts(shape, i, filler)
    length = len(prefix) + len(middle) + len(suffix)
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
    except OSError as e:
        start.wait()
        results[i] = (0, None, "connect: %s" % e)
        return
    try:
        start.wait()
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n"
                  b"Connection: close\r\n\r\n" % (port, length))
        s.sendall(prefix)
        s.sendall(memoryview(middle))
        s.sendall(suffix)
        reply = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            reply += b
        m = re.match(rb"HTTP/1\.1 (\d{3}) ", reply)
        fp = FILEPATH.search(reply)
        results[i] = (int(m.group(1)) if m else 0, fp.group(1).decode() if fp else None,
                      "" if m and int(m.group(1)) == expect else "reply %r" % reply[-200:])
    except OSError as e:
        results[i] = (0, None, "I/O: %s" % e)
    finally:
        s.close()


def measure(binary, count, size_mib, limit_mib, shape="string", out=sys.stdout):
    """Runs the measurement on a new server; returns (ok, growth_mib, failures)."""
    failures = []
    expect = EXPECT[shape]
    filler = make_filler(shape, size_mib * 1024 * 1024)
    tmp = tempfile.mkdtemp(prefix="uvhttpd-rss-")
    root = make_root(tmp)
    growth = 0.0
    try:
        # --max-body: room for the body (the default 10 MiB is exactly enough for --size-mib 10).
        with Server(["0", "--root", root, "--max-body", str(max(size_mib, 10) * 1024 * 1024)],
                    binary=binary) as srv:
            proc, port = srv.proc, srv.port
            time.sleep(0.2)
            before = vm_kib(proc.pid, "VmRSS")
            sampler = Sampler(proc.pid)
            sampler.start()
            results = [None] * count
            start = threading.Barrier(count + 1)
            threads = [threading.Thread(target=upload,
                                        args=(port, shape, i, filler, results, start, expect))
                       for i in range(count)]
            for t in threads:
                t.start()
            t0 = time.monotonic()
            start.wait()
            for t in threads:
                t.join(120)
            took = time.monotonic() - t0
            time.sleep(0.05)
            sampler.stop.set()
            sampler.join()
            peak = max(sampler.peak_kib, vm_kib(proc.pid, "VmHWM"))
            growth = (peak - before) / 1024.0

            names = set()
            for i, r in enumerate(results):
                if r is None:
                    failures.append("upload %d: no result" % i)
                    continue
                status, fp, err = r
                if expect != 201:
                    if status != expect:
                        failures.append("upload %d: status %d, expected %d %s"
                                        % (i, status, expect, err))
                    continue
                if status != 201 or not fp:
                    failures.append("upload %d: status %d %s" % (i, status, err))
                    continue
                names.add(fp)
                prefix, middle, suffix = body_parts(shape, i, filler)
                path = os.path.join(root, fp.lstrip("/"))
                try:
                    with open(path, "rb") as f:
                        data = f.read()
                except OSError as e:
                    failures.append("upload %d: %s: %s" % (i, fp, e))
                    continue
                if (len(data) != len(prefix) + len(middle) + len(suffix) or
                        not data.startswith(prefix) or not data.endswith(suffix) or
                        data[len(prefix):-len(suffix)] != middle):
                    failures.append("upload %d: %s holds %d bytes, not the ones sent"
                                    % (i, fp, len(data)))
            stored = [n for n in os.listdir(os.path.join(root, "uploads"))
                      if n.startswith("upload_") and n.endswith(".json")]
            leftovers = [n for n in os.listdir(os.path.join(root, "uploads")) if n.startswith(".")]
            if len(names) != count - sum(1 for r in results if not r or r[0] != 201):
                failures.append("%d distinct names for %d uploads" % (len(names), count))
            if len(stored) != (count if expect == 201 else 0):
                failures.append("%d files in uploads/, expected %d"
                                % (len(stored), count if expect == 201 else 0))
            if leftovers:
                failures.append("temporary files left: %s" % leftovers)
            print("upload RSS: before %.1f MiB, peak %.1f MiB, growth %.1f MiB (limit %d MiB)"
                  % (before / 1024.0, peak / 1024.0, growth, limit_mib), file=out)
            after = vm_kib(proc.pid, "VmRSS")
            print("  %d x %d MiB uploads of %s bodies in %.2f s, %d RSS samples, %.1f MiB after; "
                  "%d of %d answered %d"
                  % (count, size_mib, shape, took, sampler.samples, after / 1024.0,
                     sum(1 for r in results if r and r[0] == expect), count, expect), file=out)
            if growth > limit_mib:
                failures.append("%s bodies: RSS grew by %.1f MiB, over the %d MiB limit"
                                % (shape, growth, limit_mib))
            if srv.alive():
                srv.stop(timeout=10)  # exit status 0, no sanitizer report, no unclosed loop
            else:
                failures.append("server exited with %d" % proc.returncode)
    except AssertionError as e:  # the start, the stop or the log
        failures.append(str(e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return not failures, growth, failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary")
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--size-mib", type=int, default=5)
    ap.add_argument("--limit-mib", type=int, default=32)
    ap.add_argument("--shape", choices=["string", "array", "both", "keys"], default="both",
                    help="body shape: one long JSON string, an array of small numbers, one run "
                         "of each (default), or a flat object of short distinct keys")
    args = ap.parse_args()
    if not os.path.exists("/proc/self/status"):
        print("upload_rss: needs Linux /proc", file=sys.stderr)
        return 2
    all_ok = True
    for shape in (["string", "array"] if args.shape == "both" else [args.shape]):
        ok, _, failures = measure(os.path.abspath(args.binary), args.count, args.size_mib,
                                  args.limit_mib, shape)
        for f in failures:
            print("FAIL " + f)
        sys.stdout.flush()
        all_ok = all_ok and ok
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
