"""Waiting without a thread: a request that waits for a generation is
parked on its image's flight and its thread goes back to take the next
connection. Parked requests get their own image, a client that hangs up
is let go at once, deadlines answer 504 while the threads serve others,
a thousand clients wait on a process of 8 threads, and SIGTERM answers
every parked request with exact counts."""

import re
import signal
import socket
import urllib.parse

from tests.e2e.test_e2e import SUNSET
from tests.lib import servers
from tests.lib.env import plain_pass_only
from tests.lib.swarm import Swarm


def target(prompt, size="256x256"):
    return "/%s.jpg?text=%s" % (size, urllib.parse.quote(prompt))


def wait_parked(f, n, timeout=60):
    """Until n clients of another's job are parked (promptpix_waiters)."""
    servers.wait_until(lambda: f.metric("promptpix_waiters") >= n, timeout,
                       "%d parked clients" % n)


def rollup_requests(f):
    return int(f.sql("SELECT COALESCE(SUM(requests), 0) FROM generation_rollup")[0][0])


def test_a_crowd_joins_a_wait_without_the_database(env):
    """Two clients wait for a slow image; fifty more for it arrive on
    the same process. They join the parked ones' wait without voting in
    the database: the row counts at most the first two until the counts
    are flushed, then 52, and every client gets the image."""
    f = env.front(processes=1, threads=4, overrides={
        ("placeholder", "delay"): "3",
        ("limits", "new_images_per_minute"): "0"}).start()
    try:
        url = target("a crowd at once")
        first = Swarm(f.port, [url], timeout=30).start()
        servers.wait_until(lambda: f.sql("SELECT status FROM generation_status") == [["generating"]],
                           10, "the first request's job running")
        # A second one, parked once the metric counts it (it voted,
        # unless the first was parked before it came).
        second = Swarm(f.port, [url], timeout=30).start()
        wait_parked(f, 1)
        crowd = Swarm(f.port, [url] * 50, timeout=30).start()
        wait_parked(f, 51)
        # A vote would have counted each at once.
        voted = int(f.sql("SELECT total_requests FROM generation_status")[0][0])
        assert voted <= 2, "%d requests voted" % voted
        for sw in (crowd, second, first):
            sw.join()
        assert crowd.statuses() == {302: 50}, crowd.statuses()
        assert first.statuses() == second.statuses() == {302: 1}
        f.flush()
        assert f.sql("SELECT total_requests, cache_hits FROM generation_status") == [["52", "0"]]
        assert rollup_requests(f) == 52
    finally:
        f.stop()


def test_parked_requests_get_their_own_images_and_a_hang_up_costs_nothing(env):
    """Ten clients wait for each of two images on a process of 2
    threads. An eleventh client of the first hangs up while it waits: it
    is let go then (outcome gone), long before its image is ready, and
    counted once. The others get their own image each."""
    f = env.front(processes=1, threads=2, overrides={
        ("placeholder", "delay"): "4",
        ("server", "max_wait"): "30",
        ("limits", "new_images_per_minute"): "0"}).start()
    try:
        a, b = "parked apple", "parked pear"
        sw = Swarm(f.port, [target(a)] * 10 + [target(b)] * 10, timeout=60, keep=True).start()
        wait_parked(f, 18)
        # The eleventh: its request reaches a responder, then it leaves.
        s = socket.create_connection(("127.0.0.1", f.port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % target(a)).encode())
        wait_parked(f, 19)
        s.close()
        servers.wait_until(lambda: "outcome=gone" in f.log(), 20, "the hang-up noticed")
        assert f.sql("SELECT COUNT(*) FROM generation_status WHERE status = 'completed'") == [["0"]], \
            "let go before any image landed"
        assert f.metric("promptpix_waiters") == 18
        sw.join()
        assert sw.statuses() == {302: 20}, sw.statuses()
        loc = [sw.header(i, "Location") for i in range(20)]
        files = dict(f.sql("SELECT prompt, file_name FROM generation_status"))
        assert all(x.endswith(files[a]) for x in loc[:10]), (loc[:10], files)
        assert all(x.endswith(files[b]) for x in loc[10:]), (loc[10:], files)
        assert files[a] != files[b]
        f.flush()
        assert dict(f.sql("SELECT prompt, total_requests FROM generation_status")) == {a: "11", b: "10"}
        assert rollup_requests(f) == 21
        gone = re.findall(r"outcome=gone status=(\d+)", f.log())
        assert gone == ["499"], gone
    finally:
        f.stop()


