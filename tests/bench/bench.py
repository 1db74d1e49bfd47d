#!/usr/bin/env python3
"""make bench: figures and ratios measured in one run, on loopback.

Starts MariaDB, nginx, spawn-fcgi + promptpix and a bare libfcgi
responder (tests/bench/bare.c) itself, runs bounded wrk and client
scenarios, and prints one table. Each wrk figure is the median of 3 runs.

    python3 tests/bench/bench.py [--build DIR] [--seconds N] [--layouts] [--only 1,7,...]

Scenarios 7-10 measure the generation queue: hits while hundreds of
generations are queued, thousands of clients waiting on one host, the
global cap across two hosts, and priority classes. 11 is fal's status
stream (bench_fal.py), 12 similar prompts (bench_similar.py), 14 what
waiting on another host's jobs costs the database, 15 an S3 bucket as the
store against a local one (bench_s3.py).
"""

import argparse
import concurrent.futures
import http.client
import os
import platform
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

from tests.bench import bench_fal, bench_s3, bench_similar  # noqa: E402
from tests.e2e import test_hostwait  # noqa: E402
from tests.lib import falstub, httpclient, servers  # noqa: E402
from tests.lib.env import Env  # noqa: E402
from tests.lib.swarm import Swarm  # noqa: E402

PROCS, THREADS = 2, 8            # the hit cases' layout, for promptpix and the bare responder alike
HIT = "/1024x1024.jpg?text=bench%20hit"


def first_hit(f):
    """The image every hit case asks for, made once: 302, or say why."""
    r = f.get(HIT)
    assert r.status == 302, (r, f.log()[-3000:])

ROWS = []


def out(line=""):
    print(line, flush=True)
    ROWS.append(line)


def version(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except OSError:
        return "?"


def loadavg():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


def to_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)", v)
    n, u = float(m.group(1)), m.group(2)
    return n / 1000 if u == "us" else n if u == "ms" else n * 1000 if u == "s" else n * 60000


def wrk(url, conns, seconds):
    # --timeout 30s: wrk's default (2 s) would drop a slow answer from the
    # latencies and count it only as a socket timeout.
    p = subprocess.run(["wrk", "-t2", "-c%d" % conns, "-d%ds" % seconds, "--timeout", "30s",
                        "--latency", url], capture_output=True, text=True)
    t = p.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", t, re.M))
    mx = re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", t, re.M)
    errs = re.search(r"Socket errors: (.*)", t)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    return {"rps": rps, "p50": to_ms(lat["50"]), "p99": to_ms(lat["99"]), "max": to_ms(mx.group(1)),
            "errors": (errs.group(1) if errs else "") + (" non-2xx/3xx=%s" % bad.group(1) if bad else "")}


