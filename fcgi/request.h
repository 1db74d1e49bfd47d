/*
 * request.h: writing FastCGI responses. Every status code, header and
 * plain-text reason goes out through here, so header values are checked
 * in one place: no CR, LF or other control byte ever reaches a header.
 */
#ifndef PP_REQUEST_H
#define PP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

struct rq;

/* The reason phrase of status ("Found", "Bad Request", ...). */
const char	*http_reason(int status);

/*
 * Start a response: the Status line. Headers follow with http_header();
 * http_end_headers() ends them.
 */
void	http_begin(struct rq *, int status);

/* Is value safe as a header value (printable ASCII only)? */
int	http_value_safe(const char *value);

/*
 * Add a header. Returns -1, writing nothing, if value holds a byte that
 * is not printable ASCII (a header-injection attempt or a bug).
 */
int	http_header(struct rq *, const char *name, const char *value);
void	http_end_headers(struct rq *);

/*
 * A complete plain-text answer of one line: status, reason, and an
 * optional extra header (name NULL for none). Never cached.
 */
void	http_text(struct rq *, int status, const char *hname,
	    const char *hvalue, const char *line);

/*
 * A complete answer with a body of len bytes of type ctype (JSON, the
 * metrics text) and an optional extra header (hname NULL for none).
 * Never cached.
 */
void	http_send(struct rq *, int status, const char *ctype,
	    const char *hname, const char *hvalue, const char *body,
	    size_t len);

/*
 * The request's Authorization header as the web server passed it:
 * HTTP_AUTHORIZATION, or REDIRECT_HTTP_AUTHORIZATION (Apache names it
 * so after an .htaccess rewrite set it; see apache/htaccess). NULL if
 * neither.
 */
const char	*http_authorization(struct rq *);

/* An HTTP-date (RFC 9110) for unix time t, in out (at least 30 bytes). */
void	http_date(int64_t t, char *out, size_t outsz);

#endif
