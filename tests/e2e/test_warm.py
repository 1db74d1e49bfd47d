"""promptpix warm: a world's list generated before players come, elected
as requests are (one paid call per image, whoever asks first), in the
batch class below every live request, counted apart from players."""

import json
import os
import signal
import subprocess
import threading
import urllib.parse

from tests.lib import falstub, servers
from tests.lib.httpclient import fire
from tests.e2e.test_access import MASTER, front as signed_front, sign
from tests.e2e.test_fal import KEY, fal_front

PRICE = 0.003


def q(text):
    return urllib.parse.quote(text)


def cli_env():
    return dict(os.environ, PROMPTPIX_DB_PASSWORD=servers.DB_PASSWORD, FAL_KEY=KEY)


def warm(f, *args, stdin=None):
    """Run `promptpix warm ARGS... -c <the front's config>` to its end."""
    return subprocess.run([f.env.binary, "warm", *args, "-c", f.conf], input=stdin,
                          capture_output=True, text=True, env=cli_env(), timeout=120)


def warm_bg(f, *args):
    """Start `promptpix warm ARGS...` and leave it running."""
    return subprocess.Popen([f.env.binary, "warm", *args, "-c", f.conf],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli_env())


def write_list(f, name, lines):
    path = os.path.join(f.dir, name)
    with open(path, "w") as fh:
        fh.write("".join(line + "\n" for line in lines))
    return path


def results(out):
    """The command's stdout as (status, final URL, image URL) triples."""
    return [tuple(line.split("\t")) for line in out.splitlines()]


def unfinished(f):
    return int(f.sql("SELECT COUNT(*) FROM generation_status"
                     " WHERE status IN ('pending', 'generating')")[0][0])


def test_fifty_lines_five_repeated_three_existing(env):
    with falstub.FalStub(KEY) as stub, fal_front(env, stub, processes=2, threads=8) as f:
        prompts = ["world image %d" % i for i in range(45)]
        targets = ["/%dx%d.jpg?text=%s" % (64 + 32 * (i % 3), 64, q(p))
                   for i, p in enumerate(prompts)]
        # Three were generated already, by players.
        for t in targets[:3]:
            assert f.get(t).status == 302
        assert stub.count("call") == 3
        # Five lines repeat an image of the list, one in absolute form.
        lines = targets + targets[10:14] + ["http://world.example" + targets[20]]
        assert len(lines) == 50
        path = write_list(f, "world.txt", lines)
        p = warm(f, "--wait", path)
        assert p.returncode == 0, (p.stdout, p.stderr)
        # 42 paid calls for the 42 new images, none for a repeat or an
        # existing one; one output line per input line, in order.
        assert stub.count("call") == 45, stub.count("call")
        assert all(stub.calls(pr) == 1 for pr in prompts)
        got = results(p.stdout)
        assert [g[1] for g in got] == lines, got
        assert [g[0] for g in got[:3]] == ["exists"] * 3, got[:3]
        assert [g[0] for g in got[3:]] == ["ok"] * 47, got
        # The image column is the public image, served by the front.
        assert got[49][2].startswith("http://world.example/img/"), got[49]
        assert got[20][2] == got[49][2][len("http://world.example"):]
        r = f.get(got[5][2])
        assert r.status == 200 and r.body[:2] == b"\xff\xd8", r
        # fal saw the batch class as low priority.
        assert stub.headers(prompts[30]).get("x-fal-queue-priority") == "low"
        # Warm-ups are no player's requests: total_requests stays the
        # players' 3, warm_requests counts the 45 images warmed.
        assert f.sql("SELECT SUM(total_requests), SUM(warm_requests),"
                     " SUM(api_calls_made), COUNT(*) FROM generation_status") == \
            [["3", "45", "45", "45"]]
        assert f.sql("SELECT DISTINCT queue_class FROM generation_status"
                     " WHERE total_requests = 0") == [["2"]]
        st = json.loads(f.get("/api/generation/stats").body)["stats"]
        assert st["today"]["total_requests"] == 3, st["today"]
        assert st["today"]["warm_requests"] == 45 and st["today"]["warmed_images"] == 45, \
            st["today"]
        assert st["all_time"]["warm_requests"] == 45
        # A player who comes later gets the warmed image: no call.
        assert f.get(targets[40]).status == 302
        assert stub.count("call") == 45
        # Run again: everything exists, nothing is paid.
        again = warm(f, "--wait", path)
        assert again.returncode == 0, again.stderr
        assert [g[0] for g in results(again.stdout)] == ["exists"] * 50
        assert stub.count("call") == 45


