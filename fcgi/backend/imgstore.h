/*
 * imgstore.h: the image store as the workers, the image page and the
 * commands use it: one interface over two places an image is kept.
 *
 *   mode = local   a directory the web server serves ([store] dir,
 *                  store.h); remote keeps nothing but the backend's URL
 *   mode = s3      a bucket every web host reads (s3.h), under keys
 *                  "[store] s3_prefix/ab/<hash>.<ext>"; inline answers
 *                  are sent from local copies in [store] dir, fetched
 *                  on first use and kept within [store] s3_cache_mb
 *
 * Writes go through a handle of one thread (a worker's, a command's),
 * which keeps the bucket's connection open; reads of the image page
 * need none.
 */
#ifndef PP_IMGSTORE_H
#define PP_IMGSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "req.h"

struct cfg;
struct imgstore;

/*
 * A handle on the store of c, for one thread (c must outlive it). Never
 * fails (aborts when out of memory); imgstore_close() frees it.
 */
struct imgstore	*imgstore_open(const struct cfg *c);

/* Release st and its connections; NULL is a no-op. */
void		 imgstore_close(struct imgstore *st);

/*
 * Keep the len bytes at data, an image of format fmt, as file
 * ("ab/<hash>.<ext>"), unless the store holds it already: the first
 * image kept under a name stays. A bucket is asked first (HEAD), as S3
 * servers differ on conditional writes; two hosts that race both write
 * the same bytes, since the name is the content's. The object carries
 * its Content-Type and "Cache-Control: public, max-age=31536000,
 * immutable". A bucket's exchanges are cut at deadline_ms (now_ms();
 * 0: their timeout alone).
 *
 * Returns 0 stored or 1 kept what was there, with *size the bytes that
 * stay; or, with a one-line reason in why (whysz bytes, never a
 * secret): -1 for a failure that may pass (the bucket unreachable, a
 * 5xx, a timeout): try again while time allows; -2 for one that will
 * not (credentials refused, a local disk error).
 */
int	imgstore_put(struct imgstore *st, const char *file, enum img_fmt fmt,
	    const void *data, size_t len, int64_t deadline_ms, int64_t *size,
	    char *why, size_t whysz);

/*
 * Where a redirect sends a client for file: [store] url followed by its
 * key; or with mode = s3 and [store] presign, a presigned GET of the
 * key, signed at now (Unix seconds) rounded down to a window (half its
 * life, at most an hour), so that the URL stays the same for a while
 * and caches keep it. *max_age is how long the redirect may be cached:
 * [store] cache_max_age, or what is left of the presigned URL's life.
 * Returns 0, or -1 if the URL does not fit in out.
 */
int	imgstore_url(const struct cfg *c, const char *file, int64_t now,
	    char *out, size_t outsz, unsigned *max_age);

/*
 * The path of a local file holding file, for an inline answer, into
 * path (pathsz bytes): the store's own file (mode = local), or the
 * local copy of the bucket's object, fetched first when this host has
 * none (mode = s3). Returns 0; or an HTTP status, the failure logged
 * under rid: 404 the bucket has no such object, 503 the bucket could
 * not be read now (unreachable, a 5xx, a timeout), 500 anything else.
 * A local file may still be missing when 0 is returned (mode = local):
 * the caller's open() tells.
 */
int	imgstore_local(const struct cfg *c, const char *file, const char *rid,
	    char *path, size_t pathsz);

/*
 * The start-up check of a bucket (mode = s3): write, read back and
 * delete a probe object under the prefix, so that a wrong key, region
 * or bucket is refused before any paid call. Returns 0 (at once for the
 * other modes, whose directory cfg_check_host() checks), or -1 with a
 * one-line reason in err ("[store] s3_bucket B at ENDPOINT: ...").
 */
int	imgstore_check(const struct cfg *c, char *err, size_t errlen);

#endif
