/*
 * db.h: the database, behind typed functions. A struct db is one
 * connection with its prepared statements, used by one thread at a time
 * (request threads borrow one from dbpool.h). Statements are prepared
 * with bound parameters only; their SQL is in dbsql.c. db.c is the
 * binding layer, dbrow.c the status row, dbqueue.c the queue and its
 * slots, dbstats.c the reporting queries.
 *
 * Error convention: functions return -1 on a database fault, after
 * logging it; the connection is dropped when the server went away or
 * cannot take writes now (read-only, a Galera node not ready), and
 * db_ensure() reconnects on the next request. Callers answer 503.
 */
#ifndef PP_DB_H
#define PP_DB_H

#include <stddef.h>
#include <stdint.h>

#include "counts.h"
#include "req.h"
#include "result.h"
#include "statcache.h"

struct cfg;
struct db;



/* The client library, once in main() before any thread starts: 0, -1. */
int	db_library_init(void);
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
 * Once at start-up, before any child, and for promptpix -t (dbcheck.c):
 * may a responder serve from the database of c? Not if the server is
 * read-only (@@global.read_only or @@global.innodb_read_only: a
 * replica; every election writes), nor if the schema lacks a migration
 * this binary needs (schema.h). A server that cannot be reached is
 * refused when strict (promptpix -t); else it is warned of, and the
 * responder starts and answers 503 until it is back. Returns 0, or -1
 * with a one-line reason in why.
 */
int	db_start_check(const struct cfg *c, int strict, char *why,
	    size_t whylen);

/*
 * One election or requeue of an image (gen.c's ballot): what it writes,
 * and the budget reservation a job it makes takes with it.
 */
struct db_ballot {
	const char		*hash;
	const struct img_req	*r;
	const char		*model;
	enum queue_class	 qc;
	const char		*key;		/* client key, or NULL */
	double			 cost;		/* the job's reservation (USD);
						   < 0: no budget applies */
	double			 cap;		/* [budget] daily_usd; 0: none */
	uint64_t		 elect_id;	/* random, this ballot's own */
	unsigned		 hold_ms;	/* a new row held this long */
	int			 warm;		/* promptpix warm: counted apart */
	int			 exact;		/* exact=1: an alias is requeued */
	int			 similar;	/* a similar lookup follows: a new
						   row stays held (ballot.h) */
};

/* What a ballot met besides its answer: over a cap, nothing written. */
#define DB_BALLOT_OVER		(-2)	/* [budget] daily_usd */
#define DB_BALLOT_KEY_OVER	(-3)	/* the client key's daily quota */

/*
 * The election: INSERT ... ON DUPLICATE KEY UPDATE total_requests =
 * total_requests + 1. Returns 1 if this call created the row, which is
 * then a job queued in class b->qc for client key b->key, holding the
 * reservation b->cost (taken on budget_days and key_days in the same
 * transaction: over a cap, nothing is written and DB_BALLOT_OVER or
 * DB_BALLOT_KEY_OVER is returned); 2 if the row existed (the request
 * was counted, and a queued job moves up to b->qc if that is higher);
 * -1. A request that finds the row completed also counts in cache_hits.
 * A new row is held for b->hold_ms (no worker takes it) while its
 * request looks for it in the image cache and for a similar image;
 * db_complete_from_cache(), db_similar_alias() or db_hold_release() end
 * the hold. A warm-up (b->warm: promptpix warm) is counted in
 * warm_requests instead of total_requests and cache_hits. An answer
 * that never came back is read back from the row (elect_id).
 */
int	db_elect(struct db *, const struct db_ballot *b);

/*
 * Queue the job of b->hash again, holding the reservation b->cost as
 * db_elect() does: a failed row whose backoff is over, or with b->exact
 * an alias (an exact=1 request wants the image of its own prompt).
 * Returns 1 if this call did (the caller then waits like any other),
 * 0 if not, -1, or DB_BALLOT_OVER / DB_BALLOT_KEY_OVER.
 */
int	db_requeue(struct db *, const struct db_ballot *b);

