/*
 * falwait.c: waiting for a queued fal.ai job to complete: its status
 * stream (server-sent events), and status polls when the stream fails.
 */
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "falint.h"
#include "log.h"
#include "util.h"

/* How long the cancel PUT may take, after the deadline has passed. */
#define CANCEL_MS	2000

/* The status stream's reader, as on_events() sees it. */
struct stream {
	struct fal_sse	*sse;
	struct watch	*w;
	int		 bad;		/* an event we could not read */
};


/*
 * Ask fal to drop a queued request we no longer wait for: only while
 * the job is ours (one that was taken over is its new owner's to
 * follow). Once fal accepted, the job is gone: a retry pays anew; one it
 * says is completed is left for a retry to fetch.
 */
static void
cancel(struct fal_ctx *ctx, const struct gen_job *job,
    const struct fal_queue *q)
{
	const struct gen_calls	*calls = job->calls;
	struct httpc_xfer	 x;

	if (q->cancel_url[0] == '\0')
		return;
	if (!calls->ours(calls->arg)) {
		log_info(job->rid, "fal: %s not cancelled: another worker "
		    "has it now", q->request_id);
		return;
	}
	memset(&x, 0, sizeof(x));
	fal_api_xfer(ctx, job, &x, "PUT", q->cancel_url, NULL);
	/* After the deadline: a time of its own, and a small answer. */
	x.timeout_ms = CANCEL_MS;
	x.deadline_ms = 0;
	x.max = 65536;
	httpc_run(ctx->http, &x);
	log_info(job->rid, "fal: cancel %s: HTTP %ld", q->request_id,
	    x.status);
	if (x.status >= 200 && x.status < 300)
		calls->gone(calls->arg);
	httpc_xfer_free(&x);
}

/* A status fal sent (named name), as the job's watch keeps it. */
static void
note_status(struct watch *w, enum fal_status st, const char *name)
{
	w->st = st;
	strlcpy_chk(w->name, name, sizeof(w->name));
	if (w->started_at == 0 &&
	    (st == FAL_ST_RUNNING || st == FAL_ST_COMPLETED))
		w->started_at = now_ms();
}

/*
 * What the job's last status means: 0 it is COMPLETED; 1 wait on; -1 it
 * failed (a status we do not know, a malformed answer), in res. A status
 * we do not know ends the job at fal (FAILED, CANCELED): it is gone.
 */
static int
judge(struct fal_ctx *ctx, const struct watch *w, struct gen_result *res)
{
	switch (w->st) {
	case FAL_ST_COMPLETED:
		/* Forget a poll that failed on the way. */
		res->err = GE_NONE;
		res->error_message[0] = '\0';
		return 0;
	case FAL_ST_UNKNOWN:
		ctx->gone = 1;
		httpc_failf(ctx->http, res, GE_BAD_STATUS, "fal status \"%s\"",
		    w->name);
		return -1;
	case FAL_ST_BAD:
		httpc_failf(ctx->http, res, GE_BAD_RESPONSE,
		    "status: malformed answer");
		return -1;
	default:
		return 1;
	}
}

/*
 * Poll status_url until COMPLETED. Returns 0, or -1 with the failure in
 * res (a timeout if the deadline passed first; the request is then
 * cancelled). Transient errors of a poll are polled through.
 */
static int
poll_status(struct fal_ctx *ctx, const struct gen_job *job,
    const struct fal_queue *q, struct watch *w, struct gen_result *res)
{
	struct httpc_xfer	 x;
	char			 name[32];
	int64_t			 nap;
	int			 rc;

	memset(&x, 0, sizeof(x));
	while (fal_left_ms(job) > 0) {
		fal_api_xfer(ctx, job, &x, "GET", q->status_url, NULL);
		httpc_run(ctx->http, &x);
		if (httpc_fail(ctx->http, &x, "status", res) == 0) {
			note_status(w, fal_parse_status(x.buf, x.len, name,
			    sizeof(name)), name);
			w->last[0] = '\0';
			if ((rc = judge(ctx, w, res)) != 1) {
				httpc_xfer_free(&x);
				return rc;
			}
		} else if (!gen_err_retryable(res->err)) {
			ctx->gone = fal_gone_status(x.status);
			httpc_xfer_free(&x);
			return -1;
		} else	/* A status poll that failed costs nothing: poll on. */
			strlcpy_chk(w->last, res->error_message,
			    sizeof(w->last));
		httpc_xfer_free(&x);
		nap = fal_left_ms(job);
		sleep_ms(nap < ctx->cfg->fal_poll_ms ? nap :
		    ctx->cfg->fal_poll_ms);
	}
	cancel(ctx, job, q);
	if (w->last[0] != '\0')
		httpc_failf(ctx->http, res, GE_TIMEOUT, "not completed in "
		    "time; last poll: %s", w->last);
	else
		httpc_failf(ctx->http, res, GE_TIMEOUT, "not completed in "
		    "time (%s)", w->name[0] ? w->name : "no status");
	return -1;
}

