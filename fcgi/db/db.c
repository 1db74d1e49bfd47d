/*
 * db.c: the MySQL binding layer: connections, prepared statements with
 * bound parameters, and what a fault means for the connection.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>

#include "cfg.h"
#include "dbint.h"
#include "hash.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

/* A connection idle this long is pinged before it is trusted again. */
#define IDLE_PING_MS	5000
/*
 * How long a statement that met a deadlock or a certification conflict
 * is run again, and the longest pause between two runs.
 */
#define DEADLOCK_MS		3000
#define DEADLOCK_PAUSE_MAX_MS	64

/*
 * Bumped when a connection of this process learns that its server
 * cannot take writes (cannot_write below). Every connection of the
 * process reached the same address, so each one made before is dropped
 * at its next statement too (db_ensure()): a connection that only
 * reads, as an idle generation worker's or the waker's, would never
 * learn it, and would read a queue no one writes to any more.
 */
static atomic_uint	 write_epoch;

static MYSQL_BIND *
db_p_next(struct params *p, enum enum_field_types t)
{
	MYSQL_BIND	*b = &p->b[p->n];

	if (p->n == MAXP)
		abort();	/* a statement above needs more; a bug */
	memset(b, 0, sizeof(*b));
	b->buffer_type = t;
	b->length = &p->len[p->n];
	b->is_null = &p->null[p->n];
	p->null[p->n] = 0;
	p->n++;
	return b;
}

void
db_p_str(struct params *p, const char *s)
{
	MYSQL_BIND	*b = db_p_next(p, MYSQL_TYPE_STRING);

	b->buffer = (void *)s;
	*b->length = strlen(s);
}

void
db_p_u64(struct params *p, uint64_t v)
{
	MYSQL_BIND	*b;
	int		 i = p->n;

	b = db_p_next(p, MYSQL_TYPE_LONGLONG);
	p->u[i] = v;
	b->buffer = &p->u[i];
	b->is_unsigned = 1;
}

void
db_p_i64(struct params *p, int64_t v)
{
	MYSQL_BIND	*b;
	int		 i = p->n;

	b = db_p_next(p, MYSQL_TYPE_LONGLONG);
	p->u[i] = (uint64_t)v;
	b->buffer = &p->u[i];
}

void
db_p_double(struct params *p, double v)
{
	MYSQL_BIND	*b;
	int		 i = p->n;

	b = db_p_next(p, MYSQL_TYPE_DOUBLE);
	p->d[i] = v;
	b->buffer = &p->d[i];
}

void
db_p_null(struct params *p)
{
	MYSQL_BIND	*b = db_p_next(p, MYSQL_TYPE_NULL);

	*b->is_null = 1;
}

void
db_r_str(MYSQL_BIND *b, char *buf, size_t cap, unsigned long *len)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = buf;
	b->buffer_length = cap - 1;
	b->length = len;
}

void
db_r_i64(MYSQL_BIND *b, int64_t *v)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = v;
}

void
db_r_term(char *buf, size_t cap, unsigned long len)
{
	buf[len < cap ? len : cap - 1] = '\0';
}

void
db_r_u64(MYSQL_BIND *b, uint64_t *v)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = v;
	b->is_unsigned = 1;
}

void
db_r_double(MYSQL_BIND *b, double *v)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_DOUBLE;
	b->buffer = v;
}

static void
db_disconnect(struct db *db)
{
	for (int i = 0; i < ST__MAX; i++)
		if (db->st[i] != NULL) {
			mysql_stmt_close(db->st[i]);
			db->st[i] = NULL;
		}
	if (db->m != NULL) {
		mysql_close(db->m);
		db->m = NULL;
	}
}

/*
 * The server answered, but cannot take writes now: every write on this
 * connection would fail the same way, while behind a load balancer or
 * a virtual IP a new connection may reach a server that can (and a
 * host pinned to this one would let its leases lapse).
 */
static const struct {
	unsigned	 err;
	const char	*why;
} cannot_write[] = {
	/* Galera: the node left the primary component, or is syncing. */
	{ ER_UNKNOWN_COM_ERROR, "a Galera node not ready (WSREP)" },
	/* read_only (or super_read_only): a replica, a demoted primary. */
	{ ER_OPTION_PREVENTS_STATEMENT, "read-only server" },
	{ ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION, "read-only transaction" },
	{ ER_READ_ONLY_MODE, "read-only mode" },
};

