/*
 * flight.c: the table of in-process waits, one flight per awaited image,
 * each with its parked waiters and its one landed result.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "flight.h"
#include "hash.h"
#include "util.h"

struct flight {
	char			 hash[HASH_HEX_LEN + 1];
	int			 refs;		/* joiners not gone yet */
	int			 landed;
	int			 nparked;
	int			 qclass;	/* the best class voted for it */
	struct flight_waiter	*parked;	/* a list, newest first */
	struct flight_result	 res;
	struct flight		*next;
};

/*
 * One lock guards the table: it is held only for a lookup or a flag
 * change, never across I/O, so contention is negligible next to the
 * database round trips the flights save.
 */
#define BUCKETS	256
static pthread_mutex_t	 mtx = PTHREAD_MUTEX_INITIALIZER;
static struct flight	*table[BUCKETS];
static unsigned		 nflights;	/* in the table */

static unsigned
bucket(const char *hash)
{
	return hash_prefix(hash, 2) % BUCKETS;
}

static struct flight **
find(const char *hash)
{
	struct flight	**fp;

	for (fp = &table[bucket(hash)]; *fp != NULL; fp = &(*fp)->next)
		if (strcmp((*fp)->hash, hash) == 0)
			break;
	return fp;
}

/*
 * With mtx held: drop one reference, freeing f after the last (and
 * taking it out of the table if it never landed: all its waiters gave
 * up).
 */
static void
leave_locked(struct flight *f)
{
	struct flight	**fp;

	if (--f->refs > 0)
		return;
	if (!f->landed && *(fp = find(f->hash)) == f) {
		*fp = f->next;
		nflights--;
	}
	free(f);
}

/*
 * With mtx held: mark f landed with res and unlink it from the table.
 * Returns its parked waiters, taken off it (their references dropped,
 * which may free f): the caller calls their landed() once it has let
 * go of mtx.
 */
static struct flight_waiter *
land_locked(struct flight *f, const struct flight_result *res)
{
	struct flight		**fp;
	struct flight_waiter	*list = f->parked, *w;

	if (f->landed)
		return NULL;
	f->landed = 1;
	f->res = *res;
	fp = find(f->hash);
	if (*fp == f) {
		*fp = f->next;
		nflights--;
	}
	f->parked = NULL;
	f->nparked = 0;
	/* Each waiter's reference: the last one frees f, not w. */
	for (w = list; w != NULL; w = w->next) {
		w->parked = 0;
		leave_locked(f);
	}
	return list;
}

/* Tell each waiter of list its flight landed with res (no lock held). */
static void
call_landed(struct flight_waiter *list, const struct flight_result *res)
{
	struct flight_waiter	*w, *next;

	/* landed() may hand w to a thread that frees it: next first. */
	for (w = list; w != NULL; w = next) {
		next = w->next;
		w->landed(w, res);
	}
}

int
flight_join(const char *hash, struct flight **out)
{
	struct flight		**fp, *f;
	int			 lead = 0;

	pthread_mutex_lock(&mtx);
	fp = find(hash);
	if ((f = *fp) == NULL) {
		f = xcalloc(1, sizeof(*f));
		memcpy(f->hash, hash, HASH_HEX_LEN + 1);
		f->qclass = INT_MAX;
		*fp = f;
		nflights++;
		lead = 1;
	}
	f->refs++;
	pthread_mutex_unlock(&mtx);
	*out = f;
	return lead;
}

void
flight_land(struct flight *f, const struct flight_result *res)
{
	struct flight_waiter	*list;

	pthread_mutex_lock(&mtx);
	list = land_locked(f, res);
	leave_locked(f);
	pthread_mutex_unlock(&mtx);
	call_landed(list, res);
}

void
flight_leave(struct flight *f)
{
	pthread_mutex_lock(&mtx);
	leave_locked(f);
	pthread_mutex_unlock(&mtx);
}

int
flight_park(struct flight *f, struct flight_waiter *w,
    struct flight_result *res)
{
	pthread_mutex_lock(&mtx);
	if (f->landed) {
		*res = f->res;
		leave_locked(f);
		pthread_mutex_unlock(&mtx);
		return 1;
	}
	w->prev = NULL;
	w->next = f->parked;
	if (f->parked != NULL)
		f->parked->prev = w;
	f->parked = w;
	f->nparked++;
	w->parked = 1;
	pthread_mutex_unlock(&mtx);
	return 0;
}

int
flight_unpark(struct flight *f, struct flight_waiter *w)
{
	int	 mine;

	pthread_mutex_lock(&mtx);
	if ((mine = w->parked)) {
		if (w->prev != NULL)
			w->prev->next = w->next;
		else
			f->parked = w->next;
		if (w->next != NULL)
			w->next->prev = w->prev;
		w->parked = 0;
		f->nparked--;
		leave_locked(f);
	}
	pthread_mutex_unlock(&mtx);
	return mine;
}

void
flight_publish(const char *hash, const struct flight_result *res)
{
	struct flight		*f;
	struct flight_waiter	*list = NULL;

	pthread_mutex_lock(&mtx);
	if ((f = *find(hash)) != NULL)
		list = land_locked(f, res);
	pthread_mutex_unlock(&mtx);
	call_landed(list, res);
}

unsigned
flight_list(char (*out)[HASH_HEX_LEN + 1], unsigned max, unsigned *from)
{
	struct flight	*f;
	unsigned	 n = 0, b = *from % BUCKETS, i;

	pthread_mutex_lock(&mtx);
	for (i = 0; i < BUCKETS && n < max; i++, b = (b + 1) % BUCKETS)
		for (f = table[b]; f != NULL && n < max; f = f->next)
			memcpy(out[n++], f->hash, HASH_HEX_LEN + 1);
	pthread_mutex_unlock(&mtx);
	/* The next call starts where this one stopped. */
	*from = b;
	return n;
}

unsigned
flight_count(void)
{
	unsigned	 n;

	pthread_mutex_lock(&mtx);
	n = nflights;
	pthread_mutex_unlock(&mtx);
	return n;
}

int
flight_open(const char *hash)
{
	int	 found;

	pthread_mutex_lock(&mtx);
	found = *find(hash) != NULL;
	pthread_mutex_unlock(&mtx);
	return found;
}

int
flight_parked(const char *hash)
{
	struct flight	*f;
	int		 n = 0;

	pthread_mutex_lock(&mtx);
	if ((f = *find(hash)) != NULL)
		n = f->nparked;
	pthread_mutex_unlock(&mtx);
	return n;
}

void
flight_voted(struct flight *f, int qclass)
{
	pthread_mutex_lock(&mtx);
	if (qclass < f->qclass)
		f->qclass = qclass;
	pthread_mutex_unlock(&mtx);
}

int
flight_join_parked(const char *hash, int qclass, struct flight **out)
{
	struct flight	*f;
	int		 joined = 0;

	pthread_mutex_lock(&mtx);
	/* In the table: not landed. */
	if ((f = *find(hash)) != NULL && f->nparked > 0 &&
	    f->qclass <= qclass) {
		f->refs++;
		*out = f;
		joined = 1;
	}
	pthread_mutex_unlock(&mtx);
	return joined;
}
