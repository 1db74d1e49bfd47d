#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "uri.h"

/* For printing: a string or "(null)". */
static const char *
s(const char *p)
{
	return p != NULL ? p : "(null)";
}

/* Equal strings, or both NULL. */
static int
same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static void
split_cases(void)
{
	static const struct {
		const char	*uri, *script, *base;
		int		 status;
		const char	*path, *query;
	} cases[] = {
		/* plain path, query, fragment */
		{ "/1024x1024.jpg", NULL, "/", 0, "/1024x1024.jpg", NULL },
		{ "/", NULL, "/", 0, "/", NULL },
		{ "/a?text=b", NULL, "/", 0, "/a", "text=b" },
		{ "/a?", NULL, "/", 0, "/a", "" },
		{ "/a?b?c", NULL, "/", 0, "/a", "b?c" },
		{ "/a?b=/c/", NULL, "/", 0, "/a", "b=/c/" },
		{ "/a#frag", NULL, "/", 0, "/a", NULL },
		{ "/a?b#c", NULL, "/", 0, "/a", "b" },
		{ "/a#b?c", NULL, "/", 0, "/a", NULL },
		{ "/a?#", NULL, "/", 0, "/a", "" },
		{ "/#", NULL, "/", 0, "/", NULL },
		/* absolute form */
		{ "http://host:8080/a?b=c", NULL, "/", 0, "/a", "b=c" },
		{ "http://host/1024x1024.jpg?text=a#x", NULL, "/", 0,
		    "/1024x1024.jpg", "text=a" },
		{ "HTTPS://h/x", NULL, "/", 0, "/x", NULL },
		{ "svn+ssh.x-1://h/x", NULL, "/", 0, "/x", NULL },
		{ "http://u:p@[::1]:80/x", NULL, "/", 0, "/x", NULL },
		{ "http:///x", NULL, "/", 0, "/x", NULL },
		{ "http://h//x", NULL, "/", 0, "//x", NULL },
		/* a scheme without a path */
		{ "http://host", NULL, "/", 404 },
		{ "http://host:8080", NULL, "/", 404 },
		{ "http://", NULL, "/", 404 },
		{ "http://host?x=/y", NULL, "/", 404 },
		{ "http://host#/y", NULL, "/", 404 },
		/* not a scheme: routed as it is, so never under the base */
		{ "://h/x", NULL, "/", 404 },
		{ "h@t://h/x", NULL, "/", 404 },
		{ "http:/x", NULL, "/", 404 },
		{ "http:x", NULL, "/", 404 },
		{ "*", NULL, "/", 404 },
		{ "x/a", NULL, "/", 404 },
		{ "?text=a", NULL, "/", 404 },
		{ "#/a", NULL, "/", 404 },
		/* base path */
		{ "/pp/1024x1024.jpg?text=a", NULL, "/pp/", 0,
		    "/1024x1024.jpg", "text=a" },
		{ "/pp/", NULL, "/pp/", 0, "/", NULL },
		{ "/pp/?q", NULL, "/pp/", 0, "/", "q" },
		{ "/pp/a/b", NULL, "/pp/", 0, "/a/b", NULL },
		{ "/pp//a", NULL, "/pp/", 0, "//a", NULL },
		{ "/a/b/c", NULL, "/a/b/", 0, "/c", NULL },
		{ "http://h:1/pp/a?b", NULL, "/pp/", 0, "/a", "b" },
		/* not under the base path */
		{ "/pp", NULL, "/pp/", 404 },
		{ "/pp?x=/", NULL, "/pp/", 404 },
		{ "/pp#/", NULL, "/pp/", 404 },
		{ "/ppx/a", NULL, "/pp/", 404 },
		{ "/PP/a", NULL, "/pp/", 404 },
		{ "/other/pp/a", NULL, "/pp/", 404 },
		{ "/1024x1024.jpg?text=a", NULL, "/pp/", 404 },
		{ "http://pp/a", NULL, "/pp/", 404 },
		{ "/a/", NULL, "/a/b/", 404 },
		/* no REQUEST_URI: SCRIPT_NAME */
		{ NULL, "/a?b", "/", 0, "/a", "b" },
		{ "", "/a?b", "/", 0, "/a", "b" },
		{ NULL, "/pp/x", "/pp/", 0, "/x", NULL },
		{ "/a", "/promptpix.fcgi", "/", 0, "/a", NULL },
		{ "/pp/a", "/promptpix.fcgi", "/pp/", 0, "/a", NULL },
		/* empty, or nothing at all */
		{ NULL, NULL, "/", 404 },
		{ "", NULL, "/", 404 },
		{ "", "", "/", 404 },
		{ NULL, "", "/", 404 },
		/* hostile: nothing is decoded or normalised */
		{ "/a%00b?%23", NULL, "/", 0, "/a%00b", "%23" },
		{ "/..%2f..%2fetc", NULL, "/", 0, "/..%2f..%2fetc", NULL },
		{ "/../pp/a", NULL, "/pp/", 404 },
		{ "/%70p/a", NULL, "/pp/", 404 },
		{ "/a\r\nSet-Cookie: x", NULL, "/", 0, "/a\r\nSet-Cookie: x",
		    NULL },
		{ "/\xff\xfe?\xc0\xaf", NULL, "/", 0, "/\xff\xfe", "\xc0\xaf" },
		{ "\xff://h/a", NULL, "/", 404 },
		{ " /a", NULL, "/", 404 },
	};
	static char	 junk[] = "junk";
	struct uri_parts u;
	int		 rc;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		u.path = junk;
		u.query = junk;
		rc = uri_split(cases[i].uri, cases[i].script, cases[i].base,
		    &u);
		T_CHECK(rc == cases[i].status && same(u.path, cases[i].path) &&
		    same(u.query, cases[i].query),
		    "split case %zu %s (%s) under %s: %d %s ? %s", i,
		    s(cases[i].uri), s(cases[i].script), cases[i].base, rc,
		    s(u.path), s(u.query));
		free(u.path);
	}
}

