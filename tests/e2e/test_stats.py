"""Monitoring and reporting: GET /api/generation/stats, the SQL procedures
and views, GET /metrics and the request log, checked against known
traffic on real MariaDB, spawn-fcgi and nginx."""

import datetime
import hashlib
import json
import os
import re
import threading
import time

from tests.lib import servers

# The placeholder backend identifies its images by a model of its own.
MODEL = "placeholder"
# 500x200 is 0.1 megapixel: at 0.5 USD per megapixel (conf()) one call
# costs 0.05, the seed's price, and every money figure is exact.
SIZE = (500, 200)


def url(prompt):
    return "/%dx%d.jpg?text=%s" % (SIZE[0], SIZE[1], prompt.replace(" ", "%20"))


def prompt_hash(prompt):
    """hash.c's canonical form: the tests can name an image's store file
    before it exists."""
    canon = "promptpix-v1\n%s\n%d\n%d\njpg\n-\n%s" % (prompt, SIZE[0], SIZE[1], MODEL)
    return hashlib.sha256(canon.encode()).hexdigest()


def block_store(f, prompt):
    """Make the generation of prompt fail: its store subdirectory is a
    regular file, so the image cannot be written."""
    open(os.path.join(f.store, prompt_hash(prompt)[:2]), "w").close()


def alone(prompt, others):
    """Blocking prompt's store subdirectory leaves the others alone."""
    return prompt_hash(prompt)[:2] not in {prompt_hash(p)[:2] for p in others}


def conf(delay):
    return {("generation", "cost_per_megapixel"): "0.5", ("placeholder", "delay"): delay}


def background(f, target, out, method="GET"):
    t = threading.Thread(target=lambda: out.append(f.get(target, method=method)))
    t.start()
    return t


def metrics(f, headers=None):
    """/metrics as {'name{labels}': value}."""
    r = f.get("/metrics", headers=headers)
    assert r.status == 200, r
    assert r.header("content-type").startswith("text/plain; version=0.0.4"), r
    out = {}
    for line in r.body.decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def stats(f, headers=None, target="/api/generation/stats"):
    r = f.get(target, headers=headers)
    assert r.header("content-type") == "application/json; charset=utf-8", r
    assert r.header("cache-control") == "no-store", r
    return r, json.loads(r.body)


CALL_COLS = ["period", "unique_images", "pending", "generating", "completed", "failed",
             "total_requests", "api_calls_made", "api_calls_saved", "savings_percent",
             "cost_usd_spent", "cost_usd_saved", "cache_hits", "generation_ms_p50",
             "generation_ms_p95", "in_flight_generations", "current_waiters",
             "inference_ms_p50", "queue_ms_p50"]


def call_stats(f):
    rows = f.sql("CALL get_generation_stats()")
    assert [r[0] for r in rows] == ["today", "all_time"], rows
    return {r[0]: dict(zip(CALL_COLS, r)) for r in rows}


def as_call(p):
    """The JSON figures of one period as CALL get_generation_stats()
    prints them (percentiles left out: timing varies)."""
    s = p["images_by_status"]
    return {"unique_images": str(p["unique_images"]), "pending": str(s["pending"]),
            "generating": str(s["generating"]), "completed": str(s["completed"]),
            "failed": str(s["failed"]), "total_requests": str(p["total_requests"]),
            "api_calls_made": str(p["api_calls_made"]),
            "api_calls_saved": str(p["api_calls_saved"]),
            "savings_percent": "%.2f" % p["savings_percent"],
            "cost_usd_spent": "%.6f" % p["cost_usd_spent"],
            "cost_usd_saved": "%.6f" % p["cost_usd_saved"],
            "cache_hits": str(p["cache_hits"]),
            "in_flight_generations": str(p["in_flight_generations"]),
            "inference_ms_p50": str(p["inference_ms_p50"]),
            "queue_ms_p50": str(p["queue_ms_p50"])}


def exact(row):
    return {k: v for k, v in row.items() if k in as_call_keys}


as_call_keys = set(CALL_COLS) - {"period", "generation_ms_p50", "generation_ms_p95",
                                 "current_waiters"}


