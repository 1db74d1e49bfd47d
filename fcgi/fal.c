/*
 * fal.c: the fal.ai backend, an HTTP client on libcurl.
 *
 * Each worker thread has its own context: one curl easy handle, reused
 * so that its connections to fal stay open between generations, and the
 * request headers (the only copy of the key outside the config).
 *
 * One generation is up to [fal] max_attempts attempts. An attempt is a
 * sync POST, or a queue submit followed by status polls and the result
 * GET, always on the URLs the submit answered with (they are not the
 * model's path: .../fal-ai/flux/requests/ID, not .../schnell/requests).
 * 429, 5xx and timeouts are tried again after a capped exponential
 * backoff (or fal's Retry-After, if longer) while the deadline allows;
 * anything else ends the generation. Then the image is checked and,
 * with [store] mode = local, downloaded into the store.
 *
 * Accounting: an attempt whose request went out counts as an API call
 * (gen_result.api_calls); one that fal may bill (anything but 401/403,
 * 429 and 5xx) adds its estimated cost.
 *
 * The key goes only to the configured API origin: URLs fal returns are
 * used only if they have the same scheme, host and port, image downloads
 * never carry it, and every error message is scrubbed of it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <gd.h>

#include "backend.h"
#include "cfg.h"
#include "fal.h"
#include "log.h"
#include "store.h"
#include "util.h"

/* How long the cancel PUT may take, after the deadline has passed. */
#define CANCEL_MS	2000
/* Cap on a Retry-After we honour, in seconds. */
#define RETRY_AFTER_MAX	3600

struct fal_ctx {
	const struct cfg	*cfg;
	CURL			*curl;
	struct curl_slist	*api_hdrs;	/* holds the key */
	struct curl_slist	*img_hdrs;
	char			 errbuf[CURL_ERROR_SIZE];
};

/* One HTTP exchange: what to send, and what came back. */
struct xfer {
	const char	*method;	/* GET, POST or PUT */
	const char	*url;
	const char	*body;		/* request body, or NULL */
	int		 api;		/* to fal's API: send the key */
	int64_t		 timeout_ms;
	size_t		 max;		/* cap on the answer's body */
	CURLcode	 cc;
	long		 status;	/* 0 if no answer */
	int		 reached;	/* the request went out */
	int		 too_big;
	char		*buf;		/* the body, NUL-terminated */
	size_t		 len;
	size_t		 cap;
	char		 fal_id[80];	/* x-fal-request-id */
	unsigned	 retry_after;	/* seconds; 0 if none */
};

/* What one attempt did, for the accounting and the backoff. */
struct attempt {
	int		 reached;
	int		 charged;
	unsigned	 retry_after;
};

static pthread_once_t	 curl_once = PTHREAD_ONCE_INIT;

/* libcurl's process-wide set-up, once, before the first handle. */
static void
curl_global(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "promptpix: curl_global_init failed\n");
		abort();
	}
}

/* Append a header line to l; aborts when out of memory (our policy). */
static struct curl_slist *
hdr(struct curl_slist *l, const char *line)
{
	struct curl_slist	*n;

	if ((n = curl_slist_append(l, line)) == NULL) {
		fprintf(stderr, "promptpix: out of memory (curl)\n");
		abort();
	}
	return n;
}

/*
 * A worker thread's context: its curl handle and header lists. Never
 * fails (aborts when out of memory); fal_free() releases it.
 */
