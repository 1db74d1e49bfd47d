/*
 * calls.h: a generation worker's side of the ledger of paid calls
 * (db.h's db_call_*, sql/013_paid_calls.sql). A book holds the hooks its
 * backend calls (backend.h's gen_calls) for the job the worker runs:
 * each call is written to the row before it goes out, and its fate the
 * moment it is known. A fate the database could not take (it was away)
 * is kept in the book and written by the first of the worker and the
 * process's leaser (leaser.h) to reach the database again, once: a
 * worker that takes the job over waits for it before it pays again.
 */
#ifndef PP_CALLS_H
#define PP_CALLS_H

#include <pthread.h>
#include <stdint.h>

#include "backend.h"

struct cfg;
struct db;

struct call_book {
	pthread_mutex_t		 mtx;		/* the fate below, its write */
	const struct cfg	*cfg;
	struct db		*db;		/* the worker's own connection */
	const char		*rid;
	char			 hash[65];
	uint64_t		 token;		/* the claim's */
	uint64_t		 cur;		/* the row's call, as we know it */
	double			 cost;		/* what one call may be billed */
	int64_t			 deadline_ms;	/* the job's */
	int			 pending;	/* a fate not written yet */
	int			 maybe;		/* a write of it may have landed */
	enum call_fate		 fate;
	int			 charged;
	struct upstream_job	 job;
	struct gen_calls	 hooks;		/* for the backend: arg is us */
};

/*
 * Make b ready (once, before any thread may write its fates); the
 * worker sets b->db to its connection before its first job.
 */
void	book_init(struct call_book *b, const struct cfg *, struct db *db,
	    const char *rid);

/*
 * Start the book of the job hash claimed under token, whose row's
 * current call is cur (0: none), one call costing cost, the job ending
 * at deadline_ms.
 */
void	book_open(struct call_book *b, const char *hash, uint64_t token,
	    uint64_t cur, double cost, int64_t deadline_ms);

/*
 * Write the pending fate, if any, on db (the worker's own, or the
 * leaser's). Returns 0 when none is left, -1 when the database did not
 * take it (it stays pending).
 */
int	book_write(struct call_book *b, struct db *db);

/*
 * Wait until the pending fate is written, trying with growing pauses
 * while now_ms() < until (0: for as long as it takes). 0, or -1.
 */
int	book_settle(struct call_book *b, int64_t until);

#endif
