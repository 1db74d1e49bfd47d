"""[store] mode = s3 end to end: web hosts on one database keep their
images in a bucket of a real S3 server (OpenStack Swift with s3api,
tests/lib/swift.py, shared by the session: env.swift), and answer them
from it by redirect (to the bucket's public URL, or presigned) and
inline (from a local copy), with one paid call at fal's stand-in per
image whatever host asks, and the store's outages costing none."""

import hashlib
import os
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from tests.e2e.test_fal import KEY, fal_front
from tests.lib import falstub
from tests.lib.config import write_conf
from tests.lib.servers import wait_until

CACHE_CONTROL = "public, max-age=31536000, immutable"


def target(prompt, size="512x512", ext="jpg"):
    return "/%s.%s?text=%s" % (size, ext, urllib.parse.quote(prompt))


def file_of(prompt, size="512x512", ext="jpg", model="fal-ai/flux/schnell"):
    """The image's store name, "ab/<hash>.<ext>", as promptpix makes it."""
    w, h = size.split("x")
    canon = "promptpix-v1\n%s\n%s\n%s\n%s\n-\n%s" % (prompt, w, h, ext, model)
    digest = hashlib.sha256(canon.encode()).hexdigest()
    return "%s/%s.%s" % (digest[:2], digest, ext)


def s3_settings(swift, bucket, creds, **more):
    """The [store] settings of a host on swift's bucket: path-style (an
    address names the endpoint), keys under img/."""
    ov = {("store", "mode"): "s3",
          ("store", "s3_endpoint"): swift.endpoint,
          ("store", "s3_bucket"): bucket,
          ("store", "s3_region"): swift.region,
          ("store", "s3_path_style"): "true",
          ("store", "s3_credentials_file"): creds}
    ov.update({("store", k): v for k, v in more.items()})
    return ov


def creds_file(env, swift, secret=None):
    path = os.path.join(env.base, "s3-creds-%d" % time.monotonic_ns())
    return swift.credentials(path, secret)


def s3_front(env, stub, bucket, share_with=None, overrides=None, **store):
    """A fal front (the stand-in) keeping its images in bucket; with
    share_with, a second host on the same database with a directory of
    its own."""
    s = env.swift
    ov = s3_settings(s, bucket, creds_file(env, s), **store)
    ov.update(overrides or {})
    return fal_front(env, stub, overrides=ov, processes=1, share_with=share_with,
                     share_store=False)


def fetch(url, headers=None):
    """Plain HTTP from the bucket, no credentials: (status, headers, body)."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def copies(f):
    """The local copies in a front's [store] dir."""
    return sorted(os.path.relpath(os.path.join(d, n), f.store)
                  for d, _, names in os.walk(f.store) for n in names
                  if not n.startswith("."))


def test_s3_image_made_on_one_host_answered_by_another(env):
    """Host A makes the image (inline); host B, with an empty directory
    of its own, answers it by redirect to the bucket's public URL, and
    host C inline from the bucket: the same bytes, one paid call, one
    object with its type and an immutable Cache-Control."""
    s = env.swift
    bucket = s.new_bucket(public_read=True)
    prompt = "a lighthouse kept in a bucket"
    key = "img/" + file_of(prompt)
    with falstub.FalStub(KEY) as stub, \
            s3_front(env, stub, bucket, delivery="inline") as a, \
            s3_front(env, stub, bucket, share_with=a,
                     url=s.public_url(bucket, "")) as b, \
            s3_front(env, stub, bucket, share_with=a, delivery="inline") as c:
        made = a.get(target(prompt))
        assert made.status == 200 and made.header("content-type") == "image/jpeg", made
        assert made.body[:2] == b"\xff\xd8", made
        assert s.objects(bucket) == [key]
        # The hosts share the queue: any one's worker may have run the
        # job and kept the bytes. B's and C's directories are emptied,
        # so that their answers must come from the bucket.
        for f in (b, c):
            for n in copies(f):
                os.remove(os.path.join(f.store, n))
        # A keeps a copy of what it answered; B and C have nothing yet.
        assert copies(a) == [file_of(prompt)] and copies(b) == copies(c) == []

        r = b.get(target(prompt))
        assert r.status == 302, r
        assert r.header("location") == s.public_url(bucket, key), r
        status, headers, body = fetch(r.header("location"))
        assert status == 200 and body == made.body, status
        assert headers["Content-Type"] == "image/jpeg", headers
        assert headers["Cache-Control"] == CACHE_CONTROL, headers
        assert copies(b) == []

        r = c.get(target(prompt))
        assert r.status == 200 and r.body == made.body, r
        assert r.header("etag") == made.header("etag"), r
        assert copies(c) == [file_of(prompt)]
        # The same ETag answers 304, as on a local store.
        r = c.get(target(prompt), headers={"If-None-Match": made.header("etag")})
        assert r.status == 304 and r.body == b"", r
        assert stub.calls(prompt) == 1
        assert s.requests("PUT", "/%s/%s" % (bucket, key)) == 1


