/*
 * statcache.c: one database read per period for many callers, on real
 * threads and a real forked process. Fills are counted; a gate holds a
 * fill open so that the callers meanwhile can be watched. Every wait has
 * a deadline, so a lost wake-up fails a check instead of hanging.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "statcache.h"
#include "util.h"
#include "t.h"

#define WAIT_MS	10000

static atomic_int	 fills;		/* fill() calls */
static atomic_int	 inside;	/* fills running now */
static atomic_int	 gate_open = 1;
static atomic_int	 value = 1;	/* what the next fill reads */

/* A fill that reads `value` as the in-flight count, after the gate. */
static int
fill(void *arg, struct stats_snap *s)
{
	int64_t	 end = now_ms() + WAIT_MS;

	atomic_fetch_add(&fills, 1);
	atomic_fetch_add(&inside, 1);
	while (!atomic_load(&gate_open) && now_ms() < end)
		sched_yield();
	s->periods[1].in_flight = (uint64_t)atomic_load(&value);
	atomic_fetch_sub(&inside, 1);
	return arg != NULL ? -1 : 0;
}

struct caller {
	pthread_t	 t;
	int		 calls;
	int		 rc;
	uint64_t	 seen;		/* in_flight of the last answer */
	atomic_int	 done;
};

static void *
caller_main(void *arg)
{
	struct caller		*c = arg;
	struct stats_snap	 s;

	for (int i = 0; i < c->calls; i++) {
		c->rc |= statcache_get(fill, NULL, &s);
		c->seen = s.periods[1].in_flight;
	}
	atomic_store(&c->done, 1);
	return NULL;
}

static void
reset(int64_t ttl, int64_t stuck)
{
	statcache_init(ttl, stuck);
	atomic_store(&fills, 0);
	atomic_store(&gate_open, 1);
	atomic_store(&value, 1);
}

static int
wait_for(atomic_int *v, int want)
{
	int64_t	 end = now_ms() + WAIT_MS;

	while (atomic_load(v) != want && now_ms() < end)
		sched_yield();
	return atomic_load(v) == want;
}

/* 8 threads asking 200 times each within one period: one read. */
static void
test_one_read_per_period(void)
{
	struct caller	 c[8];

	reset(60000, 30000);
	for (int i = 0; i < 8; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].calls = 200;
		pthread_create(&c[i].t, NULL, caller_main, &c[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(c[i].t, NULL);
		T_CHECK(c[i].rc == 0 && c[i].seen == 1, "caller %d: rc %d "
		    "seen %llu", i, c[i].rc, (unsigned long long)c[i].seen);
	}
	T_CHECK(atomic_load(&fills) == 1, "%d fills for 1600 calls",
	    atomic_load(&fills));
	T_CHECK(statcache_refreshes() == 1, "refreshes %llu",
	    (unsigned long long)statcache_refreshes());
}

/*
 * The first read is slow: the other callers wait for it rather than
 * read too. Once a snapshot exists, a slow refresh does not hold
 * anyone: they are answered the previous snapshot meanwhile.
 */
static void
test_slow_read(void)
{
	struct caller		 first, other, stale;
	struct stats_snap	 s;

	reset(60000, 30000);
	memset(&first, 0, sizeof(first));
	memset(&other, 0, sizeof(other));
	first.calls = other.calls = 1;
	atomic_store(&gate_open, 0);
	pthread_create(&first.t, NULL, caller_main, &first);
	T_CHECK(wait_for(&inside, 1), "the first fill did not start");
	pthread_create(&other.t, NULL, caller_main, &other);
	atomic_store(&value, 2);
	atomic_store(&gate_open, 1);
	pthread_join(first.t, NULL);
	pthread_join(other.t, NULL);
	T_CHECK(atomic_load(&fills) == 1, "%d fills", atomic_load(&fills));
	T_CHECK(first.seen == 2 && other.seen == 2, "first %llu other %llu",
	    (unsigned long long)first.seen, (unsigned long long)other.seen);

	/* A snapshot exists (ttl 0: always old); a refresh hangs. */
	reset(0, 30000);
	atomic_store(&value, 2);
	statcache_get(fill, NULL, &s);
	atomic_store(&gate_open, 0);
	atomic_store(&value, 3);
	memset(&first, 0, sizeof(first));
	memset(&stale, 0, sizeof(stale));
	first.calls = stale.calls = 1;
	pthread_create(&first.t, NULL, caller_main, &first);
	T_CHECK(wait_for(&inside, 1), "the refresh did not start");
	pthread_create(&stale.t, NULL, caller_main, &stale);
	T_CHECK(wait_for(&stale.done, 1), "a caller waited for a refresh "
	    "while a snapshot existed");
	T_CHECK(stale.seen == 2, "stale caller saw %llu",
	    (unsigned long long)stale.seen);
	atomic_store(&gate_open, 1);
	pthread_join(first.t, NULL);
	pthread_join(stale.t, NULL);
	T_CHECK(first.seen == 3, "refresher saw %llu",
	    (unsigned long long)first.seen);
}

/* A refresh that never ends (its process died) is taken over. */
static void
test_stuck_refresh(void)
{
	struct caller	 hung, next;

	reset(0, 50);
	memset(&hung, 0, sizeof(hung));
	memset(&next, 0, sizeof(next));
	hung.calls = next.calls = 1;
	atomic_store(&gate_open, 0);
	pthread_create(&hung.t, NULL, caller_main, &hung);
	T_CHECK(wait_for(&inside, 1), "the fill did not start");
	/* next has no snapshot: it waits out `stuck`, then reads itself. */
	pthread_create(&next.t, NULL, caller_main, &next);
	T_CHECK(wait_for(&fills, 2), "a stuck refresh was not taken over");
	atomic_store(&gate_open, 1);
	pthread_join(hung.t, NULL);
	pthread_join(next.t, NULL);
	T_CHECK(next.rc == 0 && next.seen == 1, "rc %d seen %llu", next.rc,
	    (unsigned long long)next.seen);
}

/* A failed read is an answer too, kept for the period like any other. */
static void
test_failure_cached(void)
{
	struct stats_snap	 s;
	int			 rc;

	reset(60000, 30000);
	rc = statcache_get(fill, (void *)1, &s);
	T_CHECK(rc == -1, "rc %d", rc);
	rc = statcache_get(fill, NULL, &s);
	T_CHECK(rc == -1 && atomic_load(&fills) == 1, "rc %d fills %d", rc,
	    atomic_load(&fills));
}

/* A forked process shares the snapshot: its read serves the parent. */
static void
test_shared_with_children(void)
{
	struct stats_snap	 s;
	pid_t			 pid;
	int			 status = -1;

	reset(60000, 30000);
	atomic_store(&value, 7);
	if ((pid = fork()) == 0)
		_exit(statcache_get(fill, NULL, &s) == 0 ? 0 : 1);
	waitpid(pid, &status, 0);
	T_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed");
	atomic_store(&value, 8);
	T_CHECK(statcache_get(fill, NULL, &s) == 0 &&
	    s.periods[1].in_flight == 7, "parent saw %llu, not the child's 7",
	    (unsigned long long)s.periods[1].in_flight);
	T_CHECK(atomic_load(&fills) == 0 && statcache_refreshes() == 1,
	    "parent fills %d, refreshes %llu", atomic_load(&fills),
	    (unsigned long long)statcache_refreshes());
}

void
test_statcache(void)
{
	test_one_read_per_period();
	test_slow_read();
	test_stuck_refresh();
	test_failure_cached();
	test_shared_with_children();
}
