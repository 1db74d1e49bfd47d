#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "cfg.h"
#include "counts.h"
#include "db.h"
#include "flight.h"
#include "gen.h"
#include "hitcache.h"
#include "log.h"
#include "ratelimit.h"
#include "metrics.h"
#include "store.h"
#include "util.h"
#include "worker.h"

/* How long the elected generator may wait for its own lock. */
#define GENERATOR_LOCK_MS	5000
/* A pending row's generator is between INSERT and GET_LOCK: retry soon. */
#define PENDING_RETRY_MS	2
#define PENDING_RETRY_MAX_MS	250

static void
status_log(struct rq *rq, const char *state, const char *detail)
{
	log_info(rq->id, "Generation Status: %.12s %s%s%s", rq->hash, state,
	    detail ? " " : "", detail ? detail : "");
}

/* The row a finished generation would read back, without reading it. */
static void
row_from_result(const struct gen_result *g, struct gen_row *row)
{
	memset(row, 0, sizeof(*row));
	row->status = g->ok ? GS_COMPLETED : GS_FAILED;
	row->res = *g;
	row->res.completed_ms = wall_ms();
}

/*
 * Record g, retrying while the database is away: the image exists and
 * must not be lost because of a short outage. Gives up at deadline.
 */
static int
record(struct rq *rq, const struct gen_result *g, int64_t deadline)
{
	const struct cfg	*c = rq->w->cfg;
	int			 rc;

	while ((rc = db_finish(rq->w->db, rq->hash, g,
	    c->retry_backoff_ms, c->retry_backoff_max_ms)) == -1 &&
	    now_ms() < deadline)
		sleep_ms(200);
	return rc;
}

/*
 * We are the generator and hold the lock: run the backend, record the
 * outcome, let go of the lock and tell this process's waiters.
 */
static void
generate(struct rq *rq, const struct img_req *r, struct resolution *res)
{
	struct worker		*w = rq->w;
	const struct cfg	*c = w->cfg;
	struct gen_result	 g;
	struct gen_job		 job;
	struct flight_result	 fr;
	char			 detail[80];
	int64_t			 t0, us;
	int			 rc;

	memset(&g, 0, sizeof(g));
	job.hash = rq->hash;
	job.req = r;
	job.model = c->model;
	job.deadline_ms = now_ms() + c->gen_timeout_ms;
	job.rid = rq->id;
	status_log(rq, "generating", NULL);
	rq->generator = 1;
	metrics_generating(1);
	t0 = now_us();
	w->backend->generate(w->backend_ctx, &job, &g);
	us = now_us() - t0;
	rq->backend_ms = us / 1000;
	metrics_generating(-1);
	metrics_generation(g.ok ? MG_COMPLETED :
	    g.err == GE_TIMEOUT ? MG_TIMEOUT : MG_FAILED, us, g.api_calls);
	/* A stored image is recorded under its public URL. */
	if (!g.ok)
		g.url[0] = '\0';
	else if (g.file[0] != '\0' &&
	    store_public_url(c, g.file, g.url, sizeof(g.url)) == -1)
		gen_result_fail(&g, GE_INTERNAL, "image URL too long");
	rc = record(rq, &g, job.deadline_ms + 10000);
	db_unlock(w->db, rq->hash);
	/* rc 0: another generator finished first; answer with theirs. */
	if (rc != 0 || db_fetch(w->db, rq->hash, &res->row) != 1)
		row_from_result(&g, &res->row);
	res->outcome = res->row.status == GS_COMPLETED ? OUT_GENERATED :
	    OUT_FAILED;
	res->retry_after = g.ok ? 0 : g.retry_after;
	snprintf(detail, sizeof(detail), "%s%sms=%lld calls=%u",
	    gen_err_name(g.err), g.ok ? "" : " ", (long long)(us / 1000),
	    g.api_calls);
	status_log(rq, g.ok ? "completed" : "failed", detail);
	fr.kind = FLIGHT_ROW;
	fr.row = res->row;
	fr.at_us = now_us();
	flight_publish(rq->hash, &fr);
}

/*
 * Unlock and copy row into the flight result; at_us is when we got the
 * lock, i.e. when the generator let go.
 */
