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


# Count drift: each case forced by a proxy that lets the statement run
# on the server and loses its answer (tests/lib/dbproxy.py).

def proxied_front(env, **kw):
    from tests.lib.dbproxy import DbProxy
    proxy = DbProxy(env.db)
    return proxy, env.front(db=proxy, **kw)


def test_flush_whose_answer_is_lost_counts_once(env):
    """The flush commits, its answer is lost, the flush is sent again:
    the hits are added once, not twice."""
    proxy, f = proxied_front(env, processes=1, threads=4,
                             overrides={("server", "count_flush_interval"): "30"})
    with f:
        assert f.get(SUNSET).status == 302
        assert all(r.status == 302 for r in fire(f, [SUNSET] * 10))
        proxy.cut_reply("COMMIT")
        f.flush()                       # committed; the answer is lost
        assert proxy.cuts_made() == 1
        assert f.sql("SELECT total_requests FROM generation_status") == [["11"]]
        assert all(r.status == 302 for r in fire(f, [SUNSET] * 5))
        f.flush()                       # the lost batch again, then the new one
        assert f.sql("SELECT total_requests, cache_hits FROM generation_status") \
            == [["16", "15"]]
        assert f.sql("SELECT COUNT(*) FROM count_flushes") == [["2"]]


def test_flush_cut_before_commit_is_sent_again(env):
    """The answer lost to the statement before the commit: the batch is
    rolled back, and sent again whole."""
    proxy, f = proxied_front(env, processes=1, threads=4,
                             overrides={("server", "count_flush_interval"): "30"})
    with f:
        assert f.get(SUNSET).status == 302
        assert all(r.status == 302 for r in fire(f, [SUNSET] * 7))
        proxy.cut_reply("total_requests = total_requests + ?")
        f.flush()
        assert proxy.cuts_made() == 1
        assert f.sql("SELECT total_requests FROM generation_status") == [["1"]]
        f.flush()
        assert f.sql("SELECT total_requests FROM generation_status") == [["8"]]


def test_hits_on_an_image_whose_rows_are_gone_are_kept(env):
    """Hits answered from memory for an image whose status row and cache
    row were both removed meanwhile bring its row back with them."""
    with env.front(processes=1, threads=4,
                   overrides={("server", "count_flush_interval"): "30"}) as f:
        first = f.get(SUNSET)
        assert first.status == 302
        f.sql("DELETE FROM generation_status")
        f.sql("DELETE FROM image_cache")
        assert all(r.status == 302 for r in fire(f, [SUNSET] * 4))
        f.flush()
        got = f.sql("SELECT prompt, status, total_requests, cache_hits, generated_url"
                    " FROM generation_status")
        assert got == \
            [["A beautiful sunset", "completed", "4", "4", first.header("location")]], got
        # The row is the image's again: the next request is an ordinary hit.
        assert f.get(SUNSET).header("location") == first.header("location")


def test_claim_whose_answer_is_lost_counts_one_call(env):
    """The claim commits (counting its paid call), its answer is lost:
    the worker finds the claim is its own and makes that one call, so
    the row says one call and the backend made one."""
    proxy, f = proxied_front(env, processes=1, threads=4,
                             overrides={("queue", "lease"): "4"})
    with f:
        proxy.cut_reply("SET status = 'generating'")
        r = f.get(SUNSET)
        assert r.status == 302, r
        assert proxy.cuts_made() == 1
        assert f.sql("SELECT status, attempts, api_calls_made FROM generation_status") \
            == [["completed", "1", "1"]]
        assert f.log().count(" generating") == 1, f.log()      # one backend run
