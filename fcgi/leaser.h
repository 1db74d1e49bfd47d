/*
 * leaser.h: one thread per process that keeps the leases of its running
 * jobs and their slots alive (runner.h), and writes the fates of paid
 * calls its workers could not write (calls.h). A lease runs out only
 * when its owner has been silent for [queue] lease: after a renewal the
 * database did not take, the thread tries again every LEASER_RETRY_MS,
 * so that when the database comes back the leases are renewed at once,
 * before an idle worker elsewhere could take the jobs over.
 */
#ifndef PP_LEASER_H
#define PP_LEASER_H

struct cfg;

/* How soon a renewal or a fate the database did not take is tried again. */
#define LEASER_RETRY_MS	100

/* Start the thread. Returns 0, or -1. */
int	leaser_start(const struct cfg *);

#endif
