/*
 * ratelimit.c: the per-address token buckets for new images, in shared
 * memory so that the processes of a host share them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "ratelimit.h"
#include "util.h"

#define SLOTS	4096

struct bucket {
	uint64_t	 key;		/* FNV-1a of the address; 0 = empty */
	double		 tokens;
	int64_t		 last_ms;	/* CLOCK_MONOTONIC is system-wide */
};

struct table {
	pthread_mutex_t	 mtx;		/* process-shared and robust */
	struct bucket	 b[SLOTS];
};

static struct table	*tab;
static double		 rate_per_ms;
static double		 burst;

int
ratelimit_init(unsigned per_minute, unsigned burst_tokens)
{
	pthread_mutexattr_t	 ma;

	if (per_minute == 0)
		return 0;
	tab = mmap(NULL, sizeof(*tab), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tab == MAP_FAILED) {
		log_error(NULL, "rate limit table: %s", strerror(errno));
		tab = NULL;
		return -1;
	}
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	/* A process killed while holding it must not wedge the others. */
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&tab->mtx, &ma);
	pthread_mutexattr_destroy(&ma);
	rate_per_ms = per_minute / 60000.0;
	burst = burst_tokens > 0 ? burst_tokens : 1;
	return 0;
}

int
ratelimit_enabled(void)
{
	return tab != NULL;
}

static uint64_t
fnv1a(const char *s)
{
	uint64_t	 h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h ? h : 1;
}

static void
lock(void)
{
	if (pthread_mutex_lock(&tab->mtx) == EOWNERDEAD)
		pthread_mutex_consistent(&tab->mtx);
}

/* With the lock held: the client's bucket, refilled to now. */
static struct bucket *
refill(uint64_t key, int64_t now)
{
	struct bucket	*b = &tab->b[key % SLOTS];

	if (b->key != key) {
		b->key = key;
		b->tokens = burst;
	} else {
		b->tokens += (double)(now - b->last_ms) * rate_per_ms;
		if (b->tokens > burst)
			b->tokens = burst;
	}
	b->last_ms = now;
	return b;
}

unsigned
ratelimit_take(const char *client)
{
	struct bucket	*b;
	unsigned	 wait = 0;

	if (tab == NULL)
		return 0;
	lock();
	b = refill(fnv1a(client), now_ms());
	if (b->tokens >= 1)
		b->tokens -= 1;
	else
		wait = (unsigned)((1 - b->tokens) / rate_per_ms / 1000) + 1;
	pthread_mutex_unlock(&tab->mtx);
	return wait;
}

void
ratelimit_refund(const char *client)
{
	struct bucket	*b;

	if (tab == NULL)
		return;
	lock();
	b = refill(fnv1a(client), now_ms());
	b->tokens = b->tokens + 1 > burst ? burst : b->tokens + 1;
	pthread_mutex_unlock(&tab->mtx);
}
