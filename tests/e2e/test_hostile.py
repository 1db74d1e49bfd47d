"""Hostile input is refused, and nothing is written (issue 6, promise 4).

Every request of tests/hostile/requests.txt goes through nginx to the
responders over a raw socket (most of them http.client would not even
send). For the [refused] section each must get its expected 4xx (or an
HTTP/0.9 answer without a status, where nginx reads a raw line break as
the end of the request), with no Location or Set-Cookie and nothing from
the files beside the store in the body; afterwards there is no row, no
file in the image store, no generation in the log, and the same
responder processes serve a valid request. The [valid] section holds
hostile-looking requests that are valid: each gets a real image, and the
database holds each prompt exactly as decoded (SQL text included).
"""

import codecs
import os
import re
import urllib.parse

from tests.lib import ROOT, images, rawhttp, servers

CORPUS = os.path.join(ROOT, "tests", "hostile", "requests.txt")
# Nothing of these may ever come back: the config and the responders'
# log sit beside the image store, /etc/passwd is the classic target.
LEAKS = (servers.DB_PASSWORD.encode(), b"[database]", b"root:x:0:0", b"promptpix[")


class Case:
    def __init__(self, section, lineno, fields):
        self.section = section
        self.line = lineno
        self.expect = fields[0]
        self.method = fields[1]
        self.target = fields[2]
        self.headers = []
        self.body = None
        for extra in fields[3:]:
            kind, _, value = extra.partition(b":")
            if kind == b"H":
                name, _, v = value.partition(b":")
                self.headers.append((name.strip(), v.strip()))
            elif kind == b"B":
                self.body = value
            else:
                raise ValueError("line %d: unknown field %r" % (lineno, extra))

    def request(self):
        if self.method == b"RAW":
            return self.target
        return rawhttp.build(self.method, self.target, self.headers, self.body)

    def uri(self):
        if self.method == b"RAW":
            return self.target.split(b"\r\n")[0].split()[1]
        return self.target

    def __repr__(self):
        return "line %d: %s %s %r" % (self.line, self.expect.decode(),
                                      self.method.decode("latin-1"), self.target[:120])


def unescape(field):
    """The field's bytes: {{N*text}} repeated, then backslash escapes."""
    field = re.sub(r"\{\{(\d+)\*(.*?)\}\}", lambda m: m.group(2) * int(m.group(1)), field)
    return codecs.escape_decode(field.encode("utf-8"))[0]


