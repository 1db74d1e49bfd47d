"""Cache hits are answered from memory and counted in batches; the
figures in MySQL stay exact once flushed."""

from tests.e2e.test_e2e import SUNSET
from tests.lib.httpclient import fire


def test_hits_counted_exactly_after_flush(env):
    with env.front(processes=2, threads=8,
                   overrides={("server", "count_flush_interval"): "30"}) as f:
        assert f.get(SUNSET).status == 302
        rs = fire(f, [SUNSET] * 120)
        assert all(r.status == 302 for r in rs)
        assert f.log().count("outcome=hit") == 120
        f.flush()
        assert f.sql("SELECT total_requests, api_calls_made FROM generation_status") == [["121", "1"]]


def test_counts_written_on_sigterm(env):
    f = env.front(overrides={("server", "count_flush_interval"): "30"}).start()
    try:
        f.get(SUNSET)
        for _ in range(5):
            assert f.get(SUNSET).status == 302
    finally:
        f.stop()      # SIGTERM: the responders flush before they exit
    assert f.sql("SELECT total_requests FROM generation_status") == [["6"]]


def test_periodic_flush(env):
    from tests.lib import servers
    with env.front(overrides={("server", "count_flush_interval"): "0.2"}) as f:
        f.get(SUNSET)
        f.get(SUNSET)
        servers.wait_until(lambda: f.sql("SELECT total_requests FROM generation_status") == [["2"]],
                           5, "the periodic flush")
