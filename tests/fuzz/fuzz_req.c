/*
 * fuzz_req.c: libFuzzer target for what the responder makes of a
 * request's parameters: the URI splitter and client address (uri.c),
 * the request grammar (req.c) and the byte-level text helpers under it
 * (text.c).
 *
 * FastCGI parameters are C strings: the input up to its first NUL is a
 * REQUEST_URI, split by uri_split() as the responder splits it, and its
 * path and query parsed with two sets of limits; what follows, up to the
 * next NUL, is an X-Forwarded-For header for uri_client(). The whole
 * input, NULs included, also goes straight through text_pct_decode(),
 * text_check() and text_normalize(). Beyond memory errors (ASan) and
 * undefined behaviour (UBSan), the invariants the rest of the responder
 * relies on are checked: a split target is a path without '?' or '#'
 * and a query without '#', the same however it arrives (REQUEST_URI or
 * SCRIPT_NAME, under a base path or not), or a refusal with nothing to
 * free; a client address is one bounded word of the header or the peer;
 * a parsed request is inside its limits, its prompt is clean UTF-8
 * without controls or stray spaces (so the canonical string of hash.c
 * stays unambiguous), and a refusal carries a one-line reason and
 * nothing to free. The REQUEST_URI is also read as a line of
 * promptpix warm's list (warmlist.c). The input is also a form (form.c:
 * a field's value is a NUL-free string that fits its buffer) and text
 * for the HTML pages (html.c): escaped, it holds no markup character, no
 * control byte but tab and newline, and only well-formed UTF-8; as a URL
 * argument, only unreserved characters and escapes. A broken invariant
 * aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "hash.h"
#include "html.h"
#include "req.h"
#include "sign.h"
#include "text.h"
#include "uri.h"
#include "warmlist.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static const struct req_limits	 limits[] = {
	{ 64, 2048, 1000 },		/* the shipped defaults */
	{ 1, 8192, 8 },			/* tiny prompts, any size */
};

/* A normalised prompt: no leading, trailing or doubled space. */
static int
normalised(const char *s, size_t len)
{
	if (len > 0 && (s[0] == ' ' || s[len - 1] == ' '))
		return 0;
	for (size_t i = 1; i < len; i++)
		if (s[i] == ' ' && s[i - 1] == ' ')
			return 0;
	return 1;
}

static void
check_text(const uint8_t *data, size_t size)
{
	char		*dec, *enc, *again;
	long		 n, m;
	size_t		 k;
	enum text_err	 e;

	dec = malloc(size + 1);
	CHECK(dec != NULL);
	n = text_pct_decode(dec, (const char *)data, size);
	CHECK(n >= -1 && n <= (long)size);
	if (n < 0)
		goto out;
	CHECK(dec[n] == '\0');
	/* Every byte escaped, then decoded: the same bytes come back. */
	enc = malloc((size_t)n * 3 + 1);
	again = malloc((size_t)n + 1);
	CHECK(enc != NULL && again != NULL);
	for (long i = 0; i < n; i++) {
		enc[3 * i] = '%';
		enc[3 * i + 1] = "0123456789ABCDEF"[(uint8_t)dec[i] >> 4];
		enc[3 * i + 2] = "0123456789abcdef"[(uint8_t)dec[i] & 0xf];
	}
	m = text_pct_decode(again, enc, (size_t)n * 3);
	CHECK(m == n && memcmp(again, dec, (size_t)n) == 0);
	free(enc);
	free(again);

	e = text_check(dec, (size_t)n);
	CHECK(e == TEXT_OK || e == TEXT_BAD_UTF8 || e == TEXT_CONTROL);
	if (e != TEXT_OK)
		goto out;
	for (long i = 0; i < n; i++)
		CHECK((uint8_t)dec[i] >= 0x20 && (uint8_t)dec[i] != 0x7f);
	k = text_normalize(dec, (size_t)n);
	CHECK(k <= (size_t)n && dec[k] == '\0' && strlen(dec) == k);
	CHECK(normalised(dec, k) && text_check(dec, k) == TEXT_OK);
	CHECK(text_normalize(dec, k) == k);
out:
	free(dec);
}

/*
 * The access parameters of a query: a split that succeeds leaves the
 * image's part a prefix of the signed part, itself a prefix of the
 * query; a sig found is well formed; a refusal has a one-line reason.
 */
