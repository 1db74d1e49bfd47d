"""One paid call per image, whatever fails: a database away for longer
than a lease, an owner killed or stopped mid-job, an answer lost after
the server committed. Each paid call is in the budget, once.

The stand-in (tests/lib/falstub.py) counts the submits it got
(stub.calls) and the jobs fal would bill (stub.billed: those that ran).
Times are scaled down from production's (a 15 s lease, a 20 s outage, a
30 s job) keeping their order: lease < outage < job."""

import hashlib
import os
import signal
import threading
import time
import urllib.parse

from tests.e2e.test_e2e import SUNSET
from tests.e2e.test_fal import KEY, fal_front
from tests.lib import falstub, servers
from tests.lib.dbproxy import DbProxy

# 1000x1000 is one megapixel: $0.003 a call at the default price.
PRICE = "0.003000"
LEASE = "1.5"


def target(prompt):
    return "/1000x1000.jpg?text=" + urllib.parse.quote(prompt)


def money_front(env, stub, overrides=None, **kw):
    """A fal front with a budget (so that budget_days counts what is
    spent), a short lease, and room for slow jobs."""
    ov = {("budget", "daily_usd"): "1",
          ("queue", "lease"): LEASE,
          ("generation", "timeout"): "60",
          ("server", "max_wait"): "60",
          ("fal", "request_timeout"): "5"}
    ov.update(overrides or {})
    return fal_front(env, stub, overrides=ov, **kw)


def budget(f):
    """Today's (images, reserved_usd, spent_usd)."""
    rows = f.sql("SELECT images, reserved_usd, spent_usd FROM budget_days")
    assert len(rows) == 1, rows
    return rows[0]


def calls_of(f, prompt):
    return f.sql("SELECT status, api_calls_made, cost_usd, call_state FROM generation_status"
                 " WHERE prompt = '%s'" % prompt)


def ask(f, prompts, each=2):
    """Clients for each prompt, in threads; join() them for the answers."""
    out = []

    def one(p):
        out.append((p, f.get(target(p), timeout=90)))
    ts = [threading.Thread(target=one, args=(p,)) for p in prompts for _ in range(each)]
    for t in ts:
        t.start()
    return ts, out


def join(ts, out):
    for t in ts:
        t.join()
    by = {}
    for p, r in out:
        assert r.status == 302, (p, r)
        by.setdefault(p, set()).add(r.header("location"))
    assert all(len(v) == 1 for v in by.values()), by
    return by


def wait_running(stub, prompts):
    """Until fal runs each prompt's job (IN_PROGRESS at the stand-in)."""
    def running(p):
        return stub.count("submit", p) == 1 and stub.job_of(p)["state"] == "IN_PROGRESS"
    servers.wait_until(lambda: all(running(p) for p in prompts), 20, "jobs running at fal")


def assert_paid_once(f, stub, prompts):
    for p in prompts:
        assert stub.calls(p) == 1 and stub.billed(p) == 1, (p, stub.calls(p), stub.billed(p))
        assert calls_of(f, p) == [["completed", "1", PRICE, "done"]], calls_of(f, p)
    spent = "%.6f" % (0.003 * len(prompts))
    assert budget(f)[1:] == ["0.000000", spent], budget(f)


def outage(env, f, stub, cut):
    """Two jobs at fal; cut() keeps the database away longer than a
    lease; then both clients get their image, each paid once."""
    prompts = ["a lighthouse in a storm", "a cat on a red sofa"]
    for p in prompts:
        stub.script(p, {"delay": 10})
    ts, out = ask(f, prompts)
    wait_running(stub, prompts)
    cut()
    join(ts, out)
    assert_paid_once(f, stub, prompts)
    return f.log()


def test_database_frozen_longer_than_a_lease_pays_once(env):
    with falstub.FalStub(KEY) as stub, money_front(env, stub, processes=2, threads=8) as f:
        def freeze():
            servers.freeze(env.db.proc.pid)
            try:
                time.sleep(3)       # the fault under test: the database away for 2 leases
            finally:
                os.kill(env.db.proc.pid, signal.SIGCONT)
        outage(env, f, stub, freeze)


def test_database_restarted_longer_than_a_lease_pays_once(env):
    with falstub.FalStub(KEY) as stub, money_front(env, stub, processes=2, threads=8) as f:
        def restart():
            env.db.stop()
            try:
                time.sleep(2)       # the fault under test: the database away, then back
            finally:
                env.db.start()
        outage(env, f, stub, restart)


def owner_pid(f, prompt):
    owner = f.sql("SELECT owner_host FROM generation_status WHERE prompt = '%s'" % prompt)[0][0]
    return int(owner.split(":")[1])


