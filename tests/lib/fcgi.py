"""A FastCGI client (the protocol spoken by nginx and Apache), to drive
the responder over its real socket without a web server in between."""

import socket
import struct

VERSION = 1
BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 2, 3, 4, 5, 6, 7
RESPONDER = 1


def _record(rtype, req_id, content):
    out = b""
    # Content is split into records of at most 65535 bytes.
    for i in range(0, max(len(content), 1), 65535):
        chunk = content[i:i + 65535]
        pad = (8 - len(chunk) % 8) % 8
        out += struct.pack("!BBHHBx", VERSION, rtype, req_id, len(chunk), pad)
        out += chunk + b"\0" * pad
        if not content:
            break
    return out


def _nv_len(n):
    return bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)


def encode_params(params):
    out = b""
    for k, v in params.items():
        k = k.encode() if isinstance(k, str) else k
        v = v.encode() if isinstance(v, str) else v
        out += _nv_len(len(k)) + _nv_len(len(v)) + k + v
    return out


def request(sock_path, params, stdin=b"", timeout=30):
    """Send one request; return (status, headers dict, body bytes, stderr)."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(sock_path)
    try:
        msg = _record(BEGIN_REQUEST, 1, struct.pack("!HB5x", RESPONDER, 0))
        msg += _record(PARAMS, 1, encode_params(params)) + _record(PARAMS, 1, b"")
        if stdin:
            msg += _record(STDIN, 1, stdin)
        msg += _record(STDIN, 1, b"")
        s.sendall(msg)
        out, err, buf = b"", b"", b""
        while True:
            while len(buf) < 8:
                d = s.recv(65536)
                if not d:
                    raise ConnectionError("connection closed before END_REQUEST")
                buf += d
            _, rtype, _, clen, pad = struct.unpack("!BBHHBx", buf[:8])
            while len(buf) < 8 + clen + pad:
                d = s.recv(65536)
                if not d:
                    raise ConnectionError("truncated record")
                buf += d
            content, buf = buf[8:8 + clen], buf[8 + clen + pad:]
            if rtype == STDOUT:
                out += content
            elif rtype == STDERR:
                err += content
            elif rtype == END_REQUEST:
                break
    finally:
        s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n"):
        k, _, v = line.partition(b":")
        headers[k.strip().lower().decode()] = v.strip().decode("latin-1")
    status = int(headers.get("status", "200").split()[0])
    return status, headers, body, err


def get(sock_path, uri, method="GET", extra=None, stdin=b""):
    """Ask as nginx's fastcgi_params would for uri."""
    path, _, query = uri.partition("?")
    params = {
        "REQUEST_METHOD": method, "REQUEST_URI": uri, "QUERY_STRING": query,
        "SCRIPT_NAME": path, "DOCUMENT_URI": path, "SERVER_PROTOCOL": "HTTP/1.1",
        "GATEWAY_INTERFACE": "CGI/1.1", "REMOTE_ADDR": "127.0.0.1",
        "SERVER_NAME": "localhost", "SERVER_PORT": "80",
    }
    if stdin:
        params["CONTENT_LENGTH"] = str(len(stdin))
    params.update(extra or {})
    return request(sock_path, params, stdin)