/*
 * Who last elected hash's row (elect_id) and which claim recorded its
 * end (finish_token), 0 for none. Returns 1, 0 no row, -1.
 */
int	db_who(struct db *, const char *hash, uint64_t *elect_id,
	    uint64_t *finish_token);

/* The cost_usd recorded for hash (0 if absent). 0 or -1. */
int	db_cost(struct db *, const char *hash, double *usd);

/* Is row the end of its generation (completed, or failed for now)? */
int	db_row_settled(const struct gen_row *row);

/* Read the row of hash. Returns 1 found, 0 absent, -1. */
int	db_fetch(struct db *, const char *hash, struct gen_row *);

/*
 * Complete the new (pending) row from the image cache, if the cache has
 * the image (its status row was cleaned up earlier), counting it in
 * cache_hits; an alias only without exact. Returns 1 completed, 0 not
 * cached, -1.
 */
int	db_complete_from_cache(struct db *, const char *hash, int exact);

/* End the hold of a new row: it is a queued job like any. 0, -1. */
int	db_hold_release(struct db *, const char *hash);

/*
 * Record a finished generation: completed (and into image_cache) when
 * res->ok, else failed; with it, the reservation the row still holds (no
 * call spent it) is given back, in one transaction. A success is
 * recorded while the row is still unfinished, whoever runs it now; a
 * failure only while the row is still under our claim's token (a worker
 * whose lease ran out and was replaced must not fail its successor's
 * work). res->url is the public URL to record. Returns 1 if recorded
 * (also when sent again after its answer was lost: the row names our
 * token), 0 if not (another worker finished first, or the claim is no
 * longer ours), -1 (send it again).
 */
int	db_finish(struct db *, const char *hash, const struct gen_result *,
	    uint64_t token, unsigned backoff_ms, unsigned backoff_max_ms);


/*
 * Add each entry's hits to its row's total_requests and cache_hits, in
 * one transaction recorded under batch. A row that a cleanup removed
 * meanwhile comes back from the entry. Sending a batch again after its
 * answer was lost adds nothing: returns 1 added, 0 added before, -1
 * (then send the same batch, unchanged, again).
 */
int	db_add_requests(struct db *, uint64_t batch, const struct hit_count *);

/* Forget batch ids older than a day. 0 or -1. */
int	db_prune_flushes(struct db *);

/* A job as the queue hands it to a generation worker (dbqueue.c). */
struct db_job {
	char		 hash[65];
	int		 takeover;	/* it was running under a dead lease */
	enum queue_class qc;
	struct img_req	 req;		/* req.prompt points into prompt */
	char		 prompt[8192];
	char		 model[101];
};

/*
 * The job that should start next, across every host: the oldest in the
 * highest class, or one whose owner's lease ran out. Returns 1 with *job
 * filled, 0 if there is none, -1.
 */
int	db_next_job(struct db *, struct db_job *job);

/*
 * Take one of the first cap generation slots for owner (a string unique
 * to this claim), with a lease. Returns 1 taken, 0 all busy, -1.
 */
int	db_slot_take(struct db *, const char *owner, const char *hash,
	    unsigned cap, unsigned lease_ms);
/* Extend or give back owner's slot. Returns 0, -1. */
int	db_slot_lease(struct db *, const char *owner, unsigned lease_ms);
int	db_slot_free(struct db *, const char *owner);

/*
 * Claim the job hash under token: it becomes generating under our lease
 * (its calls are counted as they go out: db_call_begin()). Returns 1
 * claimed, 0 taken by someone else, -1.
 */
int	db_claim(struct db *, const char *hash, uint64_t token,
	    unsigned lease_ms);
/* Extend the lease of our claim. Returns 1, 0 (no longer ours), -1. */
int	db_job_lease(struct db *, const char *hash, uint64_t token,
	    unsigned lease_ms);

/*
 * Call fn for the hash of every row that finished (completed or failed)
 * in the last window_ms. Returns how many, or -1.
 */
int	db_done_since(struct db *, unsigned window_ms,
	    void (*fn)(const char *hash, void *arg), void *arg);

