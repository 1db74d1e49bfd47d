#!/usr/bin/env python3
"""The demo stack behind `make run`, `make start`, `make stop` and
`make sql`: a private MariaDB under var/ (never the system one), the
responders under spawn-fcgi, and nginx on 127.0.0.1:PORT. FRONT=apache
puts Apache with apache/promptpix.conf (mod_proxy_fcgi) in front of the
same responders; FRONT=fcgid has Apache's mod_fcgid run promptpix.fcgi
from var/htdocs/ with apache/htaccess, as on a shared host.

    python3 tools/demo.py run|start [--port N] [--build DIR] [--front nginx|apache|fcgid]
                                    [--backend placeholder|fal-standin] [--store local|s3]
    python3 tools/demo.py stop|sql

--backend fal-standin (make run BACKEND=fal-standin) runs the real fal.ai
code path against tests/lib/falstub.py, the stand-in the tests use, on
loopback: no key, no network, no money.

--store s3 (make run STORE=s3) keeps the images in a bucket of a local
S3 server, the one the tests start (OpenStack Swift with s3api,
tests/lib/swift.py), under var/swift1: [store] mode = s3, redirects to
the bucket's public URL.

The servers are the test harness's (tests/lib/)."""

import argparse
import configparser
import os
import secrets
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from tests.lib import ROOT, apache, falstub  # noqa: E402
from tests.lib.config import write_conf, write_secret  # noqa: E402
from tests.lib.servers import (MariaDB, Nginx, Responders, can_connect,  # noqa: E402
                               wait_until, which)

VAR = os.path.join(ROOT, "var")
PIDFILE = os.path.join(VAR, "stack.pid")


def secret(name):
    """A secret of the demo, made once and kept in var/secrets/name, a
    file only root can read: its path and its value."""
    path = os.path.join(VAR, "secrets", name)
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        write_secret(path, secrets.token_urlsafe(24))
    return path, open(path).read().strip()


def db_password():
    """The demo database password."""
    return secret("db-password")


def stats_token():
    """The demo's [stats] token: the dashboard's login to look."""
    return secret("stats-token")


def operator_token():
    """The demo's operator secret: the dashboard's login to mint too."""
    return secret("operator-token")


def fcgid_site(port, build, db, pw, store, overlay):
    """var/htdocs/ as a shared-hosting directory: .htaccess, the program
    as promptpix.fcgi and promptpix.conf beside it. The store stays
    var/img/ (the other fronts' images), aliased by the host's config."""
    docroot = os.path.join(VAR, "htdocs")
    os.makedirs(docroot, exist_ok=True)
    apache.install_app(docroot, os.path.join(os.path.abspath(build), "promptpix"))
    # mod_fcgid's processes run as Apache's user: copies of the secret
    # files it can read, outside the document root.
    private = os.path.join(VAR, "fcgid-private")
    os.makedirs(private, mode=0o700, exist_ok=True)
    pwfile = os.path.join(private, "db-password")
    write_secret(pwfile, pw)
    opfile = os.path.join(private, "operator-token")
    write_secret(opfile, operator_token()[1])
    write_conf(os.path.join(docroot, "promptpix.conf"), {
        ("server", "processes"): 1,
        ("server", "threads"): 1,
        ("database", "socket"): db.socket,
        ("database", "password_file"): pwfile,
        ("store", "dir"): store,
        **overlay,
        ("pages", "operator_token_file"): opfile,
    })
    apache.share(docroot)
    apache.share(db.socket)
    apache.share(store, writable=True)
    apache.share(private, writable=True)
    alias = ('Alias /img/ "%s/"\n<Directory "%s">\n    Require all granted\n</Directory>\n'
             % (store, store))
    return apache.Apache(VAR, port, "fcgid", docroot=docroot, extra=alias)


def conf_overlay(path):
    """The settings of the INI file path as {(section, key): value}, to be
    laid over the demo's own configuration (make run CONF=FILE)."""
    if not path:
        return {}
    cp = configparser.ConfigParser(interpolation=None, strict=False,
                                   inline_comment_prefixes=(";", "#"))
    if not cp.read(path):
        sys.exit("CONF=%s: cannot read it" % path)
    return {(sec, key): val for sec in cp.sections() for key, val in cp.items(sec)}


