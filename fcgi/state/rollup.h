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

struct db;

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
 * Add everything counted so far to the rollup, on db, exactly once: a
 * batch whose answer was lost is kept unchanged and sent again first
 * by the next flush, before any newer counts. cpm: [generation]
 * cost_per_megapixel. Returns 0, or -1 (a batch kept).
 */
int	rollup_flush(struct db *, double cpm);

#endif
