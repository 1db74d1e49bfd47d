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
#include "worker.h"

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

/*
 * This request created the row: it is a queued job now, unless the
 * image cache already has the image (its status row was cleaned up).
 * Returns as wait_for().
 */
static int
queued(struct rq *rq, int64_t deadline, struct resolution *res)
{
	struct db	*db = rq_db(rq);
	int		 rc;

	rq->generator = 1;
	if ((rc = db_complete_from_cache(db, rq->hash)) == 1 &&
	    db_budget_settle(db, rq->hash, 0) == 0 &&
	    db_fetch(db, rq->hash, &res->row) == 1) {
		status_log(rq, "completed", "from image cache");
		res->outcome = OUT_HIT;
		return 0;
	}
	status_log(rq, "pending", rc == -1 ? "(cache not checked)" : NULL);
	runner_kick();
	return wait_for(rq, deadline, res);
}

/* The client key of rq's new images, or NULL. */
static const char *
rq_key(const struct rq *rq)
{
	return rq->key[0] ? rq->key : NULL;
}

/* Does a new image of rq need a reservation first? */
static int
budgeted(const struct rq *rq)
{
	return rq->w->cfg->budget_daily_usd > 0 || rq->key[0] != '\0';
}

/*
 * Before rq may queue a new image (retry: queue a failed one again):
 * reserve its estimated cost, if a budget applies and the image is not
 * there yet. Returns 1 to go on (rq->reserved is the reservation, < 0
 * none), or 0 with res final: 429 over the budget or the key's quota,
 * 503 without the database.
 */
static int
budget_first(struct rq *rq, const struct img_req *r, int retry,
    struct resolution *res)
{
	const struct cfg	*c = rq->w->cfg;
	struct gen_row		 row;
	double			 cost = (double)r->w * r->h / 1e6 *
	    c->cost_per_megapixel;
	int			 rc;

	rq->reserved = -1;
	if (!budgeted(rq))
		return 1;
	/* Only a new image costs: an existing one is counted, not paid. */
	if (!retry && (rc = db_fetch(rq->db, rq->hash, &row)) != 0) {
		if (rc == -1)
			res->outcome = OUT_DBERR;
		return rc == 1;
	}
	switch ((rc = db_budget_reserve(rq->db, rq_key(rq), cost,
	    c->budget_daily_usd))) {
	case BUDGET_RESERVED:
		rq->reserved = cost;
		return 1;
	case BUDGET_OVER:
	case BUDGET_KEY_OVER:
		res->outcome = OUT_BUDGET;
		res->key_quota = rc == BUDGET_KEY_OVER;
		return 0;
	default:
		res->outcome = OUT_DBERR;
		return 0;
	}
}

/* A reservation that no row took goes back. */
static void
budget_back(struct rq *rq)
{
	if (rq->reserved < 0)
		return;
	db_budget_release(rq->db, rq_key(rq), rq->reserved,
	    rq->w->cfg->budget_daily_usd);
	rq->reserved = -1;
}

/* Everything but the in-memory hit: the database decides. */
static void
resolve_db(struct rq *rq, const struct img_req *r, struct resolution *res)
{
	const struct cfg	*c = rq->w->cfg;
	struct db		*db = rq_db(rq);
	int64_t			 deadline = rq->t0 + c->max_wait_ms;
	int			 rc, tries = 0;

	if (db == NULL) {
		res->outcome = OUT_DBERR;
		return;
	}
again:
	if ((rc = budget_first(rq, r, 0, res)) != 1)
		return;
	rc = db_elect(db, rq->hash, r, c->model, (enum queue_class)rq->qclass,
	    rq_key(rq), rq->reserved);
	if (rc != 1)
		budget_back(rq);
	if (rc == -1) {
		res->outcome = OUT_DBERR;
		return;
	}
	if (rc == 1) {
		if (queued(rq, deadline, res) == 1)
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
	if (rc == 1 && res->row.status == GS_COMPLETED) {
		res->outcome = OUT_HIT;
		return;
	}
	if (rc == 1 && res->row.status == GS_FAILED && res->row.retry_due) {
		/* Its backoff is over: one request queues the next attempt. */
		if ((rc = budget_first(rq, r, 1, res)) != 1)
			return;
		rc = db_retry(db, rq->hash, (enum queue_class)rq->qclass,
		    rq->reserved);
		if (rc != 1)
			budget_back(rq);
		if (rc == -1) {
			res->outcome = OUT_DBERR;
			return;
		}
		if (rc == 1) {
			rq->generator = 1;
			status_log(rq, "pending", "retry");
			runner_kick();
		}
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

/*
 * Take a token for a request that may start a generation. Without one,
 * the request may still wait for or read an image that exists; only a
 * new one (or a retry that is due) is refused, before anything is
 * written. Returns 1 if res is final.
 */
static int
limited(struct rq *rq, struct resolution *res)
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
	if (rc == 1 && !(res->row.status == GS_FAILED && res->row.retry_due))
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
	    o == OUT_FAILED || o == OUT_TIMEOUT)
		rollup_request(r->w, r->h, o == OUT_HIT);
}

void
gen_resolve(struct rq *rq, const struct img_req *r, struct resolution *res)
{
	memset(res, 0, sizeof(*res));
	if (hitcache_get(rq->hash, &res->row)) {
		/* Counted in memory, added to the row by the flusher. */
		counts_add(rq->hash);
		res->outcome = OUT_HIT;
		count_served(r, OUT_HIT);
		return;
	}
	if (ratelimit_enabled() && limited(rq, res)) {
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
