"""New generations are limited per client address; hits and waiters
never are; X-Forwarded-For is believed only from trusted proxies."""

import threading

from tests.lib import servers

LIMITS = {("limits", "new_images_per_minute"): "2", ("limits", "new_images_burst"): "2",
          ("placeholder", "delay"): "0.2"}


def test_new_images_limited_hits_and_waiters_not(env):
    with env.front(processes=2, overrides=LIMITS) as f:
        assert f.get("/128x128.jpg?text=one").status == 302
        assert f.get("/128x128.jpg?text=two").status == 302
        r = f.get("/128x128.jpg?text=three")
        assert r.status == 429, r
        assert 1 <= int(r.header("retry-after")) <= 31, r
        assert f.sql("SELECT COUNT(*) FROM generation_status WHERE prompt = 'three'") == [["0"]]
        assert f.sql("SELECT SUM(api_calls_made) FROM generation_status") == [["2"]]
        m = f.get("/metrics").body.decode()
        assert 'promptpix_requests_total{outcome="rate_limited"} 1\n' in m, m
        # Existing images are still served to the limited client, by both processes.
        for _ in range(6):
            assert f.get("/128x128.jpg?text=one").status == 302
            assert f.get("/128x128.jpg?text=two").status == 302


def test_waiters_are_never_limited(env):
    ov = dict(LIMITS)
    ov[("limits", "trusted_proxies")] = "127.0.0.1"
    ov[("placeholder", "delay")] = "1"
    with env.front(overrides=ov) as f:
        # Client A uses up its tokens.
        for p in ("a1", "a2"):
            assert f.get("/128x128.jpg?text=" + p, headers={"X-Forwarded-For": "192.0.2.1"}).status == 302
        assert f.get("/128x128.jpg?text=a3", headers={"X-Forwarded-For": "192.0.2.1"}).status == 429
        # Client B starts a generation; A may wait for it.
        gen = threading.Thread(target=lambda: setattr(gen, "r", f.get(
            "/128x128.jpg?text=shared", headers={"X-Forwarded-For": "192.0.2.2"})))
        gen.start()
        servers.wait_until(lambda: f.sql("SELECT status FROM generation_status WHERE prompt='shared'")
                           == [["generating"]], 5, "generating")
        w = f.get("/128x128.jpg?text=shared", headers={"X-Forwarded-For": "192.0.2.1"})
        gen.join()
        assert gen.r.status == 302 and w.status == 302, (gen.r, w)
        assert w.header("location") == gen.r.header("location")


def test_forwarded_for_only_from_trusted_proxies(env):
    with env.front(overrides=LIMITS) as f:      # no trusted proxies
        for i, ip in enumerate(("192.0.2.1", "192.0.2.2")):
            assert f.get("/128x128.jpg?text=x%d" % i, headers={"X-Forwarded-For": ip}).status == 302
        # A forged header does not buy a fresh bucket.
        r = f.get("/128x128.jpg?text=x9", headers={"X-Forwarded-For": "192.0.2.3"})
        assert r.status == 429, r
    ov = dict(LIMITS)
    ov[("limits", "trusted_proxies")] = "127.0.0.1, 198.51.100.7"
    with env.front(overrides=ov) as f:
        # The right-most untrusted hop is the client.
        h = {"X-Forwarded-For": "203.0.113.9, 192.0.2.50, 198.51.100.7"}
        assert f.get("/128x128.jpg?text=y1", headers=h).status == 302
        assert f.get("/128x128.jpg?text=y2", headers=h).status == 302
        assert f.get("/128x128.jpg?text=y3", headers=h).status == 429
        h2 = {"X-Forwarded-For": "203.0.113.9, 192.0.2.51, 198.51.100.7"}
        assert f.get("/128x128.jpg?text=y4", headers=h2).status == 302
