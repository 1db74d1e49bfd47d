"""The promptpix config a test or the demo runs: the shipped
conf/promptpix.conf with some settings changed, and the password file
it may name."""

import os
import re

from . import ROOT


def write_conf(path, overrides):
    """conf/promptpix.conf with overrides {(section, key): value}: the
    shipped file is what the tests run."""
    text = open(os.path.join(ROOT, "conf", "promptpix.conf")).read()
    for (sec, key), val in overrides.items():
        block = re.search(r"(?ms)^\[%s\]\n(.*?)(?=^\[|\Z)" % re.escape(sec), text)
        if block is None:
            text += "\n[%s]\n%s = %s\n" % (sec, key, val)
            continue
        body = block.group(1)
        pat = re.compile(r"(?m)^;?%s\s*=.*$" % re.escape(key))
        if pat.search(body):
            body = pat.sub(lambda m: "%s = %s" % (key, val), body, count=1)
        else:
            body = "%s = %s\n" % (key, val) + body
        text = text[:block.start(1)] + body + text[block.end(1):]
    with open(path, "w") as f:
        f.write(text)


def write_secret(path, secret):
    """secret as the one line of path, readable by its owner only (a
    [database] password_file)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    os.chmod(path, 0o600)