/* A client key as the request path needs it (dbkeys.c). */
struct client_key {
	char		 id[33];
	enum queue_class tier;
	int		 enabled;
};

/* Read key id. Returns 1 found, 0 no such key, -1. */
int	db_key_get(struct db *, const char *id, struct client_key *);

/*
 * Add a key. daily_images < 0 and daily_usd < 0 mean no quota. Returns
 * 1 added, 0 the id exists, -1.
 */
int	db_key_add(struct db *, const char *id, const char *name,
	    enum queue_class tier, long long daily_images, double daily_usd);

/* One row of the key list, as text for printing. */
struct client_key_row {
	char		 id[33];
	char		 name[101];
	unsigned	 tier;
	long long	 daily_images;	/* -1: none */
	double		 daily_usd;	/* -1: none */
	int		 enabled;
	char		 created[32];
	char		 last_used[32];	/* "" if never */
};

/* Call fn for every key, oldest first. Returns how many, or -1. */
int	db_key_list(struct db *, void (*fn)(const struct client_key_row *,
	    void *), void *arg);

/* Disable key id. Returns 1 done, 0 no such key, -1. */
int	db_key_disable(struct db *, const char *id);

/* Note that key id was used now. 0 or -1. */
int	db_key_used(struct db *, const char *id);

/* What a reservation met (dbbudget.c). */
enum budget_answer {
	BUDGET_RESERVED,	/* the cost is reserved */
	BUDGET_OVER,		/* [budget] daily_usd would be passed */
	BUDGET_KEY_OVER,	/* the key's daily quota would be */
	BUDGET_FAULT		/* the database */
};

/*
 * Give back the reservation hash's row holds (no call spent it: a job
 * completed from the cache or a similar image), in one transaction.
 * 0 (also when the row holds none) or -1.
 */
int	db_budget_release_row(struct db *, const char *hash);

/*
 * The ledger of paid calls (dbcalls.c, sql/013_paid_calls.sql): the
 * row's current call to the backend. A worker writes it before the call
 * goes out (db_call_begin: counted in api_calls_made at once) and again
 * with what became of it (db_call_end); a worker that takes the job
 * over reads it (db_call_get) and follows a job fal took instead of
 * paying for a new one.
 */
enum call_state {
	CS_NONE,	/* no call yet */
	CS_SENDING,	/* it may be going out: its fate is not known */
	CS_TAKEN,	/* the upstream took the job: job says how to follow it */
	CS_LOST,	/* it went out, no answer came back: counted as paid */
	CS_REFUSED,	/* the upstream said no */
	CS_UNSENT,	/* it never went out */
	CS_DONE,	/* the job's image was recorded */
	CS_GONE,	/* the upstream no longer holds the job */
	CS__MAX
};

struct db_call {
	uint64_t	 id;		/* 0: none */
	enum call_state	 state;
	int64_t		 age_ms;	/* since it went out */
	struct upstream_job job;	/* CS_TAKEN (and after): fal's job */
};

/* The state as SQL spells it ("sending", ...; "" for none). */
const char	*db_call_state_name(enum call_state);

/* Read hash's current call into *c. Returns 1, 0 no row, -1. */
int	db_call_get(struct db *, const char *hash, struct db_call *c);

/*
 * Before call id goes out for the claim token: it becomes the row's
 * call, counted in api_calls_made, holding the row's reservation or (a
 * call the row's does not cover: a takeover's, a retry's) a new one of
 * cost on today's budget (cap: [budget] daily_usd, 0 none) and the
 * row's client key. prev is the call the row had, which must be over
 * (neither sending nor taken: see db_call_supersede()). Returns 1 (also
 * when it was begun before and the answer lost), 0 (the row is no
 * longer ours, or its call changed: read it again), -1, or
 * DB_BALLOT_OVER / DB_BALLOT_KEY_OVER (nothing written: do not send).
 */
int	db_call_begin(struct db *, const char *hash, uint64_t token,
	    uint64_t prev, uint64_t id, double cost, double cap);

