/*
 * park.h: requests that wait for an image, parked without a thread.
 *
 * A request that must wait for a generation joins the image's flight
 * (flight.h) and is parked here with its deadline, its connection and
 * how to answer it; its thread goes back to take the next connection.
 * Nothing runs for it until one of four things ends the wait, and
 * exactly one of them wins:
 *   - its flight lands (this process's worker, the waker or an alias);
 *   - its deadline passes;
 *   - its client hangs up (the web server closes the connection);
 *   - the process stops (park_stop()).
 * One of a few answer threads then calls its answer(), which answers
 * and frees it. One slow answer holds one answer thread, not the
 * others, and never a request thread: hits, pages and elections do not
 * queue behind parked requests.
 */
#ifndef PP_PARK_H
#define PP_PARK_H

#include <stdint.h>

#include "flight.h"

enum park_end {
	PARK_LANDED,		/* res holds how the flight landed */
	PARK_DEADLINE,		/* its deadline passed first */
	PARK_GONE,		/* its client hung up */
	PARK_STOPPED		/* the process is stopping */
};

/* A parked request, inside its owner's object. */
struct parked {
	struct flight_waiter	 fw;		/* on its flight */
	struct flight		*flight;	/* joined by the owner */
	int64_t			 deadline;	/* now_ms() clock */
	int			 fd;		/* its connection */
	/* Answer it and free it (res too), on an answer thread. */
	void			(*answer)(struct parked *);
	/* How the wait ended, for answer(). */
	enum park_end		 end;
	struct flight_result	*res;		/* PARK_LANDED only; heap */
	/* park.c's. */
	struct parked		*prev, *next;
	uint32_t		 tag;
	int			 listed;
};

/* Start the keeper and n answer threads. Returns 0, or -1. */
int	park_start(unsigned n);

/*
 * Park p: flight, deadline, fd and answer set, and the flight joined
 * (the reference goes with p). Returns 0 when parked (p is no longer
 * the caller's: it may be answered and freed before this returns), or
 * 1 if the flight landed already, with *res its result: then p is not
 * parked, and the caller answers it.
 */
int	park(struct parked *p, struct flight_result *res);

/* How many requests are parked or being answered now. */
unsigned	park_count(void);

/*
 * The process is stopping: end every wait with PARK_STOPPED (a request
 * parked from now on is too), and wait until each is answered, or until
 * until_ms (now_ms() clock). Returns how many were left unanswered.
 */
unsigned	park_stop(int64_t until_ms);

#endif
