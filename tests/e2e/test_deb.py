"""The Debian package, on this machine's root, as docs/install-vps.md
and docs/operations.md say: make deb builds two versions, the guide's
`apt install ./promptpix_*.deb` installs the first, its setup steps make
the database, the unit's ExecStart serves an image behind the package's
nginx site, `promptpix key` works as root with no flags; then the second
version is installed over it (the edited config kept, the image still a
hit), and `apt remove` and `apt purge` take it away. The machine is left
as it was found: nothing installed, no /etc/promptpix, /var/lib/promptpix
or account promptpix it did not have, nothing running."""

import os
import re
import shutil
import subprocess

from tests.e2e.test_deploy import get, header, private_db, serves
from tests.lib import ROOT, config, docs, servers
from tests.lib.env import plain_pass_only, run_alone
from tests.lib.servers import free_port, wait_until

CONF = "/etc/promptpix/promptpix.conf"
UNIT = "/lib/systemd/system/promptpix.service"


def run(args, cwd=None, env=None, check=True, timeout=300):
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=timeout)
    if check and out.returncode != 0:
        raise AssertionError("%s: %d\n%s%s" % (args, out.returncode, out.stdout[-3000:],
                                                out.stderr[-3000:]))
    return out


def installed_version():
    out = run(["dpkg-query", "-W", "-f=${Status} ${Version}", "promptpix"], check=False)
    return out.stdout if out.returncode == 0 else ""


def copy_tree(env, base):
    """The checkout's files (tracked, and new ones not ignored) and the
    suite's build, with their times, so that make deb compiles nothing."""
    src = os.path.join(base, "src")
    files = run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT).stdout
    for f in filter(None, files.split("\0")):
        if os.path.isfile(os.path.join(ROOT, f)):
            os.makedirs(os.path.dirname(os.path.join(src, f)), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, f), os.path.join(src, f))
    build = os.path.join(base, "build-deb")
    shutil.copytree(os.path.join(env.build, "obj"), os.path.join(build, "obj"))
    shutil.copy2(os.path.join(env.build, "promptpix"), build)
    return src, build


def apt_env(base):
    """apt as the guide runs it, answering yes; recommends left out so
    that nothing is fetched (.ci/deps.sh installed the server packages)."""
    cfg = os.path.join(base, "apt.conf")
    with open(cfg, "w") as fh:
        fh.write('APT::Get::Assume-Yes "true";\nAPT::Install-Recommends "false";\n'
                 'DPkg::Lock::Timeout "300";\n')
    return dict(os.environ, APT_CONFIG=cfg, DEBIAN_FRONTEND="noninteractive")


class Responders:
    """The installed unit's ExecStart, as systemd would run it, with its
    socket in base."""

    def __init__(self, base):
        self.socket = os.path.join(base, "run", "promptpix.sock")
        os.makedirs(os.path.dirname(self.socket), exist_ok=True)
        self.proc = None

    def start(self):
        text = open(UNIT).read()
        e = dict(os.environ, **dict(re.findall(r"(?m)^Environment=(\w+)=(.*)$", text)))
        assert e["PROMPTPIX"] == "/usr/bin/promptpix", e
        e["SOCKET"] = self.socket
        cmd = re.search(r"(?m)^ExecStart=(.*)$", text).group(1).split()
        assert cmd == ["/bin/sh", "/usr/lib/promptpix/spawn-fcgi.sh"], cmd
        self.log = open(os.path.join(os.path.dirname(self.socket), "log"), "a")
        self.proc = servers.popen(cmd, env=e, stdout=self.log, stderr=self.log)
        wait_until(lambda: self.proc.poll() is None and servers.can_connect(self.socket),
                   15, "the unit's responders")

    def stop(self):
        if self.proc:
            servers.stop_process(self.proc, 30)
            self.proc = None


