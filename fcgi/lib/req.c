/*
 * req.c: the image request grammar, /{W}x{H}.{ext}?text=...&seed=...,
 * parsed and normalised without I/O (exact=0|1 too, which is not
 * part of the image).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "req.h"
#include "text.h"
#include "util.h"

static const char *const fmt_ext[FMT__MAX] = { "jpg", "png" };
static const char *const fmt_mime[FMT__MAX] = { "image/jpeg", "image/png" };

const char *
img_fmt_ext(enum img_fmt f)
{
	return fmt_ext[f];
}

const char *
img_fmt_mime(enum img_fmt f)
{
	return fmt_mime[f];
}

/*
 * Parse a decimal of 1..10 digits at s, without sign or leading zero
 * (but "0" itself), up to max. Returns the number of characters used, or
 * 0 if there is no such number there.
 */
static size_t
parse_decimal(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t	 v = 0;
	size_t		 i;

	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		if (i == 10)
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0 || (i > 1 && s[0] == '0') || v > max)
		return 0;
	*out = v;
	return i;
}

int
req_is_image_path(const char *path)
{
	size_t	 n;

	if (*path++ != '/')
		return 0;
	if ((n = strspn(path, "0123456789")) == 0 || path[n] != 'x')
		return 0;
	path += n + 1;
	if ((n = strspn(path, "0123456789")) == 0 || path[n] != '.')
		return 0;
	return 1;
}

static int
parse_ext(const char *s, enum img_fmt *fmt)
{
	if (strcasecmp(s, "jpg") == 0 || strcasecmp(s, "jpeg") == 0)
		*fmt = FMT_JPG;
	else if (strcasecmp(s, "png") == 0)
		*fmt = FMT_PNG;
	else
		return -1;
	return 0;
}

static int
parse_path(const char *path, const struct req_limits *lim,
    struct img_req *r, const char **reason)
{
	uint64_t	 w, h;
	size_t		 n;

	path++;				/* the '/' req_is_image_path saw */
	if ((n = parse_decimal(path, UINT32_MAX, &w)) == 0 ||
	    path[n] != 'x') {
		*reason = "width must be a decimal number without leading zeros";
		return 400;
	}
	path += n + 1;
	if ((n = parse_decimal(path, UINT32_MAX, &h)) == 0 ||
	    path[n] != '.') {
		*reason = "height must be a decimal number without leading zeros";
		return 400;
	}
	if (w < lim->min_dim || w > lim->max_dim ||
	    h < lim->min_dim || h > lim->max_dim) {
		*reason = "width and height must be inside the allowed range";
		return 400;
	}
	if (parse_ext(path + n + 1, &r->fmt) == -1) {
		*reason = "extension must be jpg, jpeg or png";
		return 400;
	}
	r->w = (unsigned)w;
	r->h = (unsigned)h;
	return 0;
}

static int
parse_text(const char *v, size_t len, const struct req_limits *lim,
    struct img_req *r, const char **reason)
{
	char	*buf;
	long	 n;

	/* Each output byte takes at most 3 input bytes, plus spaces to trim. */
	if (len > lim->max_prompt * 3 + 256) {
		*reason = "text is too long";
		return 400;
	}
	buf = xmalloc(len + 1);
	if ((n = text_pct_decode(buf, v, len)) < 0) {
		*reason = "text has a malformed percent-escape";
		goto err;
	}
	switch (text_check(buf, (size_t)n)) {
	case TEXT_BAD_UTF8:
		*reason = "text must be valid UTF-8";
		goto err;
	case TEXT_CONTROL:
		*reason = "text must not contain control characters";
		goto err;
	case TEXT_OK:
		break;
	}
	n = (long)text_normalize(buf, (size_t)n);
	if (n == 0) {
		*reason = "text is empty";
		goto err;
	}
	if ((size_t)n > lim->max_prompt) {
		*reason = "text is too long";
		goto err;
	}
	r->prompt = buf;
	r->prompt_len = (size_t)n;
	return 0;
err:
	free(buf);
	return 400;
}

static int
parse_seed(const char *v, size_t len, struct img_req *r, const char **reason)
{
	char		 buf[32];
	uint64_t	 s;
	long		 n;

	/* 10 digits, each possibly written as a 3-byte escape. */
	if (len == 0 || len > 30 ||
	    (n = text_pct_decode(buf, v, len)) < 0 ||
	    parse_decimal(buf, UINT32_MAX, &s) != (size_t)n) {
		*reason = "seed must be a decimal number from 0 to 4294967295";
		return 400;
	}
	r->has_seed = 1;
	r->seed = (uint32_t)s;
	return 0;
}

/* Walk "a=b&c=d", dispatching text and seed; refuse anything else. */
static int
parse_query(const char *q, const struct req_limits *lim,
    struct img_req *r, const char **reason)
{
	const char	*p, *amp, *eq;
	size_t		 len, nlen;
	int		 seen_text = 0, seen_seed = 0, seen_exact = 0, rc;

	for (p = q; p != NULL && *p != '\0'; p = amp ? amp + 1 : NULL) {
		amp = strchr(p, '&');
		len = amp ? (size_t)(amp - p) : strlen(p);
		eq = memchr(p, '=', len);
		nlen = eq ? (size_t)(eq - p) : len;
		if (len == 0 || (amp && amp[1] == '\0')) {
			*reason = "empty query parameter";
			return 400;
		}
		if (eq == NULL) {
			*reason = "query parameter without a value";
			return 400;
		}
		if (nlen == 4 && memcmp(p, "text", 4) == 0) {
			if (seen_text++) {
				*reason = "repeated parameter: text";
				return 400;
			}
			rc = parse_text(eq + 1, len - 5, lim, r, reason);
		} else if (nlen == 4 && memcmp(p, "seed", 4) == 0) {
			if (seen_seed++) {
				*reason = "repeated parameter: seed";
				return 400;
			}
			rc = parse_seed(eq + 1, len - 5, r, reason);
		} else if (nlen == 5 && memcmp(p, "exact", 5) == 0) {
			if (seen_exact++) {
				*reason = "repeated parameter: exact";
				return 400;
			}
			/* Not part of the image: only whether to look alike. */
			if (len - 6 != 1 || (eq[1] != '0' && eq[1] != '1')) {
				*reason = "exact must be 0 or 1";
				return 400;
			}
			r->exact = eq[1] == '1';
			rc = 0;
		} else {
			*reason = "unknown query parameter (use text, seed "
			    "and exact)";
			return 400;
		}
		if (rc != 0)
			return rc;
	}
	if (!seen_text) {
		*reason = "missing text parameter";
		return 400;
	}
	return 0;
}

int
req_parse_image(const char *path, const char *query,
    const struct req_limits *lim, struct img_req *out, const char **reason)
{
	int	 rc;

	memset(out, 0, sizeof(*out));
	if (!req_is_image_path(path)) {
		*reason = "not found";
		return 404;
	}
	if ((rc = parse_path(path, lim, out, reason)) != 0 ||
	    (rc = parse_query(query, lim, out, reason)) != 0) {
		img_req_free(out);
		return rc;
	}
	return 0;
}

void
img_req_free(struct img_req *r)
{
	free(r->prompt);
	r->prompt = NULL;
}
