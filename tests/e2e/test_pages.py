"""The pages for people, in a real headless Chromium (tests/lib/browser.py)
against the demo's stack (nginx + spawn-fcgi + promptpix + MariaDB, a
[stats] token and the stats JSON left open, as make run sets them): the
home page's form and the URL it gives, the dashboard's login and its
charts against the rollup table, hostile prompts shown as text with no
script run, and the CSP header on every page. Screenshots at 1280x800
and 390x844 are saved in the test's directory, and copied to the
directory named by PROMPTPIX_SCREENSHOTS (docs/screenshots/ holds the
committed ones)."""

import datetime
import json
import math
import os
import re
import shutil
import urllib.parse

from tests.lib import ROOT, browser, images, servers
from tests.lib.config import write_secret
from tests.lib.env import plain_pass_only

TOKEN = "pages-test-token-5b1e0c"             # [stats]: may look
OPERATOR = "pages-operator-secret-7d2e41c9"    # [pages] operator_token_file: may mint
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
HOSTILE = ["<script>alert(1)</script>",
           "a \"quoted\" 'prompt' & <b>bold</b>",
           "\"><img src=x onerror=alert(2)>"]
CSP_PAGES = ["/", "/?text=a&width=64&height=64&format=jpg", "/dashboard"]


def operator_file(env, secret=OPERATOR):
    """The operator's secret in a file only its owner reads."""
    path = os.path.join(env.base, "operator-token")
    write_secret(path, secret)
    return path


def demo_front(env, over=None):
    """The demo's settings (tools/demo.py): a [stats] token and an
    operator's secret for the dashboard, the seed's stats JSON open to
    all."""
    ov = {("stats", "token"): TOKEN, ("stats", "public"): "on",
          ("pages", "operator_token_file"): operator_file(env),
          ("placeholder", "delay"): "0.5"}
    ov.update(over or {})
    return env.front(overrides=ov)


def same_origin(f, **more):
    """The headers of a form a page of this host posts."""
    return dict(FORM, Origin="http://127.0.0.1:%d" % f.port, **more)


def session(f, secret):
    """Log in over HTTP as a browser would; the cookie (name=value)."""
    r = f.get("/dashboard", method="POST", body=b"action=login&token=" + secret.encode(),
              headers=same_origin(f))
    assert r.status == 303, r
    return r.header("set-cookie").split(";")[0]


def shot(b, env, name, full=False):
    """Save a screenshot; copy it to $PROMPTPIX_SCREENSHOTS if set. The
    PNG must be of the viewport's size."""
    path = os.path.join(env.base, "screenshots", name)
    png = b.screenshot(path, full)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    out = os.environ.get("PROMPTPIX_SCREENSHOTS")
    if out:
        os.makedirs(os.path.join(ROOT, out), exist_ok=True)
        shutil.copy(path, os.path.join(ROOT, out, name))
    return path


def check_csp(r):
    """Every HTML answer: a CSP allowing no inline code but its own by
    hash, nothing from another host."""
    csp = r.header("content-security-policy")
    assert csp, r
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp, csp
    assert "frame-ancestors 'none'" in csp and "img-src 'self'" in csp, csp
    assert re.search(r"script-src ('none'|'sha256-[A-Za-z0-9+/=]+');", csp), csp
    assert r.header("content-type") == "text/html; charset=utf-8", r
    assert r.header("x-content-type-options") == "nosniff", r


def no_csp_violation(b):
    """Our own inline style and script ran under their hashes: the
    console holds no refusal."""
    bad = [m for m in b.console() if "Content Security Policy" in m.get("message", "")]
    assert not bad, bad


def login(b, f, secret=TOKEN):
    b.get("http://127.0.0.1:%d/dashboard" % f.port)
    b.type("#login input[name=token]", secret)
    b.click("#login button")
    b.wait("return document.getElementById('live') !== null", 20, "the dashboard")


