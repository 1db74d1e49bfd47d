/*
 * fal.c: the fal.ai backend: the fal protocol (queue or sync), its
 * attempts and backoff, and what becomes of the image fal made.
 *
 * Waiting for a queued job to complete is falwait.c, and the API's
 * exchanges are set up by falapi.c, below both. Each worker
 * thread has its own context (falint.h): an HTTP handle (httpc.h),
 * reused so that its connections to fal stay open between generations,
 * and the API's request headers (which hold the key; the headers of a
 * call that makes a job are built for it and wiped after it).
 *
 * A job is submitted once. One generation is up to [fal] max_attempts
 * attempts, but only while fal has surely not taken the job: a call that
 * makes one (a sync POST, a queue submit) is made again only after fal
 * refused it (429, 5xx) or when it never went out (connection refused,
 * connect timeout). One that went out and got no answer (cut, timed
 * out) may have been taken: it counts as paid, and ends the generation
 * (GE_ANSWER_LOST). After a submit fal took, every step is tried again
 * on its own while the deadline allows, never the submit: the wait for
 * COMPLETED (the status stream, [fal] status_stream, with status polls
 * when it fails), the result GET, the download. Steps use the URLs the
 * submit answered with (they are not the model's path:
 * .../fal-ai/flux/requests/ID, not .../schnell/requests). Waits between
 * tries are a capped exponential backoff, or fal's Retry-After if longer
 * (backend_retry_wait()). Then the image URL is checked (urlpolicy.h)
 * and, with [store] mode = local, downloaded into the store
 * (backend_fetch_store()).
 *
 * Accounting: every call that makes a job goes through the job's ledger
 * (backend.h's gen_calls): begin() before it is sent, end() with its
 * fate as soon as it is known: taken (fal's request id and the URLs that
 * follow the job, written to the row before we wait for it), lost,
 * refused, or unsent; charged when fal may bill it (anything but
 * 401/403, 429 and 5xx). A worker that takes the job over follows the
 * job recorded (job->resume: its status, its result, its image) and
 * submits again only once fal no longer holds it (404 or 410 for the
 * status, the result or the file, or a cancel fal accepted: gone()).
 * Only the job's owner cancels it at the deadline. The time from the
 * submit's answer to the first status past IN_QUEUE is the job's queue
 * time (gen_result.queue_ms).
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
#include "falparse.h"
#include "falint.h"
#include "httpc.h"
#include "log.h"
#include "urlpolicy.h"
#include "util.h"

/* How near the deadline a timeout counts as the deadline's. */
#define DEADLINE_SLACK_MS	50

/* What one attempt did, for the accounting and the backoff. */
struct attempt {
	int		 reached;	/* the call went out */
	int		 charged;	/* fal may bill it */
	int		 taken;		/* fal took the job, or may have: it is
					   not submitted again */
	unsigned	 retry_after;
};



/*
 * The API's headers for c: the key, JSON in, and accept (an "Accept:"
 * line). Never fails; the caller frees the list (it wipes the key).
 */
static struct httpc_hdrs *
api_headers(const struct cfg *c, const char *accept)
{
	const char		*key = c->fal_key ? c->fal_key : "";
	size_t			 n = strlen(key) + 32;
	char			*auth = xmalloc(n);
	struct httpc_hdrs	*h;

	snprintf(auth, n, "Authorization: Key %s", key);
	h = httpc_hdrs_add(NULL, auth);
	explicit_bzero(auth, n);
	free(auth);
	h = httpc_hdrs_add(h, "Content-Type: application/json");
	h = httpc_hdrs_add(h, accept);
	return httpc_hdrs_add(h, "Expect:");
}

/*
 * A worker thread's context: its HTTP handle and the API's headers.
 * Never fails (aborts when out of memory); fal_free() releases it.
 */
static void *
fal_init(const struct cfg *c)
{
	struct fal_ctx		*ctx = xcalloc(1, sizeof(*ctx));
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
	ctx->api_hdrs = api_headers(c, "Accept: application/json");
	ctx->stream_hdrs = api_headers(c, "Accept: text/event-stream");
	return ctx;
}

/* Release a context, wiping the headers that hold the key. */
static void
fal_free(void *vctx)
{
	struct fal_ctx	*ctx = vctx;

	if (ctx == NULL)
		return;
	httpc_hdrs_free(ctx->api_hdrs);
	httpc_hdrs_free(ctx->stream_hdrs);
	httpc_free(ctx->http);
	free(ctx);
}

