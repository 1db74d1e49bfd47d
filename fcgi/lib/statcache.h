/*
 * statcache.h: the figures behind /api/generation/stats and /metrics,
 * taken from the database at most once per [stats] cache period for the
 * whole instance, however often those pages are asked for.
 *
 * The aggregation scans generation_status; without this cache, anyone
 * calling the (by default open) stats endpoint in a loop would load the
 * database that every election needs. The snapshot sits in shared
 * memory mapped before the supervisor forks, so all the responder
 * processes share one; under mod_fcgid (processes started by Apache)
 * each process keeps its own. One caller refreshes at a time; the others
 * get the previous snapshot meanwhile, so a slow aggregation never holds
 * more than one database connection.
 */
#ifndef PP_STATCACHE_H
#define PP_STATCACHE_H

#include <stdint.h>
#include <time.h>

#include "result.h"

/* The queue as operators see it. */
struct queue_stats {
	uint64_t	 queued[QC__MAX];	/* pending jobs by class */
	int64_t		 oldest_ms;		/* age of the oldest queued */
	uint64_t	 slots_busy;		/* slots taken, lease alive */
};

/* One row of CALL get_generation_stats(): the figures of one period. */
struct gen_stats {
	char		 period[16];		/* "today" or "all_time" */
	uint64_t	 unique_images;
	uint64_t	 by_status[GS__MAX];	/* images by status */
	uint64_t	 total_requests;
	uint64_t	 api_calls_made;
	uint64_t	 api_calls_saved;
	char		 savings_percent[16];	/* DECIMAL text: "75.00" */
	char		 cost_usd_spent[32];	/* DECIMAL text: "0.050000" */
	char		 cost_usd_saved[32];
	uint64_t	 cache_hits;
	uint64_t	 similar_hits;		/* answered by a similar image */
	int64_t		 gen_ms_p50;		/* -1: nothing timed */
	int64_t		 gen_ms_p95;
	uint64_t	 in_flight;		/* pending + generating */
	int64_t		 inference_ms_p50;	/* the model's; -1: none */
	int64_t		 queue_ms_p50;		/* in fal's queue; -1: none */
};

#define DB_STATS_PERIODS	2		/* today, all_time */

/* Warm-ups (sql/006_warm.sql), per period as in gen_stats. */
struct warm_stats {
	uint64_t	 warm_requests;	/* elections by promptpix warm */
	uint64_t	 warmed_images;	/* rows a warm-up asked for */
};

struct stats_snap {
	struct gen_stats	 periods[DB_STATS_PERIODS];
	struct queue_stats	 queue;
	double			 reserved_usd;	/* today's budget (UTC) */
	double			 spent_usd;
	struct warm_stats	 warm[DB_STATS_PERIODS];	/* promptpix warm */
	int			 warm_ok;	/* warm was read */
	time_t			 taken_at;	/* when it was read */
	int			 rc;		/* 0; -1 unreachable; -2 failed */
};

/* Reads a snapshot from the database; returns its rc. */
typedef int	(*statcache_fill_fn)(void *arg, struct stats_snap *);

/*
 * Map the shared snapshot before any child is forked. ttl_ms 0 reads
 * the database on every call. stuck_ms: a refresh that has not ended
 * after this long (its process died) is taken over. Returns 0, or -1
 * (the cache is then process-local).
 */
int	statcache_init(int64_t ttl_ms, int64_t stuck_ms);

/* Fill out from the cache, refreshing it with fill when it is old. */
int	statcache_get(statcache_fill_fn fill, void *arg,
	    struct stats_snap *out);

/* Refreshes made since start, by every process sharing the cache. */
uint64_t statcache_refreshes(void);

#endif