def generate(b, prompt, w, h, fmt):
    """Fill in the home page's form, submit it, and wait for the image to
    decode at the requested size; the URL the page offers to copy."""
    b.type("#try input[name=text]", prompt)
    b.type("#try input[name=width]", str(w))
    b.type("#try input[name=height]", str(h))
    b.js("document.querySelector('#try select[name=format]').value = arguments[0]", fmt)
    b.click("#try button[type=submit]")
    b.wait("var i = document.getElementById('out');"
           "return !i.hidden && i.complete && i.naturalWidth === arguments[0]"
           " && i.naturalHeight === arguments[1] && i.decode().then(function(){return true})",
           30, "the image to decode", w, h)
    state = b.text("#state")
    assert state.startswith("Ready in") and "%d\u00d7%d" % (w, h) in state, state
    return b.js("return document.getElementById('url').value")


@plain_pass_only("the page's script in a browser; its C paths run in "
                 "test_home_without_javascript and test_e2e")
def test_home_form_shows_image_and_url(env):
    if not browser.available():
        raise AssertionError("chromium and chromium-driver are needed (make deps)")
    with demo_front(env) as f, browser.Browser(env.base) as b:
        base = "http://127.0.0.1:%d" % f.port
        b.get(base + "/")
        assert "turns a link into an AI image" in b.text("main")
        assert "302 Found" in b.text("main")      # delivery = redirect here
        url = generate(b, "a red fox in the snow", 320, 256, "png")
        assert url == base + "/320x256.png?text=a%20red%20fox%20in%20the%20snow", url
        # The page offers the URL and a working copy button.
        b.click("#copy")
        b.wait("return document.getElementById('copy').textContent === 'Copied'", 5,
               "the copy button")
        no_csp_violation(b)
        r = f.get(url[len(base):])
        assert r.status == 302 and r.header("location").startswith("/img/"), r
        img = f.get(r.header("location"))
        assert images.size(img.body) == ("png", 320, 256)
        # Reloading keeps the form and shows the image without script.
        assert "width=320" in b.js("return location.search")
        b.viewport(1280, 800)
        shot(b, env, "home-1280x800.png")
        b.viewport(390, 844, mobile=True, dark=True)
        b.get(base + "/")
        generate(b, "a lighthouse at dusk", 384, 256, "jpg")
        shot(b, env, "home-390x844-dark.png")
        # The whole page fits a phone: nothing wider than its screen.
        assert b.js("return document.documentElement.scrollWidth") <= 390
    # Inline delivery: the copied URL answers the bytes themselves.
    with demo_front(env, {("store", "delivery"): "inline"}) as f, \
            browser.Browser(env.base) as b:
        base = "http://127.0.0.1:%d" % f.port
        b.get(base + "/")
        assert "delivery = inline" in b.text("main")
        url = generate(b, "a blue whale", 256, 192, "png")
        r = f.get(url[len(base):])
        assert r.status == 200 and r.header("content-type") == "image/png", r
        assert images.size(r.body) == ("png", 256, 192)


def test_home_without_javascript(env):
    """The form is a GET of the page itself, which then holds the image
    and the URL: it works with JavaScript off."""
    with demo_front(env) as f:
        r = f.get("/?text=a+green+hill&width=200&height=100&format=jpg&seed=7")
        check_csp(r)
        html = r.body.decode()
        assert 'src="/200x100.jpg?text=a%20green%20hill&amp;seed=7"' in html, html
        assert 'value="http://127.0.0.1:%d/200x100.jpg?text=a%%20green%%20hill&amp;seed=7"' \
            % f.port in html
        bad = f.get("/?text=a&width=10&height=100&format=jpg")
        assert bad.status == 200 and "Not a valid image URL" in bad.body.decode(), bad
        assert f.rows() == 0    # the page itself starts nothing
    with env.front(overrides={("pages", "home"): "off"}) as f:
        r = f.get("/")
        assert r.status == 404 and r.body == b"not found\n", r


