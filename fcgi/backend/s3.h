/*
 * s3.h: a client of S3-compatible object stores (AWS S3, Cloudflare R2,
 * Swift's s3api, ...): one bucket, objects written whole from memory and
 * read into memory or streamed, and a start-up probe. The exchanges go
 * through the project's HTTP client (httpc.h) with libcurl's own SigV4
 * (CURLOPT_AWS_SIGV4); the settings, keys and URLs are s3sign.h's.
 *
 * The secret is never logged or put in a message: every message is
 * passed through the HTTP client's clean(), which cuts it out.
 */
#ifndef PP_S3_H
#define PP_S3_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"
#include "s3sign.h"

/* A client: the settings and an HTTP handle, for one thread. */
struct s3;

/* How an exchange went (the return of s3_head() ... s3_delete()). */
enum s3_rc {
	S3_FAIL = -1,		/* reason in the s3_res */
	S3_OK = 0,
	S3_NOT_FOUND,		/* 404: no such key (HEAD: or bucket) */
	S3_NOT_MODIFIED		/* 304: If-None-Match matched */
};

/* What an exchange brought back. */
struct s3_res {
	long		 status;	/* HTTP status; 0: no answer */
	int64_t		 size;		/* the object's bytes (HEAD, GET);
					   -1: not said */
	char		 etag[80];	/* as sent, quotes included; "" */
	char		 content_type[128];
	char		 cache_control[128];
	char		*body;		/* s3_get()'s bytes, NUL-terminated;
					   freed by s3_res_free() */
	size_t		 len;
	/* On S3_FAIL. */
	enum gen_err	 kind;		/* GE_AUTH, GE_UPSTREAM_DOWN, ... */
	char		 code[64];	/* S3's error code, or "" */
	char		 error[256];	/* one line: "s3 WHAT BUCKET/KEY:
					   why", the secret cut out */
};

/*
 * A client of the store c (checked; kept as a pointer, so it must
 * outlive the client). Never fails (aborts when out of memory); free it
 * with s3_free(). It belongs to one thread at a time.
 */
struct s3	*s3_new(const struct s3_cfg *c);

/* Release s and its connections; NULL is a no-op. */
void		 s3_free(struct s3 *s);

/*
 * Cut every exchange of s from now on at deadline_ms (now_ms()), as well
 * as at the settings' timeout; 0: the timeout alone.
 */
void		 s3_deadline(struct s3 *s, int64_t deadline_ms);

/* Free r's body; r may be used again. */
void		 s3_res_free(struct s3_res *r);

/*
 * Each exchange below fills r afresh (free a body r holds first) and
 * returns an enum s3_rc; on S3_FAIL, r->error says why in one line and
 * r->kind is the gen_err kind (GE_AUTH for 401/403, GE_UPSTREAM_DOWN
 * for no connection or 502/503/504, GE_TIMEOUT, ...). A key out of
 * bounds (s3_key_valid()) fails before anything is sent.
 *
 * HEAD key: does the object exist? S3_OK with r->size, etag,
 * content_type and cache_control; S3_NOT_FOUND (a missing bucket reads
 * the same: a HEAD answer has no body to tell them apart); or S3_FAIL.
 */
int		 s3_head(struct s3 *s, const char *key, struct s3_res *r);

/*
 * PUT len bytes at data as object key, whole: with Content-Length,
 * Content-Type content_type, "Cache-Control: public, max-age=31536000,
 * immutable" (keys are meant to name their content) and the body's
 * SHA-256 in x-amz-content-sha256, which the store checks. An object
 * already there is replaced. S3_OK with r->etag; or S3_FAIL.
 */
int		 s3_put(struct s3 *s, const char *key, const void *data,
		    size_t len, const char *content_type, struct s3_res *r);

/*
 * GET key into memory: S3_OK with r->body and r->len (at most max
 * bytes, else S3_FAIL), etag, content_type and cache_control;
 * S3_NOT_FOUND; S3_NOT_MODIFIED if if_none_match (an ETag a client
 * sent, passed on as is; NULL: none) matches; or S3_FAIL.
 */
int		 s3_get(struct s3 *s, const char *key, size_t max,
		    const char *if_none_match, struct s3_res *r);

/*
 * GET key streamed: the body of a 200 answer goes to on_data(arg, p, n)
 * as it arrives; on_data returns 0 to read on, or 1 to end the exchange
 * at once (S3_FAIL, "stopped by its reader"). r->size, etag,
 * content_type and cache_control are filled before the first call, so
 * on_data may pass them on first. Otherwise as s3_get(); an object
 * whose Content-Length (which S3 always sends) is over max fails before
 * on_data is called.
 */
int		 s3_get_stream(struct s3 *s, const char *key, size_t max,
		    const char *if_none_match,
		    int (*on_data)(void *arg, const char *p, size_t n),
		    void *arg, struct s3_res *r);

/*
 * DELETE key. S3_OK also when there was no such object (S3 answers 204
 * either way); or S3_FAIL.
 */
int		 s3_delete(struct s3 *s, const char *key, struct s3_res *r);

/*
 * The start-up self-check: write a small object under a random key
 * (PREFIX/promptpix-probe/HEX; prefix may be ""), read it back, delete
 * it. Returns 0; or -1 with
 * a one-line reason in why (whysz bytes) that tells a wrong secret, key
 * id, region or bucket apart where the store's answer does
 * (SignatureDoesNotMatch, InvalidAccessKeyId,
 * AuthorizationHeaderMalformed, NoSuchBucket).
 */
int		 s3_probe(struct s3 *s, const char *prefix, char *why,
		    size_t whysz);

#endif