def utc_day():
    return datetime.datetime.now(datetime.timezone.utc).date()


def test_known_traffic_exact_figures(env):
    """12 image requests over 4 prompts (one failing), plus bad requests:
    the exact figures in the JSON, in CALL get_generation_stats(), in the
    view, in the seed's own queries, in /metrics and in the log."""
    a, b, c, bad = "busy world", "quiet lake", "lone tree", "broken pipe"
    assert alone(bad, [a, b, c])
    day = utc_day()
    with env.front(processes=2, threads=8,
                   overrides=conf("2")) as f:
        block_store(f, bad)
        polls = {"stats": 0, "metrics": 0}
        # A's generation runs; four more requests for A wait for it.
        gen, waiters, ts = [], [], []
        ts.append(background(f, url(a), gen))
        servers.wait_until(lambda: f.sql("SELECT status FROM generation_status") ==
                           [["generating"]], 5, "A generating")
        ts += [background(f, url(a), waiters) for _ in range(4)]

        def four_waiting():
            polls["metrics"] += 1
            return metrics(f)["promptpix_waiters"] == 4
        servers.wait_until(four_waiting, 5, "four waiters")
        # While they wait: the figures of now.
        r, j = stats(f)
        polls["stats"] += 1
        assert r.status == 200 and j["success"] is True, r
        assert j["stats"]["current"] == {"in_flight_generations": 1, "waiters": 4}, j
        assert j["stats"]["all_time"]["images_by_status"]["generating"] == 1, j
        assert j["stats"]["all_time"]["total_requests"] == 5, j
        now = call_stats(f)["all_time"]
        assert (now["generating"], now["in_flight_generations"], now["current_waiters"]) == \
            ("1", "1", None), now
        for t in ts:
            t.join()
        assert [x.status for x in gen + waiters] == [302] * 5, gen + waiters
        # B, C and the failing prompt generate at once; then hits and
        # the failed image asked again.
        rs = []
        for t in [background(f, url(p), rs) for p in (b, c, bad)]:
            t.join()
        assert sorted(x.status for x in rs) == [302, 302, 502], rs
        for p, want in ((a, 302), (a, 302), (b, 302), (bad, 502)):
            assert f.get(url(p)).status == want
        # Refused before any row: two bad requests and a bad method.
        assert f.get("/500x200.gif?text=x").status == 400
        assert f.get("/500x200.jpg?text=").status == 400
        assert f.get(url(a), method="POST").status == 405

        # 12 requests, 4 API calls (0.05 each), 8 saved, 3 cache hits.
        want = {"unique_images": 4,
                "images_by_status": {"pending": 0, "generating": 0, "completed": 3, "failed": 1},
                "total_requests": 12, "api_calls_made": 4, "api_calls_saved": 8,
                "savings_percent": 66.67, "cost_usd_spent": 0.2, "cost_usd_saved": 0.4,
                "cache_hits": 3, "similar_hits": 0, "in_flight_generations": 0,
                # The placeholder has no model timings and no queue of
                # its own: it records 0 for both.
                "inference_ms_p50": 0, "queue_ms_p50": 0,
                # No promptpix warm here (test_warm.py counts those).
                "warm_requests": 0, "warmed_images": 0}
        f.flush()       # hits answered from memory are counted in batches
        r, j = stats(f)
        polls["stats"] += 1
        assert r.status == 200, r
        assert set(j) == {"success", "stats", "message"}, j
        assert j["success"] is True and j["message"] == "Saved 8 API calls today!", j
        st = j["stats"]
        assert st["current"] == {"in_flight_generations": 0, "waiters": 0}, st
        assert st["generated_at"].endswith("Z"), st
        periods = ["all_time"] + (["today"] if utc_day() == day else [])
        for period in periods:
            got = dict(st[period])
            p50, p95 = got.pop("generation_ms_p50"), got.pop("generation_ms_p95")
            assert got == want, (period, got)
            # Three timed generations of 2 s each (the failed one is not
            # timed): nearest-rank p50 is the 2nd, p95 the 3rd.
            assert 2000 <= p50 <= p95 < 10000, (p50, p95)
        # The procedure says the same, being where the JSON comes from.
        call = call_stats(f)
        for period in periods:
            assert exact(call[period]) == as_call(st[period]), (call[period], st[period])
            assert call[period]["generation_ms_p50"] == str(st[period]["generation_ms_p50"])
            assert call[period]["current_waiters"] is None

        # The view, and the seed's query verbatim minus "public.".
        by_prompt = {a: [a, "500x200", "jpg", "7", "1", "6", "completed"],
                     b: [b, "500x200", "jpg", "2", "1", "1", "completed"],
                     bad: [bad, "500x200", "jpg", "2", "1", "1", "failed"],
                     c: [c, "500x200", "jpg", "1", "1", "0", "completed"]}
        view = [r[:7] for r in f.sql("SELECT * FROM most_requested_prompts")]
        assert view[0] == by_prompt[a] and view[3] == by_prompt[c], view
        assert sorted(view) == sorted(by_prompt.values()), view
        seed = f.sql("""
SELECT 
  prompt,
  dimensions,
  format,
  total_requests,
  api_calls_made,
  (total_requests - api_calls_made) as api_calls_saved,
  status,
  created_at
FROM generation_status 
ORDER BY total_requests DESC 
LIMIT 10;""")
        assert [r[:7] for r in seed][0] == by_prompt[a], seed
        assert sorted(r[:7] for r in seed) == sorted(view), seed

        # /metrics, summed over both processes.
        m = metrics(f)
        polls["metrics"] += 1
        for outcome, n in (("hit", 3), ("generated", 3), ("waited", 4), ("failed", 2),
                           ("timeout", 0), ("db_error", 0), ("bad_request", 2),
                           ("bad_method", 1), ("not_found", 0), ("other", 0),
                           ("stats", polls["stats"]), ("metrics", polls["metrics"] - 1)):
            assert m['promptpix_requests_total{outcome="%s"}' % outcome] == n, (outcome, m)
        assert m['promptpix_generations_total{result="completed"}'] == 3, m
        assert m['promptpix_generations_total{result="failed"}'] == 1, m
        assert m['promptpix_upstream_calls_total{result="ok"}'] == 3, m
        assert m['promptpix_upstream_calls_total{result="error"}'] == 1, m
        assert m["promptpix_waiters"] == 0 and m["promptpix_generations_in_flight"] == 0, m
        assert m["promptpix_generation_seconds_count"] == 4, m
        assert m["promptpix_generation_seconds_sum"] >= 8.0, m
        assert m['promptpix_generation_seconds_bucket{le="1"}'] == 0, m
        assert m["promptpix_waiter_wakeup_seconds_count"] == 4, m
        assert m['promptpix_waiter_wakeup_seconds_bucket{le="+Inf"}'] == 4, m
        assert m['promptpix_db_errors_total{kind="connect"}'] == 0, m
        assert m['promptpix_db_errors_total{kind="query"}'] == 0, m

        # The request log: one line per request with id, hash, outcome,
        # status and time waited; "Generation Status" per state change.
        log = f.log()
        lines = [l for l in log.splitlines() if ": request " in l]
        assert len(lines) == 15 + polls["stats"] + polls["metrics"], lines
        waited = [l for l in lines if "outcome=waited status=302" in l]
        assert len(waited) == 4, lines
        ha = prompt_hash(a)[:12]
        for l in waited:
            assert (" request GET %s outcome=waited" % ha) in l, l
            assert int(l.split("waited_ms=", 1)[1].split()[0]) >= 500, l
        gs = [l for l in log.splitlines() if "Generation Status: " in l]
        for state, n in (("pending", 4), ("generating", 4), ("completed", 3), ("failed", 1)):
            assert sum(1 for l in gs if (" %s" % state) in l.split("Generation Status: ")[1]) == n, \
                (state, gs)
        assert a not in log, "prompt text logged below debug level"

        # The seed's stuck-generations check: Postgres's INTERVAL
        # '5 minutes' is a syntax error in MariaDB; the MySQL form runs.
        stuck_pg = ("SELECT * FROM generation_status WHERE status = 'generating' "
                    "AND started_at < NOW() - INTERVAL '5 minutes';")
        try:
            f.sql(stuck_pg)
            raise AssertionError("MariaDB accepted INTERVAL '5 minutes'")
        except RuntimeError as e:
            assert "syntax" in str(e), e
        stuck = ("SELECT * FROM generation_status WHERE status = 'generating' "
                 "AND started_at < NOW() - INTERVAL 5 MINUTE;")
        assert f.sql(stuck) == [] and f.sql("SELECT * FROM stuck_generations") == []
        f.sql("UPDATE generation_status SET status = 'generating',"
              " lease_until = NOW(3) + INTERVAL 1 HOUR,"
              " started_at = NOW(3) - INTERVAL 6 MINUTE WHERE prompt = '%s'" % c)
        assert [r[2] for r in f.sql(stuck)] == [c]
        assert [r[2] for r in f.sql("SELECT * FROM stuck_generations")] == [c]


