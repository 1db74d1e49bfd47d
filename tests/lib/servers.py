"""Real servers for tests and the demo: MariaDB, spawn-fcgi + promptpix,
and the web servers (Server: nginx here, Apache in apache.py). Each runs
from a private directory on free loopback ports and is stopped by
stop(). Nothing here is a mock: only the paid image API is ever replaced
(tests/lib/falstub.py)."""

import contextlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

from . import ROOT

DB_PASSWORD = "pp-test-secret-7f3a9c"   # grepped for in logs by the tests


# Ports for the servers a test starts come from below the kernel's
# ephemeral range (32768-60999 on Debian), which every outgoing
# connection draws its local port from: a port the kernel picked as
# free could be some client's a moment later, before the server binds
# it. Each worker of run.py has a band of its own (PROMPTPIX_PORT_BAND),
# walked in order, so two workers never pick the same port either.
PORT_FIRST, PORT_BANDS, PORT_BAND_SIZE = 10000, 8, 2800
_next_port = None


def free_port():
    global _next_port
    band = int(os.environ.get("PROMPTPIX_PORT_BAND", os.getpid() % PORT_BANDS))
    lo = PORT_FIRST + (band % PORT_BANDS) * PORT_BAND_SIZE
    if _next_port is None:
        _next_port = random.randrange(PORT_BAND_SIZE)
    for _ in range(PORT_BAND_SIZE):
        port = lo + _next_port
        _next_port = (_next_port + 1) % PORT_BAND_SIZE
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port in %d-%d" % (lo, lo + PORT_BAND_SIZE - 1))


def wait_until(pred, timeout, what):
    """Wait for a server to come up: there is no event to wait on for a
    process binding its port, so poll briefly."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if pred():
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError("timed out waiting for " + what)


def can_connect(addr):
    fam = socket.AF_UNIX if isinstance(addr, str) else socket.AF_INET
    with socket.socket(fam) as s:
        s.settimeout(0.5)
        s.connect(addr)
    return True


# The process groups this run started (each server is the leader of a
# session of its own) and has not seen end yet, with the leader's Popen
# when there is one: kill_all() ends them when the run ends any other way
# (tests/run.py: SIGTERM, SIGHUP, SIGINT, an exception, atexit).
_groups = {}

# Every process a run starts carries its marks in its environment (the
# run's, and each enclosing run's: a suite started by a test of another
# suite), so that kill_all() also finds what was never tracked: a server
# whose start a signal cut short, a daemon that left its parent.
RUN_MARK = "PROMPTPIX_TEST_RUN"
_marks = []


def mark_run():
    """Mark this process's environment, and so every process started
    from now on, as this run's (tests/run.py, at its start)."""
    mark = "%d-%d" % (os.getpid(), time.time_ns())
    os.environ[RUN_MARK] = (os.environ.get(RUN_MARK, "") + " " + mark).strip()
    _marks.append(mark)


def track(pgid, proc=None):
    """Remember process group pgid (led by proc, a Popen, if given)
    until it has ended."""
    _groups[pgid] = proc
    return pgid


def group_alive(pgid):
    """Whether a process of group pgid is left. A leader that is this
    process's child counts until it is reaped: kill_group() reaps it."""
    try:
        os.killpg(pgid, 0)
        return True
    except OSError:
        return False