def insert_history(f):
    """Rollup rows for past hours and days, as the flushes of a busy
    host would have left them, for the charts to draw."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(minute=0, second=0,
                                                               microsecond=0)
    rows = []
    for h in range(1, 48):
        if h % 9 == 0:
            continue        # quiet hours: no row at all
        req = 60 + int(50 * math.sin(h / 4.0)) + (h * 37) % 25
        rows.append((now - datetime.timedelta(hours=h), req, req * 3 // 4, req // 6))
    for d in range(2, 30):
        if d % 11 == 0:
            continue
        req = 1500 + int(600 * math.sin(d / 3.0)) + (d * 53) % 200
        rows.append((now - datetime.timedelta(days=d), req, req * 4 // 5, req // 8))
    for t, req, hits, calls in rows:
        f.sql("INSERT INTO generation_rollup (hour, requests, cache_hits, paid_calls,"
              " generations, failures, spent_usd, would_usd) VALUES ('%s', %d, %d, %d,"
              " %d, 0, %.6f, %.6f)" % (t.strftime("%Y-%m-%d %H:00:00"), req, hits, calls,
                                       calls, calls * 0.0031, req * 0.0031))
        f.sql("INSERT INTO generation_rollup_ms VALUES ('%s', 2000, %d), ('%s', 3000, %d)"
              % (t.strftime("%Y-%m-%d %H:00:00"), calls, t.strftime("%Y-%m-%d %H:00:00"),
                 max(calls // 10, 1)))
    f.sql("INSERT INTO generation_rollup_failures VALUES ('%s', 'timeout', 3),"
          " ('%s', 'rate_limited', 1)" % (rows[0][0].strftime("%Y-%m-%d %H:00:00"),
                                          rows[1][0].strftime("%Y-%m-%d %H:00:00")))


def rollup_rows(f):
    """Rows of the rollup in the dashboard's windows: the last 48 hours,
    and the days of the last 30."""
    hours = int(f.sql("SELECT COUNT(*) FROM generation_rollup WHERE hour >="
                      " DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:00:00') - INTERVAL 47 HOUR")[0][0])
    days = int(f.sql("SELECT COUNT(DISTINCT DATE(hour)) FROM generation_rollup"
                     " WHERE hour >= UTC_DATE() - INTERVAL 29 DAY")[0][0])
    return hours, days


def clear_of_the_hour_turn(seconds=120):
    """If the UTC hour turns within seconds, wait until it has: the
    charts' windows are whole hours, and a test that counts their rows
    and then what the pages drew must see one hour throughout."""
    def left():
        now = datetime.datetime.now(datetime.timezone.utc)
        return 3600 - (now.minute * 60 + now.second + now.microsecond / 1e6)
    if left() < seconds:
        hour = datetime.datetime.now(datetime.timezone.utc).hour
        servers.wait_until(lambda: datetime.datetime.now(datetime.timezone.utc).hour != hour,
                           seconds + 5, "the hour to turn")


def test_dashboard_login_charts_and_top_prompts(env):
    clear_of_the_hour_turn()
    with demo_front(env) as f, browser.Browser(env.base) as b:
        base = "http://127.0.0.1:%d" % f.port
        prompt = "dashboard test prompt %d" % f.port
        for _ in range(3):
            assert f.get("/256x256.jpg?text=" + urllib.parse.quote(prompt)).status == 302
        f.flush()
        insert_history(f)
        # Without the token: the login form, and none of the figures.
        b.get(base + "/dashboard")
        assert b.find_all("#login") and not b.find_all("#live, svg, #top")
        src = b.js("return document.documentElement.outerHTML")
        assert prompt not in src and "<svg" not in src, src
        b.type("#login input[name=token]", "not-the-token")
        b.click("#login button")
        b.wait("return document.getElementById('loginerr') !== null", 10, "the refusal")
        assert not b.find_all("#live")
        login(b, f)
        # The session is a cookie no script can read, and no URL held
        # the token.
        assert b.js("return document.cookie") == ""
        assert "token" not in b.js("return location.href")
        assert TOKEN not in open(os.path.join(f.nginx.dir, "nginx-access.log")).read()
        hours, days = rollup_rows(f)
        assert len(b.find_all("svg#hourly circle[data-series='requests']")) == hours
        assert len(b.find_all("svg#hourly circle[data-series='paid calls']")) == hours
        assert len(b.find_all("svg#daily circle[data-series='requests']")) == days
        assert len(b.find_all("svg#money circle[data-series='spent']")) == days
        top = b.js("return Array.from(document.querySelectorAll('#top td.p'))"
                   ".map(function(td){return td.textContent})")
        assert prompt in top, top
        assert b.find_all("#top img.thumb")
        failures = b.text("#failures")
        assert "timeout" in failures and "rate_limited" in failures, failures
        no_csp_violation(b)
        # The page refreshes its figures by itself: told to now, it
        # swaps in a #live that counts a request made meanwhile.
        before = b.js("return document.querySelector('#top td.n').textContent")
        assert f.get("/256x256.jpg?text=" + urllib.parse.quote(prompt)).status == 302
        f.flush()
        b.js("var l = document.getElementById('live'); l.dataset.old = '1';"
             " l.dataset.refresh = '0.01'")
        b.wait("var l = document.getElementById('live'); return !l.dataset.old", 20,
               "the refresh")
        after = b.js("return document.querySelector('#top td.n').textContent")
        assert int(after) == int(before) + 1, (before, after)
        b.viewport(1280, 800)
        shot(b, env, "dashboard-1280x800.png")
        shot(b, env, "dashboard-1280-full.png", full=True)
        b.viewport(390, 844, mobile=True, dark=True)
        b.get(base + "/dashboard")
        shot(b, env, "dashboard-390x844-dark.png")
        assert b.js("return document.documentElement.scrollWidth") <= 390
        # The JSON behind the charts: as many points as rollup rows.
        r = f.get("/api/generation/history?by=hour&n=48",
                  headers={"Authorization": "Bearer " + TOKEN})
        assert r.status == 200, r
        assert len(json.loads(r.body)["points"]) == hours
        r = f.get("/api/generation/history?by=day",
                  headers={"Authorization": "Bearer " + TOKEN})
        doc = json.loads(r.body)
        assert len(doc["points"]) == days and doc["failures_by_kind"] == {
            "timeout": 3, "rate_limited": 1}, doc
        assert sum(p["requests"] for p in doc["points"]) == int(
            f.sql("SELECT SUM(requests) FROM generation_rollup WHERE hour >="
                  " UTC_DATE() - INTERVAL 29 DAY")[0][0])
        # Logging out ends the session.
        b.click("form button.plain")
        b.wait("return document.getElementById('login') !== null", 10, "the login form")


def test_dashboard_http_contract(env):
    """What the dashboard and the history answer without a browser: the
    cookie's attributes, refusals, and no token ever taken from a URL."""
    with demo_front(env) as f:
        r = f.get("/dashboard")
        assert r.status == 401 and b'id="login"' in r.body, r
        check_csp(r)
        form = same_origin(f)
        r = f.get("/dashboard", method="POST", body=b"action=login&token=" + TOKEN.encode(),
                  headers=form)
        assert r.status == 303 and r.header("location") == "/dashboard", r
        ck = r.header("set-cookie")
        assert "HttpOnly" in ck and "SameSite=Strict" in ck and "Path=/dashboard" in ck, ck
        assert TOKEN not in ck, ck
        cookie = ck.split(";")[0]
        r = f.get("/dashboard", headers={"Cookie": cookie})
        assert r.status == 200 and b'id="live"' in r.body, r
        check_csp(r)
        # A forged or stale cookie, or the token in the URL, is no login.
        forged = cookie[:-1] + ("1" if cookie[-1] == "0" else "0")   # always another MAC
        assert f.get("/dashboard", headers={"Cookie": forged}).status == 401
        assert f.get("/dashboard?token=" + TOKEN).status == 401
        assert f.get("/dashboard", headers={"Authorization": "Bearer " + TOKEN}).status == 200
        r = f.get("/dashboard", method="POST", body=b"action=login&token=nope", headers=form)
        assert r.status == 403 and "set-cookie" not in r.headers, r
        check_csp(r)
        # Another site's form is refused, and so is a form of no site.
        r = f.get("/dashboard", method="POST", body=b"action=login&token=" + TOKEN.encode(),
                  headers=dict(form, Origin="http://evil.example"))
        assert r.status == 403 and "set-cookie" not in r.headers, r
        r = f.get("/dashboard", method="POST", body=b"action=login&token=" + TOKEN.encode(),
                  headers=FORM)
        assert r.status == 403 and "set-cookie" not in r.headers, r
        assert f.get("/dashboard", method="PUT").status == 405
        r = f.get("/dashboard", method="POST", body=b"action=login&token=" + b"x" * 20000,
                  headers=form)
        assert r.status == 413 and "set-cookie" not in r.headers, r
        assert f.get("/dashboard", method="POST", body=b"token=" + TOKEN.encode(),
                     headers=form).status == 400
        head = f.get("/", method="HEAD")
        assert head.status == 200 and head.body == b"" and head.header("content-security-policy")
        assert f.get("/", method="POST", body=b"x=1").status == 405
        # The history needs the token (or the session); bad queries 400.
        assert f.get("/api/generation/history").status == 401
        assert f.get("/api/generation/history", headers={"Cookie": cookie}).status == 200
        for q in ("by=week", "n=0", "n=169", "by=day&n=91", "x=1"):
            r = f.get("/api/generation/history?" + q, headers={"Cookie": cookie})
            assert r.status == 400 and json.loads(r.body)["success"] is False, (q, r)
        # The seed's stats JSON stays open in the demo.
        assert f.get("/api/generation/stats").status == 200
        assert f.get("/metrics").status == 401


