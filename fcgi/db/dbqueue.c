/*
 * dbqueue.c: the generation queue in SQL: picking the next job, the
 * global slots that cap paid work, claims and their leases.
 */
#include <stdio.h>
#include <string.h>

#include "dbint.h"

int
db_next_job(struct db *db, struct db_job *job)
{
	struct params	 p = { .n = 0 };
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[9];
	unsigned long	 len[9];
	char		 status[16], fmt[8];
	int64_t		 w = 0, h = 0, seed = -1, qc = QC_STANDARD;
	int		 rc;

	memset(job, 0, sizeof(*job));
	if ((st = db_stmt_exec(db, ST_NEXT_JOB, &p)) == NULL)
		return -1;
	db_r_str(&r[0], job->hash, sizeof(job->hash), &len[0]);
	db_r_str(&r[1], status, sizeof(status), &len[1]);
	db_r_str(&r[2], job->prompt, sizeof(job->prompt), &len[2]);
	db_r_i64(&r[3], &w);
	db_r_i64(&r[4], &h);
	db_r_str(&r[5], fmt, sizeof(fmt), &len[5]);
	db_r_i64(&r[6], &seed);
	db_r_str(&r[7], job->model, sizeof(job->model), &len[7]);
	db_r_i64(&r[8], &qc);
	if ((rc = db_stmt_row(db, st, r)) != 1)
		return rc;
	db_r_term(job->hash, sizeof(job->hash), len[0]);
	db_r_term(status, sizeof(status), len[1]);
	db_r_term(job->prompt, sizeof(job->prompt), len[2]);
	db_r_term(fmt, sizeof(fmt), len[5]);
	db_r_term(job->model, sizeof(job->model), len[7]);
	job->takeover = strcmp(status, gen_status_name(GS_GENERATING)) == 0;
	job->qc = qc >= 0 && qc < QC__MAX ? (enum queue_class)qc : QC_BATCH;
	job->req.w = (unsigned)w;
	job->req.h = (unsigned)h;
	job->req.fmt = strcmp(fmt, img_fmt_ext(FMT_PNG)) == 0 ? FMT_PNG :
	    FMT_JPG;
	job->req.has_seed = seed >= 0;
	job->req.seed = seed >= 0 ? (uint32_t)seed : 0;
	job->req.prompt = job->prompt;
	job->req.prompt_len = strlen(job->prompt);
	return 1;
}

int
db_slot_take(struct db *db, const char *owner, const char *hash,
    unsigned cap, unsigned lease_ms)
{
	struct params	 p = { .n = 0 };

	db_p_str(&p, owner);
	db_p_str(&p, hash);
	db_p_u64(&p, (uint64_t)lease_ms * 1000);
	db_p_u64(&p, cap);
	return db_stmt_one(db, ST_SLOT_TAKE, &p);
}

int
db_slot_lease(struct db *db, const char *owner, unsigned lease_ms)
{
	struct params	 p = { .n = 0 };

	db_p_u64(&p, (uint64_t)lease_ms * 1000);
	db_p_str(&p, owner);
	return db_stmt_run(db, ST_SLOT_LEASE, &p) < 0 ? -1 : 0;
}

int
db_slot_free(struct db *db, const char *owner)
{
	struct params	 p = { .n = 0 };

	db_p_str(&p, owner);
	return db_stmt_run(db, ST_SLOT_FREE, &p) < 0 ? -1 : 0;
}

int
db_claim(struct db *db, const char *hash, uint64_t token, unsigned lease_ms)
{
	struct params	 p = { .n = 0 };

	db_p_str(&p, db->owner_host);
	db_p_u64(&p, token);
	db_p_u64(&p, (uint64_t)lease_ms * 1000);
	db_p_str(&p, hash);
	return db_stmt_one(db, ST_CLAIM, &p);
}

int
db_job_lease(struct db *db, const char *hash, uint64_t token,
    unsigned lease_ms)
{
	struct params	 p = { .n = 0 };

	db_p_u64(&p, (uint64_t)lease_ms * 1000);
	db_p_str(&p, hash);
	db_p_u64(&p, token);
	return db_stmt_one(db, ST_JOB_LEASE, &p);
}

int
db_done_since(struct db *db, unsigned window_ms,
    void (*fn)(const char *hash, void *arg), void *arg)
{
	struct params	 p = { .n = 0 };
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[1];
	unsigned long	 len;
	char		 hash[65];
	int		 rc, n = 0;

	db_p_u64(&p, (uint64_t)window_ms * 1000);
	if ((st = db_stmt_exec(db, ST_DONE_SINCE, &p)) == NULL)
		return -1;
	db_r_str(&r[0], hash, sizeof(hash), &len);
	if (mysql_stmt_bind_result(st, r) != 0 ||
	    mysql_stmt_store_result(st) != 0) {
		db_stmt_fault(db, "result", st);
		return -1;
	}
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		db_r_term(hash, sizeof(hash), len);
		fn(hash, arg);
		n++;
	}
	mysql_stmt_free_result(st);
	return rc == MYSQL_NO_DATA ? n : -1;
}

int
db_queue_stats(struct db *db, struct queue_stats *qs)
{
	struct params	 p = { .n = 0 };
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[5];

	memset(qs, 0, sizeof(*qs));
	if ((st = db_stmt_exec(db, ST_QUEUE, &p)) == NULL)
		return -1;
	db_r_u64(&r[0], &qs->queued[QC_PREMIUM]);
	db_r_u64(&r[1], &qs->queued[QC_STANDARD]);
	db_r_u64(&r[2], &qs->queued[QC_BATCH]);
	db_r_i64(&r[3], &qs->oldest_ms);
	db_r_u64(&r[4], &qs->slots_busy);
	return db_stmt_row(db, st, r) == 1 ? 0 : -1;
}
