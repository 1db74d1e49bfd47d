"""The examples of the manual (README.md and docs/*.md), as the tests
run them: fenced blocks with their language and the marker before them.

A shell block of an install guide is preceded by a marker line that says
who runs it: `<!-- test: NAME -->` (the test that runs it, in order with
the other blocks of NAME) or `<!-- not run: REASON -->`."""

import glob
import os
import re

from . import ROOT

GUIDES = ("install-vps.md", "install-apache.md", "shared-hosting.md")
_FENCE = re.compile(r"(?m)^( *)```(\w*)\n(.*?)^\1```\n", re.S)
_MARK = re.compile(r"<!-- (test|not run): ?(.*?) -->\s*$")


class Block:
    def __init__(self, path, line, lang, text, mark, arg):
        self.path, self.line, self.lang, self.text = path, line, lang, text
        self.mark, self.arg = mark, arg       # "test" NAME, "not run" REASON, or None

    def where(self):
        return "%s:%d" % (os.path.relpath(self.path, ROOT), self.line)


def pages():
    """README.md and every page of docs/."""
    return [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))


def blocks(path):
    """The fenced blocks of path, in order, their indentation removed."""
    text = open(path).read()
    out = []
    for m in _FENCE.finditer(text):
        indent = len(m.group(1))
        body = "".join(l[indent:] + "\n" for l in m.group(3).split("\n")[:-1])
        before = text[:m.start()].rstrip("\n").split("\n")[-1].strip()
        mk = _MARK.match(before)
        out.append(Block(path, text.count("\n", 0, m.start()) + 1, m.group(2), body,
                         mk.group(1) if mk else None, mk.group(2) if mk else None))
    return out


def guide_blocks(name):
    """The shell blocks marked `<!-- test: name -->`, in the guides' order."""
    found = []
    for g in GUIDES + ("operations.md",):
        found += [b for b in blocks(os.path.join(ROOT, "docs", g))
                  if b.lang == "sh" and b.mark == "test" and name in b.arg.split()]
    return found


# A line that ends in "# 302" (a status) checks that status: the line's
# output must show it.
_STATUS = re.compile(r"^(.*?\S)\s+# ([1-5][0-9][0-9])\s*$")


def with_status_checks(script):
    """script with each line ending in "# NNN" made to fail unless its
    output (an HTTP status line) holds NNN."""
    out = []
    for line in script.replace("\\\n", " ").split("\n"):
        m = _STATUS.match(line)
        if m:
            line = ('st=$(%s); case "$st" in *" %s"*) ;; *) echo "expected %s: $st" >&2; '
                    'exit 1;; esac' % (m.group(1), m.group(2), m.group(2)))
        out.append(line)
    return "\n".join(out)
