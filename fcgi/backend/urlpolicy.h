/*
 * urlpolicy.h: which URLs the responder may fetch, redirect to, or send
 * a key to ([fal] allowed_hosts, allow_http). Pure (urlpolicy.c: no
 * I/O; libcurl is used only for its URL parser), so unit tests and fuzz
 * targets call it.
 */
#ifndef PP_URLPOLICY_H
#define PP_URLPOLICY_H

/*
 * Are host and port on list ("fal.media, example.org, 127.0.0.1:8443")?
 * An entry allows its host and the host's subdomains ("v3.fal.media"),
 * compared without case; a host must match on a dot boundary
 * ("evilfal.media" does not match). An entry without a port allows only
 * default_port (the scheme's: 443 for https, 80 for http); one with a
 * port ("host:8443", "[::1]:8443") allows only that port. An entry
 * whose port is not 1..65535 allows nothing. host may be an IPv6
 * address in brackets, as libcurl writes it.
 */
int	url_host_allowed(const char *list, const char *host, unsigned port,
	    unsigned default_port);

/*
 * May we fetch or redirect to url? It must be https (or http, with
 * allow_http), printable ASCII without spaces, shorter than 2048 bytes,
 * without user or password, and its host and port on allowed
 * (url_host_allowed()). Returns 0, or -1 with a static reason in *why.
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
