"""The database going away is not a crash, and two web hosts on one
database still make one generation per image."""

import os
import signal
import threading
import time

from tests.e2e.test_e2e import SUNSET
from tests.lib import servers


def test_database_outage_and_recovery(env):
    # One process, so that the warm image is surely in its memory.
    with env.front(processes=1, threads=8,
                   overrides={("placeholder", "delay"): "3",
                              ("database", "connect_timeout"): "0.5"}) as f:
        f.get("/256x256.jpg?text=warm")            # a completed image, held in memory
        pids = sorted(f.pp.children())
        slow = threading.Thread(target=lambda: setattr(slow, "r", f.get(SUNSET)))
        slow.start()
        servers.wait_until(lambda: f.sql("SELECT status FROM generation_status WHERE prompt = "
                                         "'A beautiful sunset'") == [["generating"]], 5, "generating")
        env.db.stop()
        try:
            t0 = time.monotonic()
            r = f.get("/256x256.jpg?text=while%20down")
            assert r.status == 503 and r.header("retry-after"), r
            assert time.monotonic() - t0 < 1.0
            # A known image is still answered from memory.
            assert f.get("/256x256.jpg?text=warm").status == 302
        finally:
            env.db.start()
        # The generation in flight during the outage is recorded, not lost.
        slow.join()
        assert slow.r.status == 302, slow.r
        assert f.get("/256x256.jpg?text=while%20down").status == 302
        f.flush()
        rows = f.sql("SELECT prompt, status, api_calls_made FROM generation_status ORDER BY prompt")
        assert rows == [["A beautiful sunset", "completed", "1"],
                        ["warm", "completed", "1"],
                        ["while down", "completed", "1"]], rows
        assert sorted(f.pp.children()) == pids      # nothing crashed or restarted


def test_two_hosts_one_database(env):
    a = env.front(processes=2, threads=32, overrides={("placeholder", "delay"): "1"})
    b = env.front(processes=2, threads=32, share_with=a,
                  overrides={("placeholder", "delay"): "1"})
    with a, b:
        barrier = threading.Barrier(100)
        results = [None] * 100

        def one(i):
            front = a if i % 2 else b
            barrier.wait()
            results[i] = front.get("/768x512.png?text=two%20hosts")

        ts = [threading.Thread(target=one, args=(i,)) for i in range(100)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert [r.status for r in results] == [302] * 100, results
        assert len({r.header("location") for r in results}) == 1
        a.flush()
        b.flush()
        assert a.sql("SELECT total_requests, api_calls_made FROM generation_status") == [["100", "1"]]
        # Each host answered its half.
        assert a.log().count("outcome=") == 50 and b.log().count("outcome=") == 50


def test_short_server_wait_timeout_does_not_pay_twice(env):
    """A server that closes idle connections quickly must not close the
    generator's (its lock would go, and a waiter would generate again)."""
    old = env.db.query("SELECT @@GLOBAL.wait_timeout")[0][0]
    env.db.query("SET GLOBAL wait_timeout = 2")
    try:
        with env.front(processes=1, threads=4, overrides={("placeholder", "delay"): "4"}) as f:
            gen = threading.Thread(target=lambda: setattr(gen, "r", f.get(SUNSET)))
            gen.start()
            servers.wait_until(lambda: f.sql("SELECT status FROM generation_status")
                               == [["generating"]], 5, "generating")
            w = f.get(SUNSET)
            gen.join()
            assert gen.r.status == 302 and w.status == 302, (gen.r, w)
            assert f.sql("SELECT attempts, api_calls_made FROM generation_status") == [["1", "1"]]
    finally:
        env.db.query("SET GLOBAL wait_timeout = %s" % old)


def test_connections_killed_while_idle_are_replaced(env):
    """After MariaDB drops idle connections (a restart, a proxy's idle
    cut, KILL), the next request reconnects instead of answering 503."""
    with env.front(processes=1, threads=2) as f:
        assert f.get("/64x64.jpg?text=before").status == 302
        for (cid,) in env.db.query("SELECT id FROM information_schema.PROCESSLIST"
                                   " WHERE user = 'promptpix'"):
            env.db.query("KILL %s" % cid)
        time.sleep(5.5)     # the condition under test: connections idle past the ping age
        for i in range(4):
            r = f.get("/64x64.jpg?text=after%%20%d" % i)
            assert r.status == 302, r


def test_hung_database_answers_503_within_the_read_timeout(env):
    """A server that hangs without refusing (SIGSTOP): an ordinary
    request gets 503 after about [database] read_timeout, not after a
    long fixed timeout; once the server runs again, everything works."""
    with env.front(processes=1, threads=4,
                   overrides={("database", "read_timeout"): "2"}) as f:
        assert f.get("/64x64.jpg?text=before%20the%20hang").status == 302
        os.kill(env.db.proc.pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            r = f.get("/64x64.jpg?text=during%20the%20hang")
            took = time.monotonic() - t0
        finally:
            os.kill(env.db.proc.pid, signal.SIGCONT)
        assert r.status == 503 and r.header("retry-after"), (r, f.log()[-4000:])
        # read_timeout, once or twice (a ping, then the statement), and a connect.
        assert 1.5 < took < 9, took
        servers.wait_until(lambda: f.get("/64x64.jpg?text=after%20the%20hang").status == 302,
                           20, "answers after the hang")
        assert f.get("/64x64.jpg?text=during%20the%20hang").status == 302
        assert f.get("/64x64.jpg?text=before%20the%20hang").status == 302



def test_a_server_that_cannot_write_is_left(env):
    """The server turns read-only (a primary demoted behind a load
    balancer, or a virtual IP moved to a writable one): the connection
    that meets the refusal is dropped, and with it the process's others,
    so the next statements reach the writable server: the generation
    workers' too, which only read until they find a job. The
    responders' user has only its database's rights, so read_only holds
    for it."""
    from tests.lib.dbproxy import DbProxy
    first = servers.MariaDB(os.path.join(env.base, "read-only-db"))
    first.start()
    try:
        proxy = DbProxy(first)
        f = env.front(db=proxy, processes=1, threads=4,
                      overrides={("server", "max_wait"): "8"})
        env.db.create_database(f.dbname, hosts=("127.0.0.1",))
        with f:
            assert f.get("/64x64.jpg?text=before%20the%20switch").status == 302
            # Its worker done with it: every connection is idle or reading.
            servers.wait_until(lambda: first.query(
                "SELECT COUNT(*) FROM generation_slots WHERE owner IS NOT NULL",
                f.dbname) == [["0"]], 5, "the slot given back")
            first.query("SET GLOBAL read_only = 1")
            proxy.switch(env.db)
            # At most the request on the refused connection fails.
            got = []
            while len(got) < 6 and 302 not in got:
                got.append(f.get("/64x64.jpg?text=after%%20%d" % len(got)).status)
            assert got in ([302], [503, 302]), got
            for i in range(4):
                r = f.get("/64x64.jpg?text=then%%20%d" % i)
                assert r.status == 302, r
            made = f.sql("SELECT prompt FROM generation_status WHERE status = 'completed'")
            assert sorted(p for (p,) in made) == ["after %d" % (len(got) - 1)] + \
                ["then %d" % i for i in range(4)], made
            assert "the server cannot take writes now (read-only server, 1290)" \
                in f.log(), f.log()[-3000:]
    finally:
        first.stop()
