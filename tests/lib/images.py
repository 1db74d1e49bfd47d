"""Read the real pixel size of JPEG and PNG bytes, to check that what we
serve is the image asked for."""

import struct


def size(data):
    """(format, width, height), or raises ValueError."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        w, h = struct.unpack(">II", data[16:24])
        return "png", w, h
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                raise ValueError("bad JPEG marker")
            marker = data[i + 1]
            seglen = struct.unpack(">H", data[i + 2:i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                h, w = struct.unpack(">HH", data[i + 5:i + 9])
                return "jpeg", w, h
            i += 2 + seglen
        raise ValueError("no JPEG frame header")
    raise ValueError("not a JPEG or PNG image")
