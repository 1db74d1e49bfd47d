#!/usr/bin/env python3
"""How late our client hears that fal finished a job, in one run against
the stand-in (tests/lib/falstub.py): from the stand-in marking a job
COMPLETED to the client's answer (nginx, promptpix, the result GET, the
download, the database), p50 and p99, for fal's status stream, for our
poll every 500 ms (fal's JS client) and for a poll every 100 ms (fal's
Python client). Jobs take 0.3 to 1.2 s (flux/schnell's inference), a
few at once.

run(out) prints the table through out(line) (make bench calls it); alone:

    python3 tests/bench/bench_fal.py [--build DIR] [--jobs N]
"""

import argparse
import concurrent.futures
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

from tests.e2e.test_fal import KEY, fal_front  # noqa: E402
from tests.lib import falstub  # noqa: E402
from tests.lib.env import Env  # noqa: E402

AT_ONCE = 8
MODES = [("status stream", {("fal", "status_stream"): "true", ("fal", "poll_interval"): "0.5"}),
         ("poll every 500 ms (ours; fal's JS)", {("fal", "status_stream"): "false",
                                                  ("fal", "poll_interval"): "0.5"}),
         ("poll every 100 ms (fal's Python)", {("fal", "status_stream"): "false",
                                               ("fal", "poll_interval"): "0.1"})]


def pct(xs, p):
    """Nearest-rank percentile: the smallest x with p% at or below it."""
    xs = sorted(xs)
    return xs[max(0, min(len(xs) - 1, -(-len(xs) * p // 100) - 1))]


def lags(f, stub, tag, jobs, rnd):
    """Ask for jobs new images, AT_ONCE at a time; the lags in ms."""
    prompts = ["bench %s %d %d" % (tag, i, int(time.time() * 1000)) for i in range(jobs)]
    for p in prompts:
        stub.script(p, {"delay": rnd.uniform(0.3, 1.2)})
    out = []

    def one(p):
        r = f.get("/256x256.jpg?text=" + p.replace(" ", "%20"))
        at = time.time()
        assert r.status == 302, (p, r)
        return (at - stub.job_of(p)["stamps"]["COMPLETED"]) * 1000

    for i in range(0, jobs, AT_ONCE):
        out += fire(f, prompts[i:i + AT_ONCE], one)
    return out


def fire(f, items, fn):
    """fn(item) for every item at once, in order."""
    with concurrent.futures.ThreadPoolExecutor(len(items)) as ex:
        return list(ex.map(fn, items))


def run(out, build=None, jobs=40):
    """Measure and print through out(line): a title and one row a mode."""
    env = Env(build or os.environ.get("BUILD", "build"))
    rnd = random.Random(12)
    try:
        with falstub.FalStub(KEY) as stub:
            out("fal: from the stand-in marking COMPLETED to the client's answer"
                " (%d jobs each, 0.3-1.2 s, %d at once)" % (jobs, AT_ONCE))
            out("   %-38s %9s %9s %9s" % ("", "p50 ms", "p99 ms", "max ms"))
            for i, (name, ov) in enumerate(MODES):
                ov = dict(ov)
                ov.update({("queue", "max_concurrent"): str(AT_ONCE),
                           ("generation", "timeout"): "10",
                           ("fal", "request_timeout"): "5"})
                with fal_front(env, stub, processes=2, threads=16, overrides=ov) as f:
                    f.get("/64x64.jpg?text=warm%20up%20" + str(i))
                    xs = lags(f, stub, str(i), jobs, rnd)
                out("   %-38s %9.1f %9.1f %9.1f" % (name, pct(xs, 50), pct(xs, 99), max(xs)))
    finally:
        env.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--jobs", type=int, default=40)
    a = ap.parse_args()
    run(lambda line="": print(line, flush=True), a.build, a.jobs)


if __name__ == "__main__":
    main()
