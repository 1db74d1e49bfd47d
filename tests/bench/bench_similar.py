#!/usr/bin/env python3
"""Similar prompts ([similar] threshold 0.8): the lookup's time with 10k
and with 1M completed images in the table, and what it adds to a miss
against threshold = 0, in one run. The images are made in SQL (the
SEQUENCE engine), filed under the key fcgi/lib/similar.c computes: for the
prompt "k<n> lake view" the words are already sorted, so SQL's SHA2()
builds the same key (checked against promptpix similar-index first).

The lookup time is the responder's own ("similar lookup ... us" in its
log: the one query, read and scored); the miss overhead is the client's
time for cold misses at concurrency 1, alternating between a front with
the feature off and one with it on, on the same database.

run(out) prints the table through out(line) (make bench calls it); alone:

    python3 tests/bench/bench_similar.py [--build DIR] [--lookups N]
"""

import argparse
import os
import re
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

from tests.lib import httpclient, servers  # noqa: E402
from tests.lib.env import Env  # noqa: E402

SIZES = (10_000, 1_000_000)
CHUNK = 100_000


def pct(xs, p):
    xs = sorted(xs)
    return xs[max(0, min(len(xs) - 1, -(-len(xs) * p // 100) - 1))] if xs else -1


def img(text):
    return "/64x64.jpg?text=" + urllib.parse.quote(text)


def fill(f, model, src, lo, hi):
    """Completed images lo+1..hi, each filed in the index."""
    url, name = src
    shape = "64x64\\njpg\\n-\\n" + model.replace("'", "''")
    for a in range(lo, hi, CHUNK):
        b = min(hi, a + CHUNK)
        rng = "SELECT seq FROM seq_%d_to_%d" % (a + 1, b)
        f.sql("INSERT INTO image_cache (prompt_hash, prompt, dimensions, format, seed,"
              " model, generated_url, file_name, file_size, content_type, image_width,"
              " image_height, created_at)"
              " SELECT SHA2(CONCAT('bench-similar ', seq), 256),"
              " CONCAT('k', LPAD(seq, 7, '0'), ' lake view'), '64x64', 'jpg', NULL,"
              " '%s', '%s', '%s', 1000, 'image/jpeg', 64, 64, NOW(3) FROM (%s) s"
              % (model.replace("'", "''"), url, name, rng))
        # The parents were just written: no need to look each one up.
        f.sql("SET SESSION foreign_key_checks = 0;"
              " INSERT INTO similar_index (image_hash, set_key)"
              " SELECT SHA2(CONCAT('bench-similar ', seq), 256),"
              " UNHEX(LEFT(SHA2(CONCAT('promptpix-similar-v1\\n', '%s', '\\n', 'k',"
              " LPAD(seq, 7, '0'), '\\nlake\\nview'), 256), 16)) FROM (%s) s" % (shape, rng))


def lookups_from_log(text, since, kind):
    return [int(us) for us, k in re.findall(r"similar lookup \w{12}: (\d+) us, (\w+)", text[since:])
            if k == kind]


def timed(f, target):
    t0 = time.monotonic()
    r = httpclient.get(f.port, target)
    return r, (time.monotonic() - t0) * 1000


def run(out, build="build", lookups=300, sizes=SIZES):
    env = Env(build)
    t0 = time.monotonic()
    try:
        ov = {("placeholder", "delay"): "0", ("limits", "new_images_per_minute"): 0}
        off = env.front(processes=2, threads=8, overrides=ov)
        on = env.front(processes=2, threads=8, share_with=off,
                       overrides={**ov, ("similar", "threshold"): "0.8"})
        with off, on:
            # A real image whose file the bench rows share, and the model.
            assert off.get(img("bench source image")).status == 302
            model, url, name = off.sql("SELECT model, generated_url, file_name FROM"
                                       " generation_status")[0]
            # More room than the test default (64M), for the 1M rows.
            off.sql("SET GLOBAL innodb_buffer_pool_size = 1024 * 1024 * 1024")
            try:    # the bulk inserts; dynamic since MariaDB 10.9
                off.sql("SET GLOBAL innodb_log_file_size = 512 * 1024 * 1024")
            except Exception:
                pass
            # SQL's key is the responder's: the builder files nothing new.
            fill(off, model, (url, name), 0, 10)
            e = dict(os.environ, PROMPTPIX_DB_PASSWORD=servers.DB_PASSWORD)
            p = subprocess.run([env.binary, "similar-index", "-c", on.conf], env=e,
                               capture_output=True, text=True, timeout=60)
            keys = off.sql("SELECT COUNT(*), COUNT(DISTINCT set_key) FROM similar_index")[0]
            assert p.returncode == 0 and keys == ["11", "11"], (p.stdout, p.stderr, keys)
            have = 10
            for j, n in enumerate(sizes):
                t1 = time.monotonic()
                fill(off, model, (url, name), have, n)
                have = n
                fill_s = time.monotonic() - t1
                off.sql("ANALYZE TABLE similar_index, image_cache")
                # Matches: each a new alias of one of the n images.
                since = len(on.log())
                step = max(1, n // lookups)
                hits = []
                for i in range(lookups):
                    r, ms = timed(on, img("lake view, k%07d%s" % (1 + i * step, "!" * (j + 1))))
                    assert r.status == 302 and r.header("x-promptpix-similar"), r
                    hits.append(ms)
                found = lookups_from_log(on.log(), since, "match")
                # Misses: nothing similar; on and off alternate.
                since = len(on.log())
                m_on, m_off = [], []
                for i in range(lookups):
                    m_off.append(timed(off, img("cold miss %d off %d" % (n, i)))[1])
                    m_on.append(timed(on, img("cold miss %d on %d" % (n, i)))[1])
                none = lookups_from_log(on.log(), since, "none")
                out("   %s completed images (made in %.0f s): lookup with a match p50 %d us, p99 %d us;"
                    " without p50 %d us, p99 %d us (%d + %d lookups)"
                    % ("{:,}".format(n), fill_s, pct(found, 50), pct(found, 99),
                       pct(none, 50), pct(none, 99), len(found), len(none)))
                out("      similar hit answered (client): p50 %.1f ms, p99 %.1f ms"
                    % (pct(hits, 50), pct(hits, 99)))
                out("      cold miss (client, backend delay 0): threshold 0 p50 %.1f ms, p99 %.1f ms;"
                    " threshold 0.8 p50 %.1f ms, p99 %.1f ms; overhead p50 %+.1f ms"
                    % (pct(m_off, 50), pct(m_off, 99), pct(m_on, 50), pct(m_on, 99),
                       pct(m_on, 50) - pct(m_off, 50)))
            aliases, alias_calls = off.sql("SELECT COUNT(*), COALESCE(SUM(api_calls_made), 0)"
                                           " FROM generation_status WHERE similar_to IS NOT NULL")[0]
            out("      paid calls of the %s similar hits: %s" % (aliases, alias_calls))
    finally:
        env.close()
    out("   (%.0f s)" % (time.monotonic() - t0))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--lookups", type=int, default=300)
    ap.add_argument("--sizes", default=",".join(str(n) for n in SIZES))
    a = ap.parse_args()
    run(print, build=a.build, lookups=a.lookups,
        sizes=[int(x) for x in a.sizes.split(",")])
