#!/usr/bin/env python3
"""Several event loops (issue 13): uvhttpd --workers 2 against nginx (worker_processes 2),
lighttpd (server.max-worker = 2) and h2o (num-threads: 2), and uvhttpd --workers 1, in one run.
Not a pass/fail test; run it through tests/bench/workers.sh.

usage: workers.py [--build DIR] [--seconds S] [--rounds R] [--out DIR]

Set-up: as tests/bench/compare.py (same document root file, the same peer configurations and
access logs, uvhttpd at its defaults plus --max-requests 1000000), except that the servers and
the client all run on both CPUs (taskset -c 0,1): the servers with two workers each, the client
wrk -t2. They compete for the same two cores, so the figures are what a 2-core machine gives,
not what the servers would do with cores of their own.

Scenarios (S seconds each, R rounds in a rotated order, medians):
  a2  /contact.html over keep-alive, 100 connections: req/s, server CPU us/request, p99
  b2  the same with `Connection: close`: server CPU us/request, p99, req/s
Ratios: to the best of the peers, and uvhttpd --workers 2 to --workers 1 (the CPU per request
of the second loop's locking and hand-over must stay within 10%).
"""

import argparse
import datetime
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare as c  # noqa: E402  the servers, /proc readings and process handling

BOTH = "0,1"
SERVERS = ["uvhttpd-w2", "uvhttpd-w1", "nginx", "lighttpd", "h2o"]
PEERS = ["nginx", "lighttpd", "h2o"]
SCENARIOS = [
    ("a2", "a2) /contact.html, keep-alive, 100 connections, wrk -t2", ["rps", "cpu_us_per_req",
                                                                      "p99_ms"], []),
    ("b2", "b2) /contact.html, Connection: close, 100 connections, wrk -t2",
     ["cpu_us_per_req", "p99_ms", "rps"], ["Connection: close"]),
]


def make(name, work, root, build, nofile):
    """A server with two workers (uvhttpd-w1: one loop, for the CPU comparison)."""
    if name.startswith("uvhttpd"):
        srv = c.make_server("uvhttpd", work, root, build, name, nofile)
        srv.argv += ["--workers", "2" if name == "uvhttpd-w2" else "1"]
        srv.name = name
        return srv
    srv = c.make_server(name, work, root, build, name, nofile)
    conf = srv.argv[-1]
    with open(conf) as f:
        text = f.read()
    if name == "nginx":
        text = text.replace("worker_processes 1;", "worker_processes 2;")
    elif name == "lighttpd":
        text += "server.max-worker = 2\n"
    elif name == "h2o":
        text = text.replace("num-threads: 1", "num-threads: 2")
    with open(conf, "w") as f:
        f.write(text)
    return srv


def run_wrk(srv, conns, secs, headers):
    argv = ["wrk", "-t2", f"-c{conns}", f"-d{secs}s", "--timeout", "10s", "--latency",
            "-s", os.path.join(c.HERE, "wrk_report.lua")]
    for h in headers:
        argv += ["-H", h]
    argv.append(f"http://127.0.0.1:{srv.port}/{c.SMALL}")
    pids = srv.pids()
    c0 = c.tree_cpu_s(pids)
    p = c.spawn(argv, BOTH, stdout=c.subprocess.PIPE, stderr=c.subprocess.STDOUT, text=True)
    out, _ = p.communicate(timeout=secs + 30)
    if p in c.started:
        c.started.remove(p)
    c1 = c.tree_cpu_s(srv.pids())
    line = [l for l in out.splitlines() if l.startswith("WRKJSON ")]
    if not line:
        c.die(f"wrk against {srv.name} gave no result:\n{out}")
    w = json.loads(line[0][8:])
    w["server_cpu_s"] = c1 - c0
    return c.wrk_figures("a", w)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(c.REPO, "build"))
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    out_dir = os.path.abspath(a.out or os.path.join(build, "bench"))
    c.SERVER_CPU = c.CLIENT_CPU = BOTH  # compare.py's Server.start pins to SERVER_CPU
    for tool in ("wrk", "nginx", "lighttpd", "h2o", "curl", "taskset"):
        if not shutil.which(tool):
            c.die(f"{tool} missing (tests/bench/workers.sh checks the tools)")
    nofile = c.resource.getrlimit(c.resource.RLIMIT_NOFILE)[0]
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, c.on_signal)

    work = tempfile.mkdtemp(prefix="uvhttpd-workers-")
    results = {s: {k: [] for k, *_ in SCENARIOS} for s in SERVERS}
    startup = []
    try:
        os.chmod(work, 0o755)
        root = os.path.join(work, "root")
        os.mkdir(root, 0o755)
        shutil.copy(os.path.join(c.REPO, "resources", c.SMALL), root)
        os.chmod(os.path.join(root, c.SMALL), 0o644)
        c.FILES = {}  # check_files: the small file only
        for rnd in range(a.rounds):
            order = SERVERS[rnd % len(SERVERS):] + SERVERS[:rnd % len(SERVERS)]
            for name in order:
                srv = make(name, work, root, build, nofile)
                srv.start(work)
                c.check_files(srv, root)
                for key, _title, _metrics, headers in SCENARIOS:
                    results[name][key].append(run_wrk(srv, 100, a.seconds, headers))
                srv.stop()
                if name == "uvhttpd-w2" and not startup:
                    with open(srv.stderr_path, errors="replace") as f:
                        startup = [l.rstrip() for l in f if "Workers" in l]
                print(f"round {rnd + 1}/{a.rounds}: {name} done", file=sys.stderr)
    finally:
        c.cleanup()
        shutil.rmtree(work, ignore_errors=True)

    lines = [f"uvhttpd --workers (issue 13), {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M}"
             f", {a.rounds} rounds of {a.seconds} s, medians; servers and wrk -t2 on CPUs 0,1"]
    lines += startup
    med = {s: {k: {m: statistics.median(r[m] for r in results[s][k]) for m in metrics}
               for k, _t, metrics, _h in SCENARIOS} for s in SERVERS}
    for key, title, metrics, _h in SCENARIOS:
        lines += ["", title, "| server | " + " | ".join(c.METRICS[m][0] for m in metrics) + " |",
                  "|---" * (len(metrics) + 1) + "|"]
        for s in SERVERS:
            cells = [c.fmt(m, med[s][key][m]) for m in metrics]
            lines.append(f"| {s} | " + " | ".join(cells) + " |")
        for m in metrics:
            hib = c.METRICS[m][3]
            best = (max if hib else min)(PEERS, key=lambda p: med[p][key][m])
            lines.append(f"  {c.METRICS[m][0]}: uvhttpd-w2 / best peer ({best}) = "
                         f"{med['uvhttpd-w2'][key][m] / med[best][key][m]:.2f}x")
        r = med["uvhttpd-w2"][key]["cpu_us_per_req"] / med["uvhttpd-w1"][key]["cpu_us_per_req"]
        lines.append(f"  CPU us/req: uvhttpd --workers 2 / --workers 1 = {r:.2f}x "
                     f"({'within' if r <= 1.10 else 'ABOVE'} the 10% bound)")
    report = "\n".join(lines)
    print(report)
    os.makedirs(out_dir, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(out_dir, f"workers-{stamp}.txt"), "w") as f:
        f.write(report + "\n")
    with open(os.path.join(out_dir, f"workers-{stamp}.json"), "w") as f:
        json.dump({"rounds": results, "medians": med}, f, indent=1)
    print(f"\nreport: {out_dir}/workers-{stamp}.txt (.json: every round)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
