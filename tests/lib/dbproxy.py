"""A TCP proxy between the responders and MariaDB that can lose the
server's reply to one chosen statement after the server has run it: the
fault "the statement committed, the answer never came back" (a cut
cable, a proxy's restart), which no real server can be told to make.
It can also send new connections to another server, as a load balancer
or a moved virtual IP does, leaving open ones where they are.

It reads the MySQL client/server protocol only as far as it must: each
packet is a 3-byte length, a sequence number and a payload; a command's
first packet has sequence 0 and starts with the command byte. Prepared
statements are executed by id, so the proxy learns each id from the
server's answer to COM_STMT_PREPARE, whose text it saw."""

import socket
import struct
import threading
import time

COM_QUERY = 0x03
COM_STMT_PREPARE = 0x16
COM_STMT_EXECUTE = 0x17


def read_packet(sock):
    """(header bytes, payload bytes), or None at end of stream."""
    head = b""
    while len(head) < 4:
        part = sock.recv(4 - len(head))
        if not part:
            return None
        head += part
    n = struct.unpack("<I", head[:3] + b"\0")[0]
    body = b""
    while len(body) < n:
        part = sock.recv(n - len(body))
        if not part:
            return None
        body += part
    return head, body


class Conn:
    """One client connection and its server connection."""

    def __init__(self, proxy, client):
        self.proxy = proxy
        self.client = client
        self.server = socket.create_connection(proxy.where())
        self.prepared = {}          # statement id -> SQL text
        self.preparing = None       # text of the COM_STMT_PREPARE in flight
        self.lose_reply = False     # drop the next answer and cut
        self.commit_armed = False   # lose the answer of this connection's next COMMIT
        for fn in (self.up, self.down):
            threading.Thread(target=fn, daemon=True).start()

    def close(self):
        for s in (self.client, self.server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def up(self):
        """Client to server: note prepares, arm the cut on a chosen execute."""
        try:
            while (p := read_packet(self.client)) is not None:
                head, body = p
                if head[3] == 0 and body:
                    if body[0] == COM_STMT_PREPARE:
                        self.preparing = body[1:].decode("utf-8", "replace")
                    elif body[0] == COM_QUERY:
                        sql = body[1:].decode("utf-8", "replace")
                        if self.proxy.take_cut(sql) or (
                                self.commit_armed and sql.upper().startswith("COMMIT")):
                            self.lose_reply = True
                            self.commit_armed = False
                    elif body[0] == COM_STMT_EXECUTE and len(body) >= 5:
                        sid = struct.unpack("<I", body[1:5])[0]
                        sql = self.prepared.get(sid, "")
                        if self.proxy.take_cut(sql):
                            self.lose_reply = True
                        if self.proxy.take_commit_cut(sql):
                            self.commit_armed = True
                        self.proxy.delay_for(sql)
                self.server.sendall(head + body)
        except OSError:
            pass
        self.close()

    def down(self):
        """Server to client: learn statement ids; lose the armed answer."""
        try:
            while (p := read_packet(self.server)) is not None:
                head, body = p
                if self.preparing is not None and head[3] == 1 and body[:1] == b"\0":
                    sid = struct.unpack("<I", body[1:5])[0]
                    self.prepared[sid] = self.preparing
                    self.preparing = None
                if self.lose_reply and head[3] == 1:
                    # The server has run the statement; the client never hears.
                    self.proxy.note_cut()
                    break
                self.client.sendall(head + body)
        except OSError:
            pass
        self.close()


class DbProxy:
    """Listens on a free loopback port; forwards to db (a servers.MariaDB)
    over TCP. A front made with db=DbProxy(...) reaches MariaDB through it.

    switch(db): new connections go to db (another servers.MariaDB) from
    now on; query() and create_database() too. Open ones stay.

    cut_reply(substring): the next execution of a prepared statement (or
    a plain query, such as the COMMIT of mysql_commit()) whose text holds
    substring runs on the server, but its answer is lost and both
    connections are cut. cut_commit_after(substring): the same for the
    COMMIT of the transaction that runs such a statement. delay(substring,
    seconds): such a statement reaches the server late."""

    def __init__(self, db):
        self.db = db
        self.upstream = (db.host, db.port)
        self.host = "127.0.0.1"
        self.lock = threading.Lock()
        self.cuts = []              # substrings armed
        self.commit_cuts = []       # ... whose transaction's COMMIT answer is lost
        self.delays = []            # (substring, seconds), each once
        self.done = 0               # answers lost so far
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((self.host, 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def create_database(self, name, hosts=("127.0.0.1",)):
        self.db.create_database(name, hosts=hosts)

    def query(self, q, db=None):
        return self.db.query(q, db)

    def serve(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                Conn(self, client)
            except OSError:
                client.close()

    def where(self):
        with self.lock:
            return self.upstream

    def switch(self, db):
        with self.lock:
            self.db = db
            self.upstream = (db.host, db.port)

    def cut_reply(self, substring):
        with self.lock:
            self.cuts.append(substring)

    def cut_commit_after(self, substring):
        """The COMMIT that follows, on the same connection, the next
        execution of a statement whose text holds substring commits on
        the server, but its answer is lost and the connection cut: a
        whole transaction done, its client not told."""
        with self.lock:
            self.commit_cuts.append(substring)

    def delay(self, substring, seconds):
        """Hold the next execution of a statement whose text holds
        substring for seconds before the server sees it."""
        with self.lock:
            self.delays.append((substring, seconds))

    def _take(self, armed, sql):
        """The first entry of armed whose substring sql holds, taken
        out of it; None if there is none. An entry is a substring, or a
        tuple whose first item is one."""
        with self.lock:
            for i, a in enumerate(armed):
                if (a[0] if isinstance(a, tuple) else a) in sql:
                    return armed.pop(i)
        return None

    def take_cut(self, sql):
        return self._take(self.cuts, sql) is not None

    def take_commit_cut(self, sql):
        return self._take(self.commit_cuts, sql) is not None

    def delay_for(self, sql):
        d = self._take(self.delays, sql)
        if d is not None:
            time.sleep(d[1])    # the fault under test: a statement that is slow to arrive

    def note_cut(self):
        with self.lock:
            self.done += 1

    def cuts_made(self):
        with self.lock:
            return self.done

    def close(self):
        self.listener.close()
