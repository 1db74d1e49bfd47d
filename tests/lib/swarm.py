"""Many HTTP clients at once without a thread each, for the tests and the
bench: one thread drives raw non-blocking sockets."""

import errno
import re
import resource
import selectors
import socket
import threading
import time


def raise_fd_limit():
    """As many descriptors as the hard limit allows: each client is one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Swarm:
    """Each client sends one GET (Connection: close) and reads its answer
    to EOF. results[i] is (status, ms from start to the answer) for
    targets[i]; status is an int, or a word for a socket failure
    ("reset", "refused", "timeout", ...). answers[i] is the whole answer
    (headers and body) when keep=True."""

    def __init__(self, port, targets, timeout=90.0, burst=100, keep=False):
        self.port, self.targets, self.timeout, self.burst = port, targets, timeout, burst
        self.keep = keep
        self.results = [None] * len(targets)
        self.answers = [None] * len(targets)
        self.sent = 0           # requests written
        self.answered = 0       # answers read (or failures)
        self.thread = threading.Thread(target=self._run, daemon=True)
        raise_fd_limit()

    def start(self):
        self.t0 = time.monotonic()
        self.thread.start()
        return self

    def join(self, timeout=None):
        self.thread.join(timeout)
        return self.results

    def _done(self, sel, sock, i, what, buf=None):
        sel.unregister(sock)
        sock.close()
        self.results[i] = (what, (time.monotonic() - self.t0) * 1000)
        if self.keep and buf is not None:
            self.answers[i] = bytes(buf)
        self.answered += 1

    def _connect(self, sel, i):
        s = socket.socket()
        s.setblocking(False)
        rc = s.connect_ex(("127.0.0.1", self.port))
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            self.results[i] = (errno.errorcode.get(rc, str(rc)), 0.0)
            self.answered += 1
            return
        sel.register(s, selectors.EVENT_WRITE, [i, bytearray()])

    def _step(self, sel, key):
        s, (i, buf) = key.fileobj, key.data
        if key.events & selectors.EVENT_WRITE:
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self._done(sel, s, i, errno.errorcode.get(err, str(err)))
                return
            s.send(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                    % self.targets[i]).encode())
            self.sent += 1
            sel.modify(s, selectors.EVENT_READ, key.data)
            return
        try:
            d = s.recv(65536)
        except OSError as e:
            self._done(sel, s, i, errno.errorcode.get(e.errno, "error"))
            return
        if d:
            buf += d
            return
        m = re.match(rb"HTTP/1\.[01] (\d{3})", bytes(buf))
        self._done(sel, s, i, int(m.group(1)) if m else "no answer", buf)

    def _run(self):
        sel = selectors.DefaultSelector()
        todo = list(range(len(self.targets)))[::-1]
        end = self.t0 + self.timeout
        while (todo or sel.get_map()) and time.monotonic() < end:
            for _ in range(min(self.burst, len(todo))):
                self._connect(sel, todo.pop())
            for key, _ in sel.select(0.001 if todo else 0.05):
                self._step(sel, key)
        for key in list(sel.get_map().values()):
            self._done(sel, key.fileobj, key.data[0], "timeout")

    def statuses(self):
        """{status: count} of the answers so far."""
        c = {}
        for r in self.results:
            if r is not None:
                c[r[0]] = c.get(r[0], 0) + 1
        return dict(sorted(c.items(), key=lambda kv: str(kv[0])))

    def header(self, i, name):
        """The value of header name in answer i (keep=True), or None."""
        m = re.search(rb"^%s: ([^\r\n]*)\r?$" % re.escape(name.encode()),
                      self.answers[i] or b"", re.M | re.I)
        return m.group(1).decode() if m else None
