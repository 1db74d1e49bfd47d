/*
 * backend.h: the small interface every image generator implements.
 *
 * A backend is chosen by name in the config. Each worker thread gets its
 * own context from init(), so a backend may keep per-thread state (an
 * HTTP handle) without locks. generate() blocks until the image exists
 * or the job's deadline passes, and reports the outcome in *res.
 */
#ifndef PP_BACKEND_H
#define PP_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "req.h"
#include "result.h"

struct cfg;
struct httpc;

struct gen_job {
	const char		*hash;		/* prompt_hash, hex */
	const struct img_req	*req;
	const char		*model;
	int64_t			 deadline_ms;	/* monotonic, now_ms() */
	const char		*rid;		/* request id, for logs */
	int			 low_priority;	/* a batch job: nobody waits */
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
 * Write an image's bytes into the store under the job's name and record
 * it in res as a success in the requested format (and size, unless res
 * already has the size the backend reported). Returns 0, or -1 with res
 * a GE_STORE failure.
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
 * clean()).
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
