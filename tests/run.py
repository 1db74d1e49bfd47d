#!/usr/bin/env python3
"""Runs every test, layer by layer, against real MariaDB, spawn-fcgi,
nginx and Apache. Ends with "N passed, N failed" (", N skipped" when
the sanitizer pass leaves tests out, see below).

  unit   the C unit tests (tests/unit/, build/unit_tests)
  fuzz   the committed fuzz corpora replayed (tests/fuzz/)
  wire   tests/wire/test_*.py: the responder over its FastCGI socket
  e2e    tests/e2e/test_*.py: HTTP through nginx or Apache

A test is named LAYER.MODULE.FUNCTION (e2e.test_e2e.test_cache_hit);
-k runs those whose name holds SUBSTRING ("unit" and "fuzz" select the
first two layers).

unit and fuzz run first, here. The modules of wire and e2e then run in
-j worker processes (this script with --worker), a module whole in one
worker, the longest first. A worker is a session of its own: its own
temporary directory, MariaDB (a test may stop, freeze or reconfigure
it) and sanitizer report directory. Each test's line (and its
traceback) is printed when it ends. A test marked env.run_alone(why)
runs last, while no other test runs.

On a sanitizer build (make test's second pass) a test marked
env.plain_pass_only(why) is skipped: the rule is in tests/lib/env.py.

    python3 tests/run.py [--build DIR] [-k SUBSTRING] [--keep] [-j N]
"""

import argparse
import atexit
import ctypes
import glob
import importlib
import json
import os
import re
import selectors
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

# The Python layers: tests/<layer>/test_*.py.
LAYERS = ("wire", "e2e")

# The modules handed out first, the longest first (as measured on the
# plain build), so that the last to start are short and the run ends
# when its longest module does. Modules not listed follow, by name.
LONGEST_FIRST = ("e2e.test_deploy", "e2e.test_fronts", "e2e.test_money", "e2e.test_fal",
                 "e2e.test_warm",
                 "e2e.test_pages", "e2e.test_galera", "e2e.test_outage", "e2e.test_e2e",
                 "e2e.test_queue", "e2e.test_stats", "e2e.test_similar", "e2e.test_counts",
                 "e2e.test_lifecycle", "wire.test_fcgi")

# A worker's line that ends a test's output (RECORD + JSON): the parent
# prints what the worker wrote since its last record, as one block.
RECORD = "\x1e"

# How long the parent waits for its workers to stop their servers when
# the run is cut short, before it kills them (and then what they left).
WORKER_STOP_TIMEOUT = 90


def module_names():
    """Every test module, "layer.test_x", in a stable order."""
    names = []
    for layer in LAYERS:
        for path in sorted(glob.glob(os.path.join(HERE, layer, "test_*.py"))):
            names.append("%s.%s" % (layer, os.path.basename(path)[:-3]))
    return names


def tests_of(name):
    """The tests of module name ("e2e.test_x"): (full name, function)."""
    mod = importlib.import_module("tests." + name)
    # A copy: a warning during a test adds __warningregistry__.
    return [("%s.%s" % (name, fname), fn) for fname, fn in list(vars(mod).items())
            if fname.startswith("test_") and callable(fn)]


class Task:
    """Tests of one module for one worker, in the module's order; alone:
    run while no other test runs (env.run_alone)."""

    def __init__(self, module, tests, alone=False):
        self.module, self.tests, self.alone = module, tests, alone


def tasks(k, sanitized, tally):
    """The tasks of the selected tests, the longest modules first, then
    each test marked run_alone on its own. A test the sanitizer pass
    leaves out (env.plain_pass_only) is counted skipped here."""
    rank = {n: i for i, n in enumerate(LONGEST_FIRST)}
    now, last = [], []
    for name in sorted(module_names(), key=lambda n: (rank.get(n, len(rank)), n)):
        mine = []
        for full, fn in tests_of(name):
            if k and k not in full:
                continue
            why = getattr(fn, "plain_only", None) if sanitized else None
            if why:
                print("skip %-60s %s" % (full, why))
                tally.add(full, "skip")
            elif getattr(fn, "alone", None):
                last.append(Task(name, [full], alone=True))
            else:
                mine.append(full)
        if mine:
            now.append(Task(name, mine))
    return now + last