/* Why err means the server cannot take writes now, or NULL. */
static const char *
cannot_write_why(unsigned err)
{
	for (size_t i = 0; i < sizeof(cannot_write) / sizeof(cannot_write[0]);
	    i++)
		if (cannot_write[i].err == err)
			return cannot_write[i].why;
	return NULL;
}

/*
 * Is the connection gone? Client-side errors (2000..2999), a server
 * shutting down (1053), a KILL (1927), or MySQL's client interaction
 * timeout (4031, sent before it closes an idle connection; MariaDB's
 * 4031 is a trigger error none of our statements can meet).
 */
static int
conn_gone(unsigned err)
{
	return (err >= 2000 && err < 3000) || err == ER_SERVER_SHUTDOWN ||
	    err == ER_CONNECTION_KILLED || err == 4031;
}

/*
 * A connection that is gone is dropped: the next statement connects
 * again (db_ensure()). So is one whose server cannot take writes now,
 * and with it, at their next statement, the other connections of this
 * process made before (write_epoch; one bump however many of them meet
 * the refusal). Anything else is a statement problem and leaves the
 * connection alone.
 */
void
db_fault(struct db *db, const char *what, unsigned err, const char *msg)
{
	const char	*why;
	unsigned	 seen;

	/*
	 * A deadlock or a Galera certification conflict inside a
	 * transaction rolls it back, and db_txn() runs it again: not a
	 * fault unless it keeps happening.
	 */
	if (err == ER_LOCK_DEADLOCK && db->in_txn) {
		db->deadlock = 1;
		metrics_db_error(MDB_CONFLICT);
		return;
	}
	log_error(db->rid, "database: %s: %s (%u)", what, msg, err);
	metrics_db_error(MDB_QUERY);
	if ((why = cannot_write_why(err)) != NULL) {
		log_warn(db->rid, "database: the server cannot take writes "
		    "now (%s, %u): this process connects again", why, err);
		seen = db->epoch;
		atomic_compare_exchange_strong(&write_epoch, &seen, seen + 1);
		db_disconnect(db);
	} else if (conn_gone(err))
		db_disconnect(db);
}

void
db_stmt_fault(struct db *db, const char *what, MYSQL_STMT *st)
{
	db_fault(db, what, mysql_stmt_errno(st), mysql_stmt_error(st));
}

int
db_library_init(void)
{
	return mysql_library_init(0, NULL, NULL) == 0 ? 0 : -1;
}

void
db_thread_init(void)
{
	mysql_thread_init();
}

void
db_thread_end(void)
{
	mysql_thread_end();
}

void
db_set_request(struct db *db, const char *rid)
{
	db->rid = rid;
}

