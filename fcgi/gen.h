/*
 * gen.h: what happens to one image request between parsing and the
 * answer: the election, the single generation, or the wait for it.
 *
 *   1. INSERT ... ON DUPLICATE KEY UPDATE (db_elect) counts the request.
 *      The request that created the row queued the job (its outcome is
 *      "generated"); the generation workers of any host run it
 *      (runner.h).
 *   2. Everyone finds the row completed (a hit) or failed, or waits: it
 *      gives its database connection back to the pool and sleeps on the
 *      process's flight for the hash (flight.h), which this process's
 *      worker or the waker (waker.h) lands once the row is finished.
 *   3. max_wait ends the wait with a timeout; the job stays queued and
 *      is paid once, so a later request gets the image.
 *
 * With [similar] threshold > 0 (and no &exact=1), a new row is elected
 * held: no worker takes it while its request looks for a completed
 * image of a similar prompt (db_similar_find). A match makes the row an
 * alias of that image, answered at once (outcome "similar"), its
 * waiters too; otherwise the hold ends and the job is queued as ever.
 */
#ifndef PP_GEN_H
#define PP_GEN_H

#include "db.h"
#include "outcome.h"
#include "req.h"

struct rq;

struct resolution {
	enum outcome	 outcome;	/* HIT, SIMILAR, GENERATED, WAITED,
					   FAILED, TIMEOUT, DBERR, LIMITED or
					   BUDGET */
	struct gen_row	 row;		/* valid for HIT, SIMILAR, GENERATED,
					   WAITED, FAILED */
	unsigned	 retry_after;	/* seconds, for FAILED; 0 = none */
	int		 key_quota;	/* BUDGET: the key's, not the day's */
	struct similar_match similar;	/* SIMILAR: the image it got */
};

/* Resolve r (whose hash is rq->hash) into *res. Never fails: see res. */
void	gen_resolve(struct rq *, const struct img_req *r,
	    struct resolution *res);

/* What gen_warm() did for one image. */
enum gen_warmed {
	GW_QUEUED,	/* queued a job: a new image, or a retry that was due */
	GW_CACHED,	/* a new row, completed from the image cache */
	GW_EXISTS,	/* the row was there (see its status); counted */
	GW_BUDGET,	/* over [budget] daily_usd: nothing written */
	GW_KEY_QUOTA,	/* over the key's daily quota: nothing written */
	GW_DBERR
};

/*
 * A warm-up of one image (promptpix warm): elected exactly as a request
 * is, by the same code (the budget reservation, the INSERT ... ON
 * DUPLICATE KEY UPDATE, the image cache, a due retry), in class qc for
 * client key key (NULL: none), but counted in warm_requests, not as a
 * player's request. Nobody waits here: the job is left to the
 * responders' generation workers. *row is the row as read after.
 */
enum gen_warmed	gen_warm(struct db *, const struct cfg *, const char *hash,
	    const struct img_req *r, enum queue_class qc, const char *key,
	    struct gen_row *row);

#endif
