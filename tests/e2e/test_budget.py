"""The daily budget and the keys' quotas: never passed by one image,
whatever the concurrency, across hosts."""

import json

from tests.lib.httpclient import fire, fire_over
from tests.e2e.test_access import add_key, front, sign

# 1000x1000 is one megapixel: $0.003 at the default price.
IMG = "/1000x1000.jpg?text="


def statuses(rs):
    out = {}
    for r in rs:
        out[r.status] = out.get(r.status, 0) + 1
    return out


def test_budget_holds_across_two_fronts(env):
    ov = {("budget", "daily_usd"): "0.03", ("placeholder", "delay"): "0.2"}
    a = front(env, mode="open", processes=2, threads=64, overrides=ov)
    b = front(env, mode="open", processes=2, threads=64, overrides=ov, share_with=a)
    with a, b:
        targets = [IMG + "budget%%20%d" % i for i in range(200)]
        got = fire_over([a, b], targets)
        assert statuses(got) == {302: 10, 429: 190}, statuses(got)
        refused = [r for r in got if r.status == 429]
        assert all(r.body == b"daily budget reached\n" and 0 < int(r.header("retry-after")) <= 86400
                   for r in refused), refused[0]
        # Exactly 10 paid calls; nothing was written for the 190.
        assert a.sql("SELECT COUNT(*), SUM(api_calls_made) FROM generation_status") == [["10", "10"]]
        assert a.sql("SELECT images, reserved_usd, spent_usd FROM budget_days") == \
            [["10", "0.000000", "0.030000"]]
        # An image that exists is still answered when the budget is spent.
        done = a.sql("SELECT prompt FROM generation_status LIMIT 1")[0][0]
        assert a.get(IMG + done.replace(" ", "%20")).status == 302
        st = json.loads(a.get("/api/generation/stats").body)["stats"]["budget"]
        assert st == {"daily_usd": 0.03, "spent_usd": 0.03, "reserved_usd": 0,
                      "left_usd": 0}, st
        m = a.get("/metrics").body.decode()
        assert "promptpix_budget_spent_usd 0.030000" in m and "promptpix_budget_left_usd 0.000000" in m


def test_key_quota(env):
    with front(env, processes=2, threads=32, overrides={("placeholder", "delay"): "0.2"}) as f:
        f.sql("INSERT INTO client_keys (id, name, tier, daily_images) VALUES ('few', 'few', 1, 3)")
        add_key(f, "many")
        got = fire(f, [sign(IMG + "quota%%20%d" % i, "few") for i in range(20)])
        assert statuses(got) == {302: 3, 429: 17}, statuses(got)
        assert all(r.body == b"this key's daily quota is reached\n" for r in got if r.status == 429)
        # Another key, and an image that exists, are not limited by it.
        assert f.get(sign(IMG + "other%20key", "many")).status == 302
        done = next(i for i, r in enumerate(got) if r.status == 302)
        assert f.get(sign(IMG + "quota%%20%d" % done, "few")).status == 302
        assert f.sql("SELECT key_id, images, spent_usd FROM key_days ORDER BY key_id") == \
            [["few", "3", "0.009000"], ["many", "1", "0.003000"]]
        assert f.sql("SELECT SUM(api_calls_made) FROM generation_status") == [["4"]]