def port_free(port):
    """Exit at once, with the reason, if something listens on port."""
    try:
        can_connect(("127.0.0.1", port))
    except OSError:
        return
    sys.exit("port %d is in use; choose another with PORT=" % port)


def fal_standin(parts):
    """The fal stand-in on loopback, and the settings that point the
    fal backend at it (as tests/e2e/test_fal.py does)."""
    key = "standin-" + secrets.token_hex(8)
    stub = falstub.FalStub(key)
    parts.append(stub)
    import urllib.parse
    return key, {
        ("generation", "backend"): "fal",
        ("fal", "queue_base"): stub.queue_base,
        ("fal", "run_base"): stub.run_base,
        ("fal", "allowed_hosts"): urllib.parse.urlsplit(stub.files_base).netloc,
        ("fal", "allow_http"): "true",
    }


def s3_store(parts):
    """The tests' S3 server under var/, a public bucket "promptpix" on
    it, and the settings that keep the images there."""
    from tests.lib.swift import Swift
    print("starting the S3 server (Swift) under var/swift1 ...", flush=True)
    s = Swift(VAR)
    parts.append(s)
    s.start()
    s.create_bucket("promptpix", public_read=True)
    creds = s.credentials(os.path.join(VAR, "secrets", "s3-credentials"))
    return {
        ("store", "mode"): "s3",
        ("store", "s3_endpoint"): s.endpoint,
        ("store", "s3_bucket"): "promptpix",
        ("store", "s3_region"): s.region,
        ("store", "s3_path_style"): "true",
        ("store", "s3_credentials_file"): creds,
        ("store", "url"): s.public_url("promptpix", ""),
    }


def run(port, build, front="nginx", conf_file=None, backend="placeholder",
        store_mode="local"):
    if stack_running():
        sys.exit("promptpix is already running (make stop first)")
    port_free(port)
    os.makedirs(os.path.join(VAR, "log"), exist_ok=True)
    store = os.path.join(VAR, "img")
    os.makedirs(store, exist_ok=True)
    pwfile, pw = db_password()
    tokfile, token = stats_token()
    opfile = operator_token()[0]
    # The dashboard behind its secrets; the seed's stats JSON open to all.
    overlay = {("stats", "token"): token, ("stats", "public"): "on",
               ("pages", "operator_token_file"): opfile}
    overlay.update(conf_overlay(conf_file))
    db = MariaDB(VAR)
    parts = []

    def shutdown(*_):
        for p in reversed(parts):
            p.stop()
        db.stop()
        if os.path.exists(PIDFILE) and open(PIDFILE).read().strip() == str(os.getpid()):
            os.unlink(PIDFILE)
        print("\nstopped.")
        sys.exit(0)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    with open(PIDFILE, "w") as f:
        f.write(str(os.getpid()))
    env_extra = {"PROMPTPIX_DB_PASSWORD": pw}
    if backend == "fal-standin":
        key, fal = fal_standin(parts)
        env_extra.update({"FAL_KEY": key, "NO_PROXY": "*"})
        overlay = {**fal, **overlay}
    try:
        if store_mode == "s3":
            overlay = {**s3_store(parts), **overlay}
        print("starting MariaDB under var/mysql ...", flush=True)
        db.start()
        db.create_database("promptpix", password=pw)
        conf = os.path.join(VAR, "promptpix.conf")
        write_conf(conf, {
            ("server", "processes"): 2,
            ("database", "socket"): db.socket,
            ("database", "password_file"): pwfile,
            ("store", "dir"): store,
            **overlay,
        })
        logname = "var/log/pp.log"
        if front == "fcgid":
            web = fcgid_site(port, build, db, pw, store, overlay)
            logname = "var/apache/error.log (mod_fcgid sends the program's stderr there)"
        else:
            pp = Responders(os.path.join(VAR, "log"), os.path.join(os.path.abspath(build), "promptpix"), conf)
            pp.socket = os.path.join(VAR, "promptpix.sock")
            parts.append(pp)
            pp.start(env_extra=env_extra)
            if front == "apache":
                apache.share(pp.socket)
                apache.share(store)
                web = apache.Apache(VAR, port, "proxy", pp.socket, store)
            else:
                web = Nginx(VAR, port, pp.socket, store)
        parts.append(web)
        web.start()
    except Exception as e:
        # Nothing this started is left running: the servers, then exit.
        print("could not start: %s" % e, flush=True)
        for p in reversed(parts):
            p.stop()
        db.stop()
        os.unlink(PIDFILE)
        sys.exit(1)
    url = "http://127.0.0.1:%d/1024x1024.jpg?text=A%%20beautiful%%20sunset" % port
    print("""
promptpix is running behind %s (%s%s).

  home:       http://127.0.0.1:%d/  (try a prompt, copy its URL)
  dashboard:  http://127.0.0.1:%d/dashboard  (log in with the token in %s
              to look, or the operator's secret in %s to mint too)
  try:        curl -i "%s"
  stats:      curl http://127.0.0.1:%d/api/generation/stats
  SQL:        echo 'SELECT prompt, status, total_requests, api_calls_made FROM generation_status' | make -s sql
  log:        %s

Ctrl-C (or make stop) stops everything this started.""" % (
        {"nginx": "nginx", "apache": "Apache (mod_proxy_fcgi)",
         "fcgid": "Apache (mod_fcgid)"}[front],
        "the fal backend against the local fal stand-in" if backend == "fal-standin"
        else "placeholder backend, 2 s per new image",
        ", images in the local S3 server's bucket" if store_mode == "s3" else "", port, port,
        os.path.relpath(tokfile, ROOT), os.path.relpath(opfile, ROOT), url, port,
        logname), flush=True)
    while True:
        time.sleep(3600)


