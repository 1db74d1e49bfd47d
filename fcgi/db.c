#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>

#include "cfg.h"
#include "db.h"
#include "hash.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

enum stmt_id {
	ST_ELECT,
	ST_FETCH,
	ST_LOCK,
	ST_UNLOCK,
	ST_START,
	ST_TAKEOVER,
	ST_FROM_CACHE,
	ST_COMPLETE,
	ST_CACHE_PUT,
	ST_FAIL,
	ST_ADD_REQUESTS,
	ST_RESTORE_REQUESTS,
	ST_RETRY,
	ST_STATS,
	ST__MAX
};

#define LEASE	"NOW(3) + INTERVAL ? MICROSECOND"
/*
 * A generation counts its paid call when it starts (so a generator that
 * is killed mid-call is still counted); when it finishes, this corrects
 * the count to the calls the backend really made (retries, or none).
 */
#define CALLS	"GREATEST(CAST(api_calls_made AS SIGNED) + ? - 1, 0)"

static const char *const stmt_sql[ST__MAX] = {
	[ST_ELECT] =
	"INSERT INTO generation_status (id, prompt_hash, prompt, dimensions,"
	" width, height, format, seed, model, status, total_requests,"
	" owner_conn, owner_host, lease_until, created_at)"
	" VALUES (UUID(), ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 1,"
	" CONNECTION_ID(), ?, " LEASE ", NOW(3))"
	" ON DUPLICATE KEY UPDATE cache_hits = cache_hits +"
	" (status = 'completed'), total_requests = total_requests + 1",
	[ST_FETCH] =
	"SELECT status, COALESCE(generated_url, ''), COALESCE(file_name, ''),"
	" COALESCE(content_type, ''), COALESCE(error_kind, ''),"
	" COALESCE(error_message, ''), COALESCE(file_size, 0),"
	" COALESCE(ROUND(UNIX_TIMESTAMP(completed_at) * 1000), 0),"
	" COALESCE(owner_conn, 0),"
	" lease_until IS NULL OR lease_until < NOW(3), attempts,"
	" retryable = 1 AND COALESCE(next_attempt_at <= NOW(3), 0),"
	" IF(retryable = 1, GREATEST(0, CEIL(TIMESTAMPDIFF(MICROSECOND, NOW(3),"
	" COALESCE(next_attempt_at, NOW(3))) / 1000000)), 0)"
	" FROM generation_status WHERE prompt_hash = ?",
	[ST_LOCK] = "SELECT GET_LOCK(?, ?)",
	[ST_UNLOCK] = "SELECT RELEASE_LOCK(?)",
	[ST_START] =
	"UPDATE generation_status SET status = 'generating',"
	" started_at = NOW(3), attempts = attempts + 1,"
	" api_calls_made = api_calls_made + 1, lease_until = " LEASE
	" WHERE prompt_hash = ? AND status = 'pending'"
	" AND owner_conn = CONNECTION_ID() AND NOT EXISTS (SELECT 1"
	" FROM image_cache c WHERE c.prompt_hash = generation_status.prompt_hash)",
	[ST_TAKEOVER] =
	"UPDATE generation_status SET status = 'generating',"
	" owner_conn = CONNECTION_ID(), owner_host = ?, started_at = NOW(3),"
	" attempts = attempts + 1, api_calls_made = api_calls_made + 1,"
	" lease_until = " LEASE
	" WHERE prompt_hash = ? AND status IN ('pending', 'generating')"
	" AND owner_conn <=> ?",
	[ST_FROM_CACHE] =
	"UPDATE generation_status g JOIN image_cache c"
	" ON c.prompt_hash = g.prompt_hash"
	" SET g.status = 'completed', g.generated_url = c.generated_url,"
	" g.file_name = c.file_name, g.file_size = c.file_size,"
	" g.content_type = c.content_type, g.image_width = c.image_width,"
	" g.image_height = c.image_height, g.started_at = NOW(3),"
	" g.completed_at = NOW(3), g.lease_until = NULL,"
	" g.cache_hits = g.cache_hits + 1"
	" WHERE g.prompt_hash = ? AND g.status IN ('pending', 'generating')",
	[ST_COMPLETE] =
	"UPDATE generation_status SET status = 'completed',"
	" generated_url = ?, file_name = NULLIF(?, ''), file_size = ?,"
	" content_type = ?, image_width = ?, image_height = ?,"
	" upstream_request_id = NULLIF(?, ''), upstream_ms = ?,"
	" inference_ms = ?, api_calls_made = " CALLS ","
	" cost_usd = cost_usd + ?, error_kind = NULL, error_message = NULL,"
	" completed_at = NOW(3), lease_until = NULL"
	" WHERE prompt_hash = ? AND status IN ('pending', 'generating')",
	[ST_CACHE_PUT] =
	"INSERT INTO image_cache (prompt_hash, prompt, dimensions, format,"
	" seed, model, generated_url, file_name, file_size, content_type,"
	" image_width, image_height, created_at)"
	" SELECT prompt_hash, prompt, dimensions, format, seed, model,"
	" generated_url, file_name, file_size, content_type, image_width,"
	" image_height, completed_at FROM generation_status"
	" WHERE prompt_hash = ?"
	" ON DUPLICATE KEY UPDATE generated_url = generation_status.generated_url,"
	" file_name = generation_status.file_name,"
	" file_size = generation_status.file_size,"
	" content_type = generation_status.content_type",
	[ST_FAIL] =
	"UPDATE generation_status SET status = 'failed', error_kind = ?,"
	" error_message = ?, api_calls_made = " CALLS ","
	" cost_usd = cost_usd + ?, completed_at = NOW(3), lease_until = NULL,"
	" retryable = ?,"
	" next_attempt_at = NOW(3) + INTERVAL LEAST(? << LEAST(attempts - 1, 20),"
	" ?) MICROSECOND"
	" WHERE prompt_hash = ? AND status IN ('pending', 'generating')"
	" AND owner_conn = ?",
	[ST_RETRY] =
	"UPDATE generation_status SET status = 'pending',"
	" owner_conn = CONNECTION_ID(), owner_host = ?,"
	" lease_until = " LEASE ", started_at = NULL, completed_at = NULL"
	" WHERE prompt_hash = ? AND status = 'failed' AND retryable = 1"
	" AND next_attempt_at <= NOW(3)",
	[ST_ADD_REQUESTS] =
	"UPDATE generation_status SET total_requests = total_requests + ?,"
	" cache_hits = cache_hits + ? WHERE prompt_hash = ?",
	/* The status row was cleaned up meanwhile: bring it back. */
	[ST_RESTORE_REQUESTS] =
	"INSERT INTO generation_status (id, prompt_hash, prompt, dimensions,"
	" width, height, format, seed, model, status, generated_url, file_name,"
	" file_size, content_type, image_width, image_height, total_requests,"
	" cache_hits, created_at, started_at, completed_at)"
	" SELECT UUID(), prompt_hash, prompt, dimensions,"
	" SUBSTRING_INDEX(dimensions, 'x', 1), SUBSTRING_INDEX(dimensions, 'x', -1),"
	" format, seed, model, 'completed', generated_url, file_name, file_size,"
	" content_type, image_width, image_height, ?, ?, NOW(3), NOW(3), NOW(3)"
	" FROM image_cache WHERE prompt_hash = ?"
	" ON DUPLICATE KEY UPDATE total_requests = total_requests + ?,"
	" cache_hits = cache_hits + ?",
	[ST_STATS] = "CALL get_generation_stats()",
};

