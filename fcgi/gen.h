/*
 * gen.h: what happens to one image request between parsing and the
 * answer: a hit from memory, the election, or the wait for the single
 * generation.
 *
 *   1. The ballot (ballot.h: INSERT ... ON DUPLICATE KEY UPDATE, with
 *      the budget's reservation) counts the request. The request that
 *      created the row queued the job (its outcome is "generated"); the
 *      generation workers of any host run it (runner.h).
 *   2. Everyone finds the row completed (a hit) or failed, or waits: it
 *      gives its database connection back to the pool and is parked on
 *      the process's flight for the hash (flight.h, park.h), holding no
 *      thread, until this process's worker or the waker (waker.h) lands
 *      it once the row is finished.
 *   3. max_wait ends the wait with a timeout; the job stays queued and
 *      is paid once, so a later request gets the image.
 *
 * With [similar] threshold > 0 (and no &exact=1), a new row may be
 * answered with a similar prompt's image instead (alias.h: outcome
 * "similar").
 */
#ifndef PP_GEN_H
#define PP_GEN_H

#include "db.h"
#include "outcome.h"
#include "req.h"
#include "request.h"

struct rq;

struct resolution {
	enum outcome	 outcome;	/* HIT, SIMILAR, GENERATED, WAITED,
					   FAILED, TIMEOUT, DBERR, LIMITED,
					   BUDGET, GONE or STOPPED */
	struct gen_row	 row;		/* valid for HIT, SIMILAR, GENERATED,
					   WAITED, FAILED */
	unsigned	 retry_after;	/* seconds, for FAILED; 0 = none */
	int		 key_quota;	/* BUDGET: the key's, not the day's */
	struct similar_match similar;	/* SIMILAR: the image it got */
};

/*
 * Resolve r (whose hash is rq->hash) into *res. Never fails: see res.
 * Returns 0; or 1 when rq waits for a job, parked (request.h): then
 * rq->waited answers it, after gen_waited().
 */
int	gen_resolve(struct rq *, const struct img_req *r,
	    struct resolution *res);

/*
 * The wait of a parked rq for r's job ended so (row: for WAIT_ROW):
 * resolve it into *res, as gen_resolve() would have.
 */
void	gen_waited(struct rq *, const struct img_req *r, enum wait_end how,
	    const struct gen_row *row, struct resolution *res);

#endif
