/*
 * dbhistory.h: the hourly rollup (sql/009_rollup.sql) and the other
 * reads of the dashboard, each of bounded cost: rollup rows of a window,
 * ten rows of an index for the top prompts, the queue's ends for the
 * generations in flight. Error convention of db.h: -1 on a fault.
 */
#ifndef PP_DBHISTORY_H
#define PP_DBHISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"
#include "rollup.h"

struct db;


/*
 * Add the n deltas of d to their hours' rows (a would-be cost of
 * pixels x cpm / 1e6), as one batch: one transaction that also records
 * batch in count_flushes (sql/012_count_flushes.sql). A batch recorded
 * before adds nothing, so a batch whose answer was lost may be sent
 * again, unchanged, and is added exactly once. Returns 0 (added, now or
 * before), or -1 (not known to be added: send it again).
 */
int	db_rollup_add(struct db *, uint64_t batch,
	    const struct rollup_delta *d, int n, double cpm);

/* One point of the history: an hour or a day. */
struct hist_row {
	int64_t		 t;		/* unix seconds at its start */
	uint64_t	 requests;
	uint64_t	 cache_hits;
	uint64_t	 paid_calls;
	uint64_t	 generations;
	uint64_t	 failures;
	char		 spent_usd[32];	/* DECIMAL text */
	char		 saved_usd[32];	/* would - spent; may be negative */
	int64_t		 ms_p50;	/* bucket bound; -1: nothing timed */
	int64_t		 ms_p95;
};

/*
 * The rollup since unix time since, in slots of step seconds (3600 or
 * 86400), oldest first, at most max rows into out. Returns the rows, or
 * -1.
 */
int	db_history(struct db *, int64_t since, int64_t step,
	    struct hist_row *out, int max);

struct kind_count {
	char		 kind[33];
	uint64_t	 n;
};

/* Failures by kind since since, most first. Returns the rows, or -1. */
int	db_failure_kinds(struct db *, int64_t since, struct kind_count *out,
	    int max);

/* A row of the seed's most-requested-prompts query. */
struct top_prompt {
	char		 prompt[1024];
	char		 dimensions[24];
	char		 format[8];
	uint64_t	 total_requests;
	uint64_t	 api_calls_made;
	uint64_t	 api_calls_saved;
	char		 status[16];
	char		 url[512];	/* generated_url, "" if none */
};

/* The top max prompts by total_requests. Returns the rows, or -1. */
int	db_top_prompts(struct db *, struct top_prompt *out, int max);

/* A generation in flight now. */
struct flight_row {
	char		 prompt[1024];
	char		 dimensions[24];
	char		 status[16];
	unsigned	 queue_class;
	int64_t		 age_ms;	/* since queued, or started */
};

/*
 * The generations running (oldest first), then the queued (next
 * first), at most max each. Returns the rows, or -1.
 */
int	db_in_flight(struct db *, struct flight_row *out, int max);

#endif
