/*
 * falapi.c: an exchange with fal's API, as the backend (fal.c) and the
 * wait for a queued job (falwait.c) both make them (see falint.h).
 */
#include "cfg.h"
#include "falint.h"
#include "util.h"

int64_t
fal_left_ms(const struct gen_job *job)
{
	return job->deadline_ms - now_ms();
}

void
fal_api_xfer(const struct fal_ctx *ctx, const struct gen_job *job,
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