def test_dashboard_off_without_token(env):
    with env.front() as f:
        r = f.get("/dashboard")
        assert r.status == 404, r
        check_csp(r)
        text = r.body.decode()
        assert "The dashboard is off" in text and "[stats]\ntoken =" in text, text
        assert f.get("/api/generation/stats").status == 200


def test_hostile_prompts_render_as_text(env):
    with demo_front(env) as f, browser.Browser(env.base) as b:
        base = "http://127.0.0.1:%d" % f.port
        for p in HOSTILE:
            assert f.get("/128x128.png?text=" + urllib.parse.quote(p)).status == 302
        f.flush()
        for p in HOSTILE:
            # Rendered by the server (the JavaScript-off path) ...
            b.get(base + "/?" + urllib.parse.urlencode(
                {"text": p, "width": 128, "height": 128, "format": "png"}))
            assert not b.alert_open()
            assert b.js("return document.querySelector('#try input[name=text]').value") == p
            assert b.js("return document.scripts.length") == 1
            assert b.js("return document.querySelectorAll('main b, main img:not(#out)')"
                        ".length") == 0
            b.wait("var i = document.getElementById('out');"
                   "return i.complete && i.naturalWidth === 128", 20, "the image")
            # ... and by the form's script.
            b.get(base + "/")
            generate(b, p, 128, 128, "png")
            assert not b.alert_open()
            assert b.js("return document.getElementById('url').value") == \
                base + "/128x128.png?text=" + urllib.parse.quote(p, safe="-._~!*'()")
        login(b, f)
        assert not b.alert_open()
        top = b.js("return Array.from(document.querySelectorAll('#top td.p'))"
                   ".map(function(td){return td.textContent})")
        for p in HOSTILE:
            assert p in top, (p, top)
        assert b.js("return document.scripts.length") == 1
        assert b.js("return document.querySelectorAll('#top b, #top script, "
                    "#top td.p img').length") == 0
        no_csp_violation(b)


