"""The test session: one MariaDB for the whole run, and fronts (nginx +
promptpix) built per test with their own database and image store."""

import itertools
import os
import shutil
import tempfile

from . import apache, fcgi, httpclient
from .config import write_conf, write_secret
from .servers import DB_PASSWORD, MariaDB, Nginx, Responders, free_port, wait_until

_seq = itertools.count(1)


def plain_pass_only(why):
    """Mark a test to run in make test's first pass only, not again on
    the sanitizer build (tests/run.py skips it there, saying why).

    The rule: the sanitizer pass runs every test that drives promptpix's
    C code along a path of its own. A test is marked only when what it
    checks is outside that code -- the installed files and the README's
    deployment steps, the harness and the bench leaving no process, a
    file kept in step -- and the C paths it passes through (a new image,
    a hit, the stats) are run under the sanitizers by other tests."""
    def mark(fn):
        fn.plain_only = why
        return fn
    return mark


def run_alone(why):
    """Mark a test whose assertions bound latencies too tightly for a
    loaded machine: tests/run.py runs it after the others, while no
    other test runs."""
    def mark(fn):
        fn.alone = why
        return fn
    return mark


class Front:
    """A web server + promptpix on free ports, with a fresh database.
    front: "nginx" (nginx + spawn-fcgi), "apache" (Apache with the
    shipped vhost, mod_proxy_fcgi + spawn-fcgi) or "fcgid" (a shared-host
    directory under Apache's document root: .htaccess, promptpix.fcgi and
    promptpix.conf in /pix/, run by mod_fcgid; see FcgidApp)."""

    def __init__(self, env, overrides=None, processes=2, threads=4, nginx_extra="",
                 share_with=None, front="nginx", apache_extra="", env_extra=None,
                 db=None, nginx_worker_connections=4096, share_store=True):
        """share_with: another Front whose database and image store this
        one uses too (a second web host of the same service); with
        share_store=False, only its database (a host with a directory of
        its own, as with [store] mode = s3). env_extra:
        the responders' extra environment (FAL_KEY, ...). db: the server
        (a servers.MariaDB with .host and .port, e.g. one node of a
        galera.GaleraCluster) this front's responders reach over TCP, as
        a web host on another machine would; by default the session's
        server, over its socket. nginx_worker_connections: nginx's
        per-worker connection limit (each client takes two)."""
        self.env = env
        self.db = db
        self.env_extra = env_extra
        self.front = front
        self.prefix = ""
        if front == "fcgid":
            FcgidApp.setup(self, env, overrides, apache_extra)
            return
        n = next(_seq)
        self.dir = os.path.join(env.base, "front%d" % n)
        os.makedirs(self.dir)
        if share_with is not None:
            self.dbname, self.store = share_with.dbname, share_with.store
            if not share_store:
                self.store = os.path.join(self.dir, "img")
                os.makedirs(self.store)
        else:
            self.dbname = "pp_t%d" % n
            self.store = os.path.join(self.dir, "img")
            os.makedirs(self.store)
            if db is None:
                env.db.create_database(self.dbname)
            else:
                db.create_database(self.dbname, hosts=(db.host,))
        if db is None:
            self.db = env.db
            where = {("database", "socket"): env.db.socket}
        else:
            where = {("database", "host"): db.host, ("database", "port"): db.port}
        self.conf = os.path.join(self.dir, "promptpix.conf")
        ov = {
            ("server", "processes"): processes,
            ("server", "threads"): threads,
            **where,
            ("database", "name"): self.dbname,
            ("store", "dir"): self.store,
            ("placeholder", "delay"): "0.3",
            # Tests read exact figures right after traffic; test_stats
            # checks the cache itself.
            ("stats", "cache"): "0",
        }
        ov.update(overrides or {})
        write_conf(self.conf, ov)
        self.pp = Responders(self.dir, env.binary, self.conf)
        self.port = free_port()
        if front == "apache":
            apache.share(self.dir)
            self.web = apache.Apache(self.dir, self.port, "proxy", self.pp.socket,
                                     self.store, extra=apache_extra)
        else:
            self.web = Nginx(self.dir, self.port, self.pp.socket, self.store, nginx_extra,
                             worker_connections=nginx_worker_connections)
        self.nginx = self.web

    def start(self, nginx=True):
        if self.pp:
            self.pp.start(env_extra=self.env_extra)
        if nginx:
            self.web.start()
        return self

    def stop(self):
        self.web.stop()
        if self.pp:
            self.pp.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    def get(self, target, **kw):
        return httpclient.get(self.port, target, **kw)

    def url(self, target):
        """target ("/1024x1024.jpg?text=a") where this front serves it."""
        return self.prefix + target

    def fcgi(self, uri, **kw):
        if self.pp is None:
            raise RuntimeError("mod_fcgid owns its processes' sockets")
        return fcgi.get(self.pp.socket, uri, **kw)

    def sql(self, q):
        return self.db.query(q, self.dbname)

    def rows(self):
        return int(self.sql("SELECT COUNT(*) FROM generation_status")[0][0])

    def metric(self, name):
        """The value of a /metrics line (name with its labels), or 0."""
        for line in self.get("/metrics").body.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return 0.0

    def log(self):
        """The responders' stderr (Apache's error log under mod_fcgid)."""
        return self.pp.log_text() if self.pp else self.web.log_text()

    def flush(self):
        """Have every responder add its in-memory hit counts to the rows
        now (SIGUSR1), and wait until each says it has."""
        import signal
        mark = "counts flushed on request"
        before = self.log().count(mark)
        if self.pp:
            kids = self.pp.children()
        else:   # mod_fcgid's own processes
            kids = processes_of(os.path.join(self.dir, "htdocs", "pix", "promptpix.fcgi"))
        for pid in kids:
            os.kill(pid, signal.SIGUSR1)
        wait_until(lambda: self.log().count(mark) >= before + len(kids), 10,
                         "hit counts flushed")


