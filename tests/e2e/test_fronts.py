"""The same end-to-end behaviour behind each of the three fronts:
nginx + spawn-fcgi, Apache + mod_proxy_fcgi + spawn-fcgi (the vhost in
apache/promptpix.conf), and Apache + mod_fcgid (apache/htaccess in a
shared-hosting directory /pix/, processes spawned by Apache). Each
scenario below becomes one test per front: test_<scenario>__<front>."""

import os
import re
import shutil
import threading
import time

from tests.e2e.test_e2e import check_inline, status_row
from tests.lib import apache, images, servers
from tests.lib.env import processes_of
from tests.lib.httpclient import fire

FRONTS = ("nginx", "apache", "fcgid")
SUNSET = "/1024x1024.jpg?text=A%20beautiful%20sunset"


def scenario_cache_hit(env, front):
    with env.front(front=front) as f:
        first = f.get(f.url(SUNSET))
        assert first.status == 302, first
        loc = first.header("location")
        assert loc.startswith(f.url("/img/")) and loc.endswith(".jpg"), loc
        hit = f.get(f.url(SUNSET))
        assert hit.status == 302 and hit.header("location") == loc, hit
        assert "max-age=" in hit.header("cache-control") and hit.header("etag")
        f.flush()
        assert status_row(f) == [["completed", "2", "1"]]
        img = f.get(loc)
        assert img.status == 200 and img.header("content-type") == "image/jpeg", img
        assert images.size(img.body) == ("jpeg", 1024, 1024)
        assert "immutable" in img.header("cache-control"), img
        assert "outcome=hit status=302" in f.log()


def scenario_fifty_concurrent_one_generation(env, front):
    # Behind mod_fcgid every waiter holds a process of its own: the test
    # host allows FcgidMaxProcessesPerClass 64 > 50 (tests/lib/apache.py).
    with env.front(front=front, processes=2, threads=32,
                   overrides={("placeholder", "delay"): "1"}) as f:
        rs = fire(f, [f.url("/512x512.png?text=crowd%20of%20players")] * 50)
        assert [r.status for r in rs] == [302] * 50, [r.status for r in rs]
        assert len({r.header("location") for r in rs}) == 1
        f.flush()
        assert status_row(f) == [["completed", "50", "1"]]
        log = f.log()
        assert log.count("outcome=generated") == 1
        if front == "fcgid":
            spawned = len(re.findall(r"mod_fcgid: server \S+ started", log))
            print("     mod_fcgid processes: %d, waited: %d" % (spawned, log.count("outcome=waited")))


BAD = [
    ("/1024x1024.jpg", 400),
    ("/1024x1024.jpg?text=a&text=b", 400),
    ("/1024x1024.jpg?text=a&bogus=1", 400),
    ("/1024x1024.jpg?text=a%0d%0aSet-Cookie:%20x=1", 400),
    ("/1024x1024.jpg?text=a%00b", 400),
    ("/0x1024.jpg?text=a", 400),
    ("/4096x4096.jpg?text=a", 400),
    ("/1024x1024.gif?text=a", 400),
    ("/1024x1024.jpg?text=" + "a" * 1001, 400),
    ("/nothing-here", 404),
    ("/promptpix.conf", 404),
]
TRAVERSAL = ["/img/../../etc/passwd", "/img/%2e%2e/%2e%2e/etc/passwd",
             "/img/..%2f..%2f..%2fetc/passwd"]


def scenario_bad_input_4xx_and_no_row(env, front):
    with env.front(front=front) as f:
        for target, want in BAD:
            r = f.get(f.url(target))
            assert r.status == want, (target, r)
            assert r.header("content-type").startswith("text/plain") or want == 404, r
            assert "set-cookie" not in r.headers
        for target in TRAVERSAL:
            r = f.get(f.url(target))
            assert 400 <= r.status < 500 and b"root:" not in r.body, (target, r)
        for method in ("POST", "DELETE"):
            r = f.get(f.url("/1024x1024.jpg?text=a"), method=method,
                      body=b"x=1" if method == "POST" else None)
            assert r.status == 405 and r.header("allow") == "GET, HEAD", r
        assert f.rows() == 0


def scenario_head(env, front):
    with env.front(front=front) as f:
        h = f.get(f.url(SUNSET), method="HEAD")
        assert h.status == 302 and h.header("location") and h.body == b"", h
        g = f.get(f.url(SUNSET))
        assert g.header("location") == h.header("location")
        f.flush()
        assert status_row(f) == [["completed", "2", "1"]]


def scenario_inline(env, front):
    with env.front(front=front, overrides={("store", "delivery"): "inline"}) as f:
        check_inline(f, "png", "png")
        check_inline(f, "jpg", "jpeg")
    if front == "nginx":
        send = "x-accel-redirect"
    elif apache.have_module("xsendfile"):
        send = "x-sendfile"
    else:
        return      # stream only: mod_xsendfile is not installed
    with env.front(front=front, overrides={("store", "delivery"): "inline",
                                           ("store", "inline_send"): send}) as f:
        check_inline(f, "jpeg", "jpeg")


