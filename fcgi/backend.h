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

struct cfg;

struct gen_job {
	const char		*hash;		/* prompt_hash, hex */
	const struct img_req	*req;
	const char		*model;
	int64_t			 deadline_ms;	/* monotonic, now_ms() */
	const char		*rid;		/* request id, for logs */
};

struct gen_result {
	int		 ok;
	char		 url[2048];	/* remote image URL, when not stored */
	char		 file[160];	/* store-relative file name, if stored */
	char		 content_type[32];
	int64_t		 file_size;
	unsigned	 width;
	unsigned	 height;
	char		 upstream_id[80];
	int64_t		 upstream_ms;
	int64_t		 inference_ms;
	unsigned	 api_calls;	/* paid calls made, successful or not */
	double		 cost_usd;
	char		 error_kind[32];	/* on failure: "timeout", ... */
	char		 error_message[256];
	unsigned	 retry_after;	/* seconds; 0 = none (502 not 503) */
	int		 permanent;	/* a retry cannot help */
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
 * a "store" failure.
 */
int	backend_store(const struct cfg *, const struct gen_job *,
	    const void *data, size_t len, struct gen_result *res);

/*
 * Encode a libgd image (a gdImagePtr) as fmt. Returns the bytes, to be
 * released with gdFree(), and their length in *len; NULL on failure.
 */
void	*backend_encode(void *gd_image, enum img_fmt fmt, int *len);

/* Record a failure in res: kind is a short token, msg a one-line text. */
void	gen_result_fail(struct gen_result *res, const char *kind,
	    const char *msg);

/*
 * The Retry-After (seconds) a failure of this kind is answered with: a
 * failure that may pass soon ("rate_limited", "upstream_down",
 * "timeout") gets 503 with it; 0 means 502, without.
 */
unsigned	backend_retry_after(const char *kind);

extern const struct backend	backend_placeholder;
extern const struct backend	backend_fal;

#endif
