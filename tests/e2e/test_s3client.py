"""The S3 client (fcgi/backend/s3.c) against a real S3 server: OpenStack
Swift with s3api (tests/lib/swift.py), driven through build/s3cli, a
test helper that makes one client call per run. The tests share the
session's Swift (env.swift), each in buckets of its own."""

import hashlib
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

from tests.lib.config import write_secret

WRONG_SECRET = "not-the-secret-5e1d"


class Client:
    """build/s3cli on one Swift, bucket and credentials file."""

    def __init__(self, env, swift, bucket, region=None, key_id=None,
                 secret=None, endpoint=None):
        self.exe = os.path.join(env.build, "s3cli")
        self.dir = swift.dir
        self.secret = secret or swift.secret
        creds = os.path.join(swift.dir, "creds-%d" % id(self))
        write_secret(creds, "[default]\naws_access_key_id = %s\n"
                     "aws_secret_access_key = %s" % (key_id or swift.access_key,
                                                      self.secret))
        self.env = dict(os.environ, S3_ENDPOINT=endpoint or swift.endpoint,
                        S3_BUCKET=bucket, S3_REGION=region or swift.region,
                        S3_CREDENTIALS=creds)

    def run(self, *args, data=None, env=None):
        """One call: its name=value lines as a dict, "exit" its status."""
        p = subprocess.run([self.exe] + list(args), input=data,
                           capture_output=True, env=dict(self.env, **(env or {})),
                           timeout=60)
        out = p.stdout.decode()
        assert self.secret not in out and self.secret not in p.stderr.decode(), out
        res = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        res["exit"] = p.returncode
        return res

    def get(self, key, *etag, stream=False, max=None):
        """GET key into a file: (result, bytes or None)."""
        path = os.path.join(self.dir, "got")
        r = self.run("stream" if stream else "get", key, path, *etag,
                     env={"S3_MAX": str(max)} if max else None)
        body = open(path, "rb").read() if r["rc"] == "ok" else None
        return r, body


def test_s3_put_head_get_delete(env):
    # A PNG's first bytes, a NUL and every byte value: binary-safe.
    body = b"\x89PNG\r\n\x1a\n\0" + bytes(range(256)) * 40
    s = env.swift
    bucket = s.new_bucket()
    c = Client(env, s, bucket)
    put = c.run("put", "ab/cd/img.png", "image/png", data=body)
    md5 = '"%s"' % hashlib.md5(body).hexdigest()
    assert put["rc"] == "ok" and put["status"] == "200", put
    assert put["etag"] == md5, put

    head = c.run("head", "ab/cd/img.png")
    assert head["rc"] == "ok" and head["status"] == "200", head
    assert head["size"] == str(len(body)) and head["etag"] == md5, head
    assert head["content_type"] == "image/png", head
    assert head["cache_control"] == "public, max-age=31536000, immutable", head

    got, data = c.get("ab/cd/img.png")
    assert got["rc"] == "ok" and data == body, got
    assert (got["content_type"], got["cache_control"], got["etag"]) == (
        head["content_type"], head["cache_control"], md5), got

    # The streamed reader has the headers before the first bytes.
    got, data = c.get("ab/cd/img.png", stream=True)
    assert got["rc"] == "ok" and data == body, got
    assert got["headers_first"] == "1" and int(got["stream_calls"]) >= 1, got

    # A client's ETag passed on: 304 when it matches.
    same = c.run("get", "ab/cd/img.png", os.path.join(s.dir, "x"), md5)
    assert same["rc"] == "not_modified" and same["status"] == "304", same
    assert same["exit"] == 2, same
    other, data = c.get("ab/cd/img.png", '"0123"')
    assert other["rc"] == "ok" and data == body, other

    # A cap below the object's size: refused, nothing handed on.
    for stream in (False, True):
        r, _ = c.get("ab/cd/img.png", stream=stream, max=len(body) - 1)
        assert r["rc"] == "fail" and "answer larger than %d bytes" % (
            len(body) - 1) in r["error"], r
        assert r.get("stream_calls", "0") == "0", r

    missing = c.run("head", "ab/cd/none.png")
    assert missing["rc"] == "not_found" and missing["status"] == "404", missing
    missing, _ = c.get("ab/cd/none.png")
    assert missing["rc"] == "not_found" and missing["code"] == "NoSuchKey", missing

    # Over 1 MiB, libcurl sends "Expect: 100-continue" (unsigned).
    big = os.urandom(3 * 1024 * 1024 + 7)
    put = c.run("put", "big.jpg", "image/jpeg", data=big)
    assert put["rc"] == "ok", put
    got, data = c.get("big.jpg")
    assert got["rc"] == "ok" and data == big and got["size"] == str(len(big)), got
    # An empty object is written as one.
    assert c.run("put", "empty.png", "image/png", data=b"")["rc"] == "ok"
    assert c.run("head", "empty.png")["size"] == "0"

    # Keys outside [A-Za-z0-9/._-] never go out.
    bad = c.run("put", "a/../b.png", "image/png", data=b"x")
    assert bad["rc"] == "fail" and "not a key" in bad["error"], bad
    assert c.run("head", "a b")["rc"] == "fail"
    # Nor does a content type that could break its header line.
    bad = c.run("put", "c.png", "image/png\r\nX-Evil: 1", data=b"x")
    assert bad["rc"] == "fail" and bad["status"] == "0", bad

    for key in ("ab/cd/img.png", "big.jpg", "empty.png"):
        gone = c.run("delete", key)
        assert gone["rc"] == "ok" and gone["status"] == "204", gone
    assert c.run("head", "ab/cd/img.png")["rc"] == "not_found"
    # Deleting what is not there is no failure (S3 answers 204).
    assert c.run("delete", "ab/cd/img.png")["rc"] == "ok"
    assert s.objects(bucket) == []