def puts(s, bucket, key, n):
    """Wait until the endpoint's log shows n PUTs of key (a line is
    written once the answer went out); the count then."""
    path = "/%s/%s" % (bucket, key)
    wait_until(lambda: s.requests("PUT", path) >= n, 10, "%d PUT of %s" % (n, key))
    return s.requests("PUT", path)


def test_s3_fifty_requests_on_two_hosts_one_object(env):
    """50 clients ask two hosts for one new image at once: one paid
    call, one object, one PUT, one redirect for everyone."""
    s = env.swift
    bucket = s.new_bucket(public_read=True)
    prompt = "fifty clients and one bucket"
    key = "img/" + file_of(prompt)
    url = s.public_url(bucket, "")
    with falstub.FalStub(KEY) as stub, \
            s3_front(env, stub, bucket, url=url) as a, \
            s3_front(env, stub, bucket, share_with=a, url=url) as b:
        stub.script(prompt, {"delay": 1.0})
        out = []
        ts = [threading.Thread(target=lambda f=f: out.append(f.get(target(prompt))))
              for f in (a, b) * 25]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert len(out) == 50 and {r.status for r in out} == {302}, out
        assert {r.header("location") for r in out} == {s.public_url(bucket, key)}
        assert stub.calls(prompt) == 1
        assert s.objects(bucket) == [key]
        assert puts(s, bucket, key, 1) == 1
        a.flush()
        b.flush()
        assert a.sql("SELECT total_requests, api_calls_made FROM generation_status") \
            == [["50", "1"]]


def self_check(env, conf, start=False):
    """promptpix -t on conf (or a start of the responder itself, with
    no socket: it checks first): (exit status, stderr)."""
    argv = [env.binary, "-c", conf] + ([] if start else ["-t"])
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stderr


def test_s3_self_check_refuses_a_wrong_secret_region_or_bucket(env):
    """The start-up self-check writes, reads and deletes a probe object:
    a wrong secret, region or bucket is refused with its one-line
    reason, by promptpix -t and by a responder's start, before anything
    is served or paid for; the secret is in no message."""
    s = env.swift
    bucket = s.new_bucket()
    wrong = "not-the-secret-4c1d"
    f = env.front()
    cases = [
        ({}, None),
        ({("store", "s3_credentials_file"): creds_file(env, s, wrong)},
         "HTTP 403: SignatureDoesNotMatch (the secret does not match the key id)"),
        ({("store", "s3_region"): "eu-west-1"},
         "HTTP 400: AuthorizationHeaderMalformed (wrong region)"),
        ({("store", "s3_bucket"): "no-such-bucket"}, "HTTP 404: NoSuchBucket"),
    ]
    for n, (change, reason) in enumerate(cases):
        ov = s3_settings(s, bucket, creds_file(env, s), url=s.public_url(bucket, ""))
        ov.update(change)
        ov[("database", "socket")] = env.db.socket
        ov[("database", "name")] = f.dbname
        conf = os.path.join(f.dir, "s3-%d.conf" % n)
        write_conf(conf, ov)
        for start in (False, True) if reason else (False,):
            rc, err = self_check(env, conf, start)
            assert wrong not in err and s.secret not in err, err
            if reason is None:
                assert "[store]" not in err, err
                continue
            lines = err.strip().split("\n")
            assert rc == 1 and len(lines) == 1, (change, err)
            assert lines[0].startswith("promptpix: %s: [store] s3_bucket " % conf), err
            assert reason in lines[0], (reason, err)
    assert s.objects(bucket) == [], "every probe object was deleted"