struct db *
db_new(const struct cfg *cfg)
{
	struct db	*db = xcalloc(1, sizeof(*db));
	char		 host[64];

	db->cfg = cfg;
	if (gethostname(host, sizeof(host)) != 0)
		strlcpy_chk(host, "?", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(db->owner_host, sizeof(db->owner_host), "%.60s:%d", host,
	    (int)getpid());
	/*
	 * All hosts must agree on what NOW() means. A generator's connection
	 * sits idle while the backend works: the server must not close it
	 * (and free its lock) before the generation timeout.
	 */
	snprintf(db->init_sql, sizeof(db->init_sql), "SET time_zone = "
	    "'+00:00', wait_timeout = GREATEST(@@session.wait_timeout, %u)",
	    cfg->gen_timeout_ms / 1000 + cfg->max_wait_ms / 1000 + 60);
	return db;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	db_disconnect(db);
	free(db);
}

int
db_ensure(struct db *db)
{
	const struct cfg	*c = db->cfg;
	unsigned		 cto, rto;

	/* The server or a proxy may have closed an idle connection. */
	if (db->m != NULL && now_ms() - db->used_ms > IDLE_PING_MS &&
	    mysql_ping(db->m) != 0)
		db_disconnect(db);
	/* Its server cannot take writes; not inside a transaction. */
	if (db->m != NULL && !db->in_txn &&
	    db->epoch != atomic_load(&write_epoch))
		db_disconnect(db);
	if (db->m != NULL)
		return 0;
	if ((db->m = mysql_init(NULL)) == NULL)
		return -1;
	cto = (c->db_connect_timeout_ms + 999) / 1000;
	/*
	 * Every statement is short: nothing waits inside the server. A
	 * server that hangs without refusing costs a statement this long
	 * ([database] read_timeout, whole seconds), then the request is
	 * answered 503.
	 */
	rto = (c->db_read_timeout_ms + 999) / 1000;
	mysql_options(db->m, MYSQL_OPT_CONNECT_TIMEOUT, &cto);
	mysql_options(db->m, MYSQL_OPT_READ_TIMEOUT, &rto);
	mysql_options(db->m, MYSQL_OPT_WRITE_TIMEOUT, &rto);
	mysql_options(db->m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(db->m, MYSQL_INIT_COMMAND, db->init_sql);
	db->epoch = atomic_load(&write_epoch);
	if (mysql_real_connect(db->m,
	    c->db_socket ? NULL : c->db_host, c->db_user, c->db_password,
	    c->db_name, c->db_port, c->db_socket, CLIENT_MULTI_RESULTS) == NULL) {
		log_error(db->rid, "database: connect: %s (%u)",
		    mysql_error(db->m), mysql_errno(db->m));
		metrics_db_error(MDB_CONNECT);
		mysql_close(db->m);
		db->m = NULL;
		return -1;
	}
	db->used_ms = now_ms();
	return 0;
}

static MYSQL_STMT *
stmt_get(struct db *db, enum stmt_id id)
{
	MYSQL_STMT	*st;

	if (db_ensure(db) == -1)
		return NULL;
	if (db->st[id] != NULL)
		return db->st[id];
	if ((st = mysql_stmt_init(db->m)) == NULL)
		return NULL;
	if (mysql_stmt_prepare(st, db_sql[id], strlen(db_sql[id])) != 0) {
		db->gone = mysql_stmt_errno(st) == CR_SERVER_GONE_ERROR;
		db_stmt_fault(db, "prepare", st);
		mysql_stmt_close(st);
		return NULL;
	}
	db->st[id] = st;
	return st;
}

/* Prepare statement id and bind p to it. Returns it, or NULL. */
static MYSQL_STMT *
stmt_bound(struct db *db, enum stmt_id id, struct params *p)
{
	MYSQL_STMT	*st;

	if ((st = stmt_get(db, id)) == NULL)
		return NULL;
	if (p->n > 0 && mysql_stmt_bind_param(st, p->b) != 0) {
		db_stmt_fault(db, "bind", st);
		return NULL;
	}
	return st;
}

MYSQL_STMT *
db_stmt_exec(struct db *db, enum stmt_id id, struct params *p)
{
	MYSQL_STMT	*st;
	int		 fresh = 0;

	/*
	 * "Server has gone away" means the statement never reached the
	 * server: its connection was closed while idle (a KILL, a restart,
	 * a proxy's cut). Connect again and run it once more. A connection
	 * lost during the statement is not retried: it may have run.
	 */
	db->gone = db->dup = db->deadlock = 0;
	while ((st = stmt_bound(db, id, p)) == NULL)
		if (!db->gone || db->in_txn || fresh++)
			return NULL;
	/*
	 * Concurrent upserts of one row can deadlock in InnoDB, and a Galera
	 * node answers a certification conflict with the same error. Each
	 * of our statements is its own transaction, rolled back whole, so
	 * running it again is safe.
	 */
	for (int64_t pause = 1, end = now_ms() + DEADLOCK_MS;
	    mysql_stmt_execute(st) != 0; ) {
		if (mysql_stmt_errno(st) == ER_LOCK_DEADLOCK && !db->in_txn &&
		    now_ms() < end) {
			/*
			 * Jitter, so that the statements that conflicted do
			 * not meet again; a hot row on a Galera cluster can
			 * abort one statement many times in a row.
			 */
			sleep_ms(pause + now_us() % (pause + 1));
			pause = pause * 2 > DEADLOCK_PAUSE_MAX_MS ?
			    DEADLOCK_PAUSE_MAX_MS : pause * 2;
			metrics_db_error(MDB_CONFLICT);
			continue;
		}
		db->gone = mysql_stmt_errno(st) == CR_SERVER_GONE_ERROR;
		db->dup = mysql_stmt_errno(st) == ER_DUP_ENTRY;
		db->deadlock = mysql_stmt_errno(st) == ER_LOCK_DEADLOCK;
		db_stmt_fault(db, "execute", st);
		if (db->gone && !db->in_txn && !fresh++ &&
		    (st = stmt_bound(db, id, p)) != NULL)
			continue;
		return NULL;
	}
	db->gone = 0;
	db->used_ms = now_ms();
	return st;
}

/* One run of fn in a transaction: fn's answer, or -1 (rolled back). */
static int
txn_once(struct db *db, int (*fn)(struct db *, void *), void *arg)
{
	int	 rc;

	if (db_ensure(db) == -1)
		return -1;
	if (mysql_autocommit(db->m, 0) != 0) {
		db_fault(db, "begin", mysql_errno(db->m), mysql_error(db->m));
		return -1;
	}
	db->in_txn = 1;
	db->deadlock = 0;
	rc = fn(db, arg);
	if (db->m != NULL && rc >= 0 && mysql_commit(db->m) != 0) {
		db_fault(db, "commit", mysql_errno(db->m), mysql_error(db->m));
		rc = -1;
	}
	if (db->m != NULL && rc < 0)
		mysql_rollback(db->m);
	db->in_txn = 0;
	if (db->m != NULL && mysql_autocommit(db->m, 1) != 0)
		db_fault(db, "autocommit", mysql_errno(db->m),
		    mysql_error(db->m));
	return rc < 0 ? -1 : rc;
}

int
db_txn(struct db *db, int (*fn)(struct db *, void *), void *arg)
{
	int	 rc;

	for (int64_t pause = 1, end = now_ms() + DEADLOCK_MS;
	    (rc = txn_once(db, fn, arg)) == -1 && db->deadlock; ) {
		if (now_ms() >= end) {
			log_error(db->rid, "database: a transaction met a "
			    "deadlock or a conflict for %d ms; given up",
			    DEADLOCK_MS);
			break;
		}
		sleep_ms(pause + now_us() % (pause + 1));
		pause = pause * 2 > DEADLOCK_PAUSE_MAX_MS ?
		    DEADLOCK_PAUSE_MAX_MS : pause * 2;
	}
	return rc;
}

struct batch {
	uint64_t	 id;
	int		 (*fn)(struct db *, void *);
	void		*arg;
};

/* db_txn's body for db_txn_batch(): mark the batch, then run it. */
static int
batch_once(struct db *db, void *arg)
{
	const struct batch	*b = arg;
	struct params		 p = { .n = 0 };

	db_p_u64(&p, b->id);
	if (db_stmt_run(db, ST_FLUSH_MARK, &p) < 0)
		return db->dup ? 0 : -1;
	return b->fn(db, b->arg);
}

int
db_txn_batch(struct db *db, uint64_t id, int (*fn)(struct db *, void *),
    void *arg)
{
	struct batch	 b = { id, fn, arg };

	return db_txn(db, batch_once, &b);
}

long
db_stmt_run(struct db *db, enum stmt_id id, struct params *p)
{
	MYSQL_STMT	*st = db_stmt_exec(db, id, p);

	return st ? (long)mysql_stmt_affected_rows(st) : -1;
}

int
db_stmt_one(struct db *db, enum stmt_id id, struct params *p)
{
	long	 n = db_stmt_run(db, id, p);

	return n < 0 ? -1 : n == 1;
}

int
db_stmt_row(struct db *db, MYSQL_STMT *st, MYSQL_BIND *r)
{
	int	 rc;

	if (mysql_stmt_bind_result(st, r) != 0 ||
	    mysql_stmt_store_result(st) != 0) {
		db_stmt_fault(db, "result", st);
		return -1;
	}
	rc = mysql_stmt_fetch(st);
	mysql_stmt_free_result(st);
	if (rc == MYSQL_NO_DATA)
		return 0;
	return rc == 0 || rc == MYSQL_DATA_TRUNCATED ? 1 : -1;
}

int
db_stmt_scalar(struct db *db, enum stmt_id id, struct params *p, long long *v)
{
	MYSQL_STMT	*st;
	MYSQL_BIND	 r;
	my_bool		 isnull = 0;

	if ((st = db_stmt_exec(db, id, p)) == NULL)
		return -1;
	memset(&r, 0, sizeof(r));
	r.buffer_type = MYSQL_TYPE_LONGLONG;
	r.buffer = v;
	r.is_null = &isnull;
	if (db_stmt_row(db, st, &r) != 1)
		return -1;
	if (isnull)
		*v = -1;
	return 0;
}
