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
	const struct cfg	*c = rq->cfg;
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
 * What the wait for rq's job came to, in res (whose row holds the row
 * for WAIT_ROW).
 */
static void
wait_outcome(struct rq *rq, enum wait_end how, struct resolution *res)
{
	switch (how) {
	case WAIT_ROW:
		if (res->row.status == GS_COMPLETED)
			res->outcome = rq->generator ? OUT_GENERATED :
			    OUT_WAITED;
		else {
			res->outcome = OUT_FAILED;
			/* Only the request that queued it hears the hint. */
			res->retry_after = rq->generator ?
			    res->row.res.retry_after : 0;
		}
		break;
	case WAIT_HUNG_UP:
		res->outcome = OUT_GONE;
		break;
	case WAIT_STOPPED:
		res->outcome = OUT_STOPPED;
		break;
	case WAIT_DBERR:
		res->outcome = OUT_DBERR;
		break;
	case WAIT_REMOVED:
		res->outcome = OUT_FAILED;
		res->row.status = GS_FAILED;
		res->row.res.err = GE_REMOVED;
		break;
	default:
		res->outcome = OUT_TIMEOUT;
		break;
	}
}

/*
 * Everything but the in-memory hit: the database decides, and then, for
 * a job that runs, the wait. Returns 1 when rq is to be parked.
 */
static int
resolve_db(struct rq *rq, const struct img_req *r, struct resolution *res)
{
	const struct cfg	*c = rq->cfg;
	struct db		*db = rq_db(rq);
	int64_t			 deadline = rq->t0 + c->max_wait_ms;
	struct db_ballot	 b;
	enum wait_end		 how;
	int			 tries = 0;

	if (db == NULL) {
		res->outcome = OUT_DBERR;
		return 0;
	}
	if (ratelimit_enabled() && limited(rq, db, r, res))
		return 0;
	ballot_init(&b, c, rq->hash, r, (enum queue_class)rq->qclass,
	    rq->key[0] ? rq->key : NULL, 0);
	for (;;) {
		if (ballot_answer(rq, db, &b, ballot_cast(db, &b, &res->row),
		    res) == 0)
			return 0;
		how = rq_await(rq, deadline, &res->row);
		if (how == WAIT_PARKED)
			return 1;
		/* Deleted under us (an operator, a cleanup): once more. */
		if (how != WAIT_REMOVED || tries++ > 0 ||
		    (db = rq_db(rq)) == NULL)
			break;
		rq->generator = 0;
	}
	wait_outcome(rq, how, res);
	return 0;
}

/* A request counted in total_requests is counted in the rollup too. */
static void
count_served(const struct img_req *r, enum outcome o)
{
	if (o == OUT_HIT || o == OUT_GENERATED || o == OUT_WAITED ||
	    o == OUT_FAILED || o == OUT_TIMEOUT || o == OUT_SIMILAR ||
	    o == OUT_GONE || o == OUT_STOPPED)
		rollup_request(r->w, r->h, o == OUT_HIT);
}

/* Everything after the database: the token, the hit cache, the count. */
static void
resolved(struct rq *rq, const struct img_req *r, struct resolution *res)
{
	rq_db_release(rq);
	/* Only a request that started a generation keeps its token. */
	if (rq->charged && !rq->generator)
		ratelimit_refund(rq->client);
	if (res->row.status == GS_COMPLETED && res->outcome != OUT_FAILED)
		hitcache_put(rq->hash, &res->row);
	count_served(r, res->outcome);
}

int
gen_resolve(struct rq *rq, const struct img_req *r, struct resolution *res)
{
	memset(res, 0, sizeof(*res));
	/*
	 * Others here wait for its job already: wait with them, with no
	 * statement at all (a crowd asking for one new image at once).
	 * With similar prompts on, every request votes: the wait may end in
	 * a similar prompt's image, which the database counts as such (and
	 * an exact request must not take).
	 */
	if (rq->cfg->similar_threshold <= 0 &&
	    rq_join_parked(rq, r, rq->t0 + rq->cfg->max_wait_ms))
		return 1;
	/* An exact request does not take a similar prompt's image. */
	if (hitcache_get(rq->hash, &res->row) &&
	    !(res->row.alias && r->exact)) {
		/* Counted in memory, added to the row by the flusher. */
		counts_add(rq->hash, r, rq->cfg->model, &res->row.res, 1);
		res->outcome = OUT_HIT;
		count_served(r, OUT_HIT);
		return 0;
	}
	if (resolve_db(rq, r, res) == 1)
		return 1;
	resolved(rq, r, res);
	return 0;
}

void
gen_waited(struct rq *rq, const struct img_req *r, enum wait_end how,
    const struct gen_row *row, struct resolution *res)
{
	memset(res, 0, sizeof(*res));
	res->row = *row;
	wait_outcome(rq, how, res);
	resolved(rq, r, res);
}
