"""A real S3-compatible object store for the tests: OpenStack Swift 2.30
with its s3api middleware, from Debian's python3-swift, and the
memcached s3api needs. Nothing is faked: the S3 client talks to Swift's
own implementation of the S3 API.

Four WSGI servers (proxy, object, container, account), each one process
(workers = 0) in a session of its own, and memcached, all on free
127.0.0.1 ports, from a private directory: rings, configs, swift.conf
and the object server's disk (a directory; Swift needs user xattrs on
it, which ext4 has). Debian's /usr/bin/python3 runs Swift, since
another python3 on the PATH may not see Debian's packages.

    with Swift(base) as s:
        s.create_bucket("pics")
        ... s.endpoint, s.region, s.access_key, s.secret ...
"""

import itertools
import json
import os
import re
import subprocess
import time
import urllib.request

from .servers import can_connect, free_port, popen, read_text, stop_process, wait_until

SWIFT_PYTHON = "/usr/bin/python3"

_seq = itertools.count(1)

# Runs one Swift server on a private swift.conf: Swift 2.30 reads
# /etc/swift/swift.conf unless SWIFT_CONF_FILE is changed before its
# configuration is read. Logs go to stderr (the server's log file) and
# never to syslog: without a /dev/log socket Swift would send them to
# UDP localhost:514, whatever log_address says.
LAUNCHER = r"""
import logging, sys
from swift.common import storage_policy, utils
from swift.common.wsgi import run_wsgi
conf, name, swift_conf = sys.argv[1:4]
utils.SWIFT_CONF_FILE = swift_conf
utils.validate_configuration()
storage_policy.reload_storage_policies()
utils.ThreadSafeSysLogHandler = lambda *a, **kw: logging.NullHandler()
kw = {}
if name == "object-server":
    from swift.obj.server import global_conf_callback
    kw["global_conf_callback"] = global_conf_callback
sys.exit(run_wsgi(conf, name, verbose=True, **kw))
"""

# The three rings, one device each on 127.0.0.1 at its server's port.
RINGS = r"""
import sys
from swift.common.ring import RingBuilder
d = sys.argv[1]
for kind, port in zip(("object", "container", "account"), sys.argv[2:5]):
    b = RingBuilder(6, 1, 1)
    b.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1",
               "port": int(port), "device": "d0", "weight": 100})
    b.rebalance()
    b.get_ring().save("%s/%s.ring.gz" % (d, kind))
"""

SWIFT_CONF = """\
[swift-hash]
swift_hash_path_prefix = promptpix-test
swift_hash_path_suffix = promptpix-test

[storage-policy:0]
name = gold
default = yes
"""

COMMON = """\
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = %(port)d
workers = 0
swift_dir = %(dir)s
devices = %(dir)s/srv
mount_check = false
disable_fallocate = true
log_level = %(log_level)s
"""

PROXY = COMMON + """
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache \
listing_formats s3api tempauth copy dlo slo versioned_writes proxy-logging \
proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = %(region)s

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = %(secret)s .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:%(memcached)d

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:copy]
use = egg:swift#copy

[filter:dlo]
use = egg:swift#dlo

[filter:slo]
use = egg:swift#slo

[filter:versioned_writes]
use = egg:swift#versioned_writes
"""

STORAGE = COMMON + """
[pipeline:main]
pipeline = %(kind)s-server

[app:%(kind)s-server]
use = egg:swift#%(kind)s
"""


