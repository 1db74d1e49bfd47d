#!/usr/bin/env python3
"""make soak: a bounded run of mixed traffic (hits, new prompts, waiters,
HEAD, failing generations, hostile input) through nginx against real
MariaDB, with the fal.ai backend against the stand-in, then checks:
every request got an answer, SUM(total_requests) equals the valid
requests sent, and the responders' RSS stayed under a bound.

    python3 tests/soak.py [--seconds N] [--clients N] [--build DIR]
"""

import argparse
import collections
import os
import random
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from tests.lib import falstub, httpclient  # noqa: E402
from tests.lib.env import Env  # noqa: E402
from tests.e2e.test_fal import KEY, fal_front  # noqa: E402

RSS_BOUND_MB = 32
HOSTILE = [
    "/1024x1024.jpg?text=a%0d%0aSet-Cookie:x", "/0x0.jpg?text=a", "/1024x1024.gif?text=a",
    "/1024x1024.jpg?text=%C0%AF", "/1024x1024.jpg?text=a&text=b", "/1024x1024.jpg",
    "/01024x1024.jpg?text=a", "/nothing", "/1024x1024.jpg?text=" + "a" * 1200,
]


def rss(pids):
    total = {}
    for pid in pids:
        try:
            for line in open("/proc/%d/status" % pid):
                if line.startswith("VmRSS:"):
                    total[pid] = int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def stub_prompts(f):
    return [r[0] for r in f.sql("SELECT prompt FROM generation_status")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("SOAK_SECONDS", 120)))
    ap.add_argument("--clients", type=int, default=24)
    ap.add_argument("--build", default="build")
    a = ap.parse_args()
    env = Env(a.build)
    ok = True
    try:
        stub = falstub.FalStub(KEY)
        f = fal_front(env, stub, processes=2, threads=16, overrides={
            ("fal", "mode"): "sync", ("fal", "max_attempts"): "1",
            ("generation", "retry_backoff"): "2"}).start()
        hot = ["/256x256.jpg?text=hot%%20%d" % i for i in range(20)]
        failing = ["/256x256.jpg?text=failing%%20%d" % i for i in range(10)]
        for i in range(10):
            stub.script("failing %d" % i, {"status": 500, "detail": "boom"})
        valid = [0]
        statuses = collections.Counter()
        errors = []
        lock = threading.Lock()
        end = time.monotonic() + a.seconds
        seq = [0]

        def client(n):
            rnd = random.Random(n)
            while time.monotonic() < end:
                k = rnd.random()
                method = "GET"
                if k < 0.60:
                    target, counted = rnd.choice(hot), True
                elif k < 0.65:
                    target, counted = rnd.choice(failing), True
                elif k < 0.80:
                    with lock:
                        seq[0] += 1
                        i = seq[0]
                    target, counted = "/128x128.png?text=new%%20%d" % i, True
                elif k < 0.90:
                    target, counted = rnd.choice(HOSTILE), False
                else:
                    target, counted, method = rnd.choice(hot), True, "HEAD"
                try:
                    r = httpclient.get(f.port, target, method=method, timeout=30)
                    st = r.status
                except Exception as e:  # an unanswered request is a failure
                    with lock:
                        errors.append("%s %s: %r" % (method, target[:60], e))
                    continue
                with lock:
                    statuses[st] += 1
                    if counted:
                        valid[0] += 1

        pids = f.pp.children()
        rss0 = rss(pids)
        samples = []
        ts = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)]
        t0 = time.monotonic()
        for t in ts:
            t.start()
        while any(t.is_alive() for t in ts):
            samples.append(rss(pids))
            time.sleep(2)
        for t in ts:
            t.join()
        wall = time.monotonic() - t0
        f.flush()
        total = int(f.sql("SELECT COALESCE(SUM(total_requests), 0) FROM generation_status")[0][0])
        calls, images = f.sql("SELECT SUM(api_calls_made), COUNT(*) FROM generation_status")[0]
        maxrss = max((max(s.values()) for s in samples if s), default=0)
        sent = sum(statuses.values()) + len(errors)
        print("soak: %ds, %d clients, %d requests (%.0f/s)" % (wall, a.clients, sent, sent / wall))
        print("  statuses: %s" % dict(sorted(statuses.items())))
        print("  unanswered: %d" % len(errors))
        for e in errors[:5]:
            print("    " + e)
        print("  valid requests sent %d, SUM(total_requests) %d" % (valid[0], total))
        print("  images %s, paid calls %s (stand-in counted %d)"
              % (images, calls, sum(stub.calls(p) for p in stub_prompts(f))))
        print("  responder RSS MB: start %s, max %.1f (bound %d)"
              % (", ".join("%.1f" % v for v in rss0.values()), maxrss, RSS_BOUND_MB))
        print("  responders restarted: %s" % (sorted(f.pp.children()) != sorted(pids)))
        ok = (not errors and total == valid[0] and maxrss <= RSS_BOUND_MB
              and sorted(f.pp.children()) == sorted(pids)
              and set(statuses) <= {200, 302, 400, 404, 414, 502, 503})
        f.stop()
        stub.stop()
    finally:
        env.close()
    print("soak: %s" % ("PASS" if ok else "FAIL"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
