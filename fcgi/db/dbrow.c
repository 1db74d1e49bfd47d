/*
 * dbrow.c: the generation_status row: the election, reading it, and
 * recording what a generation produced.
 */
#include <stdio.h>
#include <string.h>

#include "dbint.h"
#include "log.h"
#include "store.h"
#include "util.h"

/* A reservation twice (the value, and whether there is one): NULL if < 0. */
static void
p_reserved(struct params *p, double reserved)
{
	for (int i = 0; i < 2; i++)
		if (reserved >= 0)
			db_p_double(p, reserved);
		else
			db_p_null(p);
}

/* ST_ELECT for b, the row held for hold_ms (0: not held). */
static long
elect(struct db *db, const struct db_ballot *b)
{
	struct params	 p = { .n = 0 };
	char		 dims[24];

	snprintf(dims, sizeof(dims), "%ux%u", b->r->w, b->r->h);
	db_p_str(&p, b->hash);
	db_p_str(&p, b->r->prompt);
	db_p_str(&p, dims);
	db_p_u64(&p, b->r->w);
	db_p_u64(&p, b->r->h);
	db_p_str(&p, img_fmt_ext(b->r->fmt));
	if (b->r->has_seed)
		db_p_u64(&p, b->r->seed);
	else
		db_p_null(&p);
	db_p_str(&p, b->model);
	db_p_u64(&p, b->qc);
	if (b->key != NULL)
		db_p_str(&p, b->key);
	else
		db_p_null(&p);
	p_reserved(&p, b->cost);
	db_p_u64(&p, b->elect_id);
	if (b->hold_ms > 0)
		db_p_u64(&p, (uint64_t)b->hold_ms * 1000);
	else
		db_p_null(&p);
	/* Who counts: total_requests (a player) or warm_requests. */
	for (int i = 0; i < 5; i++)
		db_p_u64(&p, b->warm != 0);
	db_p_u64(&p, b->qc);
	return db_stmt_run(db, ST_ELECT, &p);
}

/* ST_REQUEUE for b: 1 queued again, 0 not, -1. */
static long
requeue(struct db *db, const struct db_ballot *b)
{
	struct params	 p = { .n = 0 };

	db_p_u64(&p, b->qc);
	p_reserved(&p, b->cost);
	db_p_u64(&p, b->elect_id);
	db_p_str(&p, b->hash);
	db_p_u64(&p, b->exact != 0);
	return db_stmt_run(db, ST_REQUEUE, &p);
}

int
db_who(struct db *db, const char *hash, uint64_t *elect_id,
    uint64_t *finish_token)
{
	struct params	 p = { .n = 0 };
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[2];

	*elect_id = *finish_token = 0;
	db_p_str(&p, hash);
	if ((st = db_stmt_exec(db, ST_WHO, &p)) == NULL)
		return -1;
	db_r_u64(&r[0], elect_id);
	db_r_u64(&r[1], finish_token);
	return db_stmt_row(db, st, r);
}

/* A ballot's statement and its reservation, in one transaction. */
struct ballot_txn {
	const struct db_ballot	*b;
	long	 (*stmt)(struct db *, const struct db_ballot *);
	int	 over;		/* DB_BALLOT_OVER or _KEY_OVER, or 0 */
};

static int
ballot_body(struct db *db, void *arg)
{
	struct ballot_txn	*t = arg;
	long			 n;

	if ((n = t->stmt(db, t->b)) < 0)
		return -1;
	/* ST_ELECT: 1 a new row; 2 (or 0) one that was there, not paid. */
	if (n != 1)
		return (int)n;
	switch (db_budget_take(db, t->b->key, t->b->cost, t->b->cap)) {
	case BUDGET_RESERVED:
		return 1;
	case BUDGET_OVER:
		t->over = DB_BALLOT_OVER;
		return -1;
	case BUDGET_KEY_OVER:
		t->over = DB_BALLOT_KEY_OVER;
		return -1;
	default:
		return -1;
	}
}

/*
 * Run a ballot's statement: alone when it reserves nothing, else with
 * its reservation in one transaction (over a cap: rolled back, nothing
 * written). An answer that never came back is read back from the row:
 * our elect_id there means the statement ran, and made the job.
 */
static int
ballot_run(struct db *db, const struct db_ballot *b,
    long (*stmt)(struct db *, const struct db_ballot *))
{
	struct ballot_txn	 t = { b, stmt, 0 };
	uint64_t		 who, fin;
	long			 n;

	if (b->cost < 0)
		n = stmt(db, b);
	else
		n = db_txn(db, ballot_body, &t);
	if (t.over != 0)
		return t.over;
	if (n >= 0)
		return stmt == elect && n != 1 ? 2 : (int)n;
	if (db_who(db, b->hash, &who, &fin) == 1 && who == b->elect_id) {
		log_warn(db->rid, "%.12s: the answer was lost, the row "
		    "says we queued it", b->hash);
		return 1;
	}
	return -1;
}

