/*
 * db.h: the database, behind typed functions. Each thread owns one
 * struct db (one connection, its prepared statements and the named locks
 * it holds). Statements are prepared with bound parameters only; their
 * SQL is in dbsql.c. db.c is the binding layer, dbrow.c the status row,
 * dbstats.c the reporting queries.
 *
 * Error convention: functions return -1 on a database fault, after
 * logging it; the connection is dropped when the server went away, and
 * db_ensure() reconnects on the next request. Callers answer 503.
 */
#ifndef PP_DB_H
#define PP_DB_H

#include <stdint.h>

#include "req.h"
#include "result.h"

struct cfg;
struct db;

/*
 * What a request needs to know about one generation_status row: its
 * status, what the generation produced (completed or failed; res.url is
 * generated_url, res.ok is status == completed), and its ownership.
 */
struct gen_row {
	enum gen_status	 status;
	struct gen_result res;
	uint64_t	 owner_conn;	/* connection id of the generator */
	int		 lease_expired;
	unsigned	 attempts;
	int		 retry_due;	/* failed, retryable, backoff over */
	unsigned	 retry_in;	/* seconds until it is, if retryable */
};

/* The client library, once in main() before any thread starts: 0, -1. */
int	db_library_init(void);
void	db_library_end(void);
/* Around the life of every thread that uses a struct db. */
void	db_thread_init(void);
void	db_thread_end(void);

struct db	*db_new(const struct cfg *);
void		 db_free(struct db *);

/*
 * Log faults under this request id from now on (NULL: none). rid must
 * outlive its use; the caller resets it when the request ends.
 */
void	db_set_request(struct db *, const char *rid);

/* Connect if not connected. Returns 0, or -1 if the server is away. */
int	db_ensure(struct db *);

/*
 * The election: INSERT ... ON DUPLICATE KEY UPDATE total_requests =
 * total_requests + 1. Returns 1 if this call created the row (the caller
 * is the generator), 2 if the row existed (the request was counted), -1.
 * A request that finds the row completed also counts in cache_hits.
 */
int	db_elect(struct db *, const char *hash, const struct img_req *,
	    const char *model, unsigned lease_ms);

/* Read the row of hash. Returns 1 found, 0 absent, -1. */
int	db_fetch(struct db *, const char *hash, struct gen_row *);

/*
 * GET_LOCK on the hash's lock name, waiting up to timeout_ms. Returns 1
 * when held, 0 on timeout, -1. Only the generator holds it for long;
 * waiters take it just to learn that the generator let go.
 */
int	db_lock(struct db *, const char *hash, int64_t timeout_ms);
int	db_unlock(struct db *, const char *hash);

/*
 * Mark our own pending row generating (the elected generator, holding
 * the lock). Returns 1 done, 0 if the row is no longer ours or the image
 * cache already has the image (see db_complete_from_cache()), -1.
 */
int	db_start(struct db *, const char *hash, unsigned lease_ms);

/*
 * Take over the row from a generator that is gone (caller holds the
 * lock): only if it is still pending/generating under old_owner.
 * Returns 1 if we are now the generator, 0 if not, -1.
 */
int	db_takeover(struct db *, const char *hash, uint64_t old_owner,
	    unsigned lease_ms);

/*
 * Complete the row from the image cache, if the cache has the image (its
 * status row was cleaned up earlier), counting it in cache_hits.
 * Returns 1 completed, 0 not cached.
 */
int	db_complete_from_cache(struct db *, const char *hash);

/*
 * Record a finished generation: completed (and into image_cache) when
 * res->ok, else failed. A success is recorded while the row is still
 * unfinished, whoever generates it now; a failure only while the row is
 * still ours (a generator that lost its connection and was replaced
 * must not fail its successor's work). res->url is the public URL to
 * record.
 * Returns 1 if recorded, 0 if not (another generator finished first, or
 * the row is no longer ours), -1.
 */
int	db_finish(struct db *, const char *hash, const struct gen_result *,
	    unsigned backoff_ms, unsigned backoff_max_ms);

/*
 * Claim a failed row whose backoff is over for a new attempt: it becomes
 * pending under this connection, like a fresh election. Returns 1 if
 * this call won (the caller generates), 0 if not, -1.
 */
int	db_retry(struct db *, const char *hash, unsigned lease_ms);

/*
 * Add n hits to the row's total_requests and cache_hits; if a cleanup
 * removed the row meanwhile, bring it back from the image cache with
 * them. 0 or -1.
 */
int	db_add_requests(struct db *, const char *hash, unsigned long n);

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
	int64_t		 gen_ms_p50;		/* -1: nothing timed */
	int64_t		 gen_ms_p95;
	uint64_t	 in_flight;		/* pending + generating */
};

#define DB_STATS_PERIODS	2		/* today, all_time */

/*
 * CALL get_generation_stats() (sql/002_stats.sql): the procedure is the
 * one definition of the figures, for operators and for the endpoint
 * alike. Fills out[0] (today) and out[1] (all_time). Returns 0; -1 when
 * the database is unreachable (answer 503); -2 when the call failed on
 * a connected server, e.g. the migration is missing (answer 500).
 */
int	db_generation_stats(struct db *, struct gen_stats *out);

#endif
