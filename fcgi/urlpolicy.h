/*
 * urlpolicy.h: which URLs the responder may fetch, redirect to, or send
 * a key to ([fal] allowed_hosts, allow_http). Pure (urlpolicy.c: no
 * I/O; libcurl is used only for its URL parser), so unit tests and fuzz
 * targets call it.
 */
#ifndef PP_URLPOLICY_H
#define PP_URLPOLICY_H

/*
 * Is host on list ("fal.media, example.org")? An entry allows itself and
 * its subdomains ("v3.fal.media"), compared without case; a host must
 * match on a dot boundary ("evilfal.media" does not match).
 */
int	url_host_allowed(const char *list, const char *host);

/*
 * May we fetch or redirect to url? It must be https (or http, with
 * allow_http), printable ASCII without spaces, shorter than 2048 bytes,
 * without user or password, and its host on allowed. Returns 0, or -1
 * with a static reason in *why.
 */
int	url_check(const char *url, const char *allowed, int allow_http,
	    const char **why);

/*
 * Do a and b have the same scheme, host and port, and b no user or
 * password? Used so that a key only ever goes to the configured API
 * host, whatever URLs the API returns. Returns 1 or 0 (0 also when
 * either does not parse).
 */
int	url_same_origin(const char *a, const char *b);

#endif