/*
 * The headers of a call that makes a job (queued: the submit; else the
 * sync POST): the API's, and what [fal] asks of fal for it: its queue
 * priority (queue only), the start deadline (never past the job's own;
 * fal refuses 1 s or less, so that is not sent), how long fal keeps the
 * image, and whether it keeps the payloads. The caller frees the list.
 */
static struct httpc_hdrs *
job_headers(const struct fal_ctx *ctx, const struct gen_job *job,
    int queued)
{
	const struct cfg	*c = ctx->cfg;
	struct httpc_hdrs	*h = api_headers(c, "Accept: application/json");
	char			 line[128];
	int64_t			 start = c->fal_start_timeout_ms;

	if (queued && c->fal_priority != FAL_PRIO_OFF)
		h = httpc_hdrs_add(h, job->low_priority &&
		    c->fal_priority == FAL_PRIO_CLASS ?
		    "X-Fal-Queue-Priority: low" : "X-Fal-Queue-Priority: normal");
	if (start > 0) {
		start = (start < fal_left_ms(job) ? start : fal_left_ms(job)) / 1000;
		snprintf(line, sizeof(line), "X-Fal-Request-Timeout: %lld",
		    (long long)start);
		if (start > 1)
			h = httpc_hdrs_add(h, line);
	}
	if (c->fal_output_lifetime > 0) {
		snprintf(line, sizeof(line), "X-Fal-Object-Lifecycle-Preference:"
		    " {\"expiration_duration_seconds\": %u}",
		    c->fal_output_lifetime);
		h = httpc_hdrs_add(h, line);
	}
	if (!c->fal_store_payloads)
		h = httpc_hdrs_add(h, "X-Fal-Store-IO: 0");
	return h;
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
 * Run x, a call that makes a job (the sync POST, the queue submit, what
 * names it), with the job's headers: *a says whether it reached fal,
 * whether fal may bill it, whether fal took the job, and fal's
 * Retry-After; fal's request id goes to res. A call that went out and
 * got no answer that says no (cut, timed out) may have been taken: it
 * is billed and taken, and fails as GE_ANSWER_LOST (GE_TIMEOUT at the
 * deadline). Returns 0 with a 2xx answer in x, or -1 with the failure
 * in res; the caller frees x's body.
 */
static int
run_call(struct fal_ctx *ctx, const struct gen_job *job,
    struct httpc_xfer *x, const char *what, struct attempt *a,
    struct gen_result *res)
{
	const struct gen_calls	*calls = job->calls;
	struct httpc_hdrs	*hdrs;
	char			 why[sizeof(res->error_message)];
	int			 rc, refused;

	/* Not one byte goes out before the row says it may. */
	if (calls->begin(calls->arg, res) == -1)
		return -1;
	hdrs = job_headers(ctx, job, ctx->cfg->fal_mode == FAL_QUEUE);
	x->hdrs = hdrs;
	httpc_run(ctx->http, x);
	x->hdrs = NULL;
	httpc_hdrs_free(hdrs);
	a->reached = x->reached;
	a->charged = xfer_charged(x);
	a->retry_after = x->retry_after;
	note_fal_id(res, x->id);
	rc = httpc_fail(ctx->http, x, what, res);
	/* Not sent, or an answer that says no: fal has not taken it. */
	refused = !x->reached || (x->status != 0 &&
	    (x->status < 200 || x->status >= 300));
	if (rc == 0 || refused) {
		a->taken = !refused;
		/* A 2xx is the caller's to record, with what it says. */
		if (refused)
			calls->end(calls->arg, x->reached ? CALL_REFUSED :
			    CALL_UNSENT, a->charged, NULL);
		return rc;
	}
	/* A 2xx we cannot read, or no answer: fal has it, or may have. */
	a->taken = a->charged = 1;
	calls->end(calls->arg, CALL_LOST, 1, NULL);
	/*
	 * A transfer cut by the timeout that the deadline set is the
	 * deadline's (the two clocks may differ by a few milliseconds).
	 */
	if (x->too_big || (res->err == GE_TIMEOUT &&
	    fal_left_ms(job) <= DEADLINE_SLACK_MS))
		return -1;
	strlcpy_chk(why, res->error_message, sizeof(why));
	httpc_failf(ctx->http, res, GE_ANSWER_LOST, "%s; sent, so fal may "
	    "have the job: not sent again", why);
	return -1;
}

/*
 * Read the model output that x came back with into res. Returns 0, or
 * -1 with the failure in res; frees x's body.
 */
static int
read_output(struct httpc_xfer *x, struct gen_result *res)
{
	int	 rc = fal_parse_result(x->buf, x->len, res);

	httpc_xfer_free(x);
	return rc;
}

/*
 * A sync call's answer, read (rc from read_output()): fal ran the job
 * and billed it. An output we could read is recorded with its image URL,
 * so that a later worker fetches that image instead of paying again; one
 * we could not is lost. Returns rc.
 */
static int
taken_sync(const struct gen_job *job, int rc, struct gen_result *res)
{
	const struct gen_calls	*calls = job->calls;
	struct upstream_job	 u;

	if (rc == -1 && res->err != GE_NSFW) {
		calls->end(calls->arg, CALL_LOST, 1, NULL);
		return rc;
	}
	memset(&u, 0, sizeof(u));
	strlcpy_chk(u.id, res->upstream_id, sizeof(u.id));
	strlcpy_chk(u.image_url, res->url, sizeof(u.image_url));
	calls->end(calls->arg, CALL_TAKEN, 1, &u);
	return rc;
}

/*
 * One synchronous call: POST {run_base}{model}, the output comes back.
 * Returns 0 with the output in res, or -1 with the failure in res; *a
 * says what became of the call.
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
	fal_api_xfer(ctx, job, &x, "POST", url, input);
	/* The one exchange of the attempt: all the time that is left. */
	x.timeout_ms = fal_left_ms(job);
	x.deadline_ms = 0;
	if (run_call(ctx, job, &x, "run", a, res) == -1) {
		httpc_xfer_free(&x);
		return -1;
	}
	return taken_sync(job, read_output(&x, res), res);
}