static void *
fal_init(const struct cfg *c)
{
	struct fal_ctx	*ctx = xcalloc(1, sizeof(*ctx));
	const char	*key = c->fal_key ? c->fal_key : "";
	size_t		 n = strlen(key) + 32;
	char		*auth = xmalloc(n);

	pthread_once(&curl_once, curl_global);
	ctx->cfg = c;
	if ((ctx->curl = curl_easy_init()) == NULL) {
		fprintf(stderr, "promptpix: curl_easy_init failed\n");
		abort();
	}
	snprintf(auth, n, "Authorization: Key %s", key);
	ctx->api_hdrs = hdr(NULL, auth);
	explicit_bzero(auth, n);
	free(auth);
	ctx->api_hdrs = hdr(ctx->api_hdrs, "Content-Type: application/json");
	ctx->api_hdrs = hdr(ctx->api_hdrs, "Accept: application/json");
	ctx->api_hdrs = hdr(ctx->api_hdrs, "Expect:");
	ctx->img_hdrs = hdr(NULL, "Accept: image/jpeg, image/png");
	return ctx;
}

/* Release a context, wiping the header that holds the key. */
static void
fal_free(void *vctx)
{
	struct fal_ctx	*ctx = vctx;

	if (ctx == NULL)
		return;
	if (ctx->api_hdrs != NULL)
		explicit_bzero(ctx->api_hdrs->data, strlen(ctx->api_hdrs->data));
	curl_slist_free_all(ctx->api_hdrs);
	curl_slist_free_all(ctx->img_hdrs);
	curl_easy_cleanup(ctx->curl);
	free(ctx);
}

/* Record a failure, its message scrubbed of the key and of odd bytes. */
static void
failf(const struct fal_ctx *ctx, struct gen_result *res, enum gen_err kind,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
failf(const struct fal_ctx *ctx, struct gen_result *res, enum gen_err kind,
    const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fal_clean_message(msg, sizeof(res->error_message), ctx->cfg->fal_key);
	gen_result_fail(res, kind, msg);
}

/*
 * curl's write callback: append to x->buf, keeping it NUL-terminated.
 * Past x->max it sets x->too_big and returns 0, which ends the transfer.
 */
static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer	*x = arg;
	size_t		 add = sz * n;

	if (add > x->max - x->len) {
		x->too_big = 1;
		return 0;
	}
	if (x->len + add + 1 > x->cap) {
		x->cap = x->cap ? x->cap : 4096;
		while (x->cap < x->len + add + 1)
			x->cap *= 2;
		x->buf = xrealloc(x->buf, x->cap);
	}
	memcpy(x->buf + x->len, p, add);
	x->len += add;
	x->buf[x->len] = '\0';
	return add;
}

/* The value of header line (len bytes) if it is name's, trimmed. */
static int
header_value(const char *line, size_t len, const char *name, char *out,
    size_t outsz)
{
	size_t	 nl = strlen(name), i, j;

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return -1;
	for (i = nl + 1; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		continue;
	for (j = len; j > i && strchr(" \t\r\n", line[j - 1]) != NULL; j--)
		continue;
	if (j - i == 0 || j - i >= outsz)
		return -1;
	for (size_t k = i; k < j; k++)
		if ((unsigned char)line[k] < 0x21 || (unsigned char)line[k] > 0x7e)
			return -1;
	memcpy(out, line + i, j - i);
	out[j - i] = '\0';
	return 0;
}

/* curl's header callback: keep x-fal-request-id and Retry-After. */
static size_t
on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer	*x = arg;
	size_t		 len = sz * n;
	char		 v[16];
	unsigned long	 ra;
	char		*end;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* A new answer (after a 100 Continue): forget the last. */
		x->fal_id[0] = '\0';
		x->retry_after = 0;
		return len;
	}
	if (header_value(p, len, "x-fal-request-id", x->fal_id,
	    sizeof(x->fal_id)) == 0)
		return len;
	if (header_value(p, len, "retry-after", v, sizeof(v)) == 0) {
		/* Seconds only; an HTTP-date is ignored (our backoff applies). */
		ra = strtoul(v, &end, 10);
		if (*end == '\0' && v[0] >= '0' && v[0] <= '9')
			x->retry_after = ra > RETRY_AFTER_MAX ? RETRY_AFTER_MAX :
			    (unsigned)ra;
	}
	return len;
}

