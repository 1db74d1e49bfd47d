/*
 * imgstore.c: the image store on disk or in an S3 bucket (see
 * imgstore.h): writing an image once, the URL a redirect sends a client
 * to, the local file an inline answer sends, the start-up check.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "imgstore.h"
#include "log.h"
#include "s3.h"
#include "store.h"
#include "util.h"

/* A presigned URL is the same for half its life, at most this long. */
#define PRESIGN_WINDOW_MAX	3600

struct imgstore {
	const struct cfg	*c;
	struct s3		*s3;	/* mode = s3: made on first use */
};

/*
 * Bytes of local copies written by this process since it last trimmed
 * them; the first copy trims (copies left by an earlier run count too).
 */
static atomic_llong	 copied;
static atomic_int	 trimmed;

struct imgstore *
imgstore_open(const struct cfg *c)
{
	struct imgstore	*st = xcalloc(1, sizeof(*st));

	st->c = c;
	return st;
}

void
imgstore_close(struct imgstore *st)
{
	if (st == NULL)
		return;
	s3_free(st->s3);
	free(st);
}

/*
 * len bytes were copied under [store] dir: trim the copies to
 * s3_cache_mb once an eighth of it was added since the last trim.
 */
static void
copied_bytes(const struct cfg *c, size_t len)
{
	int64_t	 max = (int64_t)c->s3_cache_mb * 1024 * 1024;

	if (atomic_fetch_add(&copied, (long long)len) + (int64_t)len <
	    max / 8 && atomic_load(&trimmed))
		return;
	atomic_store(&copied, 0);
	atomic_store(&trimmed, 1);
	store_trim(c->store_dir, max);
}

/* The bucket's verdict as imgstore_put()'s: -1 may pass, -2 will not. */
static int
put_failed(const struct s3_res *r, char *why, size_t whysz)
{
	snprintf(why, whysz, "%s", r->error);
	return gen_err_retryable(r->kind) ? -1 : -2;
}

/* imgstore_put() for mode = s3. */
static int
put_s3(struct imgstore *st, const char *file, enum img_fmt fmt,
    const void *data, size_t len, int64_t deadline_ms, int64_t *size,
    char *why, size_t whysz)
{
	const struct cfg	*c = st->c;
	struct s3_res		 r;
	char			 key[STORE_KEY_MAX];
	int			 rc;

	if (store_key(c, file, key, sizeof(key)) == -1) {
		snprintf(why, whysz, "key too long");
		return -2;
	}
	if (st->s3 == NULL)
		st->s3 = s3_new(&c->s3);
	s3_deadline(st->s3, deadline_ms);
	if ((rc = s3_head(st->s3, key, &r)) == S3_OK) {
		*size = r.size >= 0 ? r.size : (int64_t)len;
		return 1;
	}
	if (rc != S3_NOT_FOUND)
		return put_failed(&r, why, whysz);
	if (s3_put(st->s3, key, data, len, img_fmt_mime(fmt), &r) != S3_OK)
		return put_failed(&r, why, whysz);
	*size = (int64_t)len;
	/* This host's inline answers need no GET for what it made. */
	if (c->delivery == DELIVERY_INLINE &&
	    store_copy(c->store_dir, file, data, len) == 0)
		copied_bytes(c, len);
	return 0;
}

int
imgstore_put(struct imgstore *st, const char *file, enum img_fmt fmt,
    const void *data, size_t len, int64_t deadline_ms, int64_t *size,
    char *why, size_t whysz)
{
	int	 rc;

	if (st->c->store_mode == STORE_S3)
		return put_s3(st, file, fmt, data, len, deadline_ms, size, why,
		    whysz);
	if ((rc = store_write(st->c->store_dir, file, data, len, size)) == -1) {
		snprintf(why, whysz, "cannot write the image store: %s",
		    strerror(errno));
		return -2;
	}
	return rc;
}

int
imgstore_url(const struct cfg *c, const char *file, int64_t now, char *out,
    size_t outsz, unsigned *max_age)
{
	char		 key[STORE_KEY_MAX];
	unsigned	 life = c->s3_presign, window;
	int64_t		 signed_at;

	*max_age = c->cache_max_age;
	if (c->store_mode != STORE_S3 || life == 0)
		return store_public_url(c, file, out, outsz);
	window = life / 2 < PRESIGN_WINDOW_MAX ? life / 2 : PRESIGN_WINDOW_MAX;
	signed_at = now - now % window;
	/* A cached redirect must not outlive the URL it leads to. */
	if ((int64_t)*max_age > signed_at + life - now)
		*max_age = (unsigned)(signed_at + life - now);
	if (store_key(c, file, key, sizeof(key)) == -1)
		return -1;
	return s3_presign_get(&c->s3, key, now, window, life, out, outsz);
}

/* imgstore_local() for mode = s3: the copy, fetched if need be. */
static int
local_s3(const struct cfg *c, const char *file, const char *rid)
{
	struct s3	*s;
	struct s3_res	 r;
	char		 key[STORE_KEY_MAX];
	int		 rc, status = 0;

	if (store_key(c, file, key, sizeof(key)) == -1)
		return 500;
	/*
	 * A client of its own: a copy is fetched once per image and host,
	 * so a connection kept per request thread would mostly idle.
	 */
	s = s3_new(&c->s3);
	if ((rc = s3_get(s, key, c->max_image_bytes, NULL, &r)) == S3_OK) {
		if ((rc = store_copy(c->store_dir, file, r.body, r.len)) == 0)
			copied_bytes(c, r.len);
		else if (rc == -1) {
			log_error(rid, "cannot keep a copy of %s in [store] "
			    "dir: %s", key, strerror(errno));
			status = 500;
		}
	} else if (rc == S3_NOT_FOUND) {
		log_error(rid, "s3 GET %s/%s: not in the bucket", c->s3.bucket,
		    key);
		status = 404;
	} else {
		log_error(rid, "%s", r.error);
		status = gen_err_retryable(r.kind) ? 503 : 500;
	}
	s3_res_free(&r);
	s3_free(s);
	return status;
}

int
imgstore_local(const struct cfg *c, const char *file, const char *rid,
    char *path, size_t pathsz)
{
	int	 n = snprintf(path, pathsz, "%s/%s", c->store_dir, file);

	if (n < 0 || (size_t)n >= pathsz)
		return 500;
	if (c->store_mode != STORE_S3 || access(path, R_OK) == 0)
		return 0;
	return local_s3(c, file, rid);
}

int
imgstore_check(const struct cfg *c, char *err, size_t errlen)
{
	struct s3	*s;
	char		 why[512];
	int		 rc;

	if (c->store_mode != STORE_S3)
		return 0;
	s = s3_new(&c->s3);
	if ((rc = s3_probe(s, c->s3_prefix, why, sizeof(why))) != 0)
		snprintf(err, errlen, "[store] s3_bucket %s at %s: %s",
		    c->s3.bucket, c->s3.endpoint, why);
	s3_free(s);
	return rc;
}
