/*
 * worker.h: the state of one responder thread, and of the request it is
 * answering. A process runs cfg->threads of them; a request borrows a
 * database connection from the pool (dbpool.h) only while it needs one.
 */
#ifndef PP_WORKER_H
#define PP_WORKER_H

#include <stdint.h>

#include <fcgiapp.h>

#include "outcome.h"

struct cfg;
struct db;

struct worker {
	int			 idx;
	const struct cfg	*cfg;
	FCGX_Request		 fcgx;
};

/* Per-request state; lives on the worker's stack for one request. */
struct rq {
	struct worker	*w;
	struct db	*db;		/* borrowed from the pool, or NULL */
	FCGX_Stream	*out;
	char		 id[24];	/* request id, for log lines */
	const char	*method;
	int		 head;		/* HEAD: headers only */
	char		*path;		/* owned; decoded of nothing */
	const char	*query;		/* inside path's allocation (uri.h) */
	int64_t		 t0;		/* now_ms() at arrival */
	/* Filled while answering, for the request log line. */
	int		 status;
	enum outcome	 outcome;
	char		 hash[65];
	int64_t		 wake_ms;	/* waiter: answer time - completion */
	char		 client[64];	/* uri_client(), for the rate limit */
	int		 qclass;	/* enum queue_class of its new images */
	char		 key[33];	/* the client key that signed, or "" */
	double		 reserved;	/* the budget reserved (USD), < 0 none */
	int		 charged;	/* took a rate-limit token */
	int		 generator;	/* started a generation */
	int64_t		 waited_ms;	/* waiting for another's generation */
	int64_t		 woke_us;	/* now_us() when the awaited result
					   became known; 0 if none */
};

/*
 * The request's database connection: borrowed from the pool on first
 * use (waiting up to the rest of max_wait, at least the connect
 * timeout), NULL if none came (answer 503). rq_db_release() gives it back; handle() does at the latest.
 */
struct db	*rq_db(struct rq *);
void		 rq_db_release(struct rq *);

#endif