/* Run x on the context's handle. Never fails: see x->cc and x->status. */
static void
xfer_run(struct fal_ctx *ctx, struct xfer *x)
{
	const struct cfg	*c = ctx->cfg;
	CURL			*h = ctx->curl;
	long			 sent = 0;
	int64_t			 cto;

	x->status = 0;
	x->reached = 0;
	x->too_big = 0;
	x->len = 0;
	x->fal_id[0] = '\0';
	x->retry_after = 0;
	if (x->timeout_ms <= 0) {
		x->cc = CURLE_OPERATION_TIMEDOUT;
		return;
	}
	cto = c->fal_connect_timeout_ms < x->timeout_ms ?
	    c->fal_connect_timeout_ms : x->timeout_ms;
	ctx->errbuf[0] = '\0';
	/* Reset keeps the open connections and the DNS cache. */
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, x->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR,
	    c->fal_allow_http ? "http,https" : "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)cto);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)x->timeout_ms);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ctx->errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "promptpix");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER,
	    x->api ? ctx->api_hdrs : ctx->img_hdrs);
	if (strcmp(x->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, x->body ? x->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE,
		    (long)(x->body ? strlen(x->body) : 0));
		if (strcmp(x->method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, x->method);
	}
	x->cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x->status);
	curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent);
	x->reached = sent > 0 || x->status != 0;
}

/* Free the body of x; x may run again. */
static void
xfer_free(struct xfer *x)
{
	free(x->buf);
	x->buf = NULL;
	x->len = x->cap = 0;
}

/* May fal bill the call x made? Not for 401/403, 429 or 5xx. */
static int
xfer_charged(const struct xfer *x)
{
	if (!x->reached)
		return 0;
	return !(x->status == 401 || x->status == 403 || x->status == 429 ||
	    x->status >= 500);
}

/*
 * Did x get a 2xx answer within its limits? If not, record why in res
 * (what names the step, for the message) and return -1.
 */
static int
xfer_failed(const struct fal_ctx *ctx, const struct xfer *x,
    const char *what, struct gen_result *res)
{
	const char	*err;
	enum gen_err	 kind;
	char		 detail[300];

	if (x->cc == CURLE_OK && x->status >= 200 && x->status < 300)
		return 0;
	err = ctx->errbuf[0] ? ctx->errbuf : curl_easy_strerror(x->cc);
	if (x->too_big || x->cc == CURLE_FILESIZE_EXCEEDED) {
		failf(ctx, res, GE_BAD_RESPONSE, "%s: answer larger than %zu "
		    "bytes", what, x->max);
		return -1;
	}
	if (x->cc != CURLE_OK) {
		switch (x->cc) {
		case CURLE_OPERATION_TIMEDOUT:
			/* No request sent: the connection never came up. */
			kind = x->reached ? GE_TIMEOUT : GE_UPSTREAM_DOWN;
			break;
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
			kind = GE_BAD_URL;
			break;
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CACERT_BADFILE:
			kind = GE_TLS;
			break;
		default:
			/* Refused, reset, cut short: fal is away. */
			kind = GE_UPSTREAM_DOWN;
			break;
		}
		failf(ctx, res, kind, "%s: %s", what, err);
		return -1;
	}
	fal_parse_error(x->buf, x->len, detail, sizeof(detail));
	kind = fal_status_kind(x->status);
	if (x->status >= 300 && x->status < 400)
		failf(ctx, res, kind, "%s: unexpected redirect (HTTP %ld)",
		    what, x->status);
	else
		failf(ctx, res, kind, "%s: HTTP %ld%s%s", what, x->status,
		    detail[0] ? ": " : "", detail);
	return -1;
}

/* Milliseconds until the job's deadline (may be negative). */
static int64_t
left_ms(const struct gen_job *job)
{
	return job->deadline_ms - now_ms();
}