def test_s3_probe(env):
    s = env.swift
    bucket = s.new_bucket()
    ok = Client(env, s, bucket).run("probe")
    assert ok["rc"] == "ok" and ok["exit"] == 0, ok
    assert s.objects(bucket) == [], "the probe object was deleted"

    # Each wrong setting, told by what the store says. Swift's
    # tempauth answers an unknown key id as a wrong secret (AWS would
    # say InvalidAccessKeyId).
    cases = [
        (dict(secret=WRONG_SECRET), "s3 PUT %s/promptpix-probe/" % bucket,
         "HTTP 403: SignatureDoesNotMatch (the secret does not match "
         "the key id)"),
        (dict(key_id="test:nobody"), "s3 PUT %s/promptpix-probe/" % bucket,
         "HTTP 403: SignatureDoesNotMatch"),
        (dict(region="eu-west-1"), "s3 PUT %s/promptpix-probe/" % bucket,
         "HTTP 400: AuthorizationHeaderMalformed (wrong region): The "
         "authorization header is malformed; the region 'eu-west-1' is "
         "wrong; expecting 'us-east-1'"),
        (dict(bucket="nosuchbucket"), "s3 PUT nosuchbucket/promptpix-probe/",
         "HTTP 404: NoSuchBucket (no such bucket)"),
    ]
    for kw, start, reason in cases:
        r = Client(env, s, kw.pop("bucket", bucket), **kw).run("probe")
        assert r["rc"] == "fail" and r["exit"] == 3, (kw, r)
        assert r["error"].startswith(start) and reason in r["error"], (kw, r)
        assert "\n" not in r["error"] and len(r["error"]) < 256, (kw, r)

    # Nobody at the endpoint: the transport's reason, at once.
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
        t0 = time.monotonic()
        r = Client(env, s, bucket, endpoint="http://127.0.0.1:%d" % port).run("probe")
    assert r["rc"] == "fail" and "s3 PUT %s/promptpix-probe/" % bucket in r["error"], r
    assert "onnect" in r["error"] and time.monotonic() - t0 < 10, r
    assert s.objects(bucket) == []


def fetch(url):
    """Plain HTTP, no credentials: (status, body)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_s3_presigned_get(env):
    body = b"\xff\xd8\xff presigned " * 100
    s = env.swift
    bucket = s.new_bucket()
    c = Client(env, s, bucket)
    assert c.run("put", "p/q.jpg", "image/jpeg", data=body)["rc"] == "ok"
    now = int(time.time())
    url = c.run("presign", "p/q.jpg", str(now), "60", "600")["url"]
    assert url.startswith(s.endpoint + "/%s/p/q.jpg?X-Amz-Algorithm=" % bucket), url
    assert s.secret not in url
    status, got = fetch(url)
    assert status == 200 and got == body, status

    # Within the window, the same URL.
    again = c.run("presign", "p/q.jpg", str(now - now % 60 + 59), "60", "600")
    assert again["url"] == url, again

    # Any change is refused: the signature, the expiry, the key.
    sig = url.index("X-Amz-Signature=") + len("X-Amz-Signature=")
    flipped = url[:sig] + ("0" if url[sig] != "0" else "1") + url[sig + 1:]
    status, err = fetch(flipped)
    assert status == 403 and b"SignatureDoesNotMatch" in err, (status, err)
    status, err = fetch(url.replace("X-Amz-Expires=600", "X-Amz-Expires=601"))
    assert status == 403 and b"SignatureDoesNotMatch" in err, (status, err)
    assert c.run("put", "p/r.jpg", "image/jpeg", data=b"other")["rc"] == "ok"
    status, err = fetch(url.replace("/p/q.jpg?", "/p/r.jpg?"))
    assert status == 403, status

    # Signed two hours ago for ten minutes: expired.
    old = c.run("presign", "p/q.jpg", str(now - 7200), "60", "600")["url"]
    status, err = fetch(old)
    assert status == 403 and b"AccessDenied" in err, (status, err)

    # Without credentials the S3 path refuses; a public-read bucket
    # serves on Swift's own path.
    status, _ = fetch("%s/%s/p/q.jpg" % (s.endpoint, bucket))
    assert status in (400, 403), status
    public = s.new_bucket(public_read=True)
    Client(env, s, public).run("put", "k.jpg", "image/jpeg", data=body)
    status, got = fetch(s.public_url(public, "k.jpg"))
    assert status == 200 and got == body, status