def processes_of(exe):
    """PIDs of the processes whose argv[0] is exe."""
    pids = []
    for d in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % d, "rb") as fh:
                if fh.read().split(b"\0")[0] == exe.encode():
                    pids.append(int(d))
        except (OSError, ValueError):
            pass
    return pids


class FcgidApp:
    """The shared-hosting layout of README.apache.md, as a customer
    would upload it: DOCROOT/pix/ holds apache/htaccess as .htaccess, the
    program as promptpix.fcgi, promptpix.conf beside it (found there by
    the program) and the store img/; the database password is in a file
    outside the document root, and the database is reached over TCP with
    a user and password as a hosting panel gives them. mod_fcgid sends
    one request at a time to a process, so processes = threads = 1."""

    @staticmethod
    def setup(f, env, overrides, apache_extra):
        n = next(_seq)
        f.dir = os.path.join(env.base, "front%d" % n)
        docroot = os.path.join(f.dir, "htdocs")
        app = os.path.join(docroot, "pix")
        f.store = os.path.join(app, "img")
        os.makedirs(f.store)
        private = os.path.join(f.dir, "private")
        os.makedirs(private)
        f.dbname = "pp_t%d" % n
        f.db = env.db
        env.db.create_database(f.dbname)
        env.db.query("CREATE USER IF NOT EXISTS 'promptpix'@'127.0.0.1' IDENTIFIED BY '%s'"
                     % DB_PASSWORD)
        env.db.query("GRANT ALL ON `%s`.* TO 'promptpix'@'127.0.0.1'" % f.dbname)
        pwfile = os.path.join(private, "db-password")
        write_secret(pwfile, DB_PASSWORD)
        apache.install_app(app, env.binary)
        f.conf = os.path.join(app, "promptpix.conf")
        ov = {
            ("server", "processes"): 1,
            ("server", "threads"): 1,
            ("server", "base_path"): "/pix/",
            ("database", "host"): "127.0.0.1",
            ("database", "port"): env.db.port,
            ("database", "password_file"): pwfile,
            ("database", "name"): f.dbname,
            ("store", "dir"): f.store,
            ("store", "url"): "/pix/img/",
            ("placeholder", "delay"): "0.3",
            ("stats", "cache"): "0",
        }
        ov.update(overrides or {})
        write_conf(f.conf, ov)
        apache.share(f.dir, writable=False)
        apache.share(f.store, writable=True)
        apache.share(private, writable=True)
        f.pp = None
        f.prefix = "/pix"
        f.port = free_port()
        f.web = f.nginx = apache.Apache(f.dir, f.port, "fcgid", docroot=docroot,
                                        extra=apache_extra)


class Env:
    def __init__(self, build):
        self.build = os.path.abspath(build)
        self.binary = os.path.join(self.build, "promptpix")
        self.base = tempfile.mkdtemp(prefix="promptpix-test-")
        self._db = None
        self._swift = None

    @property
    def db(self):
        """The session's MariaDB, started on first use. One that fails to
        start is stopped and its directory removed: the next test starts
        a new one instead of failing on this one."""
        if self._db is None:
            db = MariaDB(self.base)
            try:
                db.start()
            except BaseException:
                db.stop()
                shutil.rmtree(db.dir, ignore_errors=True)
                raise
            self._db = db
        return self._db

    @property
    def swift(self):
        """The session's S3 server (Swift with s3api, tests/lib/swift.py),
        started on first use (about 7 s) and shared by the tests of the
        session: each makes its own buckets (swift.new_bucket())."""
        if self._swift is None:
            from .swift import Swift
            self._swift = Swift(self.base).start()
        elif "proxy" not in self._swift.procs:     # a test took it down
            self._swift.start_proxy()
        return self._swift

    def front(self, **kw):
        return Front(self, **kw)

    def close(self, keep=False):
        if self._swift:
            self._swift.stop()
        if self._db:
            self._db.stop()
        if not keep:
            shutil.rmtree(self.base, ignore_errors=True)
