/*
 * rollup.c: the hourly rollup counted in memory and flushed; see
 * rollup.h.
 *
 * Each flush sends what it took as one batch under a random id
 * (through its sender: db_rollup_add()), as counts.c does the hit counts. A batch whose
 * answer did not come back is kept exactly as it was, id and all, and
 * sent first by the next flush: the database adds it at most once,
 * whether or not the lost answer had committed it. Counts that arrive
 * meanwhile wait for a batch of their own.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "rollup.h"
#include "util.h"

/*
 * Hours with counts not yet written: the current one, and older ones
 * while the database is away. Past SLOTS, the oldest is folded into
 * the next, so nothing is lost, only put in a later hour.
 */
#define SLOTS	4

const unsigned hist_ms_bounds[HIST_MS_BUCKETS] = {
	100, 250, 500, 1000, 2000, 3000, 5000, 10000, 20000, 30000, 60000,
	120000, UINT32_MAX
};

static pthread_mutex_t		 mtx = PTHREAD_MUTEX_INITIALIZER;
static struct rollup_delta	 slots[SLOTS];	/* hour 0: free */

static int64_t
this_hour(void)
{
	int64_t	 t = (int64_t)time(NULL);

	return t - t % 3600;
}

/* The sum of two deltas, into a. */
static void
add(struct rollup_delta *a, const struct rollup_delta *b)
{
	a->requests += b->requests;
	a->cache_hits += b->cache_hits;
	a->paid_calls += b->paid_calls;
	a->generations += b->generations;
	a->failures += b->failures;
	a->spent_micro += b->spent_micro;
	a->pixels += b->pixels;
	for (int i = 0; i < HIST_MS_BUCKETS; i++)
		a->ms[i] += b->ms[i];
	for (int k = 0; k < GE__MAX; k++)
		a->kinds[k] += b->kinds[k];
}

/* With mtx held: the slot of hour, made if need be. */
static struct rollup_delta *
slot(int64_t hour)
{
	struct rollup_delta	*old = NULL, *next = NULL;

	for (int i = 0; i < SLOTS; i++)
		if (slots[i].hour == hour)
			return &slots[i];
	for (int i = 0; i < SLOTS; i++)
		if (slots[i].hour == 0) {
			memset(&slots[i], 0, sizeof(slots[i]));
			slots[i].hour = hour;
			return &slots[i];
		}
	for (int i = 0; i < SLOTS; i++)
		if (old == NULL || slots[i].hour < old->hour)
			old = &slots[i];
	for (int i = 0; i < SLOTS; i++)
		if (&slots[i] != old && (next == NULL ||
		    slots[i].hour < next->hour))
			next = &slots[i];
	add(next, old);
	memset(old, 0, sizeof(*old));
	old->hour = hour;
	return old;
}

void
rollup_request(unsigned w, unsigned h, int hit)
{
	struct rollup_delta	*d;

	pthread_mutex_lock(&mtx);
	d = slot(this_hour());
	d->requests++;
	d->cache_hits += hit != 0;
	d->pixels += (uint64_t)w * h;
	pthread_mutex_unlock(&mtx);
}

void
rollup_call(int reached, double cost_usd)
{
	struct rollup_delta	*d;

	pthread_mutex_lock(&mtx);
	d = slot(this_hour());
	d->paid_calls += reached != 0;
	/* Rounded to the micro-dollar, as generation_status.cost_usd is. */
	d->spent_micro += (int64_t)llround(cost_usd * 1e6);
	pthread_mutex_unlock(&mtx);
}

void
rollup_generation(int recorded, int ok, enum gen_err err, int64_t ms)
{
	struct rollup_delta	*d;
	int			 b = 0;

	if (!recorded)
		return;
	while (b < HIST_MS_BUCKETS - 1 && ms > (int64_t)hist_ms_bounds[b])
		b++;
	pthread_mutex_lock(&mtx);
	d = slot(this_hour());
	if (ok) {
		d->generations++;
		d->ms[b]++;
	} else {
		d->failures++;
		d->kinds[err >= 0 && err < GE__MAX ? err : GE_UNKNOWN]++;
	}
	pthread_mutex_unlock(&mtx);
}

/*
 * One flush at a time, as counts_flush() is: the final flush at SIGTERM
 * waits for a periodic one. The batch not known to be added, under it.
 */
static pthread_mutex_t		 flushing = PTHREAD_MUTEX_INITIALIZER;
static struct rollup_delta	 unsent[SLOTS];
static int			 unsent_n;
static uint64_t			 unsent_id;

/* Send the unsent batch, if any. 0 (gone), or -1 (kept). */
static int
send_unsent(rollup_send_fn send, void *arg)
{
	if (unsent_n == 0)
		return 0;
	if (send(arg, unsent_id, unsent, unsent_n) == -1)
		return -1;
	unsent_n = 0;
	return 0;
}

int
rollup_flush(rollup_send_fn send, void *arg)
{
	int	 rc = -1;

	pthread_mutex_lock(&flushing);
	if (send_unsent(send, arg) == -1)
		goto out;
	pthread_mutex_lock(&mtx);
	for (int i = 0; i < SLOTS; i++)
		if (slots[i].hour != 0)
			unsent[unsent_n++] = slots[i];
	memset(slots, 0, sizeof(slots));
	pthread_mutex_unlock(&mtx);
	if (unsent_n > 0)
		unsent_id = random_u64();
	rc = send_unsent(send, arg);
out:
	pthread_mutex_unlock(&flushing);
	return rc;
}
