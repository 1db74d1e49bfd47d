/*
 * dbhistory.c: the hourly rollup written and read, and the dashboard's
 * other reads; see dbhistory.h. The SQL is in dbsql.c.
 */
#include <stdint.h>
#include <string.h>

#include "dbhistory.h"
#include "dbint.h"


/* Bind a result set's columns r and store it. 0 or -1. */
static int
bind_store(struct db *db, MYSQL_STMT *st, MYSQL_BIND *r)
{
	if (mysql_stmt_bind_result(st, r) != 0 ||
	    mysql_stmt_store_result(st) != 0) {
		db_stmt_fault(db, "result", st);
		return -1;
	}
	return 0;
}

/*
 * The end of a fetch loop: n rows, or -1 if it stopped on an error
 * (not when it stopped because out was full).
 */
static int
fetch_end(MYSQL_STMT *st, int rc, int n)
{
	mysql_stmt_free_result(st);
	return rc == 0 || rc == MYSQL_DATA_TRUNCATED || rc == MYSQL_NO_DATA ?
	    n : -1;
}

#define FETCHED(rc)	((rc) == 0 || (rc) == MYSQL_DATA_TRUNCATED)

/* One delta's rows: its hour's counts, its histogram, its kinds. */
static int
add_delta(struct db *db, const struct rollup_delta *d, double cpm)
{
	struct params	 p = { .n = 0 };

	if (d->requests || d->cache_hits || d->paid_calls || d->generations ||
	    d->failures || d->spent_micro || d->pixels) {
		db_p_u64(&p, (uint64_t)d->hour);
		db_p_u64(&p, d->requests);
		db_p_u64(&p, d->cache_hits);
		db_p_u64(&p, d->paid_calls);
		db_p_u64(&p, d->generations);
		db_p_u64(&p, d->failures);
		db_p_i64(&p, d->spent_micro);
		db_p_u64(&p, d->pixels);
		db_p_double(&p, cpm);
		if (db_stmt_run(db, ST_ROLLUP_ADD, &p) < 0)
			return -1;
	}
	for (int i = 0; i < HIST_MS_BUCKETS; i++) {
		if (d->ms[i] == 0)
			continue;
		p.n = 0;
		db_p_u64(&p, (uint64_t)d->hour);
		db_p_u64(&p, hist_ms_bounds[i]);
		db_p_u64(&p, d->ms[i]);
		db_p_u64(&p, d->ms[i]);
		if (db_stmt_run(db, ST_ROLLUP_MS, &p) < 0)
			return -1;
	}
	for (int k = 0; k < GE__MAX; k++) {
		if (d->kinds[k] == 0)
			continue;
		p.n = 0;
		db_p_u64(&p, (uint64_t)d->hour);
		db_p_str(&p, k == GE_NONE ? "unknown" : gen_err_name(k));
		db_p_u64(&p, d->kinds[k]);
		db_p_u64(&p, d->kinds[k]);
		if (db_stmt_run(db, ST_ROLLUP_FAIL, &p) < 0)
			return -1;
	}
	return 0;
}

struct rollup_batch {
	const struct rollup_delta	*d;
	int				 n;
	double				 cpm;
};

/* db_txn_batch's body: every delta of the batch. */
static int
add_rollup_batch(struct db *db, void *arg)
{
	const struct rollup_batch	*b = arg;

	for (int i = 0; i < b->n; i++)
		if (add_delta(db, &b->d[i], b->cpm) == -1)
			return -1;
	return 1;
}

int
db_rollup_add(struct db *db, uint64_t batch, const struct rollup_delta *d,
    int n, double cpm)
{
	struct rollup_batch	 b = { d, n, cpm };

	return db_txn_batch(db, batch, add_rollup_batch, &b) < 0 ? -1 : 0;
}

/*
 * The nearest-rank percentile pct of a histogram: the bound of the
 * bucket where the pct-th of n generations falls.
 */
