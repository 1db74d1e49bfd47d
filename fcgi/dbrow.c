/*
 * dbrow.c: the generation_status row: the election, reading it, and
 * recording what a generation produced.
 */
#include <stdio.h>
#include <string.h>

#include "dbint.h"
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

int
db_elect(struct db *db, const char *hash, const struct img_req *r,
    const char *model, enum queue_class qc, const char *key, double reserved,
    unsigned hold_ms, int warm)
{
	struct params	 p = { .n = 0 };
	char		 dims[24];
	long		 n;

	snprintf(dims, sizeof(dims), "%ux%u", r->w, r->h);
	db_p_str(&p, hash);
	db_p_str(&p, r->prompt);
	db_p_str(&p, dims);
	db_p_u64(&p, r->w);
	db_p_u64(&p, r->h);
	db_p_str(&p, img_fmt_ext(r->fmt));
	if (r->has_seed)
		db_p_u64(&p, r->seed);
	else
		db_p_null(&p);
	db_p_str(&p, model);
	db_p_u64(&p, qc);
	if (key != NULL)
		db_p_str(&p, key);
	else
		db_p_null(&p);
	p_reserved(&p, reserved);
	if (hold_ms > 0)
		db_p_u64(&p, (uint64_t)hold_ms * 1000);
	else
		db_p_null(&p);
	/* Who counts: total_requests (a player) or warm_requests. */
	for (int i = 0; i < 5; i++)
		db_p_u64(&p, warm != 0);
	db_p_u64(&p, qc);
	if ((n = db_stmt_run(db, ST_ELECT, &p)) < 0)
		return -1;
	return n == 1 ? 1 : 2;
}

int
db_fetch(struct db *db, const char *hash, struct gen_row *row)
{
	struct gen_result *g = &row->res;
	struct params	 p = { .n = 0 };
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[12];
	unsigned long	 len[6];
	char		 status[16], kind[32];
	int64_t		 expired = 0, attempts = 0, due = 0;
	int64_t		 retry_in = 0;
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
db_complete_from_cache(struct db *db, const char *hash)
{
	struct params	 p = { .n = 0 };

	db_p_str(&p, hash);
	return db_stmt_one(db, ST_FROM_CACHE, &p);
}

/*
 * Record res as the row's completion (while it is unfinished), and the
 * image into image_cache. Returns 1 recorded, 0 the row had finished
 * already, -1.
 */
static long
record_completed(struct db *db, const char *hash,
    const struct gen_result *res)
{
	struct params	 p = { .n = 0 };
	long		 n;

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
	db_p_u64(&p, res->api_calls);
	db_p_double(&p, res->cost_usd);
	db_p_str(&p, hash);
	if ((n = db_stmt_run(db, ST_COMPLETE, &p)) != 1)
		return n;
	p.n = 0;
	db_p_str(&p, hash);
	return db_stmt_run(db, ST_CACHE_PUT, &p) < 0 ? -1 : 1;
}

/*
 * The next attempt waits backoff, doubled for each attempt made, up to
 * backoff_max; a permanent failure waits for an operator.
 */
static long
record_failed(struct db *db, const char *hash, const struct gen_result *res,
    uint64_t token, unsigned backoff_ms, unsigned backoff_max_ms)
{
	struct params	 p = { .n = 0 };

	db_p_str(&p, gen_err_name(res->err));
	db_p_str(&p, res->error_message);
	db_p_u64(&p, res->api_calls);
	db_p_double(&p, res->cost_usd);
	db_p_u64(&p, gen_err_permanent(res->err) ? 0 : 1);
	db_p_u64(&p, (uint64_t)backoff_ms * 1000);
	db_p_u64(&p, (uint64_t)backoff_max_ms * 1000);
	db_p_str(&p, hash);
	if (token != 0)
		db_p_u64(&p, token);
	else
		db_p_null(&p);
	return db_stmt_run(db, ST_FAIL, &p);
}

int
db_finish(struct db *db, const char *hash, const struct gen_result *res,
    uint64_t token, unsigned backoff_ms, unsigned backoff_max_ms)
{
	long	 n;

	/*
	 * No transaction: the status row first, then the image cache. A
	 * crash between the two leaves a completed row that the cache lacks;
	 * the row alone answers, and the cleanup never deletes such a row.
	 */
	n = res->ok ? record_completed(db, hash, res) :
	    record_failed(db, hash, res, token, backoff_ms,
	    backoff_max_ms);
	if (n < 0)
		return -1;
	return n == 1;
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

struct add_batch {
	uint64_t		 id;
	const struct hit_count	*list;
};

/* db_txn's body: mark the batch, then add its entries; 0 if marked before. */
static int
add_batch(struct db *db, void *arg)
{
	const struct add_batch	*b = arg;
	struct params		 p = { .n = 0 };

	db_p_u64(&p, b->id);
	if (db_stmt_run(db, ST_FLUSH_MARK, &p) < 0)
		return db->dup ? 0 : -1;
	for (const struct hit_count *c = b->list; c != NULL; c = c->next)
		if (add_one(db, c) == -1)
			return -1;
	return 1;
}

int
db_add_requests(struct db *db, uint64_t batch, const struct hit_count *list)
{
	struct add_batch	 b = { batch, list };

	return db_txn(db, add_batch, &b);
}

int
db_prune_flushes(struct db *db)
{
	struct params	 p = { .n = 0 };

	return db_stmt_run(db, ST_FLUSH_PRUNE, &p) < 0 ? -1 : 0;
}

int
db_retry(struct db *db, const char *hash, enum queue_class qc,
    double reserved)
{
	struct params	 p = { .n = 0 };

	db_p_u64(&p, qc);
	p_reserved(&p, reserved);
	db_p_str(&p, hash);
	return db_stmt_one(db, ST_RETRY, &p);
}