def test_owner_killed_mid_job_is_followed_not_paid_again(env):
    """kill -9 of the worker's process while fal runs its job: another
    worker takes the job over after the lease and follows fal's job."""
    prompt = "a fox under the northern lights"
    with falstub.FalStub(KEY) as stub, money_front(env, stub, processes=2, threads=8) as f:
        stub.script(prompt, {"delay": 6})
        first = threading.Thread(target=lambda: f.get(target(prompt), timeout=90))
        first.start()
        wait_running(stub, [prompt])
        os.kill(owner_pid(f, prompt), signal.SIGKILL)
        first.join()
        r = f.get(target(prompt), timeout=90)
        assert r.status == 302, r
        assert_paid_once(f, stub, [prompt])
        log = f.log()
        assert log.count(" takeover") == 1 and "fal: following " in log, log[-3000:]
        assert stub.count("submit", prompt) == 1


def test_owner_stopped_longer_than_a_lease_pays_once(env):
    """The owner's process stopped (a VM pause, a swap storm) for longer
    than a lease while fal runs its job, then continued: the job is
    taken over and followed, never submitted again, and delivered once."""
    prompt = "an owl reading a map"
    with falstub.FalStub(KEY) as stub, money_front(env, stub, processes=2, threads=8) as f:
        stub.script(prompt, {"delay": 8})
        ts, out = ask(f, [prompt], each=1)
        wait_running(stub, [prompt])
        pid = owner_pid(f, prompt)
        servers.freeze(pid)
        try:
            servers.wait_until(lambda: " takeover" in f.log(), 20, "the takeover")
        finally:
            os.kill(pid, signal.SIGCONT)
        join(ts, out)
        # The owner, once continued, ends its run too: it finds the job
        # recorded by the worker that took it over.
        h = f.sql("SELECT prompt_hash FROM generation_status")[0][0][:12]
        servers.wait_until(lambda: f.log().count("Generation Status: %s completed ms=" % h)
                           + f.log().count("Generation Status: %s failed " % h) == 2,
                           30, "both workers done")
        assert_paid_once(f, stub, [prompt])
        store = [n for _, _, fs in os.walk(f.store) for n in fs]
        assert len(store) == 1, store


def lost_front(env, stub=None, **kw):
    proxy = DbProxy(env.db)
    if stub is None:
        ov = {("budget", "daily_usd"): "1", ("queue", "lease"): "4",
              ("server", "count_flush_interval"): "30"}
        ov.update(kw.pop("overrides", {}))
        return proxy, env.front(db=proxy, processes=1, threads=4, overrides=ov, **kw)
    ov = {("server", "count_flush_interval"): "30", ("queue", "lease"): "4"}
    ov.update(kw.pop("overrides", {}))
    return proxy, money_front(env, stub, db=proxy, processes=1, threads=4, overrides=ov, **kw)


def rollup(f):
    f.flush()
    return f.sql("SELECT COALESCE(SUM(requests), 0), COALESCE(SUM(paid_calls), 0),"
                 " COALESCE(SUM(generations), 0), COALESCE(SUM(failures), 0),"
                 " COALESCE(SUM(spent_usd), 0) FROM generation_rollup")[0]


def assert_rollup(f, want):
    """The hourly rollup, flushed, comes to want (requests, paid calls,
    generations, failures, spent): a request is counted once its answer
    is sent, so a flush may come before the last one."""
    got = []
    try:
        servers.wait_until(lambda: got.append(rollup(f)) or got[-1] == want, 10,
                           "the rollup")
    except RuntimeError:
        raise AssertionError((got[-1:], want))


def test_lost_answer_to_the_election_is_the_generator(env):
    """The election and its reservation commit, the answer is lost: the
    request reads its own elect_id back and goes on as the generator;
    nothing is reserved twice or given back."""
    proxy, f = lost_front(env)
    with f:
        proxy.cut_commit_after("INSERT INTO generation_status (id, prompt_hash")
        r = f.get(SUNSET)
        assert r.status == 302, (r, f.log()[-2000:])
        assert proxy.cuts_made() == 1
        assert f.sql("SELECT total_requests, api_calls_made, cost_usd FROM generation_status") \
            == [["1", "1", "0.003146"]]
        assert budget(f) == ["1", "0.000000", "0.003146"], budget(f)


def test_lost_answer_to_an_election_without_budget(env):
    proxy, f = lost_front(env, overrides={("budget", "daily_usd"): "0"})
    with f:
        proxy.cut_reply("INSERT INTO generation_status (id, prompt_hash")
        r = f.get(SUNSET)
        assert proxy.cuts_made() == 1
        assert r.status == 302, (r, f.log()[-2000:])
        assert f.sql("SELECT status, api_calls_made FROM generation_status") == [["completed", "1"]]