/* The timeout of one exchange: request_timeout, cut at the deadline. */
static int64_t
step_ms(const struct fal_ctx *ctx, const struct gen_job *job)
{
	int64_t	 left = left_ms(job);

	return left < ctx->cfg->fal_request_timeout_ms ? left :
	    ctx->cfg->fal_request_timeout_ms;
}

/* Keep the first request id fal gave us for this attempt. */
static void
note_fal_id(struct gen_result *res, const char *id)
{
	if (id[0] != '\0' && res->upstream_id[0] == '\0')
		strlcpy_chk(res->upstream_id, id, sizeof(res->upstream_id));
}

/* The model's URL under base. Returns -1 if it does not fit. */
static int
model_url(const char *base, const char *model, char *out, size_t outsz)
{
	int	 n = snprintf(out, outsz, "%s%s", base, model);

	return (n < 0 || (size_t)n >= outsz) ? -1 : 0;
}

/*
 * One synchronous call: POST {run_base}{model}, the output comes back.
 * Returns 0 with the output in res, or -1 with the failure in res; *a
 * says whether the call reached fal and may be billed.
 */
static int
attempt_sync(struct fal_ctx *ctx, const struct gen_job *job,
    const char *input, struct gen_result *res, struct attempt *a)
{
	struct xfer	 x;
	char		 url[2048];
	int		 rc;

	if (model_url(ctx->cfg->fal_run_base, job->model, url,
	    sizeof(url)) == -1) {
		failf(ctx, res, GE_INTERNAL, "model URL too long");
		return -1;
	}
	memset(&x, 0, sizeof(x));
	x.method = "POST";
	x.url = url;
	x.body = input;
	x.api = 1;
	x.timeout_ms = left_ms(job);
	x.max = ctx->cfg->fal_max_response_bytes;
	xfer_run(ctx, &x);
	a->reached = x.reached;
	a->charged = xfer_charged(&x);
	a->retry_after = x.retry_after;
	note_fal_id(res, x.fal_id);
	if (xfer_failed(ctx, &x, "run", res) == -1)
		rc = -1;
	else
		rc = fal_parse_result(x.buf, x.len, res);
	xfer_free(&x);
	return rc;
}

/* Ask fal to drop a queued request we no longer wait for. */
static void
cancel(struct fal_ctx *ctx, const struct gen_job *job,
    const struct fal_queue *q)
{
	struct xfer	 x;

	if (q->cancel_url[0] == '\0')
		return;
	memset(&x, 0, sizeof(x));
	x.method = "PUT";
	x.url = q->cancel_url;
	x.api = 1;
	x.timeout_ms = CANCEL_MS;
	x.max = 65536;
	xfer_run(ctx, &x);
	log_info(job->rid, "fal: cancel %s: HTTP %ld", q->request_id,
	    x.status);
	xfer_free(&x);
}

/*
 * Poll status_url until COMPLETED. Returns 0, or -1 with the failure in
 * res (a timeout if the deadline passed first; the request is then
 * cancelled). Transient errors of a poll are polled through.
 */
