"""The responder over the FastCGI wire, with no web server in between:
what it does with parameters a web server could send it."""

from tests.lib import stack


def responder(env, **kw):
    f = env.front(**kw)
    return f.start(nginx=False)


def test_routes_methods_and_reasons(env):
    f = responder(env)
    try:
        st, h, body, _ = f.fcgi("/256x256.jpg?text=wire")
        assert st == 302 and h["location"].startswith("/img/"), (st, h)
        st, h, body, _ = f.fcgi("/256x256.jpg?text=wire", method="POST", stdin=b"a=b" * 1000)
        assert st == 405 and h["allow"] == "GET, HEAD", (st, h)
        st, h, body, _ = f.fcgi("/nothing")
        assert st == 404 and body == b"not found\n"
        st, h, body, _ = f.fcgi("/256x256.jpg?text=a&text=b")
        assert st == 400 and body == b"repeated parameter: text\n", body
        st, h, body, _ = f.fcgi("/256x256.jpg?text=" + "a" * 20000)
        assert st == 414, st
        # Without REQUEST_URI (a bare CGI-style front), SCRIPT_NAME routes.
        st, h, body, _ = f.fcgi("/256x256.jpg", extra={"REQUEST_URI": ""})
        assert st in (400, 404)
        st, h, _, _ = f.fcgi("/x", extra={"REQUEST_METHOD": "GET\r\nX: y"})
        assert st == 404
        # A NUL inside a parameter ends it: no text, so 400, no row.
        st, _, body, _ = f.fcgi("/256x256.jpg\0?text=a")
        assert st == 400, body
        assert f.sql("SELECT total_requests FROM generation_status") == [["1"]]
    finally:
        f.stop()


def test_header_injection_impossible(env):
    """Nothing a client sends reaches a header: CR/LF in the prompt is
    refused, and an unsafe URL in the database is never sent."""
    f = responder(env, overrides={("server", "hit_cache_entries"): 0})
    try:
        for q in ("text=a%0d%0aLocation:%20http://evil/", "text=a%0aSet-Cookie:x=1",
                  "text=a&seed=1%0d%0aX:1"):
            st, h, body, _ = f.fcgi("/256x256.jpg?" + q)
            assert st == 400 and "set-cookie" not in h and "x" not in h, (q, st, h)
        st, h, _, _ = f.fcgi("/256x256.jpg?text=ok")
        # Tamper with the stored record: the responder must refuse it.
        f.sql("UPDATE generation_status SET file_name = NULL,"
              " generated_url = 'https://evil.example/\\r\\nSet-Cookie: a=b'")
        st, h, body, _ = f.fcgi("/256x256.jpg?text=ok")
        assert st == 500 and "location" not in h and "set-cookie" not in h, (st, h)
        f.sql("UPDATE generation_status SET file_name = '../../../etc/passwd'")
        st, h, body, _ = f.fcgi("/256x256.jpg?text=ok")
        assert st == 500 and "location" not in h, (st, h)
    finally:
        f.stop()


def test_base_path(env):
    f = responder(env, overrides={("server", "base_path"): "/pix/"})
    try:
        st, h, _, _ = f.fcgi("/pix/128x128.png?text=prefixed")
        assert st == 302 and h["location"].endswith(".png"), (st, h)
        st, _, _, _ = f.fcgi("/128x128.png?text=prefixed")
        assert st == 404
    finally:
        f.stop()


def test_bad_config_stops_startup(env):
    import os
    import subprocess
    bad = os.path.join(env.base, "bad.conf")
    with open(bad, "w") as fh:
        fh.write("[server]\nthreads = 8\n\n[store]\ndelivery = carrier-pigeon\n")
    out = subprocess.run([env.binary, "-c", bad], capture_output=True, text=True)
    assert out.returncode == 1
    assert out.stderr.strip() == "promptpix: %s:5: delivery: must be redirect or inline: carrier-pigeon" % bad, out.stderr
    out = subprocess.run([env.binary, "-t", "-c", os.path.join(stack.ROOT, "conf", "promptpix.conf")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    out = subprocess.run([env.binary, "-t"], capture_output=True, text=True,
                         env={"PROMPTPIX_CONF": os.path.join(stack.ROOT, "conf", "promptpix.conf")})
    assert out.returncode == 0, out.stderr