def test_cleanup_removes_exactly_old_finished_rows(env):
    old, old_failed, fresh, uncached, stuck, recent = (
        "old done", "old failed", "fresh", "old uncached", "old stuck", "six days")
    names = [old, old_failed, fresh, uncached, stuck, recent]
    assert alone(old_failed, names[:1] + names[2:])
    with env.front(processes=1, threads=4,
                   overrides=conf("0.05")) as f:
        block_store(f, old_failed)
        for p in names:
            f.get(url(p))
        loc = f.get(url(old)).header("location")          # one cache hit
        f.flush()
        f.sql("DELETE FROM image_cache WHERE prompt = '%s'" % uncached)
        # Stuck under a worker that still renews its lease: not taken over.
        f.sql("UPDATE generation_status SET status = 'generating', completed_at = NULL,"
              " lease_until = NOW(3) + INTERVAL 1 HOUR WHERE prompt = '%s'" % stuck)
        age = ("UPDATE generation_status SET created_at = created_at - INTERVAL {d} DAY,"
               " started_at = started_at - INTERVAL {d} DAY,"
               " completed_at = completed_at - INTERVAL {d} DAY WHERE prompt IN ({p})")
        f.sql(age.format(d=10, p="'%s','%s','%s','%s'" % (old, old_failed, uncached, stuck)))
        f.sql(age.format(d=6, p="'%s'" % recent))
        before = call_stats(f)
        assert before["today"]["unique_images"] == "1", before     # fresh only
        cache = f.sql("SELECT prompt_hash FROM image_cache ORDER BY 1")
        assert len(cache) == 4, cache

        assert f.sql("CALL cleanup_old_generation_status(7)") == [["2"]]
        left = sorted(r[0] for r in f.sql("SELECT prompt FROM generation_status"))
        assert left == sorted([fresh, uncached, stuck, recent]), left
        assert f.sql("SELECT prompt_hash FROM image_cache ORDER BY 1") == cache
        arch = f.sql("SELECT unique_images, completed, failed, total_requests, api_calls_made,"
                     " api_calls_saved, cache_hits, cost_usd_spent, cost_usd_saved"
                     " FROM generation_stats_archive")
        assert arch == [["2", "1", "1", "3", "2", "1", "1", "0.100000", "0.050000"]], arch
        # All-time figures survive the cleanup; today's were not touched.
        after = call_stats(f)
        assert exact(after["all_time"]) == exact(before["all_time"]), (before, after)
        assert after["today"] == before["today"]
        assert after["all_time"]["total_requests"] == "7", after

        # The cleaned image is still known: a hit, with no new generation.
        r = f.get(url(old))
        assert r.status == 302 and r.header("location") == loc, r
        f.flush()
        assert f.sql("SELECT total_requests, api_calls_made, cache_hits FROM generation_status"
                     " WHERE prompt = '%s'" % old) == [["1", "0", "1"]]
        assert f.log().count("outcome=hit") == 2

        # Nothing more to do; a negative age is refused.
        assert f.sql("CALL cleanup_old_generation_status(7)") == [["0"]]
        assert f.sql("SELECT COUNT(*) FROM generation_stats_archive") == [["1"]]
        try:
            f.sql("CALL cleanup_old_generation_status(-1)")
            raise AssertionError("negative days accepted")
        except RuntimeError as e:
            assert "days must be >= 0" in str(e), e

        # The daily event exists, disabled, and calls the cleanup.
        ev = f.sql("SELECT STATUS, INTERVAL_VALUE, INTERVAL_FIELD, EVENT_DEFINITION"
                   " FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()")
        assert ev == [["DISABLED", "1", "DAY", "CALL cleanup_old_generation_status(7)"]], ev