/*
 * GET the output of a job fal completed, and again after a failure that
 * may pass (a cut, a timeout, 429, 5xx) while the deadline allows: the
 * job is paid for once, however often its result is read. fal does not
 * bill a job whose result is a 5xx: its charge is taken back
 * (gen_calls.unbilled). Returns 0 with the output in res, or -1 with the
 * failure in res (ctx->gone when fal no longer holds the job).
 */
static int
fetch_result(struct fal_ctx *ctx, const struct gen_job *job,
    const struct fal_queue *q, struct gen_result *res)
{
	struct httpc_xfer	 x;
	int64_t			 backoff = ctx->cfg->fal_backoff_ms;
	char			 what[160];

	memset(&x, 0, sizeof(x));
	for (;;) {
		fal_api_xfer(ctx, job, &x, "GET", q->response_url, NULL);
		httpc_run(ctx->http, &x);
		note_fal_id(res, x.id);
		if (httpc_fail(ctx->http, &x, "result", res) == 0)
			return read_output(&x, res);
		httpc_xfer_free(&x);
		if (fal_gone_status(x.status)) {
			ctx->gone = 1;
			return -1;
		}
		snprintf(what, sizeof(what), "fal: result of %s: %s",
		    q->request_id, gen_err_name(res->err));
		if (!gen_err_retryable(res->err) ||
		    backend_retry_wait(ctx->cfg, job, &backoff, x.retry_after,
		    what) == -1)
			break;
	}
	/* Its last answer a failure fal does not bill (a 5xx): no charge. */
	if (x.status != 0 && !xfer_charged(&x))
		job->calls->unbilled(job->calls->arg);
	return -1;
}

/*
 * The queue URLs fal answered with get our key: they must point where
 * the key may go. Returns 0, or -1 with the failure in res.
 */
static int
queue_urls_ok(struct fal_ctx *ctx, const struct fal_queue *q,
    struct gen_result *res)
{
	const char	*base = ctx->cfg->fal_queue_base;

	if (url_same_origin(base, q->status_url) &&
	    url_same_origin(base, q->response_url) &&
	    (q->cancel_url[0] == '\0' || url_same_origin(base, q->cancel_url)))
		return 0;
	httpc_failf(ctx->http, res, GE_BAD_RESPONSE, "submit: fal answered "
	    "with a URL off the API host");
	return -1;
}

/* Write the job fal took to the row, before we wait for it. */
static void
record_queued(const struct gen_job *job, const struct fal_queue *q)
{
	struct upstream_job	 u;

	memset(&u, 0, sizeof(u));
	strlcpy_chk(u.id, q->request_id, sizeof(u.id));
	strlcpy_chk(u.status_url, q->status_url, sizeof(u.status_url));
	strlcpy_chk(u.response_url, q->response_url, sizeof(u.response_url));
	strlcpy_chk(u.cancel_url, q->cancel_url, sizeof(u.cancel_url));
	job->calls->end(job->calls->arg, CALL_TAKEN, 1, &u);
}

/*
 * A job in fal's queue since queued_at (now_ms() of its submit's
 * answer; 0: a job taken before, whose queue time we did not see): wait
 * for COMPLETED (the status stream, else polls), then fetch its result.
 * Returns 0 with the output in res, or -1 with the failure in res
 * (ctx->gone set when fal no longer holds the job).
 */
