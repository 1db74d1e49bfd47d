/*
 * backend.h: the small interface every image generator implements.
 *
 * A backend is chosen by name in the config. Each worker thread gets its
 * own context from init(), so a backend may keep per-thread state (an
 * HTTP handle) without locks. generate() blocks until the image exists
 * or the job's deadline passes, and reports the outcome in *res.
 *
 * Paying once per image is the backend's contract too. A call that may
 * make a paid job upstream (fal's queue submit or sync POST; the
 * placeholder's drawing) is bracketed by the job's calls: begin() before
 * it goes out (if it says no, the call is not made), end() as soon as
 * its fate is known, with the job the upstream took: its id and what a
 * later worker needs to follow it. A worker that takes the job over, or
 * tries it again after a failure that came after the payment (a
 * download, the store), gets that job in gen_job.resume, and follows it
 * (its status, its result, its image) instead of making a new call. A
 * backend that finds the job gone upstream (cancelled, expired) says so
 * with gone(), and only then makes a new call. A job that cannot be
 * followed (the placeholder's) is recorded with no resume fields, and a
 * later worker makes a new call.
 */
#ifndef PP_BACKEND_H
#define PP_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "req.h"
#include "result.h"

struct cfg;
struct httpc;
struct imgstore;

/* The runner's ledger of one job's paid calls; arg is the runner's. */
struct gen_calls {
	/*
	 * A call is about to go out. Returns 0 to send it, or -1 with res
	 * failed (the database cannot record it: GE_INTERNAL; the budget
	 * does not allow it: GE_BUDGET): then it must not be sent.
	 */
	int	 (*begin)(void *arg, struct gen_result *res);
	/*
	 * What became of it; charged: the upstream may bill it; job: the
	 * job it took (CALL_TAKEN), or NULL.
	 */
	void	 (*end)(void *arg, enum call_fate, int charged,
		    const struct upstream_job *job);
	/* The resumed job is gone upstream: the next call makes a new one. */
	void	 (*gone)(void *arg);
	/*
	 * The upstream will not bill the job it took (its result is a
	 * failure it does not charge for): the charge is taken back, and
	 * the job is gone.
	 */
	void	 (*unbilled)(void *arg);
	/*
	 * Is the job still this worker's (not taken over)? Only the owner
	 * cancels it upstream. 1, or 0 (also when it cannot be told).
	 */
	int	 (*ours)(void *arg);
	void	*arg;
};

struct gen_job {
	const char		*hash;		/* prompt_hash, hex */
	const struct img_req	*req;
	const char		*model;
	int64_t			 deadline_ms;	/* monotonic, now_ms() */
	const char		*rid;		/* request id, for logs */
	int			 low_priority;	/* a batch job: nobody waits */
	const struct upstream_job *resume;	/* a job taken before: follow
						   it; NULL: none */
	const struct gen_calls	*calls;
	struct imgstore		*store;		/* the worker's handle */
};

struct backend {
	const char	*name;
	void		*(*init)(const struct cfg *);
	int		 (*generate)(void *ctx, const struct gen_job *,
			    struct gen_result *);
	void		 (*free)(void *ctx);
};

/* The backend called name, or NULL. */
const struct backend	*backend_find(const char *name);

/*
 * Write an image's bytes into the store (job->store) under the job's
 * name and record it in res as a success in the requested format (and
 * size, unless res already has the size the backend reported). A write
 * to a bucket that may pass (unreachable, a 5xx, a timeout) is tried
 * again after backend_retry_wait() while the job's deadline allows; the
 * image is paid for, and a job that failed here is followed again by
 * its retry (gen_job.resume) rather than paid twice. Returns 0, or -1
 * with res a GE_STORE failure.
 */
int	backend_store(const struct cfg *, const struct gen_job *,
	    const void *data, size_t len, struct gen_result *res);

/*
 * Download the image at res->url on h (no key: the only header sent is
 * an Accept for images) and store it as backend_store() does, if its
 * bytes are the format the job asks for and the one res->content_type
 * names (when it names one). A download that may pass (request_timeout
 * each) is tried again after backend_retry_wait() while the job's
 * deadline allows. Returns 0 with res a success, or -1 with res a
 * GE_DOWNLOAD, GE_BAD_IMAGE or GE_STORE failure (messages through h's
 * clean()); -2 when the download answered 404 or 410 (the upstream no
 * longer holds the file), res a GE_DOWNLOAD failure.
 */
int	backend_fetch_store(const struct cfg *, struct httpc *,
	    const struct gen_job *, struct gen_result *res);

/*
 * Before a step of the job is tried again: wait *backoff, or
 * retry_after seconds if that is longer, logging "WHAT; again in N ms",
 * then double *backoff up to [fal] retry_backoff_max (start it at
 * retry_backoff). Returns 0 after the wait, or -1 at once if the job's
 * deadline would pass first.
 */
int	backend_retry_wait(const struct cfg *, const struct gen_job *,
	    int64_t *backoff, unsigned retry_after, const char *what);

/*
 * Encode a libgd image (a gdImagePtr) as fmt. Returns the bytes, to be
 * released with gdFree(), and their length in *len; NULL on failure.
 */
void	*backend_encode(void *gd_image, enum img_fmt fmt, int *len);

extern const struct backend	backend_placeholder;
extern const struct backend	backend_fal;

#endif
