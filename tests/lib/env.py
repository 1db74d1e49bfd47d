"""The test session: one MariaDB for the whole run, and fronts (nginx +
promptpix) built per test with their own database and image store."""

import itertools
import os
import shutil
import tempfile

from . import stack
from . import fcgi

_seq = itertools.count(1)


class Front:
    """nginx + spawn-fcgi/promptpix on free ports, with a fresh database."""

    def __init__(self, env, overrides=None, processes=2, threads=4, nginx_extra="",
                 env_extra=None):
        self.env = env
        self.env_extra = env_extra      # the responders' extra environment
        n = next(_seq)
        self.dir = os.path.join(env.base, "front%d" % n)
        os.makedirs(self.dir)
        self.dbname = "pp_t%d" % n
        self.store = os.path.join(self.dir, "img")
        os.makedirs(self.store)
        env.db.create_database(self.dbname)
        self.conf = os.path.join(self.dir, "promptpix.conf")
        ov = {
            ("server", "processes"): processes,
            ("server", "threads"): threads,
            ("database", "socket"): env.db.socket,
            ("database", "name"): self.dbname,
            ("store", "dir"): self.store,
            ("placeholder", "delay"): "0.3",
        }
        ov.update(overrides or {})
        stack.write_conf(self.conf, ov)
        self.pp = stack.Responders(self.dir, env.binary, self.conf)
        self.port = stack.free_port()
        self.nginx = stack.Nginx(self.dir, self.port, self.pp.socket, self.store, nginx_extra)

    def start(self, nginx=True):
        self.pp.start(env_extra=self.env_extra)
        if nginx:
            self.nginx.start()
        return self

    def stop(self):
        self.nginx.stop()
        self.pp.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    def get(self, target, **kw):
        return stack.http_get(self.port, target, **kw)

    def fcgi(self, uri, **kw):
        return fcgi.get(self.pp.socket, uri, **kw)

    def sql(self, q):
        return self.env.db.query(q, self.dbname)

    def rows(self):
        return int(self.sql("SELECT COUNT(*) FROM generation_status")[0][0])

    def log(self):
        return self.pp.log_text()


class Env:
    def __init__(self, build):
        self.build = os.path.abspath(build)
        self.binary = os.path.join(self.build, "promptpix")
        self.base = tempfile.mkdtemp(prefix="promptpix-test-")
        self._db = None

    @property
    def db(self):
        if self._db is None:
            self._db = stack.MariaDB(self.base)
            self._db.start()
        return self._db

    def front(self, **kw):
        return Front(self, **kw)

    def close(self, keep=False):
        if self._db:
            self._db.stop()
        if not keep:
            shutil.rmtree(self.base, ignore_errors=True)
