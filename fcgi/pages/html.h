/*
 * html.h: the one place HTML output is built and escaped (as cgit's
 * html.c). Pages write into a growable buffer with a size cap: literal
 * markup through hbuf_puts()/hbuf_printf(), and every value that came
 * from outside (a prompt, a header, a database string) through the
 * escaping function of its context.
 */
#ifndef PP_HTML_H
#define PP_HTML_H

#include <stddef.h>

#include "hbuf.h"

/*
 * Text for an element's content or a double-quoted attribute value:
 * & < > " ' escaped, control bytes other than tab and newline dropped,
 * bytes of broken UTF-8 replaced by U+FFFD.
 */
void	html_text(struct hbuf *, const char *);
void	html_textn(struct hbuf *, const char *, size_t);
#define html_attr	html_text

/*
 * A query-string value: everything but unreserved characters
 * (RFC 3986) percent-encoded, a space as %20 (hbuf_pct()). The result
 * is safe in a URL and in a double-quoted attribute.
 */
void	html_url_arg(struct hbuf *, const char *);

#endif