def test_cleanup_keeps_refused_prompts(env):
    """A prompt fal refused (retryable = 0) outlives the cleanup, so the
    next request for it is answered from its row and pays nothing; a
    failure a retry may fix, as old, is cleaned as before."""
    from tests.e2e.test_fal import KEY, fal_front
    from tests.lib import falstub
    refused, flaky = "cleanup refused castle", "cleanup flaky castle"
    with falstub.FalStub(KEY) as stub, fal_front(env, stub) as f:
        stub.script(refused, {"status": 422, "detail": "prompt is not allowed"})
        stub.script(flaky, {"status": 500, "detail": "boom"})
        assert f.get(url(refused)).status == 502
        assert f.get(url(flaky)).status == 502
        assert f.sql("SELECT prompt, error_kind, retryable FROM generation_status"
                     " ORDER BY prompt") == [[flaky, "upstream_error", "1"],
                                             [refused, "rejected", "0"]]
        calls = stub.calls(refused)
        assert calls == 1
        f.sql("UPDATE generation_status SET created_at = created_at - INTERVAL 10 DAY,"
              " started_at = started_at - INTERVAL 10 DAY,"
              " completed_at = completed_at - INTERVAL 10 DAY,"
              " next_attempt_at = next_attempt_at - INTERVAL 10 DAY")
        assert f.sql("CALL cleanup_old_generation_status(7)") == [["1"]]
        assert f.sql("SELECT prompt FROM generation_status") == [[refused]]
        assert f.sql("SELECT failed FROM generation_stats_archive") == [["1"]]
        # Still refused, at once, with no new call.
        r = f.get(url(refused))
        assert r.status == 502 and r.body == b"generation failed: rejected\n", r
        assert stub.calls(refused) == calls
        assert f.sql("SELECT total_requests, api_calls_made FROM generation_status") \
            == [["2", "1"]]
        # The event's daily call keeps it too.
        assert f.sql("CALL cleanup_old_generation_status(NULL)") == [["0"]]

