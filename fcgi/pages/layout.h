/*
 * layout.h: what every HTML page shares: the head with its stylesheet
 * (light and dark, phone-sized first), the navigation, and the answer
 * with its headers: a Content-Security-Policy that allows nothing but
 * this page's own stylesheet and script (by their SHA-256) and images
 * from this host, so that no asset ever comes from another host and a
 * value that escaped its escaping could still run nothing.
 */
#ifndef PP_LAYOUT_H
#define PP_LAYOUT_H

struct cfg;
struct hbuf;
struct rq;

/* <!doctype html> up to the opening <main>, with title (our text). */
void	layout_begin(struct hbuf *, const struct cfg *, const char *title);

/* The rest of the page: script (NULL: none) inline, then </html>. */
void	layout_end(struct hbuf *, const char *script);

/*
 * Answer with the page in b (500 if it overflowed): status, the CSP
 * for script (the one given to layout_end(), or NULL), and up to two
 * extra headers (names NULL for none).
 */
void	layout_send(struct rq *, int status, const struct hbuf *b,
	    const char *script, const char *h1, const char *v1,
	    const char *h2, const char *v2);

/* The Content-Security-Policy of a page with script, into out. */
void	layout_csp(const struct cfg *, const char *script, char *out,
	    unsigned outsz);

#endif
