/*
 * flight.h: in-process coalescing of waiters. All threads of a process
 * that wait for the same image share one flight and sleep on its
 * condition variable. A result lands once for all of them: published by
 * this process's generation worker when it finishes, or by the waker
 * (waker.h) when the database says another process finished it.
 */
#ifndef PP_FLIGHT_H
#define PP_FLIGHT_H

#include <stdint.h>

#include "result.h"
#include "hash.h"

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
 * Join the flight for hash, creating it if needed. Returns 1 if this
 * call created it, 0 if it joined one. Every caller leaves it once:
 * through flight_land(), flight_wait() or flight_leave().
 */
int	flight_join(const char *hash, struct flight **);

/* Publish res (unless already published) and leave. */
void	flight_land(struct flight *, const struct flight_result *);

/* Leave without waiting (the answer came another way). */
void	flight_leave(struct flight *);

/*
 * Wait until the flight lands or deadline_ms (monotonic)
 * passes, then leave. Returns 0 with *res filled, or -1 on deadline.
 */
int	flight_wait(struct flight *, int64_t deadline_ms,
	    struct flight_result *res);

/* Publish res to the flight for hash, if one is waiting. */
void	flight_publish(const char *hash, const struct flight_result *);

/*
 * Copy the hashes of up to max flights waiting now into out, starting
 * at the table position *from and leaving there the position to start
 * the next call at (so that repeated calls visit every flight).
 */
unsigned	flight_list(char (*out)[HASH_HEX_LEN + 1], unsigned max,
	    unsigned *from);

/* How many flights are waiting now. */
unsigned	flight_count(void);

/* Is a flight waiting for hash? */
int	flight_open(const char *hash);

/*
 * How many followers of the unlanded flight for hash are inside
 * flight_wait() now. For the unit tests: when it reads n, n followers
 * have checked that the flight has not landed and released the lock to
 * wait, so a landing after it wakes waiters rather than racing them.
 */
int	flight_waiting(const char *hash);

#endif
