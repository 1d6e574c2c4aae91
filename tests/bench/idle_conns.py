#!/usr/bin/env python3
"""Open N keep-alive connections to one server, send one GET on each, read each response whole,
then hold them all open, idle, until told to let go. Standard library only (selectors).

usage: idle_conns.py HOST PORT PATH N [--batch B] [--deadline SECONDS]

At most B connections (default 200) are connecting or waiting for their response at once, so
the server's listen backlog never overflows (an overflow would cost a 1 s SYN retry). When every
connection has had its response (or the deadline, default 60 s, passed) it prints one line

    READY ok=N failed=M seconds=S

to stdout and waits for a line (or EOF) on stdin; then it closes everything and exits 0. Used by
tests/bench/compare.py (scenario e: the server's RSS growth per idle connection), which reads
the server's memory between READY and its answer. Raise `ulimit -n` above N first.
"""

import argparse
import selectors
import socket
import sys
import time


class Conn:
    __slots__ = ("sock", "buf", "need", "done")

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.need = None  # total bytes of the response once its head is parsed
        self.done = False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("path")
    ap.add_argument("n", type=int)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--deadline", type=float, default=60.0)
    a = ap.parse_args()

    req = (f"GET {a.path} HTTP/1.1\r\nHost: {a.host}:{a.port}\r\n"
           "User-Agent: idle_conns.py\r\n\r\n").encode()
    sel = selectors.DefaultSelector()
    held, started, ok, failed, inflight = [], 0, 0, 0, 0
    t0 = time.monotonic()

    def fail(c):
        nonlocal failed, inflight
        failed += 1
        inflight -= 1
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()

    while ok + failed < a.n and time.monotonic() - t0 < a.deadline:
        while inflight < a.batch and started < a.n:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            started += 1
            inflight += 1
            c = Conn(s)
            try:
                s.connect_ex((a.host, a.port))
            except OSError:
                fail(c)
                continue
            sel.register(s, selectors.EVENT_WRITE, c)
        for key, ev in sel.select(timeout=0.5):
            c = key.data
            if ev & selectors.EVENT_WRITE:
                if c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    fail(c)
                    continue
                try:
                    c.sock.send(req)  # small: goes out whole on a fresh socket
                except OSError:
                    fail(c)
                    continue
                sel.modify(c.sock, selectors.EVENT_READ, c)
                continue
            try:
                data = c.sock.recv(65536)
            except OSError:
                fail(c)
                continue
            if not data:
                fail(c)
                continue
            c.buf += data
            if c.need is None:
                end = c.buf.find(b"\r\n\r\n")
                if end < 0:
                    continue
                head = c.buf[:end].decode("latin-1").split("\r\n")
                if not head[0].startswith("HTTP/1.1 200"):
                    fail(c)
                    continue
                clen = 0
                for line in head[1:]:
                    k, _, v = line.partition(":")
                    if k.strip().lower() == "content-length":
                        clen = int(v.strip())
                c.need = end + 4 + clen
            if len(c.buf) >= c.need:
                sel.unregister(c.sock)
                c.buf = b""
                c.done = True
                held.append(c)
                ok += 1
                inflight -= 1

    print(f"READY ok={ok} failed={a.n - ok} seconds={time.monotonic() - t0:.2f}", flush=True)
    sys.stdin.readline()
    for c in held:
        c.sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
