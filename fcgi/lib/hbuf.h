/*
 * hbuf.h: a growable byte buffer with a size cap, for text built piece
 * by piece (pages, URLs, signatures): whatever does not fit sets
 * overflow, which the builder checks once at the end, instead of a
 * check after every piece.
 */
#ifndef PP_HBUF_H
#define PP_HBUF_H

#include <stddef.h>

struct hbuf {
	char	*p;		/* NUL-terminated when len > 0 */
	size_t	 len;
	size_t	 cap;
	size_t	 max;		/* never grows past this */
	int	 overflow;	/* something did not fit (a page: 500) */
};

#define HBUF_MAX	(2 * 1024 * 1024)

void	hbuf_init(struct hbuf *, size_t max);
void	hbuf_free(struct hbuf *);
/* Raw bytes: this program's own text, never outside input. */
void	hbuf_put(struct hbuf *, const char *, size_t);
void	hbuf_puts(struct hbuf *, const char *);
/* Formatted text; its %s arguments must be this program's own. */
void	hbuf_printf(struct hbuf *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * s with everything but RFC 3986's unreserved characters
 * (A-Z a-z 0-9 - . _ ~) percent-encoded in uppercase hex, a space as
 * %20: a URL's query value, and SigV4's canonical encoding.
 */
void	hbuf_pct(struct hbuf *, const char *);

#endif
