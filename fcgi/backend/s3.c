/*
 * s3.c: the S3 client's exchanges (see s3.h): HEAD, PUT, GET and DELETE
 * of one object on the HTTP client (httpc.h), signed by libcurl's SigV4,
 * and the start-up probe. Failures are read into one line: what was
 * asked, then the transport's error or the HTTP status with S3's error
 * code, a hint and its message (s3_error_detail()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "falparse.h"
#include "hash.h"
#include "httpc.h"
#include "s3.h"
#include "util.h"

#define CACHE_CONTROL	"public, max-age=31536000, immutable"
/* SHA-256 of no bytes: the payload hash of HEAD, GET and DELETE. */
#define EMPTY_SHA256	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define PROBE_BODY	"promptpix store probe\n"
#define HEADER_MAX	256		/* bytes of a header line we send */
#define ANSWER_MAX	(64 * 1024)	/* bytes of an answer to a PUT, HEAD
					   or DELETE: an error's XML */

struct s3 {
	const struct s3_cfg	*c;
	struct httpc		*http;
	char			 sigv4[64];	/* "aws:amz:REGION:s3" */
	int64_t			 deadline_ms;	/* of every exchange; 0: none */
};

struct s3 *
s3_new(const struct s3_cfg *c)
{
	/*
	 * fal's status kinds and message cleaner are the HTTP client's
	 * common ones: kinds by status class, the secret cut out of every
	 * message and the message kept to one printable line.
	 */
	struct httpc_opts	 o = {
		.connect_timeout_ms = c->connect_timeout_ms,
		.allow_http = strncmp(c->endpoint, "http://", 7) == 0,
		.status_kind = fal_status_kind,
		.detail = s3_error_detail,
		.clean = fal_clean_message,
		.secret = c->secret,
	};
	struct s3		*s = xcalloc(1, sizeof(*s));

	s->c = c;
	snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3", c->region);
	s->http = httpc_new(&o);
	return s;
}

void
s3_free(struct s3 *s)
{
	if (s == NULL)
		return;
	httpc_free(s->http);
	free(s);
}

void
s3_deadline(struct s3 *s, int64_t deadline_ms)
{
	s->deadline_ms = deadline_ms;
}