static int
poll_status(struct fal_ctx *ctx, const struct gen_job *job,
    const struct fal_queue *q, struct gen_result *res)
{
	struct xfer	 x;
	char		 name[32] = "", last[256] = "";
	enum fal_status	 st = FAL_ST_QUEUED;
	int64_t		 nap;

	memset(&x, 0, sizeof(x));
	while (left_ms(job) > 0) {
		x.method = "GET";
		x.url = q->status_url;
		x.api = 1;
		x.timeout_ms = step_ms(ctx, job);
		x.max = ctx->cfg->fal_max_response_bytes;
		xfer_run(ctx, &x);
		if (xfer_failed(ctx, &x, "status", res) == 0) {
			st = fal_parse_status(x.buf, x.len, name, sizeof(name));
			last[0] = '\0';
		} else if (!gen_err_retryable(res->err)) {
			xfer_free(&x);
			return -1;
		} else {
			/* A status poll that failed costs nothing: poll on. */
			strlcpy_chk(last, res->error_message, sizeof(last));
			st = FAL_ST_QUEUED;
		}
		xfer_free(&x);
		if (st == FAL_ST_COMPLETED) {
			/* Forget a poll that failed on the way. */
			res->err = GE_NONE;
			res->error_message[0] = '\0';
			return 0;
		}
		if (st == FAL_ST_UNKNOWN) {
			failf(ctx, res, GE_BAD_STATUS, "fal status \"%s\"", name);
			return -1;
		}
		if (st == FAL_ST_BAD) {
			failf(ctx, res, GE_BAD_RESPONSE, "status: malformed "
			    "answer");
			return -1;
		}
		nap = left_ms(job);
		sleep_ms(nap < ctx->cfg->fal_poll_ms ? nap :
		    ctx->cfg->fal_poll_ms);
	}
	cancel(ctx, job, q);
	if (last[0] != '\0')
		failf(ctx, res, GE_TIMEOUT, "not completed in time; last poll: "
		    "%s", last);
	else
		failf(ctx, res, GE_TIMEOUT, "not completed in time (%s)",
		    name[0] ? name : "no status");
	return -1;
}

/* One queued call: submit, poll, fetch the result. As attempt_sync(). */
static int
attempt_queue(struct fal_ctx *ctx, const struct gen_job *job,
    const char *input, struct gen_result *res, struct attempt *a)
{
	const struct cfg	*c = ctx->cfg;
	struct fal_queue	 q;
	struct xfer		 x;
	char			 url[2048];
	int			 rc;

	if (model_url(c->fal_queue_base, job->model, url, sizeof(url)) == -1) {
		failf(ctx, res, GE_INTERNAL, "model URL too long");
		return -1;
	}
	memset(&x, 0, sizeof(x));
	x.method = "POST";
	x.url = url;
	x.body = input;
	x.api = 1;
	x.timeout_ms = step_ms(ctx, job);
	x.max = c->fal_max_response_bytes;
	xfer_run(ctx, &x);
	a->reached = x.reached;
	a->charged = xfer_charged(&x);
	a->retry_after = x.retry_after;
	note_fal_id(res, x.fal_id);
	if (xfer_failed(ctx, &x, "submit", res) == -1 ||
	    fal_parse_submit(x.buf, x.len, &q, res) == -1) {
		xfer_free(&x);
		return -1;
	}
	xfer_free(&x);
	note_fal_id(res, q.request_id);
	/* The URLs get our key: they must point where the key may go. */
	if (!fal_same_origin(c->fal_queue_base, q.status_url) ||
	    !fal_same_origin(c->fal_queue_base, q.response_url) ||
	    (q.cancel_url[0] != '\0' &&
	    !fal_same_origin(c->fal_queue_base, q.cancel_url))) {
		failf(ctx, res, GE_BAD_RESPONSE, "submit: fal answered with a "
		    "URL off the API host");
		return -1;
	}
	log_info(job->rid, "fal: queued %s", q.request_id[0] ?
	    q.request_id : "(no id)");
	if (poll_status(ctx, job, &q, res) == -1)
		return -1;
	x.method = "GET";
	x.url = q.response_url;
	x.body = NULL;
	x.timeout_ms = step_ms(ctx, job);
	xfer_run(ctx, &x);
	note_fal_id(res, x.fal_id);
	/* fal does not bill a job whose result is a 5xx. */
	if (x.status != 0)
		a->charged = xfer_charged(&x);
	if (xfer_failed(ctx, &x, "result", res) == -1)
		rc = -1;
	else
		rc = fal_parse_result(x.buf, x.len, res);
	xfer_free(&x);
	return rc;
}

/* Forget what a failed attempt left in res, but not the accounting. */
static void
attempt_reset(struct gen_result *res)
{
	unsigned	 calls = res->api_calls;
	double		 cost = res->cost_usd;

	memset(res, 0, sizeof(*res));
	res->api_calls = calls;
	res->cost_usd = cost;
}