int
db_elect(struct db *db, const struct db_ballot *b)
{
	return ballot_run(db, b, elect);
}

int
db_requeue(struct db *db, const struct db_ballot *b)
{
	return ballot_run(db, b, requeue);
}

int
db_row_settled(const struct gen_row *row)
{
	return row->status == GS_COMPLETED ||
	    (row->status == GS_FAILED && !row->retry_due);
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
	int64_t		 expired = 0, attempts = 0, due = 0;
	int64_t		 retry_in = 0, alias = 0;
	int		 rc;

	memset(row, 0, sizeof(*row));
	db_p_str(&p, hash);
	if ((st = db_stmt_exec(db, ST_FETCH, &p)) == NULL)
		return -1;
	db_r_str(&r[0], status, sizeof(status), &len[0]);
	db_r_str(&r[1], g->url, sizeof(g->url), &len[1]);
	db_r_str(&r[2], g->file, sizeof(g->file), &len[2]);
	db_r_str(&r[3], g->content_type, sizeof(g->content_type), &len[3]);
	db_r_str(&r[4], kind, sizeof(kind), &len[4]);
	db_r_str(&r[5], g->error_message, sizeof(g->error_message), &len[5]);
	db_r_i64(&r[6], &g->file_size);
	db_r_i64(&r[7], &g->completed_ms);
	db_r_i64(&r[8], &expired);
	db_r_i64(&r[9], &attempts);
	db_r_i64(&r[10], &due);
	db_r_i64(&r[11], &retry_in);
	db_r_i64(&r[12], &alias);
	if ((rc = db_stmt_row(db, st, r)) != 1)
		return rc;
	db_r_term(status, sizeof(status), len[0]);
	db_r_term(g->url, sizeof(g->url), len[1]);
	db_r_term(g->file, sizeof(g->file), len[2]);
	db_r_term(g->content_type, sizeof(g->content_type), len[3]);
	db_r_term(kind, sizeof(kind), len[4]);
	db_r_term(g->error_message, sizeof(g->error_message), len[5]);
	row->status = gen_status_parse(status);
	row->res.ok = row->status == GS_COMPLETED;
	row->res.err = row->status == GS_FAILED ? gen_err_parse(kind) :
	    GE_NONE;
	row->lease_expired = expired != 0;
	row->attempts = (unsigned)attempts;
	row->retry_due = due != 0;
	row->retry_in = (unsigned)retry_in;
	row->alias = alias != 0;
	return 1;
}

int
db_cost(struct db *db, const char *hash, double *usd)
{
	struct params	 p = { .n = 0 };
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[1];

	*usd = 0;
	db_p_str(&p, hash);
	if ((st = db_stmt_exec(db, ST_COST, &p)) == NULL)
		return -1;
	db_r_double(&r[0], usd);
	return db_stmt_row(db, st, r) == -1 ? -1 : 0;
}

int
db_complete_from_cache(struct db *db, const char *hash, int exact)
{
	struct params	 p = { .n = 0 };

	db_p_str(&p, hash);
	db_p_u64(&p, exact != 0);
	return db_stmt_one(db, ST_FROM_CACHE, &p);
}

int
db_hold_release(struct db *db, const char *hash)
{
	struct params	 p = { .n = 0 };

	db_p_str(&p, hash);
	return db_stmt_run(db, ST_HOLD_RELEASE, &p) < 0 ? -1 : 0;
}

/* What a finish records, for db_txn. */
struct finish {
	const char		*hash;
	const struct gen_result	*res;
	uint64_t		 token;
	unsigned		 backoff_ms;
	unsigned		 backoff_max_ms;
};

/* Record f's completion (while the row is unfinished). 1, 0 or -1. */
static long
record_completed(struct db *db, const struct finish *f)
{
	const struct gen_result	*res = f->res;
	struct params		 p = { .n = 0 };

	db_p_str(&p, res->url);
	db_p_str(&p, res->file);
	db_p_u64(&p, (uint64_t)res->file_size);
	db_p_str(&p, res->content_type);
	db_p_u64(&p, res->width);
	db_p_u64(&p, res->height);
	db_p_str(&p, res->upstream_id);
	db_p_u64(&p, (uint64_t)res->upstream_ms);
	db_p_u64(&p, (uint64_t)res->inference_ms);
	if (res->queue_ms >= 0)
		db_p_u64(&p, (uint64_t)res->queue_ms);
	else
		db_p_null(&p);
	db_p_u64(&p, f->token);
	db_p_str(&p, f->hash);
	return db_stmt_run(db, ST_COMPLETE, &p);
}

