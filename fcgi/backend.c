#include <stdio.h>
#include <string.h>

#include <errno.h>

#include <gd.h>

#include "backend.h"
#include "cfg.h"
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
	char	 msg[128];
	int64_t	 size;

	store_file_name(job->hash, job->req->fmt, res->file, sizeof(res->file));
	if (store_write(c->store_dir, res->file, data, len, &size) == -1) {
		snprintf(msg, sizeof(msg), "cannot write the image store: %s",
		    strerror(errno));
		res->file[0] = '\0';
		gen_result_fail(res, GE_STORE, msg);
		return -1;
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

void *
backend_encode(void *gd_image, enum img_fmt fmt, int *len)
{
	*len = 0;
	return fmt == FMT_PNG ? gdImagePngPtr(gd_image, len) :
	    gdImageJpegPtr(gd_image, len, 85);
}
