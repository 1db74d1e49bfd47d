/*
 * gen.h: what happens to one image request between parsing and the
 * answer: the election, the single generation, or the wait for it.
 *
 *   1. INSERT ... ON DUPLICATE KEY UPDATE (db_elect) counts the request.
 *      The request that created the row is the generator.
 *   2. The generator holds the hash's named lock while it generates, and
 *      records the outcome before it lets go.
 *   3. Everyone else finds the row completed (a hit) or failed, or waits:
 *      one thread per process blocks in GET_LOCK, which returns the
 *      moment the generator lets go (or its connection dies), and wakes
 *      the process's other waiters through a flight (flight.h).
 *   4. A waiter that gets the lock while the row is still generating has
 *      outlived its generator and takes over with a conditional UPDATE.
 */
#ifndef PP_GEN_H
#define PP_GEN_H

#include "db.h"
#include "outcome.h"
#include "req.h"

struct rq;

struct resolution {
	enum outcome	 outcome;	/* HIT, GENERATED, WAITED, FAILED,
					   TIMEOUT, DBERR or LIMITED */
	struct gen_row	 row;		/* valid for HIT, GENERATED, WAITED,
					   FAILED */
	unsigned	 retry_after;	/* seconds, for FAILED; 0 = none */
};

/* Resolve r (whose hash is rq->hash) into *res. Never fails: see res. */
void	gen_resolve(struct rq *, const struct img_req *r,
	    struct resolution *res);

#endif