static void
check_sign(const char *query)
{
	struct sign_parts	 sp;
	const char		*reason = NULL;
	int			 rc;

	rc = sign_split(query, &sp, &reason);
	CHECK(rc == 0 || rc == 403);
	if (rc == 403) {
		CHECK(reason != NULL && strchr(reason, '\n') == NULL);
		return;
	}
	CHECK(query == NULL || (sp.image_len <= sp.signed_len &&
	    sp.signed_len <= strlen(query)));
	CHECK(!sp.has_sig || strlen(sp.sig) == SIGN_LEN);
	CHECK(sp.kid[0] == '\0' || sign_kid_valid(sp.kid));
}

static void
check_req(const char *path, const char *query, const struct req_limits *lim)
{
	struct img_req	 r;
	const char	*reason = NULL;
	char		*canon, hex[HASH_HEX_LEN + 1];
	size_t		 lines = 0;
	int		 rc;

	check_sign(query);
	rc = req_parse_image(path, query, lim, &r, &reason);
	CHECK(rc == 0 || rc == 400 || rc == 404);
	CHECK((rc == 404) == !req_is_image_path(path));
	if (rc != 0) {
		CHECK(reason != NULL && strchr(reason, '\n') == NULL);
		CHECK(r.prompt == NULL);
		return;
	}
	CHECK(r.w >= lim->min_dim && r.w <= lim->max_dim);
	CHECK(r.h >= lim->min_dim && r.h <= lim->max_dim);
	CHECK(r.fmt == FMT_JPG || r.fmt == FMT_PNG);
	CHECK(r.prompt != NULL && strlen(r.prompt) == r.prompt_len);
	CHECK(r.prompt_len >= 1 && r.prompt_len <= lim->max_prompt);
	CHECK(text_check(r.prompt, r.prompt_len) == TEXT_OK);
	CHECK(normalised(r.prompt, r.prompt_len));
	/* Seven fields, six separators: the prompt adds no '\n'. */
	canon = hash_canonical(&r, "fal-ai/flux/schnell");
	for (const char *p = canon; *p != '\0'; p++)
		lines += *p == '\n';
	CHECK(lines == 6);
	free(canon);
	hash_image(&r, "fal-ai/flux/schnell", hex);
	CHECK(strlen(hex) == HASH_HEX_LEN);
	img_req_free(&r);
	CHECK(r.prompt == NULL);
}

/* Equal strings, or both NULL. */
static int
same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/*
 * Split uri as the responder does, check what came out, and parse it.
 * The same target is split again from SCRIPT_NAME and under a base path.
 */
static void
check_split(const char *uri)
{
	struct uri_parts	 u, s, b;
	int			 rc, brc;

	rc = uri_split(uri, NULL, "/", &u);
	CHECK(rc == 0 || rc == 404 || rc == 414);
	CHECK((rc == 414) == (strlen(uri) > URI_MAX));
	if (rc != 0)
		CHECK(u.path == NULL && u.query == NULL);
	else {
		CHECK(u.path[0] == '/' && strpbrk(u.path, "?#") == NULL);
		CHECK(u.query == NULL || strchr(u.query, '#') == NULL);
	}

	/* No REQUEST_URI: SCRIPT_NAME, split the same way. */
	CHECK(uri_split("", uri, "/", &s) == rc);
	CHECK(same(s.path, u.path) && same(s.query, u.query));
	free(s.path);

	/* Under "/pp/": the same split less "/pp", or not found. */
	brc = uri_split(uri, NULL, "/pp/", &b);
	if (rc != 0)
		CHECK(brc == rc && b.path == NULL);
	else if (strncmp(u.path, "/pp/", 4) == 0)
		CHECK(brc == 0 && strcmp(b.path, u.path + 3) == 0 &&
		    same(b.query, u.query));
	else
		CHECK(brc == 404 && b.path == NULL && b.query == NULL);
	free(b.path);

	if (rc == 0)
		for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
			check_req(u.path, u.query, &limits[i]);
	free(u.path);
}

