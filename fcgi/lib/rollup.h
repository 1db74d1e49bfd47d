/*
 * rollup.h: what this process served, counted in memory per UTC hour
 * and added to the hourly rollup table (sql/009_rollup.sql) with the
 * hit counts' flush (counts.c), so that neither a request nor a
 * generation waits on it, and a page view of the dashboard reads a few
 * rollup rows instead of the status table. Lost, like the hit counts,
 * only if the process is killed before a flush.
 */
#ifndef PP_ROLLUP_H
#define PP_ROLLUP_H

#include <stdint.h>

#include "result.h"

/* Generation-time histogram buckets: at most this many ms. */
#define HIST_MS_BUCKETS	13
extern const unsigned hist_ms_bounds[HIST_MS_BUCKETS];

/* What one process adds to the rollup row of one hour. */
struct rollup_delta {
	int64_t		 hour;		/* unix seconds, a multiple of 3600 */
	uint64_t	 requests;
	uint64_t	 cache_hits;
	uint64_t	 paid_calls;
	uint64_t	 generations;
	uint64_t	 failures;
	int64_t		 spent_micro;	/* micro-USD, each cost as its row
					   rounds it */
	uint64_t	 pixels;	/* width x height, per request */
	uint64_t	 ms[HIST_MS_BUCKETS];
	uint64_t	 kinds[GE__MAX];	/* failures by kind */
};

/*
 * What sends one batch of n deltas under its id (db_rollup_add(), with
 * its connection in arg): 0 added (now or before), -1 not known to be.
 */
typedef int	(*rollup_send_fn)(void *arg, uint64_t batch,
		    const struct rollup_delta *d, int n);

/* A request counted in total_requests, for an image of w x h. */
void	rollup_request(unsigned w, unsigned h, int hit);

/*
 * A paid call whose fate this process wrote to its row (calls.h): one
 * that reached the upstream counts in paid_calls, and what it may be
 * billed (cost_usd, 0 for none; negative: a charge taken back) in spent.
 */
void	rollup_call(int reached, double cost_usd);

/*
 * A generation this process ran: its end (completed, or failed of kind
 * err) and its time ms, when it was the one recorded.
 */
void	rollup_generation(int recorded, int ok, enum gen_err err, int64_t ms);

/*
 * Send everything counted so far through send, exactly once: a batch
 * whose answer was lost is kept unchanged and sent again first by the
 * next flush, before any newer counts. Returns 0, or -1 (a batch kept).
 */
int	rollup_flush(rollup_send_fn send, void *arg);

#endif
