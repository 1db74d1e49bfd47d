"""A failed image is tried again after its backoff, by exactly one
request; before that, it is answered 502 with Retry-After and no call."""

import os
import time

from tests.e2e.test_e2e import SUNSET, block_store
from tests.lib import servers
from tests.lib.httpclient import fire


def test_failed_image_retried_once_after_backoff(env):
    with env.front(processes=2, threads=8,
                   overrides={("generation", "retry_backoff"): "1",
                              ("placeholder", "delay"): "0.2"}) as f:
        blocker = block_store(f)        # this image's writes fail
        r = f.get(SUNSET)
        assert r.status == 502 and r.body == b"generation failed: store\n", r
        t_failed = time.monotonic()
        # Within the backoff: answered at once, nothing attempted.
        r = f.get(SUNSET)
        assert r.status == 502 and r.header("retry-after") == "1", r
        rows = f.sql("SELECT status, attempts, api_calls_made, retryable FROM generation_status")
        assert rows == [["failed", "1", "1", "1"]], rows
        # The cause goes away; after the backoff, a crowd arrives.
        os.unlink(blocker)
        servers.wait_until(lambda: time.monotonic() - t_failed > 1.1, 3, "backoff")
        rs = fire(f, [SUNSET] * 10)
        assert [x.status for x in rs] == [302] * 10, rs
        assert len({x.header("location") for x in rs}) == 1
        rows = f.sql("SELECT status, attempts, api_calls_made, error_kind FROM generation_status")
        assert rows == [["completed", "2", "2", None]], rows
        assert f.log().count("pending retry") == 1


def test_backoff_doubles_per_attempt(env):
    with env.front(overrides={("generation", "retry_backoff"): "100",
                              ("generation", "retry_backoff_max"): "300",
                              ("placeholder", "delay"): "0"}) as f:
        block_store(f)
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


def test_permanent_failure_waits_for_an_operator(env):
    from tests.lib import falstub
    from tests.e2e.test_fal import KEY, fal_front
    prompt = "a prompt fal rejects"
    target = "/256x256.jpg?text=" + prompt.replace(" ", "%20")
    with falstub.FalStub(KEY) as stub, fal_front(
            env, stub, overrides={("generation", "retry_backoff"): "0.2",
                                  ("server", "hit_cache_entries"): 0}) as f:
        stub.script(prompt, {"status": 422, "detail": "prompt violates the content policy"}, {})
        r = f.get(target)
        assert r.status == 502 and r.body == b"generation failed: rejected\n", r
        assert f.sql("SELECT retryable FROM generation_status") == [["0"]]
        time.sleep(0.4)     # past the backoff a transient failure would have
        r = f.get(target)
        assert r.status == 502 and r.header("retry-after") is None, r
        assert stub.calls(prompt) == 1
        # The operator clears it; the next request tries again.
        f.sql("UPDATE generation_status SET retryable = 1, next_attempt_at = NOW(3)")
        r = f.get(target)
        assert r.status == 302, r
        assert stub.calls(prompt) == 2
        assert f.sql("SELECT status, attempts, api_calls_made FROM generation_status") == \
            [["completed", "2", "2"]]


def test_transient_upstream_failure_retried_after_backoff(env):
    from tests.lib import falstub
    from tests.e2e.test_fal import KEY, fal_front
    prompt = "busy upstream"
    target = "/256x256.jpg?text=busy%20upstream"
    with falstub.FalStub(KEY) as stub, fal_front(
            env, stub, overrides={("generation", "retry_backoff"): "1",
                                  ("fal", "max_attempts"): "1"}) as f:
        stub.script(prompt, {"status": 503, "error_type": "runner_scheduling_failure"}, {})
        r = f.get(target)
        assert r.status == 503 and r.header("retry-after"), r
        t0 = time.monotonic()
        r = f.get(target)           # inside the backoff: no call
        assert r.status == 503 and stub.calls(prompt) == 1, r
        servers.wait_until(lambda: time.monotonic() - t0 > 1.1, 3, "backoff")
        rs = fire(f, [target] * 8)
        assert [x.status for x in rs] == [302] * 8, rs
        assert stub.calls(prompt) == 2