def test_token_401_403_200(env):
    token = "stats-tok-8c1e"
    with env.front(processes=1, threads=1,
                   overrides={("stats", "token"): token}) as f:
        r, j = stats(f)
        assert r.status == 401 and j == {"success": False, "error": "access token required"}, r
        assert r.header("www-authenticate") == 'Bearer realm="promptpix"', r
        r, j = stats(f, headers={"Authorization": "Bearer wrong"})
        assert r.status == 403 and j["success"] is False, r
        r, j = stats(f, target="/api/generation/stats?token=wrong")
        assert r.status == 403, r
        r, j = stats(f, headers={"Authorization": "Bearer " + token})
        assert r.status == 200 and j["success"] is True, r
        r, j = stats(f, target="/api/generation/stats?token=" + token)
        assert r.status == 200 and j["message"] == "Saved 0 API calls today!", r
        # Nothing timed yet: no medians.
        assert (j["stats"]["all_time"]["inference_ms_p50"],
                j["stats"]["all_time"]["queue_ms_p50"]) == (None, None), j
        # The one connection ran the CALL and its results are drained:
        # the same thread's next statements work.
        assert f.get(url("after stats")).status == 302
        r, j = stats(f, headers={"Authorization": "Bearer " + token})
        assert r.status == 200 and j["stats"]["all_time"]["total_requests"] == 1, j
        # /metrics takes the same token and answers plain text.
        r = f.get("/metrics")
        assert r.status == 401 and r.body == b"access token required\n", r
        assert f.get("/metrics?token=nope").status == 403
        m = metrics(f, headers={"Authorization": "Bearer " + token})
        assert m['promptpix_requests_total{outcome="unauthorized"}'] == 2, m
        assert m['promptpix_requests_total{outcome="forbidden"}'] == 3, m
        assert m['promptpix_requests_total{outcome="stats"}'] == 3, m
        assert token not in f.log()
        assert "outcome=unauthorized status=401" in f.log()


