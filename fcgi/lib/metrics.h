/*
 * metrics.h: counters, gauges and histograms for GET /metrics, in the
 * Prometheus text exposition format.
 *
 * Every figure is a C11 atomic in one region of shared memory, mapped
 * (MAP_SHARED) by metrics_init() before the supervisor forks, so all the
 * responder processes of one promptpix instance count into the same
 * region and any of them can answer /metrics with the instance's totals.
 * Each process writes its own slot (no contention between processes);
 * rendering sums the slots. When a process dies, its replacement takes
 * the same slot: counters carry on, gauges (what was in flight in the
 * dead process) restart at zero.
 *
 * All functions are safe from any thread; without metrics_init() the
 * counters are process-local (unit tests, -t).
 */
#ifndef PP_METRICS_H
#define PP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "outcome.h"

/*
 * Map shared memory for `slots` processes (slot 0 is used until
 * metrics_use_slot()). Returns 0, or -1 (and the counters stay
 * process-local) if the mapping failed.
 */
int	metrics_init(unsigned slots);

/* This process serves from slot i: its gauges restart at zero. */
void	metrics_use_slot(unsigned i);

/* One finished request, by its outcome (outcome.h). */
void	metrics_request(enum outcome);

/* Requests being answered right now (+1 at accept, -1 when done). */
void	metrics_requests_in_flight(int delta);

/* Requests waiting for another request's generation right now. */
void	metrics_waiters(int delta);
/* The waiters gauge summed over the instance's processes. */
int64_t	metrics_waiters_now(void);

/* Generations (backend runs) in progress right now. */
void	metrics_generating(int delta);

enum metrics_gen {
	MG_COMPLETED,
	MG_FAILED,
	MG_TIMEOUT,
	MG__MAX
};

/*
 * One finished generation: its result, how long the backend took, and
 * the paid upstream calls it reported (the last one is counted ok when
 * the generation succeeded, every other one as an error).
 */
void	metrics_generation(enum metrics_gen, int64_t us, unsigned calls);

/* A waiter took over from a generator that had gone. */
void	metrics_takeover(void);

/*
 * A waiter was answered us microseconds after its result became known
 * in this process (the generator let go of the lock, or published).
 */
void	metrics_wakeup(int64_t us);

enum metrics_db {
	MDB_CONNECT,		/* could not connect */
	MDB_QUERY,		/* a statement failed */
	MDB_CONFLICT,		/* a deadlock or certification conflict,
				   run again */
	MDB__MAX
};

void	metrics_db_error(enum metrics_db);

/*
 * Render every metric in the Prometheus text format (version 0.0.4).
 * Returns a NUL-terminated buffer the caller frees; *len is its length.
 */
char	*metrics_render(size_t *len);

/* The queue's figures, read from the database by the caller. */
struct metrics_queue {
	uint64_t	 depth[3];	/* premium, standard, batch */
	uint64_t	 slots_in_use;
	unsigned	 slots_max;
	int64_t		 oldest_ms;
	double		 budget_usd;		/* [budget] daily_usd; 0: none */
	double		 spent_usd;		/* today, UTC */
	double		 reserved_usd;
	uint64_t	 stats_refreshes;	/* statcache_refreshes() */
};

/*
 * The queue's and today's budget's gauges in the same format; as
 * metrics_render().
 */
char	*metrics_render_queue(const struct metrics_queue *, size_t *len);

#endif