def is_sanitized(build):
    """Whether build's promptpix was linked with ASan or UBSan."""
    try:
        with open(os.path.join(build, "promptpix"), "rb") as f:
            data = f.read()
    except OSError:
        return False
    return b"__asan_init" in data or b"__ubsan_handle" in data


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
    fork). Each worker has its own. A report file that appears during a
    step fails that step. For a plain build the variables are inert."""

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


def record(**kw):
    print(RECORD + json.dumps(kw), flush=True)


# --- a worker ----------------------------------------------------------

def die_with_parent(parent):
    """Have the kernel send this worker SIGTERM when the parent dies (a
    kill -9 of the runner), so that it still stops its servers."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        raise SystemExit(128 + signal.SIGTERM)


def run_tests(env, san, module, names):
    """The tests named of module, one after the other, each ended by a
    record; the names of those that failed."""
    failures = []
    try:
        found = tests_of(module)
    except Exception:           # the module does not import: each test fails
        traceback.print_exc()
        found = [(full, None) for full in names]
    for full, fn in found:
        if full not in names:
            continue
        t0 = time.monotonic()
        try:
            if fn is None:
                raise AssertionError("%s did not import" % module)
            fn(env)
            reports = san.new_reports()
            if reports:
                raise AssertionError("sanitizer reports:\n" + "\n".join(reports))
            print("ok   %-60s %6.2fs" % (full, time.monotonic() - t0), flush=True)
            record(test=full, result="ok")
        except Exception:
            for r in san.new_reports():
                print(r)
            failures.append(full)
            print("FAIL %-60s %6.2fs" % (full, time.monotonic() - t0), flush=True)
            traceback.print_exc()
            sys.stderr.flush()
            record(test=full, result="fail")
    return failures


def worker(a):
    """--worker: run the tasks on stdin, one a line ({"module": name,
    "tests": [full names]}), until EOF, in one Env; report each test with
    a record, and each task's end."""
    die_with_parent(a.parent)
    servers.mark_run()
    san = Sanitizers()
    env = Env(a.build)
    failures = []
    try:
        for line in sys.stdin:
            task = json.loads(line)
            failures += run_tests(env, san, task["module"], task["tests"])
            record(module=task["module"])
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        servers.kill_all()
        keep = a.keep or bool(failures and os.environ.get("KEEP_ON_FAIL"))
        env.close(keep=keep)
        if keep:
            print("kept " + env.base)
        san.close()
        sys.stdout.flush()


# --- the parent --------------------------------------------------------

class Worker:
    """One worker process and what it is running."""

    def __init__(self, a):
        args = [sys.executable, os.path.abspath(__file__), "--worker", "--build", a.build,
                "--parent", str(os.getpid())]
        if a.keep:
            args.append("--keep")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT,
                                     env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.partial = b""
        self.block = []         # lines since the last record
        self.task = None        # what it runs, None when idle
        self.left = []          # the tests of task not reported yet
        self.done = False       # told there is nothing more

    def give(self, task):
        self.task, self.left = task, list(task.tests)
        line = json.dumps({"module": task.module, "tests": task.tests}) + "\n"
        try:
            self.proc.stdin.write(line.encode())
            self.proc.stdin.flush()
        except OSError:
            pass                # it died: ended() counts the tests failed

    def finish(self):
        """No more tasks: the worker stops its servers and exits."""
        self.done = True
        try:
            self.proc.stdin.close()
        except OSError:
            pass

    def lines(self):
        """The complete lines read now; [] and None at EOF."""
        data = os.read(self.proc.stdout.fileno(), 65536)
        if not data:
            rest, self.partial = self.partial, b""
            return [rest.decode(errors="replace")] if rest else None
        data = self.partial + data
        *done, self.partial = data.split(b"\n")
        return [d.decode(errors="replace") + "\n" for d in done]


class Tally:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.failures = []

    def add(self, name, result):
        if result == "ok":
            self.passed += 1
        elif result == "skip":
            self.skipped += 1
        else:
            self.failed += 1
            self.failures.append(name)


def dispatch(workers, todo):
    """Give the idle workers the next tasks: a task marked alone only
    when no other runs, and nothing beside it. Workers with nothing left
    to do are told so."""
    for w in workers:
        if w.task is not None or w.done or w.proc.poll() is not None:
            continue
        busy = [x.task for x in workers if x.task is not None]
        if not todo:
            w.finish()
        elif any(t.alone for t in busy) or (todo[0].alone and busy):
            return
        else:
            w.give(todo.pop(0))