/*
 * The status stream's bytes (httpc's on_data): read its events, note
 * each status. Returns 1 to end the stream (a status past IN_PROGRESS,
 * or an event we cannot read), else 0.
 */
static int
on_events(void *arg, const char *p, size_t n)
{
	struct stream		*s = arg;
	enum fal_sse_got	 got;
	enum fal_status		 st;
	char			 name[32];
	size_t			 k;

	while (n > 0) {
		k = fal_sse_feed(s->sse, p, n, &got);
		p += k;
		n -= k;
		if (got == FAL_SSE_MORE)
			continue;
		st = got == FAL_SSE_EVENT ? fal_parse_status(s->sse->data,
		    s->sse->len, name, sizeof(name)) : FAL_ST_BAD;
		if (st == FAL_ST_BAD) {
			s->bad = 1;
			return 1;
		}
		note_status(s->w, st, name);
		if (st != FAL_ST_QUEUED && st != FAL_ST_RUNNING)
			return 1;
	}
	return 0;
}

/*
 * Follow the job on fal's status stream (GET {status_url}/stream) until
 * COMPLETED. Returns 0; -1 with the failure in res (a status we do not
 * know); or 1 when the stream failed and the caller should poll
 * instead: an error or an end before COMPLETED, an event we cannot
 * read, an answer without a byte within poll_interval (the current
 * status comes at once from fal: silence means something between us
 * buffers the stream), or silence past stream_idle_timeout (fal sends a
 * keep-alive every 15 s).
 */
static int
follow_stream(struct fal_ctx *ctx, const struct gen_job *job,
    const struct fal_queue *q, struct watch *w, struct gen_result *res)
{
	struct httpc_xfer	 x;
	struct gen_result	 why;
	struct stream		 s = { &ctx->sse, w, 0 };
	char			 url[sizeof(q->status_url) + 8];

	if ((size_t)snprintf(url, sizeof(url), "%s/stream", q->status_url) >=
	    sizeof(url))
		return 1;
	memset(&x, 0, sizeof(x));
	fal_api_xfer(ctx, job, &x, "GET", url, NULL);
	x.hdrs = ctx->stream_hdrs;
	x.timeout_ms = fal_left_ms(job);
	x.on_data = on_events;
	x.arg = &s;
	x.first_ms = ctx->cfg->fal_poll_ms;
	x.idle_ms = ctx->cfg->fal_stream_idle_ms;
	fal_sse_init(&ctx->sse);
	httpc_run(ctx->http, &x);
	memset(&why, 0, sizeof(why));
	if (s.bad)
		httpc_failf(ctx->http, &why, GE_BAD_RESPONSE, "status stream: "
		    "an event that is not a status");
	else if (httpc_fail(ctx->http, &x, "status stream", &why) == 0 &&
	    x.stopped) {
		httpc_xfer_free(&x);
		return judge(ctx, w, res);
	} else if (why.err == GE_NONE)
		httpc_failf(ctx->http, &why, GE_BAD_RESPONSE, "status stream: "
		    "ended before COMPLETED");
	httpc_xfer_free(&x);
	if (fal_left_ms(job) > 0)
		log_info(job->rid, "fal: %s: %s; polling", q->request_id,
		    why.error_message);
	return 1;
}

int
fal_wait(struct fal_ctx *ctx, const struct gen_job *job,
    const struct fal_queue *q, struct watch *w, struct gen_result *res)
{
	int	 rc;

	rc = ctx->cfg->fal_status_stream ? follow_stream(ctx, job, q, w, res) :
	    1;
	if (rc == 1)
		rc = poll_status(ctx, job, q, w, res);
	return rc;
}