def term_then_kill(send, alive, timeout):
    """send(SIGTERM) and wait up to timeout while alive(); then the same
    with SIGKILL. send returns False when there was nothing to signal."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not send(sig):
            return
        end = time.monotonic() + timeout
        while time.monotonic() < end and alive():
            time.sleep(0.02)
        if not alive():
            return


def threads_of(pid):
    """The threads of process pid now (0 once it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as fh:
            m = re.search(r"^Threads:\s+(\d+)", fh.read(), re.M)
    except OSError:
        return 0
    return int(m.group(1)) if m else 0


def freeze(pid, timeout=5):
    """SIGSTOP pid and wait until every thread of it has stopped: a
    thread busy on a CPU finishes what it was doing first (a statement
    and its answer) under load."""
    os.kill(pid, signal.SIGSTOP)

    def stopped():
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
            if state not in ("T", "t"):
                return False
        return True
    wait_until(stopped, timeout, "process %d stopped" % pid)


def kill_group(pgid, timeout=5):
    """SIGTERM every process of group pgid, SIGKILL what outlives
    timeout (a bare libfcgi responder ignores SIGTERM)."""
    proc = _groups.get(pgid)

    def send(sig):
        try:
            os.killpg(pgid, sig)
            return True
        except OSError:
            return False

    def alive():
        if proc is not None:
            proc.poll()         # reap the leader once it has exited
        return group_alive(pgid)
    term_then_kill(send, alive, timeout)
    _groups.pop(pgid, None)


def _stat(pid):
    """(state, session) of process pid (see proc(5))."""
    with open("/proc/%d/stat" % pid) as fh:
        f = fh.read().rsplit(")", 1)[1].split()
    return f[0], int(f[3])


def marked():
    """The live processes, other than this one, that this run started:
    those whose environment holds one of its marks, and every process in
    a session one of them leads (mod_fcgid's processes get an
    environment of their own from Apache, but stay in its session)."""
    if not _marks:
        return []
    want = [m.encode() for m in _marks]
    procs, leaders = {}, set()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        pid = int(d)
        try:
            state, sid = _stat(pid)
            if state == "Z":
                continue        # dead, not yet reaped
            procs[pid] = sid
            with open("/proc/%d/environ" % pid, "rb") as fh:
                env = fh.read().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        for v in env:
            if v.startswith(RUN_MARK.encode() + b"=") and \
                    any(m in v.split(b"=", 1)[1].split() for m in want):
                leaders.add(pid)
    return [p for p, sid in procs.items() if p in leaders or sid in leaders]


def sweep(timeout=5):
    """SIGTERM what marked() finds, SIGKILL what outlives timeout."""
    def send(sig):
        pids = marked()
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        return bool(pids)
    term_then_kill(send, lambda: bool(marked()), timeout)


def kill_all():
    """Every process group still tracked, then anything else this run
    started, ended."""
    for pgid in list(_groups):
        kill_group(pgid)
    sweep()


@contextlib.contextmanager
def signals_held():
    """The body runs to its end before SIGTERM, SIGHUP or SIGINT is
    handled: one that arrives meanwhile is raised again after it. A
    handler that unwound the run from inside subprocess.Popen would
    leave a process started but not tracked. Only the main thread
    handles signals; elsewhere this holds nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got = []
    old = {}
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        h = signal.getsignal(s)
        if h is None:           # a handler not set from Python: leave it
            continue
        old[s] = h
        signal.signal(s, lambda n, f: got.append(n))
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if got:
            signal.raise_signal(got[0])


def popen(args, **kw):
    """subprocess.Popen in a session of its own, tracked for kill_all()
    before any signal can unwind the caller."""
    with signals_held():
        proc = subprocess.Popen(args, start_new_session=True, **kw)
        track(proc.pid, proc)
    return proc


def stop_process(proc, timeout=10):
    """SIGTERM proc; SIGKILL its process group if it outlives timeout.
    What is left of its group after it exits (a child that outlived
    it) is ended too. The group stays tracked until it has ended."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                proc.kill()
            proc.wait()
    kill_group(proc.pid)


def read_text(path):
    """A log file's text, or "" if there is none yet."""
    try:
        return open(path, errors="replace").read()
    except OSError:
        return ""


def which(*names):
    for n in names:
        p = shutil.which(n) or (os.path.exists("/usr/sbin/" + n) and "/usr/sbin/" + n)
        if p:
            return p
    raise RuntimeError("none of %s is installed (make deps)" % (names,))


class MariaDB:
    """A private mariadbd with its own datadir, socket and port. A
    subclass may add server options (server_args), say when the server
    is ready to serve (ready) and how its datadir is made (install):
    galera.py's cluster nodes do."""

    start_timeout = 60

    def __init__(self, base, keep=False):
        self.dir = os.path.join(base, "mysql")
        self.datadir = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mysqld.sock")
        # Temporary tables in a directory of its own: a MariaDB starting
        # up removes every #sql* file in its tmpdir, another server's too.
        self.tmpdir = os.path.join(self.dir, "tmp")
        self.host = "127.0.0.1"
        self.port = free_port()
        self.proc = None
        self.keep = keep

    def install(self, log):
        """Make the datadir of a new server (its system tables)."""
        out = subprocess.run(
            [which("mariadb-install-db", "mysql_install_db"), "--no-defaults",
             "--datadir=" + self.datadir, "--user=root", "--skip-test-db",
             "--auth-root-authentication-method=socket"],
            stdout=log, stderr=log, env=dict(os.environ, TMPDIR=self.tmpdir))
        if out.returncode != 0:
            raise RuntimeError("mariadb-install-db in %s exited with %d:\n%s" % (
                self.dir, out.returncode, read_text(log.name)[-3000:]))

    def server_args(self):
        """mariadbd options beyond the ones every private server has."""
        return []

    def ready(self):
        """Whether the server, accepting connections, serves queries."""
        return self.query("SELECT 1") == [["1"]]

    def error_log(self):
        return read_text(os.path.join(self.dir, "error.log"))

    def start(self):
        os.makedirs(self.tmpdir, exist_ok=True)
        log = open(os.path.join(self.dir, "install.log"), "w")
        if not os.path.isdir(os.path.join(self.datadir, "mysql")):
            self.install(log)
        args = [which("mariadbd", "mysqld"), "--no-defaults",
                "--datadir=" + self.datadir, "--socket=" + self.socket,
                "--port=%d" % self.port, "--bind-address=" + self.host,
                "--pid-file=" + os.path.join(self.dir, "mysqld.pid"),
                "--tmpdir=" + self.tmpdir,
                "--log-error=" + os.path.join(self.dir, "error.log"),
                "--skip-name-resolve", "--skip-log-bin",
                "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M",
                "--innodb-flush-log-at-trx-commit=2", "--max-connections=600"]
        if os.geteuid() == 0:
            args.append("--user=root")
        args += self.server_args()
        self.proc = popen(args, stdout=log, stderr=log)

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError("mariadbd in %s exited with %d:\n%s" % (
                    self.dir, self.proc.returncode, self.error_log()[-4000:]))
            return can_connect(self.socket) and self.ready()
        try:
            wait_until(up, self.start_timeout, "mariadbd")
        except RuntimeError as e:
            if self.proc.poll() is not None:
                raise
            raise RuntimeError("%s in %s:\n%s" % (e, self.dir, self.error_log()[-4000:]))

    def client(self, db=None):
        a = [which("mariadb", "mysql"), "--no-defaults", "--socket=" + self.socket,
             "-uroot", "-N", "-B"]
        return a + ([db] if db else [])

    def query(self, q, db=None):
        """Run q as root; rows as lists of strings (NULL as None)."""
        out = subprocess.run(self.client(db) + ["-e", q], capture_output=True,
                             text=True)
        if out.returncode != 0:
            raise RuntimeError("SQL failed: %s: %s" % (q[:200], out.stderr.strip()))
        rows = []
        for line in out.stdout.splitlines():
            rows.append([None if v == "NULL" else v for v in line.split("\t")])
        return rows

    def create_database(self, name, user="promptpix", password=DB_PASSWORD,
                        hosts=("localhost",)):
        """The database name with the whole schema, and user at each of
        hosts ("localhost": over the socket, "127.0.0.1": over TCP) with
        all rights on it. A new database gets the schema in one client
        session, as sql/migrate.sh --one-file writes it (a test makes a
        database for each front: one client, not one per statement); an
        existing one is brought up to date by sql/migrate.sh."""
        new = not self.query("SELECT 1 FROM information_schema.SCHEMATA"
                             " WHERE SCHEMA_NAME = '%s'" % name)
        q = ["CREATE DATABASE IF NOT EXISTS `%s`;" % name]
        for h in hosts:
            q.append("CREATE USER IF NOT EXISTS '%s'@'%s' IDENTIFIED BY '%s';"
                     % (user, h, password))
            q.append("GRANT ALL ON `%s`.* TO '%s'@'%s';" % (name, user, h))
        if new:
            q += ["USE `%s`;" % name, whole_schema()]
        self.query_script("\n".join(q))
        if not new:
            self.migrate(name)

    def query_script(self, sql):
        """Run the statements of sql (DELIMITER and all) as root."""
        out = subprocess.run(self.client(), input=sql, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("SQL failed: %s" % out.stderr.strip())

    def migrate(self, name):
        env = dict(os.environ)
        out = subprocess.run(
            [os.path.join(ROOT, "sql", "migrate.sh"), "--no-defaults",
             "--socket=" + self.socket, "-uroot", name],
            capture_output=True, text=True, env=env)
        if out.returncode != 0:
            raise RuntimeError("migration failed: " + out.stderr)
        return out.stdout

    def stop(self):
        stop_process(self.proc, 30)
        self.proc = None


_schema = []


def whole_schema():
    """Every migration in one SQL text (sql/migrate.sh --one-file), made
    once a run."""
    if not _schema:
        out = subprocess.run(["sh", os.path.join(ROOT, "sql", "migrate.sh"), "--one-file"],
                             capture_output=True, text=True, check=True)
        _schema.append(out.stdout)
    return _schema[0]


class Responders:
    """promptpix under spawn-fcgi -n on a unix socket; [server] processes
    children under its own supervisor."""

    def __init__(self, base, binary, conf, name="pp"):
        self.dir = base
        self.socket = os.path.join(base, name + ".sock")
        self.log = os.path.join(base, name + ".log")
        self.binary = binary
        self.conf = conf
        self.proc = None

    def start(self, env_extra=None):
        env = dict(os.environ)
        env["PROMPTPIX_DB_PASSWORD"] = DB_PASSWORD
        env.update(env_extra or {})
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        logf = open(self.log, "a")
        started = self.log_text().count("] info -: starting:")
        self.proc = popen(
            ["spawn-fcgi", "-n", "-s", self.socket, "-b", "4096", "-M", "0666", "--",
             self.binary, "-c", self.conf],
            stdout=logf, stderr=logf, env=env)

        # spawn-fcgi binds the socket before promptpix runs its start-up
        # checks: ready once a process says it is starting to serve.
        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("promptpix exited with %d:\n%s" % (
                    self.proc.returncode, self.log_text()[-2000:]))
            return (can_connect(self.socket)
                    and self.log_text().count("] info -: starting:") > started)
        wait_until(ready, 10, "promptpix on " + self.socket)

    def children(self):
        """PIDs of the serving processes (the supervisor's children, or
        the one process itself)."""
        try:
            kids = open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)).read().split()
        except OSError:
            kids = []
        return [int(k) for k in kids] or [self.proc.pid]

    def stop(self):
        stop_process(self.proc)
        self.proc = None

    def log_text(self):
        return read_text(self.log)