def test_database_down_json_503_and_missing_procedure_500(env):
    with env.front(processes=1, threads=2,
                   overrides={("database", "socket"): "/nonexistent/mysqld.sock",
                              ("server", "base_path"): "/pix/"}) as f:
        st, h, body, _ = f.fcgi("/pix/api/generation/stats")
        assert st == 503 and h["retry-after"] == "5", (st, h)
        assert h["content-type"] == "application/json; charset=utf-8", h
        assert json.loads(body) == {"success": False, "error": "database unavailable"}
        st, _, _, _ = f.fcgi("/api/generation/stats")       # outside base_path
        assert st == 404
        # /metrics needs no database, and counts what went wrong.
        st, h, body, _ = f.fcgi("/pix/metrics")
        assert st == 200, st
        text = body.decode()
        assert 'promptpix_requests_total{outcome="db_error"} 1\n' in text, text
        # The generation workers look for jobs too: every failed connect
        # counts, the request's among them.
        def connects():
            st, _, body, _ = f.fcgi("/pix/metrics")
            m = re.search(r'^promptpix_db_errors_total\{kind="connect"\} (\d+)$',
                          body.decode(), re.M)
            return int(m.group(1))
        before = connects()
        assert before >= 1, text
        assert f.fcgi("/pix/api/generation/stats")[0] == 503
        assert connects() >= before + 1
    with env.front(processes=1, threads=1) as f:
        f.sql("DROP PROCEDURE get_generation_stats")
        r, j = stats(f)
        assert r.status == 500 and j == {"success": False, "error": "failed to get stats"}, r
        assert f.get(url("still fine")).status == 302


def calls_run(env):
    """CALL statements the server has run, every client's (one per
    aggregation: get_generation_stats() is the only procedure called)."""
    return int(env.db.query("SHOW GLOBAL STATUS LIKE 'Com_call_procedure'")[0][1])


def test_stats_hammered_reads_the_database_once_per_period(env):
    """Many stats calls a second, from many clients at once, across both
    processes: the database aggregates at most once per [stats] cache
    period, every answer is a 200 with the figures, and images are still
    elected and answered meanwhile."""
    with env.front(processes=2, threads=32,
                   overrides={("stats", "cache"): "1"}) as f:
        assert f.get(url("before")).status == 302
        before, t0 = calls_run(env), time.monotonic()
        bad = []
        stop = threading.Event()

        def hammer():
            while not stop.is_set():
                r = f.get("/api/generation/stats")
                if r.status != 200 or json.loads(r.body)["success"] is not True:
                    bad.append(r)

        ts = [threading.Thread(target=hammer) for _ in range(16)]
        for t in ts:
            t.start()
        try:
            # Elections keep working under the load (their latency is
            # make bench's business).
            for i in range(20):
                r = f.get(url("during %d" % i))
                assert r.status == 302, r
        finally:
            stop.set()
            for t in ts:
                t.join()
        took, ran = time.monotonic() - t0, calls_run(env) - before
        answered = f.log().count("outcome=stats")
        assert not bad, bad[:3]
        assert answered > 3 * (took + 1), (answered, took)
        # One read per period, plus the one that may straddle its end.
        assert ran <= took / 1.0 + 2, (ran, took, answered)
        m = metrics(f)
        assert m["promptpix_stats_refreshes_total"] <= ran + 1, (m, ran)
        # The figures are fresh again one period later.
        servers.wait_until(lambda: stats(f)[1]["stats"]["all_time"]["total_requests"] == 21,
                           5, "figures a period old")
