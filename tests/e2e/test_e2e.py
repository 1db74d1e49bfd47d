"""End to end through nginx, spawn-fcgi, promptpix and MariaDB: the
behaviour a user and an operator see."""

import hashlib
import os
import threading
import time

from tests.lib import images, servers
from tests.lib.httpclient import fire

SUNSET = "/1024x1024.jpg?text=A%20beautiful%20sunset"


def status_row(f, cols="status, total_requests, api_calls_made"):
    return f.sql("SELECT %s FROM generation_status" % cols)


def test_cache_hit(env):
    with env.front() as f:
        first = f.get(SUNSET)
        assert first.status == 302, first
        loc = first.header("location")
        assert loc.startswith("/img/") and loc.endswith(".jpg"), loc
        hit = f.get(SUNSET)
        assert hit.status == 302 and hit.header("location") == loc, hit
        # The same image however the prompt is spelled.
        same = f.get("/1024x1024.jpeg?text=++A+beautiful++sunset+")
        assert same.header("location") == loc, same
        # Hits are counted in memory and flushed in batches.
        f.flush()
        assert status_row(f) == [["completed", "3", "1"]]
        assert "max-age=" in hit.header("cache-control")
        assert hit.header("etag") and hit.header("last-modified")
        img = f.get(loc)
        assert img.status == 200 and img.header("content-type") == "image/jpeg"
        assert images.size(img.body) == ("jpeg", 1024, 1024)
        assert "outcome=hit status=302" in f.log()


def test_seed_three_terminal_scenario(env):
    """The seed's test, with its 2-second placeholder: request 1 starts
    the generation, requests 2 and 3 arrive while it runs and wait; all
    three get the same image and only one API call is made."""
    with env.front(overrides={("placeholder", "delay"): "2"}) as f:
        results = [None] * 3

        def term(i):
            results[i] = f.get(SUNSET)
            results[i].done = time.monotonic()

        t0 = time.monotonic()
        ts = [threading.Thread(target=term, args=(0,))]
        ts[0].start()
        # Terminals 2 and 3 start once terminal 1's generation is running.
        servers.wait_until(lambda: status_row(f, "status") == [["generating"]], 5, "generating")
        for i in (1, 2):
            ts.append(threading.Thread(target=term, args=(i,)))
            ts[-1].start()
        for t in ts:
            t.join()
        locs = {r.header("location") for r in results}
        assert [r.status for r in results] == [302, 302, 302], results
        assert len(locs) == 1, locs
        assert 2.0 <= results[0].done - t0 < 5.0
        assert status_row(f) == [["completed", "3", "1"]]
        log = f.log()
        assert log.count("outcome=generated") == 1 and log.count("outcome=waited") == 2, log
        for state in ("pending", "generating", "completed"):
            assert "Generation Status: " in log and (" %s" % state) in log


def test_fifty_concurrent_identical_requests_one_generation(env):
    with env.front(processes=2, threads=32,
                   overrides={("placeholder", "delay"): "1"}) as f:
        rs = fire(f, ["/512x512.png?text=crowd%20of%20players"] * 50)
        assert [r.status for r in rs] == [302] * 50, [r.status for r in rs]
        assert len({r.header("location") for r in rs}) == 1
        f.flush()
        assert status_row(f) == [["completed", "50", "1"]]
        # Both processes took part.
        pids = {line.split("promptpix[")[1].split("]")[0]
                for line in f.log().splitlines() if "outcome=" in line}
        assert len(pids) == 2, pids


def test_twenty_distinct_prompts_twenty_generations(env):
    with env.front(processes=2, threads=16) as f:
        rs = fire(f, ["/256x256.jpg?text=prompt%%20%d" % i for i in range(20)])
        assert [r.status for r in rs] == [302] * 20
        assert len({r.header("location") for r in rs}) == 20
        rows = f.sql("SELECT status, COUNT(*), SUM(api_calls_made), SUM(total_requests)"
                     " FROM generation_status GROUP BY status")
        assert rows == [["completed", "20", "20", "20"]], rows


