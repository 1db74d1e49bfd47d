#include <stdio.h>
#include <string.h>

#include <errno.h>

#include <gd.h>

#include "backend.h"
#include "cfg.h"
#include "store.h"
#include "util.h"

/* Seconds a client should wait after an upstream hiccup. */
#define BACKEND_RETRY_AFTER	5

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

void
gen_result_fail(struct gen_result *res, const char *kind, const char *msg)
{
	res->ok = 0;
	strlcpy_chk(res->error_kind, kind, sizeof(res->error_kind));
	strlcpy_chk(res->error_message, msg, sizeof(res->error_message));
}

unsigned
backend_retry_after(const char *kind)
{
	static const char *const passing[] = {
		"rate_limited", "upstream_down", "timeout"
	};

	for (size_t i = 0; i < sizeof(passing) / sizeof(passing[0]); i++)
		if (strcmp(kind, passing[i]) == 0)
			return BACKEND_RETRY_AFTER;
	return 0;
}

int
backend_store(const struct cfg *c, const struct gen_job *job,
    const void *data, size_t len, struct gen_result *res)
{
	char	 msg[128];

	store_file_name(job->hash, job->req->fmt, res->file, sizeof(res->file));
	if (store_write(c->store_dir, res->file, data, len) == -1) {
		snprintf(msg, sizeof(msg), "cannot write the image store: %s",
		    strerror(errno));
		res->file[0] = '\0';
		gen_result_fail(res, "store", msg);
		return -1;
	}
	res->ok = 1;
	res->error_kind[0] = res->error_message[0] = '\0';
	res->file_size = (int64_t)len;
	if (res->width == 0 || res->height == 0) {
		/* Unless the backend reported the size it made. */
		res->width = job->req->w;
		res->height = job->req->h;
	}
	strlcpy_chk(res->content_type, img_fmt_mime(job->req->fmt),
	    sizeof(res->content_type));
	return 0;
}

void *
backend_encode(void *gd_image, enum img_fmt fmt, int *len)
{
	*len = 0;
	return fmt == FMT_PNG ? gdImagePngPtr(gd_image, len) :
	    gdImageJpegPtr(gd_image, len, 85);
}