static int64_t
percentile(const uint64_t *count, uint64_t n, unsigned pct)
{
	uint64_t	 rank = (n * pct + 99) / 100, seen = 0;

	if (n == 0)
		return -1;
	for (int i = 0; i < HIST_MS_BUCKETS; i++)
		if ((seen += count[i]) >= rank)
			return i == HIST_MS_BUCKETS - 1 ?
			    hist_ms_bounds[i - 1] : hist_ms_bounds[i];
	return hist_ms_bounds[HIST_MS_BUCKETS - 2];
}

/* The histogram rows of the window, into the percentiles of rows. */
static int
history_ms(struct db *db, int64_t since, int64_t step, struct hist_row *rows,
    int nrows)
{
	struct params	 p = { .n = 0 };
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[3];
	uint64_t	 t, le, n, count[HIST_MS_BUCKETS], total = 0;
	int64_t		 cur = -1;
	int		 rc, k = 0, got = 0;

	db_p_u64(&p, (uint64_t)step);
	db_p_u64(&p, (uint64_t)step);
	db_p_u64(&p, (uint64_t)since);
	if ((st = db_stmt_exec(db, ST_HISTORY_MS, &p)) == NULL)
		return -1;
	db_r_u64(&r[0], &t);
	db_r_u64(&r[1], &le);
	db_r_u64(&r[2], &n);
	if (bind_store(db, st, r) == -1)
		return -1;
	memset(count, 0, sizeof(count));
	for (;;) {
		rc = mysql_stmt_fetch(st);
		if (!FETCHED(rc) || (int64_t)t != cur) {
			/* The slot cur is complete: its percentiles. */
			while (cur >= 0 && k < nrows && rows[k].t < cur)
				k++;
			if (cur >= 0 && k < nrows && rows[k].t == cur) {
				rows[k].ms_p50 = percentile(count, total, 50);
				rows[k].ms_p95 = percentile(count, total, 95);
			}
			if (!FETCHED(rc))
				break;
			cur = (int64_t)t;
			memset(count, 0, sizeof(count));
			total = 0;
		}
		got++;
		for (int i = 0; i < HIST_MS_BUCKETS; i++)
			if (hist_ms_bounds[i] == le) {
				count[i] += n;
				total += n;
			}
	}
	return fetch_end(st, rc, got) < 0 ? -1 : 0;
}

int
db_history(struct db *db, int64_t since, int64_t step, struct hist_row *out,
    int max)
{
	struct params	 p = { .n = 0 };
	struct hist_row	 row;
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[8];
	unsigned long	 len[8];
	uint64_t	 t;
	int		 rc, n = 0;

	db_p_u64(&p, (uint64_t)step);
	db_p_u64(&p, (uint64_t)step);
	db_p_u64(&p, (uint64_t)since);
	if ((st = db_stmt_exec(db, ST_HISTORY, &p)) == NULL)
		return -1;
	memset(&row, 0, sizeof(row));
	db_r_u64(&r[0], &t);
	db_r_u64(&r[1], &row.requests);
	db_r_u64(&r[2], &row.cache_hits);
	db_r_u64(&r[3], &row.paid_calls);
	db_r_u64(&r[4], &row.generations);
	db_r_u64(&r[5], &row.failures);
	db_r_str(&r[6], row.spent_usd, sizeof(row.spent_usd), &len[6]);
	db_r_str(&r[7], row.saved_usd, sizeof(row.saved_usd), &len[7]);
	if (bind_store(db, st, r) == -1)
		return -1;
	while (FETCHED(rc = mysql_stmt_fetch(st))) {
		if (n == max)
			continue;
		db_r_term(row.spent_usd, sizeof(row.spent_usd), len[6]);
		db_r_term(row.saved_usd, sizeof(row.saved_usd), len[7]);
		row.t = (int64_t)t;
		row.ms_p50 = row.ms_p95 = -1;
		out[n++] = row;
	}
	mysql_stmt_free_result(st);
	if (rc != MYSQL_NO_DATA)
		return -1;
	return history_ms(db, since, step, out, n) == -1 ? -1 : n;
}