def run_tasks(a, todo, tally):
    """Run the tasks in a.jobs workers, in order (see dispatch); print
    each test's block as its record arrives."""
    workers = []
    sel = selectors.DefaultSelector()
    try:
        for _ in range(min(a.jobs, len(todo))):
            w = Worker(a)
            workers.append(w)
            sel.register(w.proc.stdout, selectors.EVENT_READ, w)
        dispatch(workers, todo)
        live = len(workers)
        while live:
            for key, _ in sel.select():
                w = key.data
                got = w.lines()
                if got is None:
                    sel.unregister(w.proc.stdout)
                    live -= 1
                    ended(w, tally)
                    dispatch(workers, todo)
                    continue
                for line in got:
                    if not line.startswith(RECORD):
                        w.block.append(line)
                        continue
                    rec = json.loads(line[1:])
                    if "test" in rec:
                        sys.stdout.write("".join(w.block))
                        sys.stdout.flush()
                        w.block = []
                        tally.add(rec["test"], rec["result"])
                        if rec["test"] in w.left:
                            w.left.remove(rec["test"])
                    else:
                        w.task = None
                        dispatch(workers, todo)
    finally:
        # Cut short (a signal, Ctrl-C): each worker stops its servers;
        # the parent then ends what is still running (kill_all).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        stop_workers(workers)
    for t in todo:              # every worker gone before its turn
        for name in t.tests:
            print("FAIL %-60s (no worker left to run it)" % name, flush=True)
            tally.add(name, "fail")


def ended(w, tally):
    """Worker w's output ended: the rest of its lines, and every test of
    its module it did not report counted as failed."""
    w.proc.wait()
    w.task, w.done = None, True
    sys.stdout.write("".join(w.block))
    w.block = []
    for name in w.left:
        print("FAIL %-60s (worker exited with %d)" % (name, w.proc.returncode), flush=True)
        tally.add(name, "fail")
    w.left = []


def stop_workers(workers):
    """Have every worker still running stop (SIGTERM: it stops its
    servers), printing what they write meanwhile, so that none blocks on
    a full pipe; kill those not gone after WORKER_STOP_TIMEOUT."""
    live = [w for w in workers if w.proc.poll() is None]
    for w in live:
        w.finish()
        try:
            w.proc.send_signal(signal.SIGTERM)
        except OSError:
            pass
    end = time.monotonic() + WORKER_STOP_TIMEOUT
    sel = selectors.DefaultSelector()
    for w in live:
        sys.stdout.write("".join(w.block))
        w.block = []
        sel.register(w.proc.stdout, selectors.EVENT_READ, w)
    while sel.get_map() and time.monotonic() < end:
        for key, _ in sel.select(1):
            got = key.data.lines()
            if got is None:
                sel.unregister(key.fileobj)
            else:
                sys.stdout.write("".join(l for l in got if not l.startswith(RECORD)))
        sys.stdout.flush()
    for w in workers:
        try:
            w.proc.wait(max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            w.proc.kill()
            w.proc.wait()


def parent(a):
    servers.mark_run()
    tally = Tally()
    san = Sanitizers()
    sanitized = is_sanitized(a.build)
    t0 = time.monotonic()
    if not a.k or "unit" in a.k:
        p, f = run_unit(a.build)
        tally.passed, tally.failed = tally.passed + p, tally.failed + f
    if not a.k or "fuzz" in a.k:
        p, f = run_replays(a.build)
        tally.passed, tally.failed = tally.passed + p, tally.failed + f
    reports = san.new_reports()
    if reports:
        tally.failed += 1
        print("FAIL sanitizer reports from the unit tests or fuzz replays:")
        print("\n".join(reports))
    todo = tasks(a.k, sanitized, tally)
    n = len(todo)
    try:
        run_tasks(a, todo, tally)
    finally:
        servers.kill_all()
        san.close()
    if n:
        print("%d tasks in %d workers, %.0f s" % (n, min(a.jobs, n), time.monotonic() - t0))
    if tally.failures:
        print("failed: " + ", ".join(tally.failures))
    line = "%d passed, %d failed" % (tally.passed, tally.failed)
    if tally.skipped:
        line += ", %d skipped" % tally.skipped
    print(line)
    sys.exit(1 if tally.failed else 0)


def main():
    # Whatever ends the run, nothing it started is left running: the
    # servers stop as the stack unwinds, and kill_all() ends any group
    # still tracked and anything else this run started (servers.py).
    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGHUP, stopped)
    atexit.register(servers.kill_all)
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("-k", default="")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    ap.add_argument("-j", "--jobs", type=int, default=4,
                    help="worker processes for wire and e2e (default 4)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--parent", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.jobs = max(1, a.jobs)
    if a.worker:
        worker(a)
    else:
        parent(a)


if __name__ == "__main__":
    main()
