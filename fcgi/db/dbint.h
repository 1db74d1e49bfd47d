/*
 * dbint.h: what the database modules share and nobody else sees: the
 * connection, the statement ids and their SQL (dbsql.c, the one place
 * all SQL text lives), and the binding helpers of db.c.
 *
 * Error convention: db_stmt_*() return NULL or -1 on a fault, after
 * db_fault() logged it with the request id (db_set_request()) and
 * dropped a connection that is gone.
 */
#ifndef PP_DBINT_H
#define PP_DBINT_H

#include <stdint.h>

#include <mysql.h>

#include "db.h"

enum stmt_id {
	ST_ELECT,
	ST_FETCH,
	ST_NEXT_JOB,
	ST_SLOT_TAKE,
	ST_SLOT_LEASE,
	ST_SLOT_FREE,
	ST_CLAIM,
	ST_JOB_LEASE,
	ST_DONE_SINCE,
	ST_QUEUE,
	ST_KEY_GET,
	ST_KEY_ADD,
	ST_KEY_LIST,
	ST_KEY_DISABLE,
	ST_KEY_USED,
	ST_BUDGET_DAY,
	ST_BUDGET_RESERVE,
	ST_BUDGET_RELEASE,
	ST_KEY_DAY,
	ST_KEY_RESERVE,
	ST_KEY_RELEASE,
	ST_SETTLE_READ,
	ST_SETTLE_TAKE,
	ST_BUDGET_SETTLE,
	ST_KEY_SETTLE,
	ST_BUDGET_TODAY,
	ST_KEY_TODAY,
	ST_FROM_CACHE,
	ST_COMPLETE,
	ST_CACHE_PUT,
	ST_FAIL,
	ST_FLUSH_MARK,
	ST_ADD_REQUESTS,
	ST_FLUSH_PRUNE,
	ST_REQUEUE,
	ST_WHO,
	ST_CALL_GET,
	ST_CALL_LOCK,
	ST_CALL_BEGIN,
	ST_CALL_END,
	ST_CALL_REFUND,
	ST_CALL_GONE,
	ST_STATS,
	ST_READ_ONLY,
	ST_SCHEMA_TABLE,
	ST_SCHEMA_HAS,
	ST_ROUTINES_HAS,
	ST_SIMILAR_FIND,
	ST_SIMILAR_ALIAS,
	ST_HOLD_RELEASE,
	ST_SIMILAR_PUT,
	ST_SIMILAR_PUT_MANY,
	ST_SIMILAR_PAGE,
	ST_SIMILAR_STATS,
	ST_WARM_STATS,
	ST_COST,
	ST_ROLLUP_ADD,
	ST_ROLLUP_MS,
	ST_ROLLUP_FAIL,
	ST_HISTORY,
	ST_HISTORY_MS,
	ST_FAIL_KINDS,
	ST_TOP_PROMPTS,
	ST_IN_FLIGHT,
	ST__MAX
};

/* The SQL of each statement, prepared with bound parameters only. */
extern const char *const db_sql[ST__MAX];

struct db {
	const struct cfg	*cfg;
	MYSQL			*m;
	MYSQL_STMT		*st[ST__MAX];
	char			 owner_host[80];
	int64_t			 used_ms;	/* last statement, now_ms() */
	char			 init_sql[128];
	const char		*rid;		/* request id, for log lines */
	int			 gone;		/* the last fault: "gone away" */
	int			 dup;		/* ... or a duplicate key */
	int			 deadlock;	/* ... or a deadlock */
	int			 in_txn;	/* inside db_txn() */
	unsigned		 epoch;		/* write_epoch when connected */
};

/* Parameters for one statement, bound by value. */
#define MAXP	24
struct params {
	MYSQL_BIND	 b[MAXP];
	unsigned long	 len[MAXP];
	uint64_t	 u[MAXP];
	double		 d[MAXP];
	my_bool		 null[MAXP];
	int		 n;
};

/* Bind the next parameter of p: a string (borrowed), a number, NULL. */
void	db_p_str(struct params *, const char *);
void	db_p_u64(struct params *, uint64_t);
void	db_p_i64(struct params *, int64_t);
void	db_p_double(struct params *, double);
void	db_p_null(struct params *);

/* Bind a result column: a string of buffer cap, a signed, an unsigned,
 * a double. */
void	db_r_str(MYSQL_BIND *, char *buf, size_t cap, unsigned long *len);
void	db_r_i64(MYSQL_BIND *, int64_t *);
void	db_r_u64(MYSQL_BIND *, uint64_t *);
void	db_r_double(MYSQL_BIND *, double *);
/* NUL-terminate a fetched string, truncated to its buffer if need be. */
void	db_r_term(char *buf, size_t cap, unsigned long len);

/*
 * Log a fault; drop the connection if it is gone, or if its server
 * cannot take writes now (then the process's others follow).
 */
void	db_fault(struct db *, const char *what, unsigned err, const char *msg);
/* The same for the last error of statement st. */
void	db_stmt_fault(struct db *, const char *what, MYSQL_STMT *st);

/* Execute statement id with p. Returns the statement, or NULL. */
MYSQL_STMT	*db_stmt_exec(struct db *, enum stmt_id, struct params *);
/* Execute a statement without a result set: affected rows, or -1. */
long	db_stmt_run(struct db *, enum stmt_id, struct params *);
/*
 * Execute a statement that changes at most one row: 1 if it changed
 * one, 0 if none, -1.
 */
int	db_stmt_one(struct db *, enum stmt_id, struct params *);
/*
 * Read the one row of st's result into the columns bound in r (then
 * free the result). Returns 1, 0 when there is no row, or -1.
 */
int	db_stmt_row(struct db *, MYSQL_STMT *st, MYSQL_BIND *r);
/*
 * Run fn(db, arg) as one transaction, committed when fn returns >= 0.
 * Inside it a statement is never run twice: a deadlock (or a Galera
 * conflict) runs the whole transaction again. Returns fn's answer once
 * committed, or -1 when it was rolled back or the commit's answer was
 * lost (then it may have committed: fn must make a second run harmless).
 */
int	db_txn(struct db *, int (*fn)(struct db *, void *), void *arg);
/*
 * The budget's steps, inside the caller's transaction (dbbudget.c):
 * take cost on today's budget (cap > 0) and key's quotas (key not "");
 * spend reserved as spent on day; give back the reservation the row of
 * hash holds (0 also when it holds none). -1 on a fault.
 */
enum budget_answer db_budget_take(struct db *, const char *key, double cost,
	    double cap);
int	db_budget_spend(struct db *, const char *day, const char *key,
	    double reserved, double spent);
int	db_row_release(struct db *, const char *hash);

/*
 * db_txn() of fn for the batch id: the same transaction first records
 * id in count_flushes (sql/012_count_flushes.sql), and a batch recorded
 * before is not run again. So a batch whose answer was lost is sent
 * again, unchanged, and added exactly once. Returns fn's answer (run
 * now), 0 (added before), or -1 (not known to be added: send it again).
 */
int	db_txn_batch(struct db *, uint64_t id,
	    int (*fn)(struct db *, void *), void *arg);
/* Execute "SELECT f(...)" and read its one integer (NULL reads as -1). */
int	db_stmt_scalar(struct db *, enum stmt_id, struct params *,
	    long long *v);

#endif