def test_live_request_goes_before_the_warm_up(env):
    with falstub.FalStub(KEY) as stub:
        prompts = ["batch %d" % i for i in range(20)]
        for pr in prompts:
            stub.script(pr, {"delay": 0.4})
        # The first runs long enough for the player's request to come in
        # while it runs, however slowly the warm command returns.
        stub.script(prompts[0], {"delay": 5})
        ov = {("fal", "mode"): "sync", ("queue", "max_concurrent"): "1",
              ("fal", "request_timeout"): "8", ("generation", "timeout"): "10"}
        with fal_front(env, stub, processes=2, threads=16, overrides=ov) as f:
            path = write_list(f, "batch.txt", ["/64x64.jpg?text=" + q(pr) for pr in prompts])
            p = warm(f, path)
            assert p.returncode == 0, p.stderr
            got = [g[0] for g in results(p.stdout)]
            assert len(got) == 20 and set(got) <= {"queued", "running"}, got
            assert "promptpix warm --wait" in p.stderr, p.stderr
            servers.wait_until(lambda: len(stub.started) >= 1, 10, "the first warm job")
            r = f.get("/64x64.jpg?text=" + q("a player"))
            assert r.status == 302
            # The player's image was the next one the cap let through:
            # the warm-up's remaining jobs waited behind it.
            assert stub.started[:2] == [prompts[0], "a player"], stub.started
            assert unfinished(f) >= 10, unfinished(f)
            assert stub.max_running == 1
            servers.wait_until(lambda: unfinished(f) == 0, 60, "the warm-up")
            assert stub.started[2:] == prompts[1:], stub.started
            assert stub.count("run") == 21


def test_warm_and_live_at_once_pay_once(env):
    with falstub.FalStub(KEY) as stub, fal_front(env, stub, processes=2, threads=32) as f:
        prompts = ["at once %d" % i for i in range(10)]
        for pr in prompts:
            stub.script(pr, {"delay": 0.5})
        targets = ["/64x64.jpg?text=" + q(pr) for pr in prompts]
        path = write_list(f, "once.txt", targets)
        live = []
        proc = warm_bg(f, "--wait", path)
        t = threading.Thread(target=lambda: live.extend(fire(f, targets * 3)))
        t.start()
        out, err = proc.communicate(timeout=120)
        t.join()
        assert proc.returncode == 0, err
        assert [r.status for r in live] == [302] * 30, live
        assert set(g[0] for g in results(out)) <= {"ok", "exists"}
        # One paid call per image, whoever elected it.
        assert [stub.calls(pr) for pr in prompts] == [1] * 10
        assert f.sql("SELECT SUM(total_requests), SUM(warm_requests), SUM(api_calls_made)"
                     " FROM generation_status") == [["30", "10", "10"]]


def test_a_bad_line_queues_nothing(env):
    with env.front(processes=1, threads=4) as f:
        lines = ["/64x64.jpg?text=good%%20%d" % i for i in range(10)]
        lines.insert(6, "/64x64.gif?text=not%20an%20image")
        lines.insert(9, "/64x64.jpg?text=two words")
        path = write_list(f, "bad.txt", lines)
        p = warm(f, "--wait", path)
        assert p.returncode == 2, p
        assert "bad.txt:7: " in p.stderr and "bad.txt:10: " in p.stderr, p.stderr
        assert "nothing queued" in p.stderr and p.stdout == ""
        assert f.rows() == 0
        # From standard input, the same.
        p = warm(f, "-", stdin="".join(line + "\n" for line in lines))
        assert p.returncode == 2 and "stdin:7: " in p.stderr, p.stderr
        assert f.rows() == 0
        # Usage errors, and --sign without a secret: nothing either.
        for args in (["--wait"], ["--key", "k1", path], ["--bogus", path],
                     [os.path.join(f.dir, "missing.txt")]):
            p = warm(f, *args)
            assert p.returncode != 0 and p.stderr.startswith("promptpix: "), (args, p)
        assert f.rows() == 0
        # --skip-bad: the good lines are queued, the bad ones reported.
        p = warm(f, "--skip-bad", "--wait", path)
        assert p.returncode == 1, p
        got = results(p.stdout)
        assert len(got) == 12 and got[6][0] == "failed bad_line" and got[9][0] == "failed bad_line"
        assert [g[0] for i, g in enumerate(got) if i not in (6, 9)] == ["ok"] * 10, got
        assert f.rows() == 10