static void
settle(struct rq *rq, const struct gen_row *row, int64_t at_us,
    struct flight_result *fr)
{
	db_unlock(rq->w->db, rq->hash);
	fr->kind = FLIGHT_ROW;
	fr->row = *row;
	fr->at_us = at_us;
}

/*
 * Wait on the database for the generation to finish. Returns with *fr
 * filled. May turn this request into the generator (takeover), in which
 * case *took is set and res is final.
 */
static void
wait_db(struct rq *rq, const struct img_req *r, int64_t deadline,
    struct flight_result *fr, struct resolution *res, int *took)
{
	struct worker	*w = rq->w;
	struct gen_row	 row;
	int64_t		 locked_us, pause = PENDING_RETRY_MS;
	int		 rc;

	for (;;) {
		rc = db_lock(w->db, rq->hash, deadline - now_ms());
		locked_us = now_us();
		if (rc == 0) {
			fr->kind = FLIGHT_TIMEOUT;
			return;
		}
		if (rc == -1) {
			fr->kind = FLIGHT_DBERR;
			return;
		}
		if ((rc = db_fetch(w->db, rq->hash, &row)) == -1) {
			db_unlock(w->db, rq->hash);
			fr->kind = FLIGHT_DBERR;
			return;
		}
		if (rc == 0 || row.status == GS_COMPLETED ||
		    row.status == GS_FAILED) {
			if (rc == 0) {
				row.status = GS_FAILED;
				row.res.err = GE_REMOVED;
			}
			settle(rq, &row, locked_us, fr);
			return;
		}
		if (row.status == GS_GENERATING || row.lease_expired) {
			/* We hold the lock, so its generator is gone. */
			rc = db_takeover(w->db, rq->hash, row.owner_conn,
			    w->cfg->pending_lease_ms);
			if (rc == 1) {
				status_log(rq, "takeover", NULL);
				metrics_takeover();
				*took = 1;
				/* A generator now, not a waiter. */
				metrics_waiters(-1);
				generate(rq, r, res);
				metrics_waiters(1);
				fr->kind = FLIGHT_ROW;
				fr->row = res->row;
				fr->at_us = now_us();
				return;
			}
		}
		db_unlock(w->db, rq->hash);
		if (now_ms() >= deadline) {
			fr->kind = FLIGHT_TIMEOUT;
			return;
		}
		/*
		 * Pending and ours to wait for: its generator is about to take
		 * the lock, or died before it could (its lease then runs out).
		 * Back off, so that a dead one is not polled hard for a lease.
		 */
		sleep_ms(pause < deadline - now_ms() ? pause :
		    deadline - now_ms());
		pause = pause * 2 > PENDING_RETRY_MAX_MS ? PENDING_RETRY_MAX_MS :
		    pause * 2;
	}
}

static void
from_flight(const struct flight_result *fr, struct resolution *res)
{
	switch (fr->kind) {
	case FLIGHT_ROW:
		res->row = fr->row;
		res->outcome = fr->row.status == GS_COMPLETED ? OUT_WAITED :
		    OUT_FAILED;
		break;
	case FLIGHT_TIMEOUT:
		res->outcome = OUT_TIMEOUT;
		break;
	case FLIGHT_DBERR:
		res->outcome = OUT_DBERR;
		break;
	}
}

/*
 * Wait for another generator, sharing the wait with this process's other
 * waiters of the same hash. Returns 1 if this request took over and
 * generated (res is final), 0 with fr filled otherwise.
 */
static int
wait_shared(struct rq *rq, const struct img_req *r, int64_t deadline,
    struct flight_result *fr, struct resolution *res)
{
	struct flight	*f;
	int		 took;

	for (;;) {
		took = 0;
		if (flight_join(rq->hash, &f)) {
			wait_db(rq, r, deadline, fr, res, &took);
			flight_land(f, fr);
			if (took)
				return 1;
		} else if (flight_wait(f, deadline, fr) == -1)
			fr->kind = FLIGHT_TIMEOUT;
		/* A leader with an earlier deadline gave up; we have time. */
		if (fr->kind == FLIGHT_TIMEOUT && now_ms() < deadline)
			continue;
		return 0;
	}
}

/*
 * Wait for the generation, counted as a waiter (the gauge, and the wait
 * and wake-up times for the request log and the metrics).
 */