def stack_running():
    try:
        pid = int(open(PIDFILE).read())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def start(port, build, front="nginx", conf_file=None, backend="placeholder",
          store_mode="local"):
    if stack_running():
        sys.exit("promptpix is already running (make stop first)")
    port_free(port)
    os.makedirs(os.path.join(VAR, "log"), exist_ok=True)
    log = open(os.path.join(VAR, "log", "stack.log"), "w")
    cmd = [sys.executable, os.path.abspath(__file__), "run",
           "--port", str(port), "--build", build, "--front", front, "--backend", backend,
           "--store", store_mode]
    if conf_file:
        cmd += ["--conf", os.path.abspath(conf_file)]
    p = subprocess.Popen(cmd,
                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    # Until it says it runs, or exits (a port taken meanwhile, a server
    # that would not start): then at once, with its reason.
    try:
        wait_until(lambda: p.poll() is not None or "Ctrl-C" in open(log.name).read(),
                   120, "the stack")
    except RuntimeError:
        if p.poll() is None:
            p.terminate()
        sys.exit("could not start; see var/log/stack.log:\n" + open(log.name).read())
    if p.poll() is not None:
        sys.exit("could not start; see var/log/stack.log:\n" + open(log.name).read())
    print("promptpix is running in the background on http://127.0.0.1:%d/ (make stop)" % port)
    print("dashboard: http://127.0.0.1:%d/dashboard (token in var/secrets/stats-token;"
          " operator's secret in var/secrets/operator-token)" % port)
    print("try: curl -i \"http://127.0.0.1:%d/1024x1024.jpg?text=A%%20beautiful%%20sunset\"" % port)


def stop():
    pid = stack_running()
    if not pid:
        print("promptpix is not running")
        return
    os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except OSError:
            print("stopped")
            return
        time.sleep(0.05)
    sys.exit("pid %d did not stop" % pid)


def sql():
    sock = os.path.join(VAR, "mysql", "mysqld.sock")
    if not os.path.exists(sock):
        sys.exit("no running instance (make start, or make run in another terminal)")
    args = [which("mariadb", "mysql"), "--no-defaults", "--socket=" + sock,
            "-uroot", "promptpix"]
    if sys.stdin.isatty():
        args.append("-t")
    os.execv(args[0], args)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["run", "start", "stop", "sql"])
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--build", default="build")
    ap.add_argument("--front", default="nginx", choices=["nginx", "apache", "fcgid"])
    ap.add_argument("--backend", default="placeholder", choices=["placeholder", "fal-standin"])
    ap.add_argument("--store", default="local", choices=["local", "s3"])
    ap.add_argument("--conf", default="",
                    help="an INI file whose settings override the demo's own")
    a = ap.parse_args()
    if a.cmd == "run":
        run(a.port, a.build, a.front, a.conf, a.backend, a.store)
    elif a.cmd == "start":
        start(a.port, a.build, a.front, a.conf, a.backend, a.store)
    elif a.cmd == "stop":
        stop()
    else:
        sql()


if __name__ == "__main__":
    main()