def test_dry_run_writes_nothing_and_prices_the_new_images(env):
    with env.front(processes=1, threads=4,
                   overrides={("budget", "daily_usd"): "0.01"}) as f:
        sizes = [(64, 64), (512, 512), (1024, 768), (1000, 1000), (2048, 2048), (96, 128)]
        lines = ["/%dx%d.png?text=dry%%20%d" % (w, h, i) for i, (w, h) in enumerate(sizes)]
        assert f.get(lines[0]).status == 302         # exists: not priced
        lines.append(lines[3])                       # a repeat: priced once
        path = write_list(f, "dry.txt", lines)

        def snapshot():
            return (f.sql("SELECT prompt_hash, status, total_requests, warm_requests,"
                          " reserved_usd FROM generation_status ORDER BY prompt_hash"),
                    f.sql("SELECT * FROM budget_days"))
        before = snapshot()
        p = warm(f, "--dry-run", path)
        assert p.returncode == 0, p.stderr
        assert snapshot() == before
        out = dict(line.split(": ", 1) for line in p.stdout.splitlines())
        assert out["lines"] == "7" and out["distinct images"] == "6", out
        assert out["new"] == "5" and out["exists"] == "1", out
        assert out["failed"].startswith("0") and out["in progress"] == "0", out
        pixels = sum(w * h for w, h in sizes[1:])
        assert out["megapixels"] == "%.6f" % (pixels / 1e6), out
        assert out["estimated cost"].startswith("$%.6f " % (pixels / 1e6 * PRICE)), out
        # The budget (one cent a day) cannot pay for them: said before.
        assert "warning:" in p.stderr and "budget" in p.stderr, p.stderr
        # Run for real: what the budget holds is made, the rest refused.
        p = warm(f, "--wait", path)
        assert p.returncode == 1, p
        got = [g[0] for g in results(p.stdout)]
        assert got[0] == "exists" and "failed budget" in got, got
        spent = f.sql("SELECT spent_usd + reserved_usd FROM budget_days")[0][0]
        assert float(spent) <= 0.01, spent


def test_interrupted_then_run_again_pays_nothing_twice(env):
    with falstub.FalStub(KEY) as stub:
        prompts = ["resume %d" % i for i in range(12)]
        for pr in prompts:
            stub.script(pr, {"delay": 0.3})
        ov = {("queue", "max_concurrent"): "1"}
        with fal_front(env, stub, processes=2, threads=8, overrides=ov) as f:
            path = write_list(f, "resume.txt", ["/64x64.jpg?text=" + q(pr) for pr in prompts])
            proc = warm_bg(f, "--wait", path)
            servers.wait_until(lambda: stub.count("call") >= 3, 30, "three calls")
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
            assert proc.returncode == 130, (out, err)
            assert "run the same command again" in err, err
            first = results(out)
            assert len(first) == 12 and "queued" in [g[0] for g in first], first
            # The jobs were left to the responders, not cancelled.
            assert unfinished(f) > 0
            p = warm(f, "--wait", path)
            assert p.returncode == 0, p.stderr
            again = [g[0] for g in results(p.stdout)]
            assert set(again) <= {"ok", "exists"} and "exists" in again, again
            assert [stub.calls(pr) for pr in prompts] == [1] * 12
            assert f.sql("SELECT SUM(api_calls_made), SUM(attempts) FROM generation_status") == \
                [["12", "12"]]
            # Plain progress lines on a pipe: one per 10 %, and the last.
            assert "warm: 100% 12/12 done" in p.stderr, p.stderr
            assert "\r" not in p.stderr