void
s3_res_free(struct s3_res *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

/* Start r afresh: nothing known yet. */
static void
res_init(struct s3_res *r)
{
	memset(r, 0, sizeof(*r));
	r->size = -1;
}

/* Fail r with kind and a one-line message (cleaned). Returns S3_FAIL. */
static int
res_fail(struct s3 *s, struct s3_res *r, enum gen_err kind, const char *what,
    const char *key, const char *why)
{
	struct gen_result	 g;

	memset(&g, 0, sizeof(g));
	httpc_failf(s->http, &g, kind, "s3 %s %s/%s: %s", what, s->c->bucket,
	    key, why);
	r->kind = g.err;
	strlcpy_chk(r->error, g.error_message, sizeof(r->error));
	return S3_FAIL;
}

/*
 * The headers of the last answer into r: its ETag, and if it was the
 * object's (object: a HEAD or GET), its size, type and caching.
 */
static void
read_headers(struct s3 *s, int object, struct s3_res *r)
{
	char	 v[32], *end;
	long long n;

	httpc_header(s->http, "ETag", r->etag, sizeof(r->etag));
	if (!object)
		return;
	httpc_header(s->http, "Content-Type", r->content_type,
	    sizeof(r->content_type));
	httpc_header(s->http, "Cache-Control", r->cache_control,
	    sizeof(r->cache_control));
	if (httpc_header(s->http, "Content-Length", v, sizeof(v)) == 0 &&
	    (n = strtoll(v, &end, 10)) >= 0 && *end == '\0' && end != v)
		r->size = n;
}

/* A streamed GET: the caller's reader, and r to fill before it reads. */
struct stream {
	struct s3	*s;
	struct s3_res	*r;
	int		(*on_data)(void *arg, const char *p, size_t n);
	void		*arg;
	int		 started;
};

/* httpc's on_data: the headers into r first, then the caller's reader. */
static int
stream_data(void *arg, const char *p, size_t n)
{
	struct stream	*st = arg;

	if (!st->started) {
		st->started = 1;
		read_headers(st->s, 1, st->r);
	}
	return st->on_data(st->arg, p, n);
}

/*
 * Run x (method what on key, its URL and headers set) signed, and read
 * how it went into r. Returns S3_OK for a 2xx answer, S3_NOT_MODIFIED
 * for 304, S3_NOT_FOUND for a 404 other than NoSuchBucket, else
 * S3_FAIL. x's body is the caller's to free.
 */
static int
run(struct s3 *s, struct httpc_xfer *x, const char *key, struct s3_res *r)
{
	struct gen_result	 g;
	char			 what[S3_KEY_MAX + 80];

	x->aws_sigv4 = s->sigv4;
	x->user = s->c->key_id;
	x->password = s->c->secret;
	x->timeout_ms = s->c->timeout_ms;
	x->deadline_ms = s->deadline_ms;
	httpc_run(s->http, x);
	r->status = x->status;
	if (x->code == 0 && ((x->status >= 200 && x->status < 300) ||
	    x->status == 304))
		read_headers(s, strcmp(x->method, "HEAD") == 0 ||
		    strcmp(x->method, "GET") == 0, r);
	if (x->code == 0 && x->status == 304)
		return S3_NOT_MODIFIED;
	/* An object's body is not S3's to read: only an error's is. */
	if (x->code == 0 && (x->status < 200 || x->status >= 300))
		s3_error_code(x->buf, x->len, r->code, sizeof(r->code));
	if (x->code == 0 && x->status == 404 &&
	    strcmp(r->code, "NoSuchBucket") != 0)
		return S3_NOT_FOUND;
	snprintf(what, sizeof(what), "s3 %s %s/%s", x->method, s->c->bucket,
	    key);
	memset(&g, 0, sizeof(g));
	if (x->stopped) {
		httpc_failf(s->http, &g, GE_INTERNAL, "%s: stopped by its "
		    "reader", what);
	} else if (httpc_fail(s->http, x, what, &g) == 0)
		return S3_OK;
	r->kind = g.err;
	strlcpy_chk(r->error, g.error_message, sizeof(r->error));
	return S3_FAIL;
}

/*
 * Set x up for method on key with the payload hash sha (hex, or
 * UNSIGNED-PAYLOAD) and the extra header lines of h (which it adds to).
 * Returns 0; or S3_FAIL with r failed (a key out of bounds).
 */
static int
prepare(struct s3 *s, struct httpc_xfer *x, char *url, size_t urlsz,
    const char *method, const char *key, const char *sha,
    struct httpc_hdrs **h, struct s3_res *r)
{
	char	 line[HEADER_MAX];

	res_init(r);
	memset(x, 0, sizeof(*x));
	if (s3_object_url(s->c, key, url, urlsz) != 0)
		return res_fail(s, r, GE_INTERNAL, method, key, "not a key "
		    "of [A-Za-z0-9/._-] segments, or the URL is too long");
	x->method = method;
	x->url = url;
	snprintf(line, sizeof(line), "x-amz-content-sha256: %s", sha);
	*h = httpc_hdrs_add(*h, line);
	x->hdrs = *h;
	return 0;
}

/*
 * Is v fit for a header line of ours: 1..200 bytes of 0x20..0x7e (no
 * line break can sneak in)?
 */
static int
header_ok(const char *v)
{
	size_t	 n = strlen(v);

	if (n == 0 || n > 200)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return 0;
	return 1;
}

/* A HEAD or a DELETE of key: nothing to send, little to read. */
static int
bodiless(struct s3 *s, const char *method, const char *key, struct s3_res *r)
{
	struct httpc_xfer	 x;
	struct httpc_hdrs	*h = NULL;
	char			 url[S3_URL_MAX];
	int			 rc;

	if ((rc = prepare(s, &x, url, sizeof(url), method, key, EMPTY_SHA256,
	    &h, r)) == 0) {
		x.max = ANSWER_MAX;
		rc = run(s, &x, key, r);
		httpc_xfer_free(&x);
	}
	httpc_hdrs_free(h);
	return rc;
}

int
s3_head(struct s3 *s, const char *key, struct s3_res *r)
{
	return bodiless(s, "HEAD", key, r);
}

int
s3_put(struct s3 *s, const char *key, const void *data, size_t len,
    const char *content_type, struct s3_res *r)
{
	struct httpc_xfer	 x;
	struct httpc_hdrs	*h = NULL;
	char			 url[S3_URL_MAX], sha[HASH_HEX_LEN + 1];
	char			 line[HEADER_MAX];
	int			 rc;

	hash_sha256_hex(data, len, sha);
	if ((rc = prepare(s, &x, url, sizeof(url), "PUT", key, sha, &h,
	    r)) != 0)
		goto out;
	if (!header_ok(content_type)) {
		rc = res_fail(s, r, GE_INTERNAL, "PUT", key, "content type "
		    "not fit for a header");
		goto out;
	}
	snprintf(line, sizeof(line), "Content-Type: %s", content_type);
	h = httpc_hdrs_add(h, line);
	h = httpc_hdrs_add(h, "Cache-Control: " CACHE_CONTROL);
	x.hdrs = h;
	/* An empty body is sent as one: body_len 0 would mean strlen(). */
	x.body = len > 0 ? data : "";
	x.body_len = len;
	x.max = ANSWER_MAX;
	rc = run(s, &x, key, r);
	httpc_xfer_free(&x);
	/* A PUT has no object to miss: a 404 is a failure like any. */
	if (rc == S3_NOT_FOUND || rc == S3_NOT_MODIFIED)
		rc = res_fail(s, r, GE_STORE, "PUT", key, r->code[0] ?
		    r->code : "HTTP 404");
out:
	httpc_hdrs_free(h);
	return rc;
}

/* s3_get() and s3_get_stream(): st NULL for a body into memory. */
static int
get(struct s3 *s, const char *key, size_t max, const char *if_none_match,
    struct stream *st, struct s3_res *r)
{
	struct httpc_xfer	 x;
	struct httpc_hdrs	*h = NULL;
	char			 url[S3_URL_MAX], line[HEADER_MAX];
	int			 rc;

	if ((rc = prepare(s, &x, url, sizeof(url), "GET", key, EMPTY_SHA256,
	    &h, r)) != 0)
		goto out;
	/* A client's ETag passes on only if it cannot break the header. */
	if (if_none_match != NULL && header_ok(if_none_match)) {
		snprintf(line, sizeof(line), "If-None-Match: %s",
		    if_none_match);
		h = httpc_hdrs_add(h, line);
		x.hdrs = h;
	}
	x.max = max;
	if (st != NULL) {
		x.on_data = stream_data;
		x.arg = st;
	}
	rc = run(s, &x, key, r);
	if (rc == S3_OK && st == NULL) {
		r->body = x.buf;
		r->len = x.len;
		if (r->body == NULL)
			r->body = xstrdup("");
		x.buf = NULL;
	}
	httpc_xfer_free(&x);
out:
	httpc_hdrs_free(h);
	return rc;
}

int
s3_get(struct s3 *s, const char *key, size_t max, const char *if_none_match,
    struct s3_res *r)
{
	return get(s, key, max, if_none_match, NULL, r);
}

int
s3_get_stream(struct s3 *s, const char *key, size_t max,
    const char *if_none_match,
    int (*on_data)(void *arg, const char *p, size_t n), void *arg,
    struct s3_res *r)
{
	struct stream	 st = { s, r, on_data, arg, 0 };

	return get(s, key, max, if_none_match, &st, r);
}

int
s3_delete(struct s3 *s, const char *key, struct s3_res *r)
{
	int	 rc = bodiless(s, "DELETE", key, r);

	return rc == S3_NOT_FOUND ? S3_OK : rc;
}

int
s3_probe(struct s3 *s, const char *prefix, char *why, size_t whysz)
{
	struct s3_res	 r;
	char		 key[S3_KEY_MAX];
	const size_t	 len = strlen(PROBE_BODY);
	int		 rc;

	/* A key of its own: hosts sharing the bucket may probe at once. */
	snprintf(key, sizeof(key), "%s%spromptpix-probe/%016llx", prefix,
	    prefix[0] != '\0' ? "/" : "", (unsigned long long)random_u64());
	if (s3_put(s, key, PROBE_BODY, len, "text/plain", &r) != S3_OK) {
		snprintf(why, whysz, "%s", r.error);
		return -1;
	}
	rc = s3_get(s, key, 4096, NULL, &r);
	if (rc == S3_OK && (r.len != len || memcmp(r.body, PROBE_BODY,
	    len) != 0))
		rc = res_fail(s, &r, GE_STORE, "GET", key, "read back other "
		    "bytes than were written");
	else if (rc == S3_NOT_FOUND)
		rc = res_fail(s, &r, GE_STORE, "GET", key, "written, then "
		    "not found");
	if (rc != S3_OK) {
		snprintf(why, whysz, "%s", r.error);
		s3_res_free(&r);
		s3_delete(s, key, &r);
		return -1;
	}
	s3_res_free(&r);
	if (s3_delete(s, key, &r) != S3_OK) {
		snprintf(why, whysz, "%s", r.error);
		return -1;
	}
	return 0;
}