def test_s3_store_down_during_a_generation(env):
    """The bucket's endpoint is down while fal makes an image: the
    write is tried until the generation's deadline, then the clients get
    a clean 502 (kind store), with no second call. Once the store is
    back, a request after the backoff has the image: the retry follows
    the job fal made (downloads it again), and pays nothing."""
    s = env.swift
    bucket = s.new_bucket(public_read=True)
    prompt = "an image the store could not take"
    key = "img/" + file_of(prompt)
    with falstub.FalStub(KEY) as stub:
        f = s3_front(env, stub, bucket, url=s.public_url(bucket, ""),
                     overrides={("generation", "retry_backoff"): "1"})
        f.start()
        try:
            s.stop_proxy()
            t0 = time.monotonic()
            r = f.get(target(prompt))
            took = time.monotonic() - t0
            assert r.status == 502 and r.body == b"generation failed: store\n", r
            assert took < 15, took
            assert stub.calls(prompt) == 1 and stub.count("download", prompt) == 1
            assert "image store: write" in f.log(), f.log()[-2000:]
        finally:
            s.start_proxy()
        assert s.objects(bucket) == []
        wait_until(lambda: f.get(target(prompt)).status == 302, 20, "the image")
        assert stub.calls(prompt) == 1 and stub.billed(prompt) == 1
        assert stub.count("download", prompt) == 2
        assert s.objects(bucket) == [key]
        status, _, body = fetch(s.public_url(bucket, key))
        assert status == 200 and body[:2] == b"\xff\xd8", status
        assert f.sql("SELECT status, api_calls_made FROM generation_status") \
            == [["completed", "1"]]
        f.stop()


def amz(url, name):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)[name][0]


