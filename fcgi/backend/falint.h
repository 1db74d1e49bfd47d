/*
 * falint.h: what the parts of the fal.ai backend share: fal.c (the
 * protocol, the attempts), falwait.c (waiting for a queued job) and,
 * below both, falapi.c (an exchange with the API).
 */
#ifndef PP_FALINT_H
#define PP_FALINT_H

#include <stdint.h>

#include "backend.h"
#include "falparse.h"
#include "httpc.h"

struct fal_ctx {
	const struct cfg	*cfg;
	struct httpc		*http;
	struct httpc_hdrs	*api_hdrs;	/* hold the key */
	struct httpc_hdrs	*stream_hdrs;
	struct fal_sse		 sse;		/* the status stream's reader */
	int			 gone;		/* fal said the job is gone */
};


/* A queued job's progress, as the status stream and the polls saw it. */
struct watch {
	int64_t		 queued_at;	/* now_ms() of the submit's answer */
	int64_t		 started_at;	/* of the first status past IN_QUEUE */
	enum fal_status	 st;
	char		 name[32];	/* the last status, for messages */
	char		 last[256];	/* the last poll's failure, or "" */
};


/* Does an answer with this status say fal no longer holds the job? */
#define fal_gone_status(st)	((st) == 404 || (st) == 410)

/* Milliseconds until the job's deadline (may be negative). */
int64_t	fal_left_ms(const struct gen_job *);

/*
 * Set x up for an exchange with fal's API for job: the headers with the
 * key, fal's request id kept, the answer capped at max_response_bytes,
 * request_timeout cut at the job's deadline.
 */
void	fal_api_xfer(const struct fal_ctx *, const struct gen_job *,
	    struct httpc_xfer *x, const char *method, const char *url,
	    const char *body);

/*
 * Wait until the queued job q is COMPLETED: on fal's status stream
 * ([fal] status_stream), else, or when the stream fails, by polls. w
 * notes its statuses and times. Returns 0, or -1 with the failure in
 * res: a timeout if the deadline passed first (the job is then
 * cancelled, if it is still this worker's), ctx->gone set when fal
 * answered that it no longer holds the job.
 */
int	fal_wait(struct fal_ctx *, const struct gen_job *,
	    const struct fal_queue *q, struct watch *w, struct gen_result *res);

#endif