static int
follow_queued(struct fal_ctx *ctx, const struct gen_job *job,
    const struct fal_queue *q, int64_t queued_at, struct gen_result *res)
{
	struct watch	 w;

	memset(&w, 0, sizeof(w));
	w.queued_at = queued_at;
	if (fal_wait(ctx, job, q, &w, res) == -1)
		return -1;
	res->queue_ms = queued_at > 0 ? w.started_at - w.queued_at : -1;
	return fetch_result(ctx, job, q, res);
}

/*
 * One queued job: submit it; wait for COMPLETED (the status stream,
 * else polls); fetch its result. As attempt_sync().
 */
static int
attempt_queue(struct fal_ctx *ctx, const struct gen_job *job,
    const char *input, struct gen_result *res, struct attempt *a)
{
	const struct cfg	*c = ctx->cfg;
	struct fal_queue	 q;
	struct httpc_xfer	 x;
	char			 url[2048];
	int64_t			 answered;
	int			 rc;

	if (model_url(c->fal_queue_base, job->model, url, sizeof(url)) == -1) {
		httpc_failf(ctx->http, res, GE_INTERNAL, "model URL too long");
		return -1;
	}
	memset(&x, 0, sizeof(x));
	fal_api_xfer(ctx, job, &x, "POST", url, input);
	rc = run_call(ctx, job, &x, "submit", a, res);
	answered = now_ms();
	if (rc == 0) {
		if ((rc = fal_parse_submit(x.buf, x.len, &q, res)) == 0 &&
		    (rc = queue_urls_ok(ctx, &q, res)) == 0)
			record_queued(job, &q);
		else	/* fal took a job we cannot follow */
			job->calls->end(job->calls->arg, CALL_LOST, 1, NULL);
	}
	httpc_xfer_free(&x);
	if (rc == -1)
		return -1;
	note_fal_id(res, q.request_id);
	log_info(job->rid, "fal: queued %s", q.request_id[0] ?
	    q.request_id : "(no id)");
	return follow_queued(ctx, job, &q, answered, res);
}

