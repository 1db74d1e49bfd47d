/*
 * dbpool.h: the database connections that request threads share. A
 * request borrows one for its short statements and gives it back before
 * it waits, so the connections of a process are [database] pool, however
 * many clients wait.
 */
#ifndef PP_DBPOOL_H
#define PP_DBPOOL_H

#include <stdint.h>

struct cfg;
struct db;

/* Make n connections' worth of struct db (connected lazily). */
void		 dbpool_init(const struct cfg *, unsigned n);

/*
 * Borrow a connection, waiting up to timeout_ms for one to come back.
 * Returns it, or NULL when none came (answer 503).
 */
struct db	*dbpool_get(int64_t timeout_ms);

/* Give db back (NULL is ignored). */
void		 dbpool_put(struct db *);

#endif
