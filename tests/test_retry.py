"""A failed image is tried again after its backoff, by exactly one
request; before that, it is answered 502 with Retry-After and no call."""

import os
import time

from tests.lib import stack
from tests.test_e2e import SUNSET, fire


def test_failed_image_retried_once_after_backoff(env):
    store = os.path.join(env.base, "retry-store")
    open(store, "w").close()          # a file where the store should be: writes fail
    with env.front(processes=2, threads=8,
                   overrides={("store", "dir"): store,
                              ("generation", "retry_backoff"): "1",
                              ("placeholder", "delay"): "0.2"}) as f:
        r = f.get(SUNSET)
        assert r.status == 502 and r.body == b"generation failed: store\n", r
        t_failed = time.monotonic()
        # Within the backoff: answered at once, nothing attempted.
        r = f.get(SUNSET)
        assert r.status == 502 and r.header("retry-after") == "1", r
        rows = f.sql("SELECT status, attempts, api_calls_made, retryable FROM generation_status")
        assert rows == [["failed", "1", "1", "1"]], rows
        # The cause goes away; after the backoff, a crowd arrives.
        os.unlink(store)
        os.makedirs(store)
        stack.wait_until(lambda: time.monotonic() - t_failed > 1.1, 3, "backoff")
        rs = fire(f, [SUNSET] * 10)
        assert [x.status for x in rs] == [302] * 10, rs
        assert len({x.header("location") for x in rs}) == 1
        rows = f.sql("SELECT status, attempts, api_calls_made, error_kind FROM generation_status")
        assert rows == [["completed", "2", "2", None]], rows
        assert f.log().count("pending retry") == 1


def test_backoff_doubles_per_attempt(env):
    store = os.path.join(env.base, "retry-store2")
    open(store, "w").close()
    with env.front(overrides={("store", "dir"): store,
                              ("generation", "retry_backoff"): "100",
                              ("generation", "retry_backoff_max"): "300",
                              ("placeholder", "delay"): "0"}) as f:
        f.get(SUNSET)
        wait = lambda: int(f.sql("SELECT TIMESTAMPDIFF(SECOND, completed_at, next_attempt_at)"
                                 " FROM generation_status")[0][0])
        assert 99 <= wait() <= 100
        for attempts, want in ((2, 200), (3, 300), (5, 300)):
            # Pretend the backoff passed and the attempts were made.
            f.sql("UPDATE generation_status SET next_attempt_at = NOW(3) - INTERVAL 1 SECOND,"
                  " attempts = %d" % (attempts - 1))
            assert f.get(SUNSET).status == 502
            assert want - 1 <= wait() <= want, (attempts, wait())
