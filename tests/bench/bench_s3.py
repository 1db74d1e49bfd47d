#!/usr/bin/env python3
"""[store] mode = s3 against mode = local in one run, on the S3 server the
tests start (OpenStack Swift with s3api, tests/lib/swift.py): cache hits
by redirect (to the bucket's URL, and presigned) and inline (from the
host's local copy), req/s and p99 through nginx; the first inline answer
of an image on a host that has no copy yet (a GET from the bucket); and
the time the HEAD and PUT add to a new image (placeholder backend, no
delay, one at a time).

run(out, env, measure, seconds) prints through out(line); make bench
calls it as case 15 with its wrk runner (measure(url, conns, seconds) ->
{"rps", "p50", "p99", "errors"})."""

import os
import time

from tests.bench.bench_fal import pct
from tests.lib.swift import Swift

HIT = "/1024x1024.jpg?text=bench%20s3%20hit"
PROCS, THREADS = 2, 8
NEW = 30            # new images timed per store mode


def front(env, swift, bucket, store, share_with=None, **settings):
    """A placeholder front (no delay) on the local store, or on bucket."""
    ov = {("placeholder", "delay"): "0"}
    if store == "s3":
        ov.update({("store", "mode"): "s3", ("store", "s3_endpoint"): swift.endpoint,
                   ("store", "s3_bucket"): bucket, ("store", "s3_region"): swift.region,
                   ("store", "s3_path_style"): "true",
                   ("store", "s3_credentials_file"): swift.credentials(
                       os.path.join(env.base, "s3-bench-creds-%d" % time.monotonic_ns())),
                   ("store", "url"): swift.public_url(bucket, "")})
    ov.update({("store", k): v for k, v in settings.items()})
    return env.front(processes=PROCS, threads=THREADS, overrides=ov,
                     share_with=share_with, share_store=share_with is None).start()


def new_images(f, tag):
    """NEW new images asked for one after another: their times in ms."""
    xs = []
    for i in range(NEW):
        t0 = time.monotonic()
        r = f.get("/512x512.jpg?text=bench%%20s3%%20%s%%20%d%%20%d" % (tag, i, time.time_ns()))
        xs.append((time.monotonic() - t0) * 1000)
        assert r.status in (200, 302), r
    return xs


def run(out, env, measure, seconds, answers=None):
    """The table; answers(case, *runs), if given, checks each wrk run's
    answers as bench.py's wrk_answers() does."""
    s = Swift(env.base).start()
    try:
        bucket = s.new_bucket(public_read=True)
        out("15. [store] mode = s3 (Swift with s3api on loopback) against local, 32 connections")
        out("   %-40s %10s %9s %9s" % ("cache hit", "req/s", "p50 ms", "p99 ms"))
        cases = [("local, redirect", "local", {}),
                 ("s3, redirect to the bucket's url", "s3", {}),
                 ("s3, redirect presigned (presign 3600)", "s3", {"presign": "3600"}),
                 ("local, inline (stream)", "local", {"delivery": "inline"}),
                 ("s3, inline (stream, local copy)", "s3", {"delivery": "inline"})]
        runs = {}
        for name, store, settings in cases:
            f = front(env, s, bucket, store, **settings)
            assert f.get(HIT).status in (200, 302)
            r = measure("http://127.0.0.1:%d%s" % (f.port, HIT), 32, seconds)
            runs[name] = r
            out("   %-40s %10.0f %9.2f %9.2f %s" % (name, r["rps"], r["p50"], r["p99"],
                                                    ("errors: " + r["errors"]) if r["errors"] else ""))
            f.stop()
        if answers:
            answers(15, *runs.values())
        lr, sr = runs["local, redirect"], runs["s3, redirect to the bucket's url"]
        li, si = runs["local, inline (stream)"], runs["s3, inline (stream, local copy)"]
        out("   ratios s3/local: redirect req/s %.2f, p99 %.2f; inline req/s %.2f, p99 %.2f"
            % (sr["rps"] / lr["rps"], sr["p99"] / lr["p99"], si["rps"] / li["rps"],
               si["p99"] / li["p99"]))

        # A new image, local against s3: what HEAD + PUT add.
        times = {}
        for store in ("local", "s3"):
            f = front(env, s, bucket, store)
            times[store] = new_images(f, store)
            f.stop()
        out("   %-40s %9s %9s" % ("new image, one at a time (%d)" % NEW, "p50 ms", "p99 ms"))
        for store in ("local", "s3"):
            out("   %-40s %9.1f %9.1f" % (store, pct(times[store], 50), pct(times[store], 99)))
        out("   the bucket's HEAD + PUT add p50 %.1f ms to a new image"
            % (pct(times["s3"], 50) - pct(times["local"], 50)))

        # Inline on a second host: the first answer reads the bucket.
        a = front(env, s, bucket, "s3", delivery="inline")
        b = front(env, s, bucket, "s3", share_with=a, delivery="inline")
        first, again = [], []
        for i in range(NEW):
            u = "/512x512.jpg?text=bench%%20s3%%20copy%%20%d%%20%d" % (i, time.time_ns())
            assert a.get(u).status == 200
            for xs in (first, again):
                t0 = time.monotonic()
                r = b.get(u)
                xs.append((time.monotonic() - t0) * 1000)
                assert r.status == 200, r
        out("   inline on another host: first answer (GET from the bucket) p50 %.1f ms,"
            " p99 %.1f ms; then (its copy) p50 %.1f ms"
            % (pct(first, 50), pct(first, 99), pct(again, 50)))
        b.stop()
        a.stop()
    finally:
        s.stop()
    out()