struct db {
	const struct cfg	*cfg;
	MYSQL			*m;
	MYSQL_STMT		*st[ST__MAX];
	char			 owner_host[80];
	char			 lock_prefix[11];	/* "pp" + 8 hex of the DB */
	int64_t			 used_ms;	/* last statement, now_ms() */
	uint64_t		 gen_conn;	/* our connection id when we
						   became the generator */
	char			 init_sql[128];
};

/* A connection idle this long is pinged before it is trusted again. */
#define IDLE_PING_MS	5000

/* Parameters for one statement, bound by value. */
#define MAXP	16
struct params {
	MYSQL_BIND	 b[MAXP];
	unsigned long	 len[MAXP];
	uint64_t	 u[MAXP];
	double		 d[MAXP];
	my_bool		 null[MAXP];
	int		 n;
};

static MYSQL_BIND *
p_next(struct params *p, enum enum_field_types t)
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

static void
p_str(struct params *p, const char *s)
{
	MYSQL_BIND	*b = p_next(p, MYSQL_TYPE_STRING);

	b->buffer = (void *)s;
	*b->length = strlen(s);
}

static void
p_u64(struct params *p, uint64_t v)
{
	MYSQL_BIND	*b;
	int		 i = p->n;

	b = p_next(p, MYSQL_TYPE_LONGLONG);
	p->u[i] = v;
	b->buffer = &p->u[i];
	b->is_unsigned = 1;
}