class Swift:
    """Swift + s3api + memcached in base/swiftN, on free ports. The S3
    endpoint is path-style at http://127.0.0.1:PORT; the one user is
    tempauth's test:tester (the access key id) with secret "testing".
    start_seconds: how long the last start() took, rings included."""

    start_timeout = 60
    region = "us-east-1"
    access_key = "test:tester"
    secret = "testing"

    def __init__(self, base, log_level="INFO"):
        self.dir = os.path.join(base, "swift%d" % next(_seq))
        self.log_level = log_level
        self.ports = {k: free_port() for k in
                      ("proxy", "object", "container", "account", "memcached")}
        self.endpoint = "http://127.0.0.1:%d" % self.ports["proxy"]
        self.procs = {}
        self.start_seconds = None

    def _write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def log_text(self, name):
        """The log (stdout and stderr) of one server: proxy, object,
        container, account or memcached."""
        return read_text(os.path.join(self.dir, name + ".log"))

    def _spawn(self, name, argv):
        with open(os.path.join(self.dir, name + ".log"), "w") as log:
            self.procs[name] = popen(argv, stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL, cwd=self.dir)

    def _check_xattrs(self, path):
        """The object server keeps an object's metadata in user xattrs
        of its file: fail now, clearly, where the filesystem has none."""
        try:
            os.setxattr(path, "user.promptpix-check", b"1")
            os.removexattr(path, "user.promptpix-check")
        except OSError as e:
            raise RuntimeError("Swift needs user xattrs, which %s lacks (%s); "
                               "tmpfs has them from Linux 6.6, ext4 always"
                               % (path, e.strerror))

    def start(self):
        t0 = time.monotonic()
        if not os.path.exists(SWIFT_PYTHON):
            raise RuntimeError(SWIFT_PYTHON + " is missing (make deps)")
        disk = os.path.join(self.dir, "srv", "d0")
        os.makedirs(disk, exist_ok=True)
        self._check_xattrs(disk)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def _start(self):
        swift_conf = self._write("swift.conf", SWIFT_CONF)
        p = self.ports
        confs = {}
        for kind in ("object", "container", "account"):
            confs[kind] = self._write(kind + "-server.conf", STORAGE % {
                "port": p[kind], "dir": self.dir, "kind": kind,
                "log_level": self.log_level})
        confs["proxy"] = self._write("proxy-server.conf", PROXY % {
            "port": p["proxy"], "dir": self.dir, "region": self.region,
            "secret": self.secret, "memcached": p["memcached"],
            "log_level": self.log_level})
        memcached = ["memcached", "-l", "127.0.0.1", "-p", str(p["memcached"]),
                     "-U", "0", "-m", "16"]
        if os.geteuid() == 0:
            memcached += ["-u", "root"]
        self._spawn("memcached", memcached)
        with open(os.path.join(self.dir, "rings.log"), "w") as log:
            if subprocess.run([SWIFT_PYTHON, "-c", RINGS, self.dir,
                               str(p["object"]), str(p["container"]),
                               str(p["account"])], stdout=log, stderr=log,
                              timeout=60).returncode != 0:
                raise RuntimeError("Swift's rings: " + self.log_text("rings")[-2000:])
        self.launch = {}
        for kind in ("account", "container", "object", "proxy"):
            self.launch[kind] = [SWIFT_PYTHON, "-c", LAUNCHER, confs[kind],
                                 kind + "-server", swift_conf]
            self._spawn(kind, self.launch[kind])
        self._wait_up()

    def _wait_up(self):
        p = self.ports

        def up():
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError("%s exited with %d:\n%s" % (
                        name, proc.returncode, self.log_text(name)[-3000:]))
            for name in self.procs:
                can_connect(("127.0.0.1", p[name]))
            with urllib.request.urlopen(self.endpoint + "/healthcheck", timeout=2) as r:
                return r.status == 200
        wait_until(up, self.start_timeout, "Swift's /healthcheck")

    def stop_proxy(self):
        """The S3 endpoint goes away (connections refused) while the
        storage servers keep what they hold: an outage of the store."""
        stop_process(self.procs.pop("proxy"), 10)

    def start_proxy(self):
        """The endpoint back, on its port, once it answers."""
        log = os.path.join(self.dir, "proxy.log")
        with open(log, "a") as f:
            self.procs["proxy"] = popen(self.launch["proxy"], stdout=f, stderr=f,
                                        stdin=subprocess.DEVNULL, cwd=self.dir)
        self._wait_up()

    def requests(self, method, path):
        """How many METHOD requests for path (an S3 path: /bucket/key, or a
        prefix of one ending in '/') the endpoint answered, by its log."""
        pat = re.compile(r" %s (%s\S*) HTTP/1\.[01] (\d+) " % (
            re.escape(method), re.escape(path)))
        return sum(1 for line in self.log_text("proxy").splitlines()
                   if (m := pat.search(line)) and (path.endswith("/") or m.group(1) == path))

    def stop(self):
        """SIGTERM every server (SIGKILL what outlives 10 s)."""
        for name in list(self.procs):
            stop_process(self.procs.pop(name), 10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    # Swift's own API, as tempauth's admin: buckets are its containers.

    def _swift_request(self, method, path, headers=None):
        req = urllib.request.Request(self.endpoint + "/auth/v1.0", headers={
            "X-Storage-User": self.access_key, "X-Storage-Pass": self.secret})
        with urllib.request.urlopen(req, timeout=10) as r:
            token, url = r.headers["X-Auth-Token"], r.headers["X-Storage-Url"]
        h = {"X-Auth-Token": token}
        h.update(headers or {})
        req = urllib.request.Request(url + path, method=method, headers=h)
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()

    def create_bucket(self, name, public_read=False):
        """Bucket name, made through Swift's API (so that the S3 client
        under test plays no part in it). public_read: anyone may read its
        objects on Swift's own path (public_url()); anonymous reads on
        the S3 path are refused by s3api whatever the ACL."""
        headers = {"X-Container-Read": ".r:*"} if public_read else {}
        status, _ = self._swift_request("PUT", "/" + name, headers)
        assert status in (201, 202), status

    def public_url(self, bucket, key):
        """Where an object of a public_read bucket is read without
        credentials (tempauth's account of the test user)."""
        return "%s/v1/AUTH_test/%s/%s" % (self.endpoint, bucket, key)

    def new_bucket(self, public_read=False):
        """A bucket of its own for a test, so that tests share one Swift."""
        name = "pics%d" % next(_seq)
        self.create_bucket(name, public_read)
        return name

    def credentials(self, path, secret=None):
        """An AWS shared-credentials file at path for the test user (with
        secret instead of the right one, if given). Returns path."""
        from .config import write_secret
        write_secret(path, "[default]\naws_access_key_id = %s\n"
                     "aws_secret_access_key = %s" % (self.access_key, secret or self.secret))
        return path

    def objects(self, bucket):
        """The keys in bucket, through Swift's API."""
        _, body = self._swift_request("GET", "/%s?format=json" % bucket)
        return [o["name"] for o in json.loads(body)]