/*
 * Download the image at res->url (no key sent) and write it to the
 * store, if its bytes are the format asked for and claimed. Returns 0
 * with res->file and file_size set, or -1 with the failure in res.
 */
static int
download(struct fal_ctx *ctx, const struct gen_job *job,
    struct gen_result *res)
{
	const struct cfg	*c = ctx->cfg;
	const struct img_req	*r = job->req;
	struct gen_result	 err;
	struct xfer		 x;
	int64_t			 backoff = c->fal_backoff_ms;
	int			 type, claimed, rc = -1;

	memset(&x, 0, sizeof(x));
	memset(&err, 0, sizeof(err));
	for (unsigned n = 1; ; n++) {
		x.method = "GET";
		x.url = res->url;
		x.api = 0;
		x.timeout_ms = step_ms(ctx, job);
		x.max = c->max_image_bytes;
		xfer_run(ctx, &x);
		if (xfer_failed(ctx, &x, "image download", &err) == 0)
			break;
		xfer_free(&x);
		if (!gen_err_retryable(err.err) ||
		    n >= c->fal_max_attempts ||
		    now_ms() + backoff >= job->deadline_ms) {
			failf(ctx, res, GE_DOWNLOAD, "%s", err.error_message);
			return -1;
		}
		log_warn(job->rid, "fal: image download %u failed (%s); "
		    "again in %lld ms", n, gen_err_name(err.err), (long long)backoff);
		sleep_ms(backoff);
		backoff = backoff * 2 > c->fal_backoff_max_ms ?
		    c->fal_backoff_max_ms : backoff * 2;
	}
	type = fal_image_type(x.buf, x.len);
	claimed = res->content_type[0] ?
	    fal_content_type_fmt(res->content_type) : type;
	if (type != (int)r->fmt || claimed != type) {
		failf(ctx, res, GE_BAD_IMAGE, "the image is not the %s fal "
		    "claimed", img_fmt_ext(r->fmt));
		goto out;
	}
	rc = backend_store(c, job, x.buf, x.len, res);
out:
	xfer_free(&x);
	return rc;
}

/*
 * [fal] nsfw = blocked: store blocked_image, scaled to the requested
 * size and format, as the image. Returns 0 with res a success, or -1
 * (res keeps the nsfw failure, or says why the store failed).
 */
static int
store_blocked(struct fal_ctx *ctx, const struct gen_job *job,
    struct gen_result *res)
{
	const struct cfg	*c = ctx->cfg;
	const struct img_req	*r = job->req;
	gdImagePtr		 src, im = NULL;
	void			*data = NULL;
	int			 size = 0, rc = -1;

	if ((src = gdImageCreateFromFile(c->fal_blocked_image)) == NULL) {
		log_error(job->rid, "fal: cannot read blocked_image %s",
		    c->fal_blocked_image);
		return -1;
	}
	gdImagePaletteToTrueColor(src);
	if ((im = gdImageScale(src, r->w, r->h)) != NULL)
		data = backend_encode(im, r->fmt, &size);
	if (data == NULL || size <= 0) {
		log_error(job->rid, "fal: cannot scale blocked_image");
		goto out;
	}
	if (backend_store(c, job, data, (size_t)size, res) == -1)
		goto out;
	res->url[0] = '\0';
	log_info(job->rid, "fal: %s flagged NSFW; stored the blocked image",
	    res->upstream_id[0] ? res->upstream_id : "image");
	rc = 0;
out:
	gdFree(data);
	if (im != NULL)
		gdImageDestroy(im);
	gdImageDestroy(src);
	return rc;
}

/*
 * The image URL fal gave: check it against the allowlist, then keep it
 * ([store] mode = remote) or fetch it (local). Returns 0 with res->ok
 * set, or -1 with the failure in res.
 */