int
db_failure_kinds(struct db *db, int64_t since, struct kind_count *out,
    int max)
{
	struct params	 p = { .n = 0 };
	struct kind_count k;
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[2];
	unsigned long	 len;
	int		 rc, n = 0;

	db_p_u64(&p, (uint64_t)since);
	if ((st = db_stmt_exec(db, ST_FAIL_KINDS, &p)) == NULL)
		return -1;
	db_r_str(&r[0], k.kind, sizeof(k.kind), &len);
	db_r_u64(&r[1], &k.n);
	if (bind_store(db, st, r) == -1)
		return -1;
	while (FETCHED(rc = mysql_stmt_fetch(st)))
		if (n < max) {
			db_r_term(k.kind, sizeof(k.kind), len);
			out[n++] = k;
		}
	return fetch_end(st, rc, n);
}

int
db_top_prompts(struct db *db, struct top_prompt *out, int max)
{
	struct params	 p = { .n = 0 };
	struct top_prompt t;
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[8];
	unsigned long	 len[8];
	int		 rc, n = 0;

	db_p_u64(&p, (uint64_t)(max > 0 ? max : 0));
	if ((st = db_stmt_exec(db, ST_TOP_PROMPTS, &p)) == NULL)
		return -1;
	memset(&t, 0, sizeof(t));
	db_r_str(&r[0], t.prompt, sizeof(t.prompt), &len[0]);
	db_r_str(&r[1], t.dimensions, sizeof(t.dimensions), &len[1]);
	db_r_str(&r[2], t.format, sizeof(t.format), &len[2]);
	db_r_u64(&r[3], &t.total_requests);
	db_r_u64(&r[4], &t.api_calls_made);
	db_r_u64(&r[5], &t.api_calls_saved);
	db_r_str(&r[6], t.status, sizeof(t.status), &len[6]);
	db_r_str(&r[7], t.url, sizeof(t.url), &len[7]);
	if (bind_store(db, st, r) == -1)
		return -1;
	while (FETCHED(rc = mysql_stmt_fetch(st)) && n < max) {
		db_r_term(t.prompt, sizeof(t.prompt), len[0]);
		db_r_term(t.dimensions, sizeof(t.dimensions), len[1]);
		db_r_term(t.format, sizeof(t.format), len[2]);
		db_r_term(t.status, sizeof(t.status), len[6]);
		/* A URL cut short is no URL. */
		db_r_term(t.url, sizeof(t.url), len[7] >= sizeof(t.url) ?
		    0 : len[7]);
		out[n++] = t;
	}
	return fetch_end(st, rc, n);
}

int
db_in_flight(struct db *db, struct flight_row *out, int max)
{
	struct params	 p = { .n = 0 };
	struct flight_row f;
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[5];
	unsigned long	 len[5];
	int64_t		 qc;
	int		 rc, n = 0;

	db_p_u64(&p, (uint64_t)(max > 0 ? max : 0));
	db_p_u64(&p, (uint64_t)(max > 0 ? max : 0));
	if ((st = db_stmt_exec(db, ST_IN_FLIGHT, &p)) == NULL)
		return -1;
	memset(&f, 0, sizeof(f));
	db_r_str(&r[0], f.prompt, sizeof(f.prompt), &len[0]);
	db_r_str(&r[1], f.dimensions, sizeof(f.dimensions), &len[1]);
	db_r_str(&r[2], f.status, sizeof(f.status), &len[2]);
	db_r_i64(&r[3], &qc);
	db_r_i64(&r[4], &f.age_ms);
	if (bind_store(db, st, r) == -1)
		return -1;
	while (FETCHED(rc = mysql_stmt_fetch(st)) && n < 2 * max) {
		db_r_term(f.prompt, sizeof(f.prompt), len[0]);
		db_r_term(f.dimensions, sizeof(f.dimensions), len[1]);
		db_r_term(f.status, sizeof(f.status), len[2]);
		f.queue_class = (unsigned)qc;
		out[n++] = f;
	}
	return fetch_end(st, rc, n);
}
