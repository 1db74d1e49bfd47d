/*
 * backend.c: what the image generators share: finding one by name, and
 * storing an image from its bytes or by downloading its URL.
 */
#include <stdio.h>
#include <string.h>

#include <gd.h>

#include "backend.h"
#include "cfg.h"
#include "falparse.h"		/* the image bytes' checks */
#include "httpc.h"
#include "imgstore.h"
#include "log.h"
#include "store.h"
#include "util.h"

static const struct backend *const backends[] = {
	&backend_placeholder,
	&backend_fal,
};

const struct backend *
backend_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

int
backend_store(const struct cfg *c, const struct gen_job *job,
    const void *data, size_t len, struct gen_result *res)
{
	char	 why[256], what[320];
	int64_t	 size, backoff = c->fal_backoff_ms;
	int	 rc;

	store_file_name(job->hash, job->req->fmt, res->file, sizeof(res->file));
	for (unsigned n = 1; (rc = imgstore_put(job->store, res->file,
	    job->req->fmt, data, len, job->deadline_ms, &size, why,
	    sizeof(why))) < 0; n++) {
		snprintf(what, sizeof(what), "image store: write %u failed (%s)",
		    n, why);
		if (rc == -2 ||
		    backend_retry_wait(c, job, &backoff, 0, what) == -1) {
			res->file[0] = '\0';
			gen_result_fail(res, GE_STORE, why);
			return -1;
		}
	}
	res->ok = 1;
	res->err = GE_NONE;
	res->error_message[0] = '\0';
	res->file_size = size;
	if (res->width == 0 || res->height == 0) {
		/* Unless the backend reported the size it made. */
		res->width = job->req->w;
		res->height = job->req->h;
	}
	strlcpy_chk(res->content_type, img_fmt_mime(job->req->fmt),
	    sizeof(res->content_type));
	return 0;
}

/*
 * One download of url on h into x, with no header but an Accept for
 * images. Returns 0; or -1 with the failure in res, x freed.
 */
static int
fetch(const struct cfg *c, struct httpc *h, const struct gen_job *job,
    const char *url, struct httpc_xfer *x, struct gen_result *res)
{
	struct httpc_hdrs	*hdrs;
	int			 rc;

	hdrs = httpc_hdrs_add(NULL, "Accept: image/jpeg, image/png");
	memset(x, 0, sizeof(*x));
	x->method = "GET";
	x->url = url;
	x->hdrs = hdrs;
	x->timeout_ms = c->fal_request_timeout_ms;
	x->deadline_ms = job->deadline_ms;
	x->max = c->max_image_bytes;
	httpc_run(h, x);
	if ((rc = httpc_fail(h, x, "image download", res)) == -1)
		httpc_xfer_free(x);
	httpc_hdrs_free(hdrs);
	return rc;
}

int
backend_fetch_store(const struct cfg *c, struct httpc *h,
    const struct gen_job *job, struct gen_result *res)
{
	const struct img_req	*r = job->req;
	struct gen_result	 err;
	struct httpc_xfer	 x;
	int64_t			 backoff = c->fal_backoff_ms;
	int			 type, claimed, rc = -1;

	char			 what[96];

	memset(&err, 0, sizeof(err));
	for (unsigned n = 1; ; n++) {
		if (fetch(c, h, job, res->url, &x, &err) == 0)
			break;
		/* The image is paid for: fetch it while time allows. */
		snprintf(what, sizeof(what), "%s: image download %u failed (%s)",
		    c->backend, n, gen_err_name(err.err));
		if (!gen_err_retryable(err.err) ||
		    backend_retry_wait(c, job, &backoff, 0, what) == -1) {
			httpc_failf(h, res, GE_DOWNLOAD, "%s", err.error_message);
			return x.status == 404 || x.status == 410 ? -2 : -1;
		}
	}
	type = fal_image_type(x.buf, x.len);
	claimed = res->content_type[0] ?
	    fal_content_type_fmt(res->content_type) : type;
	if (type != (int)r->fmt || claimed != type)
		httpc_failf(h, res, GE_BAD_IMAGE, "the image is not the %s %s "
		    "claimed", img_fmt_ext(r->fmt), c->backend);
	else
		rc = backend_store(c, job, x.buf, x.len, res);
	httpc_xfer_free(&x);
	return rc;
}

int
backend_retry_wait(const struct cfg *c, const struct gen_job *job,
    int64_t *backoff, unsigned retry_after, const char *what)
{
	int64_t	 wait = (int64_t)retry_after * 1000 > *backoff ?
	    (int64_t)retry_after * 1000 : *backoff;

	if (now_ms() + wait >= job->deadline_ms)
		return -1;
	log_warn(job->rid, "%s; again in %lld ms", what, (long long)wait);
	sleep_ms(wait);
	*backoff = *backoff * 2 > c->fal_backoff_max_ms ?
	    c->fal_backoff_max_ms : *backoff * 2;
	return 0;
}

void *
backend_encode(void *gd_image, enum img_fmt fmt, int *len)
{
	*len = 0;
	return fmt == FMT_PNG ? gdImagePngPtr(gd_image, len) :
	    gdImageJpegPtr(gd_image, len, 85);
}
