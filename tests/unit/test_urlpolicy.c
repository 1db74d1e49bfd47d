/*
 * test_urlpolicy.c: unit tests of the URL policy (urlpolicy.c): image
 * URLs against the allowlist, host matching, and same-origin.
 */
#include <stddef.h>

#include "t.h"
#include "urlpolicy.h"

void
test_urlpolicy(void)
{
	static const struct {
		const char	*url;
		int		 http;
		int		 ok;
	} cases[] = {
		{ "https://fal.media/files/x.jpg", 0, 1 },
		{ "https://v3.fal.media/files/x.jpg", 0, 1 },
		{ "https://V3.FAL.MEDIA/files/x.jpg", 0, 1 },
		{ "https://v3.fal.media:443/files/x.jpg", 0, 1 },
		/* another port of an allowed host: refused */
		{ "https://v3.fal.media:8443/files/x.jpg", 0, 0 },
		{ "https://fal.media:80/x.jpg", 0, 0 },
		{ "https://fal.media:22/x.jpg", 0, 0 },
		{ "http://fal.media:443/x.jpg", 1, 0 },
		{ "http://fal.media:80/x.jpg", 1, 1 },
		{ "http://v3.fal.media/files/x.jpg", 0, 0 },
		{ "http://v3.fal.media/files/x.jpg", 1, 1 },
		{ "https://evilfal.media/x.jpg", 0, 0 },
		{ "https://fal.media.evil.example/x.jpg", 0, 0 },
		{ "https://evil.example/fal.media/x.jpg", 0, 0 },
		{ "https://evil.example/?u=https://fal.media/", 0, 0 },
		{ "https://fal.media@evil.example/x.jpg", 0, 0 },
		{ "https://user:pw@fal.media/x.jpg", 0, 0 },
		{ "ftp://fal.media/x.jpg", 1, 0 },
		{ "file:///etc/passwd", 1, 0 },
		{ "javascript:alert(1)", 1, 0 },
		{ "data:image/png;base64,AAAA", 1, 0 },
		{ "//fal.media/x.jpg", 0, 0 },
		{ "/img/x.jpg", 0, 0 },
		{ "", 0, 0 },
		{ "https://fal.media/x y.jpg", 0, 0 },
		{ "https://fal.media/x\r\nSet-Cookie: a=b", 0, 0 },
		{ "https://fal.media\\@evil.example/", 0, 0 },
		{ "https://127.0.0.1/x.jpg", 1, 0 },
	};
	const char	*why;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int	 rc = url_check(cases[i].url, "fal.media",
		    cases[i].http, &why);

		T_CHECK((rc == 0) == cases[i].ok && (rc == 0 || why != NULL),
		    "url case %zu (%s): rc %d", i, cases[i].url, rc);
	}
	T_CHECK(url_check("http://127.0.0.1:9/f.png", "a.b, 127.0.0.1:9", 1,
	    &why) == 0, "second list entry, with its port");
	T_CHECK(url_check("http://127.0.0.1:9/f.png", "a.b, 127.0.0.1", 1,
	    &why) == -1 && why != NULL, "an entry without a port: not 9");
	T_CHECK(url_check("http://127.0.0.1:10/f.png", "127.0.0.1:9", 1,
	    &why) == -1, "the entry's port only");
	T_CHECK(url_check("http://127.0.0.1/f.png", "127.0.0.1:9", 1,
	    &why) == -1, "an entry with a port does not allow the default");
	T_CHECK(url_check("https://v3.fal.media:8443/x.jpg",
	    "fal.media:8443", 0, &why) == 0, "subdomain on the entry's port");
	T_CHECK(url_check("https://[::1]:8443/x.jpg", "[::1]:8443", 0,
	    &why) == 0, "IPv6 entry with a port");
	T_CHECK(url_check("https://[::1]/x.jpg", "::1", 0, &why) == 0 &&
	    url_check("https://[::1]/x.jpg", "[::1]", 0, &why) == 0,
	    "IPv6 entry without a port");
	T_CHECK(url_check("https://[::1]:8443/x.jpg", "::1", 0, &why) == -1,
	    "IPv6 entry without a port: not 8443");
	T_CHECK(url_host_allowed(" fal.media , .example.org",
	    "x.example.org", 443, 443), "leading dot entry");
	T_CHECK(url_host_allowed("fal.media:8443", "FAL.media", 8443, 443),
	    "case, with a port");
	T_CHECK(!url_host_allowed("fal.media:0, fal.media:65536, fal.media:, "
	    "fal.media:x, fal.media:443443, [fal.media]x", "fal.media", 443,
	    443), "bad ports allow nothing");
	T_CHECK(!url_host_allowed(":443", "fal.media", 443, 443),
	    "a port without a host");
	T_CHECK(!url_host_allowed("", "fal.media", 443, 443), "empty list");
	T_CHECK(!url_host_allowed(",,", "fal.media", 443, 443),
	    "list of nothing");
	T_CHECK(!url_host_allowed("fal.media", "", 443, 443), "empty host");
	T_CHECK(!url_host_allowed("a.fal.media", "fal.media", 443, 443),
	    "parent not allowed by child");

	T_CHECK(url_same_origin("https://queue.fal.run/",
	    "https://queue.fal.run/fal-ai/flux/requests/1/status"), "same");
	T_CHECK(url_same_origin("https://queue.fal.run/",
	    "https://QUEUE.fal.run:443/x"), "default port and case");
	T_CHECK(!url_same_origin("https://queue.fal.run/",
	    "https://evil.example/fal-ai/flux/requests/1"), "other host");
	T_CHECK(!url_same_origin("https://queue.fal.run/",
	    "http://queue.fal.run/x"), "other scheme");
	T_CHECK(!url_same_origin("https://queue.fal.run/",
	    "https://queue.fal.run:8443/x"), "other port");
	T_CHECK(!url_same_origin("https://queue.fal.run/",
	    "https://u@queue.fal.run/x"), "user");
	T_CHECK(!url_same_origin("https://queue.fal.run/", "garbage"),
	    "garbage");
}
