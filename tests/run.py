#!/usr/bin/env python3
"""Runs every test, layer by layer, against real MariaDB, spawn-fcgi,
nginx and Apache. Ends with "N passed, N failed".

  unit   the C unit tests (tests/unit/, build/unit_tests)
  fuzz   the committed fuzz corpora replayed (tests/fuzz/)
  wire   tests/wire/test_*.py: the responder over its FastCGI socket
  e2e    tests/e2e/test_*.py: HTTP through nginx or Apache

A test is named LAYER.MODULE.FUNCTION (e2e.test_e2e.test_cache_hit);
-k runs those whose name holds SUBSTRING ("unit" and "fuzz" select the
first two layers).

    python3 tests/run.py [--build DIR] [-k SUBSTRING] [--keep]
"""

import argparse
import atexit
import glob
import importlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from tests.lib import servers  # noqa: E402
from tests.lib.env import Env  # noqa: E402

# The Python layers, in the order they run: tests/<layer>/test_*.py.
LAYERS = ("wire", "e2e")


def test_modules():
    """The test modules of every layer, imported."""
    for layer in LAYERS:
        for path in sorted(glob.glob(os.path.join(HERE, layer, "test_*.py"))):
            yield importlib.import_module(
                "tests.%s.%s" % (layer, os.path.basename(path)[:-3]))


def run_unit(build):
    exe = os.path.join(build, "unit_tests")
    out = subprocess.run([exe], capture_output=True, text=True)
    sys.stdout.write(out.stdout)
    sys.stdout.write(out.stderr)
    m = re.search(r"^unit: (\d+) passed, (\d+) failed$", out.stdout, re.M)
    if not m:
        return 0, 1
    return int(m.group(1)), int(m.group(2)) + (1 if out.returncode not in (0, 1) else 0)


def run_replays(build):
    """Replay each committed fuzz corpus (tests/fuzz/corpus/<target>/)
    through its harness built without libFuzzer (build/replay_<target>).
    A corpus whose harness is not built is skipped."""
    passed = failed = 0
    for corpus in sorted(glob.glob(os.path.join(HERE, "fuzz", "corpus", "*"))):
        target = os.path.basename(corpus)
        exe = os.path.join(build, "replay_" + target)
        if not os.path.exists(exe):
            continue
        out = subprocess.run([exe, corpus], capture_output=True, text=True)
        ok = out.returncode == 0
        print("%s fuzz replay %-10s %s" % ("ok  " if ok else "FAIL", target,
                                            out.stdout.strip()), flush=True)
        if not ok:
            sys.stdout.write(out.stderr[-4000:])
        passed, failed = passed + ok, failed + (not ok)
    return passed, failed


class Sanitizers:
    """Where an ASan/UBSan build (make test's second pass) writes its
    reports: one file per reporting process in a directory of our own,
    named in ASAN_OPTIONS/UBSAN_OPTIONS, which every process started from
    here inherits (the responders through spawn-fcgi and the supervisor's
    fork). A report file that appears during a step fails that step. For
    a plain build the variables are inert."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="promptpix-san-")
        log = "log_path=%s/report" % self.dir
        os.environ["ASAN_OPTIONS"] = ":".join([
            log, "halt_on_error=1", "detect_leaks=1",
            "detect_stack_use_after_return=1", "strict_string_checks=1",
            "check_initialization_order=1"])
        os.environ["UBSAN_OPTIONS"] = ":".join([
            log, "halt_on_error=1", "print_stacktrace=1"])
        os.environ["LSAN_OPTIONS"] = log
        self.seen = set()

    def new_reports(self):
        """Texts of the report files written since the last call."""
        names = sorted(set(os.listdir(self.dir)) - self.seen)
        self.seen.update(names)
        texts = []
        for n in names:
            with open(os.path.join(self.dir, n), errors="replace") as f:
                texts.append("%s:\n%s" % (n, f.read()[:20000]))
        return texts

    def close(self):
        if not os.listdir(self.dir):
            os.rmdir(self.dir)
        else:
            print("sanitizer reports kept in " + self.dir)


def stopped(sig, frame):
    """SIGTERM or SIGHUP: unwind as Ctrl-C does, so every test's servers
    and the session's MariaDB are stopped on the way out."""
    raise SystemExit(128 + sig)


def main():
    # Whatever ends the run, nothing it started is left running: the
    # servers stop as the stack unwinds, and kill_all() ends any group
    # still tracked (a test that did not stop its own).
    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGHUP, stopped)
    atexit.register(servers.kill_all)
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("-k", default="")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    a = ap.parse_args()
    passed = failed = 0
    san = Sanitizers()
    if not a.k or "unit" in a.k:
        p, f = run_unit(a.build)
        passed, failed = passed + p, failed + f
    if not a.k or "fuzz" in a.k:
        p, f = run_replays(a.build)
        passed, failed = passed + p, failed + f
    reports = san.new_reports()
    if reports:
        failed += 1
        print("FAIL sanitizer reports from the unit tests or fuzz replays:")
        print("\n".join(reports))
    env = Env(a.build)
    failures = []
    try:
        for mod in test_modules():
            # A copy: a warning during a test adds __warningregistry__.
            for name, fn in list(vars(mod).items()):
                if not name.startswith("test_") or not callable(fn):
                    continue
                full = "%s.%s" % (mod.__name__[6:], name)
                if a.k and a.k not in full:
                    continue
                t0 = time.monotonic()
                try:
                    fn(env)
                    reports = san.new_reports()
                    if reports:
                        raise AssertionError("sanitizer reports:\n" + "\n".join(reports))
                    passed += 1
                    print("ok   %-60s %6.2fs" % (full, time.monotonic() - t0), flush=True)
                except Exception:
                    for r in san.new_reports():
                        print(r)
                    failed += 1
                    failures.append(full)
                    print("FAIL %-60s %6.2fs" % (full, time.monotonic() - t0), flush=True)
                    traceback.print_exc()
    finally:
        # Signals now would cut the cleanup short: let it finish.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        servers.kill_all()
        env.close(keep=a.keep or bool(failures and os.environ.get("KEEP_ON_FAIL")))
        san.close()
    if failures:
        print("failed: " + ", ".join(failures))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