def test_lost_answers_to_requeue_begin_end_and_finish(env):
    """A transient refusal, then the retry: the answers of the requeue,
    of the call's begin and of its end (the settle), and of the finish
    are each lost once after the server committed. Counts, reservations
    and spend stay exact."""
    prompt = "a lost answer at every step"
    with falstub.FalStub(KEY) as stub:
        proxy, f = lost_front(env, stub, overrides={("generation", "retry_backoff"): "0.3",
                                                   ("fal", "max_attempts"): "1"})
        with f:
            stub.script(prompt, {"status": 503}, {})
            r = f.get(target(prompt))
            assert r.status == 503, r
            assert budget(f) == ["1", "0.000000", "0.000000"], budget(f)
            for stmt in ("SET status = 'pending'", "SET call_id = ?", "SET call_state = ?",
                         "SET status = 'completed'"):
                proxy.cut_commit_after(stmt)
            time.sleep(0.4)         # past the backoff
            r = f.get(target(prompt))
            assert r.status == 302, (r, f.log()[-3000:])
            assert proxy.cuts_made() == 4, proxy.cuts_made()
            assert stub.calls(prompt) == 2 and stub.billed(prompt) == 1
            assert f.sql("SELECT status, attempts, api_calls_made, cost_usd, reserved_usd,"
                         " call_reserved_usd FROM generation_status") == \
                [["completed", "2", "2", PRICE, None, None]]
            assert budget(f)[1:] == ["0.000000", PRICE], budget(f)
            assert f.sql("SELECT COUNT(*) FROM image_cache") == [["1"]]
            # The rollup counts what the rows count: two requests, two
            # calls, one generation, one failure, one call billed.
            assert_rollup(f, ["2", "2", "1", "1", PRICE])


def test_lost_answer_to_a_failure(env):
    prompt = "a refused prompt, answer lost"
    with falstub.FalStub(KEY) as stub:
        proxy, f = lost_front(env, stub)
        with f:
            stub.script(prompt, {"status": 422})
            proxy.cut_commit_after("SET status = 'failed'")
            r = f.get(target(prompt))
            assert r.status == 502 and r.body == b"generation failed: rejected\n", r
            assert proxy.cuts_made() == 1
            # fal bills a 422: spent once, nothing left reserved.
            assert f.sql("SELECT status, api_calls_made, cost_usd, reserved_usd"
                         " FROM generation_status") == [["failed", "1", PRICE, None]]
            assert budget(f)[1:] == ["0.000000", PRICE], budget(f)
            assert_rollup(f, ["1", "1", "0", "1", PRICE])


def test_download_failure_after_payment_fetches_again(env):
    """fal made and billed the image, its download failed: the retry
    follows the same job (its result, its file), it does not pay again."""
    prompt = "a download that failed"
    with falstub.FalStub(KEY) as stub, money_front(
            env, stub, overrides={("generation", "timeout"): "2",
                                  ("generation", "retry_backoff"): "0.3"}) as f:
        stub.script(prompt, {"image_fail": 10000})
        r = f.get(target(prompt))
        assert r.status == 502 and r.body == b"generation failed: download\n", r
        assert calls_of(f, prompt) == [["failed", "1", PRICE, "taken"]]
        stub.job_of(prompt)["act"]["image_fail"] = 0
        time.sleep(0.4)             # past the backoff
        r = f.get(target(prompt))
        assert r.status == 302, (r, f.log()[-3000:])
        assert stub.calls(prompt) == 1 and stub.billed(prompt) == 1
        assert stub.count("result", prompt) == 2
        assert_paid_once(f, stub, [prompt])


def block_store(f, prompt):
    """The store cannot keep prompt's 1000x1000 jpg (its subdirectory a
    regular file). Returns the file: remove it and the store works."""
    canon = "promptpix-v1\n%s\n1000\n1000\njpg\n-\nfal-ai/flux/schnell" % prompt
    path = os.path.join(f.store, hashlib.sha256(canon.encode()).hexdigest()[:2])
    open(path, "w").close()
    return path


def test_store_failure_after_payment_fetches_again(env):
    prompt = "a store that failed"
    with falstub.FalStub(KEY) as stub, money_front(
            env, stub, overrides={("generation", "retry_backoff"): "0.3"}) as f:
        blocker = block_store(f, prompt)
        r = f.get(target(prompt))
        assert r.status == 502 and r.body == b"generation failed: store\n", r
        os.unlink(blocker)
        time.sleep(0.4)             # past the backoff
        r = f.get(target(prompt))
        assert r.status == 302, (r, f.log()[-3000:])
        assert stub.count("download", prompt) == 2
        assert_paid_once(f, stub, [prompt])


def test_new_row_is_not_claimed_before_its_cache_check(env):
    """An image whose status row a cleanup removed is answered from the
    image cache: a worker must not claim and pay for the new row while
    its request still looks in the cache (the look made slow here)."""
    proxy = DbProxy(env.db)
    with env.front(db=proxy, processes=1, threads=4,
                   overrides={("placeholder", "delay"): "0",
                              ("server", "hit_cache_entries"): 0}) as f:
        first = f.get(SUNSET)
        assert first.status == 302
        f.sql("DELETE FROM generation_status")
        proxy.delay("JOIN image_cache c ON c.prompt_hash = g.prompt_hash", 1.0)
        r = f.get(SUNSET)
        assert r.status == 302 and r.header("location") == first.header("location"), r
        assert f.sql("SELECT status, api_calls_made, cache_hits FROM generation_status") \
            == [["completed", "0", "1"]]
        assert f.log().count(" generating") == 1, f.log()
