"""The responder over the FastCGI wire, with no web server in between:
what it does with parameters a web server could send it."""

from tests.lib import ROOT, fcgi, servers


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
    # -t checks the host too (store, database, schema: test_deploy.py);
    # a front's config, whose store and database exist, passes.
    f = env.front()
    out = subprocess.run([env.binary, "-t", "-c", f.conf], capture_output=True, text=True,
                         env={"PROMPTPIX_DB_PASSWORD": servers.DB_PASSWORD})
    assert out.returncode == 0, out.stderr
    out = subprocess.run([env.binary, "-t"], capture_output=True, text=True,
                         env={"PROMPTPIX_CONF": f.conf,
                              "PROMPTPIX_DB_PASSWORD": servers.DB_PASSWORD})
    assert out.returncode == 0, out.stderr
    # The shipped file on a host without its store says so.
    out = subprocess.run([env.binary, "-t", "-c", os.path.join(ROOT, "conf", "promptpix.conf")],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "[store] dir /var/lib/promptpix/img" in out.stderr, \
        out.stderr


# What each front sends, captured from the real servers with a FastCGI
# dumper (Apache 2.4.71 and mod_fcgid 2.3.9 from Debian, nginx with
# Debian's fastcgi_params): the parameters routing could depend on.
# nginx: REQUEST_URI is the path and query as sent, SCRIPT_NAME and
# DOCUMENT_URI the normalised path. Apache + mod_proxy_fcgi (RewriteRule
# [P] to fcgi://promptpix/): REQUEST_URI is the request target exactly
# as sent (with scheme and host in absolute form), SCRIPT_NAME the path,
# no DOCUMENT_URI. Apache + mod_fcgid (.htaccess rewrite to
# promptpix.fcgi): REQUEST_URI as for mod_proxy_fcgi, but SCRIPT_NAME is
# the program and the image path is only in REDIRECT_URL.
def front_params(front, target, base="/", method="GET", host="127.0.0.1:8080"):
    uri = target
    if target.startswith("http://"):
        target = "/" + target.split("/", 3)[3]
    path, _, query = target.partition("?")
    query = query.partition("#")[0]
    p = {"REQUEST_METHOD": method, "REQUEST_URI": uri, "QUERY_STRING": query,
         "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1",
         "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "50162", "SERVER_ADDR": "127.0.0.1",
         "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080", "HTTP_HOST": host}
    if front == "nginx":
        p.update({"SCRIPT_NAME": path, "DOCUMENT_URI": path,
                  "DOCUMENT_ROOT": "/usr/share/nginx/html", "REQUEST_SCHEME": "http",
                  "CONTENT_TYPE": "", "CONTENT_LENGTH": "", "REMOTE_USER": "",
                  "SERVER_SOFTWARE": "nginx/1.22.1", "REDIRECT_STATUS": "200"})
    elif front == "apache":
        p.update({"SCRIPT_NAME": path, "SCRIPT_FILENAME": "proxy:fcgi://promptpix/",
                  "SCRIPT_URL": path, "SCRIPT_URI": "http://%s%s" % (host, path),
                  "DOCUMENT_ROOT": "/var/lib/promptpix/img",
                  "CONTEXT_DOCUMENT_ROOT": "/var/lib/promptpix/img", "CONTEXT_PREFIX": "",
                  "REQUEST_SCHEME": "http", "SERVER_SOFTWARE": "Apache/2.4.71 (Debian)"})
    elif front == "fcgid":
        p.update({"SCRIPT_NAME": base + "promptpix.fcgi",
                  "SCRIPT_FILENAME": "/home/me/public_html%spromptpix.fcgi" % base,
                  "REDIRECT_URL": path, "REDIRECT_STATUS": "200",
                  "DOCUMENT_ROOT": "/home/me/public_html",
                  "CONTEXT_DOCUMENT_ROOT": "/home/me/public_html", "CONTEXT_PREFIX": "",
                  "CONTENT_LENGTH": "0", "HTTP_CONNECTION": "close", "REQUEST_SCHEME": "http",
                  "SERVER_SOFTWARE": "Apache/2.4.71 (Debian) mod_fcgid/2.3.9"})
        if query or "?" in target:
            p["REDIRECT_QUERY_STRING"] = query
    else:
        raise ValueError(front)
    return p


def ask(f, params):
    return fcgi.request(f.pp.socket, params)


def test_every_front_routes_the_same(env):
    """The same image URL, as each front passes it, is the same image:
    at the root, and in a subdirectory with base_path = /pix/."""
    target = "/64x64.png?text=one%20image"
    f = responder(env)
    try:
        locs = set()
        for front in ("nginx", "apache", "fcgid"):
            for method in ("GET", "HEAD"):
                st, h, body, _ = ask(f, front_params(front, target, method=method))
                assert st == 302 and h["location"].startswith("/img/"), (front, method, st, h)
                assert body == (b"found\n" if method == "GET" else b""), (front, body)
                locs.add(h["location"])
            # A path that is not an image is 404 from every front.
            st, _, body, _ = ask(f, front_params(front, "/favicon.ico?text=a"))
            assert st == 404 and body == b"not found\n", (front, st)
        assert len(locs) == 1, locs
        f.flush()
        assert f.sql("SELECT total_requests, api_calls_made FROM generation_status") == [["6", "1"]]
    finally:
        f.stop()
    f = responder(env, overrides={("server", "base_path"): "/pix/",
                                  ("store", "url"): "/pix/img/"})
    try:
        for front in ("nginx", "apache", "fcgid"):
            st, h, _, _ = ask(f, front_params(front, "/pix" + target, base="/pix/"))
            assert st == 302 and h["location"].startswith("/pix/img/"), (front, st, h)
            # Outside the base path: not ours.
            st, _, _, _ = ask(f, front_params(front, target))
            assert st == 404, (front, st)
        f.flush()
        assert f.sql("SELECT total_requests FROM generation_status") == [["3"]]
    finally:
        f.stop()


def test_absolute_form_and_fragments(env):
    """Apache passes an absolute-form request target ("GET http://host/x"
    must be accepted by an HTTP/1.1 server) as REQUEST_URI with scheme
    and host; nginx passes only the path. nginx lets a "#fragment" into
    REQUEST_URI but not into QUERY_STRING. Both mean the same image."""
    f = responder(env, overrides={("server", "base_path"): "/pix/",
                                  ("store", "url"): "/pix/img/"})
    try:
        st, h, _, _ = ask(f, front_params("nginx", "/pix/64x64.png?text=a"))
        assert st == 302, (st, h)
        loc = h["location"]
        for front, target in [
                ("apache", "http://example.org/pix/64x64.png?text=a"),
                ("fcgid", "http://example.org:8080/pix/64x64.png?text=a"),
                ("fcgid", "HTTP://user@example.org/pix/64x64.png?text=a"),
                ("nginx", "/pix/64x64.png?text=a#frag")]:
            p = front_params(front, target, base="/pix/")
            if target.startswith("HTTP"):
                p["REQUEST_URI"] = target
            st, h, body, _ = ask(f, p)
            assert st == 302 and h["location"] == loc, (front, target, st, h, body)
        for target in ("http://example.org", "http://example.org?text=a",
                       "http:/pix/64x64.png?text=a", "pix/64x64.png?text=a",
                       "http://example.org/64x64.png?text=a"):
            p = front_params("apache", "/pix/64x64.png?text=a")
            p["REQUEST_URI"] = target
            st, _, _, _ = ask(f, p)
            assert st == 404, (target, st)
        f.flush()
        assert f.sql("SELECT total_requests FROM generation_status") == [["5"]]
    finally:
        f.stop()


def test_setenv_conf_is_reported_not_used(env):
    """SetEnv PROMPTPIX_CONF in an .htaccess arrives as a request
    parameter, after start-up: the responder says once that it is not
    used, and goes on with the file it was started with."""
    f = responder(env, processes=1)
    try:
        for _ in range(3):
            p = front_params("fcgid", "/64x64.png?text=a")
            p["PROMPTPIX_CONF"] = p["REDIRECT_PROMPTPIX_CONF"] = "/home/me/other.conf"
            st, _, _, _ = ask(f, p)
            assert st == 302
        p["PROMPTPIX_CONF"] = f.conf
        assert ask(f, p)[0] == 302
        log = f.log()
        assert log.count("PROMPTPIX_CONF=/home/me/other.conf from the web server is not used") == 1, log
        assert f.conf in log
    finally:
        f.stop()


def test_log_lines_cannot_be_forged(env):
    """A raw FastCGI client can send any bytes; the log stays one record
    per line."""
    f = responder(env)
    try:
        st, _, _, _ = f.fcgi("/64x64.jpg?text=a", method="GET\nFAKE promptpix[1] info -: forged")
        assert st == 405
        assert not any(l.startswith("FAKE") for l in f.log().splitlines()), f.log()
        assert "GET?FAKE" in f.log()
    finally:
        f.stop()
