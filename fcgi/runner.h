/*
 * runner.h: the generation workers of a process. Requests never run a
 * generation: an elected image is a pending row, a job in the queue that
 * the database holds for every host. Each worker takes the next job in
 * class order once it holds one of the [queue] max_concurrent slots,
 * runs the backend, records the result, gives the slot back and
 * publishes the row to this process's waiters (flight.h).
 *
 * A running job and its slot carry leases that the waker (waker.h)
 * refreshes for as long as this process lives; only an expired lease
 * lets another worker take the job over.
 */
#ifndef PP_RUNNER_H
#define PP_RUNNER_H

#include <stdint.h>

struct backend;
struct cfg;
struct db;

/* Start the workers ([queue] workers, or max_concurrent). 0 or -1. */
int	runner_start(const struct cfg *, const struct backend *);

/* A job was queued here: wake an idle worker now. */
void	runner_kick(void);

/*
 * Stop taking new jobs (the process is going); returns how many are
 * still running. Call again until it says 0.
 */
unsigned	runner_drain(void);

/* A claim running in this process: its job and its slot's owner. */
struct runner_claim {
	char		 hash[65];
	uint64_t	 token;
	char		 owner[100];
};

/*
 * Copy up to max of the claims running now into out, for their leases.
 * Returns how many.
 */
unsigned	runner_claims(struct runner_claim *out, unsigned max);

/*
 * Is the claim under token still running its job, not yet recording its
 * end? (A lease that the database says is no longer ours is news only
 * then: a recorded job's row is not generating.)
 */
int	runner_claim_live(uint64_t token);

/*
 * Write, on db, the fates of paid calls that the workers could not write
 * (the database was away); see calls.h. 0 when none is left, -1.
 */
int	runner_write_fates(struct db *db);

#endif
