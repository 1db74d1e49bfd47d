"""Deploying as the README says. Each production path is installed with
`make install DESTDIR=...` into a temporary root and set up by the
README's own steps (conf/setup.sh: user, database, check), then run
from the installed files, with only their ports and paths rewritten:

  nginx     the installed server block, the responders under the
            unit's ExecStart (conf/spawn-fcgi.sh, as the unit runs it);
  apache    the installed vhost, the same responders;
  fcgid     a shared-hosting directory: the installed htaccess, the
            program as promptpix.fcgi, the schema imported from the one
            file sql/install.sql as a hosting panel would.

Each serves a new image, a hit, the stats JSON and /metrics. Then
promptpix -t's refusals, one per half-set-up host, and the files the
build keeps in step (sql/install.sql, the schema list)."""

import http.client
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys

from tests.lib import ROOT, apache, config, docs, servers
from tests.lib.env import plain_pass_only
from tests.lib.servers import DB_PASSWORD, free_port, wait_until

RUN_AS = "promptpix"
# What these check is the installed files and the README's steps; the C
# paths they serve (a new image, a hit, the stats) run in test_e2e and
# test_fronts.
installed_files = plain_pass_only("the installed files and the README's steps")
_seq = itertools.count(1)
_db = {}


def private_db(env):
    """A MariaDB of its own, as on a fresh VPS: the service's account
    reaches it over the socket with unix_socket, no password."""
    if "db" not in _db:
        d = servers.MariaDB(os.path.join(env.base, "deploy-db"))
        d.start()
        traversable(d.socket)
        _db["db"] = d
        # Stopped with the session's server (Env.close() runs the
        # stops it was given).
        env_stop = env.close

        def close(keep=False):
            d.stop()
            env_stop(keep)
        env.close = close
    return _db["db"]


def traversable(path):
    """Every directory above path searchable by the service's user (the
    test's base directory is 0700)."""
    p = os.path.dirname(os.path.abspath(path))
    while p != "/":
        st = os.stat(p)
        if not st.st_mode & 0o001:
            os.chmod(p, st.st_mode | 0o011)
        p = os.path.dirname(p)


def sh(args, env_extra=None, check=True):
    e = dict(os.environ)
    e.update(env_extra or {})
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=e, timeout=120)
    if check and out.returncode != 0:
        raise AssertionError("%s: %d\n%s%s" % (args, out.returncode, out.stdout, out.stderr))
    return out


class Installed:
    """make install DESTDIR=root, then conf/setup.sh user and database
    against the private server, and the installed config's paths
    pointed into root."""

    def __init__(self, env):
        n = next(_seq)
        self.db = private_db(env)
        self.root = os.path.join(env.base, "deploy%d" % n)
        self.dbname = "promptpix_%d" % n
        sh(["sh", "conf/setup.sh", "user"])
        sh(["make", "-s", "install", "DESTDIR=" + self.root, "BUILD=" + env.build])
        traversable(os.path.join(self.root, "x"))
        self.conf = self.path("/etc/promptpix/promptpix.conf")
        self.store = self.path("/var/lib/promptpix/img")
        self.socket = self.path("/run/promptpix/promptpix.sock")
        # The installed config, its paths made this root's.
        config.write_conf(self.conf, {("database", "socket"): self.db.socket,
                                      ("database", "name"): self.dbname,
                                      ("store", "dir"): self.store})
        self.setup("database", "check")
        self.proc = None
        self.web = None

    def path(self, p):
        return self.root + p

    def setup(self, *steps):
        return sh(["sh", "conf/setup.sh", *steps], {
            "DESTDIR": self.root, "DB_NAME": self.dbname,
            "DB_ADMIN": "--no-defaults --socket=%s -uroot" % self.db.socket})

    def unit(self):
        """The installed unit's Environment= and ExecStart=."""
        text = open(self.path("/etc/systemd/system/promptpix.service")).read()
        env = dict(re.findall(r"(?m)^Environment=(\w+)=(.*)$", text))
        cmd = re.search(r"(?m)^ExecStart=(.*)$", text).group(1).split()
        return env, cmd

    def start_responders(self):
        """The unit's ExecStart as systemd would run it, with its paths
        in this root (RuntimeDirectory= made first)."""
        env, cmd = self.unit()
        assert env["FOREGROUND"] == "1" and env["RUN_AS"] == RUN_AS, env
        for k in ("SOCKET", "CONF", "PROMPTPIX"):
            env[k] = self.path(env[k])
        cmd = [c if not c.startswith("/usr/local/") else self.path(c) for c in cmd]
        os.makedirs(self.path("/run/promptpix"), exist_ok=True)
        e = dict(os.environ)
        e.update(env)
        self.log = self.path("/responders.log")
        with open(self.log, "w") as logf:
            self.proc = servers.popen(cmd, env=e, stdout=logf, stderr=logf)
        wait_until(lambda: self.proc.poll() is None and servers.can_connect(self.socket),
                   15, "the unit's responders")
        return self

    def stop(self):
        if self.web:
            self.web.stop()
        servers.stop_process(self.proc, 30)


