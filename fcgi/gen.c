/*
 * gen.c: the request side of a generation: the election, the queued job,
 * and the wait for its result (see gen.h).
 */
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "counts.h"
#include "db.h"
#include "flight.h"
#include "gen.h"
#include "hitcache.h"
#include "log.h"
#include "ratelimit.h"
#include "rollup.h"
#include "metrics.h"
#include "util.h"
#include "runner.h"
#include "similar.h"
#include "worker.h"

/*
 * How long a new row is held (no worker takes it) while its request
 * looks for its image in the image cache and, with [similar] on, for a
 * similar image: if the request dies meanwhile, a worker takes the job
 * after this.
 */
#define NEW_ROW_HOLD_MS	3000

static void
status_log(struct rq *rq, const char *state, const char *detail)
{
	log_info(rq->id, "Generation Status: %.12s %s%s%s", rq->hash, state,
	    detail ? " " : "", detail ? detail : "");
}

/* Is row the end of its generation (completed, or failed for now)? */
static int
settled(const struct gen_row *row)
{
	return row->status == GS_COMPLETED ||
	    (row->status == GS_FAILED && !row->retry_due);
}

static void
from_row(struct rq *rq, const struct gen_row *row, struct resolution *res)
{
	res->row = *row;
	if (row->status == GS_COMPLETED)
		res->outcome = rq->generator ? OUT_GENERATED : OUT_WAITED;
	else {
		res->outcome = OUT_FAILED;
		/* Only the request that queued it hears the upstream's hint. */
		res->retry_after = rq->generator ? row->res.retry_after : 0;
	}
}

/*
 * Wait for the job of rq->hash, without a database connection: join
 * this process's flight first, then read the row once (a result that
 * landed before we joined is not missed), then sleep until a worker or
 * the waker lands the flight, or until deadline. Returns 0 with res
 * final, or 1 if the row is gone (deleted since the election: elect
 * again).
 */
static int
wait_for(struct rq *rq, int64_t deadline, struct resolution *res)
{
	struct flight		*f;
	struct flight_result	 fr;
	struct gen_row		 row;
	int64_t			 t0 = now_ms();
	int			 rc;

	flight_join(rq->hash, &f);
	rc = rq_db(rq) ? db_fetch(rq->db, rq->hash, &row) : -1;
	if (rc == 0) {
		flight_leave(f);
		return 1;
	}
	rq_db_release(rq);
	if (rc == 1 && settled(&row)) {
		flight_leave(f);
		/*
		 * It ended before we could wait. Whoever waited for this
		 * attempt is answered about it, as the worker's own result
		 * answers its waiters: not with the next attempt's backoff.
		 */
		if (rq->generator)
			row.retry_in = 0;
		from_row(rq, &row, res);
		return 0;
	}
	/* promptpix_waiters: the clients of a job another request queued. */
	if (!rq->generator)
		metrics_waiters(1);
	rc = flight_wait(f, deadline, &fr);
	if (!rq->generator)
		metrics_waiters(-1);
	rq->waited_ms = now_ms() - t0;
	if (rc == -1 || fr.kind != FLIGHT_ROW) {
		res->outcome = OUT_TIMEOUT;
		return 0;
	}
	if (!rq->generator)
		rq->woke_us = fr.at_us;	/* as promptpix_waiters */
	fr.row.retry_in = 0;	/* as above: the answer is about this attempt */
	from_row(rq, &fr.row, res);
	return 0;
}

/* Will a new row of r be looked up among similar images? */
static int
similar_on(const struct cfg *c, const struct img_req *r)
{
	return c->similar_threshold > 0 && !r->exact;
}

/*
 * rq holds its new row: answer with a similar image if one scores at
 * the threshold, making the row its alias; else let the job be queued.
 * Returns 1 with res final, 0 to go on as a generator.
 */