def test_deadline_answers_504_while_the_threads_serve_others(env):
    """Twelve clients wait on a slow image with 2 request threads. While
    they are parked, hits and pages are answered at once; at max_wait
    each parked client gets 504 with Retry-After, and its job runs on."""
    f = env.front(processes=1, threads=2, overrides={
        ("placeholder", "delay"): "6",
        ("server", "max_wait"): "2",
        ("limits", "new_images_per_minute"): "0"}).start()
    try:
        # The image the hits ask for: longer to make than max_wait.
        assert f.get(SUNSET).status == 504
        servers.wait_until(lambda: f.sql("SELECT status FROM generation_status")
                           == [["completed"]], 30, "the hits' image")
        sw = Swarm(f.port, [target("slow deadline")] * 12, timeout=30, keep=True).start()
        wait_parked(f, 11)
        for _ in range(20):
            assert f.get(SUNSET, timeout=5).status == 302
            assert f.get("/api/generation/stats", timeout=5).status == 200
        assert sw.answered == 0, "the hits came first"
        sw.join()
        assert sw.statuses() == {504: 12}, sw.statuses()
        assert all(sw.header(i, "Retry-After") == "5" for i in range(12))
        assert all(1900 <= ms <= 15000 for _, ms in sw.results), sw.results
        assert f.sql("SELECT status FROM generation_status WHERE prompt = 'slow deadline'") \
            in ([["pending"]], [["generating"]])
    finally:
        f.stop()


@plain_pass_only("a thousand clients through nginx: the sanitizer pass covers the same "
                 "paths with the smaller crowds above")
def test_a_thousand_waiting_clients_on_eight_threads(env):
    """1,000 clients wait at once on 50 new images (20 each) on one
    process of 8 request threads: all are answered 302 with their image,
    and the process never holds a thread per client."""
    f = env.front(processes=1, threads=8, nginx_worker_connections=8192, overrides={
        ("placeholder", "delay"): "1",
        ("server", "max_wait"): "60",
        ("limits", "new_images_per_minute"): "0"}).start()
    try:
        pid = f.pp.children()[0]
        prompts = ["crowd %d" % i for i in range(50)]
        sw = Swarm(f.port, [target(p) for _ in range(20) for p in prompts], timeout=120).start()
        peak = 0
        while sw.thread.is_alive():
            peak = max(peak, servers.threads_of(pid))
            sw.join(0.05)
        assert sw.statuses() == {302: 1000}, sw.statuses()
        assert peak < 64, peak
        f.flush()
        assert f.sql("SELECT COUNT(*), SUM(total_requests), SUM(api_calls_made)"
                     " FROM generation_status") == [["50", "1000", "50"]]
    finally:
        f.stop()


def test_sigterm_answers_every_parked_request(env):
    """Five clients wait on each of three images, one job at a time.
    SIGTERM: the running job is recorded and its clients get the image;
    the others get 503 with Retry-After (their jobs stay queued). Every
    request is counted once, in the rows and in the rollup."""
    f = env.front(processes=1, threads=2, overrides={
        ("placeholder", "delay"): "3",
        ("queue", "max_concurrent"): "1",
        ("server", "max_wait"): "60",
        ("limits", "new_images_per_minute"): "0"}).start()
    try:
        prompts = ["term one", "term two", "term three"]
        sw = Swarm(f.port, [target(p) for p in prompts for _ in range(5)],
                   timeout=60, keep=True).start()
        wait_parked(f, 12)
        servers.wait_until(lambda: f.sql("SELECT COUNT(*) FROM generation_status"
                                          " WHERE status = 'generating'") == [["1"]], 20,
                           "one job running")
        running = f.sql("SELECT prompt FROM generation_status WHERE status = 'generating'")[0][0]
        f.pp.proc.send_signal(signal.SIGTERM)
        assert f.pp.proc.wait(60) == 0
        sw.join()
        by = {}
        for i, p in enumerate(p for p in prompts for _ in range(5)):
            by.setdefault(p, []).append((sw.results[i][0], sw.header(i, "Retry-After")))
        for p, got in by.items():
            want = [(302, None)] * 5 if p == running else [(503, "5")] * 5
            assert got == want, (p, running, got)
        rows = dict((r[0], r[1:]) for r in f.sql(
            "SELECT prompt, status, total_requests FROM generation_status"))
        assert all(rows[p] == (["completed"] if p == running else ["pending"]) + ["5"]
                   for p in prompts), rows
        assert rollup_requests(f) == 15
        assert "unanswered" not in f.log() and "unrecorded" not in f.log()
    finally:
        f.stop()