def load():
    cases, section = [], None
    with open(CORPUS, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            if line in ("[refused]", "[valid]"):
                section = line[1:-1]
                continue
            fields = [unescape(x) for x in re.split(r"[ \t]{2,}", line.strip())]
            if section is None or len(fields) < 3:
                raise ValueError("%s:%d: malformed line" % (CORPUS, n))
            cases.append(Case(section, n, fields))
    return cases


def expected_image(uri):
    """An independent reading of a valid image URL: the key the row is
    stored under, with the prompt as the responder must store it
    (percent-decoded once, '+' a space, spaces trimmed and collapsed).
    A raw '#' starts a fragment, which is not part of the request."""
    uri = uri.partition(b"#")[0]
    path, _, query = uri.partition(b"?")
    m = re.fullmatch(rb"/(\d+)x(\d+)\.(jpg|jpeg|png)", path, re.I)
    ext = m.group(3).lower().replace(b"jpeg", b"jpg")
    params = dict(p.split(b"=", 1) for p in query.split(b"&"))
    text = urllib.parse.unquote_to_bytes(params[b"text"].replace(b"+", b" "))
    prompt = b" ".join(w for w in text.split(b" ") if w)
    seed = params.get(b"seed")
    seed = int(urllib.parse.unquote_to_bytes(seed)) if seed is not None else None
    return (prompt, int(m.group(1)), int(m.group(2)), ext.decode(), seed)


def check_refused(f, case):
    r = rawhttp.send(f.port, case.request())
    what = "%r -> %r" % (case, r)
    assert not r.timed_out, "no answer in time: " + what
    if case.expect == b"none":
        assert r.status is None, what
    else:
        assert r.status == int(case.expect), what
    assert r.header("location") is None and r.header("set-cookie") is None, what
    for leak in LEAKS:
        assert leak not in r.raw, "leaked %r: %s" % (leak, what)


def store_files(f):
    return sorted(os.path.relpath(os.path.join(d, n), f.store)
                  for d, _, names in os.walk(f.store) for n in names
                  if n != "sentinel.txt")


def serving(f):
    """The responder PIDs, once the supervisor has forked them all."""
    servers.wait_until(lambda: len(f.pp.children()) == 2, 10, "2 responders")
    return sorted(f.pp.children())


def valid_request_works(f, prompt):
    r = rawhttp.send(f.port, rawhttp.build(b"GET", b"/64x64.png?text=" + prompt))
    assert r.status == 302, r
    img = f.get(r.header("location"))
    assert img.status == 200 and images.size(img.body) == ("png", 64, 64), img


def test_hostile_requests_refused_and_nothing_written(env):
    cases = [c for c in load() if c.section == "refused"]
    assert len(cases) >= 200, len(cases)
    # Many distinct valid images from one address: no rate limit here.
    with env.front(processes=2, overrides={("placeholder", "delay"): "0",
                                           ("limits", "new_images_per_minute"): 0}) as f:
        with open(os.path.join(f.store, "sentinel.txt"), "w") as s:
            s.write("sentinel\n")
        pids = serving(f)
        failures = []
        for case in cases:
            try:
                check_refused(f, case)
            except AssertionError as e:
                failures.append(str(e))
        assert not failures, "%d of %d:\n%s" % (len(failures), len(cases),
                                                "\n".join(failures))
        rows = f.sql("SELECT prompt, api_calls_made FROM generation_status")
        assert rows == [], "rows written: %r" % rows
        assert f.sql("SELECT COUNT(*) FROM image_cache") == [["0"]]
        assert store_files(f) == [], store_files(f)
        log = f.log()
        assert "outcome=generated" not in log and "Generation Status" not in log
        assert " ended (" not in log, "a responder died:\n" + log[-3000:]
        # The same processes are alive and answer.
        assert f.pp.proc.poll() is None
        assert sorted(f.pp.children()) == pids, (pids, f.pp.children())
        valid_request_works(f, b"still%20alive")
        assert f.sql("SELECT api_calls_made, total_requests FROM generation_status") == [["1", "1"]]
        assert sorted(f.pp.children()) == pids


def test_hostile_looking_valid_requests_stored_verbatim(env):
    cases = [c for c in load() if c.section == "valid"]
    # Many distinct valid images from one address: no rate limit here.
    with env.front(processes=2, overrides={("placeholder", "delay"): "0",
                                           ("limits", "new_images_per_minute"): 0}) as f:
        pids = serving(f)
        want = {}
        for case in cases:
            r = rawhttp.send(f.port, case.request())
            assert r.status == 302, (case, r)
            loc = r.header("location")
            assert re.fullmatch(r"/img/[0-9a-f]{2}/[0-9a-f]{64}\.jpg", loc), (case, loc)
            assert r.header("set-cookie") is None, (case, r)
            want.setdefault(expected_image(case.uri()), set()).add(loc)
        # One image per distinct request, under one name each.
        assert all(len(locs) == 1 for locs in want.values()), want
        for locs in want.values():
            assert os.path.isfile(os.path.join(f.store, locs.pop()[len("/img/"):]))
        # The prompts exactly as decoded, read back as bytes (HEX) so
        # that nothing of the client's escaping gets in the way.
        rows = f.sql("SELECT HEX(prompt), width, height, format, seed, status,"
                     " api_calls_made FROM generation_status")
        # None (no seed) sorts before every seed.
        key = lambda t: t[:4] + ((0, 0) if t[4] is None else (1, t[4]),)
        got = sorted(((bytes.fromhex(p), int(w), int(h), fmt, None if s is None else int(s))
                      for p, w, h, fmt, s, _, _ in rows), key=key)
        assert got == sorted(want, key=key), "\n%r\n!=\n%r" % (got, sorted(want, key=key))
        assert {(r[5], r[6]) for r in rows} == {("completed", "1")}, rows
        assert int(f.sql("SELECT SUM(total_requests) FROM generation_status")[0][0]) == len(cases)
        assert sorted(f.pp.children()) == pids
