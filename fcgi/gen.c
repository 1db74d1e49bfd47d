/*
 * gen.c: the request side of a generation: the election, the queued job,
 * and the wait for its result (see gen.h).
 */
#include <stdio.h>
#include <string.h>

#include "alias.h"
#include "ballot.h"
#include "cfg.h"
#include "counts.h"
#include "db.h"
#include "gen.h"
#include "hitcache.h"
#include "log.h"
#include "ratelimit.h"
#include "request.h"
#include "rollup.h"
#include "util.h"
#include "runner.h"

static void
status_log(struct rq *rq, const char *state, const char *detail)
{
	log_info(rq->id, "Generation Status: %.12s %s%s%s", rq->hash, state,
	    detail ? " " : "", detail ? detail : "");
}

/*
 * What rq's ballot came to, on db: 0 when res is final, 1 to wait for
 * the job. A new job is queued here, unless a similar image answers it.
 */
static int
ballot_answer(struct rq *rq, struct db *db, const struct db_ballot *b,
    enum ballot_got got, struct resolution *res)
{
	const struct cfg	*c = rq->w->cfg;
	int			 rc;

	switch (got) {
	case BALLOT_CACHED:
		rq->generator = 1;
		status_log(rq, "completed", "from image cache");
		res->outcome = OUT_HIT;
		return 0;
	case BALLOT_NEW:
	case BALLOT_NEW_UNCHECKED:
		rq->generator = 1;
		if (got == BALLOT_NEW && b->similar &&
		    (rc = alias_find(db, c, rq->hash, rq->id, b->r, &res->row,
		    &res->similar)) != 0) {
			/* No call: its rate-limit token goes back. */
			rq->generator = 0;
			res->outcome = OUT_SIMILAR;
			return rc == 1 ? 0 : 1;
		}
		status_log(rq, "pending", got == BALLOT_NEW_UNCHECKED ?
		    "(cache not checked)" : NULL);
		runner_kick();
		return 1;
	case BALLOT_REQUEUED:
		rq->generator = 1;
		status_log(rq, "pending", res->row.status == GS_COMPLETED ?
		    "its own image, not the similar one" : "retry");
		runner_kick();
		return 1;
	case BALLOT_EXISTS:
		if (res->row.status == GS_COMPLETED)
			res->outcome = OUT_HIT;
		else if (res->row.status == GS_FAILED && !res->row.retry_due)
			res->outcome = OUT_FAILED;
		else
			return 1;
		return 0;
	case BALLOT_GONE:
		return 1;	/* the wait finds it gone too */
	default:	/* refused: nothing was written */
		res->outcome = got == BALLOT_OVER || got == BALLOT_KEY_OVER ?
		    OUT_BUDGET : OUT_DBERR;
		res->key_quota = got == BALLOT_KEY_OVER;
		return 0;
	}
}

/*
 * Take a token for a request that may start a generation. Without one,
 * the request may still wait for or read an image that exists; only a
 * new one (or a retry that is due) is refused, before anything is
 * written. Returns 1 if res is final.
 */
static int
limited(struct rq *rq, struct db *db, const struct img_req *r,
    struct resolution *res)
{
	unsigned	 wait;
	int		 rc;

	if ((wait = ratelimit_take(rq->client)) == 0) {
		rq->charged = 1;
		return 0;
	}
	if ((rc = db_fetch(db, rq->hash, &res->row)) == -1) {
		res->outcome = OUT_DBERR;
		return 1;
	}
	if (rc == 1 && !ballot_requeue_due(r, &res->row))
		return 0;
	res->outcome = OUT_LIMITED;
	res->retry_after = wait;
	return 1;
}

/*
 * Everything but the in-memory hit: the database decides, and then, for
 * a job that runs, the wait.
 */
static void
resolve_db(struct rq *rq, const struct img_req *r, struct resolution *res)
{
	const struct cfg	*c = rq->w->cfg;
	struct db		*db = rq_db(rq);
	int64_t			 deadline = rq->t0 + c->max_wait_ms;
	struct db_ballot	 b;
	int			 tries = 0;

	if (db == NULL) {
		res->outcome = OUT_DBERR;
		return;
	}
	if (ratelimit_enabled() && limited(rq, db, r, res))
		return;
	ballot_init(&b, c, rq->hash, r, (enum queue_class)rq->qclass,
	    rq->key[0] ? rq->key : NULL, 0);
again:
	if (ballot_answer(rq, db, &b, ballot_cast(db, &b, &res->row),
	    res) == 0)
		return;
	switch (rq_wait(rq, deadline, &res->row)) {
	case 1:
		if (res->row.status == GS_COMPLETED)
			res->outcome = rq->generator ? OUT_GENERATED :
			    OUT_WAITED;
		else {
			res->outcome = OUT_FAILED;
			/* Only the request that queued it hears the hint. */
			res->retry_after = rq->generator ?
			    res->row.res.retry_after : 0;
		}
		return;
	case 0:
		res->outcome = OUT_TIMEOUT;
		return;
	}
	/* Deleted under us (an operator, a cleanup): once more, or give up. */
	if (tries++ == 0 && (db = rq_db(rq)) != NULL) {
		rq->generator = 0;
		goto again;
	}
	res->outcome = OUT_FAILED;
	res->row.status = GS_FAILED;
	res->row.res.err = GE_REMOVED;
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
	resolve_db(rq, r, res);
	rq_db_release(rq);
	/* Only a request that started a generation keeps its token. */
	if (rq->charged && !rq->generator)
		ratelimit_refund(rq->client);
	if (res->row.status == GS_COMPLETED && res->outcome != OUT_FAILED)
		hitcache_put(rq->hash, &res->row);
	count_served(r, res->outcome);
}
