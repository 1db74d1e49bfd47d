/*
 * hbuf.c: growable byte buffers with a size cap, and RFC 3986
 * percent-encoding into them; see hbuf.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hbuf.h"
#include "util.h"

void
hbuf_init(struct hbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
hbuf_free(struct hbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Room for n more bytes and a NUL; 0, or -1 (overflow set). */
static int
reserve(struct hbuf *b, size_t n)
{
	size_t	 want;

	if (b->overflow)
		return -1;
	if (n > b->max || b->len + n + 1 > b->max) {
		b->overflow = 1;
		return -1;
	}
	if (b->len + n + 1 <= b->cap)
		return 0;
	want = b->cap ? b->cap : 4096;
	while (want < b->len + n + 1)
		want *= 2;
	if (want > b->max)
		want = b->max;
	b->p = xrealloc(b->p, want);
	b->cap = want;
	return 0;
}

void
hbuf_put(struct hbuf *b, const char *s, size_t n)
{
	if (reserve(b, n) == -1)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
hbuf_puts(struct hbuf *b, const char *s)
{
	hbuf_put(b, s, strlen(s));
}

void
hbuf_printf(struct hbuf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	 small[256];
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		hbuf_put(b, small, (size_t)n);
		return;
	}
	if (reserve(b, (size_t)n) == -1)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
hbuf_pct(struct hbuf *b, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			 e[3];

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			hbuf_put(b, s, 1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 15];
		hbuf_put(b, e, 3);
	}
}
