"""Who may spend the operator's money: signed URLs and client keys.
The signer here is written from the README's description, apart from
the C one, so the two check each other."""

import base64
import hashlib
import hmac
import os
import subprocess
import threading
import time

from tests.lib import servers
from tests.lib.config import write_secret

MASTER = "test-master-secret-0123456789abcdef-5d1"     # grepped for in logs


def key_secret(kid):
    return hmac.new(MASTER.encode(), b"promptpix key " + kid.encode(),
                    hashlib.sha256).digest()


def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sign(target, kid=None, exp=None):
    """target ("/64x64.jpg?text=a") signed: exp and kid, then sig last."""
    if exp is not None:
        target += "&exp=%d" % exp
    if kid is not None:
        target += "&kid=" + kid
    path, query = target.split("?", 1)
    tag = hmac.new(key_secret(kid or "default"), (path + "?" + query).encode(),
                   hashlib.sha256).digest()[:16]
    return target + "&sig=" + b64(tag)


def bearer(kid):
    return "pp_%s_%s" % (kid, b64(key_secret(kid)))


def front(env, mode="signed", **kw):
    secret = os.path.join(env.base, "access-secret-%d" % id(kw))
    write_secret(secret, MASTER)
    ov = {("access", "mode"): mode, ("access", "secret_file"): secret,
          ("limits", "new_images_per_minute"): 0}
    ov.update(kw.pop("overrides", {}))
    return env.front(overrides=ov, **kw)


def add_key(f, kid, tier=1, enabled=1):
    f.sql("INSERT INTO client_keys (id, name, tier, enabled) VALUES ('%s', 'test %s', %d, %d)"
          % (kid, kid, tier, enabled))


def test_signed_mode_refuses_and_writes_nothing(env):
    with front(env) as f:
        add_key(f, "alice")
        add_key(f, "mallory", enabled=0)
        good = sign("/64x64.jpg?text=signed%20cat", "alice")
        sig = good.rsplit("=", 1)[1]
        flipped = sig[:-1] + ("A" if sig[-1] != "A" else "B")
        upper = good[:-len(sig)] + sig.swapcase()
        bad = {
            "unsigned": "/64x64.jpg?text=signed%20cat",
            "forged": good[:-len(sig)] + flipped,
            "truncated": good[:-1],
            "lengthened": good + "A",
            "case-changed": upper,
            "moved sig": "/64x64.jpg?sig=%s&text=signed%%20cat&kid=alice" % sig,
            "duplicated sig": good + "&sig=" + sig,
            "appended after sig": good + "&seed=1",
            "expired": sign("/64x64.jpg?text=signed%20cat", "alice", exp=int(time.time()) - 5),
            "unknown kid": sign("/64x64.jpg?text=signed%20cat", "nobody"),
            "disabled kid": sign("/64x64.jpg?text=signed%20cat", "mallory"),
            "another key's signature": good.replace("kid=alice", "kid=bob"),
            "other path": good.replace("/64x64.jpg", "/64x64.png"),
            "kid without sig": "/64x64.jpg?text=signed%20cat&kid=alice",
        }
        for what, target in bad.items():
            r = f.get(target)
            assert r.status in (401, 403), (what, r)
            assert r.body.endswith(b"\n") and b"\n" not in r.body[:-1], (what, r.body)
        r = f.get("/64x64.jpg?text=signed%20cat", headers={"Authorization": "Bearer pp_alice_nope"})
        assert r.status == 401, r
        assert f.rows() == 0, f.sql("SELECT prompt FROM generation_status")
        # A valid URL generates, and the next request for it is a hit.
        r = f.get(good)
        assert r.status == 302, r
        r2 = f.get(good)
        assert r2.status == 302 and r2.header("location") == r.header("location")
        assert "outcome=hit" in f.log()
        # The same image whoever signed it, and behind a bearer key.
        other = sign("/64x64.jpg?text=signed%20cat", exp=int(time.time()) + 600)
        assert f.get(other).header("location") == r.header("location")
        r3 = f.get("/64x64.jpg?text=signed%20cat", headers={"Authorization": "Bearer " + bearer("alice")})
        assert r3.status == 302 and r3.header("location") == r.header("location"), r3
        f.flush()
        assert f.sql("SELECT total_requests, api_calls_made, client_key FROM generation_status") == \
            [["4", "1", "alice"]]
        assert f.sql("SELECT last_used_at IS NOT NULL FROM client_keys WHERE id = 'alice'") == [["1"]]
        # The master secret and the keys are in no log line and no row.
        log = f.log()
        for secret in (MASTER, b64(key_secret("alice")), b64(key_secret("default"))):
            assert secret not in log
            assert f.sql("SELECT COUNT(*) FROM generation_status WHERE prompt LIKE '%%%s%%'"
                         " OR error_message LIKE '%%%s%%'" % (secret, secret)) == [["0"]]


