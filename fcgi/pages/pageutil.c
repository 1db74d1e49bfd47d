/*
 * pageutil.c: forms, image URLs and the origin, for the HTML pages; see
 * pageutil.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#include "cfg.h"
#include "form.h"
#include "html.h"
#include "pageutil.h"
#include "req.h"
#include "request.h"
#include "util.h"

/* Field name into out, or def when absent or empty. 0 or -1. */
static int
field(const char *form, size_t len, const char *name, char *out,
    size_t outsz, const char *def)
{
	int	 rc = form_get(form, len, name, out, outsz);

	if (rc == -1)
		return -1;
	if (rc == 0 || out[0] == '\0')
		return strlcpy_chk(out, def, outsz);
	return 0;
}

int
pageutil_form(const char *form, size_t len, struct img_form *f,
    const char **reason)
{
	char	 probe[2];

	memset(f, 0, sizeof(*f));
	f->given = form != NULL && form_get(form, len, "text", probe,
	    sizeof(probe)) != 0;
	if (field(form, len, "text", f->text, sizeof(f->text), "") == -1 ||
	    field(form, len, "width", f->width, sizeof(f->width), "1024") ||
	    field(form, len, "height", f->height, sizeof(f->height), "1024") ||
	    field(form, len, "format", f->format, sizeof(f->format), "jpg") ||
	    field(form, len, "seed", f->seed, sizeof(f->seed), "") == -1) {
		*reason = "a field of the form is malformed or too long";
		return -1;
	}
	return 0;
}

/* Only digits: what a width, a height or a seed may hold. */
static int
digits(const char *s)
{
	return s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

int
pageutil_image(struct rq *rq, const struct img_form *f, struct hbuf *path,
    struct hbuf *q, const char **reason)
{
	struct img_req	 r;
	int		 rc;

	if (!digits(f->width) || !digits(f->height) ||
	    strspn(f->format, "abcdefghijklmnopqrstuvwxyz") !=
	    strlen(f->format) || (f->seed[0] != '\0' && !digits(f->seed))) {
		*reason = "width, height and seed are numbers; format is jpg "
		    "or png";
		return 400;
	}
	hbuf_printf(path, "/%sx%s.%s", f->width, f->height, f->format);
	hbuf_puts(q, "text=");
	html_url_arg(q, f->text);
	if (f->seed[0] != '\0')
		hbuf_printf(q, "&seed=%s", f->seed);
	if (path->overflow || q->overflow) {
		*reason = "prompt too long";
		return 400;
	}
	if ((rc = req_parse_image(path->p, q->p, &rq->w->cfg->lim, &r,
	    reason)) != 0)
		return rc;
	img_req_free(&r);
	return 0;
}

static int
is_https(FCGX_ParamArray env)
{
	const char	*https = FCGX_GetParam("HTTPS", env);
	const char	*scheme = FCGX_GetParam("REQUEST_SCHEME", env);

	return (https != NULL && strcmp(https, "on") == 0) ||
	    (scheme != NULL && strcmp(scheme, "https") == 0);
}

/* The Host header, if it is shaped like a host[:port]. */
static const char *
host(FCGX_ParamArray env)
{
	const char	*h = FCGX_GetParam("HTTP_HOST", env);

	if (h == NULL || *h == '\0' || strlen(h) > 255 ||
	    strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-:[]") != strlen(h))
		return NULL;
	return h;
}

/*
 * This host as "host[:port]" into out: the Host header, with the port
 * the request came to when the header has none (Debian's nginx passes
 * $host, without it) and it is not the scheme's own. 0, or -1.
 */
static int
authority(FCGX_ParamArray env, char *out, size_t outsz)
{
	const char	*h = host(env), *port = FCGX_GetParam("SERVER_PORT", env);
	const char	*close;
	int		 has_port;

	if (h == NULL)
		return -1;
	close = strrchr(h, ']');
	has_port = strchr(close != NULL ? close : h, ':') != NULL;
	if (has_port || port == NULL || *port == '\0' ||
	    strspn(port, "0123456789") != strlen(port) ||
	    strcmp(port, is_https(env) ? "443" : "80") == 0)
		return strlcpy_chk(out, h, outsz);
	return snprintf(out, outsz, "%s:%s", h, port) < (int)outsz ? 0 : -1;
}

void
pageutil_origin(struct rq *rq, struct hbuf *b)
{
	FCGX_ParamArray	 env = rq->w->fcgx.envp;
	char		 a[300];

	if (authority(env, a, sizeof(a)) == -1)
		return;
	hbuf_puts(b, is_https(env) ? "https://" : "http://");
	html_text(b, a);
}

/*
 * Does url, "http(s)://AUTHORITY" and, with path set, a path, query or
 * fragment after it, name the authority a?
 */
static int
names_us(const char *url, const char *a, int path)
{
	const char	*rest;
	size_t		 n;

	if (strncmp(url, "http://", 7) == 0)
		rest = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		rest = url + 8;
	else
		return 0;
	n = path ? strcspn(rest, "/?#") : strlen(rest);
	return n == strlen(a) && strncmp(rest, a, n) == 0;
}

int
pageutil_same_origin(struct rq *rq)
{
	FCGX_ParamArray	 env = rq->w->fcgx.envp;
	const char	*o = FCGX_GetParam("HTTP_ORIGIN", env);
	const char	*r = FCGX_GetParam("HTTP_REFERER", env);
	char		 a[300];

	if (authority(env, a, sizeof(a)) == -1)
		return 0;
	if (o != NULL && *o != '\0')
		return names_us(o, a, 0);
	/* No Origin (an older browser): then its Referer, or nothing. */
	return r != NULL && names_us(r, a, 1);
}

int
pageutil_body(struct rq *rq, char *out, size_t max)
{
	const char	*cl = FCGX_GetParam("CONTENT_LENGTH", rq->w->fcgx.envp);
	char		*end;
	long		 n;
	int		 got;

	n = cl != NULL && *cl != '\0' ? strtol(cl, &end, 10) : 0;
	if (cl != NULL && *cl != '\0' && (*end != '\0' || n < 0))
		return -1;
	if ((size_t)n >= max)
		return -1;
	got = n > 0 ? FCGX_GetStr(out, (int)n, rq->w->fcgx.in) : 0;
	if (got != n)
		return -1;
	out[n] = '\0';
	return (int)n;
}