static int
similar_hit(struct rq *rq, const struct img_req *r, struct resolution *res)
{
	struct db		*db = rq_db(rq);
	struct flight_result	 fr;
	char			 score[16];
	int64_t			 t0 = now_us();
	int			 rc;

	rc = db_similar_find(db, r, rq->w->cfg->model,
	    rq->w->cfg->similar_threshold, &res->similar);
	/* The lookup's time, for operators and make bench. */
	log_info(rq->id, "similar lookup %.12s: %lld us, %s", rq->hash,
	    (long long)(now_us() - t0), rc == 1 ? "match" : rc == 0 ? "none" :
	    "failed");
	if (rc != 1 || db_similar_alias(db, rq->hash, &res->similar) != 1) {
		/* Without the release, the hold runs out by itself. */
		db_hold_release(db, rq->hash);
		return 0;
	}
	/* No call: its reservation and its rate-limit token go back. */
	rq->generator = 0;
	if (db_budget_release_row(db, rq->hash) == -1)
		log_warn(rq->id, "%.12s: its reservation is held until the "
		    "job ends", rq->hash);
	if (db_fetch(db, rq->hash, &res->row) != 1 ||
	    res->row.status != GS_COMPLETED)
		return 0;		/* the wait reads it again */
	memset(&fr, 0, sizeof(fr));
	fr.kind = FLIGHT_ROW;
	fr.row = res->row;
	fr.at_us = now_us();
	flight_publish(rq->hash, &fr);
	sim_score_text(res->similar.score, score, sizeof(score));
	log_info(rq->id, "Generation Status: %.12s completed as similar to "
	    "%.12s score=%s", rq->hash, res->similar.hash, score);
	res->outcome = OUT_SIMILAR;
	return 1;
}

/*
 * One ballot, shared by a request and a warm-up (gen_warm()): the
 * election (db_elect) or the requeue (db_requeue) of an image, with the
 * budget reserved for a job it makes, in one transaction.
 */
static void
ballot_init(struct db_ballot *b, const struct cfg *c, const char *hash,
    const struct img_req *r, enum queue_class qc, const char *key, int warm)
{
	memset(b, 0, sizeof(*b));
	b->hash = hash;
	b->r = r;
	b->model = c->model;
	b->qc = qc;
	b->key = key;
	/* Only a job costs: its estimate, when a budget or a quota applies. */
	b->cost = c->budget_daily_usd > 0 || key != NULL ?
	    (double)r->w * r->h / 1e6 * c->cost_per_megapixel : -1;
	b->cap = c->budget_daily_usd;
	b->hold_ms = NEW_ROW_HOLD_MS;
	b->warm = warm;
	b->exact = r->exact;
}

/* What a ballot met besides "go on": over a budget, or a fault. */
enum { B_FAULT = -1, B_OVER = DB_BALLOT_OVER, B_KEY_OVER = DB_BALLOT_KEY_OVER };

/* Elect. Returns 1 this call queued the job, 2 the row existed, or B_*. */
static int
ballot_elect(struct db *db, struct db_ballot *b)
{
	b->elect_id = random_u64();
	return db_elect(db, b);
}

/*
 * The row is failed and its backoff over, or an alias that an exact=1
 * request wants its own image for: queue the job again. Returns 1 this
 * call did, 0 another did first, or B_*.
 */
static int
ballot_requeue(struct db *db, struct db_ballot *b)
{
	b->elect_id = random_u64();
	return db_requeue(db, b);
}

/* Does r want the row queued again? Its backoff is over, or it is exact. */
static int
requeue_due(const struct img_req *r, const struct gen_row *row)
{
	return (row->status == GS_FAILED && row->retry_due) ||
	    (row->status == GS_COMPLETED && row->alias && r->exact);
}

/*
 * A row just created (held) is completed from the image cache when the
 * cache has the image (its status row was cleaned up earlier): no job
 * then. Otherwise its hold ends, unless a similar lookup follows
 * (similar: the caller ends it). Returns 1 with *row read, 0 not cached,
 * -1.
 */