/*
 * What became of call id (written by the worker whose claim token is
 * closer): fal took it (job: its request id and URLs, or the image URL
 * of a sync call), lost (it went out, no answer: charged), refused, or
 * unsent (uncounted). A charged call spends its reservation as cost (the
 * row's cost_usd, budget_days.spent_usd, key_days); one that is not
 * gives it back to the row. The call is the row's while it is current,
 * whoever holds the claim now. Returns 1 written now, 2 written before
 * by closer (an answer lost), 0 another call took its place or another
 * worker wrote its fate, -1.
 */
int	db_call_end(struct db *, const char *hash, uint64_t id, uint64_t closer,
	    enum call_fate fate, int charged, double cost,
	    const struct upstream_job *job);

/*
 * The row's call id is over for the claim token: one still sending
 * (its answer never reached the row within the grace) is counted as
 * lost and paid at cost; one taken is gone (not to be followed). Returns
 * 1 counted as lost now, 2 nothing left to do, 0 the row's call is no
 * longer id, -1.
 */
int	db_call_supersede(struct db *, const char *hash, uint64_t id,
	    uint64_t token, double cost);

/*
 * fal answered the result of the job call id took with a failure it
 * does not bill (a 5xx): the charge is taken back (the row's cost_usd,
 * the budget's spent), and the job is gone. Returns 1 now, 2 before by
 * closer, 0 the call is no longer the row's or not taken, -1.
 */
int	db_call_refund(struct db *, const char *hash, uint64_t id,
	    uint64_t closer, double cost);

/* fal no longer holds the job of call id: a retry sends a new one. 0, -1. */
int	db_call_gone(struct db *, const char *hash, uint64_t id);

/* Today's reserved and spent (USD). 0 or -1. */
int	db_budget_today(struct db *, double *reserved, double *spent);

/*
 * Key id's daily quotas (-1: none) and what today used of them: images
 * and USD (spent + reserved). 1, 0 no such key, -1.
 */
int	db_key_today(struct db *, const char *id, long long *quota_images,
	    double *quota_usd, long long *images, double *usd);


/* Read the queue's figures. Returns 0, -1. */
int	db_queue_stats(struct db *, struct queue_stats *);


/* An image whose prompt is similar to a request's (dbsimilar.c). */
struct similar_match {
	char		 hash[65];
	double		 score;
};

/*
 * Look for the best completed image of r's shape (size, format, seed,
 * model) whose prompt scores at least threshold against r's (similar.h),
 * in one indexed query. Returns 1 with *m, 0 none, -1.
 */
int	db_similar_find(struct db *, const struct img_req *r,
	    const char *model, double threshold, struct similar_match *m);

/*
 * Make the held row of hash an alias of image m: completed with its
 * image, no call made. Returns 1, 0 (the row is no longer held and
 * pending: a worker took it after all), -1. db_hold_release() ends a
 * hold that found nothing.
 */
int	db_similar_alias(struct db *, const char *hash,
	    const struct similar_match *m);

/* File the generated image hash of r's prompt in the index. 0, -1. */
int	db_similar_put(struct db *, const char *hash, const struct img_req *r,
	    const char *model);

/*
 * Index every image in image_cache that is not an alias (the ones
 * indexed already are kept), a page at a time. Returns how many were
 * filed or were there already, or -1.
 */
long	db_similar_build(struct db *, long *skipped);

/* Similar hits today and all time (archived rows included). 0, -1. */
int	db_similar_stats(struct db *, uint64_t *today, uint64_t *all);

/*
 * CALL get_generation_stats() (sql/002_stats.sql, extended by
 * sql/005_fal_timings.sql): the procedure is the
 * one definition of the figures, for operators and for the endpoint
 * alike. Fills out[0] (today) and out[1] (all_time). Returns 0; -1 when
 * the database is unreachable (answer 503); -2 when the call failed on
 * a connected server, e.g. the migration is missing (answer 500).
 */
int	db_generation_stats(struct db *, struct gen_stats *out);


/*
 * Read the view generation_warm into out[0] (today) and out[1]
 * (all_time). Returns 0, or -1 (unreachable, or 006 not applied).
 */
int	db_warm_stats(struct db *, struct warm_stats *out);

#endif
