/*
 * dbstats.c: the reporting queries: CALL get_generation_stats(), the one
 * definition of the figures (sql/002_stats.sql, as sql/005 extends it);
 * and the warm-ups' view (sql/006_warm.sql).
 */
#include <string.h>

#include "dbint.h"
#include "log.h"

/* The columns of get_generation_stats(), in order. */
enum {
	SC_PERIOD, SC_IMAGES, SC_PENDING, SC_GENERATING, SC_COMPLETED,
	SC_FAILED, SC_REQUESTS, SC_MADE, SC_SAVED, SC_PERCENT, SC_SPENT,
	SC_USD_SAVED, SC_HITS, SC_P50, SC_P95, SC_IN_FLIGHT, SC_WAITERS,
	SC_INFERENCE_P50, SC_QUEUE_P50,
	SC__MAX
};

/* Read the rows of the procedure's result set into out. */
static int
stats_rows(MYSQL_STMT *st, struct gen_stats *out, int *nrows)
{
	MYSQL_BIND	 r[SC__MAX];
	unsigned long	 len[SC__MAX];
	my_bool		 isnull[SC__MAX];
	struct gen_stats row;
	uint64_t	 p50, p95, waiters, inference, queue;
	int		 rc;

	memset(&row, 0, sizeof(row));
	db_r_str(&r[SC_PERIOD], row.period, sizeof(row.period), &len[SC_PERIOD]);
	db_r_u64(&r[SC_IMAGES], &row.unique_images);
	db_r_u64(&r[SC_PENDING], &row.by_status[GS_PENDING]);
	db_r_u64(&r[SC_GENERATING], &row.by_status[GS_GENERATING]);
	db_r_u64(&r[SC_COMPLETED], &row.by_status[GS_COMPLETED]);
	db_r_u64(&r[SC_FAILED], &row.by_status[GS_FAILED]);
	db_r_u64(&r[SC_REQUESTS], &row.total_requests);
	db_r_u64(&r[SC_MADE], &row.api_calls_made);
	db_r_u64(&r[SC_SAVED], &row.api_calls_saved);
	db_r_str(&r[SC_PERCENT], row.savings_percent,
	    sizeof(row.savings_percent), &len[SC_PERCENT]);
	db_r_str(&r[SC_SPENT], row.cost_usd_spent, sizeof(row.cost_usd_spent),
	    &len[SC_SPENT]);
	db_r_str(&r[SC_USD_SAVED], row.cost_usd_saved,
	    sizeof(row.cost_usd_saved), &len[SC_USD_SAVED]);
	db_r_u64(&r[SC_HITS], &row.cache_hits);
	db_r_u64(&r[SC_P50], &p50);
	db_r_u64(&r[SC_P95], &p95);
	db_r_u64(&r[SC_IN_FLIGHT], &row.in_flight);
	db_r_u64(&r[SC_WAITERS], &waiters);
	db_r_u64(&r[SC_INFERENCE_P50], &inference);
	db_r_u64(&r[SC_QUEUE_P50], &queue);
	for (int i = 0; i < SC__MAX; i++)
		r[i].is_null = &isnull[i];
	if (mysql_stmt_bind_result(st, r) != 0 ||
	    mysql_stmt_store_result(st) != 0)
		return -1;
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		if (*nrows == DB_STATS_PERIODS)
			continue;	/* more rows than periods: ignored */
		db_r_term(row.period, sizeof(row.period), len[SC_PERIOD]);
		db_r_term(row.savings_percent, sizeof(row.savings_percent),
		    len[SC_PERCENT]);
		db_r_term(row.cost_usd_spent, sizeof(row.cost_usd_spent),
		    len[SC_SPENT]);
		db_r_term(row.cost_usd_saved, sizeof(row.cost_usd_saved),
		    len[SC_USD_SAVED]);
		row.gen_ms_p50 = isnull[SC_P50] ? -1 : (int64_t)p50;
		row.gen_ms_p95 = isnull[SC_P95] ? -1 : (int64_t)p95;
		row.inference_ms_p50 = isnull[SC_INFERENCE_P50] ? -1 :
		    (int64_t)inference;
		row.queue_ms_p50 = isnull[SC_QUEUE_P50] ? -1 : (int64_t)queue;
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

	if ((st = db_stmt_exec(db, ST_STATS, &p)) == NULL)
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
		db_stmt_fault(db, "stats", st);
		return db->m == NULL ? -1 : -2;
	}
	if (bad || nrows != DB_STATS_PERIODS) {
		log_error(NULL, "database: get_generation_stats(): unexpected "
		    "result (are sql/002_stats.sql and 005 applied?)");
		return -2;
	}
	/* Not in the procedure: its own query (sql/010_similar.sql). */
	if (db_similar_stats(db, &out[0].similar_hits,
	    &out[1].similar_hits) == -1) {
		log_error(NULL, "database: similar hits not read (is "
		    "sql/010_similar.sql applied?)");
		return db->m == NULL ? -1 : -2;
	}
	return 0;
}

int
db_warm_stats(struct db *db, struct warm_stats *out)
{
	struct params	 p = { .n = 0 };
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[3];
	unsigned long	 len;
	char		 period[16];
	struct warm_stats row;
	int		 rc;

	memset(out, 0, sizeof(*out) * DB_STATS_PERIODS);
	if ((st = db_stmt_exec(db, ST_WARM_STATS, &p)) == NULL)
		return -1;
	db_r_str(&r[0], period, sizeof(period), &len);
	db_r_u64(&r[1], &row.warm_requests);
	db_r_u64(&r[2], &row.warmed_images);
	if (mysql_stmt_bind_result(st, r) != 0 ||
	    mysql_stmt_store_result(st) != 0) {
		db_stmt_fault(db, "warm stats", st);
		return -1;
	}
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		db_r_term(period, sizeof(period), len);
		out[strcmp(period, "today") == 0 ? 0 : 1] = row;
	}
	mysql_stmt_free_result(st);
	return rc == MYSQL_NO_DATA ? 0 : -1;
}