def test_signed_mode_mints_on_the_dashboard(env):
    secret = os.path.join(env.base, "pages-access-secret")
    write_secret(secret, "pages-master-secret-0123456789abcdef0123")
    with demo_front(env, {("access", "mode"): "signed",
                                ("access", "secret_file"): secret}) as f, \
            browser.Browser(env.base) as b:
        base = "http://127.0.0.1:%d" % f.port
        b.get(base + "/")
        assert "cannot make one" in b.text("main") and not b.find_all("#try")
        # The [stats] token's session may look, not mint.
        login(b, f)
        assert not b.find_all("#mint") and b.find_all("#mintoff")
        b.click("form button.plain")
        b.wait("return document.getElementById('login') !== null", 10, "the login form")
        login(b, f, OPERATOR)
        assert not b.find_all("#mintoff")
        b.type("#mint input[name=text]", "a signed castle")
        b.type("#mint input[name=width]", "320")
        b.type("#mint input[name=height]", "240")
        b.click("#mint button")
        b.wait("return document.getElementById('url') !== null", 20, "the minted URL")
        url = b.js("return document.getElementById('url').value")
        assert url.startswith(base + "/320x240.jpg?text=a%20signed%20castle&sig="), url
        r = f.get(url[len(base):])
        assert r.status == 302, r
        assert f.get("/320x240.jpg?text=a%20signed%20castle").status in (401, 403)
        for path in CSP_PAGES:
            check_csp(f.get(path))


