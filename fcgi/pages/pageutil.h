/*
 * pageutil.h: what the home page and the dashboard share: the image URL
 * a form describes, checked by the image URL grammar itself, and this
 * host's origin as the client named it.
 */
#ifndef PP_PAGEUTIL_H
#define PP_PAGEUTIL_H

#include <stddef.h>

struct hbuf;
struct rq;

/* An image as a form gives it: text, width, height, format, seed. */
struct img_form {
	char	 text[4096];
	char	 width[8];
	char	 height[8];
	char	 format[8];
	char	 seed[16];
	int	 given;		/* the form held a text field */
};

/*
 * Read the form's fields from form[0..len) (a query or a POST body).
 * Missing fields get the defaults (1024, 1024, jpg). Returns 0, or -1
 * with a static reason when a field is malformed.
 */
int	pageutil_form(const char *form, size_t len, struct img_form *f,
	    const char **reason);

/*
 * The image's path below the base path ("/1024x1024.jpg") into path,
 * and its query ("text=...&seed=N") into q, both checked by
 * req_parse_image(). Returns 0, or 400 with its static reason.
 */
int	pageutil_image(struct rq *, const struct img_form *f,
	    struct hbuf *path, struct hbuf *q, const char **reason);

/* "http://HOST" as the request names this host (HTTPS: https), or "". */
void	pageutil_origin(struct rq *, struct hbuf *);

/*
 * For a POST that changes anything: does it come from a page of this
 * host? Its Origin header must name this host or, when it has none,
 * its Referer must (the pages send one to their own host:
 * Referrer-Policy same-origin). Neither, or "Origin: null", is no.
 * Browsers send Origin with every form POST, and another site's page
 * cannot forge either; a program that sends neither is refused.
 */
int	pageutil_same_origin(struct rq *);

/* The body of a POST, up to max bytes, into out (NUL-terminated). */
int	pageutil_body(struct rq *, char *out, size_t max);

#endif
