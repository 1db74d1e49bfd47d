"""A MariaDB Galera cluster of private nodes on loopback, from Debian's
galera-4: each node is a servers.MariaDB with the wsrep options added,
in its own directory, on its own free ports (SQL, group communication,
IST, rsync SST). Node 1 bootstraps the cluster (--wsrep-new-cluster);
the others join it and receive its data by rsync SST, so only node 1's
datadir is installed. Used as a context manager it stops every node on
the way out, also on Ctrl-C or SIGTERM:

    with GaleraCluster(base) as c:
        c.nodes[0].create_database("pp") # on node 1, replicated
        c.nodes[1].query("SELECT ...")   # node 2

A front on node N: env.front(db=c.nodes[N - 1], ...) (over TCP).
"""

import os
import pwd
import signal
import tempfile
import threading
import time

from .servers import MariaDB, free_port, wait_until, which

PROVIDER = "/usr/lib/galera/libgalera_smm.so"


class GaleraNode(MariaDB):
    """One cluster node. join: the group communication address
    ("127.0.0.1:PORT") of a running node, or None to bootstrap a new
    cluster."""

    # A joiner is up in seconds; one that cannot reach the cluster
    # would otherwise wait for the state transfer for a minute.
    start_timeout = 30

    def __init__(self, base, index, cluster_name, join=None):
        super().__init__(os.path.join(base, "node%d" % index))
        self.index = index
        self.cluster_name = cluster_name
        self.join = join
        self.gcomm_port = free_port()
        self.ist_port = free_port()
        self.sst_port = free_port()
        self.gcomm = "127.0.0.1:%d" % self.gcomm_port

    def install(self, log):
        # A joiner's datadir is the donor's copy (rsync SST, before the
        # storage engines start): nothing to install.
        if self.join is None:
            super().install(log)
            return
        os.makedirs(self.datadir, exist_ok=True)
        if os.geteuid() == 0:
            # The SST script's rsync daemon, started by a mariadbd run
            # as root, writes as "nobody" (rsyncd.conf's default uid for
            # a daemon run by root; the script sets none): the datadir
            # it fills must be that user's.
            nobody = pwd.getpwnam("nobody")
            os.chown(self.datadir, nobody.pw_uid, nobody.pw_gid)

    def server_args(self):
        provider_options = ";".join([
            "gmcast.listen_addr=tcp://127.0.0.1:%d" % self.gcomm_port,
            "ist.recv_addr=127.0.0.1:%d" % self.ist_port,
            # The default 128M ring buffer is written out at start.
            "gcache.size=16M",
        ])
        args = [
            "--wsrep-on=ON", "--wsrep-provider=" + PROVIDER,
            "--wsrep-provider-options=" + provider_options,
            "--wsrep-cluster-name=" + self.cluster_name,
            "--wsrep-cluster-address=gcomm://" + (self.join or ""),
            "--wsrep-node-name=node%d" % self.index,
            "--wsrep-node-address=127.0.0.1",
            "--wsrep-node-incoming-address=127.0.0.1:%d" % self.port,
            "--wsrep-sst-method=rsync",
            "--wsrep-sst-receive-address=127.0.0.1:%d" % self.sst_port,
            "--wsrep-slave-threads=2",
            # Each certification conflict and brute-force abort, in
            # error.log: what a client saw as error 1213.
            "--wsrep-log-conflicts=ON",
            "--binlog-format=ROW", "--default-storage-engine=InnoDB",
            "--innodb-autoinc-lock-mode=2",
        ]
        if self.join is None:
            args.append("--wsrep-new-cluster")
        return args

    def create_database(self, name, **kw):
        """servers.MariaDB.create_database on this node, then wait until
        every node has the whole schema: DDL, users and rows replicate
        at commit, but a node applies them a moment later."""
        super().create_database(name, **kw)
        q = "SELECT MAX(version) FROM schema_version"
        last = self.query(q, name)

        def seen(n):
            try:
                return n.query(q, name) == last
            except RuntimeError:        # not there yet
                return False
        wait_until(lambda: all(seen(n) for n in self.cluster.nodes), 10,
                   "the schema of %s on every node" % name)

    def status(self, name):
        """A global status variable (wsrep_...), or None."""
        rows = self.query("SHOW GLOBAL STATUS LIKE '%s'" % name)
        return rows[0][1] if rows else None

    def ready(self):
        # Until the node has joined and synced, statements are refused
        # (ER_UNKNOWN_COM_ERROR, "WSREP has not yet prepared node"); SHOW
        # STATUS is always answered.
        try:
            return (self.status("wsrep_ready") == "ON" and
                    self.status("wsrep_local_state_comment") == "Synced")
        except RuntimeError:
            return False


class GaleraCluster:
    """size GaleraNodes under base/galera-*/: start() brings them up one
    after the other and waits until every node sees the whole cluster;
    stop() stops them, joiners first."""

    def __init__(self, base, size=2, name="promptpix-test"):
        # A new directory each time: a cluster never starts from an
        # earlier one's data.
        self.dir = tempfile.mkdtemp(prefix="galera-", dir=base)
        self.nodes = []
        for i in range(1, size + 1):
            join = self.nodes[0].gcomm if self.nodes else None
            self.nodes.append(GaleraNode(self.dir, i, name, join))
            self.nodes[-1].cluster = self
        self.started_in = None
        self._old_term = None

    def start(self):
        t0 = time.monotonic()
        for need in (PROVIDER, which("rsync"), which("wsrep_sst_rsync")):
            if not os.path.exists(need):
                raise RuntimeError("%s is missing: galera-4 and rsync are needed"
                                   " (.ci/deps.sh installs them)" % need)
        try:
            for n in self.nodes:
                n.start()
            size = str(len(self.nodes))
            wait_until(lambda: all(n.status("wsrep_cluster_size") == size and n.ready()
                                   for n in self.nodes), 30,
                       "wsrep_cluster_size = %s on every node" % size)
        except BaseException as e:
            logs = "\n".join("--- node%d error.log:\n%s" % (n.index, n.error_log()[-3000:])
                             for n in self.nodes)
            self.stop()
            if isinstance(e, Exception):
                raise RuntimeError("the Galera cluster did not start: %s\n%s"
                                   % (str(e).splitlines()[0], logs))
            raise
        self.started_in = time.monotonic() - t0
        return self

    def stop(self):
        for n in reversed(self.nodes):
            n.stop()

    def __enter__(self):
        # SIGTERM (a CI timeout) unwinds like Ctrl-C, through __exit__.
        if threading.current_thread() is threading.main_thread():
            self._old_term = signal.getsignal(signal.SIGTERM)
            if self._old_term == signal.SIG_DFL:
                signal.signal(signal.SIGTERM, _terminated)
        try:
            return self.start()         # stops what it started if it fails
        except BaseException:
            self._restore_term()
            raise

    def __exit__(self, *a):
        try:
            self.stop()
        finally:
            self._restore_term()

    def _restore_term(self):
        if self._old_term == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        self._old_term = None

    def wsrep_counters(self):
        """Per node: certification failures and brute-force aborts (the
        conflicts a client sees as error 1213), and replicated writes."""
        names = ("wsrep_local_cert_failures", "wsrep_local_bf_aborts",
                 "wsrep_replicated", "wsrep_received")
        return [{k: int(n.status(k) or 0) for k in names} for n in self.nodes]


def _terminated(signum, frame):
    raise KeyboardInterrupt("SIGTERM")