/* A request URI of len bytes: prefix, then 'a's, then suffix. */
static char *
long_uri(const char *prefix, size_t len, const char *suffix)
{
	size_t	 pl = strlen(prefix), sl = strlen(suffix);
	char	*p = malloc(len + 1);

	memset(p, 'a', len);
	memcpy(p, prefix, pl);
	memcpy(p + len - sl, suffix, sl);
	p[len] = '\0';
	return p;
}

static void
split_long(void)
{
	struct uri_parts u;
	char		*p;
	int		 rc;

	p = long_uri("/", URI_MAX, "");
	rc = uri_split(p, NULL, "/", &u);
	T_CHECK(rc == 0 && strcmp(u.path, p) == 0 && u.query == NULL,
	    "URI_MAX bytes: %d", rc);
	free(u.path);
	free(p);

	p = long_uri("/", URI_MAX + 1, "");
	rc = uri_split(p, NULL, "/", &u);
	T_CHECK(rc == 414 && u.path == NULL && u.query == NULL,
	    "URI_MAX + 1 bytes: %d", rc);
	T_CHECK(uri_split("", p, "/", &u) == 414, "too long SCRIPT_NAME");
	T_CHECK(uri_split(p, "/a", "/", &u) == 414,
	    "too long REQUEST_URI, SCRIPT_NAME not looked at");
	/* The length is checked first: a long URI is 414, not 404. */
	T_CHECK(uri_split(p, NULL, "/pp/", &u) == 414, "too long, not under");
	free(p);

	/* The query counts; so does the authority. */
	p = long_uri("/a?", URI_MAX + 1, "");
	T_CHECK(uri_split(p, NULL, "/", &u) == 414, "too long query");
	free(p);
	p = long_uri("http://", URI_MAX + 1, "/a");
	T_CHECK(uri_split(p, NULL, "/", &u) == 414, "too long host");
	free(p);
	p = long_uri("http://", URI_MAX, "/a");
	rc = uri_split(p, NULL, "/", &u);
	T_CHECK(rc == 0 && strcmp(u.path, "/a") == 0, "long host: %d", rc);
	free(u.path);
	free(p);

	/* A long path under the base path keeps every byte after it. */
	p = long_uri("/pp/", URI_MAX - 4, "?q#f");
	rc = uri_split(p, NULL, "/pp/", &u);
	T_CHECK(rc == 0 && strlen(u.path) == URI_MAX - 4 - 4 - 3 &&
	    u.path[0] == '/' && u.path[1] == 'a' &&
	    strspn(u.path + 1, "a") == URI_MAX - 12 &&
	    strcmp(u.query, "q") == 0, "long path under base: %d", rc);
	free(u.path);
	free(p);
}

