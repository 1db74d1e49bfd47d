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
        # Two batches of hit counts, and each flush's batch of the rollup.
        assert f.sql("SELECT COUNT(*) FROM count_flushes") == [["4"]]


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


# The hourly rollup's flush: one batch under an id, in one transaction,
# sent again unchanged until it is known to be added.

def rollup_front(env):
    """One process flushing only when told (SIGUSR1), no hits from
    memory (so the only transaction of a flush is the rollup's), over the
    proxy."""
    from tests.e2e.test_stats import conf
    ov = conf("0.3")
    ov.update({("server", "count_flush_interval"): "30",
               ("server", "hit_cache_entries"): "0"})
    return proxied_front(env, processes=1, threads=4, overrides=ov)


def rollup_exact(f):
    """Once flushed: the status table's figures if the rollup adds up to
    them exactly, else None."""
    from decimal import Decimal

    from tests.e2e.test_pages import rollup_sums
    got, want = rollup_sums(f)
    return want if got[:5] == want[:5] and Decimal(got[5]) == Decimal(want[5]) else None


def traffic_counted(f):
    """Wait until the rollup holds the known traffic (each generation is
    counted once its worker has recorded it)."""
    from tests.lib import servers
    servers.wait_until(lambda: (rollup_exact(f) or [])[:5] == ["7", "3", "3", "2", "1"],
                       10, "the rollup of the traffic")


def test_rollup_flush_whose_answer_is_lost_adds_once(env):
    """The rollup's flush commits, its answer is lost, the flush is sent
    again: its hour is added once, not twice."""
    from tests.e2e.test_pages import known_traffic, rollup_sums
    from tests.e2e.test_stats import url
    proxy, f = rollup_front(env)
    with f:
        known_traffic(f)
        traffic_counted(f)
        for _ in range(3):
            assert f.get(url("rollup busy world")).status == 302
        proxy.cut_reply("COMMIT")
        f.flush()                       # committed; the answer is lost
        assert proxy.cuts_made() == 1
        assert (rollup_exact(f) or [])[:2] == ["10", "6"], rollup_sums(f)
        assert f.get(url("rollup quiet lake")).status == 302
        f.flush()                       # the lost batch again, then the new one
        assert (rollup_exact(f) or [])[:2] == ["11", "7"], rollup_sums(f)


def test_rollup_flush_cut_before_commit_is_sent_again(env):
    """The answer lost to a statement of the rollup's flush before its
    commit: the batch is rolled back, and sent again whole."""
    from tests.e2e.test_pages import known_traffic, rollup_sums
    proxy, f = rollup_front(env)
    with f:
        known_traffic(f)
        proxy.cut_reply("INSERT INTO generation_rollup (")
        f.flush()
        assert proxy.cuts_made() == 1
        assert f.sql("SELECT COUNT(*) FROM generation_rollup") == [["0"]]
        traffic_counted(f)
        # Exactly: more flushes add nothing more.
        assert (rollup_exact(f) or [])[:5] == ["7", "3", "3", "2", "1"], rollup_sums(f)
        assert f.sql("SELECT SUM(n) FROM generation_rollup_ms") == [["2"]]