def test_open_mode_takes_keys_tiers(env):
    # The blocker runs long enough for everyone to queue behind it.
    with front(env, mode="open", processes=2, threads=16,
               overrides={("placeholder", "delay"): "1.5",
                          ("queue", "max_concurrent"): "1"}) as f:
        add_key(f, "gold", tier=0)
        # Unsigned requests still work in open mode, as standard.
        blocker = threading.Thread(target=lambda: f.get("/64x64.jpg?text=blocker"))
        blocker.start()
        servers.wait_until(lambda: f.sql("SELECT status FROM generation_status") == [["generating"]],
                           5, "blocker running")
        ts = [threading.Thread(target=lambda i=i: f.get("/64x64.jpg?text=standard%%20%d" % i))
              for i in range(3)]
        for t in ts:
            t.start()
            time.sleep(0.05)    # arrival order, not a wait for an event
        servers.wait_until(lambda: int(f.sql("SELECT COUNT(*) FROM generation_status")[0][0]) == 4,
                           5, "standard queued")
        premium = threading.Thread(target=lambda: setattr(
            premium, "r", f.get(sign("/64x64.jpg?text=premium", "gold"))))
        premium.start()
        for t in ts + [blocker, premium]:
            t.join()
        assert premium.r.status == 302, premium.r
        order = [p for (p,) in f.sql("SELECT prompt FROM generation_status ORDER BY started_at, id")]
        assert order[:2] == ["blocker", "premium"], order
        assert f.sql("SELECT queue_class, client_key FROM generation_status WHERE prompt = 'premium'") \
            == [["0", "gold"]]
        # A bad signature is refused in open mode too.
        assert f.get(sign("/64x64.jpg?text=x", "gold")[:-2] + "AA").status == 403


def test_signed_mode_needs_a_secret(env):
    bad = os.path.join(env.base, "no-secret.conf")
    with open(bad, "w") as fh:
        fh.write("[access]\nmode = signed\n")
    p = subprocess.run([env.binary, "-t", "-c", bad], capture_output=True, text=True)
    assert p.returncode != 0 and "[access] mode = signed needs secret_file" in p.stderr, p.stderr


def cli(env, f, *args):
    """Run `promptpix ARGS... -c <the front's config>`."""
    e = dict(os.environ, PROMPTPIX_DB_PASSWORD=servers.DB_PASSWORD)
    return subprocess.run([env.binary, *args, "-c", f.conf], capture_output=True,
                          text=True, env=e, timeout=30)


def test_key_and_sign_commands(env):
    with front(env) as f:
        p = cli(env, f, "key", "add", "Ada's world", "--tier", "premium",
                "--daily-images", "50")
        assert p.returncode == 0, p.stderr
        kid = p.stdout.split()[1]
        tok = p.stdout.splitlines()[2]
        assert tok == bearer(kid), (tok, p.stdout)
        assert f.sql("SELECT name, tier, daily_images, daily_usd, enabled FROM client_keys") == \
            [["Ada's world", "0", "50", None, "1"]]
        listed = cli(env, f, "key", "list")
        assert listed.returncode == 0 and kid in listed.stdout and "premium" in listed.stdout
        assert tok not in listed.stdout
        # Signed by the command, checked by the responder (and by the
        # signer here, written apart from it).
        p = cli(env, f, "sign", "--key", kid, "http://example.org/64x64.png?text=from%20the%20cli",
                "/64x64.jpg?text=second")
        assert p.returncode == 0, p.stderr
        urls = p.stdout.split()
        assert urls[0] == "http://example.org" + sign("/64x64.png?text=from%20the%20cli", kid)
        assert urls[1] == sign("/64x64.jpg?text=second", kid)
        assert f.get(urls[0][len("http://example.org"):]).status == 302
        assert f.get(urls[1]).status == 302
        assert f.sql("SELECT DISTINCT queue_class, client_key FROM generation_status") == [["0", kid]]
        # The default key, with an expiry.
        p = cli(env, f, "sign", "--expires", "600", "/64x64.jpg?text=default%20key")
        assert p.returncode == 0 and "&exp=" in p.stdout and "kid=" not in p.stdout, p.stdout
        assert f.get(p.stdout.strip()).status == 302
        # Bad input: clear errors, non-zero, nothing written.
        rows = f.rows()
        for args in (["sign", "/64x64.jpg?text=a&sig=AAAAAAAAAAAAAAAAAAAAAA"],
                     ["sign", "/64x64.gif?text=a"], ["sign", "--key", "nobody", "/64x64.jpg?text=a"],
                     ["key", "add", "x", "--tier", "gold"], ["key", "disable", "nobody"],
                     ["nosuch"]):
            p = cli(env, f, *args)
            assert p.returncode != 0 and p.stderr.startswith("promptpix: "), (args, p)
            assert len(p.stderr.strip().splitlines()) == 1, (args, p.stderr)
        assert f.rows() == rows
        # Disabled: its links stop working (after the key cache's 10 s at
        # most; a fresh front has no cache).
        assert cli(env, f, "key", "disable", kid).returncode == 0
        assert f.sql("SELECT enabled FROM client_keys") == [["0"]]
        assert MASTER not in f.log()
        assert tok not in f.log()
    with front(env, share_with=f) as g:
        assert g.get(urls[1]).status == 403