def median_wrk(url, conns, seconds, runs=3):
    rs = [wrk(url, conns, seconds) for _ in range(runs)]
    med = {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p99")}
    med["max"] = max(r["max"] for r in rs)
    med["errors"] = "; ".join(r["errors"] for r in rs if r["errors"])
    return med


def start_bare(base, threads, procs):
    sock = os.path.join(base, "bare.sock")
    pidf = os.path.join(base, "bare.pid")
    subprocess.run(["spawn-fcgi", "-s", sock, "-M", "0666", "-F", str(procs), "-P", pidf, "--",
                    os.path.join(ARGS.build, "bare"), str(threads)],
                   check=True, capture_output=True)
    servers.wait_until(lambda: servers.can_connect(sock), 5, "bare responder")
    pids = [servers.track(int(x)) for x in open(pidf).read().split()]
    return sock, pids


def stop_bare(pids):
    """Each bare responder is a session of its own (spawn-fcgi's setsid):
    SIGTERM, then SIGKILL whatever is left, and wait until none is."""
    for pid in pids:
        servers.kill_group(pid)


def rss_mb(pids):
    res = []
    for pid in pids:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmRSS:"):
                res.append(int(line.split()[1]) / 1024)
    return res


def fire(port, target, n):
    """n identical requests released together; returns (wall ms at answer, status)."""
    barrier = threading.Barrier(n)

    def one(_):
        barrier.wait()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", target)
        r = c.getresponse()
        r.read()
        t = time.time() * 1000
        c.close()
        return t, r.status

    with concurrent.futures.ThreadPoolExecutor(n) as ex:
        return list(ex.map(one, range(n)))


# The cases whose clients got an answer other than the one expected.
UNEXPECTED = []


def answers(case, got, want):
    """Whether every answer case's clients got was one of want (statuses):
    got is {status: count} (a socket failure counts as a word: "reset",
    "timeout", ...). If not, a line says so and the case is named again at
    the end: its goals are not met, whatever its figures."""
    bad = {k: v for k, v in got.items() if k not in want}
    if bad:
        out("   answers NOT as expected: %s, expected only %s" % (bad, sorted(want)))
        UNEXPECTED.append(case)
    return not bad


def wrk_answers(case, *runs):
    """answers() for wrk runs: each must have had no socket error and no
    answer other than 2xx or 3xx."""
    bad = "; ".join(r["errors"] for r in runs if r["errors"])
    if bad:
        out("   answers NOT as expected (wrk): %s" % bad)
        UNEXPECTED.append(case)
    return not bad


def goal(ok, answered=True):
    """How a goal line ends: met only if the figure is and every client
    got the answer expected."""
    return "met" if ok and answered else "NOT met"


def counts(statuses):
    """{status: count} of a list of statuses."""
    c = {}
    for st in statuses:
        c[st] = c.get(st, 0) + 1
    return c


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def coalesce(f, port, delay_tag, n=200):
    """Fire n identical cold requests; report calls and delays after completion."""
    target = "/512x512.jpg?text=coalesce%%20%s%%20%d" % (delay_tag, int(time.time() * 1000))
    res = fire(port, target, n)
    f.flush()
    rows = f.sql("SELECT ROUND(UNIX_TIMESTAMP(completed_at)*1000), api_calls_made, total_requests"
                 " FROM generation_status WHERE prompt LIKE 'coalesce %s %%'" % delay_tag)
    done_ms, calls, total = float(rows[0][0]), int(rows[0][1]), int(rows[0][2])
    late = [t - done_ms for t, st in res]
    statuses = counts(st for _, st in res)
    return {"calls": calls, "passed_upstream": total, "statuses": statuses,
            "client_p50": pct(late, 50), "client_p99": pct(late, 99), "client_max": max(late)}


def wake_from_log(f, since):
    ws = [int(m) for m in re.findall(r"outcome=waited status=\d+ ms=\d+ waited_ms=-?\d+ wake_ms=(-?\d+)", f.log()[since:])]
    return ws


class Sampler:
    """Peaks, sampled every interval while a scenario runs: VmRSS and
    threads of each responder process and, through /metrics,
    promptpix_waiters and promptpix_requests_in_flight."""

    def __init__(self, f, interval=0.25):
        self.f, self.interval = f, interval
        self.pids = f.pp.children()
        self.rss = {pid: 0.0 for pid in self.pids}
        self.threads = {pid: 0 for pid in self.pids}
        self.waiters = self.in_flight = 0
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def metric(self, name):
        try:
            body = self.f.get("/metrics", timeout=5).body.decode()
        except OSError:
            return 0
        m = re.search(r"^%s (\d+)" % name, body, re.M)
        return int(m.group(1)) if m else 0

    def _run(self):
        while not self.stop_ev.is_set():
            for pid, mb in zip(self.pids, rss_mb(self.pids)):
                self.rss[pid] = max(self.rss[pid], mb)
            for pid in self.pids:
                self.threads[pid] = max(self.threads[pid], servers.threads_of(pid))
            self.waiters = max(self.waiters, self.metric("promptpix_waiters"))
            self.in_flight = max(self.in_flight, self.metric("promptpix_requests_in_flight"))
            self.stop_ev.wait(self.interval)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.stop_ev.set()
        self.thread.join()


def unfinished(f):
    return int(f.sql("SELECT COUNT(*) FROM generation_status"
                     " WHERE status IN ('pending', 'generating')")[0][0])


def waits_from_log(text):
    """wake_ms of every request that waited for a job (answer time minus
    the row's completion)."""
    return [int(m) for m in re.findall(r"outcome=waited status=\d+ ms=\d+ waited_ms=-?\d+ wake_ms=(-?\d+)", text)]


def log_health(text):
    """Warnings, errors and responder restarts in a responder log."""
    warns = re.findall(r"^\S+ promptpix\[\d+\] warn .*$", text, re.M)
    errs = re.findall(r"^\S+ promptpix\[\d+\] error .*$", text, re.M)
    restarts = [w for w in warns if "ended (" in w]
    kinds = sorted({re.sub(r"^\S+ promptpix\[\d+\] \w+ \S+: ", "", x)[:60] for x in warns + errs})
    return "responder log: %d warnings, %d errors, %d responder restarts%s" % (
        len(warns), len(errs), len(restarts), (" (" + "; ".join(kinds[:3]) + ")") if kinds else "")


def outcomes(text):
    """{outcome/status: count} of the request log lines in text."""
    c = {}
    for o, st in re.findall(r" request \S+ \S+ outcome=(\w+) status=(\d+)", text):
        c["%s/%s" % (o, st)] = c.get("%s/%s" % (o, st), 0) + 1
    return dict(sorted(c.items()))


def nginx_refused(f):
    """nginx's failed connects to the responders' socket (a full listen
    backlog: EAGAIN), each retried once on the backup entry."""
    return len(re.findall(r"connect\(\) to unix:\S+ failed \(11:", f.web.log_text()))


def questions(db):
    return int(db.query("SHOW GLOBAL STATUS LIKE 'Questions'")[0][1])


FAL_KEY = "bench-fal-key"


def fal_front(env, stub, overrides=None, **kw):
    """A front whose backend is the fal stand-in, in sync mode (the stub
    counts the sync runs in progress), rate limit off."""
    ov = {
        ("generation", "backend"): "fal",
        ("generation", "timeout"): "10",
        ("fal", "mode"): "sync",
        ("fal", "queue_base"): stub.queue_base,
        ("fal", "run_base"): stub.run_base,
        # The stand-in's image host and its port: the allowlist checks both.
        ("fal", "allowed_hosts"): urllib.parse.urlsplit(stub.files_base).netloc,
        ("fal", "allow_http"): "true",
        ("fal", "request_timeout"): "5",
        ("fal", "connect_timeout"): "1",
        ("store", "max_image_bytes"): str(stub.huge),
        ("limits", "new_images_per_minute"): 0,
    }
    ov.update(overrides or {})
    return env.front(overrides=ov, env_extra={"FAL_KEY": FAL_KEY, "NO_PROXY": "*"}, **kw)


STORM_N, STORM_DELAY, STORM_CAP, STORM_THREADS = 500, 5, 4, 640


def storm(env):
    """7. Cache hits while STORM_N distinct new images are queued or
    generating, against the same front idle."""
    secs = ARGS.seconds
    out("7. hits during a storm: %d distinct new images queued at once, placeholder %ds, [queue] max_concurrent %d,"
        % (STORM_N, STORM_DELAY, STORM_CAP))
    out("   layout %d x %d threads; hits: wrk -t2 -c32, %ds runs, median of 3 (max: the slowest hit of all runs)"
        % (PROCS, STORM_THREADS, secs))
    f = env.front(processes=PROCS, threads=STORM_THREADS,
                  overrides={("placeholder", "delay"): STORM_DELAY,
                             ("queue", "max_concurrent"): STORM_CAP,
                             ("limits", "new_images_per_minute"): 0}).start()
    try:
        first_hit(f)
        url = "http://127.0.0.1:%d%s" % (f.port, HIT)
        idle = median_wrk(url, 32, secs)
        tag = int(time.time())
        sw = Swarm(f.port, ["/256x256.jpg?text=storm%%20%d%%20%d" % (tag, i) for i in range(STORM_N)],
                   timeout=90).start()
        t0 = time.monotonic()
        servers.wait_until(lambda: unfinished(f) >= STORM_N or sw.answered >= STORM_N, 30,
                           "the storm queued")
        queued_s = time.monotonic() - t0
        before = unfinished(f)
        q0, t1 = questions(env.db), time.monotonic()
        busy = median_wrk(url, 32, secs)
        qps = (questions(env.db) - q0) / (time.monotonic() - t1)
        after = unfinished(f)
        out("   %-34s %10s %9s %9s %9s" % ("", "req/s", "p50 ms", "p99 ms", "max ms"))
        for name, r in (("hit, idle (before the storm)", idle), ("hit, during the storm", busy)):
            out("   %-34s %10.0f %9.2f %9.2f %9.1f %s" % (name, r["rps"], r["p50"], r["p99"], r["max"],
                                                      ("errors: " + r["errors"]) if r["errors"] else ""))
        sw.join()
        done = f.sql("SELECT COUNT(*) FROM generation_status WHERE prompt LIKE 'storm %' AND status = 'completed'")[0][0]
        # Hits answer 302; the storm's own clients 302, or 504 after
        # max_wait (30 s) for those still queued.
        ok = wrk_answers(7, idle, busy)
        ok = answers(7, sw.statuses(), {302, 504}) and ok
        ratio = busy["p99"] / idle["p99"]
        out("   storm/idle: p99 %.2fx (goal <= 2x: %s), req/s %.2fx; slowest hit %.0f ms %s a generation (%d ms)"
            % (ratio, goal(ratio <= 2, ok), busy["rps"] / idle["rps"], busy["max"],
               "LONGER than" if busy["max"] > STORM_DELAY * 1000 else "shorter than", STORM_DELAY * 1000))
        out("   all %d jobs queued %.2f s after the first request; unfinished jobs while hits were measured: %d -> %d"
            % (STORM_N, queued_s, before, after))
        out("   database statements while hits were measured: %.0f/s (hits need none: waker polls, workers, flusher)"
            % qps)
        out("   the storm's own answers (504 after max_wait, 30 s, for those still queued): %s; %s images done by then"
            % (sw.statuses(), done))
        out("   " + log_health(f.log()))
    finally:
        f.stop()
    out()


# 36 workers in all run the 1,000 jobs in about 56 s, within max_wait,
# and keep the connections at 2 x (8 + 18 + 3) = 58.
CAP_PROMPTS, CAP_EACH, CAP_DELAY, CAP_CAP, CAP_THREADS = 1000, 10, 2, 36, 32
BURST_PROMPTS, BURST_DELAY, BURST_CAP = 500, "0.2", 32


def capacity():
    """8. CAP_PROMPTS x CAP_EACH clients waiting at once on one host, on a
    MariaDB of its own (Max_used_connections cannot be reset); 8b. a burst
    of short generations through nginx."""
    n = CAP_PROMPTS * CAP_EACH
    out("8. capacity: %d clients at once on one host (%d distinct prompts x %d each), placeholder %ds,"
        % (n, CAP_PROMPTS, CAP_EACH, CAP_DELAY))
    out("   [queue] max_concurrent %d (%d workers per process), layout %d x %d threads, [database] pool default;"
        " a fresh MariaDB" % (CAP_CAP, CAP_CAP // PROCS, PROCS, CAP_THREADS))
    env = Env(ARGS.build)
    try:
        capacity_wait(env, n)
        capacity_burst(env)
    finally:
        env.close()
    out()


def capacity_front(env, delay, cap):
    # Each client is two nginx connections (client and responder).
    return env.front(processes=PROCS, threads=CAP_THREADS, nginx_worker_connections=32768,
                     overrides={("placeholder", "delay"): delay,
                                ("queue", "max_concurrent"): cap,
                                ("queue", "workers"): cap // PROCS,
                                ("server", "max_wait"): 70,     # nginx gives up at 75 s
                                ("limits", "new_images_per_minute"): 0}).start()


def capacity_wait(env, n):
    f = capacity_front(env, CAP_DELAY, CAP_CAP)
    try:
        rss0 = rss_mb(f.pp.children())
        since = len(f.log())
        tag = int(time.time())
        # Every prompt once, then every prompt again, ...: the jobs are
        # queued first, and each image has its clients early.
        targets = ["/256x256.jpg?text=capacity%%20%d%%20%d" % (tag, p)
                   for _ in range(CAP_EACH) for p in range(CAP_PROMPTS)]
        q0 = questions(env.db)
        with Sampler(f) as smp:
            sw = Swarm(f.port, targets, timeout=240).start()
            servers.wait_until(lambda: sw.sent >= n or sw.answered >= n, 60, "all clients connected")
            sent_s = time.monotonic() - sw.t0
            sw.join()
        wall = time.monotonic() - sw.t0
        qps = (questions(env.db) - q0) / wall
        rss1 = rss_mb(f.pp.children())
        st = sw.statuses()
        maxconn = int(env.db.query("SHOW GLOBAL STATUS LIKE 'Max_used_connections'")[0][1])
        f.flush()
        row = f.sql("SELECT COUNT(*), SUM(api_calls_made), SUM(total_requests) FROM generation_status"
                    " WHERE prompt LIKE 'capacity %'")[0]
        ws = waits_from_log(f.log()[since:])
        lat = [ms for s, ms in sw.results if s == 302]
        ok = answers(8, st, {302})
        out("   all %d requests sent in %.2f s; answered in %.1f s: %s (goal: all %d answered: %s)"
            % (n, sent_s, wall, st, n, goal(st.get(302) == n, ok)))
        out("   peak waiting clients (promptpix_waiters) %d, peak requests in flight %d"
            % (smp.waiters, smp.in_flight))
        out("   rows %s, paid calls %s, requests counted %s" % tuple(row))
        out("   MariaDB Max_used_connections %d (goal <= 64: %s); %.0f statements/s over the case"
            % (maxconn, goal(maxconn <= 64, ok), qps))
        out("   per responder process at peak: VmRSS %s MB (idle %s, after %s), threads %s"
            % (", ".join("%.1f" % x for x in smp.rss.values()), ", ".join("%.1f" % x for x in rss0),
               ", ".join("%.1f" % x for x in rss1), ", ".join(str(x) for x in smp.threads.values())))
        out("   waiter wake (server side, wake_ms, %d waiters): p50 %d ms, p99 %d ms, max %d ms"
            % (len(ws), pct(ws, 50), pct(ws, 99), max(ws) if ws else -1))
        out("   client answer time from the first request: p50 %.0f ms, p99 %.0f ms, max %.0f ms"
            % (pct(lat, 50), pct(lat, 99), max(lat) if lat else -1))
        out("   outcomes %s; nginx connects refused by the responders' socket backlog: %d"
            % (outcomes(f.log()[since:]), nginx_refused(f)))
        out("   " + log_health(f.log()))
    finally:
        f.stop()


def capacity_burst(env):
    """8b. BURST_PROMPTS x CAP_EACH connects at once for short
    generations and a wide cap: not one may find the responders'
    backlog full (nginx's 502)."""
    n = BURST_PROMPTS * CAP_EACH
    f = capacity_front(env, BURST_DELAY, BURST_CAP)
    try:
        since = len(f.log())
        tag = int(time.time())
        targets = ["/256x256.jpg?text=short%%20%d%%20%d" % (tag, p)
                   for _ in range(CAP_EACH) for p in range(BURST_PROMPTS)]
        sw = Swarm(f.port, targets, timeout=120).start()
        servers.wait_until(lambda: sw.sent >= n or sw.answered >= n, 60, "all clients connected")
        sent_s = time.monotonic() - sw.t0
        sw.join()
        st = sw.statuses()
        out("8b. burst: %d connects in %.2f s (%d prompts x %d), placeholder %s s, [queue] max_concurrent %d"
            " (%d workers per process):" % (n, sent_s, BURST_PROMPTS, CAP_EACH, BURST_DELAY, BURST_CAP,
                                            BURST_CAP // PROCS))
        ok = answers(8, st, {302})
        out("   answered in %.1f s: %s; 502: %d (goal 0: %s); outcomes %s"
            % (time.monotonic() - sw.t0, st, st.get(502, 0), goal(st.get(502, 0) == 0, ok),
               outcomes(f.log()[since:])))
        out("   nginx connects refused by the responders' socket backlog: %d; %s"
            % (nginx_refused(f), log_health(f.log())))
    finally:
        f.stop()


def q(text):
    return urllib.parse.quote(text)


def across_hosts(env):
    """9. The global cap with two fronts (web hosts) on one database."""
    n, cap, delay = 100, 3, 0.2
    out("9. the cap across hosts: 2 fronts x %d processes on one database, %d distinct prompts split between"
        % (PROCS, n))
    out("   them, [queue] max_concurrent %d, fal stand-in in sync mode, %.1f s per run" % (cap, delay))
    with falstub.FalStub(FAL_KEY) as stub:
        prompts = ["hosts %d" % i for i in range(n)]
        for p in prompts:
            stub.script(p, {"delay": delay})
        ov = {("queue", "max_concurrent"): cap}
        a = fal_front(env, stub, processes=PROCS, threads=64, overrides=ov)
        b = fal_front(env, stub, processes=PROCS, threads=64, overrides=ov, share_with=a)
        with a, b:
            t0 = time.monotonic()
            sa = Swarm(a.port, ["/128x128.jpg?text=" + q(p) for p in prompts[0::2]], timeout=60).start()
            sb = Swarm(b.port, ["/128x128.jpg?text=" + q(p) for p in prompts[1::2]], timeout=60).start()
            sa.join()
            sb.join()
            wall = time.monotonic() - t0
            st = {}
            for s in (sa, sb):
                for k, v in s.statuses().items():
                    st[k] = st.get(k, 0) + v
            calls = a.sql("SELECT SUM(api_calls_made) FROM generation_status")[0][0]
            out("   answers %s in %.1f s (ideal %.1f s at the cap)" % (st, wall, n / cap * delay))
            ok = answers(9, st, {302})
            out("   most runs at fal at once (stub.max_running) %d (goal <= %d: %s); paid calls: fal saw %d, rows say %s"
                " (goal %d: %s)"
                % (stub.max_running, cap, goal(stub.max_running <= cap, ok),
                   stub.count("run"), calls, n, goal(stub.count("run") == n and calls == str(n), ok)))
    out()


def priority(env):
    """10. A premium job queued last behind standard jobs starts next."""
    nstd = 20
    out("10. priority: [queue] max_concurrent 1; one job running, %d standard jobs queued behind it, then one" % nstd)
    out("    premium job queued last from a front with [queue] default_class = premium (fal stand-in, sync)")
    with falstub.FalStub(FAL_KEY) as stub:
        names = ["blocker"] + ["standard %d" % i for i in range(nstd)] + ["premium"]
        stub.script("blocker", {"delay": 4})
        for p in names[1:]:
            stub.script(p, {"delay": 0.05})
        ov = {("queue", "max_concurrent"): 1}
        std = fal_front(env, stub, processes=PROCS, threads=32, overrides=ov)
        prem = fal_front(env, stub, processes=PROCS, threads=32, share_with=std,
                         overrides={**ov, ("queue", "default_class"): "premium"})
        with std, prem:
            swarms = [Swarm(std.port, ["/96x96.jpg?text=blocker"], timeout=30).start()]
            servers.wait_until(lambda: stub.started == ["blocker"], 5, "blocker running")
            for i in range(nstd):
                swarms.append(Swarm(std.port, ["/96x96.jpg?text=" + q("standard %d" % i)], timeout=30).start())
                servers.wait_until(lambda: unfinished(std) == i + 2, 5, "standard %d queued" % i)
            swarms.append(Swarm(prem.port, ["/96x96.jpg?text=premium"], timeout=30).start())
            servers.wait_until(lambda: unfinished(std) == nstd + 2, 5, "premium queued")
            blocked = stub.started == ["blocker"]
            for s in swarms:
                s.join()
            st = {}
            for s in swarms:
                for k, v in s.statuses().items():
                    st[k] = st.get(k, 0) + v
            pos = stub.started.index("premium") + 1 if "premium" in stub.started else -1
            fifo = [p for p in stub.started if p.startswith("standard")] == names[1:-1]
            out("    all queued while the first still ran: %s; answers %s" % (blocked, st))
            ok = answers(10, st, {302})
            out("    premium started at position %d of %d (goal 2: next after the running one: %s);"
                " standard jobs first come first served: %s; most at once %d"
                % (pos, len(stub.started), goal(pos == 2, ok), fifo, stub.max_running))
    out()


WAIT_PROMPTS, WAIT_EACH, WAIT_DELAY = 50, 20, 4


def waiting_cost(env):
    """14. The database statements of waiting, per host: host B's clients
    wait on jobs host A runs; B reaches the database through a proxy
    that counts its statements by text."""
    n = WAIT_PROMPTS * WAIT_EACH
    out("14. waiting's cost to the database: %d clients on host B wait on %d jobs host A runs (placeholder %d s,"
        % (n, WAIT_PROMPTS, WAIT_DELAY))
    out("    finishing 20 ms apart); B's waiting statements (the host's poll, the safety-net reads) counted at")
    out("    a proxy, per layout of B")
    out("    %-12s %14s %14s %12s %20s" % ("B processes", "waiting st./s", "idle st./s", "all of B /s",
                                         "wake p50/p99/max ms"))
    for procs in (1, 2, 4):
        tag = "wait %d %d" % (procs, int(time.time()))
        prompts = [q("%s %d" % (tag, i)) for i in range(WAIT_PROMPTS)]
        a, b, proxy = test_hostwait.two_hosts(env, procs, WAIT_DELAY, WAIT_PROMPTS,
                                              threads_b=n // procs + 100)
        with a, b:
            # One job started every 20 ms: they finish 20 ms apart too.
            held = []
            for p in prompts:
                held.append(Swarm(a.port, ["/64x64.jpg?text=" + p], timeout=60).start())
                time.sleep(0.02)
            servers.wait_until(lambda: a.sql("SELECT COUNT(*) FROM generation_status WHERE status = 'generating'")
                               == [[str(WAIT_PROMPTS)]], 10, "A running every job")
            since = len(b.log())
            w0, all0 = test_hostwait.waiting_statements(proxy), proxy.executed()
            sw = Swarm(b.port, ["/64x64.jpg?text=" + p for _ in range(WAIT_EACH) for p in prompts],
                       timeout=60).start()
            sw.join()
            spent = time.monotonic() - sw.t0
            w1, all1 = test_hostwait.waiting_statements(proxy), proxy.executed()
            # The idle rate: over 1 s, from 0.5 s after the last answer.
            time.sleep(0.5)
            i0 = test_hostwait.waiting_statements(proxy)
            time.sleep(1)
            idle = test_hostwait.waiting_statements(proxy) - i0
            for h in held:
                h.join()
            ws = test_hostwait.wakes(b.log()[since:])
            ok = answers(14, sw.statuses(), {302})
            out("    %-12d %14.0f %14.0f %12.0f %20s %s"
                % (procs, (w1 - w0) / spent, idle, (all1 - all0) / spent,
                   "%d/%d/%d" % (pct(ws, 50), pct(ws, 99), max(ws)) if ws else "-",
                   "" if ok else "answers %s" % sw.statuses()))
    out("    goals: waiting <= 250 statements/s per host whatever its processes, 0 while nobody waits,"
        " wake p99 <= 20 ms")
    out()


def layouts():
    """Cache hits under each processes x threads layout, to choose the
    shipped default from a measurement."""
    env = Env(ARGS.build)
    try:
        out("cache hit, redirect, by layout; wrk -t2, %ds runs, median of 3" % ARGS.seconds)
        for procs, threads in ((1, 8), (2, 4), (2, 8), (2, 16), (4, 8)):
            f = env.front(processes=procs, threads=threads,
                          overrides={("placeholder", "delay"): "0"}).start()
            first_hit(f)
            url = "http://127.0.0.1:%d%s" % (f.port, HIT)
            r32, r256 = median_wrk(url, 32, ARGS.seconds), median_wrk(url, 256, ARGS.seconds)
            out("   %d x %2d: c32 %6.0f req/s p99 %6.2f ms | c256 %6.0f req/s p99 %6.2f ms"
                % (procs, threads, r32["rps"], r32["p99"], r256["rps"], r256["p99"]))
            f.stop()
    finally:
        env.close()


def stats_load(env):
    """13. Elections while /api/generation/stats is called 200 times a second."""
    out("13. stats under load: 200 new images elected one after another (placeholder, no delay),")
    out("    idle, then while 8 clients call /api/generation/stats 200 times a second in all")
    for cache in ("1", "0"):
        f = env.front(processes=PROCS, threads=THREADS,
                      overrides={("placeholder", "delay"): "0", ("stats", "cache"): cache,
                                 ("limits", "new_images_per_minute"): "0"}).start()
        tag = "%d-%s" % (int(time.time() * 1000), cache)

        def elect(phase):
            ms = []
            for i in range(200):
                t = time.monotonic()
                c = http.client.HTTPConnection("127.0.0.1", f.port, timeout=60)
                c.request("GET", "/64x64.jpg?text=stats%%20%s%%20%s%%20%d" % (tag, phase, i))
                r = c.getresponse()
                r.read()
                c.close()
                assert r.status == 302, r.status
                ms.append((time.monotonic() - t) * 1000)
            return ms

        idle = elect("idle")
        stop = threading.Event()
        done = [0]

        stats_answers = []

        def hammer(k):
            nxt = time.monotonic()
            while not stop.is_set():
                nxt += 8 / 200.0
                c = http.client.HTTPConnection("127.0.0.1", f.port, timeout=60)
                c.request("GET", "/api/generation/stats")
                r = c.getresponse()
                r.read()
                c.close()
                stats_answers.append(r.status)
                done[0] += 1
                time.sleep(max(0, nxt - time.monotonic()))

        calls0 = int(env.db.query("SHOW GLOBAL STATUS LIKE 'Com_call_procedure'")[0][1])
        t0 = time.monotonic()
        ts = [threading.Thread(target=hammer, args=(k,)) for k in range(8)]
        for t in ts:
            t.start()
        busy = elect("busy")
        stop.set()
        for t in ts:
            t.join()
        took = time.monotonic() - t0
        calls = int(env.db.query("SHOW GLOBAL STATUS LIKE 'Com_call_procedure'")[0][1]) - calls0
        ratio = pct(busy, 99) / pct(idle, 99)
        ok = answers(13, counts(stats_answers), {200})
        out("    [stats] cache = %s: election p50/p99 idle %.2f/%.2f ms, under stats load %.2f/%.2f ms"
            " (p99 ratio %.2f, goal <= 2: %s); %d stats calls in %.1f s (%.0f/s), %d aggregations"
            % (cache, pct(idle, 50), pct(idle, 99), pct(busy, 50), pct(busy, 99), ratio,
               goal(ratio <= 2, ok), done[0], took, done[0] / took, calls))
        f.stop()
    out()


def want(n):
    return not ONLY or n in ONLY


def main():
    # Whatever it started, kill_all() ends at the end (servers.py).
    servers.mark_run()
    if ARGS.layouts:
        return layouts()
    env = Env(ARGS.build)
    secs = ARGS.seconds
    bare_pids = []
    try:
        out("promptpix bench  %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
        out("machine: %d cores, %s, kernel %s" % (os.cpu_count(), platform.machine(), platform.release()))
        out("versions: %s | %s | %s | %s" % (version(["nginx", "-v"]), version(["mariadbd", "--version"]),
                                             version(["wrk", "-v"]), version(["cc", "--version"])))
        out("layout: %d processes x %d threads (promptpix and bare alike); wrk -t2, %ds runs, median of 3"
            % (PROCS, THREADS, secs))
        out("load average at start: %s (anything else running skews every figure)" % loadavg())
        out()
        bare_port, cache_port = servers.free_port(), servers.free_port()
        base = os.path.join(env.base, "bench")
        os.makedirs(base)
        bare_sock, bare_pids = start_bare(base, THREADS, PROCS) if want(1) else ("-", [])
        extra = """
server {
    listen 127.0.0.1:%(bare)d;
    location = /nginx302 { return 302 /img/00/0000000000000000000000000000000000000000000000000000000000000000.jpg; }
    location ~ "^/[0-9]+x[0-9]+\\.[A-Za-z]+$" { include /etc/nginx/fastcgi_params; fastcgi_pass unix:%(sock)s; }
}
""" % {"bare": bare_port, "sock": bare_sock}

        coal_rss = f5 = None
        # 1. cache hit, redirect mode
        if want(1):
            hits_redirect(env, extra, bare_port)
        if want(2):
            hits_inline(env)
        if want(3) or want(4):
            coal_rss = coalescing(env, base, cache_port)
        if want(5) or want(6):
            f5 = distinct(env)
        if want(6):
            memory(f5, coal_rss)
        if f5:
            f5.stop()
        stop_bare(bare_pids)
        bare_pids = []
        if want(7):
            storm(env)
        if want(8):
            capacity()
        if want(9):
            across_hosts(env)
        if want(10):
            priority(env)
        if want(11):
            out("11. fal.ai: from the stand-in marking COMPLETED to our client's answer")
            bench_fal.run(out, build=ARGS.build)
            out()
        if want(12):
            out("12. similar prompts ([similar] threshold 0.8): the lookup with 10k and 1M images,"
                " and a cold miss against threshold 0")
            bench_similar.run(out, build=ARGS.build)
            out()
        if want(13):
            stats_load(env)
        if want(14):
            waiting_cost(env)
        if want(15):
            bench_s3.run(out, env, median_wrk, secs, wrk_answers)
        if UNEXPECTED:
            out("cases whose clients got answers other than expected (their goals not met): %s"
                % ", ".join(str(c) for c in sorted(set(UNEXPECTED))))
        else:
            out("every client got the answer expected")
        out("whole run: %.0f s; load average at the end: %s" % (time.monotonic() - T0, loadavg()))
    finally:
        stop_bare(bare_pids)
        servers.kill_all()
        env.close()


def hits_redirect(env, extra, bare_port):
    secs = ARGS.seconds
    f = env.front(processes=PROCS, threads=THREADS, nginx_extra=extra,
                  overrides={("placeholder", "delay"): "0"}).start()
    first_hit(f)
    out("1. cache hit, redirect (302), through nginx")
    out("   %-34s %6s %10s %9s %9s" % ("", "conns", "req/s", "p50 ms", "p99 ms"))
    res = {}
    for conns in (32, 256):
        for key, url in (("a", "http://127.0.0.1:%d%s" % (f.port, HIT)),
                         ("b", "http://127.0.0.1:%d%s" % (bare_port, HIT)),
                         ("c", "http://127.0.0.1:%d/nginx302" % bare_port)):
            r = median_wrk(url, conns, secs)
            res[key, conns] = r
            name = {"a": "(a) promptpix hit", "b": "(b) bare libfcgi 302",
                    "c": "(c) nginx return 302"}[key]
            out("   %-34s %6d %10.0f %9.2f %9.2f %s" % (name, conns, r["rps"], r["p50"], r["p99"],
                                                      ("errors: " + r["errors"]) if r["errors"] else ""))
        a, b, c = res["a", conns], res["b", conns], res["c", conns]
        wrk_answers(1, a, b, c)
        out("   ratios at %d: a/b req/s %.2f, a/b p99 %.2f, a/c req/s %.2f"
            % (conns, a["rps"] / b["rps"], a["p99"] / b["p99"], a["rps"] / c["rps"]))
    f.stop()
    # Before: the same hit with the in-memory cache off (a DB round trip each).
    f0 = env.front(processes=PROCS, threads=THREADS, nginx_extra=extra.replace(str(bare_port), str(servers.free_port())),
                   overrides={("server", "hit_cache_entries"): 0}).start()
    f0.get(HIT)
    r0 = median_wrk("http://127.0.0.1:%d%s" % (f0.port, HIT), 32, secs)
    out("   %-34s %6d %10.0f %9.2f %9.2f  (before: hit cache off, %.2fx bare)"
        % ("(a0) promptpix hit, no hit cache", 32, r0["rps"], r0["p50"], r0["p99"], r0["rps"] / res["b", 32]["rps"]))
    wrk_answers(1, r0)
    f0.stop()
    out()


def hits_inline(env):
    secs = ARGS.seconds
    # 2. cache hit, inline mode
    out("2. cache hit, inline (200 with the bytes), 1024x1024 JPEG, 32 connections")
    fi = env.front(processes=PROCS, threads=THREADS,
                   overrides={("store", "delivery"): "inline", ("placeholder", "delay"): "0"}).start()
    assert fi.get(HIT).status == 200
    name = [x for x in os.listdir(fi.store)][0]
    fname = os.listdir(os.path.join(fi.store, name))[0]
    loc = "/img/%s/%s" % (name, fname)
    ri = median_wrk("http://127.0.0.1:%d%s" % (fi.port, HIT), 32, secs)
    rs = median_wrk("http://127.0.0.1:%d%s" % (fi.port, loc), 32, secs)
    out("   %-34s %10.0f req/s  p99 %.2f ms" % ("promptpix inline (stream)", ri["rps"], ri["p99"]))
    out("   %-34s %10.0f req/s  p99 %.2f ms" % ("nginx static file", rs["rps"], rs["p99"]))
    fi.stop()
    fx = env.front(processes=PROCS, threads=THREADS,
                   overrides={("store", "delivery"): "inline", ("placeholder", "delay"): "0",
                              ("store", "inline_send"): "x-accel-redirect"}).start()
    assert fx.get(HIT).status == 200
    rx = median_wrk("http://127.0.0.1:%d%s" % (fx.port, HIT), 32, secs)
    out("   %-34s %10.0f req/s  p99 %.2f ms" % ("promptpix inline (X-Accel-Redirect)", rx["rps"], rx["p99"]))
    out("   ratios: stream/static %.2f, x-accel/static %.2f" % (ri["rps"] / rs["rps"], rx["rps"] / rs["rps"]))
    wrk_answers(2, ri, rs, rx)
    fx.stop()
    out()


def coalescing(env, base, cache_port):
    # 3 + 4. coalescing, promptpix alone and behind nginx's cache lock
    coal_rss = None
    cache_extra = """
fastcgi_cache_path %(dir)s/cache keys_zone=benchcache:10m;
server {
    listen 127.0.0.1:%(port)d;
    location ~ "^/[0-9]+x[0-9]+\\.[A-Za-z]+$" {
        include /etc/nginx/fastcgi_params;
        fastcgi_pass promptpix;
        fastcgi_cache benchcache;
        fastcgi_cache_key $request_uri;
        fastcgi_cache_lock on;
        fastcgi_cache_valid 200 302 1h;
        fastcgi_read_timeout 75s;
    }
}
""" % {"dir": base, "port": cache_port}
    wthreads = 128
    out("3./4. coalescing: 200 concurrent identical cold requests, layout %d x %d threads" % (PROCS, wthreads))
    out("   delays are from the row completing to the answer; calls = paid calls made")
    for delay in ("2", "6"):
        fc = env.front(processes=PROCS, threads=wthreads, nginx_extra=cache_extra,
                       overrides={("placeholder", "delay"): delay}).start()
        since = len(fc.log())
        c = coalesce(fc, fc.port, "pp%s" % delay)
        ws = wake_from_log(fc, since)
        out("   promptpix, %ss generation: calls %d, statuses %s, requests %d" % (delay, c["calls"], c["statuses"], c["passed_upstream"]))
        answers(3, c["statuses"], {302})
        out("      waiter wake (server side, %d waiters): p50 %d ms, p99 %d ms, max %d ms"
            % (len(ws), pct(ws, 50), pct(ws, 99), max(ws) if ws else -1))
        out("      client answer delay (all 200): p50 %.0f ms, p99 %.0f ms, max %.0f ms"
            % (c["client_p50"], c["client_p99"], c["client_max"]))
        n = coalesce(fc, cache_port, "ngx%s" % delay)
        out("   nginx fastcgi_cache_lock in front, %ss: requests nginx passed upstream %d, paid calls %d, statuses %s"
            % (delay, n["passed_upstream"], n["calls"], n["statuses"]))
        answers(4, n["statuses"], {302})
        out("      client answer delay (all 200): p50 %.0f ms, p99 %.0f ms, max %.0f ms"
            % (n["client_p50"], n["client_p99"], n["client_max"]))
        if delay == "2":
            coal_rss = rss_mb(fc.pp.children())
        fc.stop()
    out()
    return coal_rss


def distinct(env):
    # 5. cold distinct prompts
    f5 = env.front(processes=PROCS, threads=THREADS, overrides={("placeholder", "delay"): "0",
                   ("limits", "new_images_per_minute"): 0}).start()
    out("5. cold distinct prompts, backend delay 0 (a 256x256 JPEG is still drawn and fsynced)")
    for conc, n in ((32, 500), (1, 200)):
        since = len(f5.log())
        targets = ["/256x256.jpg?text=distinct%%20c%d%%20%d" % (conc, i) for i in range(n)]
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(conc) as ex:
            sts = list(ex.map(lambda t: httpclient.get(f5.port, t).status, targets))
        wall = time.monotonic() - t0
        # The request that queued the job is answered when it is done:
        # its time minus the backend's own (upstream_ms in the row) is
        # the queue's overhead: election, a worker taking the job,
        # recording, waking the request.
        reqs = dict(re.findall(r"request GET (\w{12}) outcome=generated status=302 ms=(\d+)",
                               f5.log()[since:]))
        rows = f5.sql("SELECT prompt_hash, upstream_ms,"
                      " TIMESTAMPDIFF(MICROSECOND, queued_at, started_at) DIV 1000"
                      " FROM generation_status WHERE prompt LIKE 'distinct c%d %%'" % conc)
        back = {h[:12]: int(ms) for h, ms, _ in rows}
        queue = [int(qms) for _, _, qms in rows if qms is not None]
        over = [int(ms) - back[h] for h, ms in reqs.items() if h in back]
        out("   %d at concurrency %d: %.0f generations/s, statuses %s" % (n, conc, n / wall, counts(sts)))
        answers(5, counts(sts), {302})
        out("      overhead (request time minus backend time, %d requests): p50 %d ms, p99 %d ms; backend p50 %d ms"
            % (len(over), pct(over, 50), pct(over, 99), pct(list(back.values()), 50)))
        out("      of which queued for a slot (started_at - queued_at; [queue] max_concurrent 2): p50 %d ms, p99 %d ms"
            % (pct(queue, 50), pct(queue, 99)))
    calls = f5.sql("SELECT SUM(api_calls_made), COUNT(*) FROM generation_status")[0]
    out("   paid calls %s for %s images" % (calls[0], calls[1]))
    out()
    return f5


def memory(f5, coal_rss):
    # 6. memory
    out("6. memory (VmRSS per responder process)")
    out("   after scenario 5, %d x %d threads:   %s MB" % (PROCS, THREADS, ", ".join("%.1f" % x for x in rss_mb(f5.pp.children()))))
    if coal_rss:
        out("   after scenario 3, %d x %d threads: %s MB" % (PROCS, 128, ", ".join("%.1f" % x for x in coal_rss)))
    out()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--layouts", action="store_true",
                    help="only compare processes x threads layouts for hits")
    ap.add_argument("--only", default="",
                    help="comma-separated scenario numbers to run (default: all)")
    ARGS = ap.parse_args()
    ONLY = {int(x) for x in ARGS.only.split(",") if x}
    T0 = time.monotonic()
    # Scenario 8 holds thousands of sockets in this process (and its
    # children, nginx and the responders, inherit the limit).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 8192:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))
        except (ValueError, OSError):
            pass
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    # A bench stopped with SIGTERM unwinds like one stopped with Ctrl-C:
    # main()'s finally stops every server and bare responder.
    signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(128 + sig))
    main()