def test_s3_presigned_redirect(env):
    """[store] presign: a redirect to a presigned GET of a private
    bucket's object, the same URL within its window, the redirect cached
    no longer than the URL lives; the store refuses it tampered with,
    and once it has expired as set."""
    s = env.swift
    bucket = s.new_bucket()
    prompt = "a private bucket"
    key = "img/" + file_of(prompt)
    life = 4
    with falstub.FalStub(KEY) as stub, \
            s3_front(env, stub, bucket, presign=str(life)) as f:
        t0 = time.time()
        r = f.get(target(prompt))
        assert r.status == 302, r
        loc = r.header("location")
        assert loc.startswith("%s/%s/%s?" % (s.endpoint, bucket, key)), loc
        assert amz(loc, "X-Amz-Expires") == str(life), loc
        assert s.secret not in loc
        signed = time.mktime(time.strptime(amz(loc, "X-Amz-Date"), "%Y%m%dT%H%M%SZ")) \
            - time.timezone
        # Signed at the start of its window (half its life).
        assert signed % (life // 2) == 0 and signed <= time.time(), (signed, t0)
        age = int(r.header("cache-control").split("max-age=")[1])
        assert 0 < age <= life and age <= signed + life - t0 + 1, r.header("cache-control")

        status, headers, body = fetch(loc)
        assert status == 200 and body[:2] == b"\xff\xd8", status
        assert headers["Cache-Control"] == CACHE_CONTROL, headers
        # Within the window, the same URL again (a browser's cache hit).
        again = f.get(target(prompt)).header("location")
        assert again == loc or amz(again, "X-Amz-Date") != amz(loc, "X-Amz-Date"), again
        # Without its signature, or with another, the store refuses.
        status, _, _ = fetch("%s/%s/%s" % (s.endpoint, bucket, key))
        assert status in (400, 403), status
        sig = loc.index("X-Amz-Signature=") + len("X-Amz-Signature=")
        bad = loc[:sig] + ("0" if loc[sig] != "0" else "1") + loc[sig + 1:]
        status, _, err = fetch(bad)
        assert status == 403 and b"SignatureDoesNotMatch" in err, (status, err)
        # It expires as set: refused from signed + life on, not before.
        wait_until(lambda: fetch(loc)[0] == 403, life + 10, "the URL to expire")
        assert time.time() >= signed + life, (time.time(), signed)
        status, _, err = fetch(loc)
        assert status == 403 and b"AccessDenied" in err, (status, err)
        assert stub.calls(prompt) == 1


def test_s3_inline_through_nginx_and_apache(env):
    """Inline answers on two hosts, nginx (X-Accel-Redirect) and Apache
    (X-Sendfile), each with its own directory: each sends the bucket's
    object from its local copy, with the same ETag and 304."""
    from tests.lib import apache
    send = "x-sendfile" if apache.have_module("xsendfile") else "stream"
    s = env.swift
    bucket = s.new_bucket()
    prompt = "inline behind two web servers"
    with falstub.FalStub(KEY) as stub:
        ov = s3_settings(s, bucket, creds_file(env, s), delivery="inline",
                         inline_send="x-accel-redirect")
        n = fal_front(env, stub, overrides=ov, processes=1)
        ov = s3_settings(s, bucket, creds_file(env, s), delivery="inline",
                         inline_send=send)
        a = fal_front(env, stub, overrides=ov, processes=1, front="apache",
                      share_with=n, share_store=False)
        with n, a:
            made = a.get(target(prompt, "640x480", "png"))
            assert made.status == 200 and made.header("content-type") == "image/png", made
            assert made.body[:4] == b"\x89PNG", made
            # The hosts share the queue: either one's worker may have run
            # the job and kept the bytes. n's directory is emptied, so
            # that its answer must come from the bucket.
            for c in copies(n):
                os.remove(os.path.join(n.store, c))
            assert copies(a) == [file_of(prompt, "640x480", "png")] and copies(n) == []
            r = n.get(target(prompt, "640x480", "png"))
            assert r.status == 200 and r.body == made.body, r
            assert r.header("content-type") == "image/png", r
            assert "x-accel-redirect" not in r.headers, r.headers
            assert copies(n) == copies(a)
            for f in (n, a):
                r = f.get(target(prompt, "640x480", "png"),
                          headers={"If-None-Match": made.header("etag")})
                assert r.status == 304, (f.front, r)
            assert stub.calls(prompt) == 1


def test_s3_store_migrate(env):
    """promptpix store migrate copies a local store into the bucket,
    with its progress, each image once: a second run finds them there.
    A host on the bucket then answers them; the local files stay."""
    s = env.swift
    bucket = s.new_bucket()
    prompts = ["migrated %d" % i for i in range(3)]
    with env.front(processes=1, overrides={("placeholder", "delay"): "0"}) as old:
        made = {p: old.get(target(p)) for p in prompts}
        assert {r.status for r in made.values()} == {302}
    names = sorted(file_of(p, model="placeholder") for p in prompts)
    assert copies(old) == names
    ov = s3_settings(s, bucket, creds_file(env, s), delivery="inline")
    ov.update({("placeholder", "delay"): "0"})
    new = env.front(processes=1, share_with=old, overrides=ov)

    def migrate():
        p = subprocess.run([env.binary, "store", "migrate", "-c", new.conf],
                           capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout, p.stderr
    rc, out, err = migrate()
    assert rc == 0, (out, err)
    assert "store migrate: 3 images in %s: 3 copied, 0 there already, 0 failed" \
        % old.store in out, out
    # Not a terminal: plain lines, the last one at 100%.
    assert err.strip().split("\n")[-1].startswith(
        "store migrate: 100% 3/3 done, copied 3, there 0, failed 0"), err
    assert s.objects(bucket) == sorted("img/" + n for n in names)
    rc, out, err = migrate()
    assert rc == 0 and "0 copied, 3 there already, 0 failed" in out, (out, err)
    for n in names:
        assert puts(s, bucket, "img/" + n, 1) == 1
    # The local store's files stay what they were.
    assert copies(old) == names
    for n in names:
        assert os.stat(os.path.join(old.store, n)).st_mode & 0o777 == 0o644
    with new:
        for p in prompts:
            r = new.get(target(p))
            assert r.status == 200 and r.body[:2] == b"\xff\xd8", r
    # A configuration without a bucket has nothing to migrate into.
    p = subprocess.run([env.binary, "store", "migrate", "-c", old.conf],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "set mode = s3" in p.stderr, p.stderr
