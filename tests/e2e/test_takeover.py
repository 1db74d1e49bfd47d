"""A worker whose process dies mid-generation is replaced exactly once,
by one other worker, once its lease has run out."""

import os
import signal
import threading

from tests.e2e.test_e2e import SUNSET
from tests.lib import servers
from tests.lib.httpclient import fire


def test_killed_generator_is_replaced_once(env):
    with env.front(processes=2, threads=8,
                   overrides={("placeholder", "delay"): "2",
                              ("queue", "lease"): "1.5"}) as f:
        first = threading.Thread(target=lambda: setattr(first, "r", f.get(SUNSET)))
        first.start()
        servers.wait_until(lambda: f.sql("SELECT status FROM generation_status") == [["generating"]],
                           5, "generating")
        owner = f.sql("SELECT owner_host FROM generation_status")[0][0]
        pid = int(owner.rsplit(":", 1)[1])
        assert pid in f.pp.children(), (pid, f.pp.children())
        waiters = []
        t = threading.Thread(target=lambda: waiters.extend(fire(f, [SUNSET] * 6)))
        t.start()
        servers.wait_until(lambda: int(f.sql("SELECT total_requests FROM generation_status")[0][0]) == 7,
                           5, "waiters counted")
        os.kill(pid, signal.SIGKILL)
        t.join()
        first.join()
        # Clients of the killed process are passed on by nginx once more,
        # so every client gets the image, the generator's own included.
        everyone = [first.r] + waiters
        assert [r.status for r in everyone] == [302] * 7, everyone
        assert len({r.header("location") for r in everyone}) == 1
        assert max(r.elapsed for r in waiters) < 6
        rows = f.sql("SELECT status, attempts, api_calls_made FROM generation_status")
        # Two paid calls in all: the killed one and exactly one more.
        assert rows == [["completed", "2", "2"]], rows
        assert f.log().count(" takeover") == 1, f.log()
        # The supervisor replaced the dead process.
        servers.wait_until(lambda: len(f.pp.children()) == 2 and pid not in f.pp.children(),
                           5, "replacement process")
        # The replacement took the dead process's metrics slot: what was
        # in flight there is gone, what it counted stays.
        m = f.get("/metrics").body.decode().splitlines()
        for line in ("promptpix_generations_in_flight 0", "promptpix_waiters 0",
                     "promptpix_takeovers_total 1",
                     'promptpix_generations_total{result="completed"} 1'):
            assert line in m, (line, m)