@plain_pass_only("the package's files and scripts; the C paths run in test_e2e")
@run_alone("installs a package on the machine's root")
def test_package_install_upgrade_remove_purge(env):
    assert os.geteuid() == 0, "dpkg needs root"
    assert not installed_version().startswith("install"), "promptpix is installed here already"
    for p in ("/etc/promptpix", "/var/lib/promptpix"):
        assert not os.path.exists(p), "%s exists here already" % p
    had_user = run(["id", "-u", "promptpix"], check=False).returncode == 0
    base = os.path.join(env.base, "deb")
    os.makedirs(base)
    src, build = copy_tree(env, base)
    debs = {}
    for v in ("1.0.0+test1", "1.0.0+test2"):
        run(["make", "-s", "deb", "VERSION=" + v, "DEB_BUILD=" + build], cwd=src, timeout=600)
        name = "promptpix_%s_%s.deb" % (v, run(["dpkg", "--print-architecture"]).stdout.strip())
        debs[v] = os.path.join(base, v)
        os.makedirs(debs[v])
        shutil.move(os.path.join(src, name), debs[v])
    aenv = apt_env(base)
    db = private_db(env)
    dbname = "promptpix_deb"
    pp = Responders(base)
    web = None
    try:
        # The guide's block, in the directory of the first build.
        [install] = docs.guide_blocks("deb")
        run(["sh", "-ec", install.text], cwd=debs["1.0.0+test1"], env=aenv)
        assert installed_version() == "install ok installed 1.0.0+test1", installed_version()
        st = os.stat("/var/lib/promptpix/img")
        assert st.st_uid == int(run(["id", "-u", "promptpix"]).stdout), st
        conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "promptpix"]).stdout
        assert CONF in conffiles, conffiles
        assert not os.path.exists("/etc/systemd/system/multi-user.target.wants/promptpix.service")
        # The operator's edits: where the database is (the test's own),
        # and an access secret for the key command.
        secret = "/etc/promptpix/access-secret"
        config.write_secret(secret, "s" * 48)
        shutil.chown(secret, "promptpix", "promptpix")
        config.write_conf(CONF, {("database", "socket"): db.socket,
                                 ("database", "name"): dbname,
                                 ("access", "secret_file"): secret})
        admin = {"DB_NAME": dbname, "DB_ADMIN": "--no-defaults --socket=%s -uroot" % db.socket}
        run(["sh", "/usr/share/promptpix/setup.sh", "database", "check"],
            env=dict(os.environ, **admin))
        # The commands, as root, with no flags: the installed config,
        # the database's root over the socket.
        bare = {k: v for k, v in os.environ.items() if k != "PROMPTPIX_CONF"}
        kid = run(["promptpix", "key", "add", "from the package", "--tier", "standard"],
                  cwd="/", env=bare).stdout.split()[1]
        out = run(["promptpix", "key", "list"], cwd="/", env=bare)
        assert kid in out.stdout and "from the package" in out.stdout, out.stdout
        pp.start()
        port = free_port()
        web = servers.Nginx(base, port, pp.socket, "/var/lib/promptpix/img",
                            source="/usr/share/promptpix/nginx/promptpix.conf")
        web.start()
        serves(port)
        target = "/512x512.jpg?text=deployed%20as%20the%20README%20says"
        st, h, _ = get(port, target)
        loc = header(h, "location")
        # The upgrade of docs/operations.md: the new build, the
        # migrations, the restart.
        pp.stop()
        run(["apt", "install", "./promptpix_1.0.0+test2_%s.deb" % run(
            ["dpkg", "--print-architecture"]).stdout.strip()], cwd=debs["1.0.0+test2"], env=aenv)
        assert installed_version() == "install ok installed 1.0.0+test2", installed_version()
        assert "socket = %s" % db.socket in open(CONF).read(), "the edited config is kept"
        run(["sh", "/usr/share/promptpix/sql/migrate.sh", "--no-defaults",
             "--socket=" + db.socket, "-uroot", dbname])
        pp.start()
        st, h, _ = get(port, target)
        assert st == 302 and header(h, "location") == loc, (st, h)
        assert db.query("SELECT SUM(api_calls_made) FROM generation_status", dbname) == [["1"]]
        pp.stop()
        web.stop()
        web = None
        run(["apt", "remove", "promptpix"], env=aenv)
        assert installed_version().startswith("deinstall ok config-files"), installed_version()
        assert not os.path.exists("/usr/bin/promptpix")
        assert os.path.exists(CONF) and os.path.isdir("/var/lib/promptpix/img")
        run(["apt", "purge", "promptpix"], env=aenv)
        assert installed_version() in ("", "unknown ok not-installed "), installed_version()
        for p in ("/etc/promptpix", "/var/lib/promptpix", UNIT):
            assert not os.path.exists(p), p
    finally:
        if web:
            web.stop()
        pp.stop()
        if installed_version():
            run(["dpkg", "--purge", "promptpix"], check=False)
        for p in ("/etc/promptpix", "/var/lib/promptpix"):
            shutil.rmtree(p, ignore_errors=True)
        if not had_user:
            run(["userdel", "promptpix"], check=False)
