/*
 * fal.c: the fal.ai backend: the fal protocol (queue or sync), its
 * attempts and backoff, and what becomes of the image fal made.
 *
 * Each worker thread has its own context: an HTTP handle (httpc.h),
 * reused so that its connections to fal stay open between generations,
 * and the API's request headers (the only copy of the key outside the
 * config).
 *
 * One generation is up to [fal] max_attempts attempts. An attempt is a
 * sync POST, or a queue submit followed by status polls and the result
 * GET, always on the URLs the submit answered with (they are not the
 * model's path: .../fal-ai/flux/requests/ID, not .../schnell/requests).
 * 429, 5xx and timeouts are tried again after a capped exponential
 * backoff (or fal's Retry-After, if longer) while the deadline allows;
 * anything else ends the generation. Then the image URL is checked
 * (urlpolicy.h) and, with [store] mode = local, downloaded into the
 * store (backend_fetch_store()).
 *
 * Accounting: an attempt whose request went out counts as an API call
 * (gen_result.api_calls); one that fal may bill (anything but 401/403,
 * 429 and 5xx) adds its estimated cost.
 *
 * The key goes only to the configured API origin: URLs fal returns are
 * used only if they have the same scheme, host and port, image downloads
 * never carry it, and every error message is scrubbed of it (the
 * handle's clean() is fal_clean_message()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gd.h>

#include "backend.h"
#include "cfg.h"
#include "fal.h"
#include "httpc.h"
#include "log.h"
#include "urlpolicy.h"
#include "util.h"

/* How long the cancel PUT may take, after the deadline has passed. */
#define CANCEL_MS	2000

struct fal_ctx {
	const struct cfg	*cfg;
	struct httpc		*http;
	struct httpc_hdrs	*api_hdrs;	/* holds the key */
};

/* What one attempt did, for the accounting and the backoff. */
struct attempt {
	int		 reached;
	int		 charged;
	unsigned	 retry_after;
};

/*
 * A worker thread's context: its HTTP handle and the API's headers.
 * Never fails (aborts when out of memory); fal_free() releases it.
 */
static void *
fal_init(const struct cfg *c)
{
	struct fal_ctx		*ctx = xcalloc(1, sizeof(*ctx));
	const char		*key = c->fal_key ? c->fal_key : "";
	size_t			 n = strlen(key) + 32;
	char			*auth = xmalloc(n);
	struct httpc_opts	 o = {
		.connect_timeout_ms = c->fal_connect_timeout_ms,
		.allow_http = c->fal_allow_http,
		.status_kind = fal_status_kind,
		.detail = fal_parse_error,
		.clean = fal_clean_message,
		.secret = c->fal_key,
	};

	ctx->cfg = c;
	ctx->http = httpc_new(&o);
	snprintf(auth, n, "Authorization: Key %s", key);
	ctx->api_hdrs = httpc_hdrs_add(NULL, auth);
	explicit_bzero(auth, n);
	free(auth);
	ctx->api_hdrs = httpc_hdrs_add(ctx->api_hdrs,
	    "Content-Type: application/json");
	ctx->api_hdrs = httpc_hdrs_add(ctx->api_hdrs, "Accept: application/json");
	ctx->api_hdrs = httpc_hdrs_add(ctx->api_hdrs, "Expect:");
	return ctx;
}

/* Release a context, wiping the header that holds the key. */
static void
fal_free(void *vctx)
{
	struct fal_ctx	*ctx = vctx;

	if (ctx == NULL)
		return;
	httpc_hdrs_free(ctx->api_hdrs);
	httpc_free(ctx->http);
	free(ctx);
}

/*
 * Set x up for an exchange with fal's API for job: the headers with the
 * key, fal's request id kept, the answer capped at max_response_bytes,
 * request_timeout cut at the job's deadline.
 */
static void
api_xfer(const struct fal_ctx *ctx, const struct gen_job *job,
    struct httpc_xfer *x, const char *method, const char *url,
    const char *body)
{
	x->method = method;
	x->url = url;
	x->body = body;
	x->hdrs = ctx->api_hdrs;
	x->id_header = "x-fal-request-id";
	x->max = ctx->cfg->fal_max_response_bytes;
	x->timeout_ms = ctx->cfg->fal_request_timeout_ms;
	x->deadline_ms = job->deadline_ms;
}

/* May fal bill the call x made? Not for 401/403, 429 or 5xx. */
static int
xfer_charged(const struct httpc_xfer *x)
{
	if (!x->reached)
		return 0;
	return !(x->status == 401 || x->status == 403 || x->status == 429 ||
	    x->status >= 500);
}

