/*
 * html.c: growable output buffers, and escaping for HTML text,
 * attributes and URL query values; see html.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
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

/*
 * The length of the well-formed UTF-8 sequence at s (of at most n
 * bytes), or 0 when it is not one: overlong forms, surrogates and
 * values past U+10FFFF are not.
 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t		 len;
	unsigned	 cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void
html_textn(struct hbuf *b, const char *s, size_t n)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0, k;

	while (i < n) {
		switch (u[i]) {
		case '&': hbuf_puts(b, "&amp;"); i++; continue;
		case '<': hbuf_puts(b, "&lt;"); i++; continue;
		case '>': hbuf_puts(b, "&gt;"); i++; continue;
		case '"': hbuf_puts(b, "&quot;"); i++; continue;
		case '\'': hbuf_puts(b, "&#39;"); i++; continue;
		case '\t': case '\n': hbuf_put(b, s + i, 1); i++; continue;
		}
		if (u[i] < 0x20 || u[i] == 0x7f) {
			i++;
			continue;
		}
		if ((k = utf8_len(u + i, n - i)) == 0) {
			hbuf_puts(b, "\xef\xbf\xbd");
			i++;
			continue;
		}
		hbuf_put(b, s + i, k);
		i += k;
	}
}

void
html_text(struct hbuf *b, const char *s)
{
	html_textn(b, s, strlen(s));
}

void
html_url_arg(struct hbuf *b, const char *s)
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
