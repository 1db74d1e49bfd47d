"""An HTTP client for well-formed requests (http.client), one fresh
connection each; rawhttp.py sends the bytes http.client refuses to."""

import concurrent.futures
import http.client
import threading
import time


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "<%d %r %r>" % (self.status, self.headers, self.body[:200])


def get(port, target, method="GET", headers=None, timeout=60, body=None):
    """One request to 127.0.0.1:port on a fresh connection; redirects
    are not followed."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.putrequest(method, target, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            c.putheader(k, v)
        if body is not None:
            c.putheader("Content-Length", str(len(body)))
        c.endheaders(body)
        r = c.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        c.close()


def fire_pairs(pairs, method="GET"):
    """Send every (front, target) of pairs at once (one thread each,
    released together by one barrier); the responses in order, each with
    .elapsed."""
    barrier = threading.Barrier(len(pairs))

    def one(pair):
        front, target = pair
        barrier.wait()
        t0 = time.monotonic()
        r = front.get(target, method=method)
        r.elapsed = time.monotonic() - t0
        return r

    with concurrent.futures.ThreadPoolExecutor(len(pairs)) as ex:
        return list(ex.map(one, pairs))


def fire(f, targets, method="GET"):
    """Send all targets at once through f.get (a front); each response
    gets .elapsed."""
    return fire_pairs([(f, t) for t in targets], method)


def fire_over(fronts, targets):
    """Send all targets at once, target i through fronts[i % len]."""
    return fire_pairs([(fronts[i % len(fronts)], t) for i, t in enumerate(targets)])
