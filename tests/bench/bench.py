#!/usr/bin/env python3
"""make bench: figures and ratios measured in one run, on loopback.

Starts MariaDB, nginx, spawn-fcgi + promptpix and a bare libfcgi
responder (tests/bench/bare.c) itself, runs bounded wrk and client
scenarios, and prints one table. Each wrk figure is the median of 3 runs.

    python3 tests/bench/bench.py [--build DIR] [--seconds N] [--layouts]
"""

import argparse
import concurrent.futures
import http.client
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

from tests.lib import httpclient, servers  # noqa: E402
from tests.lib.env import Env  # noqa: E402

PROCS, THREADS = 2, 8            # the shipped layout (conf/promptpix.conf: processes, threads)
HIT = "/1024x1024.jpg?text=bench%20hit"
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


def to_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)", v)
    n, u = float(m.group(1)), m.group(2)
    return n / 1000 if u == "us" else n if u == "ms" else n * 1000 if u == "s" else n * 60000


def wrk(url, conns, seconds):
    p = subprocess.run(["wrk", "-t2", "-c%d" % conns, "-d%ds" % seconds, "--latency", url],
                       capture_output=True, text=True)
    t = p.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", t, re.M))
    errs = re.search(r"Socket errors: (.*)", t)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    return {"rps": rps, "p50": to_ms(lat["50"]), "p99": to_ms(lat["99"]),
            "errors": (errs.group(1) if errs else "") + (" non-2xx/3xx=%s" % bad.group(1) if bad else "")}


