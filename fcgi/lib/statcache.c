/*
 * statcache.c: one snapshot of the stats figures, shared by the
 * instance's processes and refreshed by one caller at a time (see
 * statcache.h for why).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "statcache.h"
#include "util.h"

struct shared {
	pthread_mutex_t		 mtx;		/* robust, process-shared */
	pthread_cond_t		 done;		/* a refresh ended */
	int			 have;		/* snap holds a reading */
	int			 refreshing;
	int64_t			 taken_ms;	/* now_ms() of the reading */
	int64_t			 refresh_since_ms;
	uint64_t		 refreshes;
	struct stats_snap	 snap;
};

static struct shared	 local;
static struct shared	*sh = NULL;
static int64_t		 ttl = 1000;
static int64_t		 stuck = 30000;

static int
init_sync(struct shared *s, int pshared)
{
	pthread_mutexattr_t	 ma;
	pthread_condattr_t	 ca;
	int			 rc = 0;

	pthread_mutexattr_init(&ma);
	pthread_condattr_init(&ca);
	if (pshared) {
		rc |= pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
		/* A process killed while holding it must not stop the rest. */
		rc |= pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
		rc |= pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	}
	rc |= pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc |= pthread_mutex_init(&s->mtx, &ma);
	rc |= pthread_cond_init(&s->done, &ca);
	pthread_mutexattr_destroy(&ma);
	pthread_condattr_destroy(&ca);
	return rc == 0 ? 0 : -1;
}

int
statcache_init(int64_t ttl_ms, int64_t stuck_ms)
{
	void	*p;

	ttl = ttl_ms;
	stuck = stuck_ms;
	p = mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED && init_sync(p, 1) == 0) {
		sh = p;
		return 0;
	}
	if (p != MAP_FAILED)
		munmap(p, sizeof(struct shared));
	sh = &local;
	init_sync(sh, 0);
	return -1;
}

static void
lock(void)
{
	if (sh == NULL)
		statcache_init(ttl, stuck);
	if (pthread_mutex_lock(&sh->mtx) == EOWNERDEAD)
		pthread_mutex_consistent(&sh->mtx);
}

/* With the lock held: wait for the running refresh, at most until it is stuck. */
static void
wait_refresh(int64_t now)
{
	struct timespec	 ts;
	int64_t		 until = sh->refresh_since_ms + stuck;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (until - now) / 1000;
	ts.tv_nsec += ((until - now) % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	if (pthread_cond_timedwait(&sh->done, &sh->mtx, &ts) == EOWNERDEAD)
		pthread_mutex_consistent(&sh->mtx);
}

int
statcache_get(statcache_fill_fn fill, void *arg, struct stats_snap *out)
{
	struct stats_snap	 fresh;
	int64_t			 now;

	lock();
	for (;;) {
		now = now_ms();
		if (sh->have && now - sh->taken_ms < ttl)
			goto cached;
		if (!sh->refreshing || now - sh->refresh_since_ms >= stuck)
			break;
		/* Another caller is reading: serve the last snapshot meanwhile. */
		if (sh->have)
			goto cached;
		wait_refresh(now);
	}
	sh->refreshing = 1;
	sh->refresh_since_ms = now;
	pthread_mutex_unlock(&sh->mtx);

	memset(&fresh, 0, sizeof(fresh));
	fresh.taken_at = time(NULL);
	fresh.rc = fill(arg, &fresh);

	lock();
	sh->snap = fresh;
	sh->have = 1;
	sh->taken_ms = now_ms();
	sh->refreshing = 0;
	sh->refreshes++;
	pthread_cond_broadcast(&sh->done);
	pthread_mutex_unlock(&sh->mtx);
	*out = fresh;
	return fresh.rc;
cached:
	*out = sh->snap;
	pthread_mutex_unlock(&sh->mtx);
	return out->rc;
}

uint64_t
statcache_refreshes(void)
{
	uint64_t	 n;

	lock();
	n = sh->refreshes;
	pthread_mutex_unlock(&sh->mtx);
	return n;
}
