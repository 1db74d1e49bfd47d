"""Two web hosts on a MariaDB Galera cluster, one on each node: the
election, the slots and the claims are conditional writes that meet as
certification conflicts (error 1213) instead of row locks, and still
make one paid generation per image and hold the cap across the cluster.
A cluster that cannot start fails these tests with its nodes' logs."""

import re
import time
import urllib.parse

from tests.lib.httpclient import fire_pairs
from tests.lib.galera import GaleraCluster

DELAY = 1           # [placeholder] delay, seconds


# Identical requests at once, split between the nodes: enough that a hot
# row's conflicts abort some elections several times in a row.
N = 200


def fronts(env, cluster, overrides=None):
    """Front A on node 1 and front B on node 2 of cluster, on one
    database and one image store: nginx + 2 processes each."""
    overrides = {("placeholder", "delay"): DELAY,
                 ("limits", "new_images_per_minute"): 0, **(overrides or {})}
    a = env.front(processes=2, threads=64, db=cluster.nodes[0], overrides=overrides)
    b = env.front(processes=2, threads=64, db=cluster.nodes[1], share_with=a,
                  overrides=overrides)
    return a, b


def trouble(*fs):
    """The responders' error and warn lines, and their mentions of
    deadlocks (1213: InnoDB's, or a Galera certification conflict)."""
    lines = [ln for f in fs for ln in f.log().splitlines()]
    bad = [ln for ln in lines if re.search(r"promptpix\[\d+\] (error|warn) ", ln)]
    deadlocks = [ln for ln in lines if re.search(r"\(1213\)|[Dd]eadlock", ln)]
    return bad, deadlocks


def conflicts(cluster):
    """Per node: certification failures and brute-force aborts so far
    (each a statement the node or the client ran again)."""
    return [(n["wsrep_local_cert_failures"], n["wsrep_local_bf_aborts"])
            for n in cluster.wsrep_counters()]


def report(cluster, what, before):
    """One line for the run's output: the cluster's conflicts since
    before (conflicts(cluster) then)."""
    now = conflicts(cluster)
    print("     galera %s: cluster up in %.1fs; per node cert failures %s,"
          " brute-force aborts %s" % (
              what, cluster.started_in, [c - b for (c, _), (b, _) in zip(now, before)],
              [c - b for (_, c), (_, b) in zip(now, before)]), flush=True)


def test_galera_one_generation_for_both_nodes(env):
    with GaleraCluster(env.base) as cluster:
        # wsrep_retry_autocommit: 1 (the default) has the node run a
        # statement that lost a certification conflict once more itself;
        # with 0 every conflict reaches the responder as error 1213, and
        # its own retry (fcgi/db/db.c) must carry it.
        for retry in (1, 0):
            for n in cluster.nodes:
                n.query("SET GLOBAL wsrep_retry_autocommit = %d" % retry)
            one_generation(env, cluster, "wsrep_retry_autocommit = %d" % retry)


def one_generation(env, cluster, what):
    before = conflicts(cluster)
    a, b = fronts(env, cluster)
    with a, b:
        target = "/512x512.jpg?text=" + urllib.parse.quote("one image, two nodes")
        got = fire_pairs([(a if i % 2 else b, target) for i in range(N)])
        assert [r.status for r in got] == [302] * N, (what, [r for r in got if r.status != 302])
        assert len({r.header("location") for r in got}) == 1, (what, got)
        a.flush()
        b.flush()
        # Each node holds the same row (replication has applied it by
        # the time the flushes are seen).
        for f in (a, b):
            rows = f.sql("SELECT status, api_calls_made, total_requests, error_kind"
                         " FROM generation_status")
            assert rows == [["completed", "1", str(N), None]], (what, f.db.index, rows)
        assert a.log().count("outcome=") == N // 2 and b.log().count("outcome=") == N // 2
        bad, deadlocks = trouble(a, b)
        assert bad == [], (what, bad)
        assert deadlocks == [], (what, deadlocks)
    report(cluster, "%d identical, " % N + what, before)


def test_galera_cap_across_nodes(env):
    with GaleraCluster(env.base) as cluster:
        before = conflicts(cluster)
        a, b = fronts(env, cluster, {("queue", "max_concurrent"): 2})
        with a, b:
            prompts = ["galera %d" % i for i in range(20)]
            pairs = [(a if i % 2 else b, "/256x256.jpg?text=" + urllib.parse.quote(p))
                     for i, p in enumerate(prompts)]
            t0 = time.monotonic()
            got = fire_pairs(pairs)
            took = time.monotonic() - t0
            assert [r.status for r in got] == [302] * 20, got
            assert len({r.header("location") for r in got}) == 20
            a.flush()
            b.flush()
            for f in (a, b):
                assert f.sql("SELECT COUNT(*), SUM(api_calls_made), SUM(total_requests)"
                             " FROM generation_status WHERE status = 'completed'") == \
                    [["20", "20", "20"]], f.db.index
                assert f.sql("SELECT COUNT(*) FROM generation_slots"
                             " WHERE owner IS NOT NULL") == [["0"]]
            # The cap, from the rows: never more than 2 generations ran at
            # once anywhere in the cluster (so 20 of 1 s took >= 10 s).
            spans = [(float(s), float(e)) for s, e in a.sql(
                "SELECT UNIX_TIMESTAMP(started_at), UNIX_TIMESTAMP(completed_at)"
                " FROM generation_status")]
            most = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
            assert most == 2, (most, sorted(spans))
            assert took >= 20 * DELAY / 2, took
            bad, deadlocks = trouble(a, b)
            assert bad == [], bad
            assert deadlocks == [], deadlocks
            report(cluster, "20 distinct, cap 2", before)
