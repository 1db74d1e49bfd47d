/*
 * urlpolicy.c: the URL policy (see urlpolicy.h): the host allowlist, the
 * checks on an image URL, and same-origin. No I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "urlpolicy.h"

/*
 * Split an allowlist entry (len bytes, trimmed) into its host and port:
 * "fal.media", "127.0.0.1:8443", "[::1]:8443", "[::1]" or "::1". Sets
 * *h, *hl to the host without brackets and *port to the port, 0 when
 * the entry names none. Returns -1 for a port that is not 1..65535.
 */
static int
entry_split(const char *e, size_t len, const char **h, size_t *hl,
    unsigned *port)
{
	const char	*c = NULL, *close;
	unsigned long	 p = 0;

	*port = 0;
	*h = e;
	*hl = len;
	if (len > 0 && e[0] == '[' &&
	    (close = memchr(e, ']', len)) != NULL) {
		*h = e + 1;
		*hl = (size_t)(close - e - 1);
		if (close + 1 < e + len) {
			if (close[1] != ':')
				return -1;
			c = close + 1;
		}
	} else if ((c = memchr(e, ':', len)) != NULL &&
	    memchr(c + 1, ':', len - (size_t)(c + 1 - e)) != NULL)
		c = NULL;		/* a bare IPv6 address: no port */
	else if (c != NULL)
		*hl = (size_t)(c - e);
	if (c == NULL)
		return 0;
	if (c + 1 == e + len || (size_t)(e + len - c - 1) > 5)
		return -1;
	for (const char *d = c + 1; d < e + len; d++) {
		if (*d < '0' || *d > '9')
			return -1;
		p = p * 10 + (unsigned long)(*d - '0');
	}
	if (p == 0 || p > 65535)
		return -1;
	*port = (unsigned)p;
	return 0;
}

int
url_host_allowed(const char *list, const char *host, unsigned port,
    unsigned default_port)
{
	size_t		 hl = strlen(host), el;
	const char	*e, *end;
	unsigned	 want;

	/* libcurl writes an IPv6 host in brackets; entries may or not. */
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		host++;
		hl -= 2;
	}
	if (hl == 0)
		return 0;
	for (e = list; *e != '\0'; e = *end ? end + 1 : end) {
		while (*e == ' ' || *e == '\t' || *e == '.')
			e++;
		end = e + strcspn(e, ",");
		el = (size_t)(end - e);
		while (el > 0 && (e[el - 1] == ' ' || e[el - 1] == '\t'))
			el--;
		if (el == 0 || entry_split(e, el, &e, &el, &want) == -1)
			continue;
		if (el == 0 || port != (want ? want : default_port))
			continue;
		if (hl == el && strncasecmp(host, e, el) == 0)
			return 1;
		if (hl > el && host[hl - el - 1] == '.' &&
		    strncasecmp(host + hl - el, e, el) == 0)
			return 1;
	}
	return 0;
}

/* URL parts, each NULL if absent. */
struct url_parts {
	char	*scheme;
	char	*host;
	char	*port;
	char	*user;
	char	*password;
};

static void	url_parts_free(struct url_parts *);

/*
 * Split url (which must have a scheme and a host). Returns 0 with p to
 * be freed by url_parts_free(), or -1 with nothing to free. Aborts when
 * out of memory (our policy).
 */
static int
url_split(const char *url, struct url_parts *p)
{
	CURLU	*u;
	int	 rc = -1;

	memset(p, 0, sizeof(*p));
	if ((u = curl_url()) == NULL) {
		fprintf(stderr, "promptpix: out of memory (curl_url)\n");
		abort();
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &p->scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &p->host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &p->port, CURLU_DEFAULT_PORT) ==
	    CURLUE_OK) {
		curl_url_get(u, CURLUPART_USER, &p->user, 0);
		curl_url_get(u, CURLUPART_PASSWORD, &p->password, 0);
		rc = 0;
	} else
		url_parts_free(p);
	curl_url_cleanup(u);
	return rc;
}

/* Free what url_split() got; p may then be split into again. */
static void
url_parts_free(struct url_parts *p)
{
	curl_free(p->scheme);
	curl_free(p->host);
	curl_free(p->port);
	curl_free(p->user);
	curl_free(p->password);
	memset(p, 0, sizeof(*p));
}

int
url_check(const char *url, const char *allowed, int allow_http,
    const char **why)
{
	struct url_parts	 p;
	size_t			 n = strlen(url);
	int			 rc = -1;

	*why = NULL;
	if (n == 0 || n >= 2048)
		*why = "image URL is empty or too long";
	/* Printable ASCII, and no space: 0x21 to 0x7e. */
	for (size_t i = 0; i < n && *why == NULL; i++)
		if ((unsigned char)url[i] < 0x21 || (unsigned char)url[i] > 0x7e)
			*why = "image URL holds spaces or control bytes";
	if (*why != NULL)
		return -1;
	if (url_split(url, &p) == -1) {
		*why = "image URL is not an http(s) URL";
		return -1;
	}
	if (strcasecmp(p.scheme, "https") != 0 &&
	    !(allow_http && strcasecmp(p.scheme, "http") == 0))
		*why = "image URL is not https";
	else if (p.user != NULL || p.password != NULL)
		*why = "image URL has a user name";
	else if (!url_host_allowed(allowed, p.host,
	    (unsigned)strtoul(p.port, NULL, 10),
	    strcasecmp(p.scheme, "https") == 0 ? 443 : 80))
		*why = "image URL host or port is not on allowed_hosts";
	else
		rc = 0;
	url_parts_free(&p);
	return rc;
}

int
url_same_origin(const char *a, const char *b)
{
	struct url_parts	 pa, pb;
	int			 same = 0;

	if (url_split(a, &pa) == -1)
		return 0;
	if (url_split(b, &pb) == -1) {
		url_parts_free(&pa);
		return 0;
	}
	same = strcasecmp(pa.scheme, pb.scheme) == 0 &&
	    strcasecmp(pa.host, pb.host) == 0 &&
	    strcmp(pa.port, pb.port) == 0 && pb.user == NULL &&
	    pb.password == NULL;
	url_parts_free(&pa);
	url_parts_free(&pb);
	return same;
}