def test_max_wait_exceeded_gives_504(env):
    with env.front(overrides={("placeholder", "delay"): "2",
                              ("server", "max_wait"): "0.5"}) as f:
        gen = threading.Thread(target=lambda: setattr(gen, "r", f.get(SUNSET)))
        gen.start()
        servers.wait_until(lambda: status_row(f, "status") == [["generating"]], 5, "generating")
        t0 = time.monotonic()
        w = f.get(SUNSET)
        waited = time.monotonic() - t0
        assert w.status == 504, w
        assert w.header("retry-after") == "5"
        assert w.header("cache-control") == "no-store"
        assert 0.3 < waited < 1.5, waited
        gen.join()
        # The client that queued it gave up too, but the job is not
        # cancelled: it is paid once, recorded, and then a hit.
        assert gen.r.status == 504, gen.r
        servers.wait_until(lambda: status_row(f, "status") == [["completed"]], 5, "completed")
        assert f.get(SUNSET).status == 302
        assert status_row(f) == [["completed", "3", "1"]]


def test_head(env):
    with env.front() as f:
        h = f.get(SUNSET, method="HEAD")
        assert h.status == 302 and h.header("location") and h.body == b"", h
        g = f.get(SUNSET)
        assert g.header("location") == h.header("location")
        f.flush()
        assert status_row(f) == [["completed", "2", "1"]]


def check_inline(f, ext, fmt):
    """An inline image of the real size asked for, answered again the
    same, 304 for its ETag and bodiless to HEAD (behind any front)."""
    target = f.url("/640x360.%s?text=inline%%20bytes" % ext)
    r = f.get(target)
    assert r.status == 200 and r.header("location") is None, r
    assert images.size(r.body) == (fmt, 640, 360)
    assert r.header("content-type") == "image/" + fmt, r
    assert r.header("etag") and "max-age" in r.header("cache-control")
    assert "x-sendfile" not in r.headers
    again = f.get(target)
    assert again.status == 200 and again.body == r.body
    nm = f.get(target, headers={"If-None-Match": r.header("etag")})
    assert nm.status == 304 and nm.body == b"", nm
    head = f.get(target, method="HEAD")
    assert head.status == 200 and head.body == b"", head


def test_inline_stream(env):
    with env.front(overrides={("store", "delivery"): "inline"}) as f:
        check_inline(f, "png", "png")
        check_inline(f, "jpg", "jpeg")


def test_inline_x_accel_redirect(env):
    with env.front(overrides={("store", "delivery"): "inline",
                              ("store", "inline_send"): "x-accel-redirect"}) as f:
        check_inline(f, "jpeg", "jpeg")
        # The internal location is not reachable from outside.
        assert f.get("/_promptpix_store/").status == 404


BAD = [
    ("/1024x1024.jpg", 400),
    ("/1024x1024.jpg?text=", 400),
    ("/1024x1024.jpg?text=a&text=b", 400),
    ("/1024x1024.jpg?text=a&bogus=1", 400),
    ("/1024x1024.jpg?text=a%0d%0aSet-Cookie:%20x=1", 400),
    ("/1024x1024.jpg?text=%C0%AF", 400),
    ("/1024x1024.jpg?text=a%00b", 400),
    ("/1024x1024.jpg?text=a&seed=-3", 400),
    ("/0x1024.jpg?text=a", 400),
    ("/4096x4096.jpg?text=a", 400),
    ("/01024x1024.jpg?text=a", 400),
    ("/1024x1024.gif?text=a", 400),
    ("/1024x1024.jpg?text=" + "a" * 1001, 400),
    ("/1024x1024.jpg?text=a'%20OR%201=1--", None),   # valid prompt: a real image
    ("/nothing-here", 404),
    ("/img/../../etc/passwd", 400),             # refused by nginx itself
    ("/img/%2e%2e/%2e%2e/etc/passwd", 400),
]


