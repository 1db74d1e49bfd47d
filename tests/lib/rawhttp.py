"""Raw HTTP/1.1 over a socket, for requests http.client will not send
(CR/LF or NUL in the target, bad methods, absurd Content-Length, two
requests in one) and for reading whatever comes back."""

import re
import socket


class RawResponse:
    def __init__(self, raw):
        self.raw = raw
        self.timed_out = False
        self.status = None
        self.headers = {}
        self.body = b""
        head, sep, self.body = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
            self.status = int(parts[1])
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            self.headers.setdefault(k.strip().lower().decode("latin-1"), []).append(
                v.strip().decode("latin-1"))

    def header(self, name):
        v = self.headers.get(name.lower())
        return v[0] if v else None

    def __repr__(self):
        return "<%s%s %r>" % (self.status, " timed out" if self.timed_out else "",
                               self.raw[:300])


def build(method, target, headers=(), body=None):
    """The bytes of one request: Host and Connection: close unless given,
    Content-Length for a body unless a length or coding is given."""
    names = {k.lower() for k, _ in headers}
    out = [method + b" " + target + b" HTTP/1.1"]
    if b"host" not in names:
        out.append(b"Host: localhost")
    if b"connection" not in names:
        out.append(b"Connection: close")
    for k, v in headers:
        out.append(k + b": " + v)
    if body is not None and not names & {b"content-length", b"transfer-encoding"}:
        out.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(out) + b"\r\n\r\n" + (body or b"")


def complete(raw):
    """Has raw a whole response? Then there is no need to wait for the
    server to close (after refusing a body, nginx lingers for 5 s)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return False
    m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    if m:
        return len(body) >= int(m.group(1))
    if re.search(rb"(?im)^transfer-encoding:\s*chunked\s*$", head):
        return body.endswith(b"0\r\n\r\n")
    return False


def send(port, data, timeout=30):
    """Send data, read until a whole response is in or the server closes;
    a RawResponse (status None when no status line came back)."""
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass    # the server answered and closed before reading it all
        try:
            while not complete(b"".join(chunks)):
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        except ConnectionResetError:
            pass
        except socket.timeout:
            r = RawResponse(b"".join(chunks))
            r.timed_out = True
            return r
    return RawResponse(b"".join(chunks))
