/*
 * flight.c: the table of in-process waits, one flight per awaited image,
 * each with its condition variable and its one landed result.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flight.h"
#include "hash.h"
#include "util.h"

struct flight {
	char			 hash[HASH_HEX_LEN + 1];
	int			 refs;		/* leader + followers */
	int			 landed;
	int			 waiting;	/* followers in the cond wait */
	struct flight_result	 res;
	pthread_cond_t		 cond;
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

/* With mtx held: mark f landed with res, unlink it and wake everyone. */
static void
land_locked(struct flight *f, const struct flight_result *res)
{
	struct flight	**fp;

	if (f->landed)
		return;
	f->landed = 1;
	f->res = *res;
	fp = find(f->hash);
	if (*fp == f) {
		*fp = f->next;
		nflights--;
	}
	pthread_cond_broadcast(&f->cond);
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
	pthread_cond_destroy(&f->cond);
	free(f);
}

int
flight_join(const char *hash, struct flight **out)
{
	struct flight		**fp, *f;
	pthread_condattr_t	 ca;
	int			 lead = 0;

	pthread_mutex_lock(&mtx);
	fp = find(hash);
	if ((f = *fp) == NULL) {
		f = xcalloc(1, sizeof(*f));
		memcpy(f->hash, hash, HASH_HEX_LEN + 1);
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&f->cond, &ca);
		pthread_condattr_destroy(&ca);
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
	pthread_mutex_lock(&mtx);
	land_locked(f, res);
	leave_locked(f);
	pthread_mutex_unlock(&mtx);
}

void
flight_leave(struct flight *f)
{
	pthread_mutex_lock(&mtx);
	leave_locked(f);
	pthread_mutex_unlock(&mtx);
}

int
flight_wait(struct flight *f, int64_t deadline_ms, struct flight_result *res)
{
	struct timespec	 ts;
	int		 rc = 0;

	ts.tv_sec = deadline_ms / 1000;
	ts.tv_nsec = (deadline_ms % 1000) * 1000000;
	pthread_mutex_lock(&mtx);
	f->waiting++;
	while (!f->landed && rc == 0)
		rc = pthread_cond_timedwait(&f->cond, &mtx, &ts);
	f->waiting--;
	if (f->landed)
		*res = f->res;
	rc = f->landed ? 0 : -1;
	leave_locked(f);
	pthread_mutex_unlock(&mtx);
	return rc;
}

void
flight_publish(const char *hash, const struct flight_result *res)
{
	struct flight	*f;

	pthread_mutex_lock(&mtx);
	if ((f = *find(hash)) != NULL)
		land_locked(f, res);
	pthread_mutex_unlock(&mtx);
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
flight_waiting(const char *hash)
{
	struct flight	*f;
	int		 n = 0;

	pthread_mutex_lock(&mtx);
	if ((f = *find(hash)) != NULL)
		n = f->waiting;
	pthread_mutex_unlock(&mtx);
	return n;
}
