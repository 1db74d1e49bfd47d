/*
 * ballot.h: the election of one image, shared by a request (gen.c) and
 * a warm-up (promptpix warm): the INSERT ... ON DUPLICATE KEY UPDATE
 * with the budget's reservation (db_elect), the image cache for a new
 * row, and a job queued again when its row asks for it (a failure whose
 * backoff is over; an alias that an exact=1 request wants its own image
 * for). What it cast is one answer; waiting is the caller's business.
 */
#ifndef PP_BALLOT_H
#define PP_BALLOT_H

#include "db.h"

struct cfg;

/* What a ballot came to. */
enum ballot_got {
	BALLOT_NEW,		/* this call queued a new job (held, if a
				   similar lookup follows: alias.h) */
	BALLOT_NEW_UNCHECKED,	/* the same, the image cache not read */
	BALLOT_CACHED,		/* a new row, completed from the image cache */
	BALLOT_REQUEUED,	/* this call queued the row's job again */
	BALLOT_EXISTS,		/* the row was there: counted, *row read */
	BALLOT_GONE,		/* the row went twice as it was elected */
	BALLOT_OVER,		/* [budget] daily_usd: nothing written */
	BALLOT_KEY_OVER,	/* the client key's daily quota: likewise */
	BALLOT_FAULT		/* the database */
};

/*
 * A ballot for the image hash of r, in class qc for client key key
 * (NULL: none), as [budget] and the configuration c price it; warm: a
 * warm-up (counted in warm_requests, not as a player's request). A
 * request's new row is looked up among similar images (b->similar) when
 * [similar] threshold is above 0 and r has no exact=1.
 */
void	ballot_init(struct db_ballot *b, const struct cfg *c, const char *hash,
	    const struct img_req *r, enum queue_class qc, const char *key,
	    int warm);

/*
 * Cast b on db. *row is the row as read after (for NEW, a pending row;
 * for CACHED and EXISTS, as it stands). A new row stays held when
 * b->similar is set (the caller looks for a similar image: alias.h),
 * and is released otherwise. Never waits.
 */
enum ballot_got	ballot_cast(struct db *db, struct db_ballot *b,
	    struct gen_row *row);

/*
 * Would a request for r have this row's job queued again (its backoff
 * is over; or an alias, and r wants its own prompt's image)?
 */
int	ballot_requeue_due(const struct img_req *r, const struct gen_row *row);

#endif
