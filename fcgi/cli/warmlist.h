/*
 * warmlist.h: the list of `promptpix warm`, without I/O to anything but
 * the list itself: each line an image URL exactly as a world bakes it
 * ("https://host/1024x1024.jpg?text=..." or "/1024x1024.jpg?text=..."),
 * parsed and hashed by the same code as a request (uri.h, sign.h,
 * req.h, hash.h), so a warm-up names the very row a player's request
 * will. Also the pure sums: distinct images, megapixels, cost, and the
 * tab-separated result line.
 */
#ifndef PP_WARMLIST_H
#define PP_WARMLIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "req.h"

/* Where one image of the list stands, as the command sees it. */
enum warm_state {
	WARM_NEW,	/* no row yet */
	WARM_QUEUED,	/* pending */
	WARM_RUNNING,	/* generating */
	WARM_OK,	/* completed while we waited */
	WARM_EXISTS,	/* completed before (or from the image cache) */
	WARM_FAILED,	/* failed: see kind */
	WARM_BAD	/* the line itself is bad (--skip-bad) */
};

struct warm_item {
	unsigned	 line;		/* 1-based line number in the list */
	char		*url;		/* the line, trimmed; owned */
	char		 hash[65];	/* prompt_hash, as a request's */
	struct img_req	 req;		/* parsed; owned */
	size_t		 first;		/* index of the first item of hash */
	int		 is_signed;	/* the line carries a sig already */
	/* Filled in by the command. */
	enum warm_state	 state;
	char		 kind[32];	/* WARM_FAILED: the error kind */
	char		*image;		/* the store's image URL, or NULL */
	int		 counted;	/* spent added to the progress */
};

struct warm_list {
	struct warm_item *v;
	size_t		 n, cap;
	size_t		 distinct;	/* after warm_dedupe() */
};

/* How the lines are read: the configuration's parts they depend on. */
struct warm_opts {
	const char		*base_path;
	const struct req_limits	*lim;
	const char		*model;
	int			 sign;	/* --sign: a line must not be signed */
};

/*
 * Parse one line (its "\n" or "\r\n" may be left on) into *it. Returns
 * 0 parsed, 1 nothing to do (blank, or a "#" comment), or -1 with a
 * static one-line *why that never echoes the line. A line already
 * signed is accepted (the access parameters are not the image's) unless
 * o->sign.
 */
int	warm_parse(const struct warm_opts *o, const char *line,
	    struct warm_item *it, const char **why);

/*
 * Read every line of in into l. Each bad line is reported on err as
 * "promptpix: NAME:LINE: reason"; with keep_bad it is kept as a
 * WARM_BAD item (url only), else dropped. Returns how many were bad,
 * or -1 if in could not be read.
 */
long	warm_read(FILE *in, const char *name, const struct warm_opts *o,
	    int keep_bad, struct warm_list *l, FILE *err);

/* Mark each item's first of the same hash; sets l->distinct. */
void	warm_dedupe(struct warm_list *l);

/* The estimated cost of pixels (W x H summed) at price per megapixel. */
double	warm_cost(uint64_t pixels, double price);

/*
 * The image URL to print for line: image (the store's public URL) as it
 * is, or, when it has no host ("/img/...") and line has one, on line's
 * scheme and host, ready to paste. A fresh string.
 */
char	*warm_image_url(const char *line, const char *image);

/*
 * The result line of it: status ("ok", "exists", "failed KIND",
 * "queued", "running", "failed bad_line"), the final URL, the public
 * image URL (image; "-" if NULL), tab-separated, with a "\n". Returns
 * the length, or -1 if it does not fit in out.
 */
int	warm_result_line(const struct warm_item *it, const char *final_url,
	    const char *image, char *out, size_t outsz);

/* The status word(s) of a state, as in the result line. */
const char	*warm_state_name(enum warm_state);

void	warm_list_free(struct warm_list *);

#endif