def rollup_sums(f):
    """The rollup's requests, cache hits, paid calls, completed and
    failed generations and money spent, and the status table's own
    figures for the same, as strings (both flushed first)."""
    f.flush()
    got = f.sql("SELECT SUM(requests), SUM(cache_hits), SUM(paid_calls),"
                " SUM(generations), SUM(failures), SUM(spent_usd) FROM generation_rollup")[0]
    want = f.sql("SELECT SUM(total_requests), SUM(cache_hits), SUM(api_calls_made),"
                 " SUM(status = 'completed'), SUM(status = 'failed'), SUM(cost_usd)"
                 " FROM generation_status")[0]
    return got, want


def known_traffic(f):
    """Seven requests of three images, one failing: 7 requests, 3 cache
    hits, 3 paid calls, 2 completed, 1 failed (test_stats.conf())."""
    from tests.e2e.test_stats import alone, block_store, url
    a, b, bad = "rollup busy world", "rollup quiet lake", "rollup broken pipe"
    assert alone(bad, [a, b])
    block_store(f, bad)
    for target, want in [(a, 302), (a, 302), (b, 302), (a, 302), (bad, 502),
                         (bad, 502), (b, 302)]:
        assert f.get(url(target)).status == want


MINT = b"action=mint&text=a+minted+tower&width=320&height=240&format=jpg"


def minted(r):
    """Whether the answer holds a signed URL."""
    return b"sig=" in r.body


def signed_front(env, over=None):
    secret = os.path.join(env.base, "pages-access-secret")
    write_secret(secret, "pages-master-secret-0123456789abcdef0123")
    ov = {("access", "mode"): "signed", ("access", "secret_file"): secret}
    ov.update(over or {})
    return demo_front(env, ov)


def test_monitoring_token_cannot_mint(env):
    """The [stats] token, which a scraper holds, reads and never mints:
    not as a header, not in the query, not as a session made with it,
    nor with that session's cookie made to claim the operator's."""
    with signed_front(env) as f:
        bearer = same_origin(f, Authorization="Bearer " + TOKEN)
        assert f.get("/dashboard", headers=bearer).status == 200      # it may look
        r = f.get("/dashboard", method="POST", body=MINT, headers=bearer)
        assert r.status == 403 and not minted(r), r
        r = f.get("/dashboard?token=" + TOKEN, method="POST", body=MINT, headers=same_origin(f))
        assert r.status == 401 and not minted(r), r
        reader = session(f, TOKEN)
        assert reader.startswith("pp_dashboard=r."), reader
        page = f.get("/dashboard", headers={"Cookie": reader})
        assert page.status == 200 and b'id="mint"' not in page.body, page
        assert b'id="mintoff"' in page.body
        r = f.get("/dashboard", method="POST", body=MINT,
                  headers=same_origin(f, Cookie=reader))
        assert r.status == 403 and not minted(r), r
        forged = "pp_dashboard=o." + reader[len("pp_dashboard=r."):]
        r = f.get("/dashboard", method="POST", body=MINT,
                  headers=same_origin(f, Cookie=forged))
        assert r.status == 401 and not minted(r), r
        assert f.get("/dashboard", headers={"Cookie": forged}).status == 401
        # The history reads with either.
        assert f.get("/api/generation/history", headers={"Cookie": reader}).status == 200
        assert f.get("/api/generation/history?token=" + TOKEN).status == 200
        # The operator mints, from a page of this host only.
        op = session(f, OPERATOR)
        assert op.startswith("pp_dashboard=o."), op
        page = f.get("/dashboard", headers={"Cookie": op})
        assert page.status == 200 and b'id="mint"' in page.body, page
        for headers in (dict(FORM, Cookie=op),
                        dict(FORM, Cookie=op, Origin="http://evil.example"),
                        dict(FORM, Cookie=op, Origin="null"),
                        dict(FORM, Cookie=op, Referer="http://evil.example/dashboard"),
                        dict(FORM, Cookie=op, Referer="http://127.0.0.1:%d.evil.example/"
                             % f.port)):
            r = f.get("/dashboard", method="POST", body=MINT, headers=headers)
            assert r.status == 403 and not minted(r), (headers, r)
        r = f.get("/dashboard", method="POST", body=MINT, headers=same_origin(f, Cookie=op))
        assert r.status == 200 and minted(r), r
        url = re.search(rb'id="url" readonly aria-label="Signed URL" value="http://[^/"]+([^"]+)"',
                        r.body).group(1).decode().replace("&amp;", "&")
        assert f.get(url).status == 302
        # No Origin, but this host's Referer (as an older browser sends).
        r = f.get("/dashboard", method="POST", body=MINT,
                  headers=dict(FORM, Cookie=op,
                               Referer="http://127.0.0.1:%d/dashboard" % f.port))
        assert r.status == 200 and minted(r), r
        # Nothing logged the secrets.
        assert OPERATOR not in f.log() and TOKEN not in f.log()