def median_wrk(url, conns, seconds, runs=3):
    rs = [wrk(url, conns, seconds) for _ in range(runs)]
    med = {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p99")}
    med["errors"] = "; ".join(r["errors"] for r in rs if r["errors"])
    return med


def start_bare(base, threads, procs):
    sock = os.path.join(base, "bare.sock")
    pidf = os.path.join(base, "bare.pid")
    subprocess.run(["spawn-fcgi", "-s", sock, "-M", "0666", "-F", str(procs), "-P", pidf, "--",
                    os.path.join(ARGS.build, "bare"), str(threads)],
                   check=True, capture_output=True)
    servers.wait_until(lambda: servers.can_connect(sock), 5, "bare responder")
    pids = [int(x) for x in open(pidf).read().split()]
    return sock, pids


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
    statuses = sorted({st for _, st in res})
    return {"calls": calls, "passed_upstream": total, "statuses": statuses,
            "client_p50": pct(late, 50), "client_p99": pct(late, 99), "client_max": max(late)}


def wake_from_log(f, since):
    ws = [int(m) for m in re.findall(r"outcome=waited status=\d+ ms=\d+ waited_ms=-?\d+ wake_ms=(-?\d+)", f.log()[since:])]
    return ws


def layouts():
    """Cache hits under each processes x threads layout, to choose the
    shipped default from a measurement."""
    env = Env(ARGS.build)
    try:
        out("cache hit, redirect, by layout; wrk -t2, %ds runs, median of 3" % ARGS.seconds)
        for procs, threads in ((1, 8), (2, 4), (2, 8), (2, 16), (4, 8)):
            f = env.front(processes=procs, threads=threads,
                          overrides={("placeholder", "delay"): "0"}).start()
            assert f.get(HIT).status == 302
            url = "http://127.0.0.1:%d%s" % (f.port, HIT)
            r32, r256 = median_wrk(url, 32, ARGS.seconds), median_wrk(url, 256, ARGS.seconds)
            out("   %d x %2d: c32 %6.0f req/s p99 %6.2f ms | c256 %6.0f req/s p99 %6.2f ms"
                % (procs, threads, r32["rps"], r32["p99"], r256["rps"], r256["p99"]))
            f.stop()
    finally:
        env.close()


def main():
    if ARGS.layouts:
        return layouts()
    env = Env(ARGS.build)
    secs = ARGS.seconds
    try:
        out("promptpix bench  %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
        out("machine: %d cores, %s, kernel %s" % (os.cpu_count(), platform.machine(), platform.release()))
        out("versions: %s | %s | %s | %s" % (version(["nginx", "-v"]), version(["mariadbd", "--version"]),
                                             version(["wrk", "-v"]), version(["cc", "--version"])))
        out("layout: %d processes x %d threads (promptpix and bare alike); wrk -t2, %ds runs, median of 3"
            % (PROCS, THREADS, secs))
        out()
        bare_port, cache_port = servers.free_port(), servers.free_port()
        base = os.path.join(env.base, "bench")
        os.makedirs(base)
        bare_sock, bare_pids = start_bare(base, THREADS, PROCS)
        extra = """
server {
    listen 127.0.0.1:%(bare)d;
    location = /nginx302 { return 302 /img/00/0000000000000000000000000000000000000000000000000000000000000000.jpg; }
    location ~ "^/[0-9]+x[0-9]+\\.[A-Za-z]+$" { include /etc/nginx/fastcgi_params; fastcgi_pass unix:%(sock)s; }
}
""" % {"bare": bare_port, "sock": bare_sock}

        # 1. cache hit, redirect mode
        f = env.front(processes=PROCS, threads=THREADS, nginx_extra=extra,
                      overrides={("placeholder", "delay"): "0"}).start()
        assert f.get(HIT).status == 302
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
        f0.stop()
        out()

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
        fx.stop()
        out()

        # 3 + 4. coalescing, promptpix alone and behind nginx's cache lock
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
            out("      waiter wake (server side, %d waiters): p50 %d ms, p99 %d ms, max %d ms"
                % (len(ws), pct(ws, 50), pct(ws, 99), max(ws) if ws else -1))
            out("      client answer delay (all 200): p50 %.0f ms, p99 %.0f ms, max %.0f ms"
                % (c["client_p50"], c["client_p99"], c["client_max"]))
            n = coalesce(fc, cache_port, "ngx%s" % delay)
            out("   nginx fastcgi_cache_lock in front, %ss: requests nginx passed upstream %d, paid calls %d, statuses %s"
                % (delay, n["passed_upstream"], n["calls"], n["statuses"]))
            out("      client answer delay (all 200): p50 %.0f ms, p99 %.0f ms, max %.0f ms"
                % (n["client_p50"], n["client_p99"], n["client_max"]))
            if delay == "2":
                coal_rss = rss_mb(fc.pp.children())
            fc.stop()
        out()

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
            lines = re.findall(r"outcome=generated status=302 ms=(\d+) waited_ms=-?\d+ wake_ms=-?\d+ backend_ms=(\d+)",
                               f5.log()[since:])
            over = [int(ms) - int(b) for ms, b in lines]
            back = [int(b) for _, b in lines]
            out("   %d at concurrency %d: %.0f generations/s, statuses %s" % (n, conc, n / wall, sorted(set(sts))))
            out("      overhead (request time minus backend time): p50 %d ms, p99 %d ms; backend p50 %d ms"
                % (pct(over, 50), pct(over, 99), pct(back, 50)))
        calls = f5.sql("SELECT SUM(api_calls_made), COUNT(*) FROM generation_status")[0]
        out("   paid calls %s for %s images" % (calls[0], calls[1]))
        # 6. memory
        out()
        out("6. memory (VmRSS per responder process)")
        out("   after scenario 5, %d x %d threads:   %s MB" % (PROCS, THREADS, ", ".join("%.1f" % x for x in rss_mb(f5.pp.children()))))
        out("   after scenario 3, %d x %d threads: %s MB" % (PROCS, wthreads, ", ".join("%.1f" % x for x in coal_rss)))
        f5.stop()
        for pid in bare_pids:
            os.kill(pid, signal.SIGTERM)
    finally:
        env.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--layouts", action="store_true",
                    help="only compare processes x threads layouts for hits")
    ARGS = ap.parse_args()
    main()