/* Forget what a failed attempt left in res, but not the accounting. */
static void
attempt_reset(struct gen_result *res)
{
	unsigned	 calls = res->api_calls;

	memset(res, 0, sizeof(*res));
	res->api_calls = calls;
	res->queue_ms = -1;
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
 * ([store] mode = remote) or fetch it into the store (local, s3). Returns 0 with res->ok
 * set, or -1 with the failure in res; -2 when the file is gone at fal
 * (404, 410).
 */
static int
deliver(struct fal_ctx *ctx, const struct gen_job *job,
    struct gen_result *res)
{
	const struct cfg	*c = ctx->cfg;
	const struct img_req	*r = job->req;
	const char		*why;
	int			 rc;

	if (url_check(res->url, c->fal_allowed_hosts, c->fal_allow_http,
	    &why) == -1) {
		httpc_failf(ctx->http, res, GE_BAD_URL, "%s", why);
		res->url[0] = '\0';
		return -1;
	}
	if (c->store_mode != STORE_REMOTE &&
	    (rc = backend_fetch_store(c, ctx->http, job, res)) < 0)
		return rc;
	if (c->store_mode != STORE_REMOTE || res->content_type[0] == '\0')
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
 * Up to [fal] max_attempts calls, each only after fal surely refused
 * the last (429, 5xx) or it never went out, with backoff. Returns 0
 * with the output in res, or -1 with the failure, its Retry-After hint
 * and accounting in res.
 */
static int
attempts(struct fal_ctx *ctx, const struct gen_job *job,
    struct gen_result *res)
{
	const struct cfg	*c = ctx->cfg;
	struct attempt		 a;
	char			*input;
	int64_t			 backoff = c->fal_backoff_ms;
	unsigned		 n;
	int			 rc;
	char			 what[96];

	input = fal_build_input(job->req, c->fal_steps, c->fal_safety);
	for (n = 1; ; n++) {
		memset(&a, 0, sizeof(a));
		attempt_reset(res);
		rc = c->fal_mode == FAL_SYNC ?
		    attempt_sync(ctx, job, input, res, &a) :
		    attempt_queue(ctx, job, input, res, &a);
		res->api_calls += a.reached ? 1 : 0;
		/* A job fal took, or may have, is never submitted again. */
		if (rc == 0 || a.taken || !gen_err_retryable(res->err) ||
		    n >= c->fal_max_attempts)
			break;
		snprintf(what, sizeof(what), "fal: attempt %u of %u: %s", n,
		    c->fal_max_attempts, gen_err_name(res->err));
		if (backend_retry_wait(c, job, &backoff, a.retry_after,
		    what) == -1)
			break;
	}
	free(input);
	if (rc == -1 && gen_err_retry_after(res->err) > 0 && a.retry_after > 0)
		res->retry_after = a.retry_after;
	return rc;
}

/*
 * Follow the job a worker before us recorded (job->resume): its image
 * (a sync call's), or its status and result (a queued one). Returns 0
 * with the output in res, -1 with the failure in res, or 1 when fal no
 * longer holds the job (or it cannot be followed): a new call is due.
 */
static int
follow(struct fal_ctx *ctx, const struct gen_job *job, struct gen_result *res)
{
	const struct upstream_job	*u = job->resume;
	struct fal_queue		 q;

	log_info(job->rid, "fal: following %s, taken before",
	    u->id[0] ? u->id : "the job");
	attempt_reset(res);
	strlcpy_chk(res->upstream_id, u->id, sizeof(res->upstream_id));
	if (u->image_url[0] != '\0') {
		strlcpy_chk(res->url, u->image_url, sizeof(res->url));
		return 0;
	}
	memset(&q, 0, sizeof(q));
	strlcpy_chk(q.request_id, u->id, sizeof(q.request_id));
	strlcpy_chk(q.status_url, u->status_url, sizeof(q.status_url));
	strlcpy_chk(q.response_url, u->response_url, sizeof(q.response_url));
	strlcpy_chk(q.cancel_url, u->cancel_url, sizeof(q.cancel_url));
	if (q.status_url[0] == '\0' || q.response_url[0] == '\0' ||
	    queue_urls_ok(ctx, &q, res) == -1)
		return 1;
	if (follow_queued(ctx, job, &q, 0, res) == 0)
		return 0;
	return ctx->gone ? 1 : -1;
}

/*
 * What fal made, made ours: the image delivered, or with [fal] nsfw =
 * blocked the blocked image. rc is how the output was got (0, or -1
 * with res failed). Returns 0 with res->ok set, -1 with the failure in
 * res, or -2 when fal no longer holds the image.
 */
static int
keep(struct fal_ctx *ctx, const struct gen_job *job, int rc,
    struct gen_result *res)
{
	if (rc == 0)
		return deliver(ctx, job, res);
	if (res->err != GE_NSFW)
		return -1;
	/* Its result is used up: a retry after an operator's clear pays anew. */
	job->calls->gone(job->calls->arg);
	return ctx->cfg->fal_nsfw == NSFW_BLOCKED ?
	    store_blocked(ctx, job, res) : -1;
}

/*
 * The backend's generate(): a job taken before is followed; otherwise,
 * or once fal no longer holds it, new attempts. Then the delivery (or
 * the blocked image). Returns 0 with res->ok set, or -1 with the
 * failure's kind, message, Retry-After hint and accounting in res.
 */
static int
fal_generate(void *vctx, const struct gen_job *job, struct gen_result *res)
{
	struct fal_ctx	*ctx = vctx;
	int64_t		 t0 = now_ms();
	int		 rc = 1;

	ctx->gone = 0;
	if (job->resume != NULL &&
	    (rc = keep(ctx, job, follow(ctx, job, res), res)) == -2)
		rc = 1;
	if (rc == 1) {
		if (job->resume != NULL) {
			log_info(job->rid, "fal: the job taken before is gone; "
			    "a new one");
			job->calls->gone(job->calls->arg);
		}
		ctx->gone = 0;
		rc = keep(ctx, job, attempts(ctx, job, res), res);
	}
	res->upstream_ms = now_ms() - t0;
	/* fal ended the job, or dropped its file: a retry pays for a new one. */
	if (rc == -2 || (rc == -1 && ctx->gone)) {
		job->calls->gone(job->calls->arg);
		rc = -1;
	}
	if (rc == 0) {
		log_info(job->rid, "fal: done %s: %lld ms, queue %lld ms, "
		    "inference %lld ms, %u call(s)", res->upstream_id[0] ?
		    res->upstream_id : "-", (long long)res->upstream_ms,
		    (long long)res->queue_ms, (long long)res->inference_ms,
		    res->api_calls);
		return 0;
	}
	res->ok = 0;
	log_warn(job->rid, "fal: failed: %s after %u call(s)",
	    gen_err_name(res->err), res->api_calls);
	log_debug(job->rid, "fal: %s: %s", gen_err_name(res->err),
	    res->error_message);
	return -1;
}

const struct backend backend_fal = {
	"fal", fal_init, fal_generate, fal_free
};