def get(port, target):
    """One request; the headers as a list, so that a repeated one shows."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        c.request("GET", target)
        r = c.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        c.close()


def header(headers, name):
    vals = [v for k, v in headers if k.lower() == name]
    return vals[0] if vals else None


def serves(port, prefix="", store_url="/img/"):
    """A new image, a hit, the image file (one Cache-Control), the stats
    JSON and /metrics, through the front on port."""
    target = prefix + "/512x512.jpg?text=deployed%20as%20the%20README%20says"
    st, h, _ = get(port, target)
    assert st == 302, (st, h)
    loc = header(h, "location")
    assert loc.startswith(prefix + store_url), loc
    st, h2, _ = get(port, target)
    assert st == 302 and header(h2, "location") == loc, (st, h2)
    st, h3, body = get(port, loc)
    assert st == 200 and body[:2] == b"\xff\xd8", (st, h3)
    cc = [v for k, v in h3 if k.lower() == "cache-control"]
    assert len(cc) == 1 and "immutable" in cc[0], h3
    st, h4, body = get(port, prefix + "/api/generation/stats")
    assert st == 200, (st, h4, body)
    stats = json.loads(body)
    assert stats["success"] is True and stats["stats"]["all_time"]["api_calls_made"] == 1, stats
    st, _, body = get(port, prefix + "/metrics")
    assert st == 200 and b'promptpix_requests_total{outcome="generated"} 1' in body, body[:500]
    assert b'promptpix_requests_total{outcome="hit"} 1' in body, body[:2000]


@installed_files
def test_nginx_vps(env):
    """The README's VPS path: the nginx site and the systemd unit."""
    inst = Installed(env)
    try:
        inst.start_responders()
        # One supervisor (spawn-fcgi execs promptpix), as the user promptpix.
        with open("/proc/%d/status" % inst.proc.pid) as fh:
            uid = int(re.search(r"(?m)^Uid:\s+(\d+)", fh.read()).group(1))
        assert uid == int(sh(["id", "-u", RUN_AS]).stdout), uid
        port = free_port()
        inst.web = servers.Nginx(inst.root, port, inst.socket, inst.store,
                                 source=inst.path("/etc/nginx/sites-available/promptpix"))
        inst.web.start()
        serves(port)
        st, _, _ = get(port, "/nothing")
        assert st == 404
        # The same by hand: conf/spawn-fcgi.sh in the background, its
        # PID file beside the socket, its log in LOG.
        servers.stop_process(inst.proc, 30)
        env_, cmd = inst.unit()
        e = dict(os.environ, SOCKET=inst.socket, CONF=inst.conf,
                 PROMPTPIX=inst.path("/usr/local/bin/promptpix"),
                 LOG=inst.path("/var/log/promptpix.log"))
        os.makedirs(inst.path("/var/log"), exist_ok=True)
        out = subprocess.run(["sh", inst.path("/usr/local/lib/promptpix/spawn-fcgi.sh")],
                             env=e, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        pid = int(open(inst.path("/run/promptpix/promptpix.pid")).read())
        servers.track(pid)
        wait_until(lambda: "starting:" in servers.read_text(e["LOG"]), 15, "by hand")
        st, h, _ = get(port, "/512x512.jpg?text=deployed%20as%20the%20README%20says")
        assert st == 302, (st, h)
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            assert fh.read().split(b"\0")[0].endswith(b"/promptpix"), pid
        assert os.getpgid(pid) == pid, "a session of its own"
        os.kill(pid, signal.SIGTERM)        # as the script says to stop it
        wait_until(lambda: not servers.group_alive(pid), 30, "the supervisor's exit")
        assert "outcome=hit" in servers.read_text(e["LOG"])
    finally:
        inst.stop()


@installed_files
def test_apache_vhost(env):
    """The Apache vhost in front of the same responders."""
    inst = Installed(env)
    try:
        inst.start_responders()
        port = free_port()
        inst.web = apache.Apache(inst.root, port, "proxy", inst.socket, inst.store,
                                 source=inst.path("/etc/apache2/sites-available/promptpix.conf"))
        inst.web.start()
        serves(port)
    finally:
        inst.stop()


@installed_files
def test_shared_hosting(env):
    """The shared-hosting steps: an empty database from the panel, the
    one-file sql/install.sql imported into it, the upload directory
    with the installed htaccess, run by mod_fcgid."""
    inst_root = os.path.join(env.base, "deploy-share%d" % next(_seq))
    sh(["make", "-s", "install", "DESTDIR=" + inst_root, "BUILD=" + env.build])
    share = inst_root + "/usr/local/share/promptpix"
    db = env.db
    name = "pp_share%d" % next(_seq)
    db.query("CREATE DATABASE `%s`" % name)
    db.query("CREATE USER IF NOT EXISTS 'promptpix'@'127.0.0.1' IDENTIFIED BY '%s'" % DB_PASSWORD)
    db.query("GRANT ALL ON `%s`.* TO 'promptpix'@'127.0.0.1'" % name)
    with open(os.path.join(share, "sql", "install.sql")) as fh:   # the panel's import
        out = subprocess.run(db.client(name), stdin=fh, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    docroot = os.path.join(inst_root, "public_html")
    app = os.path.join(docroot, "pix")
    store = os.path.join(app, "img")
    os.makedirs(store)
    private = os.path.join(inst_root, "home")
    os.makedirs(private)
    shutil.copy(os.path.join(share, "htaccess"), os.path.join(app, ".htaccess"))
    shutil.copy(inst_root + "/usr/local/bin/promptpix", os.path.join(app, "promptpix.fcgi"))
    pwfile = os.path.join(private, "promptpix-db-password")
    config.write_secret(pwfile, DB_PASSWORD)
    # The README's step 3, with this host's paths and port.
    config.write_conf(os.path.join(app, "promptpix.conf"), {
        ("server", "processes"): 1, ("server", "threads"): 1,
        ("server", "base_path"): "/pix/",
        ("database", "host"): "127.0.0.1", ("database", "port"): db.port,
        ("database", "user"): "promptpix", ("database", "name"): name,
        ("database", "password_file"): pwfile,
        ("store", "dir"): store, ("store", "url"): "/pix/img/"})
    apache.share(inst_root, writable=False)
    apache.share(store, writable=True)
    apache.share(private, writable=True)
    port = free_port()
    web = apache.Apache(inst_root, port, "fcgid", docroot=docroot)
    web.start()
    try:
        serves(port, "/pix")
        st, _, _ = get(port, "/pix/promptpix.conf")
        assert st == 404
    finally:
        web.stop()


def check(env, conf, user=None, extra_env=None):
    """promptpix -t -c conf (as user): its exit code and its lines."""
    e = dict(os.environ, PROMPTPIX_DB_PASSWORD=DB_PASSWORD)
    e.update(extra_env or {})
    args = [env.binary, "-t", "-c", conf]
    if user:
        args = ["runuser", "-u", user, "--"] + args
    out = subprocess.run(args, capture_output=True, text=True, env=e, timeout=60)
    return out.returncode, [l for l in out.stderr.splitlines() if l.startswith("promptpix: ")]


def test_self_check_refuses_a_half_set_up_host(env):
    """promptpix -t, and a start, refuse with one line each: an old
    schema, a read-only database, a missing store, a store this user
    cannot write, a missing key. A missing font only warns."""
    f = env.front(overrides={("placeholder", "font"): "/nonexistent/font.ttf"})
    rc, lines = check(env, f.conf)
    assert rc == 0 and lines[-1].endswith("configuration ok"), lines
    assert any("warning" in l and "/nonexistent/font.ttf" in l for l in lines), lines
    # An old schema: 003's row gone, as after importing 001 alone.
    f.sql("DELETE FROM schema_version WHERE version = 3")
    rc, lines = check(env, f.conf)
    assert rc == 1 and len(lines) == 2 and "migration 3 (sql/003_retry.sql) is not applied" \
        in lines[1] and "sql/migrate.sh" in lines[1], lines
    e = dict(os.environ, PROMPTPIX_DB_PASSWORD=DB_PASSWORD)
    out = subprocess.run(["spawn-fcgi", "-n", "-s", f.pp.socket, "--", env.binary, "-c", f.conf],
                         capture_output=True, text=True, env=e, timeout=30)
    assert out.returncode == 1 and "sql/003_retry.sql" in out.stderr, out.stderr
    f.sql("INSERT INTO schema_version (version, name) VALUES (3, '003_retry.sql')")
    f.sql("RENAME TABLE schema_version TO schema_version_saved")
    rc, lines = check(env, f.conf)
    f.sql("RENAME TABLE schema_version_saved TO schema_version")
    assert rc == 1 and "no schema_version table" in lines[-1], lines
    assert check(env, f.conf)[0] == 0
    # Routines older than the binary needs.
    f.sql("UPDATE schema_routines SET version = 0 WHERE name = 'R__cleanup.sql'")
    rc, lines = check(env, f.conf)
    f.sql("UPDATE schema_routines SET version = 1 WHERE name = 'R__cleanup.sql'")
    assert rc == 1 and "sql/R__cleanup.sql (version 1) is not applied" in lines[-1] \
        and "sql/migrate.sh" in lines[-1], lines
    assert check(env, f.conf)[0] == 0
    # A read-only server.
    env.db.query("SET GLOBAL read_only = 1")
    try:
        rc, lines = check(env, f.conf)
    finally:
        env.db.query("SET GLOBAL read_only = 0")
    assert rc == 1 and "is read-only" in lines[-1], lines
    # A store this user cannot write (root could: run as nobody).
    traversable(f.conf)
    os.chmod(f.conf, 0o644)
    rc, lines = check(env, f.conf, user="nobody")
    assert rc == 1 and "[store] dir %s is not writable by nobody" % f.store in lines[-1], lines
    # No store at all.
    os.rmdir(f.store)
    rc, lines = check(env, f.conf)
    assert rc == 1 and "[store] dir %s: No such file or directory" % f.store in lines[-1], lines
    os.makedirs(f.store)
    # fal without a key.
    config.write_conf(f.conf + ".fal", {("generation", "backend"): "fal",
                                        ("database", "socket"): env.db.socket,
                                        ("database", "name"): f.dbname,
                                        ("store", "dir"): f.store})
    rc, lines = check(env, f.conf + ".fal")
    assert rc == 1 and "backend fal needs a key" in lines[-1], lines
    rc, lines = check(env, f.conf + ".fal", extra_env={"FAL_KEY": "k-1:s"})
    assert rc == 0, lines


@plain_pass_only("files kept in step; no C runs")
def test_install_sql_is_current(env):
    """sql/install.sql is what sql/migrate.sh --one-file makes of the
    migrations now, and every migration the binary needs (fcgi/lib/schema.c)
    is a file of sql/ that records its version."""
    made = sh(["sh", "sql/migrate.sh", "--one-file"]).stdout
    assert open(os.path.join(ROOT, "sql", "install.sql")).read() == made, \
        "sql/install.sql is stale: run make"
    needed = re.findall(r'\{ (\d+), "([0-9]{3}_\w+\.sql)" \}',
                        open(os.path.join(ROOT, "fcgi", "lib", "schema.c")).read())
    assert needed, "no list in fcgi/lib/schema.c"
    for version, name in needed:
        assert os.path.exists(os.path.join(ROOT, "sql", name)), name
        assert int(name[:3]) == int(version), name
        assert "VALUES (%s, '%s')" % (version, name) in made, name
    # The routines: each needed one is a file whose version line is at
    # least the one the binary needs, recorded with it in one file.
    routines = re.findall(r'\{ "(R__\w+\.sql)", (\d+) \}',
                          open(os.path.join(ROOT, "fcgi", "lib", "schema.c")).read())
    assert routines, "no routines in fcgi/lib/schema.c"
    for name, version in routines:
        text = open(os.path.join(ROOT, "sql", name)).read()
        declared = int(re.search(r"^-- version: (\d+)$", text, re.M).group(1))
        assert declared >= int(version), (name, declared, version)
        assert "VALUES ('%s', %d, '" % (name, declared) in made, name
    # The numbered migrations hold tables and data only.
    for name in os.listdir(os.path.join(ROOT, "sql")):
        if re.match(r"[0-9]{3}_", name):
            text = open(os.path.join(ROOT, "sql", name)).read()
            assert not re.search(r"^(CREATE|DROP) (PROCEDURE|EVENT|OR REPLACE|.*VIEW)",
                                 text, re.M | re.I), name


@plain_pass_only("sql/migrate.sh and the server; no C runs")
def test_routines_applied_again_when_they_change(env):
    """sql/migrate.sh applies a repeatable migration (sql/R__*.sql) when
    its text changed since it was last applied, and only then; applied
    again, the daily event keeps whether an operator enabled it."""
    env.db.query("CREATE DATABASE pp_routines")
    argv = ["--no-defaults", "--socket=" + env.db.socket, "-uroot", "pp_routines"]
    first = sh(["sh", "sql/migrate.sh"] + argv).stdout
    assert "applied R__cleanup.sql" in first and "applied R__stats.sql" in first, first
    assert "applied" not in sh(["sh", "sql/migrate.sh"] + argv).stdout
    env.db.query("ALTER EVENT cleanup_old_generation_status_daily ENABLE", "pp_routines")
    # A copy of sql/ whose stats routines changed: only they are applied.
    tmp = os.path.join(env.base, "sql-changed")
    shutil.copytree(os.path.join(ROOT, "sql"), tmp)
    with open(os.path.join(tmp, "R__stats.sql"), "a") as fh:
        fh.write("\nCREATE OR REPLACE SQL SECURITY INVOKER VIEW routines_probe AS SELECT 1 AS one;\n")
    with open(os.path.join(tmp, "R__cleanup.sql"), "a") as fh:
        fh.write("\n-- changed\n")
    out = sh(["sh", os.path.join(tmp, "migrate.sh")] + argv).stdout
    assert out.split("\n")[:2] == ["applied R__cleanup.sql", "applied R__stats.sql"], out
    assert env.db.query("SELECT one FROM routines_probe", "pp_routines") == [["1"]]
    assert env.db.query("SELECT status FROM information_schema.events WHERE event_schema ="
                        " 'pp_routines'") == [["ENABLED"]]
    stored = dict(env.db.query("SELECT name, checksum FROM schema_routines", "pp_routines"))
    assert stored["R__stats.sql"] == sh(["sha256sum", os.path.join(tmp, "R__stats.sql")]) \
        .stdout[:64], stored


def ours(tmp, exe=None):
    """Processes whose command line names tmp (or whose program is exe),
    as "pid cmdline"."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")
            with open("/proc/%s/stat" % d) as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue        # dead, not yet reaped
            prog = os.readlink("/proc/%s/exe" % d) if exe else None
        except OSError:
            continue
        if tmp in cmd or (exe and prog == exe):
            found.append("%s %s" % (d, cmd))
    return found


# The moments a killed suite is stopped at: as soon as the named process
# of its test (test_fronts.test_cache_hit__fcgid) exists.
KILL_AT = ("mariadbd", "apache2", "promptpix.fcgi")


@plain_pass_only("the harness's cleanup, not promptpix")
def test_a_killed_suite_leaves_nothing_running(env):
    """tests/run.py stopped by SIGTERM in the middle of a test stops every
    process it started. Three suites at once, each stopped the instant one
    of its servers appears (KILL_AT): MariaDB starting, Apache starting
    (the signal may land while the harness starts the process, before it
    is tracked), mod_fcgid's first process (a child of Apache's, in its
    session, with an environment of its own)."""
    runs = []
    try:
        for i, moment in enumerate(KILL_AT):
            tmp = os.path.join(env.base, "ks%d" % i)
            os.makedirs(tmp)
            p = subprocess.Popen([sys.executable, "tests/run.py", "--build", env.build,
                                  "-k", "test_fronts.test_cache_hit__fcgid"], cwd=ROOT,
                                 env=dict(os.environ, TMPDIR=tmp), stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, start_new_session=True)
            runs.append((moment, tmp + "/", p))
        waiting = list(runs)

        def kill_those_due():
            mine = ours(os.path.join(env.base, "ks"))
            for run in list(waiting):
                moment, tmp, p = run
                if any(moment in c and tmp in c for c in mine):
                    p.send_signal(signal.SIGTERM)
                    waiting.remove(run)
                else:
                    assert p.poll() is None, (moment, p.communicate()[0][-3000:])
            return not waiting
        wait_until(kill_those_due, 90, "each suite's moment: %s" % [r[0] for r in waiting])
        for moment, tmp, p in runs:
            out = p.communicate(timeout=120)[0].decode(errors="replace")
            left = ours(tmp)
            assert not left, (moment, left, out[-3000:])
            assert p.returncode == 128 + signal.SIGTERM, (moment, p.returncode, out[-3000:])
    finally:
        for _, _, p in runs:
            if p.poll() is None:
                servers.kill_group(p.pid)


# A run of the harness cut by SIGTERM at the worst moment: while
# servers.popen() waits for a process to start (its child holds the start
# for 2 s before it runs the program). With mark, the run is marked and
# has started a daemon that left its session: not tracked, only the
# run's mark finds it.
CUT_RUN = r"""
import os, signal, subprocess, sys, time
sys.path.insert(0, %(root)r)
from tests.lib import servers
signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(128 + sig))
def idle(name):
    return [sys.executable, "-c", "import time; time.sleep(3600)", name]
