/*
 * s3sign.h: the pure half of the client of S3-compatible object stores
 * (the exchanges are backend/s3.h): the settings and their check, the
 * AWS shared-credentials file, keys, object URLs, S3's error answers
 * and presigned GET URLs. No network, no threads; a file only to read
 * the credentials, so the configuration's checks (cfgcheck.c) use it.
 *
 * Keys are kept to [A-Za-z0-9/._-] in segments none of which is empty,
 * "." or "..": libcurl 7.88 signs the path as written, without
 * URI-encoding it, and would fold dot segments, so any other key could
 * be signed differently from how the store reads it.
 */
#ifndef PP_S3SIGN_H
#define PP_S3SIGN_H

#include <stddef.h>
#include <stdint.h>

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

#endif