def scenario_max_wait_gives_504(env, front):
    # mod_fcgid hands the second client to a new process after a 1 s
    # pause (no idle process, one busy): the generation must outlast it.
    delay = "3" if front == "fcgid" else "2"
    with env.front(front=front, overrides={("placeholder", "delay"): delay,
                                           ("server", "max_wait"): "0.5"}) as f:
        gen = threading.Thread(target=lambda: setattr(gen, "r", f.get(f.url(SUNSET))))
        gen.start()
        servers.wait_until(lambda: status_row(f, "status") == [["generating"]], 10, "generating")
        t0 = time.monotonic()
        w = f.get(f.url(SUNSET))
        waited = time.monotonic() - t0
        assert w.status == 504, w
        assert w.header("retry-after") == "5" and w.header("cache-control") == "no-store", w
        assert w.body == b"image is still being generated; retry shortly\n", w
        assert waited > 0.4, waited
        gen.join()
        # The client that queued it timed out too; the job still
        # completes, once, and is then a hit.
        assert gen.r.status == 504, gen.r
        servers.wait_until(lambda: status_row(f, "status") == [["completed"]], 10, "completed")
        assert f.get(f.url(SUNSET)).status == 302
        assert status_row(f) == [["completed", "3", "1"]]
        assert f.log().count("outcome=timeout status=504") == 2


def scenario_pages_reach_the_responder(env, front):
    """The shipped front files route the home page, the dashboard (GET
    and its login POST) and the history to the responder."""
    token = "fronts-pages-token"
    with env.front(front=front, overrides={("stats", "token"): token}) as f:
        home = f.get(f.url("/"))
        assert home.status == 200 and b'id="try"' in home.body, home
        assert "default-src 'none'" in home.header("content-security-policy"), home
        assert f.get(f.url("/dashboard")).status == 401
        r = f.get(f.url("/dashboard"), method="POST",
                  body=("action=login&token=" + token).encode(),
                  headers={"Content-Type": "application/x-www-form-urlencoded",
                           "Origin": "http://127.0.0.1:%d" % f.port})
        assert r.status == 303 and r.header("location") == f.url("/dashboard"), r
        assert "Path=%s;" % f.url("/dashboard") in r.header("set-cookie"), r
        cookie = r.header("set-cookie").split(";")[0]
        dash = f.get(f.url("/dashboard"), headers={"Cookie": cookie})
        assert dash.status == 200 and b'<svg id="hourly"' in dash.body, dash
        hist = f.get(f.url("/api/generation/history?by=day"),
                     headers={"Authorization": "Bearer " + token})
        assert hist.status == 200 and hist.body.startswith(b'{"success":true'), hist
        assert f.get(f.url("/api/generation/stats"),
                     headers={"Authorization": "Bearer " + token}).status == 200


def _parametrize():
    for name, fn in list(globals().items()):
        if not name.startswith("scenario_"):
            continue
        for front in FRONTS:
            def test(env, fn=fn, front=front):
                fn(env, front)
            test.__name__ = "test_%s__%s" % (name[len("scenario_"):], front)
            globals()[test.__name__] = test


_parametrize()


def test_fcgid_lifecycle(env):
    """mod_fcgid starts, reuses and recycles the processes itself: after
    FcgidMaxRequestsPerProcess requests and after FcgidIdleTimeout it
    sends SIGTERM, and every process leaves cleanly (status 0) without a
    client noticing. Here the configuration is outside the document root,
    named by FcgidInitialEnv; a SetEnv in the directory is reported as
    unused."""
    f = env.front(front="fcgid")
    private_conf = os.path.join(f.dir, "private", "promptpix.conf")
    shutil.move(f.conf, private_conf)
    apache.share(private_conf, writable=True)
    f.web.max_requests = 3
    f.web.extra = ('FcgidInitialEnv PROMPTPIX_CONF "%s"\n'
                   "FcgidIdleTimeout 1\nFcgidIdleScanInterval 1\n"
                   "FcgidErrorScanInterval 1\nFcgidZombieScanInterval 1\n"
                   "<Directory %s>\n    SetEnv PROMPTPIX_CONF /elsewhere/promptpix.conf\n"
                   "</Directory>\n" % (private_conf, os.path.join(f.dir, "htdocs")))
    with f:
        rs = [f.get(f.url(SUNSET)) for _ in range(8)]
        assert [r.status for r in rs] == [302] * 8, rs
        assert len({r.header("location") for r in rs}) == 1
        # Recycled processes flushed their hit counts on SIGTERM; ask the rest.
        f.flush()
        assert status_row(f) == [["completed", "8", "1"]]
        exits = lambda: re.findall(r"mod_fcgid: process \S+\((\d+)\) exit\(([^)]*)\), (.*)", f.log())
        # 8 requests, 3 per process: at least two recycled by now or soon,
        # then the last one after a second idle.
        servers.wait_until(lambda: len(exits()) >= 3 and any("idle" in e[1] for e in exits()),
                           15, "mod_fcgid to recycle and idle out processes")
        r = f.get(f.url(SUNSET))
        assert r.status == 302 and r.header("location") == rs[0].header("location")
    # Stopping Apache stops the last process the same way.
    log = f.log()
    assert "exit(shutting down)" in log, log
    for pid, why, how in exits():
        assert "return code: 0" in how, (pid, why, how, log)
    assert not running(os.path.join(f.dir, "htdocs", "pix", "promptpix.fcgi"))
    assert "signal 15: finishing 0 requests" in log
    assert "PROMPTPIX_CONF=/elsewhere/promptpix.conf from the web server is not used" in log
    assert "the configuration was read from %s" % private_conf in log


def running(exe):
    return processes_of(exe)
