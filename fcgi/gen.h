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
 *      gives its database connection back to the pool and sleeps on the
 *      process's flight for the hash (flight.h), which this process's
 *      worker or the waker (waker.h) lands once the row is finished.
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

#endif