if %(mark)r:
    servers.mark_run()
    subprocess.Popen(idle("%(tag)s-daemon"), start_new_session=True)
try:
    servers.popen(idle("%(tag)s-server"), preexec_fn=lambda: time.sleep(2))
    time.sleep(3600)
finally:
    servers.kill_all()
"""


@plain_pass_only("the harness's cleanup, not promptpix")
def test_a_signal_while_a_server_starts_leaves_nothing(env):
    """A SIGTERM that lands inside subprocess.Popen (the process forked,
    Popen not yet returned, so nothing tracked yet) is held until the
    harness has tracked the process; a process that escaped tracking (a
    daemon) is found by the run's mark. Either way kill_all() leaves
    nothing running."""
    for mark in (False, True):
        tag = "cut-run-%d-%s" % (os.getpid(), mark)
        p = subprocess.Popen([sys.executable, "-c",
                              CUT_RUN % {"root": ROOT, "tag": tag, "mark": mark}],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
        try:
            # The server's process forked, still a copy of the runner
            # holding its start: the runner is inside Popen.
            def in_popen():
                return any(cmdline(k) == cmdline(p.pid) and not k == p.pid
                           for k in children(p.pid))
            wait_until(in_popen, 30, "the runner inside Popen")
            p.send_signal(signal.SIGTERM)
            out = p.communicate(timeout=60)[0].decode(errors="replace")
            assert p.returncode == 128 + signal.SIGTERM, (mark, p.returncode, out)
            left = ours(tag)
            assert not left, (mark, left, out)
        finally:
            if p.poll() is None:
                servers.kill_group(p.pid)
            for line in ours(tag):
                os.kill(int(line.split()[0]), signal.SIGKILL)


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def children(pid):
    """PIDs of pid's children."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


