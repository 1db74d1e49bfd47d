/*
 * worker.h: the state of one responder thread, and of the request it is
 * answering. A process runs cfg->threads workers; each owns its database
 * connection and backend context, so nothing here needs a lock.
 */
#ifndef PP_WORKER_H
#define PP_WORKER_H

#include <stdint.h>

#include <fcgiapp.h>

#include "outcome.h"

struct backend;
struct cfg;
struct db;

struct worker {
	int			 idx;
	const struct cfg	*cfg;
	struct db		*db;
	const struct backend	*backend;
	void			*backend_ctx;
	FCGX_Request		 fcgx;
};

/* Per-request state; lives on the worker's stack for one request. */
struct rq {
	struct worker	*w;
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
	int64_t		 backend_ms;	/* time in the backend, if generator */
	int64_t		 wake_ms;	/* waiter: answer time - completion */
	char		 client[64];	/* uri_client(), for the rate limit */
	int		 charged;	/* took a rate-limit token */
	int		 generator;	/* started a generation */
	int64_t		 waited_ms;	/* waiting for another's generation */
	int64_t		 woke_us;	/* now_us() when the awaited result
					   became known; 0 if none */
};

#endif