def test_rotating_a_secret_voids_its_sessions(env):
    """A new operator's secret (its file) ends every operator's session
    and no reader's; a new [stats] token ends every reader's and no
    operator's. Each takes a restart."""
    with signed_front(env) as f:
        reader, op = session(f, TOKEN), session(f, OPERATOR)

        def restart():
            f.pp.stop()
            f.pp.start()

        def who(cookie):
            r = f.get("/dashboard", headers={"Cookie": cookie})
            return r.status, b'id="mint"' in r.body
        assert who(reader) == (200, False) and who(op) == (200, True)
        write_secret(os.path.join(env.base, "operator-token"), "a-new-operator-secret-5551")
        restart()
        assert who(op) == (401, False) and who(reader) == (200, False)
        r = f.get("/dashboard", method="POST", body=b"action=login&token=" + OPERATOR.encode(),
                  headers=same_origin(f))
        assert r.status == 403, r
        op = session(f, "a-new-operator-secret-5551")
        assert who(op) == (200, True)
        conf = open(f.conf).read()
        with open(f.conf, "w") as fh:
            fh.write(conf.replace("token = " + TOKEN, "token = a-new-stats-token"))
        restart()
        assert who(reader) == (401, False) and who(op) == (200, True)
        assert who(session(f, "a-new-stats-token")) == (200, False)


def test_rollup_exact_for_known_traffic(env):
    """The rollup the flush maintains adds up to the status table's own
    figures: requests, cache hits, paid calls, money, completed and
    failed images, failures by kind. (0.1 megapixel at 0.5 USD per
    megapixel: 0.05 a call, so every sum is exact.)"""
    from decimal import Decimal

    from tests.e2e.test_stats import conf
    from tests.lib import servers
    with env.front(overrides=conf("0.3")) as f:
        known_traffic(f)
        want = rollup_sums(f)[1]
        assert want[:5] == ["7", "3", "3", "2", "1"], want
        servers.wait_until(lambda: rollup_sums(f)[0][:5] == want[:5], 10, "the rollup")
        got = rollup_sums(f)[0]
        assert Decimal(got[5]) == Decimal(want[5]) == Decimal("0.15"), (got, want)
        would = f.sql("SELECT SUM(would_usd) FROM generation_rollup")[0][0]
        assert Decimal(would) == Decimal("0.35"), would      # 7 requests x 0.05
        assert f.sql("SELECT kind, failures FROM generation_rollup_failures") == [
            ["store", "1"]]
        assert int(f.sql("SELECT SUM(n) FROM generation_rollup_ms")[0][0]) == 2
        # The same in the JSON (two hours: the test may cross one).
        r = f.get("/api/generation/history?by=hour&n=2")
        doc = json.loads(r.body)
        assert r.status == 200 and 1 <= len(doc["points"]) <= 2, doc
        total = [sum(p[k] for p in doc["points"])
                 for k in ("requests", "cache_hits", "paid_calls", "failures")]
        assert total == [7, 3, 3, 1], doc
        assert sum(Decimal(str(p["saved_usd"])) for p in doc["points"]) == Decimal("0.2")
        assert doc["failures_by_kind"] == {"store": 1}, doc
