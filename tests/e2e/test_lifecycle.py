"""How the responders start and stop: SIGTERM during traffic cuts no
request and loses no count; a SIGUSR1 passed on to a child just forked
does not kill it; secrets leave the environment once read; a read-only
database server is refused at start-up."""

import os
import signal
import subprocess
import threading
import time

from tests.e2e.test_e2e import SUNSET
from tests.lib import servers

KEY = "fal-env-key-71c3e0:5b9d"     # looked for in /proc/PID/environ


def test_sigterm_during_traffic_cuts_nothing_and_loses_no_count(env):
    """16 clients ask for a hit and for new images in turn while the
    supervisor gets SIGTERM. Every client gets a whole HTTP answer: 302
    from promptpix; 503 with Retry-After for a new image whose job had
    not started (it stays queued for the next process); or nginx's 502
    once nobody listens (requests that never reached a responder). Every
    request promptpix counted was answered, and every one answered was
    counted: the hits are flushed at exit, the running generations are
    recorded before the process leaves, and nothing failed."""
    f = env.front(processes=2, threads=8, overrides={
        ("server", "count_flush_interval"): "30",    # only the exit flush
        ("server", "max_wait"): "20",
        ("placeholder", "delay"): "0.2",
        ("limits", "new_images_per_minute"): "0"})
    f.start()
    results = []
    lock = threading.Lock()
    stop = threading.Event()
    try:
        assert f.get(SUNSET).status == 302

        def client(i):
            n = 0
            while not stop.is_set():
                n += 1
                t = SUNSET if n % 2 else "/256x256.jpg?text=term%%20%d%%20%d" % (i, n)
                t0 = time.monotonic()
                try:
                    r = f.get(t, timeout=90)
                    got = (t, t0, r.status, r.body, r.header("Retry-After"))
                except Exception as e:      # a reset, a cut answer
                    got = (t, t0, None, repr(e), None)
                with lock:
                    results.append(got)

        ts = [threading.Thread(target=client, args=(i,)) for i in range(16)]
        for t in ts:
            t.start()
        time.sleep(1.5)
        t_term = time.monotonic()
        f.pp.proc.send_signal(signal.SIGTERM)
        assert f.pp.proc.wait(60) == 0
        time.sleep(0.3)
        stop.set()
        for t in ts:
            t.join()
    finally:
        stop.set()
        f.stop()
    cut = [r for r in results if r[2] is None]
    assert not cut, cut[:5]
    stopped = [r for r in results if r[2] == 503]
    assert all(r[0] != SUNSET and r[3] == b"server restarting; retry shortly\n" and r[4] == "5"
               for r in stopped), stopped[:5]
    ours = [r for r in results if r[2] == 302] + stopped
    other = [r for r in results if r[2] not in (302, 503)]
    # Only nginx's own 502 when no responder is left: never ours.
    assert all(r[2] == 502 and b"generation failed" not in r[3] for r in other), other[:5]
    new = [r for r in ours if r[0] != SUNSET]
    assert len(new) > 20 and len(ours) - len(new) > 20, (len(ours), len(new))
    # Requests in flight at the signal were answered.
    assert any(r[1] < t_term and r[1] > t_term - 1 for r in new)
    total = int(f.sql("SELECT SUM(total_requests) FROM generation_status")[0][0])
    assert total == 1 + len(ours), (total, len(ours), len(other))
    # A job cut off would be paid again: each one that started ended.
    assert f.sql("SELECT COUNT(*) FROM generation_status WHERE status NOT IN"
                 " ('completed', 'pending')") == [["0"]]
    assert "unanswered" not in f.log() and "unrecorded" not in f.log()


def test_sigusr1_right_after_fork_does_not_kill_the_child(env):
    """A child is killed; while the supervisor forks its replacement,
    SIGUSR1 (flush the counts) keeps coming and is passed on to every
    child, the new one included. It must flush, not die."""
    with env.front(processes=2, threads=2) as f:
        sup = f.pp.proc.pid
        servers.wait_until(lambda: len(f.pp.children()) == 2, 5, "two children")
        for _ in range(10):
            kids = f.pp.children()
            assert len(kids) == 2, kids
            os.kill(kids[0], signal.SIGKILL)
            end = time.monotonic() + 0.4    # the replacement comes after 0.1 s
            while time.monotonic() < end:
                os.kill(sup, signal.SIGUSR1)
                time.sleep(0.0005)
            servers.wait_until(lambda: len(f.pp.children()) == 2
                               and kids[0] not in f.pp.children(), 5, "a replacement")
        time.sleep(0.5)
        log = f.log()
        assert "(signal 10)" not in log, log[-3000:]
        assert log.count("ended (signal 9)") == 10, log[-3000:]
        assert len(f.pp.children()) == 2
        for pid in f.pp.children():
            os.kill(pid, 0)
        assert f.get("/64x64.jpg?text=still%20serving").status == 302


def test_secrets_leave_the_environment(env):
    """The password and the fal key were in the responders' environment
    at start-up; /proc/PID/environ (readable by the service's user, so
    by any PHP of the same web server) shows none of them."""
    with env.front(processes=2, env_extra={
            "FAL_KEY": KEY, "FAL_KEY_ID": "fal-id-3e9", "FAL_KEY_SECRET": "fal-secret-8a1",
            "PROMPTPIX_KEEP_ME": "visible"}) as f:
        assert f.get("/64x64.jpg?text=env").status == 302     # the password was read
        servers.wait_until(lambda: len(f.pp.children()) == 2, 5, "two children")
        pids = [f.pp.proc.pid] + f.pp.children()
        for pid in pids:
            with open("/proc/%d/environ" % pid, "rb") as fh:
                environ = fh.read()
            assert b"PROMPTPIX_KEEP_ME=visible" in environ, pid    # the test can see
            for secret in (servers.DB_PASSWORD, KEY, "fal-id-3e9", "fal-secret-8a1"):
                assert secret.encode() not in environ, (pid, secret)


def test_read_only_server_refused_at_start(env):
    """A responder pointed at a read-only server (a replica) exits at
    once with a one-line reason; the same config starts once the
    server is writable."""
    f = env.front(processes=2)
    grants = " ".join(r[0] for r in env.db.query("SHOW GRANTS FOR 'promptpix'@'localhost'"))
    # The test means something only if the user cannot write past read_only.
    assert "SUPER" not in grants and "READ ONLY ADMIN" not in grants, grants
    env.db.query("SET GLOBAL read_only = 1")
    try:
        pe = dict(os.environ, PROMPTPIX_DB_PASSWORD=servers.DB_PASSWORD)
        t0 = time.monotonic()
        out = subprocess.run(["spawn-fcgi", "-n", "-s", f.pp.socket, "--", env.binary,
                              "-c", f.conf], env=pe, capture_output=True, text=True,
                             timeout=30)
        took = time.monotonic() - t0
    finally:
        env.db.query("SET GLOBAL read_only = 0")
    assert out.returncode == 1, (out.returncode, out.stderr)
    lines = [l for l in out.stderr.splitlines() if l.startswith("promptpix: ")]
    assert len(lines) == 1 and "read-only" in lines[0] and "@@read_only = 1" in lines[0], out.stderr
    assert took < 10, took
    with f:
        assert f.get("/64x64.jpg?text=writable").status == 302
