#!/usr/bin/env python3
"""Side-by-side benchmark (issue 12): uvhttpd against nginx, lighttpd and h2o in one run, every
figure quoted as a ratio to the best of the three peers. Not a pass/fail test; not part of
`meson test`. Run it through tests/bench/compare.sh, which checks (or, with --install, installs)
the peers and wrk first.

usage: compare.py [--build DIR] [--seconds S] [--rounds R] [--out DIR] [--conns-idle N]
                  [--no-floor]

Set-up
  * One temporary document root for all four servers: contact.html (2230 bytes, from
    resources/) and two generated files of 5 MB and 100 MB (random bytes).
  * Every server runs pinned to CPU 0 (taskset -c 0), every client (wrk -t1, idle_conns.py) to
    CPU 1, on 127.0.0.1, with its access log on, written to a file.
  * uvhttpd at its defaults (log level info, one access line per request, stderr to a file)
    except --max-requests 1000000, since the peers' per-connection request limits are raised
    likewise (its default of 100 would reconnect every 100 requests); scenario e also gets
    --max-connections 6000.
  * Peers configured for static files; see the config writers below for every choice.

Scenarios (each measurement S seconds, default 5; R rounds, default 3; in each round the
servers take turns in a rotated order, and each figure is the median of its rounds)
  a   /contact.html over keep-alive, 50 connections: req/s, server CPU us/request, p99 latency
  b   the same with `Connection: close` (one connection per request): CPU us/request, p99, req/s
  l5  a 5 MB file, 10 connections: MB/s, server CPU seconds per GB sent
  l100 a 100 MB file, 4 connections: MB/s, server CPU seconds per GB sent
  e   N (default 5000) idle keep-alive connections, each after one request: server RSS growth
      per connection, on a fresh server instance each round

The floor (--no-floor leaves it out): tests/bench/floor.c, built here with `cc -O2`, is the
least a server can do for scenarios a to d on Linux: one thread, epoll, the files in memory or
sent by sendfile, no parsing beyond the end of a head, no checks, an access line per request
written once per loop turn. It runs in the same rounds, in the tables as "floor", with its
ratio to the best peer too, but it is never a peer: it says how far below the peers any server
can get on this machine, where most of each request's CPU is the kernel's TCP path.

Server CPU is utime+stime from /proc/PID/stat, summed over the server's process tree (nginx:
master + worker; all threads of a process are in its own figure), read before and after the
load. RSS is VmRSS from /proc/PID/status, summed over the tree. MB and GB are 10^6 and 10^9
bytes.

Output: one table per scenario on stdout; the same report as text, and the figures (every
round, the medians and the ratios) as JSON and TSV, in --out (default BUILD/bench/), named
compare-YYYYmmdd-HHMMSS.{txt,json,tsv}.
"""

import argparse
import datetime
import json
import math
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SERVERS = ["uvhttpd", "nginx", "lighttpd", "h2o"]
PEERS = ["nginx", "lighttpd", "h2o"]
FLOOR = "floor"  # tests/bench/floor.c: scenarios a to d only, never a peer
SMALL = "contact.html"
FILES = {"large-5MB.png": 5 * 10**6, "large-100MB.png": 100 * 10**6}
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVER_CPU, CLIENT_CPU = "0", "1"

# (key, title, path, connections, extra wrk headers)
WRK_SCENARIOS = [
    ("a", "a) /contact.html (2230 B), keep-alive, 50 connections", "/" + SMALL, 50, []),
    ("b", "b) /contact.html (2230 B), Connection: close (a new connection per request), 50 "
          "connections", "/" + SMALL, 50, ["Connection: close"]),
    ("l5", "c) 5 MB file, keep-alive, 10 connections", "/large-5MB.png", 10, []),
    ("l100", "d) 100 MB file, keep-alive, 4 connections", "/large-100MB.png", 4, []),
]

