/*
 * flight.h: in-process coalescing of waiters. All requests of a process
 * that wait for the same image share one flight and are parked on it,
 * holding no thread (park.h). A result lands once for all of them:
 * published by this process's generation worker when it finishes, or by
 * the waker (waker.h) when the database says another process finished
 * it.
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
 * A waiter parked on a flight, inside its owner's object (a request).
 * landed() is called once, by the thread that lands the flight, with no
 * lock held; res is valid during the call only. The rest is flight.c's.
 */
struct flight_waiter {
	void			(*landed)(struct flight_waiter *,
				    const struct flight_result *res);
	struct flight_waiter	*prev, *next;
	int			 parked;
};

/*
 * Join the flight for hash, creating it if needed. Returns 1 if this
 * call created it, 0 if it joined one. Every caller leaves it once:
 * through flight_land() or flight_leave(), or by parking a waiter on it.
 */
int	flight_join(const char *hash, struct flight **);

/*
 * Note that a request of queue class qclass (lower: sooner) voted in
 * the database for f's job, having joined f: the job is queued in that
 * class or a better one.
 */
void	flight_voted(struct flight *, int qclass);

/*
 * Join the flight for hash only if requests are parked on it and one of
 * them voted a class as good as qclass: the job is queued or running
 * and a request of qclass would change nothing in the database. Returns
 * 1 (joined, as flight_join()), or 0.
 */
int	flight_join_parked(const char *hash, int qclass, struct flight **);

/* Land f, which the caller joined, with res (unless landed), and leave. */
void	flight_land(struct flight *, const struct flight_result *res);

/* Leave without waiting (the answer came another way). */
void	flight_leave(struct flight *);

/*
 * Park w on f, which the caller joined: the caller's reference goes
 * with w, and w->landed() is called when the flight lands. Returns 0;
 * or 1 if f landed already, with *res its result, having left f (w is
 * not parked then, and landed() is never called).
 */
int	flight_park(struct flight *, struct flight_waiter *w,
	    struct flight_result *res);

/*
 * Take w off f before the flight lands, leaving f: returns 1. Returns 0
 * if the landing took w first: its landed() is called, or is being.
 */
int	flight_unpark(struct flight *, struct flight_waiter *w);

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

/* How many waiters are parked on the unlanded flight for hash now. */
int	flight_parked(const char *hash);

#endif