def test_sign_prints_what_promptpix_sign_does(env):
    with signed_front(env, processes=1, threads=4) as f:
        f.sql("INSERT INTO client_keys (id, name, tier) VALUES ('k1', 'world', 0)")
        lines = ["/64x64.jpg?text=signed%%20%d" % i for i in range(3)]
        lines.append("https://pix.example.org/64x64.jpg?text=signed%200")
        path = write_list(f, "signed.txt", lines)
        p = warm(f, "--sign", "--key", "k1", "--wait", path)
        assert p.returncode == 0, p.stderr
        got = results(p.stdout)
        sign_cli = subprocess.run([f.env.binary, "sign", "--key", "k1", *lines, "-c", f.conf],
                                  capture_output=True, text=True, env=cli_env())
        assert [g[1] for g in got] == sign_cli.stdout.split(), (got, sign_cli)
        assert got[0][1] == sign(lines[0], "k1")
        # The links work for players; the images exist already.
        assert f.get(got[1][1]).status == 302
        assert f.sql("SELECT COUNT(*), SUM(api_calls_made) FROM generation_status") == [["3", "3"]]
        # Warm-ups with a key count on the key's day, in the batch class.
        assert f.sql("SELECT DISTINCT queue_class, client_key FROM generation_status") == \
            [["2", "k1"]]
        assert MASTER not in p.stdout + p.stderr
        # Unsigned lines on a signed host: warmed, with a warning.
        p = warm(f, path)
        assert p.returncode == 0 and "warning: 4 lines are not signed" in p.stderr, p
        assert [g[0] for g in results(p.stdout)] == ["exists"] * 4
        # Lines signed already are warmed as they are; no warning.
        p = warm(f, write_list(f, "signed-already.txt", [got[0][1]]))
        assert p.returncode == 0 and "warning" not in p.stderr, p
        assert results(p.stdout) == [("exists", got[0][1], got[0][2])]
        # A key's quota: told before, and the images past it refused.
        f.sql("INSERT INTO client_keys (id, name, tier, daily_images) VALUES ('few', 'few', 1, 2)")
        p = warm(f, "--sign", "--key", "few", "--wait",
                 write_list(f, "few.txt", ["/64x64.jpg?text=few%%20%d" % i for i in range(3)]))
        assert p.returncode == 1 and "warning: key few has 2 images" in p.stderr, p
        assert sorted(g[0] for g in results(p.stdout)) == ["failed key_quota", "ok", "ok"], p.stdout
        assert f.sql("SELECT images FROM key_days WHERE key_id = 'few'") == [["2"]]
        # Lines that are signed already cannot be signed again.
        p = warm(f, "--sign", write_list(f, "twice.txt", [got[0][1]]))
        assert p.returncode == 2 and "twice.txt:1: already signed" in p.stderr, p.stderr


def test_progress_bar_on_a_terminal(env):
    import pty
    with env.front(processes=1, threads=4, overrides={("placeholder", "delay"): "0.1"}) as f:
        path = write_list(f, "tty.txt", ["/64x64.jpg?text=tty%%20%d" % i for i in range(5)])
        master, slave = pty.openpty()
        proc = subprocess.Popen([f.env.binary, "warm", "--wait", path, "-c", f.conf],
                                stdout=subprocess.PIPE, stderr=slave, text=True, env=cli_env())
        os.close(slave)
        out, _ = proc.communicate(timeout=60)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:         # the terminal's last writer is gone
                break
            if not chunk:
                break
            seen += chunk
        os.close(master)
        assert proc.returncode == 0, seen
        assert [g[0] for g in results(out)] == ["ok"] * 5, out
        # Redrawn in place: "\r", the bar, clear to the end of the line.
        assert b"\r[" in seen and b"\x1b[K" in seen and b" 5/5 failed 0 " in seen, seen
        assert b"warm: " not in seen, seen