static void
p_double(struct params *p, double v)
{
	MYSQL_BIND	*b;
	int		 i = p->n;

	b = p_next(p, MYSQL_TYPE_DOUBLE);
	p->d[i] = v;
	b->buffer = &p->d[i];
}

static void
p_null(struct params *p)
{
	MYSQL_BIND	*b = p_next(p, MYSQL_TYPE_NULL);

	*b->is_null = 1;
}

/*
 * The named lock: 64 characters at most, shared by all hosts. Lock names
 * are global to the MySQL server, so they carry the database too: two
 * installations on one server must not wait on each other.
 */
static void
lock_name(const struct db *db, const char *hash, char *out)
{
	memcpy(out, db->lock_prefix, 10);
	memcpy(out + 10, hash, 54);
	out[64] = '\0';
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
 * Client-side errors (2000..2999) and a server going down mean the
 * connection is gone; anything else is a statement problem and leaves the
 * connection (and the named locks it holds) alone.
 */
static void
fault(struct db *db, const char *what, unsigned err, const char *msg)
{
	log_error(NULL, "database: %s: %s (%u)", what, msg, err);
	metrics_db_error(MDB_QUERY);
	if ((err >= 2000 && err < 3000) || err == 1053 || err == 1927)
		db_disconnect(db);
}

struct db *
db_new(const struct cfg *cfg)
{
	struct db	*db = xcalloc(1, sizeof(*db));
	char		 host[64], dbhash[HASH_HEX_LEN + 1];

	db->cfg = cfg;
	if (gethostname(host, sizeof(host)) != 0)
		strlcpy_chk(host, "?", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(db->owner_host, sizeof(db->owner_host), "%.60s:%d", host,
	    (int)getpid());
	hash_sha256_hex(cfg->db_name, strlen(cfg->db_name), dbhash);
	snprintf(db->lock_prefix, sizeof(db->lock_prefix), "pp%.8s", dbhash);
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
	if (db->m != NULL)
		return 0;
	if ((db->m = mysql_init(NULL)) == NULL)
		return -1;
	cto = (c->db_connect_timeout_ms + 999) / 1000;
	/* A waiter's GET_LOCK blocks the read for up to max_wait. */
	rto = c->max_wait_ms / 1000 + 30;
	mysql_options(db->m, MYSQL_OPT_CONNECT_TIMEOUT, &cto);
	mysql_options(db->m, MYSQL_OPT_READ_TIMEOUT, &rto);
	mysql_options(db->m, MYSQL_OPT_WRITE_TIMEOUT, &rto);
	mysql_options(db->m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(db->m, MYSQL_INIT_COMMAND, db->init_sql);
	if (mysql_real_connect(db->m,
	    c->db_socket ? NULL : c->db_host, c->db_user, c->db_password,
	    c->db_name, c->db_port, c->db_socket, CLIENT_MULTI_RESULTS) == NULL) {
		log_error(NULL, "database: connect: %s (%u)",
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
	if (mysql_stmt_prepare(st, stmt_sql[id], strlen(stmt_sql[id])) != 0) {
		fault(db, "prepare", mysql_stmt_errno(st), mysql_stmt_error(st));
		mysql_stmt_close(st);
		return NULL;
	}
	db->st[id] = st;
	return st;
}

/* Execute statement id with p. Returns the statement, or NULL. */
static MYSQL_STMT *
stmt_exec(struct db *db, enum stmt_id id, struct params *p)
{
	MYSQL_STMT	*st;

	if ((st = stmt_get(db, id)) == NULL)
		return NULL;
	if (p->n > 0 && mysql_stmt_bind_param(st, p->b) != 0) {
		fault(db, "bind", mysql_stmt_errno(st), mysql_stmt_error(st));
		return NULL;
	}
	/*
	 * Concurrent upserts of one row can deadlock in InnoDB. Each of our
	 * statements is its own transaction, rolled back whole by the
	 * deadlock, so running it again is safe.
	 */
	for (int tries = 1; mysql_stmt_execute(st) != 0; tries++) {
		if (mysql_stmt_errno(st) != ER_LOCK_DEADLOCK || tries == 3) {
			fault(db, "execute", mysql_stmt_errno(st),
			    mysql_stmt_error(st));
			return NULL;
		}
	}
	db->used_ms = now_ms();
	return st;
}

/* Execute a statement without a result set: affected rows, or -1. */
static long
stmt_run(struct db *db, enum stmt_id id, struct params *p)
{
	MYSQL_STMT	*st = stmt_exec(db, id, p);

	return st ? (long)mysql_stmt_affected_rows(st) : -1;
}

/* Execute "SELECT f(...)" and read its one integer (NULL reads as -1). */
static int
stmt_scalar(struct db *db, enum stmt_id id, struct params *p, long long *v)
{
	MYSQL_STMT	*st;
	MYSQL_BIND	 r;
	my_bool		 isnull = 0;
	int		 rc;

	if ((st = stmt_exec(db, id, p)) == NULL)
		return -1;
	memset(&r, 0, sizeof(r));
	r.buffer_type = MYSQL_TYPE_LONGLONG;
	r.buffer = v;
	r.is_null = &isnull;
	if (mysql_stmt_bind_result(st, &r) != 0 ||
	    mysql_stmt_store_result(st) != 0) {
		fault(db, "result", mysql_stmt_errno(st), mysql_stmt_error(st));
		return -1;
	}
	rc = mysql_stmt_fetch(st);
	mysql_stmt_free_result(st);
	if (rc != 0)
		return -1;
	if (isnull)
		*v = -1;
	return 0;
}

int
db_elect(struct db *db, const char *hash, const struct img_req *r,
    const char *model, unsigned lease_ms)
{
	struct params	 p = { .n = 0 };
	char		 dims[24];
	long		 n;

	snprintf(dims, sizeof(dims), "%ux%u", r->w, r->h);
	p_str(&p, hash);
	p_str(&p, r->prompt);
	p_str(&p, dims);
	p_u64(&p, r->w);
	p_u64(&p, r->h);
	p_str(&p, img_fmt_ext(r->fmt));
	if (r->has_seed)
		p_u64(&p, r->seed);
	else
		p_null(&p);
	p_str(&p, model);
	p_str(&p, db->owner_host);
	p_u64(&p, (uint64_t)lease_ms * 1000);
	if ((n = stmt_run(db, ST_ELECT, &p)) < 0)
		return -1;
	return n == 1 ? 1 : 2;
}

static void
r_str(MYSQL_BIND *b, char *buf, size_t cap, unsigned long *len)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = buf;
	b->buffer_length = cap - 1;
	b->length = len;
}

static void
r_i64(MYSQL_BIND *b, int64_t *v)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = v;
}

/* NUL-terminate a fetched string, truncated to its buffer if need be. */
static void
r_term(char *buf, size_t cap, unsigned long len)
{
	buf[len < cap ? len : cap - 1] = '\0';
}

int
db_fetch(struct db *db, const char *hash, struct gen_row *row)
{
	struct gen_result *g = &row->res;
	struct params	 p = { .n = 0 };
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[13];
	unsigned long	 len[6];
	char		 status[16], kind[32];
	int64_t		 owner = 0, expired = 0, attempts = 0, due = 0;
	int64_t		 retry_in = 0;
	int		 rc;

	memset(row, 0, sizeof(*row));
	p_str(&p, hash);
	if ((st = stmt_exec(db, ST_FETCH, &p)) == NULL)
		return -1;
	r_str(&r[0], status, sizeof(status), &len[0]);
	r_str(&r[1], g->url, sizeof(g->url), &len[1]);
	r_str(&r[2], g->file, sizeof(g->file), &len[2]);
	r_str(&r[3], g->content_type, sizeof(g->content_type), &len[3]);
	r_str(&r[4], kind, sizeof(kind), &len[4]);
	r_str(&r[5], g->error_message, sizeof(g->error_message), &len[5]);
	r_i64(&r[6], &g->file_size);
	r_i64(&r[7], &g->completed_ms);
	r_i64(&r[8], &owner);
	r_i64(&r[9], &expired);
	r_i64(&r[10], &attempts);
	r_i64(&r[11], &due);
	r_i64(&r[12], &retry_in);
	if (mysql_stmt_bind_result(st, r) != 0 ||
	    mysql_stmt_store_result(st) != 0) {
		fault(db, "result", mysql_stmt_errno(st), mysql_stmt_error(st));
		return -1;
	}
	rc = mysql_stmt_fetch(st);
	mysql_stmt_free_result(st);
	if (rc == MYSQL_NO_DATA)
		return 0;
	if (rc != 0 && rc != MYSQL_DATA_TRUNCATED)
		return -1;
	r_term(status, sizeof(status), len[0]);
	r_term(g->url, sizeof(g->url), len[1]);
	r_term(g->file, sizeof(g->file), len[2]);
	r_term(g->content_type, sizeof(g->content_type), len[3]);
	r_term(kind, sizeof(kind), len[4]);
	r_term(g->error_message, sizeof(g->error_message), len[5]);
	row->status = gen_status_parse(status);
	row->res.ok = row->status == GS_COMPLETED;
	row->res.err = row->status == GS_FAILED ? gen_err_parse(kind) :
	    GE_NONE;
	row->owner_conn = (uint64_t)owner;
	row->lease_expired = expired != 0;
	row->attempts = (unsigned)attempts;
	row->retry_due = due != 0;
	row->retry_in = (unsigned)retry_in;
	return 1;
}

int
db_lock(struct db *db, const char *hash, int64_t timeout_ms)
{
	struct params	 p = { .n = 0 };
	char		 name[65];
	long long	 v;

	lock_name(db, hash, name);
	p_str(&p, name);
	p_double(&p, timeout_ms > 0 ? timeout_ms / 1000.0 : 0.0);
	if (stmt_scalar(db, ST_LOCK, &p, &v) == -1)
		return -1;
	return v == 1 ? 1 : 0;
}

int
db_unlock(struct db *db, const char *hash)
{
	struct params	 p = { .n = 0 };
	char		 name[65];
	long long	 v;

	lock_name(db, hash, name);
	p_str(&p, name);
	return stmt_scalar(db, ST_UNLOCK, &p, &v);
}

int
db_start(struct db *db, const char *hash, unsigned lease_ms)
{
	struct params	 p = { .n = 0 };
	long		 n;

	p_u64(&p, (uint64_t)lease_ms * 1000);
	p_str(&p, hash);
	if ((n = stmt_run(db, ST_START, &p)) < 0)
		return -1;
	db->gen_conn = mysql_thread_id(db->m);
	return n == 1;
}

int
db_takeover(struct db *db, const char *hash, uint64_t old_owner,
    unsigned lease_ms)
{
	struct params	 p = { .n = 0 };
	long		 n;

	p_str(&p, db->owner_host);
	p_u64(&p, (uint64_t)lease_ms * 1000);
	p_str(&p, hash);
	if (old_owner != 0)
		p_u64(&p, old_owner);
	else
		p_null(&p);
	if ((n = stmt_run(db, ST_TAKEOVER, &p)) < 0)
		return -1;
	db->gen_conn = mysql_thread_id(db->m);
	return n == 1;
}

int
db_complete_from_cache(struct db *db, const char *hash)
{
	struct params	 p = { .n = 0 };
	long		 n;

	p_str(&p, hash);
	if ((n = stmt_run(db, ST_FROM_CACHE, &p)) < 0)
		return -1;
	return n == 1;
}

static long
record_completed(struct db *db, const char *hash,
    const struct gen_result *res)
{
	struct params	 p = { .n = 0 };
	long		 n;

	p_str(&p, res->url);
	p_str(&p, res->file);
	p_u64(&p, (uint64_t)res->file_size);
	p_str(&p, res->content_type);
	p_u64(&p, res->width);
	p_u64(&p, res->height);
	p_str(&p, res->upstream_id);
	p_u64(&p, (uint64_t)res->upstream_ms);
	p_u64(&p, (uint64_t)res->inference_ms);
	p_u64(&p, res->api_calls);
	p_double(&p, res->cost_usd);
	p_str(&p, hash);
	if ((n = stmt_run(db, ST_COMPLETE, &p)) != 1)
		return n;
	p.n = 0;
	p_str(&p, hash);
	return stmt_run(db, ST_CACHE_PUT, &p) < 0 ? -1 : 1;
}

/*
 * The next attempt waits backoff, doubled for each attempt made, up to
 * backoff_max; a permanent failure waits for an operator.
 */
static long
record_failed(struct db *db, const char *hash, const struct gen_result *res,
    unsigned backoff_ms, unsigned backoff_max_ms)
{
	struct params	 p = { .n = 0 };

	p_str(&p, gen_err_name(res->err));
	p_str(&p, res->error_message);
	p_u64(&p, res->api_calls);
	p_double(&p, res->cost_usd);
	p_u64(&p, gen_err_permanent(res->err) ? 0 : 1);
	p_u64(&p, (uint64_t)backoff_ms * 1000);
	p_u64(&p, (uint64_t)backoff_max_ms * 1000);
	p_str(&p, hash);
	p_u64(&p, db->gen_conn);
	return stmt_run(db, ST_FAIL, &p);
}

int
db_finish(struct db *db, const char *hash, const struct gen_result *res,
    unsigned backoff_ms, unsigned backoff_max_ms)
{
	long	 n;

	/*
	 * No transaction: the status row first, then the image cache. A
	 * crash between the two leaves a completed row that the cache lacks;
	 * the row alone answers, and the cleanup never deletes such a row.
	 */
	n = res->ok ? record_completed(db, hash, res) :
	    record_failed(db, hash, res, backoff_ms, backoff_max_ms);
	if (n < 0)
		return -1;
	return n == 1;
}

int
db_add_requests(struct db *db, const char *hash, unsigned long n)
{
	struct params	 p = { .n = 0 };

	long		 rows;

	/* Every request counted in memory was a hit. */
	p_u64(&p, n);
	p_u64(&p, n);
	p_str(&p, hash);
	if ((rows = stmt_run(db, ST_ADD_REQUESTS, &p)) != 0)
		return rows < 0 ? -1 : 0;
	p.n = 0;
	p_u64(&p, n);
	p_u64(&p, n);
	p_str(&p, hash);
	p_u64(&p, n);
	p_u64(&p, n);
	return stmt_run(db, ST_RESTORE_REQUESTS, &p) < 0 ? -1 : 0;
}

int
db_retry(struct db *db, const char *hash, unsigned lease_ms)
{
	struct params	 p = { .n = 0 };
	long		 n;

	p_str(&p, db->owner_host);
	p_u64(&p, (uint64_t)lease_ms * 1000);
	p_str(&p, hash);
	if ((n = stmt_run(db, ST_RETRY, &p)) < 0)
		return -1;
	return n == 1;
}

/* The columns of get_generation_stats(), in order. */
enum {
	SC_PERIOD, SC_IMAGES, SC_PENDING, SC_GENERATING, SC_COMPLETED,
	SC_FAILED, SC_REQUESTS, SC_MADE, SC_SAVED, SC_PERCENT, SC_SPENT,
	SC_USD_SAVED, SC_HITS, SC_P50, SC_P95, SC_IN_FLIGHT, SC_WAITERS,
	SC__MAX
};

static void
r_u64(MYSQL_BIND *b, uint64_t *v)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = v;
	b->is_unsigned = 1;
}

/* Read the rows of the procedure's result set into out. */
static int
stats_rows(MYSQL_STMT *st, struct gen_stats *out, int *nrows)
{
	MYSQL_BIND	 r[SC__MAX];
	unsigned long	 len[SC__MAX];
	my_bool		 isnull[SC__MAX];
	struct gen_stats row;
	uint64_t	 p50, p95, waiters;
	int		 rc;

	memset(&row, 0, sizeof(row));
	r_str(&r[SC_PERIOD], row.period, sizeof(row.period), &len[SC_PERIOD]);
	r_u64(&r[SC_IMAGES], &row.unique_images);
	r_u64(&r[SC_PENDING], &row.by_status[GS_PENDING]);
	r_u64(&r[SC_GENERATING], &row.by_status[GS_GENERATING]);
	r_u64(&r[SC_COMPLETED], &row.by_status[GS_COMPLETED]);
	r_u64(&r[SC_FAILED], &row.by_status[GS_FAILED]);
	r_u64(&r[SC_REQUESTS], &row.total_requests);
	r_u64(&r[SC_MADE], &row.api_calls_made);
	r_u64(&r[SC_SAVED], &row.api_calls_saved);
	r_str(&r[SC_PERCENT], row.savings_percent,
	    sizeof(row.savings_percent), &len[SC_PERCENT]);
	r_str(&r[SC_SPENT], row.cost_usd_spent, sizeof(row.cost_usd_spent),
	    &len[SC_SPENT]);
	r_str(&r[SC_USD_SAVED], row.cost_usd_saved,
	    sizeof(row.cost_usd_saved), &len[SC_USD_SAVED]);
	r_u64(&r[SC_HITS], &row.cache_hits);
	r_u64(&r[SC_P50], &p50);
	r_u64(&r[SC_P95], &p95);
	r_u64(&r[SC_IN_FLIGHT], &row.in_flight);
	r_u64(&r[SC_WAITERS], &waiters);
	for (int i = 0; i < SC__MAX; i++)
		r[i].is_null = &isnull[i];
	if (mysql_stmt_bind_result(st, r) != 0 ||
	    mysql_stmt_store_result(st) != 0)
		return -1;
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		if (*nrows == DB_STATS_PERIODS)
			continue;	/* more rows than periods: ignored */
		r_term(row.period, sizeof(row.period), len[SC_PERIOD]);
		r_term(row.savings_percent, sizeof(row.savings_percent),
		    len[SC_PERCENT]);
		r_term(row.cost_usd_spent, sizeof(row.cost_usd_spent),
		    len[SC_SPENT]);
		r_term(row.cost_usd_saved, sizeof(row.cost_usd_saved),
		    len[SC_USD_SAVED]);
		row.gen_ms_p50 = isnull[SC_P50] ? -1 : (int64_t)p50;
		row.gen_ms_p95 = isnull[SC_P95] ? -1 : (int64_t)p95;
		out[(*nrows)++] = row;
	}
	mysql_stmt_free_result(st);
	return rc == MYSQL_NO_DATA ? 0 : -1;
}

int
db_generation_stats(struct db *db, struct gen_stats *out)
{
	struct params	 p = { .n = 0 };
	MYSQL_STMT	*st;
	int		 nrows = 0, bad = 0, rc;

	if ((st = stmt_exec(db, ST_STATS, &p)) == NULL)
		return db->m == NULL ? -1 : -2;
	/*
	 * A CALL answers with its SELECT's result set and then a final
	 * status; every one must be read before the connection can run
	 * anything else.
	 */
	do {
		if (mysql_stmt_field_count(st) == 0)
			continue;
		if (nrows > 0 || mysql_stmt_field_count(st) != SC__MAX ||
		    stats_rows(st, out, &nrows) == -1) {
			bad = 1;
			mysql_stmt_free_result(st);
		}
	} while ((rc = mysql_stmt_next_result(st)) == 0);
	if (rc > 0) {
		fault(db, "stats", mysql_stmt_errno(st), mysql_stmt_error(st));
		return db->m == NULL ? -1 : -2;
	}
	if (bad || nrows != DB_STATS_PERIODS) {
		log_error(NULL, "database: get_generation_stats(): unexpected "
		    "result (is sql/002_stats.sql applied?)");
		return -2;
	}
	return 0;
}