# metric -> (label, unit, format, higher_is_better)
METRICS = {
    "rps": ("req/s", "req/s", "{:.0f}", True),
    "cpu_us_per_req": ("CPU us/req", "us", "{:.1f}", False),
    "p99_ms": ("p99 ms", "ms", "{:.2f}", False),
    "mb_per_s": ("MB/s", "MB/s", "{:.0f}", True),
    "cpu_s_per_gb": ("CPU s/GB", "s", "{:.3f}", False),
    "rss_kib_per_conn": ("RSS KiB/conn", "KiB", "{:.2f}", False),
}
SCENARIO_METRICS = {
    "a": ["rps", "cpu_us_per_req", "p99_ms"],
    "b": ["cpu_us_per_req", "p99_ms", "rps"],
    "l5": ["mb_per_s", "cpu_s_per_gb"],
    "l100": ["mb_per_s", "cpu_s_per_gb"],
    "e": ["rss_kib_per_conn"],
}

started = []  # Popen objects of every server and client this run started


def die(msg, code=2):
    print(f"compare: {msg}", file=sys.stderr)
    sys.exit(code)


def stop_proc(p, grace=5.0):
    """Stop one process we started, and its process group (it was started in its own session,
    so the group is exactly its tree: nginx's workers, for instance)."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(p.pid, signal.SIGKILL)  # leftovers of the group (workers), if any
    except (ProcessLookupError, PermissionError):
        pass
    try:
        p.wait(2)
    except subprocess.TimeoutExpired:
        pass


def cleanup():
    for p in reversed(started):
        stop_proc(p, grace=3.0)
    started.clear()


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def spawn(argv, cpu, **kw):
    p = subprocess.Popen(["taskset", "-c", cpu] + argv, start_new_session=True, **kw)
    started.append(p)
    return p


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_out(argv):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return r.stdout.strip()


# ---------------------------------------------------------------- /proc readings

def tree_pids(root_pid):
    """root_pid and all its descendants (a scan of /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def tree_cpu_s(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        except OSError:
            pass
    return total / CLK_TCK


def tree_rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


# ---------------------------------------------------------------- the servers

def nginx_conf(work, root, port, tag, nofile):
    # worker_processes 1 (one core); sendfile and tcp_nopush on (as Debian's nginx.conf);
    # keepalive_requests 1000000 (default 1000) and keepalive_timeout 30s (uvhttpd's default;
    # nginx's is 75s); open_file_cache off, which is nginx's and Debian's default (uvhttpd has
    # no open-file cache either); access_log in the predefined "combined" format, unbuffered
    # (the default: one write per request).
    return f"""daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile {nofile};
pid {work}/nginx-{tag}.pid;
error_log {work}/nginx-{tag}.error.log;
events {{ worker_connections 8192; }}
http {{
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log {work}/nginx-{tag}.access.log combined;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 30s;
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    root {root};
  }}
}}
"""


def lighttpd_conf(work, root, port, tag, nofile):
    # Single process (lighttpd's only model). server.max-keep-alive-requests 65535 (default
    # 1000; the setting is 16 bits wide); server.max-keep-alive-idle 30 (uvhttpd's default;
    # lighttpd's is 5 s, too short to hold scenario e's idle connections); max-fds and
    # max-connections raised for scenario e. stat cache: the default ("simple"); network
    # backend: the default (sendfile on Linux). mod_accesslog with its default format (the
    # combined log format with the Host in the second field); lighttpd buffers access-log
    # lines and writes them in blocks (its default).
    return f"""server.document-root = "{root}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{work}/lighttpd-{tag}.error.log"
server.modules = ( "mod_accesslog", "mod_staticfile" )
accesslog.filename = "{work}/lighttpd-{tag}.access.log"
server.max-keep-alive-requests = 65535
server.max-keep-alive-idle = 30
server.max-fds = {min(nofile, 65535)}
server.max-connections = 8192
server.listen-backlog = 4096
include_shell "/usr/share/lighttpd/create-mime.conf.pl"
"""


def h2o_conf(work, root, port, tag, nofile):
    # h2o 2.2.5 (Debian 12). num-threads 1 (one core); max-connections 8192 (default 1024, too
    # few for scenario e); http1-request-timeout 30 (the keep-alive idle timeout of HTTP/1;
    # default 10 s); no limit on requests per connection (h2o has none). Its open-file cache
    # is built in (not configurable in 2.2) and on. access-log to a file in h2o's default
    # format, which is the combined log format. Run as root, it serves as `nobody`.
    return f"""user: nobody
num-threads: 1
max-connections: 8192
http1-request-timeout: 30
error-log: {work}/h2o-{tag}.error.log
access-log: {work}/h2o-{tag}.access.log
listen:
  host: 127.0.0.1
  port: {port}
hosts:
  "127.0.0.1:{port}":
    paths:
      "/":
        file.dir: {root}
"""


class Server:
    def __init__(self, name, argv, port, logs, extra_note=""):
        self.name, self.argv, self.port, self.logs = name, argv, port, logs
        self.proc = None
        self.note = extra_note

    def start(self, work):
        errpath = os.path.join(work, f"{self.name}-{self.port}.stderr")
        self.stderr_path = errpath
        with open(errpath, "wb") as err:
            self.proc = spawn(self.argv, SERVER_CPU, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                with open(errpath, errors="replace") as f:
                    die(f"{self.name} exited at start-up (status {self.proc.returncode}):\n"
                        + f.read()[-3000:])
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            die(f"{self.name} is not listening on 127.0.0.1:{self.port} after 10 s")

    def pids(self):
        return tree_pids(self.proc.pid)

    def stop(self):
        if self.proc is not None:
            stop_proc(self.proc)
            if self.proc in started:
                started.remove(self.proc)
            self.proc = None


def make_server(name, work, root, build, tag, nofile, idle_conns=0):
    port = free_port()
    if name == FLOOR:
        log = os.path.join(work, f"floor-{tag}.access.log")
        return Server(name, [os.path.join(work, "floor"), str(port), root, log], port, [log])
    if name == "uvhttpd":
        argv = [os.path.join(build, "src", "uvhttpd"), str(port), "127.0.0.1", "--root", root,
                "--max-requests", "1000000"]
        if idle_conns:
            argv += ["--max-connections", str(idle_conns + 1000)]
        return Server(name, argv, port, [os.path.join(work, f"uvhttpd-{port}.stderr")])
    if name == "nginx":
        conf = os.path.join(work, f"nginx-{tag}.conf")
        with open(conf, "w") as f:
            f.write(nginx_conf(work, root, port, tag, nofile))
        return Server(name, ["nginx", "-e", f"{work}/nginx-{tag}.error.log", "-c", conf],
                      port, [f"{work}/nginx-{tag}.access.log"])
    if name == "lighttpd":
        conf = os.path.join(work, f"lighttpd-{tag}.conf")
        with open(conf, "w") as f:
            f.write(lighttpd_conf(work, root, port, tag, nofile))
        return Server(name, ["lighttpd", "-D", "-f", conf], port,
                      [f"{work}/lighttpd-{tag}.access.log"])
    if name == "h2o":
        conf = os.path.join(work, f"h2o-{tag}.conf")
        with open(conf, "w") as f:
            f.write(h2o_conf(work, root, port, tag, nofile))
        return Server(name, ["h2o", "-c", conf], port, [f"{work}/h2o-{tag}.access.log"])
    raise ValueError(name)


def check_files(srv, root):
    """curl each file once: it must be 200 with the file's exact size."""
    for fname in [SMALL] + list(FILES):
        want = os.path.getsize(os.path.join(root, fname))
        out = run_out(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                       "--max-time", "20", f"http://127.0.0.1:{srv.port}/{fname}"])
        if out != f"200 {want}":
            die(f"{srv.name} answered '{out}' for /{fname} (want '200 {want}'); its logs are in "
                f"{os.path.dirname(srv.stderr_path)}")


# ---------------------------------------------------------------- measurements

def run_wrk(srv, path, conns, secs, headers):
    argv = ["wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--timeout", "10s", "--latency",
            "-s", os.path.join(HERE, "wrk_report.lua")]
    for h in headers:
        argv += ["-H", h]
    argv.append(f"http://127.0.0.1:{srv.port}{path}")
    pids = srv.pids()
    c0 = tree_cpu_s(pids)
    p = spawn(argv, CLIENT_CPU, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = p.communicate(timeout=secs + 30)
    except subprocess.TimeoutExpired:
        stop_proc(p)
        die(f"wrk against {srv.name} did not finish in {secs + 30} s")
    finally:
        if p in started:
            started.remove(p)
    c1 = tree_cpu_s(pids)
    if srv.proc.poll() is not None:
        die(f"{srv.name} died during the run (status {srv.proc.returncode})")
    line = [l for l in out.splitlines() if l.startswith("WRKJSON ")]
    if not line:
        die(f"wrk against {srv.name} gave no result:\n{out}")
    w = json.loads(line[0][8:])
    w["server_cpu_s"] = c1 - c0
    return w


CACHE_LINE = re.compile(r"File cache: (\d+) entries, (\d+) of (\d+) bytes; (\d+) hits, "
                        r"(\d+) misses, (\d+) stale, (\d+) evicted")


def cache_figures(stderr_path):
    """uvhttpd's file-cache statistics, logged when it stops; None when absent."""
    with open(stderr_path, errors="replace") as f:
        m = None
        for line in f:
            m = CACHE_LINE.search(line) or m
    if not m:
        return None
    entries, used, budget, hits, misses, stale, evicted = map(int, m.groups())
    asked = hits + misses + stale
    return {"entries": entries, "used": used, "budget": budget, "hits": hits, "misses": misses,
            "stale": stale, "evicted": evicted, "hit_ratio": hits / asked if asked else 0.0}


def run_cache_mix(work, build, nofile, secs, files=2000):
    """uvhttpd alone under a mixed load (wrk_mix.lua): its file cache's hit ratio and memory."""
    root = os.path.join(work, "mixroot")
    os.makedirs(os.path.join(root, "mix"), exist_ok=True)
    rnd = random.Random(7)
    total = 0
    for i in range(files):  # 200 B to 16 KB, most of them small
        size = min(16000, int(200 * math.exp(rnd.random() * math.log(80))))
        total += size
        with open(os.path.join(root, "mix", "f%05d.html" % i), "wb") as f:
            f.write(b"<p>" + b"m" * max(size - 8, 0) + b"</p>\n")
    srv = make_server("uvhttpd", work, root, build, "mix", nofile)
    srv.start(work)
    argv = ["wrk", "-t1", "-c50", f"-d{secs}s", "-s", os.path.join(HERE, "wrk_mix.lua"),
            f"http://127.0.0.1:{srv.port}/"]
    p = spawn(argv, CLIENT_CPU, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
              env=dict(os.environ, MIX_FILES=str(files)))
    out, _ = p.communicate(timeout=secs + 30)
    if p in started:
        started.remove(p)
    srv.stop()
    fig = cache_figures(srv.stderr_path) or {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    fig.update({"files": files, "file_bytes": total, "rps": float(m.group(1)) if m else 0.0})
    return fig


def wrk_figures(key, w):
    secs = w["duration_us"] / 1e6
    reqs = max(w["requests"], 1)
    errors = w["connect_err"] + w["read_err"] + w["write_err"] + w["status_err"] + \
        w["timeout_err"]
    f = {"requests": w["requests"], "bytes": w["bytes"], "errors": errors,
         "server_cpu_s": round(w["server_cpu_s"], 3)}
    if key in ("a", "b"):
        f["rps"] = w["requests"] / secs
        f["cpu_us_per_req"] = w["server_cpu_s"] / reqs * 1e6
        f["p99_ms"] = w["p99_us"] / 1000
    else:
        f["mb_per_s"] = w["bytes"] / secs / 1e6
        f["cpu_s_per_gb"] = w["server_cpu_s"] / (max(w["bytes"], 1) / 1e9)
    return f


def run_idle(name, work, root, build, nofile, n, rnd):
    srv = make_server(name, work, root, build, f"idle{rnd}", nofile, idle_conns=n)
    srv.start(work)
    try:
        out = run_out(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                       f"http://127.0.0.1:{srv.port}/{SMALL}"])
        if out != "200":
            die(f"{name} (scenario e instance) answered '{out}' for /{SMALL}")
        time.sleep(0.3)
        before = tree_rss_kib(srv.pids())
        cl = spawn([sys.executable, os.path.join(HERE, "idle_conns.py"), "127.0.0.1",
                    str(srv.port), "/" + SMALL, str(n)], CLIENT_CPU,
                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = cl.stdout.readline().split()
        time.sleep(0.5)  # let the server finish whatever it does after the last response
        after = tree_rss_kib(srv.pids())
        alive = srv.proc.poll() is None
        try:
            cl.stdin.write("\n")
            cl.stdin.close()
        except BrokenPipeError:
            pass
        try:
            cl.wait(15)
        except subprocess.TimeoutExpired:
            pass
        stop_proc(cl)
        started.remove(cl)
        if not ready or ready[0] != "READY":
            die(f"idle_conns.py against {name} gave no READY line")
        stats = dict(kv.split("=") for kv in ready[1:])
        ok = int(stats["ok"])
        if not alive:
            die(f"{name} died holding idle connections")
        return {"ok": ok, "failed": int(stats["failed"]), "open_s": float(stats["seconds"]),
                "rss_before_kib": before, "rss_after_kib": after,
                "rss_kib_per_conn": (after - before) / max(ok, 1)}
    finally:
        srv.stop()


# ---------------------------------------------------------------- report

def num(v):
    """A plain decimal for the TSV (no exponent), at most 4 decimals."""
    return f"{v:.4f}".rstrip("0").rstrip(".")


def fmt(metric, v):
    return METRICS[metric][2].format(v)


def summarize(results, rounds):
    """results[key][server] = list of per-round figure dicts -> medians and ratios."""
    summary = {}
    for key, per_server in results.items():
        med = {}
        for s, runs in per_server.items():
            med[s] = {m: statistics.median(r[m] for r in runs) for m in SCENARIO_METRICS[key]}
        ratios = {}
        for m in SCENARIO_METRICS[key]:
            higher = METRICS[m][3]
            peer_vals = [med[p][m] for p in PEERS if p in med]
            best = max(peer_vals) if higher else min(peer_vals)
            for s in med:
                ratios.setdefault(s, {})[m] = (med[s][m] / best) if best else None
        summary[key] = {"median": med, "ratio": ratios}
    return summary


def table(key, title, summary, results, lines):
    ms = SCENARIO_METRICS[key]
    lines.append("")
    lines.append(title)
    hdr = f"  {'server':<9}"
    for m in ms:
        hdr += f" {METRICS[m][0]:>13} {'ratio':>6}"
    hdr += "   errors/failed"
    lines.append(hdr)
    for s in SERVERS + [FLOOR]:
        if s not in summary[key]["median"]:
            continue
        row = f"  {s:<9}"
        for m in ms:
            v = summary[key]["median"][s][m]
            r = summary[key]["ratio"][s][m]
            row += f" {fmt(m, v):>13} {('%.2fx' % r) if r is not None else '-':>6}"
        runs = results[key][s]
        bad = sum(r.get("errors", 0) + r.get("failed", 0) for r in runs)
        row += f"   {bad}"
        lines.append(row)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--conns-idle", type=int, default=5000)
    ap.add_argument("--out", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--no-floor", action="store_true", help="leave out tests/bench/floor.c")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    out_dir = os.path.abspath(a.out or os.path.join(build, "bench"))
    if a.seconds < 1 or a.rounds < 1:
        die("--seconds and --rounds must be at least 1")

    for tool, pkg in [("wrk", "wrk"), ("nginx", "nginx-light"), ("lighttpd", "lighttpd"),
                      ("h2o", "h2o"), ("curl", "curl"), ("taskset", "util-linux")]:
        if not shutil.which(tool):
            die(f"{tool} missing: apt-get install {pkg} (or run compare.sh --install as root)")
    uv = os.path.join(build, "src", "uvhttpd")
    if not os.access(uv, os.X_OK):
        die(f"{uv} is not an executable: build first (meson compile -C {build})")
    if os.cpu_count() < 2 or len(os.sched_getaffinity(0) & {0, 1}) < 2:
        die("needs CPUs 0 and 1 (the server on one, the load generator on the other)")

    # Descriptors: 5,000 idle connections on each side, plus the server's own.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if nofile < a.conns_idle + 1100:
        die(f"descriptor limit {nofile} is too low for {a.conns_idle} idle connections "
            "(raise the hard limit, or pass --conns-idle)")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    t_start = time.monotonic()
    work = tempfile.mkdtemp(prefix="uvhttpd-compare-")
    try:
        os.chmod(work, 0o755)  # nginx's worker and h2o serve as `nobody`
        root = os.path.join(work, "root")
        os.mkdir(root, 0o755)
        shutil.copy(os.path.join(REPO, "resources", SMALL), root)
        for fname, size in FILES.items():
            with open(os.path.join(root, fname), "wb") as f:
                chunk = os.urandom(10**6)
                for _ in range(size // 10**6):
                    f.write(chunk)
        for fname in os.listdir(root):
            os.chmod(os.path.join(root, fname), 0o644)

        versions = {
            "uvhttpd": run_out([uv, "--version"]).splitlines()[0],
            "nginx": run_out(["nginx", "-v"]).replace("nginx version: ", ""),
            "lighttpd": run_out(["lighttpd", "-v"]).split(" ")[0],
            "h2o": run_out(["h2o", "-v"]).splitlines()[0].replace("h2o version ", "h2o/"),
            "wrk": run_out(["wrk", "-v"]).splitlines()[0].split(" [")[0],
        }
        now = datetime.datetime.now().astimezone()
        meta = {
            "date": now.isoformat(timespec="seconds"),
            "kernel": platform.release(),
            "cpus": os.cpu_count(),
            "cpu_model": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                               if l.startswith("model name")), "?"),
            "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
            "versions": versions,
            "seconds_per_measurement": a.seconds,
            "rounds": a.rounds,
            "idle_connections": a.conns_idle,
            "server_cpu": int(SERVER_CPU),
            "client_cpu": int(CLIENT_CPU),
            "uvhttpd_options": "defaults (log level info, access lines on stderr to a file) + "
                               "--max-requests 1000000; scenario e also --max-connections "
                               f"{a.conns_idle + 1000}",
        }

        loaded = list(SERVERS)  # the servers of scenarios a to d
        if not a.no_floor:
            cc = os.environ.get("CC", "cc")
            r = subprocess.run([cc, "-O2", "-o", os.path.join(work, "floor"),
                                os.path.join(HERE, "floor.c")], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                die(f"{cc} could not build tests/bench/floor.c (or pass --no-floor):\n"
                    + r.stdout)
            loaded.append(FLOOR)
            versions[FLOOR] = "floor (tests/bench/floor.c)"
        servers = {n: make_server(n, work, root, build, "main", nofile) for n in loaded}
        for s in servers.values():
            s.start(work)
        for s in servers.values():
            check_files(s, root)
        print(f"compare: {len(loaded)} servers up, files checked; {a.rounds} rounds x "
              f"{len(WRK_SCENARIOS)} load scenarios x {len(loaded)} servers x {a.seconds} s, then "
              f"{a.conns_idle} idle connections x 4 servers x {a.rounds} rounds", flush=True)
        for s in servers.values():  # warm-up (page cache, the servers' own caches); unmeasured
            run_wrk(s, "/" + SMALL, 50, 1, [])
            run_wrk(s, "/large-100MB.png", 4, 1, [])

        results = {k: {n: [] for n in (SERVERS if k == "e" else loaded)}
                   for k in SCENARIO_METRICS}
        rounds_log = []

        def progress(line):
            rounds_log.append(line)
            print(line, flush=True)

        for rnd in range(a.rounds):
            order = loaded[rnd % len(loaded):] + loaded[:rnd % len(loaded)]
            for key, title, path, conns, headers in WRK_SCENARIOS:
                for n in order:
                    w = run_wrk(servers[n], path, conns, a.seconds, headers)
                    f = wrk_figures(key, w)
                    f["round"] = rnd + 1
                    results[key][n].append(f)
                    progress(f"  round {rnd + 1} {key:<4} {n:<9} " + "  ".join(
                        f"{METRICS[m][0]} {fmt(m, f[m])}" for m in SCENARIO_METRICS[key]) +
                        (f"  ERRORS {f['errors']}" if f["errors"] else ""))

        # uvhttpd's log, before the idle instances: start-up lines and size (logging was on).
        uv_log = servers["uvhttpd"].stderr_path
        with open(uv_log, errors="replace") as f:
            startup = []
            for line in f:
                if "] [#" in line:
                    break
                startup.append(line.rstrip("\n"))
        log_sizes = {}
        for n, s in servers.items():
            p = s.logs[0]
            log_sizes[n] = {"bytes": os.path.getsize(p) if os.path.exists(p) else 0,
                            "lines": sum(1 for _ in open(p, "rb")) if os.path.exists(p) else 0}
        for s in servers.values():
            s.stop()
        cache_main = cache_figures(servers["uvhttpd"].stderr_path)
        progress("  file cache: a mixed load on a fresh uvhttpd")
        cache_mix = run_cache_mix(work, build, nofile, a.seconds)

        for rnd in range(a.rounds):
            order = SERVERS[rnd % 4:] + SERVERS[:rnd % 4]
            for n in order:
                f = run_idle(n, work, root, build, nofile, a.conns_idle, rnd + 1)
                f["round"] = rnd + 1
                results["e"][n].append(f)
                progress(f"  round {rnd + 1} e    {n:<9} RSS {f['rss_before_kib']} -> "
                         f"{f['rss_after_kib']} KiB, "
                         f"{fmt('rss_kib_per_conn', f['rss_kib_per_conn'])} KiB/conn "
                         f"({f['ok']} held, {f['failed']} failed, opened in "
                         f"{f['open_s']:.1f} s)")

        summary = summarize(results, a.rounds)
        elapsed = time.monotonic() - t_start
        meta["elapsed_s"] = round(elapsed, 1)
        meta["loadavg_at_end"] = open("/proc/loadavg").read().split()[:3]

        lines = []
        lines.append(f"uvhttpd side-by-side benchmark, {meta['date']}, kernel {meta['kernel']}, "
                     f"{meta['cpus']} CPUs ({meta['cpu_model']}), load average at start "
                     f"{' '.join(meta['loadavg_at_start'])}")
        lines.append("servers: " + ", ".join(versions[n] for n in SERVERS) + f"; client {versions['wrk']}")
        lines.append(f"server on CPU {SERVER_CPU}, client on CPU {CLIENT_CPU}; access logs on "
                     f"for all; median of {a.rounds} rounds x {a.seconds} s, servers in rotating "
                     "order; ratio = value / best of nginx, lighttpd, h2o (highest throughput, "
                     "lowest CPU, latency, memory)")
        lines.append(f"uvhttpd: {meta['uvhttpd_options']}")
        if FLOOR in loaded:
            lines.append("floor: tests/bench/floor.c, the least a server can do (no parsing, no "
                         "checks, its access log on), in the same rounds; never a peer")
        for key, title, *_ in WRK_SCENARIOS:
            table(key, title, summary, results, lines)
        table("e", f"e) {a.conns_idle} idle keep-alive connections (one request each, then held):"
              " RSS growth per connection (fresh server each round)", summary, results, lines)
        lines.append("")
        lines.append("uvhttpd's file cache (default budget and validity):")

        def cache_line(what, c):
            if not c or "hits" not in c:
                return f"  {what}: no statistics line in uvhttpd's log"
            return (f"  {what}: hit ratio {100 * c['hit_ratio']:.1f}% ({c['hits']} hits, "
                    f"{c['misses']} misses, {c['stale']} stale), {c['entries']} entries, "
                    f"{c['used'] / 1024:.0f} KiB of {c['budget'] / 1048576:.0f} MiB, "
                    f"{c['evicted']} evicted")
        lines.append(cache_line("main instance (scenarios a to d)", cache_main))
        lines.append(cache_line(
            f"a mixed load ({cache_mix.get('files')} files of 200 B to 16 KB, "
            f"{cache_mix.get('file_bytes', 0) / 1e6:.1f} MB in all, popularity skewed, 5% misses; "
            f"{cache_mix.get('rps', 0):.0f} req/s)", cache_mix))
        lines.append("")
        lines.append("uvhttpd start-up log (main instance):")
        lines.extend("  " + l for l in startup)
        lines.append("access logs of the main instances (load scenarios and warm-up): " + ", ".join(
            f"{n} {log_sizes[n]['bytes'] / 1e6:.1f} MB / {log_sizes[n]['lines']} lines"
            for n in loaded))
        lines.append(f"elapsed {elapsed:.0f} s; load average at end "
                     f"{' '.join(meta['loadavg_at_end'])}")
        report = list(lines)
        lines += ["", "every round:"] + rounds_log

        os.makedirs(out_dir, exist_ok=True)
        stem = os.path.join(out_dir, "compare-" + now.strftime("%Y%m%d-%H%M%S"))
        with open(stem + ".txt", "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(stem + ".json", "w") as f:
            json.dump({"meta": meta, "uvhttpd_startup_log": startup, "access_logs": log_sizes,
                       "file_cache": {"main": cache_main, "mix": cache_mix},
                       "scenarios": {k: {"title": next((t for kk, t, *_ in WRK_SCENARIOS
                                                        if kk == k), "idle connections"),
                                         "metrics": {m: {"label": METRICS[m][0],
                                                         "unit": METRICS[m][1],
                                                         "higher_is_better": METRICS[m][3]}
                                                     for m in SCENARIO_METRICS[k]},
                                         **summary[k], "rounds": results[k]}
                                     for k in SCENARIO_METRICS}}, f, indent=1)
        with open(stem + ".tsv", "w") as f:
            f.write("scenario\tserver\tmetric\tunit\tmedian\tratio_to_best_peer\trounds\n")
            for k in SCENARIO_METRICS:
                for s in results[k]:
                    for m in SCENARIO_METRICS[k]:
                        r = summary[k]["ratio"][s][m]
                        f.write(f"{k}\t{s}\t{m}\t{METRICS[m][1]}\t"
                                f"{num(summary[k]['median'][s][m])}\t"
                                f"{'' if r is None else '%.3f' % r}\t"
                                + ",".join(num(x[m]) for x in results[k][s]) + "\n")
        print("\n" + "\n".join(report))
        print(f"\nwritten: {stem}.txt, {stem}.json, {stem}.tsv")
        return 0
    finally:
        cleanup()
        if a.keep:
            print(f"compare: kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