class Server:
    """A web server in the foreground (nginx, Apache), from a config it
    is given in its own directory, listening on 127.0.0.1:port. A
    subclass renders the config and says how the server is run."""

    name = "server"             # the program, in messages
    conf_name = "server.conf"   # the config file written in self.dir
    stop_timeout = 10

    def __init__(self, directory, port, error_log):
        self.dir = directory
        self.port = port
        self.error_log = error_log
        self.proc = None

    def prepare(self):
        """What the server needs in self.dir before it starts."""
        os.makedirs(self.dir, exist_ok=True)

    def render(self):
        """The config text."""
        raise NotImplementedError

    def command(self, conf):
        """The argv that runs the server in the foreground on conf."""
        raise NotImplementedError

    def start(self):
        self.prepare()
        conf = os.path.join(self.dir, self.conf_name)
        with open(conf, "w") as f:
            f.write(self.render())
        stderr = os.path.join(self.dir, "stderr.log")
        with open(stderr, "w") as err:
            self.proc = popen(self.command(conf), stdout=subprocess.DEVNULL, stderr=err)
        try:
            wait_until(lambda: self.proc.poll() is None
                       and can_connect(("127.0.0.1", self.port)),
                       10, "%s on port %d" % (self.name, self.port))
        except RuntimeError:
            raise RuntimeError("%s did not start: %s%s" % (
                self.name, read_text(stderr), self.log_text()))

    def stop(self):
        stop_process(self.proc, self.stop_timeout)
        self.proc = None

    def log_text(self):
        return read_text(self.error_log)


