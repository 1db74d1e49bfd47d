/*
 * html.c: escaping for HTML text, attributes and URL query values; see
 * html.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "util.h"

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
	hbuf_pct(b, s);
}