/* Milliseconds until the job's deadline (may be negative). */
static int64_t
left_ms(const struct gen_job *job)
{
	return job->deadline_ms - now_ms();
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
 * Run x, the call that makes an attempt (the sync POST, the queue
 * submit): *a says whether it reached fal, whether fal may bill it, and
 * fal's Retry-After; fal's request id goes to res.
 */
static void
run_call(struct fal_ctx *ctx, struct httpc_xfer *x, struct attempt *a,
    struct gen_result *res)
{
	httpc_run(ctx->http, x);
	a->reached = x->reached;
	a->charged = xfer_charged(x);
	a->retry_after = x->retry_after;
	note_fal_id(res, x->id);
}

/*
 * The model output x came back with (what names the step). Returns 0
 * with it in res, or -1 with the failure in res; frees x's body.
 */
static int
read_output(struct fal_ctx *ctx, struct httpc_xfer *x, const char *what,
    struct gen_result *res)
{
	int	 rc;

	if (httpc_fail(ctx->http, x, what, res) == -1)
		rc = -1;
	else
		rc = fal_parse_result(x->buf, x->len, res);
	httpc_xfer_free(x);
	return rc;
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
	struct httpc_xfer	 x;
	char			 url[2048];

	if (model_url(ctx->cfg->fal_run_base, job->model, url,
	    sizeof(url)) == -1) {
		httpc_failf(ctx->http, res, GE_INTERNAL, "model URL too long");
		return -1;
	}
	memset(&x, 0, sizeof(x));
	api_xfer(ctx, job, &x, "POST", url, input);
	/* The one exchange of the attempt: all the time that is left. */
	x.timeout_ms = left_ms(job);
	x.deadline_ms = 0;
	run_call(ctx, &x, a, res);
	return read_output(ctx, &x, "run", res);
}

/* Ask fal to drop a queued request we no longer wait for. */
static void
cancel(struct fal_ctx *ctx, const struct gen_job *job,
    const struct fal_queue *q)
{
	struct httpc_xfer	 x;

	if (q->cancel_url[0] == '\0')
		return;
	memset(&x, 0, sizeof(x));
	api_xfer(ctx, job, &x, "PUT", q->cancel_url, NULL);
	/* After the deadline: a time of its own, and a small answer. */
	x.timeout_ms = CANCEL_MS;
	x.deadline_ms = 0;
	x.max = 65536;
	httpc_run(ctx->http, &x);
	log_info(job->rid, "fal: cancel %s: HTTP %ld", q->request_id,
	    x.status);
	httpc_xfer_free(&x);
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
	struct httpc_xfer	 x;
	char			 name[32] = "", last[256] = "";
	enum fal_status		 st = FAL_ST_QUEUED;
	int64_t			 nap;

	memset(&x, 0, sizeof(x));
	while (left_ms(job) > 0) {
		api_xfer(ctx, job, &x, "GET", q->status_url, NULL);
		httpc_run(ctx->http, &x);
		if (httpc_fail(ctx->http, &x, "status", res) == 0) {
			st = fal_parse_status(x.buf, x.len, name, sizeof(name));
			last[0] = '\0';
		} else if (!gen_err_retryable(res->err)) {
			httpc_xfer_free(&x);
			return -1;
		} else {
			/* A status poll that failed costs nothing: poll on. */
			strlcpy_chk(last, res->error_message, sizeof(last));
			st = FAL_ST_QUEUED;
		}
		httpc_xfer_free(&x);
		if (st == FAL_ST_COMPLETED) {
			/* Forget a poll that failed on the way. */
			res->err = GE_NONE;
			res->error_message[0] = '\0';
			return 0;
		}
		if (st == FAL_ST_UNKNOWN) {
			httpc_failf(ctx->http, res, GE_BAD_STATUS,
			    "fal status \"%s\"", name);
			return -1;
		}
		if (st == FAL_ST_BAD) {
			httpc_failf(ctx->http, res, GE_BAD_RESPONSE,
			    "status: malformed answer");
			return -1;
		}
		nap = left_ms(job);
		sleep_ms(nap < ctx->cfg->fal_poll_ms ? nap :
		    ctx->cfg->fal_poll_ms);
	}
	cancel(ctx, job, q);
	if (last[0] != '\0')
		httpc_failf(ctx->http, res, GE_TIMEOUT, "not completed in "
		    "time; last poll: %s", last);
	else
		httpc_failf(ctx->http, res, GE_TIMEOUT, "not completed in "
		    "time (%s)", name[0] ? name : "no status");
	return -1;
}

/* One queued call: submit, poll, fetch the result. As attempt_sync(). */
static int
attempt_queue(struct fal_ctx *ctx, const struct gen_job *job,
    const char *input, struct gen_result *res, struct attempt *a)
{
	const struct cfg	*c = ctx->cfg;
	struct fal_queue	 q;
	struct httpc_xfer	 x;
	char			 url[2048];

	if (model_url(c->fal_queue_base, job->model, url, sizeof(url)) == -1) {
		httpc_failf(ctx->http, res, GE_INTERNAL, "model URL too long");
		return -1;
	}
	memset(&x, 0, sizeof(x));
	api_xfer(ctx, job, &x, "POST", url, input);
	run_call(ctx, &x, a, res);
	if (httpc_fail(ctx->http, &x, "submit", res) == -1 ||
	    fal_parse_submit(x.buf, x.len, &q, res) == -1) {
		httpc_xfer_free(&x);
		return -1;
	}
	httpc_xfer_free(&x);
	note_fal_id(res, q.request_id);
	/* The URLs get our key: they must point where the key may go. */
	if (!url_same_origin(c->fal_queue_base, q.status_url) ||
	    !url_same_origin(c->fal_queue_base, q.response_url) ||
	    (q.cancel_url[0] != '\0' &&
	    !url_same_origin(c->fal_queue_base, q.cancel_url))) {
		httpc_failf(ctx->http, res, GE_BAD_RESPONSE, "submit: fal "
		    "answered with a URL off the API host");
		return -1;
	}
	log_info(job->rid, "fal: queued %s", q.request_id[0] ?
	    q.request_id : "(no id)");
	if (poll_status(ctx, job, &q, res) == -1)
		return -1;
	api_xfer(ctx, job, &x, "GET", q.response_url, NULL);
	httpc_run(ctx->http, &x);
	note_fal_id(res, x.id);
	/* fal does not bill a job whose result is a 5xx. */
	if (x.status != 0)
		a->charged = xfer_charged(&x);
	return read_output(ctx, &x, "result", res);
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

	if (url_check(res->url, c->fal_allowed_hosts, c->fal_allow_http,
	    &why) == -1) {
		httpc_failf(ctx->http, res, GE_BAD_URL, "%s", why);
		res->url[0] = '\0';
		return -1;
	}
	if (c->store_mode == STORE_LOCAL &&
	    backend_fetch_store(c, ctx->http, job, res) == -1)
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