/* The client address behind a trusted proxy that passed xff. */
static void
check_client(const char *xff)
{
	static const char	*trusted = "127.0.0.1, ::1";
	char			 out[64], small[8];
	size_t			 n;

	uri_client("127.0.0.1", xff, trusted, out, sizeof(out));
	n = strlen(out);
	CHECK(n > 0 && n < sizeof(out) && strpbrk(out, " ,") == NULL);
	CHECK(strcmp(out, "127.0.0.1") == 0 || strstr(xff, out) != NULL);
	/* A smaller buffer: the same address, cut. */
	uri_client("127.0.0.1", xff, trusted, small, sizeof(small));
	CHECK(strlen(small) < sizeof(small) &&
	    strncmp(small, out, sizeof(small) - 1) == 0);
	/* From a peer we do not trust, the header is not looked at. */
	uri_client("192.0.2.1", xff, trusted, out, sizeof(out));
	CHECK(strcmp(out, "192.0.2.1") == 0);
}

/* The C string at data (size bytes): up to the first NUL; *used past it. */
static char *
param(const uint8_t *data, size_t size, size_t *used)
{
	const uint8_t	*nul;
	char		*p;
	size_t		 n;

	n = (nul = memchr(data, '\0', size)) ? (size_t)(nul - data) : size;
	p = malloc(n + 1);
	CHECK(p != NULL);
	memcpy(p, data, n);
	p[n] = '\0';
	*used = n < size ? n + 1 : n;
	return p;
}

/*
 * The same target as a line of promptpix warm's list (warmlist.c), with
 * and without --sign: parsed, skipped, or refused with a one-line
 * reason; a parsed line is inside the limits and hashed.
 */
static void
check_warm(const char *line)
{
	struct warm_opts	 o = { "/", &limits[0], "fal-ai/flux/schnell", 0 };
	struct warm_item	 it;
	const char		*why;
	int			 rc;

	for (o.sign = 0; o.sign <= 1; o.sign++) {
		why = NULL;
		rc = warm_parse(&o, line, &it, &why);
		CHECK(rc >= -1 && rc <= 1);
		if (rc == -1)
			CHECK(why != NULL && strchr(why, '\n') == NULL);
		if (rc == 0) {
			CHECK(strlen(it.hash) == HASH_HEX_LEN);
			CHECK(it.req.w >= limits[0].min_dim &&
			    it.req.w <= limits[0].max_dim);
			CHECK(it.req.prompt != NULL && it.req.prompt_len >= 1);
			CHECK(strpbrk(it.url, " \t\r\n") == NULL);
		}
		free(it.url);
		img_req_free(&it.req);
	}
}

/* Well-formed UTF-8 of len bytes (html.c's own rule, checked apart). */
static int
utf8_ok(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned c = s[i], cp, n;

		if (c < 0x80) {
			i++;
			continue;
		}
		n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if (c < 0xc2 || c > 0xf4 || i + n > len)
			return 0;
		cp = c & (0x7f >> n);
		for (unsigned k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += n;
	}
	return 1;
}

static void
check_page(const uint8_t *data, size_t size)
{
	struct hbuf	 b;
	char		 v[64];
	int		 rc;

	rc = form_get((const char *)data, size, "text", v, sizeof(v));
	CHECK(rc >= -1 && rc <= 1);
	if (rc == 1)
		CHECK(strlen(v) < sizeof(v));
	hbuf_init(&b, 1 << 20);
	html_textn(&b, (const char *)data, size);
	CHECK(!b.overflow);
	for (size_t i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.p[i];

		CHECK(c != '<' && c != '>' && c != '"' && c != '\'' &&
		    c != 0x7f && (c >= 0x20 || c == '\t' || c == '\n'));
	}
	CHECK(utf8_ok((const unsigned char *)(b.len ? b.p : ""), b.len));
	hbuf_free(&b);
	if (memchr(data, 0, size) != NULL)
		return;
	hbuf_init(&b, 1 << 20);
	{
		char	*z = malloc(size + 1);

		CHECK(z != NULL);
		memcpy(z, data, size);
		z[size] = '\0';
		html_url_arg(&b, z);
		free(z);
	}
	for (size_t i = 0; i < b.len; i++)
		CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-._~%", b.p[i]) != NULL);
	hbuf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*uri, *xff;
	size_t	 n, m;

	check_text(data, size);
	check_page(data, size);

	uri = param(data, size, &n);
	xff = param(data + n, size - n, &m);
	check_split(uri);
	check_warm(uri);
	check_client(xff);
	free(uri);
	free(xff);
	return 0;
}