NGINX_WRAPPER = """
%(user)s
worker_processes 2;
worker_rlimit_nofile %(rlimit)d;
pid %(dir)s/nginx.pid;
error_log %(dir)s/nginx-error.log warn;
events { worker_connections %(worker_connections)d; }
http {
    access_log %(dir)s/nginx-access.log;
    client_body_temp_path %(dir)s/tmp/body;
    fastcgi_temp_path %(dir)s/tmp/fastcgi;
    proxy_temp_path %(dir)s/tmp/proxy;
    uwsgi_temp_path %(dir)s/tmp/uwsgi;
    scgi_temp_path %(dir)s/tmp/scgi;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
%(server)s
}
"""


class Nginx(Server):
    """nginx with the shipped nginx/promptpix.conf server block, its
    production paths replaced by this run's."""

    name = "nginx"
    conf_name = "nginx.conf"

    def __init__(self, base, port, socket_path, store_dir, extra_conf="",
                 worker_connections=4096, source=None):
        """worker_connections: per worker process; a client behind nginx
        takes two (its own and the one to the responders). source: the
        server block's file (default the checkout's nginx/promptpix.conf;
        an installed copy for tests/e2e/test_deploy.py)."""
        self.source = source or os.path.join(ROOT, "nginx", "promptpix.conf")
        d = os.path.join(base, "nginx")
        super().__init__(d, port, os.path.join(d, "nginx-error.log"))
        self.socket = socket_path
        self.store = store_dir
        self.extra = extra_conf
        self.worker_connections = worker_connections

    def prepare(self):
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)

    def render(self):
        server = open(self.source).read()
        server = server.replace("listen 80;", "listen 127.0.0.1:%d;" % self.port)
        server = server.replace("/run/promptpix/promptpix.sock", self.socket)
        server = server.replace("/var/lib/promptpix/img/", self.store.rstrip("/") + "/")
        server = server.replace("include fastcgi_params;",
                                "include /etc/nginx/fastcgi_params;")
        return NGINX_WRAPPER % {
            "user": "user root;" if os.geteuid() == 0 else "",
            "dir": self.dir, "server": server + self.extra,
            "worker_connections": self.worker_connections,
            # A client and its responder connection: two descriptors.
            "rlimit": 2 * self.worker_connections + 64}

    def command(self, conf):
        return [which("nginx"), "-p", self.dir, "-c", conf, "-g", "daemon off;"]
