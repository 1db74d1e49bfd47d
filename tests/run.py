#!/usr/bin/env python3
"""Runs every test: the C unit tests, then the tests/test_*.py modules
against real MariaDB, spawn-fcgi and nginx. Ends with "N passed, N failed".

    python3 tests/run.py [--build DIR] [-k SUBSTRING] [--keep]
"""

import argparse
import glob
import importlib
import os
import re
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from tests.lib.env import Env  # noqa: E402


def run_unit(build):
    exe = os.path.join(build, "unit_tests")
    out = subprocess.run([exe], capture_output=True, text=True)
    sys.stdout.write(out.stdout)
    sys.stdout.write(out.stderr)
    m = re.search(r"^unit: (\d+) passed, (\d+) failed$", out.stdout, re.M)
    if not m:
        return 0, 1
    return int(m.group(1)), int(m.group(2)) + (1 if out.returncode not in (0, 1) else 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("-k", default="")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    a = ap.parse_args()
    passed = failed = 0
    if not a.k or "unit" in a.k:
        p, f = run_unit(a.build)
        passed, failed = passed + p, failed + f
    env = Env(a.build)
    failures = []
    try:
        for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
            mod = importlib.import_module("tests." + os.path.basename(path)[:-3])
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
                    passed += 1
                    print("ok   %-60s %6.2fs" % (full, time.monotonic() - t0), flush=True)
                except Exception:
                    failed += 1
                    failures.append(full)
                    print("FAIL %-60s %6.2fs" % (full, time.monotonic() - t0), flush=True)
                    traceback.print_exc()
    finally:
        env.close(keep=a.keep or bool(failures and os.environ.get("KEEP_ON_FAIL")))
    if failures:
        print("failed: " + ", ".join(failures))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
