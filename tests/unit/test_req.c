#include <string.h>

#include "req.h"
#include "t.h"

static const struct req_limits lim = { 64, 2048, 1000 };

void
test_req(void)
{
	static const struct {
		const char	*path;
		const char	*query;
		int		 status;
		unsigned	 w, h;
		enum img_fmt	 fmt;
		const char	*prompt;
		long long	 seed;		/* -1: none */
	} cases[] = {
		{ "/1024x1024.jpg", "text=A%20beautiful%20sunset", 0,
		    1024, 1024, FMT_JPG, "A beautiful sunset", -1 },
		{ "/1024x1024.jpeg", "text=A+beautiful+sunset", 0,
		    1024, 1024, FMT_JPG, "A beautiful sunset", -1 },
		{ "/512x256.png", "text=%20%20cat%20%20%20hat%20&seed=42", 0,
		    512, 256, FMT_PNG, "cat hat", 42 },
		{ "/64x2048.JPG", "seed=0&text=x", 0, 64, 2048, FMT_JPG, "x", 0 },
		{ "/100x100.png", "text=a&seed=4294967295", 0,
		    100, 100, FMT_PNG, "a", 4294967295LL },
		{ "/100x100.png", "text=caf%C3%A9", 0,
		    100, 100, FMT_PNG, "caf\xc3\xa9", -1 },
		/* malformed */
		{ "/1024x1024.jpg", NULL, 400 },
		{ "/1024x1024.jpg", "", 400 },
		{ "/1024x1024.jpg", "text=", 400 },
		{ "/1024x1024.jpg", "text=+++", 400 },
		{ "/1024x1024.jpg", "text", 400 },
		{ "/1024x1024.jpg", "text=a&text=b", 400 },
		{ "/1024x1024.jpg", "text=a&", 400 },
		{ "/1024x1024.jpg", "&text=a", 400 },
		{ "/1024x1024.jpg", "text=a&&seed=1", 400 },
		{ "/1024x1024.jpg", "text=a&foo=b", 400 },
		{ "/1024x1024.jpg", "text=a%", 400 },
		{ "/1024x1024.jpg", "text=a%0a", 400 },
		{ "/1024x1024.jpg", "text=a%00", 400 },
		{ "/1024x1024.jpg", "text=%C0%AF", 400 },
		{ "/1024x1024.jpg", "text=%FF", 400 },
		{ "/1024x1024.jpg", "text=a&seed=", 400 },
		{ "/1024x1024.jpg", "text=a&seed=-1", 400 },
		{ "/1024x1024.jpg", "text=a&seed=4294967296", 400 },
		{ "/1024x1024.jpg", "text=a&seed=007", 400 },
		{ "/1024x1024.jpg", "text=a&seed=1e3", 400 },
		{ "/1024x1024.jpg", "text=a&seed=1&seed=2", 400 },
		{ "/0x0.jpg", "text=a", 400 },
		{ "/63x64.jpg", "text=a", 400 },
		{ "/2049x64.jpg", "text=a", 400 },
		{ "/01024x1024.jpg", "text=a", 400 },
		{ "/99999999999x1.jpg", "text=a", 400 },
		{ "/1024x1024.gif", "text=a", 400 },
		{ "/1024x1024.", "text=a", 400 },
		{ "/1024x1024.jpg.png", "text=a", 400 },
		{ "/1024x1024.jp%67", "text=a", 400 },
		/* not an image path at all */
		{ "/", "text=a", 404 },
		{ "/x1024.jpg", "text=a", 404 },
		{ "/-1x1024.jpg", "text=a", 404 },
		{ "/1024X1024.jpg", "text=a", 404 },
		{ "/1024x1024", "text=a", 404 },
		{ "/img/1024x1024.jpg", "text=a", 404 },
		{ "/../1024x1024.jpg", "text=a", 404 },
	};
	struct img_req	 r;
	const char	*reason;
	char		 big[4000];
	int		 rc;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reason = NULL;
		rc = req_parse_image(cases[i].path, cases[i].query, &lim, &r,
		    &reason);
		T_CHECK(rc == cases[i].status, "case %zu %s?%s: got %d (%s)",
		    i, cases[i].path, cases[i].query ? cases[i].query : "",
		    rc, reason ? reason : "");
		if (rc != 0) {
			T_CHECK(reason != NULL && strchr(reason, '\n') == NULL,
			    "case %zu: one-line reason", i);
			T_CHECK(r.prompt == NULL, "case %zu: nothing kept", i);
			continue;
		}
		T_CHECK(r.w == cases[i].w && r.h == cases[i].h &&
		    r.fmt == cases[i].fmt, "case %zu: fields", i);
		T_CHECK(strcmp(r.prompt, cases[i].prompt) == 0,
		    "case %zu: prompt [%s]", i, r.prompt);
		T_CHECK(cases[i].seed < 0 ? !r.has_seed :
		    (r.has_seed && r.seed == (unsigned long long)cases[i].seed),
		    "case %zu: seed", i);
		img_req_free(&r);
	}

	/* Length: 1000 bytes pass, 1001 fail; spaces trimmed first. */
	memcpy(big, "text=", 5);
	memset(big + 5, 'a', 1000);
	big[1005] = '\0';
	T_CHECK(req_parse_image("/64x64.jpg", big, &lim, &r, &reason) == 0,
	    "1000 bytes");
	img_req_free(&r);
	big[1005] = 'a';
	big[1006] = '\0';
	T_CHECK(req_parse_image("/64x64.jpg", big, &lim, &r, &reason) == 400,
	    "1001 bytes");
	memset(big + 5, '+', 3000);
	big[3005] = 'z';
	big[3006] = '\0';
	T_CHECK(req_parse_image("/64x64.jpg", big, &lim, &r, &reason) == 0 &&
	    strcmp(r.prompt, "z") == 0, "trimmed before the length check");
	img_req_free(&r);
}
