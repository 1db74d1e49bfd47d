/*
 * req.h: the image request grammar, parsed without I/O.
 *
 *   /{W}x{H}.{ext}?text=PROMPT[&seed=N][&exact=0|1]
 *
 * ext is jpg, jpeg or png (any case; jpg and jpeg name the same image).
 * W and H are decimal, without sign or leading zero, inside the configured
 * range. text is percent-decoded ('+' is a space), must be UTF-8 without
 * control characters and holds 1..max_prompt bytes after trimming and
 * collapsing spaces. seed is an unsigned 32-bit decimal. Any other, empty
 * or repeated parameter is refused.
 */
#ifndef PP_REQ_H
#define PP_REQ_H

#include <stddef.h>
#include <stdint.h>

enum img_fmt {
	FMT_JPG,
	FMT_PNG,
	FMT__MAX
};

/* "jpg" or "png": the canonical extension, also used in file names. */
const char	*img_fmt_ext(enum img_fmt);
/* "image/jpeg" or "image/png". */
const char	*img_fmt_mime(enum img_fmt);

struct req_limits {
	unsigned	 min_dim;
	unsigned	 max_dim;
	size_t		 max_prompt;	/* bytes, after normalisation */
};

struct img_req {
	unsigned	 w;
	unsigned	 h;
	enum img_fmt	 fmt;
	int		 has_seed;
	uint32_t	 seed;
	char		*prompt;	/* normalised; owned, img_req_free() */
	size_t		 prompt_len;
	int		 exact;		/* &exact=1: no similar image; not
					   part of the image's identity */
};

/*
 * Is path shaped like an image name ("/" digits "x" digits "." ...)?
 * Used by routing: such paths reach req_parse_image(), which then tells
 * what exactly is wrong; anything else is a 404.
 */
int	req_is_image_path(const char *path);

/*
 * Parse path and query (query may be NULL) into *out. Returns 0 on
 * success; otherwise 400 and sets *reason to a static one-line text that
 * never echoes the input. On failure *out holds nothing to free.
 */
int	req_parse_image(const char *path, const char *query,
	    const struct req_limits *, struct img_req *out,
	    const char **reason);

void	img_req_free(struct img_req *);

#endif