static int
ballot_from_cache(struct db *db, const struct db_ballot *b, int similar,
    struct gen_row *row)
{
	int	 rc;

	if ((rc = db_complete_from_cache(db, b->hash, b->exact)) != 1) {
		if (rc == 0 && !similar)
			db_hold_release(db, b->hash);
		return rc;
	}
	return db_budget_release_row(db, b->hash) == 0 &&
	    db_fetch(db, b->hash, row) == 1 ? 1 : -1;
}

/* A ballot's B_* value as a request's outcome. */
static void
ballot_refused(int rc, struct resolution *res)
{
	res->outcome = rc == B_FAULT ? OUT_DBERR : OUT_BUDGET;
	res->key_quota = rc == B_KEY_OVER;
}

/*
 * This request created the row: it is a queued job now, unless the
 * image cache already has the image, or a similar image will do (the
 * row is held until then). Returns as wait_for().
 */
static int
queued(struct rq *rq, struct db *db, const struct db_ballot *b,
    int64_t deadline, struct resolution *res)
{
	int	 similar = similar_on(rq->w->cfg, b->r);
	int	 rc;

	rq->generator = 1;
	if ((rc = ballot_from_cache(db, b, similar, &res->row)) == 1) {
		status_log(rq, "completed", "from image cache");
		res->outcome = OUT_HIT;
		return 0;
	}
	if (similar && rc == 0 && similar_hit(rq, b->r, res))
		return 0;
	if (rc == -1)
		db_hold_release(db, rq->hash);
	status_log(rq, "pending", rc == -1 ? "(cache not checked)" : NULL);
	runner_kick();
	return wait_for(rq, deadline, res);
}

/* Everything but the in-memory hit: the database decides. */
static void
resolve_db(struct rq *rq, const struct img_req *r, struct resolution *res)
{
	const struct cfg	*c = rq->w->cfg;
	struct db		*db = rq_db(rq);
	int64_t			 deadline = rq->t0 + c->max_wait_ms;
	struct db_ballot	 b;
	int			 rc, tries = 0;

	if (db == NULL) {
		res->outcome = OUT_DBERR;
		return;
	}
	ballot_init(&b, c, rq->hash, r, (enum queue_class)rq->qclass,
	    rq->key[0] ? rq->key : NULL, 0);
again:
	if ((rc = ballot_elect(db, &b)) < 0) {
		ballot_refused(rc, res);
		return;
	}
	if (rc == 1) {
		if (queued(rq, db, &b, deadline, res) == 1)
			goto gone;
		return;
	}
	if ((rc = db_fetch(db, rq->hash, &res->row)) == -1) {
		res->outcome = OUT_DBERR;
		return;
	}
	/* A cleanup removed the row we were just counted in: elect again. */
	if (rc == 0 && tries++ == 0)
		goto again;
	if (rc == 1 && requeue_due(r, &res->row)) {
		/*
		 * Its backoff is over, or an exact request finds an alias:
		 * one request queues the job and the rest wait for it.
		 */
		if ((rc = ballot_requeue(db, &b)) < 0) {
			ballot_refused(rc, res);
			return;
		}
		if (rc == 1) {
			rq->generator = 1;
			status_log(rq, "pending", res->row.status ==
			    GS_COMPLETED ? "its own image, not the similar one" :
			    "retry");
			runner_kick();
		}
	} else if (rc == 1 && res->row.status == GS_COMPLETED) {
		res->outcome = OUT_HIT;
		return;
	} else if (rc == 1 && res->row.status == GS_FAILED) {
		res->outcome = OUT_FAILED;
		return;
	}
	if (wait_for(rq, deadline, res) == 0)
		return;
gone:
	/* Deleted under us (an operator, a cleanup): once more, or give up. */
	if (tries++ == 0 && (db = rq_db(rq)) != NULL) {
		rq->generator = 0;
		goto again;
	}
	res->outcome = OUT_FAILED;
	res->row.status = GS_FAILED;
	res->row.res.err = GE_REMOVED;
}

