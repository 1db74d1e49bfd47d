/*
 * placeholder.c: the default backend. It needs no key and no network:
 * after a configurable delay (standing in for the paid call) it draws a
 * real image of the requested size and format with libgd, the prompt
 * written on it, into the image store. It counts as one API call so the
 * savings figures behave as they will with a paid backend.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gd.h>
#include <gdfontg.h>
#include <gdfontl.h>

#include "backend.h"
#include "cfg.h"
#include "store.h"
#include "util.h"

struct ph_ctx {
	const struct cfg	*cfg;
};

static void *
ph_init(const struct cfg *c)
{
	struct ph_ctx	*ctx = xcalloc(1, sizeof(*ctx));

	ctx->cfg = c;
	return ctx;
}

static void
ph_free(void *ctx)
{
	free(ctx);
}

/* A background colour derived from the hash, dark enough for white text. */
static int
bg_colour(gdImagePtr im, const char *hash)
{
	unsigned	 v = (unsigned)strtoul((char[]){ hash[0], hash[1],
	    hash[2], hash[3], hash[4], hash[5], '\0' }, NULL, 16);

	return gdImageColorAllocate(im, 40 + (v >> 16 & 0xff) % 120,
	    40 + (v >> 8 & 0xff) % 120, 40 + (v & 0xff) % 120);
}

/*
 * Write the prompt in lines that fit the width. libgd's built-in fonts
 * are Latin-1, so bytes outside printable ASCII are drawn as '?'.
 */
static void
draw_prompt(gdImagePtr im, const char *prompt, int fg)
{
	gdFontPtr	 font = gdImageSX(im) >= 256 ? gdFontGetGiant() :
	    gdFontGetLarge();
	int		 cols = (gdImageSX(im) - 16) / font->w;
	int		 rows = (gdImageSY(im) - 16) / font->h;
	size_t		 len = strlen(prompt), pos = 0;
	char		 line[512];
	int		 row, i, n;

	if (cols < 1 || rows < 1)
		return;
	if (cols > (int)sizeof(line) - 1)
		cols = (int)sizeof(line) - 1;
	for (row = 0; row < rows && pos < len; row++) {
		n = (int)(len - pos) < cols ? (int)(len - pos) : cols;
		for (i = 0; i < n; i++) {
			unsigned char	 c = (unsigned char)prompt[pos + i];

			line[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
		}
		line[n] = '\0';
		gdImageString(im, font, 8, 8 + row * font->h,
		    (unsigned char *)line, fg);
		pos += (size_t)n;
	}
}

static int
ph_generate(void *vctx, const struct gen_job *job, struct gen_result *res)
{
	struct ph_ctx		*ctx = vctx;
	const struct img_req	*r = job->req;
	gdImagePtr		 im;
	void			*data;
	int			 size = 0, rc;
	int64_t			 t0 = now_ms(), wait;

	wait = ctx->cfg->placeholder_delay_ms;
	if (t0 + wait > job->deadline_ms) {
		sleep_ms(job->deadline_ms - t0);
		gen_result_fail(res, "timeout", "generation timed out");
		return -1;
	}
	sleep_ms(wait);
	res->api_calls = 1;
	res->cost_usd = (double)r->w * r->h / 1e6 *
	    ctx->cfg->cost_per_megapixel;
	if ((im = gdImageCreateTrueColor((int)r->w, (int)r->h)) == NULL) {
		gen_result_fail(res, "internal", "cannot allocate the image");
		return -1;
	}
	gdImageFilledRectangle(im, 0, 0, (int)r->w - 1, (int)r->h - 1,
	    bg_colour(im, job->hash));
	draw_prompt(im, r->prompt, gdImageColorAllocate(im, 255, 255, 255));
	data = backend_encode(im, r->fmt, &size);
	gdImageDestroy(im);
	if (data == NULL) {
		gen_result_fail(res, "internal", "cannot encode the image");
		return -1;
	}
	rc = backend_store(ctx->cfg, job, data, (size_t)size, res);
	gdFree(data);
	res->upstream_ms = now_ms() - t0;
	return rc;
}

const struct backend backend_placeholder = {
	"placeholder", ph_init, ph_generate, ph_free
};
