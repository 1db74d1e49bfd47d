/*
 * uri.h: what a request names and who sent it, worked out without I/O
 * from the plain strings of the FastCGI environment: the request target
 * split into path and query under the configured base path, and the
 * client address behind trusted proxies. Nothing here knows libfcgi;
 * main.c reads the parameters and hands them over.
 */
#ifndef PP_URI_H
#define PP_URI_H

#include <stddef.h>

/* The longest request URI we route; a longer one is refused with 414. */
#define URI_MAX		16384

/* A request target, split by uri_split(). */
struct uri_parts {
	char		*path;	/* owned, free(): base path stripped, starts
				   with '/', holds no '?' or '#' */
	const char	*query;	/* after the '?', fragment cut, or NULL;
				   inside path's allocation, so freed with
				   it and valid as long as path is */
};

/*
 * Split the request target into path and query and strip base_path,
 * which starts and ends with '/' (cfg.c makes sure of it) and of which
 * the path keeps the final '/': with base_path "/pp/", "/pp/a?b" is path
 * "/a", query "b"; "/pp" is not under it. Nothing is decoded.
 *
 * request_uri is REQUEST_URI; when it is NULL or empty, script_name
 * (SCRIPT_NAME) is used instead; either may be NULL. Every front sends
 * the target as the client wrote it in REQUEST_URI (nginx,
 * mod_proxy_fcgi, and mod_fcgid after the .htaccess rewrite, where
 * SCRIPT_NAME is promptpix.fcgi instead); that is what we route on, so
 * the image URL is the same behind all of them. A target in absolute
 * form ("http://host:port/path?query", which an HTTP/1.1 server must
 * accept; Apache passes it unchanged, nginx only the path) is routed on
 * its path. A fragment (nginx lets "#" through) is cut off first, so it
 * is part of neither path nor query.
 *
 * Returns 0 with out filled in; 414 when the URI is longer than URI_MAX
 * bytes; 404 when there is no URI, no path, or the path is not under
 * base_path. On a refusal out->path and out->query are NULL and there is
 * nothing to free. The arguments are only read, and not kept.
 */
int	uri_split(const char *request_uri, const char *script_name,
	    const char *base_path, struct uri_parts *out);

/*
 * The client address: remote_addr (REMOTE_ADDR; "-" when NULL), or, when
 * that is one of the trusted proxies (comma-separated addresses, spaces
 * allowed; NULL trusts none), the right-most address in xff
 * (X-Forwarded-For, comma-separated, may be NULL) that is not a trusted
 * proxy: the first hop our proxies did not add. When every hop is
 * trusted, the left-most one looked at; when xff names none,
 * remote_addr. Only the right-most 32 hops of the last 1023 bytes of
 * xff are looked at, so a client cannot push the real hop out of view
 * with a long forged list. A hop written with a port ("192.0.2.1:80",
 * "[2001:db8::1]:443") or in brackets is taken without them, so the
 * rate limit sees the address. Addresses are compared as strings, not
 * parsed. Writes at most outsz-1 bytes and a NUL to out (outsz > 0),
 * cutting a longer address.
 */
void	uri_client(const char *remote_addr, const char *xff,
	    const char *trusted, char *out, size_t outsz);

#endif