static int
deliver(struct fal_ctx *ctx, const struct gen_job *job,
    struct gen_result *res)
{
	const struct cfg	*c = ctx->cfg;
	const struct img_req	*r = job->req;
	const char		*why;

	if (fal_url_check(res->url, c->fal_allowed_hosts, c->fal_allow_http,
	    &why) == -1) {
		failf(ctx, res, GE_BAD_URL, "%s", why);
		res->url[0] = '\0';
		return -1;
	}
	if (c->store_mode == STORE_LOCAL && download(ctx, job, res) == -1)
		return -1;
	if (c->store_mode == STORE_LOCAL || res->content_type[0] == '\0')
		strlcpy_chk(res->content_type, img_fmt_mime(r->fmt),
		    sizeof(res->content_type));
	if (res->width == 0 || res->height == 0) {
		res->width = r->w;
		res->height = r->h;
	}
	res->ok = 1;
	return 0;
}

/*
 * The backend's generate(): attempts with backoff, then the delivery
 * (or the blocked image). Returns 0 with res->ok set, or -1 with the
 * failure's kind, message, Retry-After hint and accounting in res.
 */
static int
fal_generate(void *vctx, const struct gen_job *job, struct gen_result *res)
{
	struct fal_ctx		*ctx = vctx;
	const struct cfg	*c = ctx->cfg;
	struct attempt		 a;
	char			*input;
	double			 cost = (double)job->req->w * job->req->h / 1e6 *
	    c->cost_per_megapixel;
	int64_t			 t0 = now_ms(), wait, backoff = c->fal_backoff_ms;
	unsigned		 n;
	int			 rc;

	input = fal_build_input(job->req, c->fal_steps, c->fal_safety);
	for (n = 1; ; n++) {
		memset(&a, 0, sizeof(a));
		attempt_reset(res);
		rc = c->fal_mode == FAL_SYNC ?
		    attempt_sync(ctx, job, input, res, &a) :
		    attempt_queue(ctx, job, input, res, &a);
		res->api_calls += a.reached ? 1 : 0;
		res->cost_usd += a.charged ? cost : 0;
		if (rc == 0 || !gen_err_retryable(res->err) ||
		    n >= c->fal_max_attempts)
			break;
		wait = (int64_t)a.retry_after * 1000 > backoff ?
		    (int64_t)a.retry_after * 1000 : backoff;
		if (now_ms() + wait >= job->deadline_ms)
			break;
		log_warn(job->rid, "fal: attempt %u of %u: %s; again in %lld ms",
		    n, c->fal_max_attempts, gen_err_name(res->err), (long long)wait);
		sleep_ms(wait);
		backoff = backoff * 2 > c->fal_backoff_max_ms ?
		    c->fal_backoff_max_ms : backoff * 2;
	}
	free(input);
	res->upstream_ms = now_ms() - t0;
	if (rc == 0)
		rc = deliver(ctx, job, res);
	else if (res->err == GE_NSFW &&
	    c->fal_nsfw == NSFW_BLOCKED)
		rc = store_blocked(ctx, job, res);
	if (rc == 0) {
		log_info(job->rid, "fal: done %s: %lld ms, inference %lld ms, "
		    "%u call(s)", res->upstream_id[0] ? res->upstream_id : "-",
		    (long long)res->upstream_ms, (long long)res->inference_ms,
		    res->api_calls);
		return 0;
	}
	res->ok = 0;
	if (gen_err_retry_after(res->err) > 0 && a.retry_after > 0)
		res->retry_after = a.retry_after;
	log_warn(job->rid, "fal: failed: %s after %u call(s)",
	    gen_err_name(res->err), res->api_calls);
	log_debug(job->rid, "fal: %s: %s", gen_err_name(res->err),
	    res->error_message);
	return -1;
}

const struct backend backend_fal = {
	"fal", fal_init, fal_generate, fal_free
};