static void
client_cases(void)
{
	static const struct {
		const char	*remote, *xff, *trusted, *want;
	} cases[] = {
		{ "192.0.2.1", NULL, "", "192.0.2.1" },
		{ "192.0.2.1", "10.0.0.1", "", "192.0.2.1" },	/* not trusted */
		{ "127.0.0.1", "10.0.0.1", "127.0.0.1", "10.0.0.1" },
		{ "127.0.0.1", "1.1.1.1, 2.2.2.2", "127.0.0.1", "2.2.2.2" },
		{ "127.0.0.1", "1.1.1.1, 2.2.2.2 ,9.9.9.9", "127.0.0.1,9.9.9.9",
		    "2.2.2.2" },
		{ "127.0.0.1", "9.9.9.9", "127.0.0.1, 9.9.9.9", "9.9.9.9" },
		{ "127.0.0.1", "", "127.0.0.1", "127.0.0.1" },
		{ "127.0.0.1", " , ,", "127.0.0.1", "127.0.0.1" },
		{ "127.0.0.10", "6.6.6.6", "127.0.0.1", "127.0.0.10" },
		/* 40 forged hops before the real one: still the real one. */
		{ "127.0.0.1", "10.9.9.0, 10.9.9.1, 10.9.9.2, 10.9.9.3, 10.9.9.4, "
		    "10.9.9.5, 10.9.9.6, 10.9.9.7, 10.9.9.8, 10.9.9.9, 10.9.9.10, "
		    "10.9.9.11, 10.9.9.12, 10.9.9.13, 10.9.9.14, 10.9.9.15, "
		    "10.9.9.16, 10.9.9.17, 10.9.9.18, 10.9.9.19, 10.9.9.20, "
		    "10.9.9.21, 10.9.9.22, 10.9.9.23, 10.9.9.24, 10.9.9.25, "
		    "10.9.9.26, 10.9.9.27, 10.9.9.28, 10.9.9.29, 10.9.9.30, "
		    "10.9.9.31, 10.9.9.32, 10.9.9.33, 10.9.9.34, 10.9.9.35, "
		    "10.9.9.36, 10.9.9.37, 10.9.9.38, 10.9.9.39, 203.0.113.7",
		    "127.0.0.1", "203.0.113.7" },
		/* REMOTE_ADDR only */
		{ "192.0.2.1", NULL, NULL, "192.0.2.1" },
		{ "192.0.2.1", NULL, "192.0.2.1", "192.0.2.1" },
		{ NULL, NULL, NULL, "-" },
		{ NULL, "10.0.0.1", "127.0.0.1", "-" },
		/* from a trusted proxy: the last hop it did not add */
		{ "127.0.0.1", "1.1.1.1,2.2.2.2", " 127.0.0.1 ", "2.2.2.2" },
		{ "10.0.0.2", "1.1.1.1, 10.0.0.1", "10.0.0.1,10.0.0.2",
		    "1.1.1.1" },
		{ "127.0.0.1", "10.0.0.1, 127.0.0.1", "127.0.0.1", "10.0.0.1" },
		/* every hop trusted: the left-most */
		{ "127.0.0.1", "127.0.0.1, 127.0.0.1", "127.0.0.1",
		    "127.0.0.1" },
		/* from an untrusted peer: the header is ignored */
		{ "192.0.2.1", "10.0.0.1", NULL, "192.0.2.1" },
		{ "192.0.2.1", "10.0.0.1", "127.0.0.1", "192.0.2.1" },
		{ "127.0.0", "10.0.0.1", "127.0.0.1", "127.0.0" },
		{ "27.0.0.1", "10.0.0.1", "127.0.0.1", "27.0.0.1" },
		{ "127.0.0.1 ", "10.0.0.1", "127.0.0.1", "127.0.0.1 " },
		{ "", "10.0.0.1", "", "" },
		{ "", "10.0.0.1", ",", "" },
		{ "", "10.0.0.1", " , ", "" },
		/* garbage: taken as it stands, cut at a space */
		{ "127.0.0.1", "garbage", "127.0.0.1", "garbage" },
		{ "127.0.0.1", "1.1.1.1 2.2.2.2", "127.0.0.1", "1.1.1.1" },
		{ "127.0.0.1", ",,,1.1.1.1,,,", "127.0.0.1", "1.1.1.1" },
		{ "127.0.0.1", "1.1.1.1, unknown", "127.0.0.1", "unknown" },
		{ "127.0.0.1", "   ", "127.0.0.1", "127.0.0.1" },
		/* IPv6 */
		{ "::1", "2001:db8::1", "::1", "2001:db8::1" },
		{ "::1", "2001:db8::1, ::1", "::1, 127.0.0.1", "2001:db8::1" },
		{ "2001:db8::2", "2001:db8::1", "::1", "2001:db8::2" },
		{ "::ffff:127.0.0.1", "6.6.6.6", "127.0.0.1",
		    "::ffff:127.0.0.1" },
		{ "::1", "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", "::1",
		    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" },
		/* a hop with a port, or in brackets: the address alone */
		{ "::1", "[2001:db8::1]:443", "::1", "2001:db8::1" },
		{ "::1", "[2001:db8::1]", "::1", "2001:db8::1" },
		{ "127.0.0.1", "192.0.2.1:5555", "127.0.0.1", "192.0.2.1" },
		{ "127.0.0.1", "192.0.2.1:5555, 10.0.0.1:80",
		    "127.0.0.1, 10.0.0.1", "192.0.2.1" },
		{ "127.0.0.1", "[::1]:80, 192.0.2.9:1", "127.0.0.1, ::1",
		    "192.0.2.9" },
		/* not a port: left as it stands */
		{ "::1", "2001:db8::1:80", "::1", "2001:db8::1:80" },
		{ "127.0.0.1", "192.0.2.1:", "127.0.0.1", "192.0.2.1:" },
		{ "127.0.0.1", "192.0.2.1:x", "127.0.0.1", "192.0.2.1:x" },
		{ "127.0.0.1", "host:80", "127.0.0.1", "host:80" },
		{ "::1", "[2001:db8::1]:", "::1", "[2001:db8::1]:" },
		{ "::1", "[2001:db8::1]x", "::1", "[2001:db8::1]x" },
		{ "127.0.0.1", "[]", "127.0.0.1", "127.0.0.1" },
	};
	char	 out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uri_client(cases[i].remote, cases[i].xff, cases[i].trusted,
		    out, sizeof(out));
		T_CHECK(strcmp(out, cases[i].want) == 0, "client case %zu: %s",
		    i, out);
	}
}

