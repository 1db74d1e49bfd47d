/*
 * s3.h: a client of S3-compatible object stores (AWS S3, Cloudflare R2,
 * Swift's s3api, ...): one bucket, objects written whole from memory and
 * read into memory or streamed, presigned GET URLs, and a start-up
 * probe.
 *
 * Two halves. s3sign.c is pure (no network, no threads; files only to
 * read the credentials): the settings and their check, the AWS
 * credentials file, keys, object URLs, S3's error answers and
 * query-string signing. s3.c makes the exchanges, on the project's HTTP
 * client (httpc.h) with libcurl's own SigV4 (CURLOPT_AWS_SIGV4).
 *
 * Keys are kept to [A-Za-z0-9/._-] in segments none of which is empty,
 * "." or "..": libcurl 7.88 signs the path as written, without
 * URI-encoding it, and would fold dot segments, so any other key could
 * be signed differently from how the store reads it.
 *
 * The secret is never logged or put in a message: every message is
 * passed through the HTTP client's clean(), which cuts it out.
 */
#ifndef PP_S3_H
#define PP_S3_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"

#define S3_KEY_MAX	1024	/* bytes of a key (S3's own limit) */
#define S3_URL_MAX	2048	/* bytes of an object's URL, NUL included */
/* Bytes of a presigned URL, NUL included. */
#define S3_PRESIGN_MAX	(S3_URL_MAX + 512)
#define S3_EXPIRES_MAX	604800	/* seconds a presigned URL may live (S3's) */

/*
 * Where the store is and who we are there. Strings are the owner's
 * (s3_cfg_free() frees them); check them with s3_cfg_check() before use.
 */
struct s3_cfg {
	char	*endpoint;	/* "http[s]://HOST[:PORT]": no path */
	char	*bucket;
	char	*region;	/* "us-east-1"; R2: "auto" */
	int	 vhost;		/* virtual-hosted URLs (BUCKET.HOST/KEY);
				   0: path-style (HOST/BUCKET/KEY) */
	char	*key_id;	/* access key id */
	char	*secret;	/* secret access key: never logged; wiped
				   when freed */
	int64_t	 connect_timeout_ms;
	int64_t	 timeout_ms;	/* of each exchange */
};

/*
 * Is c complete and well formed: an http or https endpoint with a
 * lowercase host name or IPv4 address and an optional port, nothing
 * after it but an optional "/"; a bucket name as S3 has them (3..63 of
 * [a-z0-9.-], a letter or digit at each end); a region of [a-z0-9-];
 * a key id and a secret of printable ASCII without spaces; timeouts
 * above 0? Returns 0; or -1 with a one-line reason in err (which never
 * holds the secret).
 */
int	 s3_cfg_check(const struct s3_cfg *c, char *err, size_t errlen);

/* Free c's strings, the secret wiped first; c may be filled again. */
void	 s3_cfg_free(struct s3_cfg *c);

/*
 * Read an AWS shared-credentials file (~/.aws/credentials): the
 * aws_access_key_id and aws_secret_access_key of profile [default] go
 * into c->key_id and c->secret (each replacing any). Other profiles and
 * other settings are ignored; comments (';', '#') and CRLF line ends
 * are allowed. Returns 0; or -1 with a one-line reason in err ("PATH:
 * ..." or "PATH:LINE: ..."): the file cannot be read or is over 64 KiB,
 * a malformed or over-long line, no [default] profile, a key missing,
 * empty, repeated or not printable, or an aws_session_token (temporary
 * credentials, which this client cannot send). The file's bytes are
 * wiped from our memory before returning.
 */
int	 s3_creds_load(const char *path, struct s3_cfg *c, char *err,
	    size_t errlen);

/*
 * s3_creds_load() on text (len bytes) instead of a file's bytes; name
 * stands for the file in messages.
 */
int	 s3_creds_parse(const char *text, size_t len, const char *name,
	    struct s3_cfg *c, char *err, size_t errlen);

/* Is key a key this client can sign (see above, S3_KEY_MAX)? */
int	 s3_key_valid(const char *key);

/*
 * The URL of object key under c, unsigned, into out (outsz bytes):
 * path-style ENDPOINT/BUCKET/KEY, or virtual-hosted
 * SCHEME://BUCKET.HOST[:PORT]/KEY. Returns 0; or -1 if key is not
 * valid, c's endpoint is not, or the URL does not fit.
 */
int	 s3_object_url(const struct s3_cfg *c, const char *key, char *out,
	    size_t outsz);

/*
 * A presigned GET URL of object key (query-string SigV4, signed
 * headers: host) into out (outsz bytes, S3_PRESIGN_MAX is enough).
 * Its signing time is now (Unix seconds) rounded down to a multiple of
 * window seconds, and it expires that many seconds after that time, so
 * every URL made within one window is the same and caches keep it; it
 * is good for at least expires - window seconds. Pure: no clock, no
 * I/O. Returns 0; or -1 if key or c's endpoint is not valid, window is
 * 0 or not below expires, expires is over S3_EXPIRES_MAX, or the URL
 * does not fit.
 */
int	 s3_presign_get(const struct s3_cfg *c, const char *key, int64_t now,
	    unsigned window, unsigned expires, char *out, size_t outsz);

/*
 * S3's error answer (<Error><Code>..</Code><Message>..</Message>) read
 * into one line in msg (msgsz bytes): "CODE: MESSAGE", with a hint of
 * what to fix after CODE for the codes that name a setting (a wrong
 * secret, key id, region, bucket, clock). "" if body holds no Code.
 * The code is also copied into code (codesz bytes; NULL: not wanted).
 * Outside bytes: the caller still cleans msg before logging it.
 */
void	 s3_error_detail(const char *body, size_t len, char *msg,
	    size_t msgsz);
void	 s3_error_code(const char *body, size_t len, char *code,
	    size_t codesz);

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
 * (promptpix-probe/HEX), read it back, delete it. Returns 0; or -1 with
 * a one-line reason in why (whysz bytes) that tells a wrong secret, key
 * id, region or bucket apart where the store's answer does
 * (SignatureDoesNotMatch, InvalidAccessKeyId,
 * AuthorizationHeaderMalformed, NoSuchBucket).
 */
int		 s3_probe(struct s3 *s, char *why, size_t whysz);

#endif
