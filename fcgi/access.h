/*
 * access.h: who may start an image. A request may carry a signed URL
 * (sign.h: ...&kid=ID&sig=SIG, with an optional exp=) or a bearer key
 * (Authorization: Bearer pp_ID_SECRET); either names a client key whose
 * tier is the queue class of its images. In [access] mode = signed,
 * every image URL needs one, whether the image exists or not; in open
 * mode they are optional, and anonymous requests are of
 * [queue] default_class.
 */
#ifndef PP_ACCESS_H
#define PP_ACCESS_H

#include <stddef.h>

struct rq;

/*
 * Check rq's access (its query, and its Authorization header auth, which
 * may be NULL). Returns 0 with rq->qclass and rq->key set and the length
 * of the image's own part of the query in *image_len; or 401/403 with a
 * static one-line *reason. Nothing is written either way, but for a
 * key's last use (at most once a minute).
 */
int	access_check(struct rq *, const char *auth, size_t *image_len,
	    const char **reason);

#endif