static void
client_hostile(void)
{
	char	 out[64], small[8], big[4096], *p;
	size_t	 n;

	/* Over-long addresses are cut to the buffer. */
	memset(big, '9', 200);
	big[200] = '\0';
	uri_client(big, NULL, NULL, out, sizeof(out));
	T_CHECK(strlen(out) == sizeof(out) - 1 && strspn(out, "9") ==
	    sizeof(out) - 1, "long REMOTE_ADDR cut: %zu", strlen(out));
	uri_client("127.0.0.1", big, "127.0.0.1", out, sizeof(out));
	T_CHECK(strlen(out) == sizeof(out) - 1, "long hop cut: %zu",
	    strlen(out));
	uri_client("192.0.2.123", NULL, NULL, small, sizeof(small));
	T_CHECK(strcmp(small, "192.0.2") == 0, "small buffer: %s", small);
	uri_client("192.0.2.123", NULL, NULL, small, 1);
	T_CHECK(small[0] == '\0', "one-byte buffer: %s", small);

	/* A header longer than we look at: its right-most hops count. */
	memset(big, 'a', 3000);
	strcpy(big + 3000, ", 198.51.100.1");
	uri_client("127.0.0.1", big, "127.0.0.1", out, sizeof(out));
	T_CHECK(strcmp(out, "198.51.100.1") == 0, "long header: %s", out);
	memset(big, ',', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	uri_client("127.0.0.1", big, "127.0.0.1", out, sizeof(out));
	T_CHECK(strcmp(out, "127.0.0.1") == 0, "only commas: %s", out);

	/*
	 * The client, then 40 hops of trusted proxies: the client is past
	 * the 32 looked at, so the answer is the left-most of those.
	 */
	p = big;
	p += sprintf(p, "6.6.6.6");
	for (int i = 0; i < 40; i++)
		p += sprintf(p, ", 10.0.0.1");
	uri_client("127.0.0.1", big, "127.0.0.1,10.0.0.1", out, sizeof(out));
	T_CHECK(strcmp(out, "10.0.0.1") == 0, "40 trusted hops: %s", out);

	/* Whatever the header, the answer is one bounded word. */
	for (n = 0; n < sizeof(big) - 1; n++)
		big[n] = " ,\t1.:a"[(n * 7 + n / 13) % 7];
	big[n] = '\0';
	uri_client("127.0.0.1", big, "127.0.0.1", out, sizeof(out));
	T_CHECK(out[0] != '\0' && strpbrk(out, " ,") == NULL &&
	    strstr(big, out) != NULL, "mixed header: %s", out);
}

void
test_uri(void)
{
	split_cases();
	split_long();
	client_cases();
	client_hostile();
}