enum gen_warmed
gen_warm(struct db *db, const struct cfg *c, const char *hash,
    const struct img_req *r, enum queue_class qc, const char *key,
    struct gen_row *row)
{
	struct db_ballot	 b;
	int			 rc, tries = 0;

	memset(row, 0, sizeof(*row));
	ballot_init(&b, c, hash, r, qc, key, 1);
again:
	if ((rc = ballot_elect(db, &b)) < 0)
		goto refused;
	if (rc == 1) {
		if ((rc = ballot_from_cache(db, &b, 0, row)) == -1)
			db_hold_release(db, hash);
		return rc == 1 ? GW_CACHED : GW_QUEUED;
	}
	if ((rc = db_fetch(db, hash, row)) == -1)
		return GW_DBERR;
	if (rc == 0) {		/* cleaned up since: once more */
		if (tries++ == 0)
			goto again;
		return GW_DBERR;
	}
	if (!requeue_due(r, row))
		return GW_EXISTS;
	if ((rc = ballot_requeue(db, &b)) < 0)
		goto refused;
	if (db_fetch(db, hash, row) == -1)
		return GW_DBERR;
	return rc == 1 ? GW_QUEUED : GW_EXISTS;
refused:
	return rc == B_OVER ? GW_BUDGET : rc == B_KEY_OVER ? GW_KEY_QUOTA :
	    GW_DBERR;
}

/*
 * Take a token for a request that may start a generation. Without one,
 * the request may still wait for or read an image that exists; only a
 * new one (or a retry that is due) is refused, before anything is
 * written. Returns 1 if res is final.
 */
static int
limited(struct rq *rq, const struct img_req *r, struct resolution *res)
{
	struct db	*db;
	unsigned	 wait;
	int		 rc;

	if ((wait = ratelimit_take(rq->client)) == 0) {
		rq->charged = 1;
		return 0;
	}
	if ((db = rq_db(rq)) == NULL ||
	    (rc = db_fetch(db, rq->hash, &res->row)) == -1) {
		res->outcome = OUT_DBERR;
		return 1;
	}
	if (rc == 1 && !requeue_due(r, &res->row))
		return 0;
	res->outcome = OUT_LIMITED;
	res->retry_after = wait;
	return 1;
}

/* A request counted in total_requests is counted in the rollup too. */
static void
count_served(const struct img_req *r, enum outcome o)
{
	if (o == OUT_HIT || o == OUT_GENERATED || o == OUT_WAITED ||
	    o == OUT_FAILED || o == OUT_TIMEOUT || o == OUT_SIMILAR)
		rollup_request(r->w, r->h, o == OUT_HIT);
}

void
gen_resolve(struct rq *rq, const struct img_req *r, struct resolution *res)
{
	memset(res, 0, sizeof(*res));
	/* An exact request does not take a similar prompt's image. */
	if (hitcache_get(rq->hash, &res->row) &&
	    !(res->row.alias && r->exact)) {
		/* Counted in memory, added to the row by the flusher. */
		counts_add(rq->hash, r, rq->w->cfg->model, &res->row.res);
		res->outcome = OUT_HIT;
		count_served(r, OUT_HIT);
		return;
	}
	if (ratelimit_enabled() && limited(rq, r, res)) {
		rq_db_release(rq);
		return;
	}
	resolve_db(rq, r, res);
	rq_db_release(rq);
	/* Only a request that started a generation keeps its token. */
	if (rq->charged && !rq->generator)
		ratelimit_refund(rq->client);
	if (res->row.status == GS_COMPLETED && res->outcome != OUT_FAILED)
		hitcache_put(rq->hash, &res->row);
	count_served(r, res->outcome);
}