/*
 * Record f's failure, while the row is under its claim. The next
 * attempt waits backoff, doubled for each attempt made, up to
 * backoff_max; a permanent failure waits for an operator.
 */
static long
record_failed(struct db *db, const struct finish *f)
{
	const struct gen_result	*res = f->res;
	struct params		 p = { .n = 0 };

	db_p_str(&p, gen_err_name(res->err));
	db_p_str(&p, res->error_message);
	db_p_u64(&p, f->token);
	db_p_u64(&p, gen_err_permanent(res->err) ? 0 : 1);
	db_p_u64(&p, (uint64_t)f->backoff_ms * 1000);
	db_p_u64(&p, (uint64_t)f->backoff_max_ms * 1000);
	db_p_str(&p, f->hash);
	if (f->token != 0)
		db_p_u64(&p, f->token);
	else
		db_p_null(&p);
	return db_stmt_run(db, ST_FAIL, &p);
}

/*
 * db_txn's body: the row's end, the image into image_cache, and the
 * reservation the row holds still (no call spent it) given back.
 */
static int
finish_body(struct db *db, void *arg)
{
	struct finish	*f = arg;
	struct params	 p = { .n = 0 };
	long		 n;

	n = f->res->ok ? record_completed(db, f) : record_failed(db, f);
	if (n != 1)
		return n < 0 ? -1 : 0;
	if (f->res->ok) {
		db_p_str(&p, f->hash);
		if (db_stmt_run(db, ST_CACHE_PUT, &p) < 0)
			return -1;
	}
	return db_row_release(db, f->hash) == -1 ? -1 : 1;
}

int
db_finish(struct db *db, const char *hash, const struct gen_result *res,
    uint64_t token, unsigned backoff_ms, unsigned backoff_max_ms)
{
	struct finish	 f = { hash, res, token, backoff_ms, backoff_max_ms };
	uint64_t	 who, fin;
	int		 rc;

	/*
	 * Sent again after an answer that never came back, the record
	 * finds the row finished: by this claim (then it is ours, done
	 * whole) or by another worker's.
	 */
	if ((rc = db_txn(db, finish_body, &f)) != 0)
		return rc;
	if (db_who(db, hash, &who, &fin) == -1)
		return -1;
	return token != 0 && fin == token;
}

/* One entry's hits, or its row brought back with them. */
static int
add_one(struct db *db, const struct hit_count *c)
{
	const struct gen_result	*g = &c->res;
	struct params		 p = { .n = 0 };
	char			 dims[24], url[sizeof(g->url)];

	/* The hit cache keeps a stored image's file, not its public URL. */
	if (g->url[0] != '\0' || g->file[0] == '\0' ||
	    store_public_url(db->cfg, g->file, url, sizeof(url)) == -1)
		strlcpy_chk(url, g->url, sizeof(url));
	snprintf(dims, sizeof(dims), "%ux%u", c->req.w, c->req.h);
	db_p_str(&p, c->hash);
	db_p_str(&p, c->req.prompt);
	db_p_str(&p, dims);
	db_p_u64(&p, c->req.w);
	db_p_u64(&p, c->req.h);
	db_p_str(&p, img_fmt_ext(c->req.fmt));
	if (c->req.has_seed)
		db_p_u64(&p, c->req.seed);
	else
		db_p_null(&p);
	db_p_str(&p, c->model);
	db_p_str(&p, url);
	db_p_str(&p, g->file);
	db_p_u64(&p, (uint64_t)(g->file_size > 0 ? g->file_size : 0));
	db_p_str(&p, g->content_type);
	db_p_u64(&p, g->width);
	db_p_u64(&p, g->height);
	/* Every request counted in memory was a hit. */
	for (int i = 0; i < 4; i++)
		db_p_u64(&p, c->n);
	return db_stmt_run(db, ST_ADD_REQUESTS, &p) < 0 ? -1 : 0;
}

/* db_txn_batch's body: add each entry's hits. */
static int
add_entries(struct db *db, void *arg)
{
	for (const struct hit_count *c = arg; c != NULL; c = c->next)
		if (add_one(db, c) == -1)
			return -1;
	return 1;
}

int
db_add_requests(struct db *db, uint64_t batch, const struct hit_count *list)
{
	return db_txn_batch(db, batch, add_entries, (void *)list);
}

int
db_prune_flushes(struct db *db)
{
	struct params	 p = { .n = 0 };

	return db_stmt_run(db, ST_FLUSH_PRUNE, &p) < 0 ? -1 : 0;
}
