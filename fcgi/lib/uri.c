/*
 * uri.c: the request target split into path and query under the base
 * path, and the client address behind trusted proxies; see uri.h.
 */
#include <stdlib.h>
#include <string.h>

#include "uri.h"
#include "util.h"

/*
 * The path of a request target in absolute form
 * ("http://host:port/1024x1024.jpg?text=a"). Returns a pointer into uri
 * at the path's '/', uri itself when it has no scheme, or NULL when
 * there is no path.
 */
static const char *
skip_authority(const char *uri)
{
	size_t	 n;

	if (uri[0] == '/')
		return uri;
	n = strspn(uri, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
	if (n == 0 || strncmp(uri + n, "://", 3) != 0)
		return uri;
	uri += n + 3;
	uri += strcspn(uri, "/?#");
	return *uri == '/' ? uri : NULL;
}

int
uri_split(const char *request_uri, const char *script_name,
    const char *base_path, struct uri_parts *out)
{
	const char	*uri = request_uri, *q;
	size_t		 blen = strlen(base_path);
	char		*path;

	out->path = NULL;
	out->query = NULL;
	if (uri == NULL || *uri == '\0')
		uri = script_name;
	if (uri == NULL)
		return 404;
	if (strlen(uri) > URI_MAX)
		return 414;
	if ((uri = skip_authority(uri)) == NULL)
		return 404;
	path = xstrdup(uri);
	path[strcspn(path, "#")] = '\0';
	if ((q = strchr(path, '?')) != NULL) {
		path[q - path] = '\0';
		q++;
	}
	if (strncmp(path, base_path, blen) != 0) {
		free(path);
		return 404;
	}
	/*
	 * Keep the leading '/' of what follows the base path. The move
	 * stays before the path's old terminator, so the query, which
	 * starts past it, is untouched.
	 */
	memmove(path, path + blen - 1, strlen(path + blen - 1) + 1);
	out->path = path;
	out->query = q;
	return 0;
}

/* Is addr (len bytes) one of the comma-separated trusted addresses? */
static int
trusted_addr(const char *trusted, const char *addr, size_t len)
{
	const char	*p = trusted, *end;
	size_t		 n;

	while (p != NULL && *p != '\0') {
		p += strspn(p, " ,");
		end = p + strcspn(p, ",");
		n = (size_t)(end - p);
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (n > 0 && n == len && memcmp(p, addr, len) == 0)
			return 1;
		p = *end ? end + 1 : NULL;
	}
	return 0;
}

/*
 * An address as a proxy may write it, in place, without its port:
 * "[2001:db8::1]:443" and "[2001:db8::1]" become "2001:db8::1",
 * "192.0.2.1:80" becomes "192.0.2.1". Anything else is left as it is
 * (a bare IPv6 address has colons but no port).
 */
static void
strip_port(char *a)
{
	size_t	 n;
	char	*c;

	if (a[0] == '[' && (c = strchr(a, ']')) != NULL &&
	    (c[1] == '\0' || (c[1] == ':' && c[2] != '\0' &&
	    strspn(c + 2, "0123456789") == strlen(c + 2)))) {
		n = (size_t)(c - a - 1);
		memmove(a, a + 1, n);
		a[n] = '\0';
		return;
	}
	if ((c = strchr(a, ':')) != NULL && strchr(c + 1, ':') == NULL &&
	    c > a && strspn(a, "0123456789.") == (size_t)(c - a) &&
	    c[1] != '\0' && strspn(c + 1, "0123456789") == strlen(c + 1))
		*c = '\0';
}

void
uri_client(const char *remote_addr, const char *xff, const char *trusted,
    char *out, size_t outsz)
{
	char	 buf[1024], *tok[32], *save = NULL, *t;
	int	 n = 0;

	strlcpy_chk(out, remote_addr ? remote_addr : "-", outsz);
	if (xff == NULL || trusted == NULL || remote_addr == NULL ||
	    !trusted_addr(trusted, remote_addr, strlen(remote_addr)))
		return;
	/* An over-long header keeps its right-most part: the hops we trust. */
	if (strlen(xff) >= sizeof(buf))
		xff += strlen(xff) - (sizeof(buf) - 1);
	strlcpy_chk(buf, xff, sizeof(buf));
	/* Keep the right-most 32 hops: those are the ones proxies added. */
	for (t = strtok_r(buf, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		t += strspn(t, " ");
		t[strcspn(t, " ")] = '\0';
		strip_port(t);
		if (*t != '\0')
			tok[n++ % 32] = t;
	}
	/* From the right: the first address our proxies did not add. */
	for (int k = 0; k < n && k < 32; k++) {
		t = tok[(n - 1 - k) % 32];
		strlcpy_chk(out, t, outsz);
		if (!trusted_addr(trusted, t, strlen(t)))
			return;
	}
}