def test_bad_input_4xx_and_no_row(env):
    with env.front() as f:
        for target, want in BAD:
            if want is None:
                continue
            r = f.get(target)
            assert r.status == want, (target, r)
            if target.startswith("/img/"):
                continue
            # One plain line with the reason.
            assert r.header("content-type").startswith("text/plain"), r
            assert r.body.count(b"\n") == 1 and r.body.endswith(b"\n"), r.body
            assert len(r.body) < 200
        assert f.rows() == 0
        r = f.get("/1024x1024.jpg?text=a", method="POST", body=b"x=1")
        assert r.status == 405 and r.header("allow") == "GET, HEAD", r
        r = f.get("/1024x1024.jpg?text=a", method="DELETE")
        assert r.status == 405
        assert f.rows() == 0
        # SQL in the prompt is only a prompt.
        r = f.get("/1024x1024.jpg?text=a'%20OR%201=1--")
        assert r.status == 302
        assert f.sql("SELECT prompt FROM generation_status") == [["a' OR 1=1--"]]


def block_store(f, prompt="A beautiful sunset"):
    """Make the store unable to keep the 1024x1024 jpg of prompt (its
    subdirectory a regular file) while it passes the start-up check.
    Returns the blocking file: remove it and the store works again."""
    canon = "promptpix-v1\n%s\n1024\n1024\njpg\n-\nplaceholder" % prompt
    path = os.path.join(f.store, hashlib.sha256(canon.encode()).hexdigest()[:2])
    open(path, "w").close()
    return path


def test_failed_generation_answers_everyone_502_at_once(env):
    # The image's subdirectory of the store is a regular file: the store
    # passes the start-up check, but this image cannot be written there,
    # so its generation (the backend call made) fails.
    with env.front(overrides={("placeholder", "delay"): "1"}) as f:
        block_store(f)
        gen = threading.Thread(target=lambda: setattr(gen, "r", f.get(SUNSET)))
        gen.start()
        servers.wait_until(lambda: status_row(f, "status") == [["generating"]], 5, "generating")
        rs = fire(f, [SUNSET] * 3)
        gen.join()
        assert gen.r.status == 502 and b"store" in gen.r.body, gen.r
        assert [r.status for r in rs] == [502] * 3, rs
        assert all(r.elapsed < 1.5 for r in rs)
        rows = f.sql("SELECT status, error_kind, api_calls_made, total_requests FROM generation_status")
        assert rows == [["failed", "store", "1", "4"]], rows
        assert "Generation Status: " in f.log() and " failed store" in f.log()


def test_image_cache_outlives_status_rows(env):
    # Without the in-memory hit cache, so the second request asks MySQL.
    with env.front(overrides={("server", "hit_cache_entries"): 0}) as f:
        a = f.get(SUNSET)
        f.sql("DELETE FROM generation_status")
        b = f.get(SUNSET)
        assert b.status == 302 and b.header("location") == a.header("location")
        assert status_row(f) == [["completed", "1", "0"]]
        assert f.sql("SELECT COUNT(*) FROM image_cache") == [["1"]]


def test_database_down_gives_quick_503(env):
    with env.front(overrides={("database", "socket"): "/nonexistent/mysqld.sock"}) as f:
        t0 = time.monotonic()
        r = f.get(SUNSET)
        assert r.status == 503 and r.header("retry-after"), r
        assert time.monotonic() - t0 < 1.0


def test_secrets_never_logged(env):
    with env.front(overrides={("server", "log_level"): "debug"}) as f:
        f.get(SUNSET)
        f.get("/1024x1024.jpg?text=%FF")
        assert servers.DB_PASSWORD not in f.log()
        # The prompt is logged only at debug level.
        assert "A beautiful sunset" in f.log()
    with env.front() as f:
        f.get(SUNSET)
        assert "A beautiful sunset" not in f.log()


def test_placeholder_draws_any_size_and_prompt(env):
    """The extremes of the grammar draw real images: the smallest size
    allowed, a wide strip, a 1000-byte prompt, UTF-8 and emoji."""
    with env.front(overrides={("limits", "min_dimension"): 1,
                              ("store", "delivery"): "inline"}) as f:
        for target, size in (("/1x1.png?text=dot", ("png", 1, 1)),
                             ("/2048x64.jpg?text=" + "long%20" * 142 + "end", ("jpeg", 2048, 64)),
                             ("/300x200.png?text=caf%C3%A9%20%F0%9F%8C%85%20%E6%97%A5%E6%9C%AC",
                              ("png", 300, 200))):
            r = f.get(target)
            assert r.status == 200 and images.size(r.body) == size, (target, r)
