/*
 * placeholder.c: the default backend. It needs no key and no network:
 * after a configurable delay (standing in for the paid call) it draws a
 * real image of the requested size and format with libgd, the prompt
 * written on it, into the image store. It counts as one paid call (at
 * [generation] cost_per_megapixel) so the savings figures and the budget
 * behave as they will with a paid backend.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gd.h>
#include <gdfontg.h>
#include <gdfontl.h>

#include "backend.h"
#include "cfg.h"
#include "hash.h"
#include "store.h"
#include "util.h"

struct ph_ctx {
	const struct cfg	*cfg;
};

static pthread_once_t	 font_once = PTHREAD_ONCE_INIT;

/* libgd's FreeType cache must be set up before two threads draw text. */
static void
font_setup(void)
{
	gdFontCacheSetup();
}

static void *
ph_init(const struct cfg *c)
{
	struct ph_ctx	*ctx = xcalloc(1, sizeof(*ctx));

	pthread_once(&font_once, font_setup);

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
	uint32_t	 v = hash_prefix(hash, 6);

	return gdImageColorAllocate(im, 40 + (v >> 16 & 0xff) % 120,
	    40 + (v >> 8 & 0xff) % 120, 40 + (v & 0xff) % 120);
}

/* Width of text in pixels at size pt, or -1 if the font cannot draw. */
static int
text_width(const char *font, double pt, const char *text)
{
	int	 br[8];

	if (gdImageStringFT(NULL, br, 0, (char *)font, pt, 0, 0, 0,
	    (char *)text) != NULL)
		return -1;
	return br[2] - br[0];
}

/* Draw line centred horizontally with its baseline at y. */
static void
draw_line(gdImagePtr im, const char *font, double pt, int fg, int y,
    const char *line)
{
	int	 br[8], w = text_width(font, pt, line);

	gdImageStringFT(im, br, fg, (char *)font, pt, 0,
	    (gdImageSX(im) - w) / 2, y, (char *)line);
}

/*
 * A copy of prompt that libgd can draw: its FreeType path decodes UTF-8
 * only up to 3 bytes, so 4-byte sequences (emoji) are left out. The
 * prompt is valid UTF-8 (req.c checked it).
 */
static char *
drawable(const char *prompt)
{
	char	*out = xmalloc(strlen(prompt) + 1), *o = out;

	while (*prompt != '\0') {
		if (((unsigned char)*prompt & 0xf8) == 0xf0) {
			prompt += 4;
			continue;
		}
		*o++ = *prompt++;
	}
	*o = '\0';
	return out;
}

/*
 * Write the prompt with a TrueType font: large, word-wrapped, centred;
 * what does not fit ends in "...". Returns -1 if the font is unusable.
 */
static int
draw_prompt_ft(gdImagePtr im, const char *font, const char *prompt, int fg)
{
	char	 lines[32][512], cur[512], *words, *w, *save = NULL;
	double	 pt;
	int	 br[8], n = 0, lh, maxw, maxl, y, full = 0;

	pt = (gdImageSX(im) < gdImageSY(im) ? gdImageSX(im) :
	    gdImageSY(im)) / 14.0;
	if (pt < 6)
		pt = 6;
	if (gdImageStringFT(NULL, br, 0, (char *)font, pt, 0, 0, 0,
	    (char *)"Ag") != NULL)
		return -1;
	lh = (br[1] - br[5]) * 13 / 10;
	maxw = gdImageSX(im) * 9 / 10;
	maxl = (gdImageSY(im) * 9 / 10) / (lh > 0 ? lh : 1);
	if (maxl > 32)
		maxl = 32;
	if (maxl < 1)
		return 0;	/* too small for a line of text */
	cur[0] = '\0';
	words = drawable(prompt);
	for (w = strtok_r(words, " ", &save); w != NULL && !full;
	    w = strtok_r(NULL, " ", &save)) {
		char	 next[512];

		snprintf(next, sizeof(next), "%s%s%s", cur, cur[0] ? " " : "",
		    w);
		if (cur[0] == '\0' || text_width(font, pt, next) <= maxw) {
			strlcpy_chk(cur, next, sizeof(cur));
			continue;
		}
		if (n == maxl - 1) {
			snprintf(lines[n++], sizeof(lines[0]), "%s ...", cur);
			full = 1;
		} else
			strlcpy_chk(lines[n++], cur, sizeof(lines[0]));
		strlcpy_chk(cur, w, sizeof(cur));
	}
	if (!full && cur[0] != '\0' && n < maxl)
		strlcpy_chk(lines[n++], cur, sizeof(lines[0]));
	free(words);
	y = (gdImageSY(im) - n * lh) / 2 + (br[1] - br[5]);
	for (int i = 0; i < n; i++, y += lh)
		draw_line(im, font, pt, fg, y, lines[i]);
	return 0;
}

/*
 * Without a usable TrueType font: lines that fit the width in libgd's
 * built-in font, which is Latin-1, so bytes outside printable ASCII are
 * drawn as '?'.
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
	int			 size = 0, rc, fg;
	int64_t			 t0 = now_ms(), wait;

	wait = ctx->cfg->placeholder_delay_ms;
	if (t0 + wait > job->deadline_ms) {
		sleep_ms(job->deadline_ms - t0);
		gen_result_fail(res, GE_TIMEOUT, "generation timed out");
		return -1;
	}
	/*
	 * The stand-in for a paid call, counted as one: recorded as made at
	 * once, with nothing a later worker could follow (one that takes
	 * the job over draws it again, as a second call).
	 */
	if (job->calls->begin(job->calls->arg, res) == -1)
		return -1;
	job->calls->end(job->calls->arg, CALL_TAKEN, 1, NULL);
	res->api_calls = 1;
	sleep_ms(wait);
	if ((im = gdImageCreateTrueColor((int)r->w, (int)r->h)) == NULL) {
		gen_result_fail(res, GE_INTERNAL, "cannot allocate the image");
		return -1;
	}
	gdImageFilledRectangle(im, 0, 0, (int)r->w - 1, (int)r->h - 1,
	    bg_colour(im, job->hash));
	fg = gdImageColorAllocate(im, 255, 255, 255);
	if (ctx->cfg->placeholder_font[0] == '\0' ||
	    access(ctx->cfg->placeholder_font, R_OK) != 0 ||
	    draw_prompt_ft(im, ctx->cfg->placeholder_font, r->prompt, fg) == -1)
		draw_prompt(im, r->prompt, fg);
	data = backend_encode(im, r->fmt, &size);
	gdImageDestroy(im);
	if (data == NULL) {
		gen_result_fail(res, GE_INTERNAL, "cannot encode the image");
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