@plain_pass_only("the bench's cleanup, not promptpix")
def test_bench_leaves_nothing_running(env):
    """make bench's case 1 (promptpix against the bare libfcgi
    responders, which spawn-fcgi -F starts in sessions of their own):
    afterwards none of its processes runs."""
    bare = os.path.join(env.build, "bare")
    if not os.path.exists(bare):
        sh(["make", "-s", "BUILD=" + env.build, bare])
    tmp = os.path.join(env.base, "bench")
    os.makedirs(tmp)
    out = subprocess.run([sys.executable, "tests/bench/bench.py", "--build", env.build,
                          "--only", "1", "--seconds", "1"], cwd=ROOT,
                         env=dict(os.environ, TMPDIR=tmp), capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and "bare libfcgi" in out.stdout, out.stdout + out.stderr
    left = ours(tmp, exe=bare)
    assert not left, left


def test_no_paid_call_for_an_image_that_cannot_be_stored(env):
    """A store that goes away after start-up fails the next new image
    before the backend is called: no call counted, nothing paid."""
    with env.front(processes=1) as f:
        os.rmdir(f.store)
        r = f.get("/128x128.jpg?text=nowhere%20to%20keep%20it")
        assert r.status == 502 and b"store" in r.body, (r, f.log()[-3000:])
        assert f.sql("SELECT status, error_kind, api_calls_made FROM generation_status") \
            == [["failed", "store", "0"]]
        assert "[store] dir %s: No such file or directory" % f.store in f.log(), f.log()[-2000:]
        os.makedirs(f.store)


# The shell blocks of docs/install-vps.md (and the upgrade of
# docs/operations.md), run as written over a `make install DESTDIR=`
# root: the paths they name are this root's, the database is the
# private server's, and what only systemd, certbot or a real network
# could do is a shim that notes the call (the test then does it:
# the unit's ExecStart, nginx with the site file). fal.ai is the
# stand-in.
SHIMS = ("systemctl", "git", "a2enmod", "a2dissite", "a2ensite", "apachectl")
HOST = "pix.example.org"


class Guide:
    def __init__(self, env):
        from tests.lib import falstub
        self.env = env
        self.inst = Installed.__new__(Installed)
        n = next(_seq)
        inst = self.inst
        inst.db = private_db(env)
        inst.root = os.path.join(env.base, "guide%d" % n)
        inst.dbname = "promptpix_guide%d" % n
        inst.conf = inst.path("/etc/promptpix/promptpix.conf")
        inst.store = inst.path("/var/lib/promptpix/img")
        inst.socket = inst.path("/run/promptpix/promptpix.sock")
        inst.proc = inst.web = None
        os.makedirs(inst.root)
        traversable(os.path.join(inst.root, "x"))
        self.work = os.path.join(inst.root, "work")
        self.shims = os.path.join(inst.root, "shims")
        os.makedirs(self.work)
        os.makedirs(self.shims)
        for d in ("/etc/ssl/certs", "/etc/ssl/private"):     # as on any Debian
            os.makedirs(inst.path(d))
        self.log = os.path.join(inst.root, "shims.log")
        for s in SHIMS:
            with open(os.path.join(self.shims, s), "w") as fh:
                fh.write('#!/bin/sh\necho "%s $*" >> %s\n' % (s, self.log))
            os.chmod(os.path.join(self.shims, s), 0o755)
        # nginx -t checks the installed site as the test's nginx runs it.
        with open(os.path.join(self.shims, "nginx"), "w") as fh:
            fh.write('#!/bin/sh\necho "nginx $*" >> %s\n' % self.log)
        os.chmod(os.path.join(self.shims, "nginx"), 0o755)
        self.port = free_port()
        self.tls_port = free_port()
        # A certificate "you already have": self-signed for HOST.
        sh(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=" + HOST, "-addext", "subjectAltName=DNS:" + HOST,
            "-keyout", os.path.join(self.work, "privkey.pem"),
            "-out", os.path.join(self.work, "fullchain.pem")])
        curlrc = os.path.join(inst.root, ".curlrc")
        with open(curlrc, "w") as fh:
            fh.write("resolve = %s:%d:127.0.0.1\ncacert = %s\nmax-time = 60\n"
                     % (HOST, self.tls_port, os.path.join(self.work, "fullchain.pem")))
        self.stub = falstub.FalStub("k-guide:secret")
        self.stub.__enter__()
        self.env_vars = dict(
            os.environ, DESTDIR=inst.root, BUILD=env.build, DB_NAME=inst.dbname,
            DB_ADMIN="--no-defaults --socket=%s -uroot" % inst.db.socket,
            PROMPTPIX_CONF=inst.conf, CURL_HOME=inst.root,
            PATH=os.pathsep.join([self.shims, inst.path("/usr/local/bin"),
                                  os.environ["PATH"]]))
        self.done = 0

    def rooted(self, text):
        """The block with this root's paths, database and port."""
        r = self.inst.root
        text = text.replace("/usr/share/promptpix/", "/usr/local/share/promptpix/")
        text = re.sub(r"(?<![\w.])/(etc/(promptpix|nginx|ssl|apache2)|usr/local|var/lib/promptpix)",
                      lambda m: r + m.group(0), text)
        text = text.replace("migrate.sh promptpix", "migrate.sh $DB_ADMIN $DB_NAME")
        text = text.replace("mariadb -N promptpix", "mariadb $DB_ADMIN -N $DB_NAME")
        text = text.replace("https://%s/" % HOST, "https://%s:%d/" % (HOST, self.tls_port))
        text = text.replace("'YOUR-FAL-KEY'", "'%s'" % self.stub.key)
        return docs.with_status_checks(text)

    def run(self, block):
        out = subprocess.run(["sh", "-ec", self.rooted(block.text)], cwd=self.work if
                             "fullchain.pem" in block.text else ROOT, env=self.env_vars,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, (block.where(), out.stdout[-3000:], out.stderr[-3000:])
        self.follow()
        return out

    def follow(self):
        """Do what the shims were asked since the last block."""
        calls = servers.read_text(self.log).splitlines()[self.done:]
        self.done += len(calls)
        inst = self.inst
        if any("promptpix" in c and ("restart" in c or "enable" in c) for c in calls):
            if inst.proc:
                servers.stop_process(inst.proc, 30)
            self.fal_standin()
            inst.start_responders()
        if any(c.startswith("systemctl reload nginx") for c in calls):
            site = inst.path("/etc/nginx/sites-enabled/promptpix")
            text = open(site).read().replace("listen 443 ssl;",
                                             "listen 127.0.0.1:%d ssl;" % self.tls_port)
            text = text.replace(" /etc/ssl/", " " + inst.path("/etc/ssl/"))
            served = inst.path("/nginx-site")
            with open(served, "w") as fh:
                fh.write(text)
            if inst.web:
                inst.web.stop()
            inst.web = servers.Nginx(inst.root, self.port, inst.socket, inst.store,
                                     source=served)
            inst.web.start()

    def fal_standin(self):
        """With backend = fal: the stand-in instead of fal.ai, appended
        to the operator's file (a later value wins)."""
        text = open(self.inst.conf).read()
        if "backend = fal" in text and "# the test's stand-in" not in text:
            import urllib.parse
            with open(self.inst.conf, "a") as fh:
                fh.write("\n[fal]\n; # the test's stand-in\nqueue_base = %s\nrun_base = %s\n"
                         "allowed_hosts = %s\nallow_http = true\n" % (
                             self.stub.queue_base, self.stub.run_base,
                             urllib.parse.urlsplit(self.stub.files_base).netloc))

    def close(self):
        self.inst.stop()
        self.stub.__exit__(None, None, None)


@installed_files
def test_install_vps_guide(env):
    """docs/install-vps.md's blocks for `make install`, in order, then
    the upgrade of docs/operations.md over the edited installation: the
    config and the site kept (the new ones beside them as .dist), the
    data kept, the host serving again."""
    g = Guide(env)
    try:
        for b in docs.guide_blocks("vps-make"):
            if "make install" in b.text:
                # Installed's own edits: the private database's socket,
                # the store in this root.
                g.run(b)
                text = open(g.inst.conf).read().replace(
                    "[database]\n", "[database]\nsocket = %s\n" % g.inst.db.socket, 1)
                text = text.replace("dir = /var/lib/promptpix/img", "dir = " + g.inst.store)
                text = text.replace("\nname = promptpix\n", "\nname = %s\n" % g.inst.dbname)
                with open(g.inst.conf, "w") as fh:
                    fh.write(text)
            else:
                g.run(b)
        inst = g.inst
        assert sum(g.stub.counts.values()) >= 1, g.stub.counts
        conf = open(inst.conf).read()
        for line in ("backend = fal", "mode = signed", "daily_usd = 5",
                     "operator_token_file = " + inst.path("/etc/promptpix/operator-token")):
            assert line in conf, line
        site = open(inst.path("/etc/nginx/sites-available/promptpix")).read()
        assert "server_name %s;" % HOST in site and "\n    listen 443 ssl;" in site, site[:1500]
        rows = inst.db.query("SELECT COUNT(*) FROM generation_status", inst.dbname)
        [upgrade] = docs.guide_blocks("upgrade")
        out = g.run(upgrade)
        assert "kept %s" % inst.path("/etc/nginx/sites-available/promptpix") in out.stdout, \
            out.stdout
        assert "kept %s" % inst.conf in out.stdout, out.stdout
        assert open(inst.conf).read() == conf
        assert open(inst.path("/etc/nginx/sites-available/promptpix")).read() == site
        assert os.path.exists(inst.path("/etc/nginx/sites-available/promptpix.dist"))
        assert inst.db.query("SELECT COUNT(*) FROM generation_status", inst.dbname) == rows
        signed = subprocess.run(
            [inst.path("/usr/local/bin/promptpix"), "sign",
             "https://%s:%d/512x512.jpg?text=a%%20fox" % (HOST, g.tls_port)],
            env=g.env_vars, capture_output=True, text=True, check=True).stdout.strip()
        out = subprocess.run(["curl", "-si", signed], env=g.env_vars, capture_output=True,
                             text=True)
        assert out.stdout.startswith("HTTP/1.1 302"), (out.stdout[:500], out.stderr)
    finally:
        g.close()