static void
wait_for(struct rq *rq, const struct img_req *r, int64_t deadline,
    struct resolution *res)
{
	struct flight_result	 fr;
	int64_t			 t0 = now_ms();
	int			 took;

	metrics_waiters(1);
	took = wait_shared(rq, r, deadline, &fr, res);
	metrics_waiters(-1);
	rq->waited_ms = now_ms() - t0;
	if (took)
		return;
	if (fr.kind == FLIGHT_ROW)
		rq->woke_us = fr.at_us;
	from_flight(&fr, res);
}

/* We won the election: take our lock, then generate. */
static void
elected(struct rq *rq, const struct img_req *r, int64_t deadline,
    struct resolution *res)
{
	struct db	*db = rq->w->db;
	int		 rc;

	if (db_lock(db, rq->hash, GENERATOR_LOCK_MS) != 1) {
		res->outcome = OUT_DBERR;
		return;
	}
	/* Starts only if the image cache does not have the image already. */
	if ((rc = db_start(db, rq->hash,
	    rq->w->cfg->gen_timeout_ms + 10000)) == 1) {
		generate(rq, r, res);
		return;
	}
	if (rc == 0 && (rc = db_complete_from_cache(db, rq->hash)) == 1 &&
	    (rc = db_fetch(db, rq->hash, &res->row)) == 1) {
		/* The image outlived its status row: no new generation. */
		db_unlock(db, rq->hash);
		status_log(rq, "completed", "from image cache");
		res->outcome = OUT_HIT;
		return;
	}
	db_unlock(db, rq->hash);
	if (rc == -1) {
		res->outcome = OUT_DBERR;
		return;
	}
	/* Our pending lease ran out and a waiter took over. */
	wait_for(rq, r, deadline, res);
}

/* Everything but the in-memory hit: the database decides. */
static void
resolve_db(struct rq *rq, const struct img_req *r, struct resolution *res)
{
	struct worker	*w = rq->w;
	int64_t		 deadline = rq->t0 + w->cfg->max_wait_ms;
	int		 rc, tries = 0;

again:
	rc = db_elect(w->db, rq->hash, r, w->cfg->model,
	    w->cfg->pending_lease_ms);
	if (rc == -1) {
		res->outcome = OUT_DBERR;
		return;
	}
	if (rc == 1) {
		status_log(rq, "pending", NULL);
		elected(rq, r, deadline, res);
		return;
	}
	if ((rc = db_fetch(w->db, rq->hash, &res->row)) == -1) {
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
		/* Its backoff is over: one request wins the next attempt. */
		if ((rc = db_retry(w->db, rq->hash, w->cfg->pending_lease_ms))
		    == -1) {
			res->outcome = OUT_DBERR;
			return;
		}
		if (rc == 1) {
			status_log(rq, "pending", "retry");
			elected(rq, r, deadline, res);
			return;
		}
	} else if (rc == 1 && res->row.status == GS_FAILED) {
		res->outcome = OUT_FAILED;
		return;
	}
	wait_for(rq, r, deadline, res);
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
	unsigned	 wait;
	int		 rc;

	if ((wait = ratelimit_take(rq->client)) == 0) {
		rq->charged = 1;
		return 0;
	}
	if ((rc = db_fetch(rq->w->db, rq->hash, &res->row)) == -1) {
		res->outcome = OUT_DBERR;
		return 1;
	}
	if (rc == 1 && !(res->row.status == GS_FAILED && res->row.retry_due))
		return 0;
	res->outcome = OUT_LIMITED;
	res->retry_after = wait;
	return 1;
}

void
gen_resolve(struct rq *rq, const struct img_req *r, struct resolution *res)
{
	memset(res, 0, sizeof(*res));
	if (hitcache_get(rq->hash, &res->row)) {
		/* Counted in memory, added to the row by the flusher. */
		counts_add(rq->hash);
		res->outcome = OUT_HIT;
		return;
	}
	if (ratelimit_enabled() && limited(rq, res))
		return;
	resolve_db(rq, r, res);
	/* Only a request that started a generation keeps its token. */
	if (rq->charged && !rq->generator)
		ratelimit_refund(rq->client);
	if (res->row.status == GS_COMPLETED && res->outcome != OUT_FAILED)
		hitcache_put(rq->hash, &res->row);
}
