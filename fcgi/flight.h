/*
 * flight.h: in-process coalescing of waiters. All threads of a process
 * that wait for the same image share one wait: the first (the leader)
 * waits on the database, the others (followers) on a condition variable,
 * and the leader's answer wakes them all. The process's generator may
 * also publish a result straight to the flight when it finishes.
 */
#ifndef PP_FLIGHT_H
#define PP_FLIGHT_H

#include <stdint.h>

#include "db.h"

enum flight_kind {
	FLIGHT_ROW,		/* row holds the finished generation */
	FLIGHT_TIMEOUT,		/* the leader's deadline passed */
	FLIGHT_DBERR,		/* the leader lost the database */
};

struct flight_result {
	enum flight_kind	 kind;
	struct gen_row		 row;
	int64_t			 at_us;	/* now_us() when the row became known
					   in this process (FLIGHT_ROW) */
};

struct flight;

/*
 * Join the flight for hash, creating it if needed. Returns 1 if the
 * caller leads (and must call flight_land()), 0 if it follows (and must
 * call flight_wait()).
 */
int	flight_join(const char *hash, struct flight **);

/* Leader: publish res (unless already published) and leave. */
void	flight_land(struct flight *, const struct flight_result *);

/*
 * Follower: wait until the flight lands or deadline_ms (monotonic)
 * passes, then leave. Returns 0 with *res filled, or -1 on deadline.
 */
int	flight_wait(struct flight *, int64_t deadline_ms,
	    struct flight_result *res);

/* Publish res to the flight for hash, if one is waiting. */
void	flight_publish(const char *hash, const struct flight_result *);

/*
 * How many followers of the unlanded flight for hash are inside
 * flight_wait() now. For the unit tests: when it reads n, n followers
 * have checked that the flight has not landed and released the lock to
 * wait, so a landing after it wakes waiters rather than racing them.
 */
int	flight_waiting(const char *hash);

#endif
